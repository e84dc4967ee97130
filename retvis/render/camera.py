"""Camera placement shared by all scenes."""

from __future__ import annotations

import numpy as np
import pyvista as pv
from numpy.typing import NDArray

#: Camera zoom after fitting the scene's bounding sphere.
CAMERA_ZOOM = 1.35


def view_direction(box: NDArray[np.float64]) -> NDArray[np.float64]:
    """A direction to look from at a box so that no face (and no slice) is seen edge-on.

    Among a few oblique candidates (the world's isometric diagonal and mixtures of the
    box vectors), the one whose smallest angle to the three face planes is largest.
    """
    box = np.asarray(box, dtype=np.float64).reshape(3, 3)
    normals = np.array(
        [np.cross(box[1], box[2]), np.cross(box[2], box[0]), np.cross(box[0], box[1])]
    )
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    unit = box / np.linalg.norm(box, axis=1, keepdims=True)
    candidates = [np.array([1.0, 1.0, 1.0]), np.array([1.0, 0.6, 0.8])]
    candidates += [
        w @ unit for w in ([1.0, 0.55, 0.8], [0.8, 1.0, 0.55], [1.0, -0.5, 0.7], [0.9, 0.4, 1.0])
    ]
    best = max(candidates, key=lambda v: float(np.min(np.abs(normals @ (v / np.linalg.norm(v))))))
    return best / np.linalg.norm(best)


def frame_camera(
    plotter: pv.Plotter, box: NDArray[np.float64] | None = None, zoom: float = CAMERA_ZOOM
) -> None:
    """An oblique view fitted to everything in the active renderer.

    Parameters
    ----------
    box : NDArray[np.float64], optional
        Shape (3, 3); the cell or grid box, so that none of its faces is seen edge-on
        (:func:`view_direction`). Default: the isometric view.
    """
    if box is None:
        plotter.view_isometric()
    else:
        box = np.asarray(box, dtype=np.float64)
        up = box[2] / np.linalg.norm(box[2])
        v = view_direction(box)
        if abs(float(up @ v)) > 0.95:
            up = box[1] / np.linalg.norm(box[1])
        plotter.view_vector(v, viewup=up)
    plotter.reset_camera()
    plotter.camera.zoom(zoom)
