"""``retvis render``: off-screen PNGs of the app's scenes."""

from __future__ import annotations

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
def test_features_and_saliency_use_the_default_model_like_predict(tmp_path, capsys, show):
    """Without --model, render runs the shipped model, as predict and screen do."""
    out = tmp_path / "x.png"
    rc = main(["render", str(demo("FIQCEN_clean")), "--show", show, "-o", str(out)])
    assert rc == 0 and out.stat().st_size > 10_000
    assert show in capsys.readouterr().out


def test_a_rendered_png_says_what_it_shows(tmp_path):
    """The structure's name and the scene, drawn in a band above the scene and written as
    the PNG's Title and Description texts."""
    from retvis.core.structure import read_structure
    from retvis.render import scene

    out = tmp_path / "s.png"
    assert main(["render", str(demo("FIQCEN_clean")), "--size", "400x300", "-o", str(out)]) == 0
    text = Image.open(out).text
    assert text["Title"] == "FIQCEN_clean" and text["Description"].startswith("structure, C")
    imgs = []
    for title in (None, "FIQCEN_clean"):
        p = scene.new_plotter((400, 300))
        scene.show_structure(p, read_structure(demo("FIQCEN_clean")))
        imgs.append(scene.save_screenshot(p, tmp_path / "t.png", title).astype(int))
        p.close()
    corner = np.abs(imgs[1] - imgs[0])[:30, :200].max(axis=2)
    assert (corner > 60).sum() > 100  # the caption's glyphs
