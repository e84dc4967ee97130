"""What the 3D viewer draws: ``retvis.render`` scene functions, or minimal stand-ins.

``retvis.render`` (being built on its own branch) owns the scenes. Until it lands, the
functions below draw a minimal version of each so that the viewer, its mode switching
and its tests work; each one is replaced by render's as soon as that imports. All of
them take a PyVista plotter (a ``QtInteractor`` is one) and plain NumPy data, and are
called on the GUI thread only.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

#: Jmol colours (RGB 0-255) of common framework elements; others are pink.
ELEMENT_COLOURS: dict[str, tuple[int, int, int]] = {
    "H": (255, 255, 255),
    "C": (144, 144, 144),
    "N": (48, 80, 248),
    "O": (255, 13, 13),
    "F": (144, 224, 80),
    "P": (255, 128, 0),
    "S": (255, 255, 48),
    "Cl": (31, 240, 31),
    "Br": (166, 41, 41),
    "I": (148, 0, 148),
    "B": (255, 181, 181),
    "Si": (240, 200, 160),
    "Cu": (200, 128, 51),
    "Zn": (125, 128, 176),
    "Co": (240, 144, 160),
    "Ni": (80, 208, 80),
    "Fe": (224, 102, 51),
    "Mn": (156, 122, 199),
    "Cr": (138, 153, 199),
    "V": (166, 166, 171),
    "Ti": (191, 194, 199),
    "Zr": (148, 224, 224),
    "Al": (191, 166, 166),
    "Mg": (138, 255, 0),
    "Ca": (61, 255, 0),
    "Cd": (255, 217, 143),
    "Ag": (192, 192, 192),
    "Ln": (112, 212, 255),
}
_DEFAULT_COLOUR = (255, 20, 147)
_COVALENT = {"H": 0.31, "C": 0.76, "N": 0.71, "O": 0.66, "F": 0.57, "Cu": 1.32, "Zn": 1.22}


def _cell_lines(lattice: NDArray[np.float64], origin=np.zeros(3)):
    import pyvista as pv

    a, b, c = np.asarray(lattice, dtype=float)
    corners = np.array(
        [origin + i * a + j * b + k * c for i in (0, 1) for j in (0, 1) for k in (0, 1)]
    )
    edges = [
        (0, 1),
        (0, 2),
        (0, 4),
        (1, 3),
        (1, 5),
        (2, 3),
        (2, 6),
        (3, 7),
        (4, 5),
        (4, 6),
        (5, 7),
        (6, 7),
    ]
    lines = np.array([[2, i, j] for i, j in edges]).ravel()
    return pv.PolyData(corners, lines=lines)


def draw_structure(plotter, structure) -> None:
    """Atoms as spheres in element colours and the unit cell as lines.

    Parameters
    ----------
    plotter : pyvista.Plotter
        Any plotter (``QtInteractor`` included).
    structure : retvis.core.structure.Structure
        Positions in Å.
    """
    import pyvista as pv

    cart = np.asarray(structure.cart, dtype=float)
    species = list(structure.species)
    rgb = np.array([ELEMENT_COLOURS.get(e, _DEFAULT_COLOUR) for e in species], dtype=np.uint8)
    radius = np.array([0.45 * _COVALENT.get(e, 1.0) + 0.15 for e in species])
    cloud = pv.PolyData(cart)
    cloud["radius"] = radius
    cloud["rgb"] = rgb
    spheres = cloud.glyph(
        geom=pv.Sphere(radius=1.0, theta_resolution=12, phi_resolution=12),
        scale="radius",
        orient=False,
    )
    plotter.add_mesh(
        spheres,
        scalars="rgb",
        rgb=True,
        smooth_shading=True,
        ambient=0.25,
        name="atoms",
        render=False,
    )
    plotter.add_mesh(
        _cell_lines(structure.lattice), color="black", line_width=2, name="cell", render=False
    )


def draw_grid(plotter, grid, structure=None) -> None:
    """Energy-grid isosurfaces (Boltzmann factor) in the grid's box.

    Parameters
    ----------
    grid : retvis.core.grid.EnergyGrid
        ``boltzmann`` (n, n, n) float32 on ``points()`` (n, n, n, 3) Å.
    structure : Structure, optional
        Drawn lightly for orientation.
    """
    import pyvista as pv

    pts = grid.points()
    sg = pv.StructuredGrid(pts[..., 0], pts[..., 1], pts[..., 2])
    sg["boltzmann"] = np.asarray(grid.boltzmann, dtype=np.float32).ravel(order="F")
    levels = _levels(grid.boltzmann)
    if levels:
        iso = sg.contour(levels, scalars="boltzmann")
        if iso.n_points:
            plotter.add_mesh(
                iso,
                scalars="boltzmann",
                cmap="viridis",
                opacity=0.6,
                scalar_bar_args={"title": "Boltzmann factor"},
                name="grid",
                render=False,
            )
    plotter.add_mesh(
        _cell_lines(grid.box, grid.origin),
        color="black",
        line_width=1,
        name="grid box",
        render=False,
    )


def draw_volume(
    plotter,
    array: NDArray[np.float32],
    box: NDArray[np.float64],
    origin: NDArray[np.float64],
    title: str,
) -> None:
    """A scalar field (feature map channel, saliency) resampled over the grid's box.

    Parameters
    ----------
    array : NDArray[np.float32]
        Shape (m, m, m), any units (shown by colour).
    box : NDArray[np.float64]
        Shape (3, 3), rows spanning the box, Å.
    origin : NDArray[np.float64]
        Shape (3,), Å.
    """
    import pyvista as pv

    m = np.asarray(array, dtype=np.float32)
    t = [np.arange(k, dtype=float) / max(k - 1, 1) for k in m.shape]
    f = np.stack(np.meshgrid(*t, indexing="ij"), axis=-1)
    pts = np.asarray(origin) + f @ np.asarray(box)
    sg = pv.StructuredGrid(pts[..., 0], pts[..., 1], pts[..., 2])
    sg[title] = m.ravel(order="F")
    levels = _levels(m)
    if levels:
        iso = sg.contour(levels, scalars=title)
        if iso.n_points:
            plotter.add_mesh(
                iso,
                scalars=title,
                cmap="inferno",
                opacity=0.7,
                scalar_bar_args={"title": title},
                name="field",
                render=False,
            )
    plotter.add_mesh(
        _cell_lines(box, origin), color="black", line_width=1, name="box", render=False
    )


def _levels(a: NDArray) -> list[float]:
    a = np.asarray(a, dtype=np.float64)
    a = a[np.isfinite(a)]
    if a.size == 0 or a.max() <= a.min():
        return []
    return [float(v) for v in np.unique(np.percentile(a, [80, 95])) if a.min() < v < a.max()]
