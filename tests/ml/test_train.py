"""Training on real grids (the 20 demo MOFs at n = 25) with a real label (CoRE MOF's
Zeo++ void fraction, see conftest.py); tiny epochs so the suite stays fast."""

import csv
import json
import pickle

import numpy as np
import pytest
import torch

from retvis.errors import DataError, SpecError, WeightsError
from retvis.ml.train import TrainConfig, train_run
from retvis.ml.weights import load_model, sha256_file

FAST = dict(batch_size=16, augment=False, dropout=0.0, val_fraction=0.1, test_fraction=0.1)


@pytest.fixture(scope="module")
def run(demo_set, tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "run"
    records = []
    cfg = TrainConfig(epochs=4, ensemble=2, units="1", target_name="void fraction", **FAST)
    final = train_run(demo_set, demo_set / "labels.csv", out, cfg, emit=records.append)
    return out, records, final


def test_training_loss_falls_and_records_are_complete(run):
    out, records, final = run
    epochs = [r for r in records if r["event"] == "epoch"]
    assert [(r["member"], r["epoch"]) for r in epochs] == [
        (m, e) for m in (0, 1) for e in (1, 2, 3, 4)
    ]
    for m in (0, 1):
        losses = [r["train_loss"] for r in epochs if r["member"] == m]
        assert losses[-1] < losses[0], losses
    keys = {"epoch", "train_loss", "val_loss", "r2_train", "r2_val", "lr", "seconds", "checkpoint"}
    assert all(keys <= set(r) for r in epochs)
    assert all(r["lr"] == 1e-3 for r in epochs)
    assert final["event"] == "done" and final["status"] == "finished"
    lines = (out / "history.jsonl").read_text().splitlines()
    assert [json.loads(s) for s in lines] == epochs


def test_run_folder_holds_config_hash_versions_weights_metrics_plots(run, demo_set):
    out, _, final = run
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["seed"] == 0 and cfg["config"]["epochs"] == 4
    assert cfg["config"]["betas"] == [0.9, 0.999] and cfg["config"]["lr_step"] == 10
    assert len(cfg["data"]["hash"]) == 64
    assert cfg["versions"]["torch"] == torch.__version__
    assert cfg["data"]["n_train"] + cfg["data"]["n_val"] + cfg["data"]["n_test"] == 20
    card = json.loads((out / "model" / "model.json").read_text())
    assert len(card["members"]) == 2
    for m in card["members"]:
        assert m["sha256"] == sha256_file(out / "model" / m["file"])
    assert card["target"] == {"name": "void fraction", "column": "value", "units": "1"}
    assert card["gridspec"]["n"] == 25
    assert card["training_set"]["data_hash"] == cfg["data"]["hash"]
    assert set(json.loads((out / "metrics.json").read_text())["test"]) >= {"r2", "mae"}
    for png in ("loss.png", "parity_val.png", "parity_test.png"):
        assert (out / "plots" / png).read_bytes()[:4] == b"\x89PNG"
    split = json.loads((out / "split.json").read_text())
    assert not set(split["train"]) & set(split["test"])
    # the card records the training labels' percentiles (the top-end note reads p95)
    with open(demo_set / "labels.csv", newline="") as fh:
        y = {r["name"]: float(r["value"]) for r in csv.DictReader(fh)}
    y_train = np.array([y[n] for n in split["train"]])
    q = card["training_set"]["label_quantiles"]
    assert q["max"] == y_train.max() and q["p95"] == pytest.approx(np.percentile(y_train, 95))


def test_reloaded_model_predicts_the_same_as_the_trained_networks(run, demo_set):
    out, _, _ = run
    vox = np.load(demo_set / "voxels.npy")
    p = load_model(out)
    mean, std = p.predict(vox)
    assert mean.shape == std.shape == (20,) and np.all(std > 0)  # two members disagree
    # reference: the best checkpoints (which predict the scaled target), unfused,
    # standardized by hand, their outputs scaled back by hand
    from retvis.ml.retnet import RetNet

    st = p.standardization
    ts = p.card["training_set"]["target_scaling"]
    assert ts["sd"] > 0 and ts["sd"] != 1.0
    x = torch.from_numpy(((vox - st.mean) / st.std).astype(np.float32)[:, None])
    ref = []
    for k in range(2):
        net = RetNet(25, 0.0)
        net.load_state_dict(torch.load(out / "members" / str(k) / "best.pt", weights_only=True))
        saved = p.members[k].state_dict()
        assert all(torch.equal(saved[n], v) for n, v in net.state_dict().items() if "out." not in n)
        with torch.no_grad():
            ref.append(ts["sd"] * net.eval()(x).double().numpy() + ts["mean"])
    np.testing.assert_allclose(mean, np.mean(ref, 0), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(load_model(out / "model").predict(vox)[0], mean, rtol=1e-6)
    assert p.spec.n == 25 and p.card["target"]["name"] == "void fraction"


def test_predictor_maps_fingerprints_and_saliency(run, demo_set):
    out, _, _ = run
    vox = np.load(demo_set / "voxels.npy")
    p = load_model(out)
    for layer, shape in p.layers.items():
        fm = p.feature_maps(vox[0], layer)
        assert fm.shape == shape and fm.dtype == np.float32 and fm.flags.c_contiguous
    assert p.fingerprint(vox[:3]).shape == (3, 20)
    with pytest.raises(SpecError, match="valid"):
        p.feature_maps(vox[0], "fc9")
    g = p.saliency(vox[0])
    assert g.shape == (25, 25, 25) and np.isfinite(g).all() and np.abs(g).max() > 0
    # integrated gradients are complete: attributions sum to f(x) - f(baseline)
    ig = p.saliency(vox[0], "integrated", steps=64)
    base = np.full_like(vox[0], p.standardization.mean)
    diff = p.predict(vox[:1])[0][0] - p.predict(base[None])[0][0]
    assert float(ig.sum()) == pytest.approx(diff, rel=0.1, abs=1e-3)


def test_tampered_or_foreign_weights_are_refused(run, tmp_path):
    import shutil

    out, _, _ = run
    model = shutil.copytree(out / "model", tmp_path / "model")
    w = model / "member_1.pt"
    data = bytearray(w.read_bytes())
    data[len(data) // 2] ^= 0xFF
    w.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="SHA-256 mismatch"):
        load_model(model)
    # a foreign pickle whose hash was put in the card is refused by weights_only loading
    w.write_bytes(pickle.dumps(print, protocol=2))  # torch.load's own protocol: no warning
    card = json.loads((model / "model.json").read_text())
    card["members"][1]["sha256"] = sha256_file(w)
    (model / "model.json").write_text(json.dumps(card))
    with pytest.raises(WeightsError, match="not a weights file"):
        load_model(model)
    (model / "model.json").write_text('{"format": "something-else"}')
    with pytest.raises(WeightsError, match="not a RetVis model"):
        load_model(model)
    with pytest.raises(WeightsError, match="named models"):
        load_model("no-such-model")


def test_named_models_resolve_in_the_user_data_dir(run, tmp_path, monkeypatch):
    import shutil

    from retvis.paths import data_dir

    out, _, _ = run
    shutil.copytree(out / "model", data_dir() / "models" / "demo-vf")
    assert load_model("demo-vf").card["target"]["name"] == "void fraction"
    from retvis.ml import available_models

    assert "demo-vf" in available_models()


def test_cancel_keeps_the_best_checkpoint_and_resume_continues(demo_set, tmp_path):
    out = tmp_path / "r"
    cfg = TrainConfig(epochs=2, seed=5, **FAST)

    def after_first_epoch():
        h = out / "history.jsonl"
        return h.is_file() and len(h.read_text().splitlines()) >= 1

    first = train_run(demo_set, demo_set / "labels.csv", out, cfg, should_stop=after_first_epoch)
    assert first["status"] == "cancelled" and first["model"]
    load_model(out)  # the best epoch so far is a usable model
    recs = []
    second = train_run(demo_set, demo_set / "labels.csv", out, resume=True, emit=recs.append)
    assert second["status"] == "finished"
    assert [r["epoch"] for r in recs if r["event"] == "epoch"] == [2]
    assert len((out / "history.jsonl").read_text().splitlines()) == 2


def test_the_target_is_scaled_so_its_units_do_not_change_what_is_learned(demo_set, tmp_path):
    """The same labels in units 1000 times smaller train the same networks (to rounding)
    and predict 1000 times the values; docs/method.md's unscaled training does not."""
    lines = (demo_set / "labels.csv").read_text().splitlines()
    big = tmp_path / "big.csv"
    big.write_text(
        "\n".join(
            [lines[0]] + [f"{n},{1000 * float(v)}" for n, v in (s.split(",") for s in lines[1:])]
        )
        + "\n"
    )
    vox = np.load(demo_set / "voxels.npy")
    preds = {}
    for scaled in (True, False):
        for name, labels in (("small", demo_set / "labels.csv"), ("big", big)):
            cfg = TrainConfig(epochs=2, scale_target=scaled, **FAST)
            final = train_run(demo_set, labels, tmp_path / f"{name}-{scaled}", cfg)
            preds[name, scaled] = load_model(final["model"]).predict(vox)[0]
    np.testing.assert_allclose(preds["big", True], 1000 * preds["small", True], rtol=1e-3)
    ratio = preds["big", False] / preds["small", False]
    assert np.abs(ratio - 1000).max() > 10, ratio
    card = json.loads((tmp_path / "big-True" / "model" / "model.json").read_text())
    assert card["training_set"]["target_scaling"]["sd"] > 1
    card = json.loads((tmp_path / "big-False" / "model" / "model.json").read_text())
    assert card["training_set"]["target_scaling"] == {"mean": 0.0, "sd": 1.0}
    from retvis.cli import build_parser

    args = build_parser().parse_args(["train", "v", "l.csv", "-o", "r", "--no-scale-target"])
    assert args.no_scale_target is True


def test_a_run_saved_before_target_scaling_resumes_without_it(demo_set, tmp_path):
    out = tmp_path / "old"
    cfg = TrainConfig(epochs=2, seed=5, **FAST)
    train_run(demo_set, demo_set / "labels.csv", out, cfg, should_stop=lambda: True)
    saved = json.loads((out / "config.json").read_text())
    del saved["config"]["scale_target"]  # as written by RetVis before the setting existed
    (out / "config.json").write_text(json.dumps(saved))
    final = train_run(demo_set, demo_set / "labels.csv", out, resume=True)
    card = json.loads((out / "model" / "model.json").read_text())
    assert final["status"] == "finished"
    assert card["training_set"]["target_scaling"] == {"mean": 0.0, "sd": 1.0}


def test_fine_tuning_with_frozen_convolutions(run, demo_set, tmp_path):
    out, _, _ = run
    src = load_model(out)
    cfg = TrainConfig(epochs=1, init_from=str(out), freeze_conv=True, **FAST)
    final = train_run(demo_set, demo_set / "labels.csv", tmp_path / "ft", cfg)
    tuned = load_model(final["model"])
    # the last trained state (the kept one may be the start, epoch 0)
    ck = torch.load(tmp_path / "ft" / "members" / "0" / "checkpoint.pt", weights_only=True)
    a, b = src.members[0].state_dict(), ck["model"]
    assert all(torch.equal(a[k], b[k]) for k in a if k.startswith(("conv1", "conv5")))
    assert not torch.equal(a["fc.fc1.weight"], b["fc.fc1.weight"])
    assert tuned.standardization == src.standardization
    with pytest.raises(SpecError, match="init-from"):
        TrainConfig(freeze_conv=True).validate()


def test_fine_tuning_starts_from_the_source_predictions(run, demo_set):
    # a new target scaling (labels on another scale): before any step, the network must
    # predict what the source predicts, in the source's units
    from retvis.ml.retnet import build_retnet
    from retvis.ml.train import _start_from

    out, _, _ = run
    src = load_model(out)
    x = torch.from_numpy(src.standardization.apply(np.load(demo_set / "voxels.npy")[:6]))
    tscale = {"mean": 2.7, "sd": 3.5}
    for member in src.members:
        net = _start_from(build_retnet(x.shape[-1], 0.0, seed=9), member, tscale).eval()
        with torch.no_grad():
            want = member.eval()(x[:, None]).numpy()
            got = (net(x[:, None]) * tscale["sd"] + tscale["mean"]).numpy()
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_a_fine_tune_keeps_the_source_batchnorm_statistics_unless_refit(run, demo_set, tmp_path):
    out, _, _ = run
    src = load_model(out).members[0].state_dict()
    stats = [k for k in src if k.endswith(("running_mean", "running_var"))]
    assert len(stats) == 14  # 5 conv blocks + 2 in the head, mean and variance each
    for refit in (False, True):
        cfg = TrainConfig(epochs=1, init_from=str(out), refit_batchnorm=refit, **FAST)
        final = train_run(demo_set, demo_set / "labels.csv", tmp_path / f"ft{refit}", cfg)
        last = torch.load(tmp_path / f"ft{refit}/members/0/checkpoint.pt", weights_only=True)
        kept = [torch.equal(src[k], last["model"][k]) for k in stats]
        assert all(kept) if not refit else not any(kept)
        assert not torch.equal(src["fc.fc1.weight"], last["model"]["fc.fc1.weight"])
        card = json.loads((tmp_path / f"ft{refit}/model/model.json").read_text())
        assert card["training_set"]["refit_batchnorm"] is refit
        assert final["status"] == "finished"
    with pytest.raises(SpecError, match="refit-batchnorm needs --init-from"):
        TrainConfig(refit_batchnorm=True).validate()
    # a fine-tune saved before the setting existed refitted them, and resumes so
    old = tmp_path / "old"
    cfg = TrainConfig(epochs=1, init_from=str(out), **FAST)
    train_run(demo_set, demo_set / "labels.csv", old, cfg, should_stop=lambda: True)
    saved = json.loads((old / "config.json").read_text())
    del saved["config"]["refit_batchnorm"]
    (old / "config.json").write_text(json.dumps(saved))
    train_run(demo_set, demo_set / "labels.csv", old, resume=True)
    card = json.loads((old / "model" / "model.json").read_text())
    assert card["training_set"]["refit_batchnorm"] is True


def test_a_fine_tune_that_never_beats_its_start_keeps_the_source(run, demo_set, tmp_path):
    # a learning rate that wrecks the network: no epoch beats the source on validation,
    # so the start (epoch 0) is kept and the model predicts what the source predicts
    out, _, _ = run
    src = load_model(out)
    cfg = TrainConfig(epochs=2, ensemble=2, init_from=str(out), lr=0.5, **FAST)
    recs = []
    final = train_run(demo_set, demo_set / "labels.csv", tmp_path / "ft", cfg, emit=recs.append)
    epochs = [r for r in recs if r["event"] == "epoch"]
    assert final["metrics"]["best_epochs"] == [0, 0]
    assert "no epoch beat the starting model" in final["note"]
    tuned = load_model(final["model"])
    starts = [m["start_val_loss"] for m in tuned.card["members"]]
    assert None not in starts and len(epochs) == 4
    assert all(starts[r["member"]] < r["val_loss"] for r in epochs)
    x = np.load(demo_set / "voxels.npy")
    np.testing.assert_allclose(tuned.predict(x)[0], src.predict(x)[0], rtol=1e-4, atol=1e-4)


def test_early_stopping_on_validation(demo_set, tmp_path):
    cfg = TrainConfig(epochs=6, patience=1, seed=2, **FAST)
    recs = []
    final = train_run(demo_set, demo_set / "labels.csv", tmp_path / "es", cfg, emit=recs.append)
    epochs = [r for r in recs if r["event"] == "epoch"]
    vals = [r["val_loss"] for r in epochs]
    if final["status"] == "early_stopped":
        assert len(epochs) < 6 and epochs[-1]["epoch"] - epochs[-1]["best_epoch"] == 1
        assert vals[-1] >= min(vals[:-1])
    else:  # validation improved every epoch
        assert final["status"] == "finished" and vals == sorted(vals, reverse=True)
    with pytest.raises(DataError, match="already holds a training run"):
        train_run(demo_set, demo_set / "labels.csv", tmp_path / "es", cfg)


def test_device_is_checked_before_any_work():
    if torch.cuda.is_available():
        pytest.skip("a GPU is present: the refusal cannot occur")
    with pytest.raises(SpecError, match="no CUDA GPU"):
        TrainConfig(device="cuda").validate()
    with pytest.raises(SpecError, match="no CUDA GPU"):
        load_model("anything", device="cuda")
    with pytest.raises(SpecError, match="'cpu' or 'cuda'"):
        TrainConfig(device="tpu").validate()


def test_negative_targets_train_only_when_allowed_and_evaluate_alike(demo_set, tmp_path):
    """A target that can be negative (here minus the void fraction, as an adsorption
    enthalpy would be) is refused by default, trains with ``allow_negative``, and the
    model remembers it so that evaluation reads the labels the same way."""
    from retvis.cli import build_parser
    from retvis.ml.evaluate import evaluate_run

    lines = (demo_set / "labels.csv").read_text().splitlines()
    neg = tmp_path / "neg.csv"
    neg.write_text(
        "\n".join([lines[0]] + [f"{n},{-float(v)}" for n, v in (s.split(",") for s in lines[1:])])
        + "\n"
    )
    cfg = TrainConfig(epochs=1, **FAST)
    with pytest.raises(DataError, match="row 2 \\(.*\\): negative value .*--allow-negative"):
        train_run(demo_set, neg, tmp_path / "refused", cfg)
    cfg = TrainConfig(epochs=1, allow_negative=True, **FAST)
    final = train_run(demo_set, neg, tmp_path / "neg", cfg)
    assert load_model(final["model"]).target["allow_negative"] is True
    res = evaluate_run(tmp_path / "neg", demo_set, neg, split="all", n_boot=200)
    assert res["n"] == 20
    args = build_parser().parse_args(["train", "v", "l.csv", "-o", "r", "--allow-negative"])
    assert args.allow_negative is True
    args = build_parser().parse_args(["learning-curve", "v", "l.csv", "-o", "r"])
    assert args.allow_negative is False


def test_shift_trains_on_periodic_grids_and_refuses_others(demo_set, tmp_path):
    cfg = TrainConfig(epochs=1, units="1", shift=True, **FAST)
    final = train_run(demo_set, demo_set / "labels.csv", tmp_path / "run", cfg)
    assert final["status"] == "finished"
    assert json.loads((tmp_path / "run" / "config.json").read_text())["config"]["shift"] is True
    # grids with the end point repeat a plane: a roll is not a symmetry there
    seedlike = tmp_path / "seedlike"
    seedlike.mkdir()
    for f in ("voxels.npy", "names.json", "labels.csv"):
        (seedlike / f).symlink_to(demo_set / f)
    spec = json.loads((demo_set / "gridspec.json").read_text())
    (seedlike / "gridspec.json").write_text(json.dumps({**spec, "endpoint": True}))
    with pytest.raises(DataError, match="--shift needs periodic grids"):
        train_run(seedlike, seedlike / "labels.csv", tmp_path / "run2", cfg)


def test_reweighting_weights_the_training_loss_and_is_recorded(demo_set, tmp_path):
    first_loss = {}
    for kind in ("none", "sqrt-inv"):
        records = []
        cfg = TrainConfig(epochs=1, units="1", reweight=kind, **FAST)
        final = train_run(demo_set, demo_set / "labels.csv", tmp_path / kind, cfg, records.append)
        assert final["status"] == "finished"
        saved = json.loads((tmp_path / kind / "config.json").read_text())["config"]
        assert saved["reweight"] == kind
        first_loss[kind] = next(r for r in records if r["event"] == "epoch")["train_loss"]
    # same seed, same batches, same start: only the weights differ
    assert first_loss["none"] != pytest.approx(first_loss["sqrt-inv"], rel=1e-3)
    with pytest.raises(SpecError, match="unknown reweighting"):
        TrainConfig(reweight="inverse").validate()


@pytest.mark.parametrize("label_units", [False, True])
def test_per_volume_epochs_are_chosen_on_the_chosen_units_squared_error(
    demo_set, tmp_path, label_units
):
    """The recorded best validation loss is the squared error of the saved model's
    validation predictions: per volume by default, in the label's own units (each error
    weighted by 1 / density²) with ``label_units_loss``."""
    from retvis.ml import data as D

    cfg = TrainConfig(epochs=3, units="1", per_volume=True, label_units_loss=label_units, **FAST)
    final = train_run(demo_set, demo_set / "labels.csv", tmp_path / "run", cfg)
    model = load_model(final["model"])
    vs = D.open_voxels(demo_set)
    names = json.loads((tmp_path / "run" / "split.json").read_text())["val"]
    x, dens = vs.take([vs.index()[n] for n in names])
    labels = {r["name"]: float(r["value"]) for r in csv.DictReader(open(demo_set / "labels.csv"))}
    y = np.array([labels[n] for n in names])
    err = model.predict(x, density=dens)[0] - y
    sd = model.card["training_set"]["target_scaling"]["sd"]
    if label_units:  # weights 1/density², normalized to mean 1 over the validation set
        want = np.mean(err**2) / np.mean(dens**-2.0) / sd**2
    else:
        want = np.mean((err * dens) ** 2) / sd**2
    best = json.loads((tmp_path / "run" / "metrics.json").read_text())["members"][0]
    assert best["best_val_loss"] == pytest.approx(want, rel=1e-3)
    assert (
        json.loads((tmp_path / "run" / "config.json").read_text())["config"]["label_units_loss"]
        is label_units
    )
    with pytest.raises(SpecError, match="--label-units-loss needs --per-volume"):
        TrainConfig(label_units_loss=True).validate()


def test_per_volume_models_learn_label_times_density_and_divide_it_out(demo_set, tmp_path):
    from retvis.ml import data as D
    from retvis.ml.evaluate import evaluate_run
    from retvis.ml.metrics import point_metrics

    cfg = TrainConfig(epochs=2, units="1", per_volume=True, **FAST)
    final = train_run(demo_set, demo_set / "labels.csv", tmp_path / "run", cfg)
    model = load_model(final["model"])
    assert model.per_volume and model.target["per_volume"] is True
    vs = D.open_voxels(demo_set)
    split = json.loads((tmp_path / "run" / "split.json").read_text())
    idx = vs.index()
    rows = np.array([idx[n] for n in split["test"]])
    x, dens = np.asarray(vs.voxels[rows]), vs.densities[rows]
    labels = {r["name"]: float(r["value"]) for r in csv.DictReader(open(demo_set / "labels.csv"))}
    y = np.array([labels[n] for n in split["test"]])
    # the run's own test metrics are those of the saved model divided by the densities
    mean, std = model.predict(x, density=dens)
    assert final["metrics"]["test"] == pytest.approx(point_metrics(y, mean), rel=1e-4, abs=1e-5)
    raw = model.predict_members(x, density=np.ones(len(x)))
    np.testing.assert_allclose(model.predict_members(x, density=dens), raw / dens)
    ev = evaluate_run(tmp_path / "run", demo_set, demo_set / "labels.csv", n_boot=10)
    assert ev["metrics"]["r2"]["value"] == pytest.approx(final["metrics"]["test"]["r2"], abs=1e-5)
    with pytest.raises(DataError, match="predicts per volume and needs each framework's density"):
        model.predict(x)
    with pytest.raises(DataError, match="finite and positive"):
        model.predict(x, density=np.zeros(len(x)))
    # grids written before densities were recorded are refused with the way out
    older = tmp_path / "older"
    older.mkdir()
    for f in ("voxels.npy", "names.json", "gridspec.json", "labels.csv"):
        (older / f).symlink_to(demo_set / f)
    with pytest.raises(DataError, match="no densities.json"):
        train_run(older, older / "labels.csv", tmp_path / "run2", cfg)


def test_co2_probe_grids_train_on_the_log_scale_and_the_model_keeps_it(demo_set, tmp_path):
    """``input_scale="auto"``: log for a CO2-probe voxels folder (its factors span
    decades), linear on request; the model applies the same scale, and integrated
    gradients stay complete on it."""
    co2 = tmp_path / "co2"
    co2.mkdir()
    for f in ("voxels.npy", "names.json", "labels.csv"):
        (co2 / f).symlink_to(demo_set / f)
    spec = json.loads((demo_set / "gridspec.json").read_text())
    (co2 / "gridspec.json").write_text(json.dumps({**spec, "probe": "CO2"}))
    train_run(co2, co2 / "labels.csv", tmp_path / "run", TrainConfig(epochs=1, units="1", **FAST))
    p = load_model(tmp_path / "run")
    st = p.standardization
    assert st.log and st.to_dict()["log"] is True
    vox = np.load(demo_set / "voxels.npy")
    logs = np.log(np.maximum(vox, 1e-6))
    assert logs.min() < st.mean < logs.max()
    np.testing.assert_allclose(st.apply(vox[0]), (logs[0] - st.mean) / st.std, rtol=1e-5, atol=1e-5)
    ig = p.saliency(vox[0], "integrated", steps=64)
    base = np.full_like(vox[0], np.exp(st.mean))  # the baseline: ln B at the mean
    diff = p.predict(vox[:1])[0][0] - p.predict(base[None])[0][0]
    assert float(ig.sum()) == pytest.approx(diff, rel=0.1, abs=1e-3)
    cfg = TrainConfig(epochs=1, units="1", input_scale="linear", **FAST)
    train_run(co2, co2 / "labels.csv", tmp_path / "lin", cfg)
    assert not load_model(tmp_path / "lin").standardization.log
    with pytest.raises(SpecError, match="input scale"):
        TrainConfig(input_scale="sqrt").validate()
