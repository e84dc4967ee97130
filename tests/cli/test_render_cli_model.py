"""``retvis render --show features|saliency`` with a RetNet trained here on real data.

The model is trained for two epochs on the 20 demo MOFs' grids (n = 25) with a real label
(CoRE MOF 2019's Zeo++ void fraction, as in tests/ml): its weights are real training
output, not random; what it learned does not matter for drawing its maps.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from retvis.cli import main
from retvis.render.features import gallery_layout
from tests.conftest import demo


@pytest.fixture(scope="module")
def model(trained_model):
    return trained_model


def _png(path):
    return np.asarray(Image.open(path).convert("RGB"))


@pytest.mark.parametrize("layer,channels", [("conv1", 12), ("max2", 32)])
def test_feature_gallery_of_a_trained_model(model, tmp_path, layer, channels):
    out = tmp_path / f"{layer}.png"
    rc = main(
        [
            "render",
            str(demo("FIQCEN_clean")),
            "--show",
            "features",
            "--layer",
            layer,
            "--model",
            str(model),
            "--size",
            "960x600",
            "-o",
            str(out),
        ]
    )
    assert rc == 0
    img = _png(out)
    assert img.shape == (600, 960, 3)
    lay = gallery_layout(channels, 960 / 600)  # the layout that fits --size
    rows, cols = lay.shape
    h, w = 600 // rows, 960 // cols
    for r, c in lay.panels:  # every small panel holds a drawn slice
        tile = img[r * h + 5 : (r + 1) * h - 5, c * w + 5 : (c + 1) * w - 5].astype(int)
        assert (np.abs(tile - img[5, 5].astype(int)).max(axis=2) > 40).mean() > 0.1, (r, c)


def test_saliency_of_a_trained_model(model, tmp_path):
    out = tmp_path / "saliency.png"
    rc = main(
        [
            "render",
            str(demo("FIQCEN_clean")),
            "--show",
            "saliency",
            "--model",
            str(model),
            "--size",
            "640x400",
            "-o",
            str(out),
        ]
    )
    assert rc == 0
    img = _png(out).astype(int)
    assert (np.abs(img - img[0, 0]).max(axis=2) > 40).mean() > 0.05
