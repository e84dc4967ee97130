"""`retvis train`, `retvis evaluate` and `retvis learning-curve` end to end, as the GUI runs
them: a child process printing one JSON object per line, cancelled with the STOP file."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from retvis.errors import DataError
from retvis.ml.evaluate import evaluate_run, record_evaluation
from retvis.ml.weights import load_model, read_card, resolve_model
from tests.conftest import REPO


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def test_train_stop_file_then_evaluate(demo_set, tmp_path):
    run_dir = tmp_path / "run"
    cmd = [
        sys.executable,
        "-m",
        "retvis",
        "train",
        str(demo_set),
        str(demo_set / "labels.csv"),
        "-o",
        str(run_dir),
        "--epochs",
        "50",
        "--batch-size",
        "16",
        "--ensemble",
        "1",
        "--units",
        "1",
        "--threads",
        "2",
    ]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(), cwd=tmp_path
    )
    records = []
    for line in proc.stdout:
        rec = json.loads(line)  # every stdout line is one JSON object
        records.append(rec)
        if rec["event"] == "epoch" and rec["epoch"] == 1:
            (run_dir / "STOP").touch()  # the GUI's cancel
    rc = proc.wait(timeout=300)
    assert rc == 0, proc.stderr.read()
    epochs = [r for r in records if r["event"] == "epoch"]
    final = records[-1]
    assert final["event"] == "done" and final["status"] == "cancelled"
    assert 1 <= len(epochs) <= 2
    assert {"train_loss", "val_loss", "r2_train", "r2_val", "lr", "seconds", "checkpoint"} <= set(
        epochs[0]
    )
    assert Path(epochs[0]["checkpoint"]).is_file()
    model_dir = Path(final["model"])
    assert (model_dir / "model.json").is_file()

    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "retvis",
            "evaluate",
            str(run_dir),
            str(demo_set),
            str(demo_set / "labels.csv"),
            "--split",
            "all",
            "--descriptors",
            str(demo_set / "descriptors.csv"),
            "--bootstrap",
            "2000",
        ],
        capture_output=True,
        text=True,
        env=_env(),
        cwd=tmp_path,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    res = json.loads(lines[-1])
    assert res["n"] == 20 and res["split"] == "all"
    # the RF baseline, trained on the run's training names, scored on the same 20
    assert res["rf"]["n"] == 20 and res["rf"]["n_train"] == len(
        json.loads((run_dir / "split.json").read_text())["train"]
    )
    assert res["rf"]["metrics"]["r2"]["low"] <= res["rf"]["metrics"]["r2"]["high"]
    r2 = res["metrics"]["r2"]
    assert r2["low"] <= r2["high"]
    ev = run_dir / "eval_all"
    assert json.loads((ev / "evaluation.json").read_text())["metrics"] == res["metrics"]
    for png in ("parity.png", "parity_rf.png"):
        assert (ev / png).read_bytes()[:4] == b"\x89PNG"
    # the predictions written agree with a fresh load of the run
    rows = [s.split(",") for s in (ev / "predictions.csv").read_text().splitlines()[1:]]
    names = json.loads((demo_set / "names.json").read_text())
    vox = np.load(demo_set / "voxels.npy")
    pred = load_model(run_dir).predict(vox)[0]
    for name, _label, p, _std in rows:
        assert (
            float(p) == np.float64(pred[names.index(name)]).item()
            or abs(float(p) - pred[names.index(name)]) < 1e-6
        )

    # external: the labelled materials the run neither trained nor selected on
    sp = json.loads((run_dir / "split.json").read_text())
    ext = evaluate_run(run_dir, demo_set, demo_set / "labels.csv", split="external", n_boot=200)
    assert ext["n"] == len(sp["test"]) and ext["n_seen"] == len(sp["train"]) + len(sp["val"])
    scored = [
        r.split(",")[0]
        for r in (run_dir / "eval_external" / "predictions.csv").read_text().splitlines()[1:]
    ]
    assert sorted(scored) == sorted(sp["test"])
    entry = record_evaluation(run_dir, ext, demo_set / "labels.csv")
    folder = resolve_model(run_dir)
    assert read_card(folder)["evaluations_external"]["labels"] == entry
    assert entry["n"] == ext["n"] and entry["metrics"] == ext["metrics"]
    assert (folder / entry["parity_plot"]).read_bytes()[:4] == b"\x89PNG"
    assert load_model(run_dir).predict(vox)[0].shape == (20,)  # the card still loads
    with pytest.raises(DataError, match="external"):
        evaluate_run(
            run_dir,
            demo_set,
            demo_set / "labels.csv",
            split="external",
            descriptors_csv=demo_set / "descriptors.csv",
        )


def test_train_reports_data_errors_cleanly(demo_set, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("name,value\nBUKRUW02_clean,0.7\nBUKRUW02_clean,0.8\n")
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "retvis",
            "train",
            str(demo_set),
            str(bad),
            "-o",
            str(tmp_path / "r"),
        ],
        capture_output=True,
        text=True,
        env=_env(),
        cwd=tmp_path,
        timeout=120,
    )
    assert out.returncode == 2
    assert "duplicated" in out.stderr and "Traceback" not in out.stderr


def _lc_args(demo_set, out, sizes: str, *extra: str) -> list[str]:
    return [
        "learning-curve",
        str(demo_set),
        str(demo_set / "labels.csv"),
        "-o",
        str(out),
        "--sizes",
        sizes,
        "--epochs",
        "1",
        "--batch-size",
        "16",
        "--no-augment",
        "--descriptors",
        str(demo_set / "descriptors.csv"),
        "--bootstrap",
        "500",
        *extra,
    ]


def test_learning_curve_cli_retnet_and_rf(demo_set, tmp_path):
    from retvis.cli import main

    out = tmp_path / "lc"
    lc_args = _lc_args(demo_set, out, "6,12")
    rc = main(lc_args)
    assert rc == 0
    res = json.loads((out / "learning_curve.json").read_text())
    assert [p["size"] for p in res["retnet"]] == [6, 12]
    assert [p["size"] for p in res["rf"]] == [6, 12]
    for p in res["retnet"] + res["rf"]:
        assert p["r2"]["low"] <= p["r2"]["high"]
    assert (out / "learning_curve.png").read_bytes()[:4] == b"\x89PNG"
    # a second call on the same folder reuses the finished sizes instead of failing
    assert main(lc_args) == 0
    again = json.loads((out / "learning_curve.json").read_text())
    assert [p["r2"] for p in again["retnet"]] == [p["r2"] for p in res["retnet"]]
    split = json.loads((out / "split.json").read_text())
    assert json.loads((out / "retnet_12" / "split.json").read_text())["test"] == split["test"]
    # an ensemble at every size: K members per point, the same test set
    ens = tmp_path / "lc_ens"
    assert main(_lc_args(demo_set, ens, "6", "--ensemble", "2")) == 0
    card = json.loads((ens / "retnet_6" / "model" / "model.json").read_text())
    assert len(card["members"]) == 2
    assert json.loads((ens / "learning_curve.json").read_text())["n_test"] == res["n_test"]


def test_learning_curve_trains_every_point_with_the_train_recipe(demo_set, tmp_path):
    """The recipe options of ``retvis train`` (one shared set) reach each size's run, so a
    curve describes the model it is drawn for, per-volume label-units loss included."""
    from retvis.cli import main

    out = tmp_path / "lc"
    extra = ("--per-volume", "--label-units-loss", "--reweight", "sqrt-inv", "--lr", "0.002",
             "--lr-step", "3", "--dropout", "0.1", "--no-scale-target")  # fmt: skip
    assert main(_lc_args(demo_set, out, "6", *extra)) == 0
    cfg = json.loads((out / "retnet_6" / "config.json").read_text())["config"]
    assert cfg["per_volume"] and cfg["label_units_loss"] and not cfg["scale_target"]
    assert (cfg["reweight"], cfg["lr"], cfg["lr_step"], cfg["dropout"]) == (
        "sqrt-inv",
        0.002,
        3,
        0.1,
    )
    assert cfg["train_size"] == 6


def test_learning_curve_refuses_a_folder_started_on_another_split(demo_set, tmp_path):
    """A saved OUT/split.json is never silently preferred over a different --split."""
    from retvis.cli import main
    from retvis.ml import data as D

    names = json.loads((demo_set / "names.json").read_text())
    first, other = D.make_split(names, seed=0), D.make_split(names, seed=1)
    assert first["test"] != other["test"]
    out = tmp_path / "lc"
    out.mkdir()
    D.save_split(first, out / "split.json")
    D.save_split(other, tmp_path / "other.json")
    proc = subprocess.run(
        [sys.executable, "-m", "retvis",
         *_lc_args(demo_set, out, "6", "--split", str(tmp_path / "other.json"))],
        capture_output=True, text=True, env=_env(), cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert "another split" in proc.stderr and "Traceback" not in proc.stderr
    assert not (out / "retnet_6").exists()  # refused before any training
    # the folder's own split is accepted: that is a resumed curve
    D.save_split(first, tmp_path / "same.json")
    assert main(_lc_args(demo_set, out, "6", "--split", str(tmp_path / "same.json"))) == 0
    assert (out / "retnet_6").is_dir()


def test_learning_curve_fine_tunes_every_point_like_train(demo_set, tmp_path):
    """--init-from is a recipe option: the curve's points start from the model as well."""
    from retvis.cli import build_parser, main

    out = tmp_path / "lc"
    assert main(_lc_args(demo_set, out, "6", "--init-from", "ch4-coremof", "--freeze-conv")) == 0
    res = json.loads((out / "learning_curve.json").read_text())
    assert res["init_from"] == "ch4-coremof" and [p["size"] for p in res["retnet"]] == [6]
    saved = json.loads((out / "retnet_6" / "config.json").read_text())["config"]
    assert saved["init_from"] == "ch4-coremof" and saved["freeze_conv"] is True
    args = build_parser().parse_args(["train", "v", "l.csv", "-o", "r", "--init-from", "m"])
    assert args.init_from == "m" and args.freeze_conv is False
