import threading

import numpy as np

from retvis.core.batch import collect_cifs, grid_for_file, grid_for_structure, iter_grids
from retvis.core.cache import GridCache
from retvis.core.grid import GridSpec, compute_grid
from retvis.core.structure import read_structure
from tests.conftest import demo


def test_cache_roundtrip_and_content_addressing(tmp_path):
    cache = GridCache(tmp_path / "c")
    s = read_structure(demo("PEKKAS_clean"))
    spec = GridSpec(n=12)
    assert cache.get(s.digest, spec, s.name) is None
    g = compute_grid(s, spec)
    cache.put(s.digest, g)
    # same content under another name hits the same entry
    copy = tmp_path / "renamed.cif"
    copy.write_bytes(demo("PEKKAS_clean").read_bytes())
    s2 = read_structure(copy)
    hit = cache.get(s2.digest, spec, s2.name)
    np.testing.assert_array_equal(hit.boltzmann, g.boltzmann)
    assert g.density == s.density and hit.density == s.density  # g/cm³ travels with it
    assert 0.5 < s.density < 3.0
    assert hit.name == "renamed"
    assert cache.get(s.digest, GridSpec(n=13), s.name) is None
    # a corrupt entry is dropped, not trusted
    entry = next((tmp_path / "c").rglob("*.npz"))
    entry.write_bytes(b"garbage")
    assert cache.get(s.digest, spec, s.name) is None
    assert not entry.exists()
    # and so is one holding overflowed Boltzmann factors (written before compute_grid
    # refused them): a model would refuse the whole batch that held it
    import dataclasses

    bad = g.boltzmann.copy()
    bad[0, 0, 0] = np.inf
    cache.put(s.digest, dataclasses.replace(g, boltzmann=bad))
    assert entry.exists() and cache.get(s.digest, spec, s.name) is None
    assert not entry.exists()


def test_batch_records_failures_and_keeps_going(tmp_path, demo_cifs):
    bad = tmp_path / "empty.cif"
    bad.write_bytes(b"")
    files = [demo_cifs[0], bad, demo_cifs[1], tmp_path / "missing.cif"]
    seen = []
    outs = sorted(
        iter_grids(files, GridSpec(n=10), jobs=2, progress=lambda d, t: seen.append((d, t))),
        key=lambda o: o.index,
    )
    assert [o.status for o in outs] == ["ok", "failed", "ok", "failed"]
    assert outs[1].reason == "file is empty"
    assert outs[3].reason == "file not found"
    assert seen[-1] == (4, 4)


def test_batch_cancel_keeps_finished_and_marks_the_rest(demo_cifs):
    cancel = threading.Event()
    outs = []
    for o in iter_grids(demo_cifs, GridSpec(n=10), jobs=1, cancel=cancel):
        outs.append(o)
        if len(outs) == 2:
            cancel.set()
    ok = [o for o in outs if o.status == "ok"]
    cancelled = [o for o in outs if o.status == "cancelled"]
    assert 2 <= len(ok) < len(demo_cifs)
    assert len(ok) + len(cancelled) == len(demo_cifs)


def test_collect_cifs_recurses_without_following_link_loops(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "x.cif").write_text("x")
    (tmp_path / "a" / "b" / "y.CIF").write_text("y")
    (tmp_path / "a" / "notes.txt").write_text("z")
    (tmp_path / "a" / "b" / "loop").symlink_to(tmp_path / "a")
    files = collect_cifs([tmp_path / "a", tmp_path / "a" / "x.cif"])
    assert sorted(f.name for f in files) == ["x.cif", "y.CIF"]


def test_a_cache_entry_without_a_density_gets_the_structures(tmp_path):
    cache = GridCache(tmp_path / "c")
    s = read_structure(demo("PEKKAS_clean"))
    g = compute_grid(s, GridSpec(n=12))
    path = cache.put(s.digest, g)
    with np.load(path) as z:  # an entry as written before grids carried the density
        old = {k: z[k] for k in z.files if k not in ("density", "format_version")}
    np.savez(path, **old)
    assert np.isnan(cache.get(s.digest, g.spec, s.name).density)
    _, hit, cached = grid_for_file(demo("PEKKAS_clean"), g.spec, cache)
    assert cached and hit.density == s.density
    hit, cached = grid_for_structure(s, g.spec, cache)  # what `retvis render` uses
    assert cached and hit.density == s.density
