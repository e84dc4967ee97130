"""Energy grids drawn in their real (skewed) geometry: colours, slices, isosurfaces."""

from __future__ import annotations

import numpy as np
import pytest
import pyvista as pv
from matplotlib import colormaps

from retvis.core.grid import GridSpec, compute_grid
from retvis.errors import SpecError
from retvis.render import GridFrame, add_energy_grid, new_plotter, show_grid
from retvis.render.camera import colorbar_share, frame_camera
from retvis.render.geometry import contour_world, index_image, world_image, wrap_periodic
from retvis.render.grid import (
    ENERGY_CMAP,
    PORE_LEVEL,
    energy_clim,
    energy_from_boltzmann,
    energy_opacity,
)
from retvis.render.histogram import N_BINS, histogram
from tests.render.pixels import near_colours, shot


@pytest.mark.parametrize(
    "spec",
    [GridSpec(n=12), GridSpec.seed(n=12), GridSpec(n=12, mode="cubic", box_length=24.0)],
    ids=["supercell", "seed-endpoint", "cubic"],
)
def test_frame_maps_indices_onto_the_grid_points(hkust1, spec):
    grid = compute_grid(hkust1, spec)
    frame = GridFrame.of(grid)
    n = spec.n
    ijk = np.stack(np.meshgrid(*[np.arange(n)] * 3, indexing="ij"), -1).reshape(-1, 3)
    mapped = ijk @ frame.matrix()[:3, :3].T + frame.matrix()[:3, 3]
    np.testing.assert_allclose(mapped, grid.points().reshape(-1, 3), atol=1e-9)
    # only a supercell grid without its end point closes periodically
    assert frame.periodic == (spec.mode == "supercell" and not spec.endpoint)
    # a periodic grid, wrapped by one plane, spans the whole box; others end at their
    # last point
    values = wrap_periodic(grid.boltzmann) if frame.periodic else grid.boltzmann
    img = world_image(values, "B", frame)
    last = (values.shape[0] - 1) / frame.divisor
    assert last == 1.0 if (frame.periodic or spec.endpoint) else last < 1.0
    far = grid.origin + last * grid.box.sum(axis=0)
    np.testing.assert_allclose(img.points[-1], far, atol=1e-6)


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


def _crossings(values: np.ndarray, level: float) -> np.ndarray:
    """Index-space points where the linear interpolation of ``values`` along a grid edge
    reaches ``level``: one per edge between a voxel below it and one at or above it."""
    out = []
    for axis in range(3):
        lo, hi = [slice(None)] * 3, [slice(None)] * 3
        lo[axis], hi[axis] = slice(0, -1), slice(1, None)
        v0, v1 = values[tuple(lo)].astype(np.float64), values[tuple(hi)].astype(np.float64)
        cross = (v0 < level) != (v1 < level)
        ijk = np.argwhere(cross).astype(np.float64)
        ijk[:, axis] += (level - v0[cross]) / (v1[cross] - v0[cross])
        out.append(ijk)
    return np.concatenate(out)


def _to_index_space(points: np.ndarray, frame: GridFrame) -> np.ndarray:
    a = frame.matrix()
    return np.linalg.solve(a[:3, :3], (points - a[:3, 3]).T).T


def _assert_separates(surface: pv.PolyData, values: np.ndarray, level: float, frame) -> None:
    """The surface has exactly one point on every edge from a voxel below ``level`` to one
    above it, where the values interpolate to ``level``, and no other point."""
    from scipy.spatial import cKDTree

    expected = _crossings(values, level)
    got = _to_index_space(np.asarray(surface.points, dtype=np.float64), frame)
    assert len(expected) > 100
    assert len(got) == len(expected)
    dist, nearest = cKDTree(expected).query(got)
    assert dist.max() < 1e-3, f"a surface point is {dist.max():.3g} voxels off any crossing"
    assert len(np.unique(nearest)) == len(expected)  # every crossing edge carries a point


@pytest.mark.parametrize("fraction", [0.8, 0.3])
def test_isosurface_at_a_level_bounds_the_voxels_below_it(plotter, hkust1_grid, fraction):
    layer = add_energy_grid(plotter, hkust1_grid, volume=False, colorbar=False)
    level = fraction * layer.clim[0]
    layer.set_iso_levels([level])
    surf = layer.iso_actor.mapper.dataset
    np.testing.assert_allclose(surf["V"], level, rtol=1e-6)
    _assert_separates(surf, wrap_periodic(layer.energy), level, layer.frame)


def test_each_slice_carries_its_planes_values(plotter, hkust1_grid):
    layer = add_energy_grid(plotter, hkust1_grid, volume=False, iso_levels=(), colorbar=False)
    wrapped = wrap_periodic(layer.energy)  # the periodic grid closes on its first plane
    n = wrapped.shape[0]
    ijk = np.stack(np.meshgrid(*[np.arange(n)] * 3, indexing="ij"), -1).astype(np.float64)
    a = layer.frame.matrix()
    for axis, k in [(0, 3), (1, 17), (2, 24)]:
        layer.set_slice(axis, k)
        mesh = layer.slice_meshes[axis]
        plane = np.take(wrapped, k, axis=axis)
        where = np.take(ijk, k, axis=axis).reshape(-1, 3) @ a[:3, :3].T + a[:3, 3]
        # the mesh's points are the plane's grid points (VTK order: first index fastest)
        order = np.lexsort(np.round(_to_index_space(mesh.points, layer.frame), 6).T[::-1])
        mine = np.lexsort(np.round(np.take(ijk, k, axis=axis).reshape(-1, 3), 6).T[::-1])
        np.testing.assert_allclose(mesh.points[order], where[mine], atol=1e-4)
        np.testing.assert_array_equal(mesh["V"][order], plane.reshape(-1)[mine])
        assert layer.slice_index[axis] == k


def test_pore_surface_encloses_the_accessible_voxels(plotter, hkust1_grid):
    """The pore surface is the V = 0 isosurface: it crosses every edge from an accessible
    voxel (V < 0) to an inaccessible one, and nothing else, so it separates them."""
    layer = add_energy_grid(plotter, hkust1_grid, volume=False, iso_levels=(), colorbar=False)
    assert layer.pore_actor is None
    layer.set_pore_surface(True)
    surf = layer.pore_actor.mapper.dataset
    energy = wrap_periodic(layer.energy)
    assert 0.05 < (energy < 0).mean() < 0.95
    _assert_separates(surf, energy, PORE_LEVEL, layer.frame)
    assert layer.pore_actor.GetProperty().GetOpacity() < 1.0  # translucent
    layer.set_pore_surface(False)
    assert not layer.pore_actor.GetVisibility() and not layer.pore_visible


def test_histogram_counts_the_grid_over_the_colour_range(plotter, hkust1_grid):
    layer = add_energy_grid(plotter, hkust1_grid, volume=False, slices=(12, 12, 12))
    frame_camera(plotter, hkust1_grid.box)
    hist = layer.histogram.hist
    counts, edges = np.histogram(np.clip(layer.energy, *layer.clim), N_BINS, range=layer.clim)
    np.testing.assert_array_equal(hist.counts, counts)
    np.testing.assert_allclose(hist.edges, edges)
    assert hist.counts.sum() == layer.energy.size
    # drawn left of the colour bar, which the camera keeps clear of the scene
    bar = next(a for a in plotter.renderer.GetViewProps() if a.IsA("vtkScalarBarActor"))
    hist_left = layer.histogram.actor.GetPosition()[0]
    assert hist_left < bar.GetPosition()[0]
    assert colorbar_share(plotter.renderer) >= 1.0 - hist_left
    # one bar per non-empty bin, one line marking the isosurface level at its height
    before = shot(plotter)
    poly = layer.histogram.actor.GetMapper().GetInput()
    assert poly.GetNumberOfPolys() == (counts > 0).sum() and poly.GetNumberOfLines() == 1
    layer.set_iso_levels([0.8 * layer.clim[0]])
    after = shot(plotter)
    h = before.shape[0]
    for level in (0.5 * layer.clim[0], 0.8 * layer.clim[0]):
        row = h - 1 - int(round(layer.histogram.value_y(level)))
        x0 = int(hist_left * before.shape[1])
        x1 = int(bar.GetPosition()[0] * before.shape[1])
        changed = np.abs(after.astype(int) - before.astype(int))[row - 1 : row + 2, x0:x1]
        assert changed.max() > 100, f"the mark at {level:.0f} K did not move"
    with pytest.raises(SpecError):
        histogram(layer.energy, (1.0, 1.0))


def test_histogram_bars_line_up_with_their_colours(hkust1_grid):
    """The histogram's energy axis is the colour bar's: the strip's colour at a bin's
    height is the colour of that bin's energy, within two pixels."""
    lut = (colormaps[ENERGY_CMAP](np.linspace(0, 1, 256))[:, :3] * 255).astype(np.float32)
    for size in [(640, 400), (1280, 800), (500, 700)]:
        p = new_plotter(size)
        try:
            layer = add_energy_grid(p, hkust1_grid, volume=False, iso_levels=())
            img = shot(p)
            left, bottom, right, top = layer.histogram.strip(*size)
            col = img[:, int((left + right) / 2)].astype(np.float32)
            near = np.linalg.norm(col[:, None] - lut[None], axis=2).min(axis=1) < 8
            rows = np.flatnonzero(near)
            strip_bottom, strip_top = size[1] - 1 - rows.max(), size[1] - rows.min()
            assert abs(strip_bottom - bottom) <= 2 and abs(strip_top - top) <= 2, size
        finally:
            p.close()
