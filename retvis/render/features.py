"""Feature maps of one RetNet layer as a gallery of channels with a shared colour scale.

A layer's output for one material is an array (C, d, d, d). Each channel is drawn in
the geometry of the energy grid it was computed from, scaled to the layer's resolution:
voxel ``j`` of a layer sits at the centre of its receptive field on the input grid
(:func:`layer_sampling`), so conv1's maps lie on the grid points and conv5's 3 x 3 x 3
voxels fill the box. Voxels are drawn as cells (flat colour per voxel), which is honest
at low resolution.

The gallery is a plotter with several renderers: one enlarged channel (three orthogonal
central slices in 3D, optionally with the structure) on the left, and a small panel per
channel (its central slice along c, seen along the c axis) on the right.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pyvista as pv
from numpy.typing import NDArray

from ..errors import SpecError
from .camera import frame_camera
from .geometry import GridFrame
from .style import add_colorbar, ink, lookup_table

#: RetNet's layers in forward order, and the operation producing each (docs/method.md §2):
#: ("same", k) keeps the size (circular padding), ("valid", k) trims k - 1 voxels,
#: ("pool", k) halves with stride k.
LAYER_OPS: dict[str, tuple[str, int]] = {
    "conv1": ("same", 3),
    "conv2": ("valid", 3),
    "max1": ("pool", 2),
    "conv3": ("valid", 2),
    "max2": ("pool", 2),
    "conv4": ("valid", 2),
    "conv5": ("valid", 2),
}
#: Colour map of feature maps.
FEATURE_CMAP = "viridis"
#: Percentiles of the pooled shown values that bound the shared colour range.
CLIM_PERCENTILES = (1.0, 98.0)
#: Label colour of the small panel of the enlarged channel.
HIGHLIGHT = (1.0, 0.8, 0.2)
#: Camera zoom of the small panels, after fitting.
PANEL_ZOOM = 1.6
#: Most channels shown as small panels.
MAX_PANELS = 32


def layer_sampling(layer: str, n: int, d: int) -> tuple[float, float]:
    """Where a layer's voxels sit on the input grid.

    Parameters
    ----------
    layer : str
        One of :data:`LAYER_OPS`.
    n : int
        Points per axis of the input grid.
    d : int
        Voxels per axis of the layer's maps.

    Returns
    -------
    offset, stride : float
        Voxel ``j`` is centred on grid index ``offset + stride * j``. When ``d`` is not
        the size RetNet gives for this layer and ``n``, the ``d`` voxels are spread evenly
        over the grid instead (``stride = n / d``).
    """
    if layer not in LAYER_OPS:
        raise SpecError(f"unknown layer {layer!r}; valid: {', '.join(LAYER_OPS)}")
    size, offset, stride = n, 0.0, 1.0
    for name, (op, k) in LAYER_OPS.items():
        if op == "valid":
            size, offset = size - k + 1, offset + stride * (k - 1) / 2
        elif op == "pool":
            size, offset, stride = size // k, offset + stride * (k - 1) / 2, stride * k
        if name == layer:
            break
    if size == d:
        return offset, stride
    return n / (2 * d) - 0.5, n / d


def shared_clim(
    maps: NDArray[np.float32], percentiles: tuple[float, float] = CLIM_PERCENTILES
) -> tuple[float, float]:
    """One colour range for several channels: percentiles of all their values pooled.

    Trained activations are heavy-tailed (a few voxels far above the rest), so min..max
    would paint almost everything in the lowest colour; values outside saturate.
    """
    lo, hi = (float(v) for v in np.percentile(maps, percentiles))
    if not hi > lo:
        lo, hi = float(maps.min()), float(maps.max())
    return (lo, hi) if hi > lo else (lo, lo + 1.0)


def check_maps(maps: NDArray) -> NDArray[np.float32]:
    """Return feature maps as float32 (C, d, d, d), or raise SpecError."""
    m = np.asarray(maps)
    if m.ndim != 4 or m.shape[1] != m.shape[2] or m.shape[2] != m.shape[3] or m.shape[0] < 1:
        raise SpecError(f"feature maps must have shape (C, d, d, d), got {m.shape}")
    if not np.all(np.isfinite(m)):
        raise SpecError("feature maps hold non-finite values")
    return np.ascontiguousarray(m, dtype=np.float32)


def central_slice(
    channel: NDArray[np.float32],
    frame: GridFrame,
    offset: float,
    stride: float,
    axis: int = 2,
    index: int | None = None,
) -> pv.StructuredGrid:
    """One plane of a channel's voxels (default: the central one) as flat quads.

    The plane passes through the voxel centres of layer index ``index`` along ``axis``;
    each of its d x d cells covers one voxel (grid indices ``offset + stride * (j -+ 1/2)``
    along the other two axes) and carries the voxel's value in ``cell_data``.
    """
    d = channel.shape[0]
    index = d // 2 if index is None else int(index)
    axes = [offset + stride * (np.arange(d + 1) - 0.5) for _ in range(3)]
    axes[axis] = np.array([offset + stride * index])
    f = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1) / frame.divisor
    pts = frame.origin + f @ frame.box
    sg = pv.StructuredGrid()
    sg.points = pts.transpose(2, 1, 0, 3).reshape(-1, 3)
    sg.dimensions = pts.shape[:3]
    sl = [slice(None)] * 3
    sl[axis] = index
    sg.cell_data["activation"] = channel[tuple(sl)].ravel(order="F")
    return sg


#: :func:`gallery_layout` weighs an empty cell fraction of the small panels' block like
#: this much log-distance of the cells from square (so a layout with a row of blanks
#: wins only when its cells are clearly squarer).
EMPTY_CELL_COST = 0.5
#: Largest share of the view's long side the enlarged panel may take (beyond it the
#: small panels shrink to a strip of thumbnails).
MAX_ENLARGED = 0.6


@dataclass
class GalleryLayout:
    """Renderer layout of a gallery: an enlarged panel and ``n_panels`` small ones.

    Attributes
    ----------
    shape : tuple of int
        (rows, columns) of the plotter.
    groups : list
        pyvista ``groups`` argument merging the enlarged panel's cells.
    panels : list of tuple of int
        (row, column) of each small panel.
    enlarged : tuple of int
        (row, column) of the enlarged panel (its group's first cell).
    """

    shape: tuple[int, int]
    groups: list
    panels: list[tuple[int, int]]
    enlarged: tuple[int, int] = (0, 0)

    def plotter_kwargs(self) -> dict:
        """Keyword arguments for ``pv.Plotter`` (or ``QtInteractor``) with this layout."""
        return {"shape": self.shape, "groups": self.groups, "border": True, "border_width": 1}


def gallery_layout(n_panels: int, aspect: float | None = None) -> GalleryLayout:
    """A layout for ``n_panels`` small panels beside a square enlarged one.

    Parameters
    ----------
    n_panels : int
        Small panels, 1 to :data:`MAX_PANELS`.
    aspect : float, optional
        Width / height of the view the gallery fills. The cells of the layout's grid
        are made as close to square as the view allows: in a wide view the enlarged
        panel takes a ``rows x rows`` block on the left and the small panels fill
        ``rows x cols`` cells beside it; in a tall one (a narrow dock) it takes a
        ``cols x cols`` block on top and the small panels fill the rows below, so it
        spans the whole width instead of a strip. Default: the fixed wide layout with
        rows about ``sqrt(n / 1.6)``.
    """
    if not 1 <= n_panels <= MAX_PANELS:
        raise SpecError(f"a gallery shows 1 to {MAX_PANELS} channels, got {n_panels}")
    if aspect is None:
        rows = max(1, round(math.sqrt(n_panels / 1.6)))
        return _wide_layout(n_panels, rows)
    if not (math.isfinite(aspect) and aspect > 0):
        raise SpecError(f"aspect must be a positive width / height, got {aspect!r}")

    def cost(lay: GalleryLayout) -> float:
        rows, cols = lay.shape
        misfit = abs(math.log(cols / rows / aspect))  # log-distance of the cells from square
        small = rows * cols - min(rows, cols) ** 2  # cells beside the enlarged block
        return misfit + EMPTY_CELL_COST * (small - n_panels) / small

    fits = [lay for lay in _candidates(n_panels) if min(lay.shape) <= MAX_ENLARGED * max(lay.shape)]
    return min(fits, key=cost)


def _candidates(n_panels: int) -> list[GalleryLayout]:
    """Every wide and tall layout of ``n_panels``; no two share a shape (a wide one has
    fewer rows than columns, a tall one more)."""
    wide = [_wide_layout(n_panels, r) for r in range(1, n_panels + 1)]
    return wide + [_tall_layout(n_panels, c) for c in range(1, n_panels + 1)]


def layout_of(plotter: pv.Plotter, n_panels: int) -> GalleryLayout:
    """The gallery layout of ``n_panels`` a plotter was made with (from its shape).

    Raises
    ------
    SpecError
        When no gallery of ``n_panels`` has the plotter's shape.
    """
    shape = tuple(plotter.shape)
    for lay in _candidates(n_panels):  # the fixed default is one of the wide layouts
        if lay.shape == shape:
            return lay
    raise SpecError(
        f"the plotter has shape {shape}; a gallery of {n_panels} channels needs a shape "
        f"like {gallery_layout(n_panels).shape} "
        "(create it with gallery_layout(n, aspect).plotter_kwargs())"
    )


def _wide_layout(n_panels: int, rows: int) -> GalleryLayout:
    """The enlarged panel a ``rows x rows`` block on the left, small panels beside it."""
    cols = math.ceil(n_panels / rows)
    big = rows
    groups = [(np.s_[:], np.s_[:big])] if big > 1 else []
    panels = [(k // cols, big + k % cols) for k in range(n_panels)]
    return GalleryLayout((rows, big + cols), groups, panels)


def _tall_layout(n_panels: int, cols: int) -> GalleryLayout:
    """The enlarged panel a ``cols x cols`` block on top, small panels below it."""
    rows = math.ceil(n_panels / cols)
    big = cols
    groups = [(np.s_[:big], np.s_[:])] if big > 1 else []
    panels = [(big + k // cols, k % cols) for k in range(n_panels)]
    return GalleryLayout((big + rows, cols), groups, panels)


def pick_channels(maps: NDArray[np.float32], max_panels: int = MAX_PANELS) -> list[int]:
    """Every channel when there are at most ``max_panels``; else the most active ones.

    Activity is the mean absolute activation; the chosen channels are returned in
    channel order.
    """
    c = maps.shape[0]
    if c <= max_panels:
        return list(range(c))
    act = np.abs(maps).reshape(c, -1).mean(axis=1)
    return sorted(np.argsort(-act, kind="stable")[:max_panels].tolist())


@dataclass
class FeatureGallery:
    """What :func:`add_feature_gallery` drew.

    Attributes
    ----------
    layer : str
        Layer name.
    channels : list of int
        Channel shown in each small panel, in panel order.
    enlarged : int
        Channel shown enlarged.
    clim : tuple of float
        Shared colour range (activation units).
    layout : GalleryLayout
    """

    layer: str
    channels: list[int]
    enlarged: int
    clim: tuple[float, float]
    layout: GalleryLayout
    actors: list = field(default_factory=list)


def _view_along(plotter: pv.Plotter, frame: GridFrame, axis: int) -> None:
    """Look at the box along the normal of the plane of constant index ``axis``."""
    normal = np.cross(*(np.delete(frame.box, axis, axis=0)))
    up = frame.box[(axis + 2) % 3]
    plotter.view_vector(normal / np.linalg.norm(normal), viewup=up / np.linalg.norm(up))
    plotter.enable_parallel_projection()
    plotter.reset_camera()
    plotter.camera.zoom(PANEL_ZOOM)


def add_feature_gallery(
    plotter: pv.Plotter,
    maps: NDArray,
    frame: GridFrame,
    layer: str,
    *,
    channels: list[int] | None = None,
    enlarged: int | None = None,
    structure=None,
    clim: tuple[float, float] | None = None,
) -> FeatureGallery:
    """Draw a layer's channels into a plotter laid out by :func:`gallery_layout`.

    Parameters
    ----------
    plotter : pyvista.Plotter
        Created with ``**gallery_layout(len(channels), aspect).plotter_kwargs()`` (any
        aspect: the layout is recognised by the plotter's shape, :func:`layout_of`).
    maps : NDArray
        Shape (C, d, d, d), float; the layer's output for one material (activation
        units, dimensionless).
    frame : GridFrame
        Geometry of the input energy grid (``GridFrame.of(grid)``).
    layer : str
        Layer name (conv1..conv5, max1, max2).
    channels : list of int, optional
        Channels for the small panels; default :func:`pick_channels`.
    enlarged : int, optional
        Channel shown enlarged; default the most active of ``channels``.
    structure : Structure, optional
        Drawn (faintly) in the enlarged panel for reference.
    clim : tuple of float, optional
        Shared colour range; default :func:`shared_clim` of the shown channels.

    Returns
    -------
    FeatureGallery
    """
    maps = check_maps(maps)
    c, d = maps.shape[0], maps.shape[1]
    channels = pick_channels(maps) if channels is None else [int(k) for k in channels]
    bad = [k for k in channels if not 0 <= k < c]
    if bad or not channels:
        raise SpecError(f"channels must be in [0, {c - 1}], got {channels}")
    layout = layout_of(plotter, len(channels))
    if enlarged is None:
        act = np.abs(maps[channels]).reshape(len(channels), -1).mean(axis=1)
        enlarged = channels[int(np.argmax(act))]
    if not 0 <= enlarged < c:
        raise SpecError(f"enlarged channel must be in [0, {c - 1}], got {enlarged}")
    if clim is None:
        clim = shared_clim(maps[sorted(set(channels) | {enlarged})])
    gallery = FeatureGallery(layer, channels, enlarged, clim, layout)
    sampling = layer_sampling(layer, frame.n, d)
    _add_enlarged(plotter, gallery, maps, frame, sampling, structure)
    kw = _slice_style(clim)
    for k, (row, col) in zip(channels, layout.panels, strict=True):
        plotter.subplot(row, col)
        gallery.actors.append(
            plotter.add_mesh(central_slice(maps[k], frame, *sampling), **kw, name=f"panel-{k}")
        )
        plotter.add_text(
            f"{k}*" if k == enlarged else str(k),
            font_size=8,
            color=HIGHLIGHT if k == enlarged else ink(plotter),
            position="upper_left",
        )
        _view_along(plotter, frame, 2)
    return gallery


def _slice_style(clim: tuple[float, float]) -> dict:
    """How every slice of a gallery is drawn: one colour map and range, no lighting."""
    return dict(
        scalars="activation", cmap=FEATURE_CMAP, clim=clim, show_scalar_bar=False, lighting=False
    )


def _add_enlarged(plotter, gallery: FeatureGallery, maps, frame, sampling, structure) -> None:
    """The enlarged panel: three central slices of its channel, the structure faintly,
    the grid's box, a title and the colour bar."""
    from .structure import add_structure, cell_edges

    enlarged, d = gallery.enlarged, maps.shape[1]
    plotter.subplot(*gallery.layout.enlarged)
    if structure is not None:
        add_structure(
            plotter,
            structure,
            box=frame.box,
            origin=frame.origin,
            opacity=1.0,
            bonds=True,
            name="gallery-structure",
        )
    kw = _slice_style(gallery.clim)
    for axis in range(3):
        gallery.actors.append(
            plotter.add_mesh(
                central_slice(maps[enlarged], frame, *sampling, axis=axis),
                **kw,
                name=f"enlarged-{axis}",
            )
        )
    plotter.add_mesh(cell_edges(frame.box, frame.origin), color=ink(plotter), line_width=1)
    plotter.add_text(
        f"{gallery.layer}  channel {enlarged}  ({d}³ voxels)",
        font_size=11,
        color=ink(plotter),
        position="upper_left",
    )
    add_colorbar(plotter, lookup_table(FEATURE_CMAP, gallery.clim), "activation")
    frame_camera(plotter, frame.box, frame.origin)
