"""Memory estimated before a grid is computed, and a budget that turns a grid too large
into a failed row with its figure (issue: bounded and unbreakable)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from retvis.core.batch import MEMORY_BUDGET_ENV, grid_memory_budget, iter_grids
from retvis.errors import LimitError
from tests.conftest import REPO, demo, needs_pyeqeq

# a child process: PEKKAS (39 atoms) as a 3 x 3 x 3 supercell less one atom (1,052
# atoms, no symmetry to shrink it back: EQeq's iterative path for the CO2 probe); the
# peak resident memory above the process while its grid is computed, and the estimate
_CHILD = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    import numpy as np
    from retvis.core.grid import GridSpec, compute_grid, estimate_grid_bytes
    from retvis.core.structure import Structure, read_structure

    def kib(field):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024

    spec = GridSpec(probe=sys.argv[2])
    s = read_structure(sys.argv[1])
    compute_grid(s, spec.replace(n=4))  # compile the kernels
    k = np.stack(np.meshgrid(*(np.arange(3),) * 3, indexing="ij"), -1).reshape(-1, 3)
    frac = ((s.frac[None] + k[:, None]) / 3).reshape(-1, 3)[:-1]
    big = Structure("big", s.lattice * 3, frac, (s.species * 27)[:-1])
    Path("/proc/self/clear_refs").write_text("5")
    base = kib("VmRSS")
    compute_grid(big, spec)
    peak = kib("VmHWM") - base
    print(json.dumps({"peak": peak, "estimate": estimate_grid_bytes(big, spec)}))
    """
)


@pytest.mark.parametrize("probe", ["sphere", pytest.param("CO2", marks=needs_pyeqeq)])
def test_the_memory_estimate_is_never_below_the_measured_peak(probe):
    """Measured in a fresh process; the estimate must bound the peak and, where the
    grid takes real memory (the CO2 probe's 1,052 atoms: about 60 MiB), stay within 3x."""
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(demo("PEKKAS_clean")), probe],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=True,
        timeout=300,
    )
    r = json.loads(out.stdout.strip().splitlines()[-1])
    assert r["estimate"] >= r["peak"]
    if probe == "CO2":
        assert r["peak"] > 20 * 2**20
        assert r["estimate"] <= 3 * r["peak"]


def test_a_grid_over_the_memory_budget_is_a_failed_row_with_its_figure(monkeypatch):
    files = [demo("PEKKAS_clean"), demo("FIQCEN_clean")]
    monkeypatch.setenv(MEMORY_BUDGET_ENV, "2M")
    out = sorted(iter_grids(files, jobs=1), key=lambda o: o.index)
    assert [o.status for o in out] == ["failed", "failed"]
    assert all(o.kind == "limit" and "MiB of memory" in o.reason for o in out)
    assert MEMORY_BUDGET_ENV in out[0].reason
    monkeypatch.setenv(MEMORY_BUDGET_ENV, "1G")
    assert [o.status for o in iter_grids(files, jobs=1)] == ["ok", "ok"]


def test_the_memory_budget_setting_is_validated(monkeypatch):
    monkeypatch.setenv(MEMORY_BUDGET_ENV, "512M")
    assert grid_memory_budget() == 512 * 2**20
    monkeypatch.delenv(MEMORY_BUDGET_ENV)
    assert grid_memory_budget(2) < grid_memory_budget(1)
    for bad in ("lots", "-1G", "nanG"):
        monkeypatch.setenv(MEMORY_BUDGET_ENV, bad)
        with pytest.raises(LimitError, match=MEMORY_BUDGET_ENV):
            grid_memory_budget()
