"""``retvis render --title/--no-title/--transparent``: captioned pictures of any size."""

from __future__ import annotations

import numpy as np
from PIL import Image

from retvis.cli import main
from retvis.render.style import LIGHT_INK
from tests.conftest import demo


def _render(tmp_path, name: str, *options: str) -> Image.Image:
    out = tmp_path / f"{name}.png"
    cif = str(demo("FIQCEN_clean"))
    assert main(["render", cif, "--size", "320x240", "-o", str(out), *options]) == 0
    return Image.open(out)


def test_transparent_pictures_have_clear_corners(tmp_path):
    clear = _render(tmp_path, "clear", "--transparent")
    solid = _render(tmp_path, "solid")
    assert clear.mode == "RGBA" and clear.size == solid.size == (320, 240)
    corners = [(0, 0), (319, 0), (0, 239), (319, 239)]
    assert [clear.getpixel(c)[3] for c in corners] == [0, 0, 0, 0]
    assert [solid.convert("RGBA").getpixel(c)[3] for c in corners] == [255] * 4
    alpha = np.asarray(clear)[..., 3]
    assert (alpha == 255).mean() > 0.02  # the structure is opaque


def test_the_title_band_names_the_structure(tmp_path):
    """Text-coloured glyphs in the band at the top, which --no-title lacks; --title
    replaces the name."""
    titled = np.asarray(_render(tmp_path, "titled").convert("RGB")).astype(int)
    bare = np.asarray(_render(tmp_path, "bare", "--no-title").convert("RGB")).astype(int)
    other = _render(tmp_path, "other", "--title", "HKUST-1")
    ink = np.asarray(LIGHT_INK) * 255

    def glyphs(img):  # near-ink pixels in the top left, where the title is written
        return int((np.abs(img[:24, :160] - ink).max(axis=2) < 60).sum())

    assert glyphs(titled) > 80
    assert glyphs(bare) < glyphs(titled) / 4
    assert other.text["Title"] == "HKUST-1"
    assert not np.array_equal(np.asarray(other.convert("RGB"))[:24], titled[:24])


def test_the_size_is_honoured_with_a_caption_and_alpha(tmp_path):
    out = tmp_path / "tall.png"
    cif = str(demo("FIQCEN_clean"))
    assert main(["render", cif, "--size", "211x377", "--transparent", "-o", str(out)]) == 0
    assert Image.open(out).size == (211, 377)


def test_title_and_no_title_exclude_each_other(tmp_path, capsys):
    cif = str(demo("FIQCEN_clean"))
    args = ["render", cif, "--title", "X", "--no-title", "-o", str(tmp_path / "a.png")]
    assert main(args) == 2
    assert "--no-title" in capsys.readouterr().err
