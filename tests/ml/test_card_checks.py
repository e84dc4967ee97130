"""Malformed model cards: one WeightsError naming the card, before any grid or weight."""

from __future__ import annotations

import json
import shutil

import pytest

from retvis.errors import WeightsError
from retvis.ml.weights import load_model, read_card
from retvis.paths import models_dir


def _edit(tmp_path, change):
    folder = tmp_path / "m"
    shutil.copytree(models_dir() / "ch4-coremof", folder)
    card = json.loads((folder / "model.json").read_text())
    change(card)
    (folder / "model.json").write_text(json.dumps(card))
    return folder


def _set(path, value):
    def change(card):
        d = card
        for k in path[:-1]:
            d = d[k]
        d[path[-1]] = value

    return change


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_set(("members", 0, "file"), "../../etc/passwd"), "is not a file of the model folder"),
        (_set(("members", 0, "file"), "/etc/passwd"), "is not a file of the model folder"),
        (_set(("members", 0), "member_0.pt"), "a member needs a file name"),
        (_set(("architecture", "n"), 10**9), "architecture n must be an integer"),
        (_set(("architecture", "n"), "25"), "architecture n must be an integer"),
        (_set(("architecture", "dropout"), 7), "dropout must be in"),
        (_set(("members",), [{"file": "member_0.pt", "sha256": "0" * 64}] * 500), "at most 32"),
        (_set(("format_version",), "2"), "format_version must be an integer"),
        (_set(("standardization", "std"), float("nan")), "standardization needs"),
        (_set(("standardization",), {"mean": 1.0, "std": -1.0}), "standardization needs"),
        (_set(("gridspec", "forcefield"), "../../../tests/data/x"), "force field name"),
        (_set(("gridspec", "cutoff"), "far"), "gridspec"),
        (_set(("gridspec", "n"), 32), "does not fit the network's n = 25"),
        (_set(("architecture",), ["RetNet"]), "unknown architecture"),
    ],
)
def test_a_malformed_card_is_refused_at_load_with_the_reason(tmp_path, change, message):
    folder = _edit(tmp_path, change)
    with pytest.raises(WeightsError, match=r"model\.json: ") as err:
        read_card(folder)
    assert message in str(err.value)
    with pytest.raises(WeightsError):
        load_model(folder)


def test_the_shipped_cards_pass():
    for name in ("ch4-coremof", "co2-coremof"):
        read_card(models_dir() / name)
