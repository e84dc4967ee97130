"""Active learning: which structures to simulate next.

A pool of structures, each described by the pretrained backbone's 20-number fingerprint
(:func:`pool_features`); a surrogate fitted to the labels known so far (a Gaussian
process on the fingerprints, :class:`Surrogate`), whose mean ranks the pool and whose
standard deviation says where it is unsure; and an acquisition rule that picks the next
batch (:func:`acquire`):

- ``"random"``: the baseline every rule is measured against;
- ``"uncertainty"``: the largest predictive standard deviation, for an accurate model;
- ``"best"``: the largest expected improvement over the best label so far, for finding
  the top materials;

each batch spread out in fingerprint space (no two picks closer than a fraction of the
pool's typical distance), and the first batch chosen for diversity alone
(:func:`diverse_seed`, k-means++ seeding). :func:`replay` runs the loop on labels that
are already known, revealing each only when the loop "simulates" it: the retrospective
benchmark of ``benchmarks/active_learning.py``.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from ..errors import SpecError

#: The pretrained backbone whose fingerprints describe a pool.
BACKBONE = "retvis-backbone"
#: Acquisition rules (:func:`acquire`).
STRATEGIES = ("random", "uncertainty", "best")
#: Within a batch, no two picks closer than this fraction of the pool's median
#: nearest-neighbour distance in fingerprint space (relaxed when the pool runs short).
BATCH_SPACING = 1.0


def backbone_for_guest(guest: str) -> str:
    """The backbone whose fingerprints describe a pool for ``guest``: the installed
    CO2-probe backbone for CO2 (its grids see the framework's charges), else
    :data:`BACKBONE`."""
    if guest == "CO2":
        from ..core.grid import GridSpec
        from .weights import backbone_for

        return backbone_for(GridSpec(probe="CO2").to_dict()) or BACKBONE
    return BACKBONE


def pool_features(boltzmann: NDArray[np.float32], backbone=BACKBONE):
    """The backbone's fingerprints of a pool's grids, shape (N, 20).

    ``boltzmann``: stacked grids (N, n, n, n) computed with the backbone's grid settings.
    ``backbone``: its name or folder, or the backbone already loaded (a
    :class:`~retvis.ml.weights.Predictor`, whose ``spec`` gave the grids).
    """
    from .weights import load_model

    if isinstance(backbone, (str, Path)):
        backbone = load_model(backbone, backbone=True)
    return backbone.fingerprint(boltzmann).astype(np.float64)


class Surrogate:
    """A Gaussian process on standardized fingerprints: an RBF kernel with one length
    scale per feature, a noise term, and a constant; its mean and standard deviation in
    the labels' units.

    Uptakes are skewed (most near zero, a few open-metal sites far above), so by default
    the process models ``log(1 + y)`` and its mean and spread are carried back
    (``log_target=False`` for targets that can be negative)."""

    def __init__(self, seed: int = 0, log_target: bool = True) -> None:
        self.seed = seed
        self.log_target = log_target

    def fit(self, x: NDArray[np.float64], y: NDArray[np.float64]) -> Surrogate:
        y = np.log1p(np.maximum(y, 0.0)) if self.log_target else np.asarray(y, float)
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel

        self.mu, self.sd = x.mean(0), x.std(0) + 1e-9
        self.ym, self.ys = float(y.mean()), float(y.std() + 1e-12)
        d = x.shape[1]
        kernel = ConstantKernel(1.0, (1e-2, 1e2)) * RBF(np.full(d, 3.0), (1e-1, 1e3)) + WhiteKernel(
            0.1, (1e-5, 1.0)
        )
        self.gp = GaussianProcessRegressor(kernel, normalize_y=False, random_state=self.seed)
        with warnings.catch_warnings():  # a length scale at its bound: that feature is flat
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.gp.fit((x - self.mu) / self.sd, (y - self.ym) / self.ys)
        return self

    def predict(self, x: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        m, s = self.gp.predict((x - self.mu) / self.sd, return_std=True)
        m, s = self.ym + self.ys * m, self.ys * s
        if self.log_target:  # back from log(1 + y): the mean, and the spread to first order
            return np.expm1(m), np.exp(m) * s
        return m, s


def expected_improvement(mean, std, best: float) -> NDArray[np.float64]:
    """Expected amount by which each candidate beats ``best`` (maximisation)."""
    from scipy.stats import norm

    std = np.maximum(np.asarray(std, float), 1e-12)
    z = (np.asarray(mean, float) - best) / std
    return (mean - best) * norm.cdf(z) + std * norm.pdf(z)


def acquisition_score(strategy: str, mean, std, best: float | None) -> NDArray[np.float64]:
    """What ``strategy`` ranks candidates by: the standard deviation (``"uncertainty"``)
    or the expected improvement over ``best`` (``"best"``)."""
    if strategy == "uncertainty":
        return np.asarray(std, float)
    return expected_improvement(mean, std, best)


def diverse_seed(x: NDArray[np.float64], k: int, rng: np.random.Generator) -> list[int]:
    """``k`` indices spread over the pool (k-means++ seeding on standardized features)."""
    z = (x - x.mean(0)) / (x.std(0) + 1e-9)
    first = int(rng.integers(len(z)))
    chosen = [first]
    d2 = ((z - z[first]) ** 2).sum(1)
    while len(chosen) < min(k, len(z)):
        p = d2 / d2.sum() if d2.sum() > 0 else None
        i = int(rng.choice(len(z), p=p))
        if i in chosen:
            continue
        chosen.append(i)
        d2 = np.minimum(d2, ((z - z[i]) ** 2).sum(1))
    return chosen


def acquire(
    strategy: str,
    x: NDArray[np.float64],
    candidates: NDArray[np.int64],
    batch: int,
    rng: np.random.Generator,
    mean: NDArray[np.float64] | None = None,
    std: NDArray[np.float64] | None = None,
    best: float | None = None,
    spacing: float | None = None,
) -> list[int]:
    """The next ``batch`` of ``candidates`` (indices into ``x``) by ``strategy``.

    ``mean`` and ``std``: the surrogate's, over ``candidates``; ``best``: the best label
    so far (``"best"``); ``spacing``: the least distance between two picks in
    standardized fingerprint space (default: :data:`BATCH_SPACING` times the median
    nearest-neighbour distance of the candidates).
    """
    if strategy not in STRATEGIES:
        raise SpecError(f"strategy must be one of {', '.join(STRATEGIES)}, got {strategy!r}")
    candidates = np.asarray(candidates)
    if strategy == "random":
        return [int(i) for i in rng.choice(candidates, min(batch, len(candidates)), replace=False)]
    if mean is None or std is None:
        raise SpecError(f"strategy {strategy!r} needs the surrogate's mean and std")
    score = acquisition_score(strategy, mean, std, best)
    z = (x - x.mean(0)) / (x.std(0) + 1e-9)
    zc = z[candidates]
    if spacing is None:
        sub = zc[rng.choice(len(zc), min(len(zc), 500), replace=False)]
        dist = np.sqrt(((sub[:, None] - sub[None]) ** 2).sum(-1))
        np.fill_diagonal(dist, np.inf)
        spacing = BATCH_SPACING * float(np.median(dist.min(1)))
    order = np.argsort(-score, kind="stable")
    picked: list[int] = []
    while len(picked) < min(batch, len(candidates)):
        for k in order:
            if len(picked) >= batch:
                break
            if k in picked:
                continue
            if all(np.sqrt(((zc[k] - zc[j]) ** 2).sum()) >= spacing for j in picked):
                picked.append(int(k))
        spacing /= 2  # the pool ran short of spread-out candidates
    return [int(candidates[k]) for k in picked]


@dataclass
class Batch:
    """The next structures to simulate: ``picked`` (indices into the pool), the rule used,
    and the surrogate's mean, standard deviation and score over ``candidates`` (NaN for
    a diverse seed)."""

    picked: list[int]
    rule: str
    candidates: NDArray[np.int64]
    mean: NDArray[np.float64]
    std: NDArray[np.float64]
    score: NDArray[np.float64]


def next_batch(
    x: NDArray[np.float64],
    names: list[str],
    known: dict[str, float],
    rule: str,
    batch: int,
    rng: np.random.Generator,
    skip: set[str] = frozenset(),
    seed: int = 0,
) -> Batch:
    """One step of the loop: the next ``batch`` of the pool (fingerprints ``x``, one per
    name) given the labels ``known`` so far, by ``rule``; a diverse seed set while fewer
    than two are known. ``skip``: names never to pick (e.g. those that failed)."""
    labelled = [i for i, n in enumerate(names) if n in known]
    rest = np.array(
        [i for i, n in enumerate(names) if n not in known and n not in skip], dtype=np.int64
    )
    nan = np.full(len(rest), np.nan)
    if len(rest) == 0:
        return Batch([], rule, rest, nan, nan, nan)
    if len(labelled) < 2:  # nothing to learn from yet: spread over the pool
        picked = [int(rest[i]) for i in diverse_seed(x[rest], batch, rng)]
        return Batch(picked, "diverse seed", rest, nan, nan, nan)
    y = np.array([known[names[i]] for i in labelled])
    model = Surrogate(seed).fit(x[labelled], y)
    mean, std = model.predict(x[rest])
    best = float(y.max())
    picked = acquire(rule, x, rest, batch, rng, mean, std, best)
    score = acquisition_score(rule, mean, std, best) if rule != "random" else nan
    return Batch(picked, rule, rest, mean, std, score)


def pool_from_files(files: list[Path], backbone=BACKBONE, progress=None, cache=None):
    """The pool of ``files``: (names, paths, fingerprints (N, 20), failures as (path,
    reason)), from each file's grid with the backbone's grid settings."""
    from ..core.batch import iter_grids
    from .weights import load_model

    if isinstance(backbone, (str, Path)):
        backbone = load_model(backbone, backbone=True)
    grids, failed = [], []
    for o in iter_grids(files, backbone.spec, cache=cache):
        if progress is not None:
            progress(o)
        if o.status == "ok":
            grids.append((o.index, o.name, o.grid.boltzmann))
        else:
            failed.append((o.path, o.reason))
    grids.sort(key=lambda g: g[0])
    names = [g[1] for g in grids]
    paths = [files[g[0]] for g in grids]
    x = pool_features(np.stack([g[2] for g in grids]), backbone) if grids else np.zeros((0, 20))
    return names, paths, x, failed


@dataclass
class Replay:
    """One run of :func:`replay`: after each round, the labels spent, the surrogate's R²
    on the held-out structures and the fraction of the pool's top materials found."""

    strategy: str
    seed: int
    labels: list[int] = field(default_factory=list)
    test_r2: list[float] = field(default_factory=list)
    top_found: list[float] = field(default_factory=list)

    def first_reaching(self, what: str, level: float) -> int | None:
        """Labels spent when ``what`` ("test_r2" or "top_found") first reached ``level``."""
        for n, v in zip(self.labels, getattr(self, what), strict=True):
            if v >= level:
                return n
        return None


def replay(
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    test: NDArray[np.int64],
    strategy: str,
    seed: int = 0,
    start: int = 10,
    batch: int = 10,
    budget: int = 200,
    top_fraction: float = 0.05,
) -> Replay:
    """The loop on known labels: ``y`` of a structure is used only once it is picked.

    The pool is every index not in ``test``; ``start`` structures chosen for diversity,
    then batches of ``batch`` by ``strategy`` until ``budget`` labels. "Top" is the
    pool's best ``top_fraction`` by label.
    """
    from sklearn.metrics import r2_score

    rng = np.random.default_rng(seed)
    test = np.asarray(test)
    pool = np.setdiff1d(np.arange(len(y)), test)
    n_top = max(1, math.ceil(top_fraction * len(pool)))
    top = set(pool[np.argsort(-y[pool], kind="stable")[:n_top]].tolist())
    known = [int(pool[i]) for i in diverse_seed(x[pool], start, rng)]
    out = Replay(strategy, seed)
    while True:
        s = Surrogate(seed).fit(x[known], y[known])
        out.labels.append(len(known))
        out.test_r2.append(float(r2_score(y[test], s.predict(x[test])[0])))
        out.top_found.append(len(top.intersection(known)) / n_top)
        if len(known) >= budget:
            return out
        rest = np.setdiff1d(pool, known)
        mean, std = s.predict(x[rest]) if strategy != "random" else (None, None)
        step = min(batch, budget - len(known))
        known += acquire(strategy, x, rest, step, rng, mean, std, float(y[known].max()))
