import csv

import numpy as np

from retvis.cli import main
from retvis.core.grid import compute_grid
from retvis.core.structure import read_structure
from retvis.ml.weights import load_model
from tests.conftest import demo


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
