"""Pixel checks shared by the render tests."""

from __future__ import annotations

import numpy as np


def near_colours(img: np.ndarray, colours: np.ndarray, tol: float) -> np.ndarray:
    """Mask of pixels within ``tol`` (Euclidean, 0..255 units) of any of ``colours``."""
    px = img.reshape(-1, 1, 3).astype(np.float32)
    d = np.linalg.norm(px - np.asarray(colours, np.float32)[None], axis=2).min(axis=1)
    return (d <= tol).reshape(img.shape[:2])


def chroma_mask(img: np.ndarray, rgb, tol: float = 0.08, min_bright: int = 60) -> np.ndarray:
    """Pixels whose chromaticity (colour / its largest channel) matches ``rgb``.

    Lighting scales an atom's colour (darker at its rim), so the hue is compared, not
    the value; dark pixels are ignored.
    """
    px = img.astype(np.float32)
    top = px.max(axis=2, keepdims=True)
    ref = np.asarray(rgb, np.float32)
    ref = ref / ref.max()
    ok = top[..., 0] >= min_bright
    d = np.abs(px / np.maximum(top, 1) - ref).max(axis=2)
    return ok & (d <= tol)


def shot(plotter) -> np.ndarray:
    """Render the plotter now and return its image, shape (h, w, 3), uint8."""
    plotter.render()
    return plotter.screenshot(return_img=True).copy()
