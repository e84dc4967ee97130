"""The seeded CoRE MOF sample behind the shipped datasets: order, exclusions, metadata.

Runs the sampler (without ``--run``) on the 20 demo CIFs, which are CoRE MOF 2019-ASR
files, with a hold-out list naming two of them.
"""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from retvis.sim.coremof_sample import main
from tests.conftest import DEMO


@pytest.mark.parametrize(
    ("guest", "dataset", "charges"),
    [("CH4", "ch4_298K_5.8bar", False), ("CO2", "co2_298K_0.15bar", True)],
)
def test_sample_order_exclusions_and_metadata(tmp_path, capsys, guest, dataset, charges):
    files = sorted(DEMO.glob("*.cif"))
    holdout = tmp_path / "holdout.txt"
    holdout.write_text(f"# kept aside\n{files[3].stem}\n{files[7].stem}\n")
    out = tmp_path / "labels" / f"{dataset}.csv"
    meta_path = tmp_path / "meta.json"
    argv = ["--coremof", str(DEMO), "--holdout", str(holdout), "--out", str(out)]
    argv += ["--meta", str(meta_path), "--guest", guest, "--max-atoms", "500", "--seed", "7"]
    assert main(argv) == 0

    listed = (tmp_path / "labels" / f"{dataset}.files.txt").read_text().split()
    with open(tmp_path / "labels" / f"{dataset}.exclusions.csv", newline="") as fh:
        excluded = {r["name"]: r for r in csv.DictReader(fh)}
    # the seeded permutation, minus exclusions, in order
    order = [files[i] for i in np.random.default_rng(7).permutation(len(files))]
    assert listed == [str(f) for f in order if f.stem not in excluded]
    assert {n for n, r in excluded.items() if r["why"] == "holdout"} == {
        files[3].stem,
        files[7].stem,
    }
    big = {n for n, r in excluded.items() if r["why"] == "too_large"}
    assert big and all("> 500" in excluded[n]["reason"] for n in big)
    assert len(listed) + len(excluded) == len(files)

    meta = json.loads(meta_path.read_text())
    assert meta["dataset"] == dataset and meta["labels_file"] == out.name
    assert meta["protocol"]["guest"] == guest and meta["protocol"]["charges"] is charges
    assert meta["sampling"]["seed"] == 7 and meta["sampling"]["n_candidates"] == len(listed)
    assert ("--charges" in meta["command"].split()) is charges
    assert ("EQeq" in meta["simulation"]["charges"]) is charges
    assert f"--guest {guest}" in meta["reproduce"]
    assert meta["command"] in capsys.readouterr().out


def test_a_cof_sample_is_its_own_dataset_naming_its_database(tmp_path):
    holdout = tmp_path / "holdout.txt"
    holdout.write_text("# none\n")
    out, meta_path = tmp_path / "ch4_298K_5.8bar_cofs.csv", tmp_path / "meta.json"
    argv = ["--source", "curated-cofs", "--folder", str(DEMO), "--holdout", str(holdout)]
    assert main(argv + ["--out", str(out), "--meta", str(meta_path), "--max-atoms", "500"]) == 0

    meta = json.loads(meta_path.read_text())
    assert meta["dataset"] == "ch4_298K_5.8bar_cofs"
    assert meta["source"]["database"].startswith("CURATED COFs")
    assert meta["source"]["folder"] == str(DEMO) and "COFs" in meta["description"]
    assert f"--source curated-cofs --folder {DEMO}" in meta["reproduce"]
    listed = (tmp_path / "ch4_298K_5.8bar_cofs.files.txt").read_text().split()
    assert listed and all(f.startswith(str(DEMO)) for f in listed)


def test_a_sample_of_a_models_split_keeps_its_parts_in_every_prefix(tmp_path, capsys):
    """``--split``: the Xe labels share the CH4 model's split: its names only, test and
    validation names one in five each in every prefix."""
    files = sorted(DEMO.glob("*.cif"))
    names = [f.stem for f in files]
    split = tmp_path / "split.json"
    split.write_text(json.dumps({"train": names[:12], "val": names[12:15], "test": names[15:18]}))
    holdout = tmp_path / "holdout.txt"
    holdout.write_text(f"{names[19]}\n")
    out, meta_path = tmp_path / "xe.csv", tmp_path / "xe.meta.json"
    argv = ["--coremof", str(DEMO), "--holdout", str(holdout), "--out", str(out), "--meta"]
    argv += [str(meta_path), "--guest", "Xe", "--split", str(split), "--seed", "0"]
    argv += ["--max-atoms", "100000"]
    assert main(argv) == 0
    listed = [p.rsplit("/", 1)[1][:-4] for p in (tmp_path / "xe.files.txt").read_text().split()]
    assert sorted(listed) == sorted(names[:18])  # the split's names
    part = {n: k for k, ns in json.loads(split.read_text()).items() for n in ns}
    assert [part[n] for n in listed[:5]] == ["train", "test", "train", "val", "train"]
    assert [part[n] for n in listed[5:10]] == ["train", "test", "train", "val", "train"]
    meta = json.loads(meta_path.read_text())
    assert meta["protocol"]["guest"] == "Xe" and meta["protocol"]["pressure"] == 1e5
    assert "--split" in meta["reproduce"] and "split.json" in meta["sampling"]["method"]
    assert meta["simulation"]["guest"].startswith("Xe/Kr screening sphere (Simon et al. 2015) Xe")
    capsys.readouterr()
