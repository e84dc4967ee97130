import csv

import numpy as np
import pytest

from retvis.cli import main
from retvis.core.grid import compute_grid
from retvis.core.structure import read_structure
from retvis.ml.weights import load_model
from tests.conftest import demo, needs_pyeqeq


def test_predict_ranks_structures_and_lists_failures(trained_model, tmp_path):
    bad = tmp_path / "empty.cif"
    bad.write_bytes(b"")
    names = ["FIQCEN_clean", "PEKKAS_clean", "EDUSIF_clean"]
    out = tmp_path / "ranking.csv"
    rc = main(
        [
            "predict",
            *(str(demo(n)) for n in names),
            str(bad),
            "--model",
            str(trained_model),
            "-o",
            str(out),
            "-q",
        ]
    )
    assert rc == 1  # one input failed
    rows = list(csv.DictReader(out.open()))
    ok = [r for r in rows if r["status"] == "ok"]
    assert [int(r["rank"]) for r in ok] == [1, 2, 3]
    preds = [float(r["prediction"]) for r in ok]
    assert preds == sorted(preds, reverse=True)
    assert rows[-1]["name"] == "empty" and rows[-1]["reason"] == "file is empty"
    # every row has a note column: the model's own out-of-range warning, or empty
    model_notes = load_model(trained_model).domain_notes(
        np.array(preds), np.array([float(r["ensemble_std"]) for r in ok])
    )
    assert [r["note"] for r in ok] == model_notes and rows[-1]["note"] == ""
    # the table holds the model's own predictions on grids computed with its spec
    model = load_model(trained_model)
    by_name = {r["name"]: float(r["prediction"]) for r in ok}
    s = read_structure(demo("FIQCEN_clean"))
    mean, _ = model.predict(compute_grid(s, model.spec).boltzmann[None])
    np.testing.assert_allclose(by_name["FIQCEN_clean"], mean[0], rtol=1e-5)


def test_predict_and_screen_give_a_per_volume_models_prediction_per_mass(
    per_volume_model, tmp_path
):
    from retvis.screen import screen_chunk

    names = ["FIQCEN_clean", "PEKKAS_clean"]
    out = tmp_path / "ranking.csv"
    args = ["predict", *(str(demo(n)) for n in names), "--model", str(per_volume_model)]
    assert main([*args, "-o", str(out), "-q"]) == 0
    got = {r["name"]: float(r["prediction"]) for r in csv.DictReader(out.open())}
    screened = screen_chunk([str(demo(n)) for n in names], str(per_volume_model))
    model = load_model(per_volume_model)
    for n, row in zip(names, screened, strict=True):
        s = read_structure(demo(n))
        x = compute_grid(s, model.spec).boltzmann[None]
        want = model.predict(x, density=s.density)[0][0]
        np.testing.assert_allclose([got[n], row["prediction"]], want, rtol=1e-5)
        # the networks' per-volume output, divided by this framework's density
        np.testing.assert_allclose(want, model.predict(x, density=1.0)[0][0] / s.density)


def test_a_co2_probe_model_without_pyeqeq_is_one_clear_error_not_a_failed_row_each(
    trained_model, tmp_path, monkeypatch, capsys
):
    """A model whose grids use the CO2 probe needs EQeq charges (the optional pyeqeq
    package): without it ``predict`` and ``screen`` stop before any grid with one message
    naming the model and the install command, and write no table of failures."""
    import json
    import shutil
    import sys

    from retvis.errors import SpecError
    from retvis.screen import screen

    model = tmp_path / "co2-probe-model"  # real weights; the card says CO2-probe grids
    shutil.copytree(trained_model, model)
    card = json.loads((model / "model.json").read_text())
    card["gridspec"]["probe"] = "CO2"
    (model / "model.json").write_text(json.dumps(card, indent=1))
    monkeypatch.setitem(sys.modules, "pyeqeq", None)  # as if it were not installed

    out = tmp_path / "ranking.csv"
    rc = main(["predict", str(demo("FIQCEN_clean")), "--model", str(model), "-o", str(out)])
    err = capsys.readouterr().err
    assert rc == 2 and not out.exists()
    assert "model 'co2-probe-model' cannot be used here" in err
    assert "pyeqeq" in err and "pip install" in err
    with pytest.raises(SpecError, match="pyeqeq"):
        screen([str(demo("FIQCEN_clean"))], model, tmp_path / "screen.parquet", workers=0)
    assert not (tmp_path / "screen.parquet").exists()


@needs_pyeqeq
def test_the_shipped_co2_model_ranks_a_batch_that_holds_a_structure_eqeq_cannot_charge(
    tmp_path,
):
    """RUBTAK04's EQeq charges are unphysical; it once overflowed its CO2 grid and
    ``retvis predict --model co2-coremof`` refused the whole demo set. It is one failure
    row with its reason, and the others are ranked."""
    names = ["RUBTAK04_clean", "PEKKAS_clean", "FIQCEN_clean"]
    out = tmp_path / "ranking.csv"
    args = ["predict", *(str(demo(n)) for n in names), "--model", "co2-coremof"]
    assert main([*args, "-o", str(out), "-q"]) == 1  # one input failed
    rows = {r["name"]: r for r in csv.DictReader(out.open())}
    assert [int(rows[n]["rank"]) for n in ("PEKKAS_clean", "FIQCEN_clean")] in ([1, 2], [2, 1])
    assert all(float(rows[n]["prediction"]) > 0 for n in ("PEKKAS_clean", "FIQCEN_clean"))
    bad = rows["RUBTAK04_clean"]
    assert bad["status"] == "failed" and "EQeq charges are unphysical" in bad["reason"]


def test_predict_and_screen_name_one_crystal_in_two_settings(tmp_path):
    """MOF-5 as CoRE writes it (primitive cell) and as its conventional cubic cell: one
    crystal, one prediction, and each row names the other file."""
    import warnings

    from pymatgen.core import Structure as PS
    from pymatgen.io.cif import CifWriter
    from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = PS.from_file(str(demo("EDUSIF_clean")))
    conv = tmp_path / "MOF5_conventional.cif"
    CifWriter(SpacegroupAnalyzer(s, symprec=0.01).get_conventional_standard_structure()).write_file(
        str(conv)
    )
    files = [str(demo("EDUSIF_clean")), str(conv), str(demo("PEKKAS_clean"))]
    out = tmp_path / "ranking.csv"
    assert main(["predict", *files, "-o", str(out), "-q", "--no-cache"]) == 0
    rows = {r["name"]: r for r in csv.DictReader(out.open())}
    a, b = rows["EDUSIF_clean"], rows["MOF5_conventional"]
    assert a["crystal"] and a["crystal"] == b["crystal"] != rows["PEKKAS_clean"]["crystal"]
    assert float(a["prediction"]) == pytest.approx(float(b["prediction"]), rel=5e-3)
    assert "same crystal as MOF5_conventional" in a["note"]
    assert "same crystal as EDUSIF_clean" in b["note"]
    assert rows["PEKKAS_clean"]["note"] == "" or "same crystal" not in rows["PEKKAS_clean"]["note"]
    assert a["formula"] == "C24H12O13Zn4" or a["formula"].startswith("C")

    res = tmp_path / "res.parquet"
    ranked = tmp_path / "ranked.csv"
    assert (
        main(["screen", *files, "-o", str(res), "--workers", "0", "--rank", str(ranked), "-q"]) == 0
    )
    ranked_rows = {r["name"]: r for r in csv.DictReader(ranked.open())}
    assert ranked_rows["EDUSIF_clean"]["crystal"] == a["crystal"]
    assert "same crystal as MOF5_conventional" in ranked_rows["EDUSIF_clean"]["note"]


_ONE_ATOM = """data_one
_cell_length_a 999
_cell_length_b 999
_cell_length_c 999
_cell_angle_alpha 90
_cell_angle_beta 90
_cell_angle_gamma 90
_symmetry_space_group_name_H-M 'P 1'
loop_
_atom_site_label
_atom_site_type_symbol
_atom_site_fract_x
_atom_site_fract_y
_atom_site_fract_z
C1 C 0 0 0
"""


def test_a_prediction_no_material_could_have_is_a_failed_row_not_rank_one(tmp_path):
    """One carbon atom in a 999 Å cube (2e-8 g/cm³) was predicted at 8e6 mol/kg by the
    shipped per-volume CH4 model and ranked first; predict, screen and the app's worker
    now give the reason in place of a number."""
    from retvis.app.models import predict_job
    from retvis.screen import screen_chunk

    cif = tmp_path / "one_atom.cif"
    cif.write_text(_ONE_ATOM)
    files = [str(cif), str(demo("PEKKAS_clean"))]
    out = tmp_path / "ranking.csv"
    assert main(["predict", *files, "-o", str(out), "-q"]) == 1
    rows = {r["name"]: r for r in csv.DictReader(out.open())}
    assert rows["PEKKAS_clean"]["rank"] == "1" and rows["PEKKAS_clean"]["status"] == "ok"
    one = rows["one_atom"]
    assert one["status"] == "failed" and one["rank"] == one["prediction"] == ""
    assert "density 2e-08 g/cm³" in one["reason"]
    screened = screen_chunk(files, "ch4-coremof")
    assert [r["status"] for r in screened] == ["failed", "ok"]
    assert screened[0]["kind"] == "domain" and screened[0]["prediction"] is None
    model = load_model("ch4-coremof")
    grids = [compute_grid(read_structure(f), model.spec) for f in files]
    got = predict_job(
        "ch4-coremof",
        ["a", "b"],
        np.stack([g.boltzmann for g in grids]),
        [g.density for g in grids],
    )
    assert got["refused"][0].startswith("not a porous framework") and got["refused"][1] == ""


def test_an_uptake_beyond_liquid_filled_pores_is_refused():
    from retvis.ml.weights import refusals

    card = {"target": {"units": "mol/kg"}}
    got = refusals([5.0, 400.0, float("nan"), 5.0], [0.2, 0.2, 1.0, 0.05], card)
    assert got[0] == "" and "more than its pores could hold" in got[1]
    assert "no finite prediction" in got[2] and "not a porous framework" in got[3]
    assert refusals([400.0], [0.2], {"target": {"units": "mol/L"}}) == [""]
