"""``retvis render``: off-screen PNGs of the app's scenes."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from PIL import Image

from retvis.cli import main
from tests.conftest import demo


@pytest.mark.parametrize("show", ["structure", "grid"])
def test_render_writes_a_png_of_the_requested_size(tmp_path, show):
    out = tmp_path / f"{show}.png"
    rc = main(
        [
            "render",
            str(demo("FIQCEN_clean")),
            "--show",
            show,
            "--size",
            "320x200",
            "--n",
            "16",
            "-o",
            str(out),
        ]
    )
    assert rc == 0
    img = np.asarray(Image.open(out).convert("RGB"))
    assert img.shape == (200, 320, 3)
    assert np.abs(img.astype(int) - img[0, 0]).max(axis=2).astype(bool).mean() > 0.03


def test_render_refuses_a_bad_size_and_suffix(tmp_path, capsys):
    cif = str(demo("FIQCEN_clean"))
    assert main(["render", cif, "--size", "big", "-o", str(tmp_path / "a.png")]) == 2
    assert "1280x800" in capsys.readouterr().err
    assert main(["render", cif, "-o", str(tmp_path / "a.jpg")]) == 2
    assert ".png" in capsys.readouterr().err


@pytest.mark.parametrize("show", ["features", "saliency"])
def test_features_and_saliency_need_a_model(tmp_path, capsys, show):
    rc = main(["render", str(demo("FIQCEN_clean")), "--show", show, "-o", str(tmp_path / "x.png")])
    assert rc == 2
    err = capsys.readouterr().err
    assert "--model" in err and "RetNet" in err


@pytest.mark.skipif(
    importlib.util.find_spec("retvis.ml") is not None,
    reason="retvis.ml is present: the missing-module message cannot occur",
)
def test_missing_ml_package_is_named(tmp_path, capsys):
    rc = main(
        [
            "render",
            str(demo("FIQCEN_clean")),
            "--show",
            "saliency",
            "--model",
            str(tmp_path / "model"),
            "-o",
            str(tmp_path / "x.png"),
        ]
    )
    assert rc == 2
    assert "retvis.ml.weights.load_model" in capsys.readouterr().err
