import time

import numpy as np
import pytest
from scipy.stats import spearmanr
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

from retvis.errors import DataError
from retvis.ml.metrics import (
    _weighted,
    bootstrap_metrics,
    learning_curve_plot,
    parity_plot,
    point_metrics,
)
from tests.conftest import core_mof_table


@pytest.fixture(scope="module")
def real_pair():
    """Real data: CoRE MOF's void fraction vs. a crude estimate of it from the density."""
    rows = list(core_mof_table().values())[:1000]
    y, yhat = [], []
    for r in rows:
        try:
            vf, rho = float(r["AV_VF"]), float(r["cm3_g"])  # "cm3_g" holds g/cm3
        except ValueError:
            continue
        y.append(vf)
        yhat.append(1.0 - rho / 2.5)
    return np.array(y), np.array(yhat)


def test_point_metrics_match_sklearn_and_scipy(real_pair):
    y, p = real_pair
    m = point_metrics(y, p)
    assert m["r2"] == pytest.approx(r2_score(y, p), rel=1e-10)
    assert m["mae"] == pytest.approx(mean_absolute_error(y, p), rel=1e-10)
    assert m["rmse"] == pytest.approx(np.sqrt(mean_squared_error(y, p)), rel=1e-10)
    assert m["spearman"] == pytest.approx(spearmanr(y, p).statistic, rel=1e-10)


def test_topk_recall():
    y = np.arange(200.0)
    assert point_metrics(y, y)["topk_recall"] == 1.0
    assert point_metrics(y, -y)["topk_recall"] == 0.0
    p = y.copy()
    p[-10:] = -1  # the true top 5 % (10 of 200) all predicted low
    p[:5] = 1000  # five others predicted top
    assert point_metrics(y, p)["topk_recall"] == 0.0
    p = y.copy()
    p[[199, 198]] = -5
    assert point_metrics(y, p)["topk_recall"] == pytest.approx(0.8)


def test_vectorized_bootstrap_equals_a_loop_over_resamples(real_pair):
    y, p = real_pair[0][:300], real_pair[1][:300]
    idx = np.random.default_rng(7).integers(0, 300, size=(50, 300))
    counts = np.stack([np.bincount(i, minlength=300) for i in idx])
    vec = _weighted(y, p, counts, 0.05)  # draw counts, no per-resample sort
    for b in range(50):
        ref = point_metrics(y[idx[b]], p[idx[b]])  # the resample itself, scipy-style ranks
        for k in ("r2", "mae", "rmse", "spearman"):
            assert vec[k][b] == pytest.approx(ref[k], rel=1e-9, abs=1e-12), k
        # duplicated draws tie; the counted form aligns tied copies, so it can only be higher
        assert ref["topk_recall"] - 1e-12 <= vec["topk_recall"][b] <= ref["topk_recall"] + 0.2


def test_bootstrap_intervals_cover_the_value_and_shrink_with_n(real_pair):
    y, p = real_pair
    t = time.perf_counter()
    big = bootstrap_metrics(y, p, n_boot=10_000)
    elapsed = time.perf_counter() - t
    small = bootstrap_metrics(y[:100], p[:100], n_boot=10_000)
    for m in (big, small):
        for k in ("r2", "mae", "rmse", "spearman"):
            assert m[k]["low"] < m[k]["high"], k
        for k in ("r2", "mae", "rmse"):
            assert m[k]["low"] <= m[k]["value"] <= m[k]["high"], k
    width = lambda m, k: m[k]["high"] - m[k]["low"]  # noqa: E731
    assert width(big, "r2") < width(small, "r2")
    assert big["n_boot"] == 10_000 and big["n"] == len(y)
    assert elapsed < 60  # vectorized; a Python loop over 10,000 resamples is far slower
    with pytest.raises(DataError):
        bootstrap_metrics([1.0], [1.0])


def test_plots_are_pngs(real_pair, tmp_path):
    y, p = real_pair
    m = bootstrap_metrics(y[:200], p[:200], n_boot=200)
    parity_plot(y[:200], p[:200], tmp_path / "parity.png", units="1", metrics=m)
    pts = [{"size": s, "r2": {"value": 0.5, "low": 0.4, "high": 0.6}} for s in (10, 100)]
    learning_curve_plot({"RetNet": pts, "RF": pts}, tmp_path / "lc.png")
    for f in ("parity.png", "lc.png"):
        assert (tmp_path / f).read_bytes()[:4] == b"\x89PNG"


def test_degenerate_resamples_do_not_poison_the_interval():
    y = np.array([1.0, 2.0, 3.0])
    m = bootstrap_metrics(y, y + 0.1, n_boot=2000)
    assert -2 < m["r2"]["low"] <= m["r2"]["high"] <= 1
