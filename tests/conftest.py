"""Shared fixtures: real CIFs from the bundled demo set (CoRE MOF 2019) and shared/."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "resources" / "demo"
SHARED = REPO.parent / "shared"


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path_factory, monkeypatch):
    """Keep every test's cache, data and logs out of the user's real folders."""
    base = tmp_path_factory.mktemp("userdirs")
    monkeypatch.setenv("RETVIS_CACHE", str(base / "cache"))
    monkeypatch.setenv("RETVIS_DATA", str(base / "data"))
    monkeypatch.setenv("RETVIS_LOGS", str(base / "logs"))


@pytest.fixture(scope="session")
def demo_dir() -> Path:
    return DEMO


@pytest.fixture(scope="session")
def demo_cifs() -> list[Path]:
    files = sorted(DEMO.glob("*.cif"))
    assert len(files) >= 20
    return files


def demo(name: str) -> Path:
    """Path of one demo CIF by material name."""
    p = DEMO / f"{name}.cif"
    assert p.is_file(), p
    return p


os.environ.setdefault("NUMBA_CACHE_DIR", str(REPO / ".numba_cache"))
