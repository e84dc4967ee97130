"""Files RetVis writes follow the user's umask, as ``open()`` would: a group on a shared
cluster reads results when the user's umask allows it, and not when it does not."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from retvis.cli import main
from tests.conftest import demo


@pytest.fixture
def user_umask():
    def set_mask(mask: int) -> None:
        os.umask(mask)

    before = os.umask(0o022)
    yield set_mask
    os.umask(before)


def _modes(root: Path) -> dict[str, int]:
    return {
        str(p.relative_to(root)): stat.S_IMODE(p.stat().st_mode)
        for p in root.rglob("*")
        if p.is_file()
    }


@pytest.mark.parametrize("mask", [0o022, 0o077])
def test_results_get_the_mode_open_would_give(tmp_path, user_umask, mask):
    user_umask(mask)
    files = [str(demo("PEKKAS_clean")), str(demo("SENWAL_clean"))]
    assert main(["predict", *files, "-o", str(tmp_path / "ranking.csv"), "-q", "--no-cache"]) == 0
    assert main(["grid", *files, "-o", str(tmp_path / "grids"), "-q", "--no-cache"]) == 0
    assert (
        main(
            [
                "screen",
                *files,
                "-o",
                str(tmp_path / "res.parquet"),
                "--workers",
                "0",
                "--rank",
                str(tmp_path / "ranked.csv"),
                "-q",
            ]
        )
        == 0
    )
    modes = _modes(tmp_path)
    for name in ("ranking.csv", "grids/names.json", "grids/voxels.npy", "ranked.csv"):
        assert name in modes, sorted(modes)
    assert any(n.startswith("res.parquet/part-") for n in modes)
    want = 0o666 & ~mask
    wrong = {n: oct(m) for n, m in modes.items() if m != want}
    assert not wrong, f"want {oct(want)}: {wrong}"
