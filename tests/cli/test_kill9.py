"""Durability: ``retvis grid`` killed with SIGKILL midway leaves only complete cache
entries, and a rerun finishes from the cache, computing only what was missing."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from tests.conftest import DEMO, REPO

N_VARIANTS = 10  # x 20 demo CIFs = 200 distinct inputs (a comment makes a new digest)
N = 16


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_kill_9_midway_then_rerun_resumes_from_the_cache(tmp_path):
    src = tmp_path / "cifs"
    src.mkdir()
    for f in sorted(DEMO.glob("*.cif")):
        text = f.read_bytes()
        for k in range(N_VARIANTS):
            (src / f"{f.stem}_v{k}.cif").write_bytes(text + f"# variant {k}\n".encode())
    total = len(list(src.iterdir()))
    assert total == 200
    cache = tmp_path / "cache"
    env = {**os.environ, "RETVIS_CACHE": str(cache), "PYTHONPATH": str(REPO)}
    cmd = [
        sys.executable,
        "-m",
        "retvis",
        "grid",
        str(src),
        "-o",
        str(tmp_path / "out"),
        "--n",
        str(N),
        "-j",
        "2",
        "-q",
    ]

    proc = subprocess.Popen(cmd, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if len(list(cache.rglob("*.npz"))) >= 30:
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the first run ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    entries = list(cache.rglob("*.npz"))
    assert 30 <= len(entries) < total
    for e in entries:  # every entry that exists is complete
        with np.load(e) as z:
            assert z["boltzmann"].shape == (N, N, N)
            assert np.isfinite(z["boltzmann"]).all()
    leftovers = [p for p in cache.rglob("*") if p.is_file() and p.suffix != ".npz"]
    assert all(p.name.endswith(".tmp") for p in leftovers)  # never read as entries
    assert not (tmp_path / "out" / "voxels.npy").exists()

    rerun = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    m = re.search(r"(\d+) grids written .*\((\d+) computed, (\d+) from the cache\)", rerun.stdout)
    assert m, rerun.stdout
    written, computed, cached = map(int, m.groups())
    assert written == total and cached >= len(entries) and computed == total - cached
    print(
        f"killed with {len(entries)}/{total} grids cached ({len(leftovers)} .tmp left); "
        f"rerun: {computed} computed, {cached} from the cache"
    )
    v = np.load(tmp_path / "out" / "voxels.npy", mmap_mode="r")
    names = json.loads((tmp_path / "out" / "names.json").read_text())
    assert v.shape == (total, N, N, N) and len(names) == total
    assert not (tmp_path / "out" / ".voxels.npy.partial").exists()
    # a cached grid is the same as a computed one: variants of one CIF agree
    i, j = names.index("FIQCEN_clean_v0"), names.index("FIQCEN_clean_v9")
    np.testing.assert_array_equal(v[i], v[j])
