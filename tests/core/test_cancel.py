"""Cancel stops the structure being computed, not only those not yet started."""

from __future__ import annotations

import threading
import time

import numpy as np

from retvis.core.batch import iter_grids
from retvis.core.grid import GridSpec
from retvis.core.structure import Structure, read_structure
from retvis.sim.charges import p1_cif
from tests.conftest import demo, needs_pyeqeq


@needs_pyeqeq
def test_cancel_stops_a_running_co2_grid_within_a_second(tmp_path):
    """PEKKAS as a 5 x 5 x 5 supercell less one atom (4,874 atoms, no symmetry to shrink
    it): its CO2 grid takes seconds of EQeq iterations and reciprocal sums; a cancel in
    the middle ends it as "cancelled" within a second."""
    s = read_structure(demo("PEKKAS_clean"))
    k = np.stack(np.meshgrid(*(np.arange(5),) * 3, indexing="ij"), -1).reshape(-1, 3)
    frac = ((s.frac[None] + k[:, None]) / 5).reshape(-1, 3)[:-1]
    big = Structure("big", s.lattice * 5, frac, (s.species * len(k))[:-1])
    cif = tmp_path / "big.cif"
    cif.write_text(p1_cif(big))
    cancel = threading.Event()
    got = []

    def run():
        got.extend(iter_grids([cif], GridSpec(probe="CO2"), jobs=1, cancel=cancel))

    worker = threading.Thread(target=run)
    t0 = time.perf_counter()
    worker.start()
    time.sleep(2.5)  # read, canonical cell and into EQeq
    assert worker.is_alive(), "finished before the cancel: make the structure larger"
    cancel.set()
    t1 = time.perf_counter()
    worker.join(30)
    assert time.perf_counter() - t1 < 1.0, time.perf_counter() - t0
    assert [o.status for o in got] == ["cancelled"]
    assert got[0].reason == "cancelled by the user"


@needs_pyeqeq
def test_a_batch_left_early_stops_its_running_grid(tmp_path):
    """Ctrl-C in `retvis predict` or `grid` leaves iter_grids early (its generator is
    closed); the structure being computed stops too instead of holding the exit for the
    seconds it has left."""
    s = read_structure(demo("PEKKAS_clean"))
    k = np.stack(np.meshgrid(*(np.arange(6),) * 3, indexing="ij"), -1).reshape(-1, 3)
    frac = ((s.frac[None] + k[:, None]) / 6).reshape(-1, 3)[:-1]
    big = Structure("big", s.lattice * 6, frac, (s.species * len(k))[:-1])
    files = [tmp_path / "missing.cif", tmp_path / "big.cif"]
    files[1].write_text(p1_cif(big))
    spec = GridSpec(probe="CO2")
    assert next(iter_grids([demo("PEKKAS_clean")], spec.replace(n=4))).status == "ok"  # compiled
    batch = iter_grids(files, spec, jobs=2)
    first = next(batch)  # the missing file, while the big one (8,423 atoms, ~8 s) runs
    assert first.status == "failed" and first.name == "missing"
    time.sleep(1.0)
    t1 = time.perf_counter()
    batch.close()
    assert time.perf_counter() - t1 < 1.0
