"""Predictions outside what a model learned are flagged from the model's own card."""

from __future__ import annotations

import numpy as np

from retvis.ml.weights import SPREAD_FACTOR, domain_notes

CARD = {
    "target": {"name": "CH4 uptake", "units": "mol/kg"},
    "members": [{}, {}, {}],
    "evaluation_test": {"mean_ensemble_std": 0.4},
}


def test_negative_uptakes_and_large_spreads_are_flagged():
    mean = np.array([2.0, -0.1, 3.0, -125.0])
    std = np.array([0.3, 0.1, SPREAD_FACTOR * 0.4 + 0.5, 89.0])
    notes = domain_notes(mean, std, CARD)
    assert notes[0] == ""
    assert notes[1].startswith("negative prediction") and "outside" in notes[1]
    assert notes[2].startswith("ensemble spread") and "mol/kg" in notes[2]
    assert "negative prediction" in notes[3] and "ensemble spread" in notes[3]


def test_rules_follow_the_card():
    mean, std = np.array([-1.0, 1.0]), np.array([0.0, 50.0])
    # a target trained with negative values: no sign rule
    card = {**CARD, "target": {**CARD["target"], "allow_negative": True}}
    assert domain_notes(mean, std, card)[0] == ""
    # one network, or no test-set spread recorded: no spread rule
    assert domain_notes(mean, std, {**CARD, "members": [{}]})[1] == ""
    assert domain_notes(mean, std, {"target": {}, "members": [{}, {}]})[1] == ""


def test_the_shipped_model_flags_few_of_the_demo_set():
    """The 20 demo structures (CoRE MOFs) mostly sit inside what the CH4 model learned:
    no negative uptake, and at most 2 ensemble spreads past the card's limit (the
    302-label model flagged TOXNEB; the 614-label model flags none)."""
    from retvis.core.grid import compute_grid
    from retvis.core.structure import read_structure
    from retvis.ml.weights import load_model
    from retvis.paths import demo_dir

    model = load_model("ch4-coremof")
    cifs = sorted(demo_dir().glob("*.cif"))
    grids = np.stack([compute_grid(read_structure(f), model.spec).boltzmann for f in cifs])
    mean, std = model.predict(grids)
    notes = model.domain_notes(mean, std)
    assert (mean > 0).all() and not any("negative" in n for n in notes)
    flagged = [n for n in notes if n]
    assert len(flagged) <= 2 and all(n.startswith("ensemble spread") for n in flagged)
