"""Fuzz the CIF reader with mutated demo CIFs: the only exception allowed is RetvisError,
and whatever it accepts is a valid Structure. Bounded for CI (~20 s on one core); the
long run is ``python3 benchmarks/fuzz_cif.py --seconds 600``."""

from __future__ import annotations

import math
import os

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from retvis.core.structure import MAX_ATOMS, MIN_DISTANCE, MIN_WIDTH, close_pairs, read_structure
from retvis.errors import RetvisError
from tests.conftest import DEMO
from tests.core.cif_mutations import mutate

# small demo CIFs keep each example a few ms
SEEDS = {p.name: p.read_bytes() for p in sorted(DEMO.glob("*.cif")) if p.stat().st_size < 20000}
EXAMPLES = int(os.environ.get("RETVIS_FUZZ_EXAMPLES", "600"))


def check_structure(s) -> None:
    """Invariants of any structure read_structure returns."""
    assert 1 <= s.n_atoms <= MAX_ATOMS
    assert np.all(np.isfinite(s.lattice)) and s.volume > 0
    assert np.all(np.isfinite(s.frac)) and s.frac.min() >= 0 and s.frac.max() < 1
    assert s.widths.min() >= MIN_WIDTH
    assert all(isinstance(e, str) and e and e != "X" for e in s.species)
    assert math.isfinite(s.density)
    assert len(close_pairs(s.lattice, s.frac, MIN_DISTANCE * 0.999)[0]) == 0


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(name=st.sampled_from(sorted(SEEDS)), r=st.randoms(use_true_random=False))
def test_mutated_cifs_raise_only_retvis_errors(tmp_path_factory, name, r):
    data = mutate(SEEDS[name], r)
    f = tmp_path_factory.getbasetemp() / f"fuzz_{name}"
    f.write_bytes(data)
    try:
        s = read_structure(f)
    except RetvisError as exc:
        assert exc.reason and exc.path == f
        return
    check_structure(s)
