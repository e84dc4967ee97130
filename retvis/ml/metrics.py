"""Regression metrics with bootstrap intervals, parity plots and learning-curve plots.

Metrics: R², MAE, RMSE, Spearman's rho and top-k recall (the fraction of the true top
5 % that is also in the predicted top 5 %, the screening question). Each comes with a
95 % percentile bootstrap interval over the evaluated set (10,000 resamples by default,
docs/method.md section 3), computed vectorized in chunks of resamples.

Plots use Matplotlib's object API with the Agg canvas: no global backend is changed.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from scipy.stats import rankdata

from ..errors import DataError

METRICS: tuple[str, ...] = ("r2", "mae", "rmse", "spearman", "topk_recall")
#: Fraction defining "top" in the top-k recall.
TOP_FRACTION = 0.05


def _as_pair(y, yhat) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    y = np.asarray(y, dtype=np.float64).ravel()
    yhat = np.asarray(yhat, dtype=np.float64).ravel()
    if y.shape != yhat.shape:
        raise DataError(f"{len(y)} labels for {len(yhat)} predictions")
    if len(y) < 2:
        raise DataError(f"metrics need at least 2 materials, got {len(y)}")
    return y, yhat


def _resample_ranks(v: NDArray, counts: NDArray) -> NDArray:
    """Average rank of each original item inside each resample, shape (B, N).

    A resample is given by ``counts`` (B, N): how often each of the N items was drawn.
    Items tied in value share the average rank of their group, as ``rankdata`` does.
    O(B x N), no sorting per resample.
    """
    n = v.shape[0]
    order = np.argsort(v, kind="stable")
    vs = v[order]
    cs = counts[:, order].astype(np.float64)
    cum = np.cumsum(cs, axis=1)
    starts = np.r_[0, np.flatnonzero(vs[1:] != vs[:-1]) + 1]
    ranks = np.empty(counts.shape, dtype=np.float64)
    if len(starts) == n:  # no ties: each item is its own group
        cum -= (cs - 1.0) / 2.0
        ranks[:, order] = cum
        return ranks
    ends = np.r_[starts[1:], n]
    before = np.zeros((counts.shape[0], len(starts)))
    before[:, 1:] = cum[:, starts[1:] - 1]
    group_rank = before + (cum[:, ends - 1] - before + 1.0) / 2.0
    ranks[:, order] = group_rank[:, np.repeat(np.arange(len(starts)), ends - starts)]
    return ranks


def _top_slots(v: NDArray, counts: NDArray, k: int) -> NDArray:
    """Copies of each item among the k largest values of each resample, shape (B, N)."""
    order = np.argsort(-v, kind="stable")
    c = counts[:, order]
    before = np.cumsum(c, axis=1) - c
    slots = np.empty(counts.shape, dtype=np.float64)
    slots[:, order] = np.clip(k - before, 0, c)
    return slots


def _weighted(
    y: NDArray, yhat: NDArray, counts: NDArray, top_fraction: float
) -> dict[str, NDArray]:
    """All metrics for B resamples given as draw counts (B, N) of the N pairs."""
    w = counts.astype(np.float64)
    n = w.sum(1)
    res = yhat - y
    ss_res = (w * res**2).sum(1)
    my = (w * y).sum(1) / n
    ss_tot = (w * (y[None, :] - my[:, None]) ** 2).sum(1)
    # a resample that drew one distinct label has no spread: R² undefined (not -1e31)
    ss_tot[ss_tot <= 1e-12 * (w * y**2).sum(1)] = np.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = 1.0 - ss_res / ss_tot
    mae = (w * np.abs(res)).sum(1) / n
    rmse = np.sqrt(ss_res / n)
    ry = _resample_ranks(y, counts)
    rp = _resample_ranks(yhat, counts)
    ry -= ((w * ry).sum(1) / n)[:, None]
    rp -= ((w * rp).sum(1) / n)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = (w * ry * rp).sum(1) / np.sqrt((w * ry**2).sum(1) * (w * rp**2).sum(1))
    k = max(1, int(math.ceil(top_fraction * counts.shape[1])))
    hits = np.minimum(_top_slots(y, counts, k), _top_slots(yhat, counts, k)).sum(1)
    return {"r2": r2, "mae": mae, "rmse": rmse, "spearman": rho, "topk_recall": hits / k}


def _batched(y: NDArray, yhat: NDArray, top_fraction: float) -> dict[str, NDArray]:
    """All metrics for each row of (B, N) arrays (reference implementation, sorts)."""
    res = yhat - y
    ss_res = np.square(res).sum(1)
    ss_tot = np.square(y - y.mean(1, keepdims=True)).sum(1)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = 1.0 - ss_res / ss_tot
    mae = np.abs(res).mean(1)
    rmse = np.sqrt(np.square(res).mean(1))
    ry = rankdata(y, axis=1)
    rp = rankdata(yhat, axis=1)
    ry -= ry.mean(1, keepdims=True)
    rp -= rp.mean(1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = (ry * rp).sum(1) / np.sqrt(np.square(ry).sum(1) * np.square(rp).sum(1))
    n = y.shape[1]
    k = max(1, int(math.ceil(top_fraction * n)))
    top_y = np.argsort(-y, axis=1, kind="stable")[:, :k]
    top_p = np.argsort(-yhat, axis=1, kind="stable")[:, :k]
    mask = np.zeros(y.shape, dtype=bool)
    np.put_along_axis(mask, top_y, True, axis=1)
    hits = np.take_along_axis(mask, top_p, axis=1).sum(1)
    return {"r2": r2, "mae": mae, "rmse": rmse, "spearman": rho, "topk_recall": hits / k}


def point_metrics(y, yhat, top_fraction: float = TOP_FRACTION) -> dict[str, float]:
    """R², MAE, RMSE, Spearman and top-k recall of predictions ``yhat`` of labels ``y``."""
    y, yhat = _as_pair(y, yhat)
    m = _batched(y[None], yhat[None], top_fraction)
    return {k: float(v[0]) for k, v in m.items()}


def r2_score(y, yhat) -> float:
    """Coefficient of determination (nan when the labels have no spread)."""
    y, yhat = _as_pair(y, yhat)
    ss_tot = float(np.square(y - y.mean()).sum())
    return 1.0 - float(np.square(yhat - y).sum()) / ss_tot if ss_tot > 0 else math.nan


def bootstrap_metrics(
    y,
    yhat,
    n_boot: int = 10_000,
    seed: int = 0,
    level: float = 0.95,
    top_fraction: float = TOP_FRACTION,
    max_elements: int = 4_000_000,
) -> dict[str, dict[str, float]]:
    """Point values and percentile bootstrap intervals of every metric.

    Parameters
    ----------
    y, yhat : array-like
        Labels and predictions, shape (N,), same units.
    n_boot : int
        Resamples (with replacement, size N each).
    seed : int
        Seed of the resampling.
    level : float
        Interval coverage (0.95: the 2.5th and 97.5th percentiles).
    max_elements : int
        Resamples are drawn in chunks of at most this many (B x N) elements.

    Notes
    -----
    Each resample is represented by how often it drew each pair (multinomial counts),
    so every metric, Spearman's ranks with ties and the top-k recall included, is a
    weighted sum over the N pairs: O(B x N) with no per-resample sort.

    Returns
    -------
    dict
        Metric name -> ``{"value", "low", "high"}``; plus ``"n"`` and ``"n_boot"``.
    """
    y, yhat = _as_pair(y, yhat)
    n = len(y)
    rng = np.random.default_rng(seed)
    chunk = max(1, max_elements // n)
    samples: dict[str, list[NDArray]] = {k: [] for k in METRICS}
    done = 0
    while done < n_boot:
        b = min(chunk, n_boot - done)
        counts = rng.multinomial(n, np.full(n, 1.0 / n), size=b)
        for k, v in _weighted(y, yhat, counts, top_fraction).items():
            samples[k].append(v)
        done += b
    point = point_metrics(y, yhat, top_fraction)
    lo_q, hi_q = 100 * (1 - level) / 2, 100 * (1 + level) / 2
    out: dict = {}
    for k in METRICS:
        s = np.concatenate(samples[k])
        s = s[np.isfinite(s)]
        lo, hi = np.percentile(s, [lo_q, hi_q]) if len(s) else (math.nan, math.nan)
        out[k] = {"value": point[k], "low": float(lo), "high": float(hi)}
    out["n"] = n
    out["n_boot"] = n_boot
    out["level"] = level
    return out


# --------------------------------------------------------------------------- plots
def _figure(size=(5.0, 5.0)):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, dpi=110)
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path: str | Path) -> Path:
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return path


def draw_parity(ax, y, yhat, std=None, units: str = "", metrics: dict | None = None) -> None:
    """Draw predictions ``yhat`` against labels ``y`` (shape (N,), target units) with
    the y = x line on a matplotlib Axes; ``std`` (N,) as error bars when any is positive.

    ``metrics``: bootstrap metrics (:func:`bootstrap_metrics`) written in a corner; an
    entry without ``low`` and ``high`` is written without its interval.
    """
    y, yhat = _as_pair(y, yhat)
    if std is not None and np.any(np.asarray(std) > 0):
        ax.errorbar(y, yhat, yerr=np.asarray(std), fmt="o", ms=3, alpha=0.6, elinewidth=0.6)
    else:
        ax.scatter(y, yhat, s=8, alpha=0.6)
    lo, hi = float(min(y.min(), yhat.min())), float(max(y.max(), yhat.max()))
    pad = 0.03 * (hi - lo or 1.0)
    ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], "k--", lw=1)
    u = f" ({units})" if units else ""
    ax.set_xlabel(f"label{u}")
    ax.set_ylabel(f"prediction{u}")
    if metrics:
        r2 = metrics["r2"]
        text = f"R² = {r2['value']:.3f}"
        if "low" in r2 and "high" in r2:
            text += f" [{r2['low']:.3f}, {r2['high']:.3f}]"
        text += f"\nMAE = {metrics['mae']['value']:.3g}   n = {metrics['n']}"
        ax.text(0.03, 0.97, text, transform=ax.transAxes, va="top", fontsize=8)


def parity_plot(
    y,
    yhat,
    path: str | Path,
    std=None,
    title: str = "",
    units: str = "",
    metrics: dict | None = None,
) -> Path:
    """Scatter of predictions against labels with the y = x line; PNG at ``path``."""
    fig = _figure()
    ax = fig.add_subplot(111)
    draw_parity(ax, y, yhat, std, units, metrics)
    ax.set_title(title)
    return _save(fig, path)


def draw_loss(ax, histories: list[list[dict]]) -> None:
    """Draw training and validation loss per epoch on a matplotlib Axes, one pair of lines
    per ensemble member (``histories[k]``: member k's epoch records, each with ``epoch``,
    ``train_loss`` and ``val_loss``, None without a validation set)."""
    for k, h in enumerate(histories):
        if not h:
            continue
        e = [r["epoch"] for r in h]
        ax.plot(e, [r["train_loss"] for r in h], "-", color=f"C{k % 10}", label=f"train {k}")
        if h[0].get("val_loss") is not None:
            ax.plot(e, [r["val_loss"] for r in h], "--", color=f"C{k % 10}", label=f"val {k}")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("MSE loss")
    ax.legend(fontsize=7)


def loss_plot(histories: list[list[dict]], path: str | Path) -> Path:
    """Training and validation loss per epoch, one pair of lines per ensemble member."""
    fig = _figure((6.0, 4.0))
    draw_loss(fig.add_subplot(111), histories)
    return _save(fig, path)


def draw_learning_curve(ax, curves: dict[str, list[dict]], metric: str = "r2") -> None:
    """Draw a test metric against training-set size on a matplotlib Axes, one line per
    model, with its interval band where the points have ``low`` and ``high``.

    ``curves``: model label -> list of ``{"size", metric: {"value", "low", "high"}}``.
    """
    from matplotlib.ticker import NullFormatter

    for k, (label, pts) in enumerate(curves.items()):
        pts = sorted(pts, key=lambda p: p["size"])
        if not pts:
            continue
        x = [p["size"] for p in pts]
        ax.plot(x, [p[metric]["value"] for p in pts], "o-", color=f"C{k}", label=label)
        if all("low" in p[metric] and "high" in p[metric] for p in pts):
            ax.fill_between(
                x,
                [p[metric]["low"] for p in pts],
                [p[metric]["high"] for p in pts],
                color=f"C{k}",
                alpha=0.2,
            )
    ax.set_xscale("log")
    sizes = sorted({p["size"] for pts in curves.values() for p in pts})
    if sizes:  # the sizes themselves as plain numbers, not powers of ten
        ax.set_xticks(sizes, labels=[str(v) for v in sizes])
        ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("training-set size")
    ax.set_ylabel("test R²" if metric == "r2" else f"test {metric}")
    ax.legend(loc="best", framealpha=0.9)


def learning_curve_plot(
    curves: dict[str, list[dict]], path: str | Path, metric: str = "r2"
) -> Path:
    """Test metric against training-set size with interval bands, one line per model.

    ``curves``: model label -> list of ``{"size", metric: {"value", "low", "high"}}``.
    """
    fig = _figure((6.0, 4.0))
    draw_learning_curve(fig.add_subplot(111), curves, metric)
    return _save(fig, path)
