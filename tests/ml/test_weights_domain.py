"""Predictions outside what a model learned are flagged from the model's own card."""

from __future__ import annotations

import numpy as np

from retvis.ml.weights import SPREAD_FACTOR, domain_notes, label_quantiles, notes_summary

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


def test_predictions_above_the_training_labels_95th_percentile_get_a_top_end_note():
    card = {**CARD, "training_set": {"label_quantiles": {"p95": 5.84, "max": 9.4}}}
    mean, std = np.array([5.0, 6.5, 12.0, -1.0]), np.array([0.2, 0.2, 0.2, 0.2])
    notes = domain_notes(mean, std, card)
    assert notes[0] == "" and notes[3].startswith("negative prediction")
    for n in notes[1:3]:
        assert "above 95 % of its training labels (> 5.84 mol/kg)" in n
        assert "underestimate" in n and "outside" not in n  # a caution, not out of domain
    # a spread past the limit and a top-end value: both said, the kinds counted apart
    both = domain_notes(np.array([7.0]), np.array([SPREAD_FACTOR * 0.4 + 1]), card)[0]
    assert both.startswith("ensemble spread") and "outside" in both and "training labels" in both
    assert notes_summary(notes + [both]) == (
        "4 prediction(s) with a note (2 outside what the model learned, "
        "3 above 95 % of its training labels): see the note column"
    )
    assert notes_summary(["", ""]) == ""
    # a card without label quantiles (older models): no top-end rule
    assert domain_notes(mean, std, CARD)[1:3] == ["", ""]


def test_label_quantiles_are_the_training_labels_percentiles():
    y = np.arange(101, dtype=float)  # 0..100: the k-th percentile is k
    q = label_quantiles(y)
    assert q == {"min": 0.0, "p5": 5.0, "p50": 50.0, "p95": 95.0, "max": 100.0}


def test_the_shipped_model_flags_few_of_the_demo_set():
    """The 20 demo structures (CoRE MOFs) mostly sit inside what the CH4 model learned:
    no negative uptake, and at most 2 ensemble spreads past the card's limit (the
    302-label model flagged TOXNEB, the 614-label model none, the 960-label per-volume
    model NIBJAK, the 1,509-label one CUNXIS, 0.44 mol/kg against a 0.43 limit). Its
    card records its training labels' percentiles, and TOXNEB, whose GCMC uptake
    (8.97 mol/kg) is above all but 1 % of them, gets the top-end note. The shipped model
    learned per volume, so it needs each structure's density."""
    from retvis.core.grid import compute_grid
    from retvis.core.structure import read_structure
    from retvis.ml.weights import load_model
    from retvis.paths import demo_dir

    model = load_model("ch4-coremof")
    assert model.per_volume
    cifs = sorted(demo_dir().glob("*.cif"))
    structures = [read_structure(f) for f in cifs]
    grids = np.stack([compute_grid(s, model.spec).boltzmann for s in structures])
    mean, std = model.predict(grids, density=[s.density for s in structures])
    notes = model.domain_notes(mean, std)
    assert (mean > 0).all() and not any("negative" in n for n in notes)
    outside = [n for n in notes if "outside" in n]
    assert len(outside) <= 2 and all(n.startswith("ensemble spread") for n in outside)
    names = [f.stem for f in cifs]
    assert "training labels" in notes[names.index("TOXNEB_clean")]
    top = model.card["training_set"]["label_quantiles"]["p95"]
    assert [("training labels" in n) for n in notes] == list(mean > top)
