"""``retvis screen``: a 2-process Dask cluster gives the in-process results; resume.

Inputs: the 20 demo CIFs plus 2 bad files from tests/data/bad; the model is a real
RetNet trained on the demo grids (``trained_model`` in tests/conftest.py).
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np
import pytest

from retvis.cli import main
from retvis.screen import COLUMNS, read_results, screen
from tests.conftest import DEMO, REPO

BAD = [REPO / "tests/data/bad/binary_garbage.cif", REPO / "tests/data/bad/angle_out_of_range.cif"]
INPUTS = [str(DEMO), *map(str, BAD)]


def _by_path(out: Path) -> dict[str, dict]:
    rows = read_results(out).to_pylist()
    paths = [r["path"] for r in rows]
    assert len(paths) == len(set(paths)), "a path was screened twice"
    return {r["path"]: r for r in rows}


@pytest.fixture(scope="module")
def in_process(trained_model, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("inproc") / "results.parquet"
    s = screen(INPUTS, trained_model, out, workers=0, chunk=5)
    assert (s.total, s.ok, s.failed) == (22, 20, 2)
    return out


def test_two_worker_cluster_matches_one_process(in_process, trained_model, tmp_path, capsys):
    out = tmp_path / "results.parquet"
    rank = tmp_path / "ranked.csv"
    argv = ["screen", *INPUTS, "--model", str(trained_model), "-o", str(out), "--workers", "2"]
    rc = main([*argv, "--chunk", "5", "--rank", str(rank), "-q"])
    assert rc == 1  # 2 inputs failed
    text = capsys.readouterr().out
    assert "22 screened" in text and "20 ok, 2 failed" in text
    assert len(list(out.glob("part-*.parquet"))) == 5  # one part per chunk of 5

    a, b = _by_path(in_process), _by_path(out)
    assert sorted(a) == sorted(b) and len(a) == 22
    for p, ra in a.items():
        rb = b[p]
        for c in ("name", "digest", "status", "reason", "kind", "n_atoms", "formula"):
            assert ra[c] == rb[c], (p, c)
        if ra["status"] == "ok":
            assert np.isfinite(ra["prediction"])
            np.testing.assert_allclose(rb["prediction"], ra["prediction"], rtol=0, atol=1e-5)
            assert ra["std"] == 0.0 and rb["std"] == 0.0  # one member
            assert len(ra["digest"]) == 64 and ra["n_atoms"] > 0 and ra["seconds"] > 0
    failed = {Path(p).name: r for p, r in b.items() if r["status"] == "failed"}
    assert sorted(failed) == sorted(x.name for x in BAD)
    assert "binary" in failed["binary_garbage.cif"]["reason"]
    assert "angle" in failed["angle_out_of_range.cif"]["reason"]

    with open(out.with_name(out.name + ".failures.csv"), newline="") as fh:
        fails = list(csv.DictReader(fh))
    assert sorted(Path(r["path"]).name for r in fails) == sorted(x.name for x in BAD)
    assert all(r["kind"] == "structure" and r["reason"] for r in fails)

    with open(rank, newline="") as fh:
        ranked = list(csv.DictReader(fh))
    assert [int(r["rank"]) for r in ranked] == list(range(1, 21))
    preds = [float(r["prediction"]) for r in ranked]
    assert preds == sorted(preds, reverse=True)
    assert all(r["note"] == "" for r in ranked if float(r["prediction"]) >= 0)  # one network
    assert (
        ranked[0]["name"]
        == max((r for r in b.values() if r["status"] == "ok"), key=lambda r: r["prediction"])[
            "name"
        ]
    )

    # run twice: the second run computes nothing and writes no part file
    rc = main([*argv, "--chunk", "5", "-q"])
    assert rc == 0
    assert "0 screened" in capsys.readouterr().out
    assert len(list(out.glob("part-*.parquet"))) == 5


def test_resume_after_a_kill_computes_only_the_rest(in_process, trained_model, tmp_path):
    """A run killed after some chunks left their part files and no others."""
    out = tmp_path / "results.parquet"
    shutil.copytree(in_process, out)
    parts = sorted(out.glob("part-*.parquet"))
    assert len(parts) == 5
    for p in parts[2:]:
        p.unlink()
    (out / ".part-x.parquet.tmp").write_bytes(b"half-written")  # an interrupted write
    kept = len(read_results(out))
    s = screen(INPUTS, trained_model, out, workers=0, chunk=5)
    assert s.skipped_path == kept and s.screened == 22 - kept
    a, b = _by_path(in_process), _by_path(out)
    assert sorted(a) == sorted(b)
    for p in a:
        assert a[p]["status"] == b[p]["status"]
        if a[p]["status"] == "ok":
            np.testing.assert_allclose(b[p]["prediction"], a[p]["prediction"], atol=1e-6)


@pytest.mark.parametrize("damage", ["flip", "truncate", "empty", "foreign"])
def test_a_damaged_part_is_set_aside_and_its_files_screened_again(
    in_process, trained_model, tmp_path, damage, caplog
):
    """Flipped bytes, a truncated or empty part, a Parquet file of other columns: the
    part is moved to _damaged/ with a warning naming it, the output still reads and
    ranks, and the next run screens that part's files again (nothing lost, nothing
    twice)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = tmp_path / "results.parquet"
    shutil.copytree(in_process, out)
    victim = sorted(out.glob("part-*.parquet"))[1]
    lost = len(pq.read_table(victim))
    raw = victim.read_bytes()
    if damage == "flip":
        victim.write_bytes(raw[:200] + bytes(b ^ 0x5A for b in raw[200:600]) + raw[600:])
    elif damage == "truncate":
        victim.write_bytes(raw[: len(raw) // 2])
    elif damage == "empty":
        victim.write_bytes(b"")
    else:
        pq.write_table(pa.table({"name": ["x"], "prediction": ["high"]}), victim)
    with caplog.at_level("WARNING"):
        left = read_results(out)
    assert len(left) == 22 - lost
    assert victim.name in caplog.text and "damaged" in caplog.text
    assert (out / "_damaged" / victim.name).is_file() and not victim.exists()
    rank = tmp_path / "rank.csv"
    assert (
        main(
            [
                "screen",
                str(DEMO),
                *map(str, BAD),
                "--model",
                str(trained_model),
                "-o",
                str(out),
                "--workers",
                "0",
                "--rank",
                str(rank),
            ]
        )
        == 0
    )
    assert sorted(_by_path(out)) == sorted(_by_path(in_process))
    assert len(rank.read_text().splitlines()) == 21  # header + the 20 ok


def test_a_damaged_screen_record_sets_the_output_aside_and_starts_again(
    in_process, trained_model, tmp_path
):
    out = tmp_path / "results.parquet"
    shutil.copytree(in_process, out)
    (out / "_screen.json").write_text('{"format": "retvis-screen", "model": ')
    s = screen(INPUTS, trained_model, out, workers=0, chunk=5)
    assert s.screened == 22 and sorted(_by_path(out)) == sorted(_by_path(in_process))
    kept = sorted(p.name for p in (out / "_damaged").iterdir())
    assert "_screen.json" in kept and sum(k.startswith("part-") for k in kept) == 5


def test_same_content_under_another_path_is_skipped(in_process, trained_model, tmp_path):
    out = tmp_path / "results.parquet"
    shutil.copytree(in_process, out)
    copy = tmp_path / "elsewhere" / "renamed.cif"
    copy.parent.mkdir()
    shutil.copy(DEMO / "FIQCEN_clean.cif", copy)
    s = screen([copy], trained_model, out, workers=0)
    assert (s.total, s.skipped_digest, s.screened) == (1, 1, 0)


def test_another_model_is_refused_on_the_same_output(in_process, trained_model, tmp_path):
    out = tmp_path / "results.parquet"
    shutil.copytree(in_process, out)
    other = tmp_path / "other"
    shutil.copytree(trained_model, other)
    card = other / "model.json"
    card.write_text(card.read_text().replace('"void fraction"', '"void fraction 2"'))
    rc = main(["screen", str(DEMO), "--model", str(other), "-o", str(out), "--workers", "0"])
    assert rc == 2


def test_columns_and_types(in_process):
    t = read_results(in_process)
    assert tuple(t.column_names) == COLUMNS
    assert str(t.schema.field("prediction").type) == "double"
    import pandas as pd

    df = pd.read_parquet(in_process)  # the folder reads as one dataset
    assert len(df) == 22 and set(df.status) == {"ok", "failed"}


def test_ranking_carries_the_models_out_of_range_note(tmp_path, capsys):
    """The shipped ensemble, its card asking for a spread 1000x tighter than it gives:
    every ranked row is flagged, the flag names the spread, and the summary counts it.
    With the card as shipped few demo structures carry a note
    (tests/ml/test_weights_domain)."""
    import json

    from retvis.ml.weights import SPREAD_FACTOR
    from retvis.paths import models_dir

    model = tmp_path / "strict"
    shutil.copytree(models_dir() / "ch4-coremof", model)
    card = json.loads((model / "model.json").read_text())
    card["evaluation_test"]["mean_ensemble_std"] = 1e-3 / SPREAD_FACTOR
    (model / "model.json").write_text(json.dumps(card))
    cifs = sorted(DEMO.glob("*.cif"))[:4]
    out, rank = tmp_path / "r.parquet", tmp_path / "ranked.csv"
    argv = ["screen", *map(str, cifs), "--model", str(model), "-o", str(out), "--workers", "0"]
    assert main([*argv, "--rank", str(rank), "-q"]) == 0
    assert "4 prediction(s) with a note (4 outside what the model learned)" in (
        capsys.readouterr().out
    )
    with open(rank, newline="") as fh:
        ranked = list(csv.DictReader(fh))
    assert len(ranked) == 4
    for r in ranked:
        assert r["note"].startswith("ensemble spread") and "outside" in r["note"], r


def test_local_workers_keep_freed_grid_memory_in_their_heap(monkeypatch):
    """Dask's default worker environment trims the heap above 64 KiB, so every grid's
    arrays are given back and faulted in again (a million page faults per 500 files);
    screening's workers keep arrays under 32 MiB on the heap."""
    import os

    from dask.distributed import Client

    from retvis.screen import local_cluster

    # as an earlier default Dask cluster in this process leaves it
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "65536")
    with local_cluster(1) as cluster, Client(cluster) as client:
        env = next(iter(client.run(lambda: dict(os.environ)).values()))
    assert env["MALLOC_MMAP_THRESHOLD_"] == str(32 << 20)
    assert int(env["MALLOC_TRIM_THRESHOLD_"]) >= 32 << 20
