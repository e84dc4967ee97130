"""The committed GCMC datasets (``resources/datasets``) against their metadata."""

from __future__ import annotations

import csv
import json

import pytest

from retvis.sim.gcmc import Protocol
from tests.conftest import REPO

DATASETS = REPO / "resources" / "datasets"
# every metadata file but the pretraining targets' (``format: retvis-targets``, checked in
# tests/ml/test_pretrain.py) describes a GCMC label table
METAS = sorted(
    p
    for p in DATASETS.glob("*.meta.json")
    if json.loads(p.read_text()).get("format") != "retvis-targets"
)


@pytest.mark.parametrize("meta_path", METAS, ids=lambda p: p.name.removesuffix(".meta.json"))
def test_every_row_was_labelled_under_the_protocol_its_metadata_names(meta_path):
    meta = json.loads(meta_path.read_text())
    identity = Protocol.from_dict(meta["protocol"]).identity()
    assert identity == meta["protocol_identity"]
    with open(DATASETS / meta["labels_file"], newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows and {r["protocol"] for r in rows} == {identity}
    names = [r["name"] for r in rows]
    ok = [r["name"] for r in rows if r["status"] == "ok"]
    assert ok and len(ok) == len(set(ok)), "a structure has two uptakes"
    last = {r["name"]: r["status"] for r in rows}  # the table's rule: the last row wins
    assert {n for n, st in last.items() if st == "ok"} == set(ok), "an uptake was superseded"
    for r in rows:  # a failure is a row with its reason, never a silent number
        if r["status"] == "ok":
            assert float(r["uptake_mol_kg"]) >= 0.0 and float(r["uptake_err_mol_kg"]) >= 0.0
        else:
            assert r["reason"] and not r["uptake_mol_kg"]
    holdout = REPO / "resources" / "datasets" / "holdout_names.txt"
    kept = {ln.strip() for ln in holdout.read_text().splitlines() if ln and ln[0] != "#"}
    assert len(kept) > 400
    assert not kept & set(names), "a hold-out structure was labelled"
