"""Camera placement shared by all scenes: an oblique view that fits the cell."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pyvista as pv
from numpy.typing import NDArray

from .histogram import COLORBAR_PART

#: Fraction of the window the box's projection fills (the rest is margin).
FILL = 0.86
#: Share of the window width kept free on the right for a colour bar.
COLORBAR_SHARE = 0.14


def _corners(box: NDArray[np.float64], origin: NDArray[np.float64]) -> NDArray[np.float64]:
    f = np.array(list(itertools.product((0.0, 1.0), repeat=3)))
    return origin + f @ box


def view_direction(box: NDArray[np.float64]) -> NDArray[np.float64]:
    """A direction to look from at a box: no face edge-on, no two corners superposed.

    Candidates are uneven mixtures of the box vectors and of the world axes; each is
    scored by the smallest of (a) the |cosine| between the view and the face normals
    (0: a face, and a slice parallel to it, seen edge-on) and (b) the smallest distance
    between two projected corners relative to the box diagonal (0: corners on top of each
    other, as when a cube is seen along its body diagonal).
    """
    box = np.asarray(box, dtype=np.float64).reshape(3, 3)
    normals = np.array(
        [np.cross(box[1], box[2]), np.cross(box[2], box[0]), np.cross(box[0], box[1])]
    )
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    unit = box / np.linalg.norm(box, axis=1, keepdims=True)
    corners = _corners(box, np.zeros(3))
    diag = float(np.linalg.norm(box.sum(axis=0)))
    weights = (
        [1.0, 0.55, 0.8],
        [0.8, 1.0, 0.55],
        [1.0, 0.4, 0.65],
        [0.9, 0.35, 1.0],
        [1.0, -0.45, 0.7],
    )
    candidates = [np.asarray(w) @ unit for w in weights] + [np.asarray(w) for w in weights]

    def score(v):
        v = v / np.linalg.norm(v)
        face = float(np.min(np.abs(normals @ v)))
        flat = corners - np.outer(corners @ v, v)
        sep = min(
            float(np.linalg.norm(flat[i] - flat[j])) for i, j in itertools.combinations(range(8), 2)
        )
        return min(face, 2.0 * sep / diag)

    best = max(candidates, key=score)
    return best / np.linalg.norm(best)


def colorbar_share(renderer) -> float:
    """Share of a renderer's width taken by its colour bars and what is drawn beside them
    (a histogram: 2D actors named :data:`~retvis.render.histogram.COLORBAR_PART`), from
    the leftmost one's left edge plus a small gap, or :data:`COLORBAR_SHARE` when it has
    no colour bar yet."""
    props = [a for a in renderer.GetViewProps() if a.GetVisibility()]
    if not any(a.IsA("vtkScalarBarActor") for a in props):
        return COLORBAR_SHARE
    lefts = [
        a.GetPosition()[0]
        for a in props
        if a.IsA("vtkScalarBarActor") or a.GetObjectName() == COLORBAR_PART
    ]
    return float(np.clip(1.0 - min(lefts) + 0.02, 0.0, 0.5))


def frame_camera(
    plotter: pv.Plotter,
    box: NDArray[np.float64] | None = None,
    origin: NDArray[np.float64] | None = None,
    *,
    colorbar: bool = True,
    fill: float = FILL,
) -> None:
    """Look at a box obliquely and zoom so that it fills the active renderer.

    Parameters
    ----------
    plotter : pyvista.Plotter
        Any plotter; its active renderer is framed.
    box : NDArray[np.float64], optional
        Shape (3, 3); rows span the cell or grid box, Å. Default: the isometric view of
        everything drawn.
    origin : NDArray[np.float64], optional
        Shape (3,); corner of the box, Å (default 0).
    colorbar : bool
        Keep the width of the renderer's colour bars (:func:`colorbar_share`) free on
        the right.
    fill : float
        Fraction of the free area the box's projection fills.
    """
    if box is None:
        plotter.view_isometric()
        plotter.reset_camera()
        return
    box = np.asarray(box, dtype=np.float64).reshape(3, 3)
    origin = np.zeros(3) if origin is None else np.asarray(origin, dtype=np.float64)
    v = view_direction(box)
    up = box[2] / np.linalg.norm(box[2])
    if abs(float(up @ v)) > 0.9:
        up = box[1] / np.linalg.norm(box[1])
    up = up - (up @ v) * v
    up /= np.linalg.norm(up)
    right = np.cross(up, v)  # camera looks along -v
    corners = _corners(box, origin)
    centre = corners.mean(axis=0)
    rel = corners - centre
    x, y, z = rel @ right, rel @ up, rel @ v  # z > 0: towards the camera

    cam = plotter.camera
    w, h = plotter.window_size
    if plotter.shape != (1, 1):
        vp = plotter.renderer.viewport
        w, h = w * (vp[2] - vp[0]), h * (vp[3] - vp[1])
    aspect = max(w, 1) / max(h, 1)
    share = colorbar_share(plotter.renderer) if colorbar else 0.0
    tan_h = math.tan(math.radians(cam.view_angle) / 2) * fill
    tan_w = tan_h * aspect * (1 - share)
    # nearest distance from which every corner projects inside the free area
    dist = float(np.max(z + np.maximum(np.abs(y) / tan_h, np.abs(x) / tan_w)))
    # shift the view so the box is centred in the part left of the colour bar
    focal = centre + right * (share * aspect * math.tan(math.radians(cam.view_angle) / 2) * dist)
    plotter.camera_position = [tuple(focal + v * dist), tuple(focal), tuple(up)]
    plotter.renderer.reset_camera_clipping_range()


def pixels_per_angstrom(plotter: pv.Plotter) -> float:
    """Screen pixels per Å at the focal point of the active renderer's camera."""
    cam = plotter.camera
    h = plotter.window_size[1]
    if plotter.shape != (1, 1):
        vp = plotter.renderer.viewport
        h = h * (vp[3] - vp[1])
    if cam.parallel_projection:
        return h / (2.0 * cam.parallel_scale)
    d = float(np.linalg.norm(np.subtract(cam.position, cam.focal_point)))
    return h / (2.0 * d * math.tan(math.radians(cam.view_angle) / 2))
