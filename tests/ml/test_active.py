"""Active learning's pieces: the seed set, the acquisition rules and the replayed loop."""

from __future__ import annotations

import numpy as np
import pytest

from retvis.errors import SpecError
from retvis.ml.active import Surrogate, acquire, diverse_seed, replay


def _pool(n=600, seed=0):
    """A pool whose property has a narrow top: a few materials far above the rest, as
    uptakes have (open-metal sites)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6))
    y = np.exp(1.2 * x[:, 0]) + 0.3 * x[:, 1] ** 2 + 0.05 * rng.normal(size=n)
    return x, np.maximum(y, 0.0)


def test_the_seed_set_is_spread_over_the_pool():
    x, _ = _pool()
    rng = np.random.default_rng(1)
    seed = diverse_seed(x, 10, rng)
    rand = rng.choice(len(x), 10, replace=False)

    def closest(idx):
        d = np.sqrt(((x[idx][:, None] - x[idx][None]) ** 2).sum(-1))
        np.fill_diagonal(d, np.inf)
        return d.min()

    assert len(set(seed)) == 10
    assert closest(seed) > closest(rand)


def test_a_batch_is_new_structures_the_most_uncertain_first():
    x, y = _pool()
    rng = np.random.default_rng(0)
    known = diverse_seed(x, 20, rng)
    rest = np.setdiff1d(np.arange(len(x)), known)
    s = Surrogate().fit(x[known], y[known])
    mean, std = s.predict(x[rest])
    picked = acquire("uncertainty", x, rest, 8, rng, mean, std)
    assert len(set(picked)) == 8 and not set(picked) & set(known)
    assert rest[int(np.argmax(std))] in picked  # the most uncertain first
    with pytest.raises(SpecError, match="strategy"):
        acquire("greedy", x, rest, 8, rng, mean, std)


def test_choosing_by_expected_improvement_finds_the_top_sooner_than_random():
    """Replayed on a known pool (labels revealed only when picked), same seeds: the
    'best' rule finds more of the pool's top 5 % within 80 labels than random choice."""
    x, y = _pool()
    test = np.random.default_rng(7).choice(len(y), 120, replace=False)
    found = {
        s: np.mean([replay(x, y, test, s, seed, budget=80).top_found[-1] for seed in range(3)])
        for s in ("random", "best")
    }
    assert found["best"] > found["random"] + 0.2, found
    r = replay(x, y, test, "uncertainty", 0, budget=60)
    assert r.labels == [10, 20, 30, 40, 50, 60] and r.test_r2[-1] > r.test_r2[0]


def test_a_co2_pool_is_described_by_the_co2_probe_backbone():
    from retvis.core.grid import GridSpec
    from retvis.ml.active import BACKBONE, backbone_for_guest
    from retvis.ml.weights import load_model

    co2 = backbone_for_guest("CO2")
    assert co2 != BACKBONE and backbone_for_guest("CH4") == BACKBONE
    assert load_model(co2, backbone=True).spec == GridSpec(probe="CO2")
