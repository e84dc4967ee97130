"""Pretraining: targets RetVis computes itself, a multi-task backbone, fine-tuning from it.

The targets are checked against RASPA3's Widom insertion (real GCMC software), the
backbone is trained for real on the demo grids, and a model is started from it with
``retvis train --init-from``.
"""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest
import torch

from retvis.cli import main
from retvis.core.structure import read_structure
from retvis.errors import WeightsError
from retvis.ml.pretrain import PretrainConfig, pretrain
from retvis.ml.train import _start_from
from retvis.ml.weights import available_models, load_model
from retvis.sim.gcmc import WidomProtocol, run_widom
from retvis.sim.targets import PROBES, TargetsFolder, compute_targets, structure_targets
from tests.conftest import DEMO, demo


@pytest.mark.parametrize("name", ["SENWAL_clean", "ODIXEG_clean", "TOXNEB_clean"])
def test_grid_henry_coefficient_agrees_with_raspa_widom_insertion(name):
    """CH4, Xe and Kr at 298 K: the grid's K_H (n = 25, 10 Å, tail added) within 0.2
    decades of RASPA3's Widom insertion (12.8 Å with tail corrections)."""
    s = read_structure(demo(name))
    w = run_widom(s, WidomProtocol(cycles=300))
    values, grid = structure_targets(demo(name), {})
    assert abs(values["log10_kh_CH4"] - math.log10(w.henry_mol_kg_pa)) < 0.2
    for gas in ("Xe", "Kr"):  # the GCMC labels' noble gases are the same spheres
        wg = run_widom(s, WidomProtocol(guest=gas, cycles=300))
        assert abs(values[f"log10_kh_{gas}"] - math.log10(wg.henry_mol_kg_pa)) < 0.2, gas
    assert grid.shape == (25, 25, 25) and grid.dtype == np.float32
    # heavier noble gases bind more strongly; H2 at 77 K is a different regime
    assert values["qst_Xe"] > values["qst_Kr"] > values["qst_Ar"] > 0


@pytest.mark.parametrize("name", ["SENWAL_clean", "PEKKAS_clean"])
def test_co2_grid_henry_coefficient_agrees_with_raspa_widom_insertion(name):
    """CO2 at 298 K with EQeq charges: the CO2-probe grid's K_H (13 orientations, n = 25,
    tail added) within 0.4 decades of RASPA3's Widom insertion with Ewald sums; the
    coarse grid undersamples the narrowest wells, so it is never well above."""
    from retvis.sim.charges import eqeq_charges

    s = read_structure(demo(name))
    w = run_widom(s, WidomProtocol(guest="CO2", cycles=300, charges=True), eqeq_charges(s))
    values, _ = structure_targets(demo(name), {}, input_probe="CO2")
    diff = values["log10_kh_CO2"] - math.log10(w.henry_mol_kg_pa)
    assert -0.4 < diff < 0.1
    assert values["qst_CO2"] > values["qst_CH4"] > 0  # the quadrupole binds CO2 harder


def test_a_co2_targets_folder_stores_co2_grids_and_reuses_known_sphere_targets(tmp_path):
    from retvis.core.grid import GridSpec, compute_grid
    from retvis.errors import DataError

    sphere, co2 = tmp_path / "sphere", tmp_path / "co2"
    compute_targets([demo("SENWAL_clean")], sphere)
    # a known table whose CH4 value is marked, to see that it is taken, not recomputed
    rows = TargetsFolder(sphere).rows()
    rows[0]["log10_kh_CH4"] = "-9.5"
    known = tmp_path / "known.csv"
    with open(known, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    files = [demo("SENWAL_clean"), demo("PEKKAS_clean")]
    compute_targets(files, co2, input_probe="CO2", known=known)
    names, grids, values, cols = TargetsFolder(co2).load()
    assert cols[:2] == ["log10_kh_CO2", "qst_CO2"] and len(cols) == 2 * len(PROBES) + 9
    assert values[0, cols.index("log10_kh_CH4")] == -9.5
    recomputed, _ = structure_targets(demo("PEKKAS_clean"), {})
    assert values[1, cols.index("log10_kh_CH4")] == pytest.approx(
        recomputed["log10_kh_CH4"], abs=1e-5
    )
    co2_grid = compute_grid(read_structure(demo("PEKKAS_clean")), GridSpec(probe="CO2"))
    np.testing.assert_allclose(grids[1], co2_grid.boltzmann, rtol=1e-5, atol=1e-30)
    meta = json.loads((co2 / "targets.meta.json").read_text())
    assert meta["input_grid"]["probe"] == "CO2"
    with pytest.raises(DataError, match="sphere-probe input grids"):
        compute_targets(files, sphere, input_probe="CO2")
    assert main(["pretrain", str(sphere), str(co2), "-o", str(tmp_path / "run")]) == 2


def test_targets_folder_records_failures_and_resumes(tmp_path):
    bad = tmp_path / "broken.cif"
    bad.write_text("data_x\n_cell_length_a 10\n")
    files = [demo("SENWAL_clean"), demo("PEKKAS_clean"), bad, demo("ODIXEG_clean")]
    out = tmp_path / "targets"
    first = compute_targets(files[:2], out, part_size=1)
    assert (first["ok"], first["failed"]) == (2, 0)
    again = compute_targets(files, out, exclude={"ODIXEG_clean"}, part_size=1)
    assert (again["ok"], again["failed"], again["skipped"]) == (0, 1, 3)
    rows = {r["name"]: r for r in TargetsFolder(out).rows()}
    assert rows["broken"]["status"] == "failed" and rows["broken"]["reason"]
    assert "ODIXEG_clean" not in rows  # excluded names are never computed
    names, grids, values, cols = TargetsFolder(out).load()
    assert names == ["SENWAL_clean", "PEKKAS_clean"] and grids.shape == (2, 25, 25, 25)
    assert len(cols) == 2 * len(PROBES) + 7
    # the demo structures are CoRE MOFs: their geometry comes from the CoRE table
    assert values[0, cols.index("lcd")] == pytest.approx(8.65122)
    meta = json.loads((out / "targets.meta.json").read_text())
    assert meta["ok"] == 2 and meta["cpu_seconds"] > 0


@pytest.fixture(scope="module")
def backbone(tmp_path_factory):
    out = tmp_path_factory.mktemp("targets")
    compute_targets(sorted(DEMO.glob("*.cif")), out)
    names, grids, values, cols = TargetsFolder(out).load()
    values[::3, cols.index("lcd")] = np.nan  # missing targets are masked, not zeros
    run = tmp_path_factory.mktemp("pretrain")
    from retvis.core.grid import GridSpec

    card = pretrain(
        grids, values, cols, {}, run, PretrainConfig(epochs=2, batch_size=8), GridSpec().to_dict()
    )
    return run, card


def test_a_backbone_is_a_start_not_a_predictor(backbone):
    run, card = backbone
    assert card["kind"] == "backbone" and set(card["pretraining"]["targets"]) >= {"lcd"}
    assert card["pretraining"]["targets"]["lcd"]["n_train"] < 18
    with pytest.raises(WeightsError, match="pretrained backbone"):
        load_model(run / "model")
    src = load_model(run / "model", backbone=True)
    assert src.members[0].fc.out.out_features == len(card["pretraining"]["targets"])
    assert "model" not in available_models()


def test_fine_tuning_takes_every_layer_but_the_output(backbone, demo_set, tmp_path):
    run, _ = backbone
    src = load_model(run / "model", backbone=True).members[0]
    from retvis.ml.retnet import build_retnet

    net = build_retnet(25, 0.3, seed=5)
    fresh_out = net.fc.out.weight.detach().clone()
    _start_from(net, src, {"mean": 0.0, "sd": 1.0}, backbone=True)
    assert torch.equal(net.conv1.conv.weight, src.conv1.conv.weight)
    assert torch.equal(net.fc.fc2.weight, src.fc.fc2.weight)
    assert torch.equal(net.fc.out.weight, fresh_out) and net.fc.out.out_features == 1

    out = tmp_path / "ft"
    rc = main(
        [
            "train",
            str(demo_set),
            str(demo_set / "labels.csv"),
            "-o",
            str(out),
            "--init-from",
            str(run),
            "--epochs",
            "1",
            "--batch-size",
            "8",
        ]
    )
    assert rc == 0
    model = json.loads((out / "model" / "model.json").read_text())
    assert model["training_set"]["init_from"] == str(run)
    assert model.get("kind") != "backbone"
    pred, _ = load_model(out / "model").predict(np.load(demo_set / "voxels.npy")[:3])
    assert np.isfinite(pred).all()


def test_training_starts_from_the_installed_backbone_unless_asked_not_to(demo_set, tmp_path):
    """The default start of retvis train is the shipped backbone that reads the grids;
    --from-scratch is random weights."""
    args = ["train", str(demo_set), str(demo_set / "labels.csv"), "--epochs", "1"]
    assert main([*args, "-o", str(tmp_path / "a"), "--batch-size", "8"]) == 0
    card = json.loads((tmp_path / "a" / "model" / "model.json").read_text())
    assert card["training_set"]["init_from"] == "retvis-backbone"
    start = load_model("retvis-backbone", backbone=True).members[0]
    assert (
        card["standardization"]
        == load_model("retvis-backbone", backbone=True).card["standardization"]
    )
    assert main([*args, "-o", str(tmp_path / "b"), "--batch-size", "8", "--from-scratch"]) == 0
    card = json.loads((tmp_path / "b" / "model" / "model.json").read_text())
    assert card["training_set"]["init_from"] is None
    assert start.fc.out.out_features > 1


def test_a_backbone_refuses_grids_of_other_settings(backbone, tmp_path):
    run, _ = backbone
    vox = tmp_path / "vox"
    vox.mkdir()
    from retvis.core.grid import GridSpec, compute_grid

    names = ["SENWAL_clean", "PEKKAS_clean", "ODIXEG_clean", "TOXNEB_clean"]
    spec = GridSpec(probe_sigma=3.0)
    np.save(
        vox / "voxels.npy",
        np.stack([compute_grid(read_structure(demo(n)), spec).boltzmann for n in names]),
    )
    (vox / "names.json").write_text(json.dumps(names))
    (vox / "gridspec.json").write_text(json.dumps(spec.to_dict()))
    with open(vox / "labels.csv", "w", newline="") as fh:
        csv.writer(fh).writerows([["name", "value"], *[[n, i] for i, n in enumerate(names)]])
    rc = main(
        [
            "train",
            str(vox),
            str(vox / "labels.csv"),
            "-o",
            str(tmp_path / "r"),
            "--init-from",
            str(run),
            "--epochs",
            "1",
        ]
    )
    assert rc == 2
    # by default: no installed backbone reads these grids, so random weights
    rc = main(["train", str(vox), str(vox / "labels.csv"), "-o", str(tmp_path / "r1"),
               "--epochs", "1"])  # fmt: skip
    assert rc == 0
    card = json.loads((tmp_path / "r1" / "model" / "model.json").read_text())
    assert card["training_set"]["init_from"] is None
    # asked for explicitly: the voxels standardized on their own training set
    rc = main(["train", str(vox), str(vox / "labels.csv"), "-o", str(tmp_path / "r2"),
               "--init-from", str(run), "--epochs", "1", "--restandardize",
               "--refit-batchnorm"])  # fmt: skip
    assert rc == 0
    card = json.loads((tmp_path / "r2" / "model" / "model.json").read_text())
    assert card["training_set"]["restandardize"] is True
    assert (
        card["standardization"] != load_model(run / "model", backbone=True).card["standardization"]
    )


@pytest.mark.parametrize(
    ("table_name", "probe"),
    [("pretrain_targets_coremof.csv", "sphere"), ("pretrain_targets_coremof_co2.csv", "CO2")],
)
def test_the_shipped_targets_never_hold_a_holdout_or_evaluation_structure(table_name, probe):
    from retvis.cli.targets_cmd import excluded_names
    from retvis.paths import resources_dir
    from retvis.sim.targets import target_columns

    table = resources_dir() / "datasets" / table_name
    with open(table, newline="") as fh:
        rows = list(csv.DictReader(fh))
    names = {r["name"] for r in rows}
    assert len(rows) > 9_900 and not names & excluded_names()
    ok = [r for r in rows if r["status"] == "ok"]
    assert len(ok) > 9_000 and all(r["reason"] for r in rows if r["status"] != "ok")
    for col in target_columns(probe):
        vals = [float(r[col]) for r in ok if r[col] != ""]
        assert len(vals) > 0.9 * len(ok) and all(math.isfinite(v) for v in vals), col


def test_pretraining_refuses_a_clip_that_keeps_nothing():
    from retvis.errors import DataError

    with pytest.raises(DataError, match="clip_sd"):
        PretrainConfig(clip_sd=0)
