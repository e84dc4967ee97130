"""Durability: the app killed with SIGKILL during a 200-structure batch loses nothing that
finished: the project (SQLite, WAL) reopens intact with every finished row."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from retvis.core.project import Project
from tests.conftest import DEMO, REPO


def _ok_rows(path) -> int:
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1)
        try:
            return db.execute("SELECT COUNT(*) FROM materials WHERE status = 'ok'").fetchone()[0]
        finally:
            db.close()
    except sqlite3.Error:
        return 0


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_kill_9_app_mid_batch_keeps_finished_results(tmp_path):
    src = tmp_path / "cifs"
    src.mkdir()
    for f in sorted(DEMO.glob("*.cif")):
        for k in range(10):  # a comment makes distinct content: 200 materials
            (src / f"{f.stem}_v{k}.cif").write_bytes(f.read_bytes() + f"# v{k}\n".encode())
    project = tmp_path / "screen.retvis"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "retvis", "app", "--project", str(project), str(src)],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 300
        while _ok_rows(project) < 25:
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "the app finished too few grids in 300 s"
            time.sleep(0.2)
        before = _ok_rows(project)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    db = sqlite3.connect(str(project))
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()
    with Project(project) as p:
        recs = p.records()
    ok = [r for r in recs if r.status == "ok"]
    assert len(ok) >= before
    assert len(ok) < 200, "the batch finished before the kill; nothing was tested"
    assert all(r.formula and r.n_atoms for r in ok)
