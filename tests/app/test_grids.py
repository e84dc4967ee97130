"""Grids in memory without Qt: the bound, what a model of other grid settings computes
again, what Compute Again resubmits, and forgetting removed materials."""

from __future__ import annotations

import pytest

from retvis.app.grids import GridMemory
from retvis.app.materials import Materials
from retvis.core.grid import GridSpec, compute_grid
from retvis.core.project import MaterialRecord
from retvis.core.structure import read_structure
from tests.conftest import demo

NAMES = ["PEKKAS_clean", "SENWAL_clean", "DITYEM_clean"]
SMALL, LARGE = GridSpec(n=12), GridSpec(n=16)


@pytest.fixture(scope="module")
def grids():
    """Real grids of three demo MOFs under two grid settings."""
    out = {}
    for name in NAMES:
        s = read_structure(demo(name))
        out[name] = (s, compute_grid(s, SMALL), compute_grid(s, LARGE))
    return out


def _session(statuses):
    m = Materials()
    m.add(
        MaterialRecord(digest=n, name=n, path=f"/x/{n}.cif", status=st)
        for n, st in statuses.items()
    )
    return m, GridMemory(m)


def test_memory_holds_a_bounded_number_of_grids_newest_last(grids):
    m, mem = _session(dict.fromkeys(NAMES, "ok"))
    mem.max_grids = 2
    a, b, c = NAMES
    mem.keep(a, grids[a][1], grids[a][0])
    mem.keep(b, grids[b][1])
    mem.keep(a, grids[a][2])  # read again: the newest now
    mem.keep(c, grids[c][1])
    assert list(mem.grids) == [a, c]  # b, the oldest, went
    assert mem.grids[a] is grids[a][2]
    assert mem.structures[a] is grids[a][0]
    assert mem.grid_of(a, LARGE) is grids[a][2]
    assert mem.grid_of(a, SMALL) is None and mem.grid_of(b, LARGE) is None


def test_a_model_of_other_grid_settings_recomputes_grids_and_spec_failures(grids):
    a, b, c = NAMES
    m, mem = _session({a: "ok", b: "ok", c: "failed", "bad": "failed", "old": "failed"})
    mem.keep(a, grids[a][1])  # made with SMALL
    mem.keep(b, grids[b][2])  # made with LARGE
    mem.outcome(c, "failed", "simulation", SMALL)  # EQeq could not charge it
    mem.outcome("bad", "failed", "structure", SMALL)  # unreadable under any settings
    mem.outcome("old", "failed", "limit", LARGE)
    again = mem.recompute_for(LARGE)  # "old" failed under LARGE: not again
    assert [r.digest for r in again] == [a, c]
    assert a not in mem.grids and mem.grids[b] is grids[b][2]
    # a later success forgets the failure
    mem.outcome(c, "ok", "", LARGE)
    assert [r.digest for r in mem.recompute_for(SMALL)] == [b, "old"]


def test_compute_again_takes_failed_cancelled_and_other_settings(grids):
    a, b, c = NAMES
    m, mem = _session({a: "ok", b: "ok", c: "cancelled", "bad": "failed"})
    mem.keep(a, grids[a][1])
    mem.keep(b, grids[b][2])
    chosen = mem.retry(m.records(), LARGE)
    assert [r.digest for r in chosen] == [a, c, "bad"]
    assert list(mem.grids) == [b]


def test_removed_and_cleared_materials_are_forgotten(grids):
    a, b, c = NAMES
    m, mem = _session(dict.fromkeys(NAMES, "ok"))
    for name in NAMES:
        mem.keep(name, grids[name][1], grids[name][0])
    mem.outcome(c, "failed", "limit", SMALL)
    m.remove([a])
    assert a not in mem.grids and a not in mem.structures
    m.clear()  # a project opened
    assert not mem.grids and not mem.structures
    assert mem.recompute_for(LARGE) == []


def test_grid_results_land_in_the_rows_by_the_models_state(grids):
    """What a batch of results changes: removed rows and repeated cancellations skipped;
    with no model a kept grid's row says so; with a model of these settings it is
    predicted; with a model of other settings it is computed again, not kept."""
    from pathlib import Path

    from retvis.app.predictions import Predictions
    from retvis.core.batch import GridOutcome

    a, b, c = NAMES
    s, small, _ = grids[a]
    statuses = {a: "running", b: "running", c: "cancelled"}
    results = [
        (a, GridOutcome(0, Path(a), "ok", structure=s, grid=small, seconds=0.123456), SMALL),
        (b, GridOutcome(0, Path(b), "failed", "too close", "structure"), SMALL),
        (c, GridOutcome(0, Path(c), "cancelled", "cancelled by the user", "cancelled"), SMALL),
        ("gone", GridOutcome(0, Path("gone"), "ok", grid=small), SMALL),
    ]
    m, mem = _session(statuses)
    landing = mem.land(results, SMALL, Predictions(m))  # no model selected
    assert set(landing.changes) == {a, b}
    assert landing.changes[a]["pred_note"] == "no model" and landing.predict == []
    assert landing.changes[a]["n_atoms"] == s.n_atoms and landing.changes[a]["seconds"] == 0.1235
    assert landing.changes[b]["reason"] == "too close" and "pred_note" not in landing.changes[b]
    assert mem.grids[a] is small and mem.structures[a] is s
    for model_spec, kept in ((SMALL, True), (LARGE, False)):
        m, mem = _session(statuses)
        p = Predictions(m)
        p.select("a-model")
        p.loaded({"key": "a-model@1", "spec": model_spec, "card": {}})
        landing = mem.land(results[:1], model_spec, p)
        assert (landing.predict == [a]) is kept and (landing.again == {a}) is not kept
        assert (a in mem.grids) is kept
