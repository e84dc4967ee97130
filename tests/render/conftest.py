"""Fixtures of the render tests: HKUST-1 (a 60-degree rhombohedral cell) and its grid."""

from __future__ import annotations

import pytest

from retvis.core.grid import GridSpec, compute_grid
from retvis.core.structure import read_structure
from tests.conftest import demo


@pytest.fixture(scope="session")
def hkust1():
    """HKUST-1 (CoRE MOF FIQCEN), primitive cell: a = b = c = 18.6 Å, all angles 60°."""
    return read_structure(demo("FIQCEN_clean"))


@pytest.fixture(scope="session")
def hkust1_grid(hkust1):
    return compute_grid(hkust1, GridSpec(n=25))


@pytest.fixture
def plotter():
    from retvis.render import new_plotter

    p = new_plotter((640, 400))
    yield p
    p.close()
