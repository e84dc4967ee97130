"""``retvis suggest``: the next structures to simulate, from a pool and the labels so far."""

from __future__ import annotations

import csv

from retvis.cli import main
from retvis.core.structure import read_structure
from tests.conftest import DEMO


def test_suggest_a_diverse_seed_then_batches_from_the_labels(tmp_path, capsys):
    pool = sorted(DEMO.glob("*.cif"))
    out = tmp_path / "next.txt"
    # no labels yet: structures spread over the pool
    assert main(["suggest", str(DEMO), "--batch", "4", "-o", str(out), "-q"]) == 0
    first = out.read_text().splitlines()
    assert len(first) == 4 and all(p in map(str, pool) for p in first)
    rows = list(csv.DictReader(out.with_suffix(".csv").open()))
    assert [r["rule"] for r in rows] == ["diverse seed"] * 4
    # label those four (framework density as the value), and ask for three more
    labels = tmp_path / "labels.csv"
    with labels.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["name", "status", "uptake_mol_kg"])
        known = list(dict.fromkeys(first + [str(p) for p in pool[:3]]))[:6]
        for p in known:
            w.writerow([read_structure(p).name, "ok", read_structure(p).density])
    argv = ["suggest", str(DEMO), "--labels", str(labels), "--batch", "3"]
    assert main([*argv, "--rule", "uncertainty", "-o", str(out), "--json", "-q"]) == 0
    second = out.read_text().splitlines()
    assert len(second) == 3 and not set(second) & set(known)
    rows = list(csv.DictReader(out.with_suffix(".csv").open()))
    assert all(r["rule"] == "uncertainty" and float(r["std"]) > 0 for r in rows)
    assert '"command": "suggest"' in capsys.readouterr().out
