"""One ranking rule: highest first, equal predictions by name, whatever the input order;
``retvis predict``, ``retvis screen`` and the app's table all rank with it."""

from __future__ import annotations

import csv
import math

from retvis.cli import main
from retvis.core.ranking import ranks
from tests.conftest import demo


def test_ranks_put_the_highest_first_and_break_ties_by_name():
    assert ranks([1.0, 3.0, 3.0, None, math.nan, 2.0], ["a", "z", "b", "c", "d", "e"]) == [
        4, 2, 1, None, None, 3,
    ]  # fmt: skip
    assert ranks([], []) == []


def test_predict_and_screen_rank_two_files_of_one_crystal_by_name(tmp_path):
    """Two files of the same crystal get the same prediction; both commands rank them
    by name, given in the other order."""
    text = demo("PEKKAS_clean").read_text()
    files = []
    for name in ("zeta", "alpha"):  # not in name order
        f = tmp_path / f"{name}.cif"
        f.write_text(f"# a copy named {name}\n{text}")
        files.append(str(f))
    assert main(["predict", *files, "-o", str(tmp_path / "p.csv"), "-q", "--no-cache"]) == 0
    assert main(["screen", *files, "-o", str(tmp_path / "s"), "--workers", "0", "-q",
                 "--rank", str(tmp_path / "s.csv")]) == 0  # fmt: skip
    for out in ("p.csv", "s.csv"):
        rows = list(csv.DictReader((tmp_path / out).open()))
        assert rows[0]["prediction"] == rows[1]["prediction"], out
        assert [(r["rank"], r["name"]) for r in rows] == [("1", "alpha"), ("2", "zeta")], out
