"""The Random Forest baseline on real geometric descriptors (CoRE MOF 2019's Zeo++ table)."""

import math

import numpy as np
import pytest

from retvis.errors import DataError
from retvis.ml.baselines import RandomForestBaseline, descriptor_matrix, fit_rf_on_split
from retvis.ml.data import make_split
from retvis.ml.metrics import point_metrics
from tests.conftest import core_mof_table

FEATURES = ("lcd", "pld", "lfpd", "asa_m2_g", "void_fraction", "density_g_cm3")
COLUMNS = ("LCD", "PLD", "LFPD", "ASA_m2_g", "AV_VF", "cm3_g")  # "cm3_g" holds g/cm3


@pytest.fixture(scope="module")
def core_table():
    table, target = {}, {}
    for name, r in list(core_mof_table().items())[:1500]:
        try:
            vals = [float(r[c]) for c in COLUMNS]
            pv = float(r["AV_cm3_g"])  # target: pore volume, cm3/g
        except ValueError:
            continue
        table[name] = dict(zip(FEATURES, vals, strict=True))
        target[name] = pv
    return table, target


def test_rf_learns_pore_volume_from_geometry_on_a_shared_split(core_table):
    table, target = core_table
    table = {k: dict(v) for k, v in table.items()}
    names = sorted(target)
    table[names[0]]["lcd"] = math.inf  # a broken row is dropped, not fatal
    split = make_split(names, seed=0)
    y = np.array([target[n] for n in names])
    res = fit_rf_on_split(table, names, y, split, features=FEATURES)
    assert res["n_dropped_train"] + res["n_dropped_test"] == 1
    assert set(res["test_names"]) <= set(split["test"])
    assert point_metrics(res["y_test"], res["pred_test"])["r2"] > 0.8
    small = fit_rf_on_split(table, names, y, split, train_size=50, features=FEATURES)
    assert small["n_train"] <= 50


def test_rf_conventions_and_nan_rows(core_table):
    table, target = core_table
    names = sorted(target)[:40]
    X, ok = descriptor_matrix(table, names + ["missing"], FEATURES)
    assert X.shape == (41, 6) and not ok[-1]
    rf = RandomForestBaseline(FEATURES, random_state=1)
    assert not hasattr(rf, "model_")
    y = np.array([target[n] for n in names] + [1.0])
    rf.fit(X, y)
    assert rf.n_dropped_ == 1
    pred = rf.predict(X)
    assert np.isnan(pred[-1]) and np.isfinite(pred[:-1]).all()
    with pytest.raises(DataError, match="expected X"):
        rf.fit(X[:, :3], y)
