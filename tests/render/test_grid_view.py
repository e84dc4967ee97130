"""Energy grids drawn in their real (skewed) geometry: colours, slices, isosurfaces."""

from __future__ import annotations

import numpy as np
import pytest
import pyvista as pv
from matplotlib import colormaps

from retvis.errors import SpecError
from retvis.render import GridFrame, add_energy_grid, show_grid
from retvis.render.camera import frame_camera
from retvis.render.geometry import contour_world, index_image
from retvis.render.grid import ENERGY_CMAP, energy_clim, energy_from_boltzmann, energy_opacity
from tests.render.pixels import near_colours, shot


def test_frame_maps_indices_onto_the_grid_points(hkust1_grid):
    frame = GridFrame.of(hkust1_grid)
    pts = hkust1_grid.points()  # (n, n, n, 3)
    ijk = np.stack(np.meshgrid(*[np.arange(25)] * 3, indexing="ij"), -1).reshape(-1, 3)
    mapped = ijk @ frame.matrix()[:3, :3].T + frame.matrix()[:3, 3]
    np.testing.assert_allclose(mapped, pts.reshape(-1, 3), atol=1e-9)
    assert frame.periodic  # supercell without end point: the volume closes by wrapping


def test_isosurface_of_a_skewed_grid_matches_a_structured_grid_contour(hkust1_grid):
    """Contouring in index space then mapping is exact; VTK's image contour is not."""
    frame = GridFrame.of(hkust1_grid)
    e = energy_from_boltzmann(hkust1_grid.boltzmann, 298.0)
    level = 0.5 * float(e.min())
    ours = contour_world(index_image(e, "V"), [level], frame)
    sg = pv.StructuredGrid()
    sg.points = hkust1_grid.points().transpose(2, 1, 0, 3).reshape(-1, 3)
    sg.dimensions = e.shape
    sg.point_data["V"] = e.ravel(order="F")
    ref = sg.contour([level], scalars="V")
    assert ours.n_points > 100
    np.testing.assert_allclose(ours.bounds, ref.bounds, atol=1e-4)
    np.testing.assert_allclose(ours.area, ref.area, rtol=1e-4)


def test_energy_transfer_makes_wells_opaque_and_walls_transparent(hkust1_grid):
    e = energy_from_boltzmann(hkust1_grid.boltzmann, 298.0)
    assert np.isfinite(e).all() and e.max() <= 1000.0
    lo, hi = energy_clim(e)
    assert lo == pytest.approx(float(e.min())) and lo < 0 < hi
    op = energy_opacity((lo, hi))
    v = np.linspace(lo, hi, len(op))
    assert op[0] == op.max() > 0
    assert np.all(op[v >= 0] == 0)
    assert np.all(np.diff(op[v < 0]) <= 0)


def test_grid_view_shows_the_colormap(plotter, hkust1, hkust1_grid):
    _, layer = show_grid(plotter, hkust1, hkust1_grid, volume=True)
    img = shot(plotter)
    lut = (colormaps[ENERGY_CMAP](np.linspace(0, 1, 256))[:, :3] * 255).astype(np.float32)
    bright = lut[:128]  # the well half of the map (yellow..red), far from the background
    hits = near_colours(img, bright, tol=6).mean()
    assert hits > 0.01, f"only {hits:.3%} of pixels carry the energy colormap's well colours"
    assert layer.slice_index == [12, 12, 12]
    assert layer.volume_actor is not None and layer.iso_actor is not None


def test_slices_move_and_refuse_bad_indices(plotter, hkust1_grid):
    layer = add_energy_grid(
        plotter, hkust1_grid, volume=False, iso_levels=(), slices=(12, None, None), colorbar=False
    )
    frame_camera(plotter, hkust1_grid.box)
    before = shot(plotter)
    x_before = layer.slice_meshes[0].points[:, 0].mean()
    layer.set_slice(0, 3)
    after = shot(plotter)
    assert layer.slice_meshes[0].points[:, 0].mean() < x_before
    assert np.abs(after.astype(int) - before.astype(int)).max() > 50
    layer.set_slice(0, None)
    assert not layer.slice_actors[0].GetVisibility()
    with pytest.raises(SpecError, match=r"\[0, 24\]"):
        layer.set_slice(1, 25)
    with pytest.raises(SpecError):
        layer.set_slice(3, 0)


def test_iso_levels_can_change(plotter, hkust1_grid):
    layer = add_energy_grid(plotter, hkust1_grid, volume=False, colorbar=False)
    deep = layer.clim[0]
    layer.set_iso_levels([0.8 * deep])
    small = layer.iso_actor.mapper.dataset.area
    layer.set_iso_levels([0.3 * deep])
    assert layer.iso_actor.mapper.dataset.area > small
    layer.set_iso_levels([])
    assert layer.iso_actor is None
