"""Pictures of a scene: a caption band, any size, a transparent background, a PNG file.

The CLI (``retvis render``) and the app (File > Export Image) both caption with
:func:`scene_caption`, draw with :func:`capture` and write with :func:`write_png`, so
their pictures agree. The caption is a band above the scene with the structure's name
and what is shown (the grid's probe, or the model and its target); colour bars, with
their units, are the scenes' own.
"""

from __future__ import annotations

import io
import math
from contextlib import ExitStack, contextmanager
from pathlib import Path

import numpy as np
import pyvista as pv
from numpy.typing import NDArray

from ..core.grid import GridSpec
from ..errors import SpecError
from .style import MIN_FONT, _text_width, ink

#: Title text height at an image height of :data:`REFERENCE_HEIGHT` pixels; the
#: subtitle is :data:`SUBTITLE_RATIO` of it. Both scale with the image's height.
TITLE_PX = 26
SUBTITLE_RATIO = 0.7
REFERENCE_HEIGHT = 800
#: Gap above and below the caption's lines, as a share of the title's height.
PAD = 0.45
#: Widest view angle a narrower picture may widen its camera to, degrees.
MAX_VIEW_ANGLE = 150.0

#: Smallest and largest side of a picture, pixels.
MIN_SIDE, MAX_SIDE = 16, 8192

#: Scenes :func:`scene_caption` describes.
SCENES = ("structure", "grid", "features", "saliency")


def check_size(width: int, height: int) -> tuple[int, int]:
    """``(width, height)`` of a picture, pixels, each side in [:data:`MIN_SIDE`,
    :data:`MAX_SIDE`]; a :class:`~retvis.errors.SpecError` saying so otherwise."""
    w, h = int(width), int(height)
    if not (MIN_SIDE <= w <= MAX_SIDE and MIN_SIDE <= h <= MAX_SIDE):
        raise SpecError(
            f"size must be between {MIN_SIDE}x{MIN_SIDE} and {MAX_SIDE}x{MAX_SIDE} "
            f"pixels, got {w}x{h}"
        )
    return w, h


def model_label(ref: str | Path) -> str:
    """A model's name for people: the name itself, or the folder of a model path."""
    p = Path(str(ref))
    if p.name == "model.json":
        p = p.parent
    return p.name or str(ref)


def scene_caption(
    show: str,
    name: str,
    *,
    formula: str = "",
    spec: GridSpec | None = None,
    model: str | Path | None = None,
    target: dict | None = None,
    layer: str = "",
) -> tuple[str, str]:
    """The (title, subtitle) of a picture of one structure.

    Parameters
    ----------
    show : {"structure", "grid", "features", "saliency"}
        The scene.
    name : str
        The structure's name (the title).
    formula : str
        The unit-cell formula, said under a structure.
    spec : GridSpec, optional
        The energy grid's settings, said under a grid (its probe, points, temperature).
    model : str or Path, optional
        The model (name or folder) whose feature maps or saliency are shown.
    target : dict, optional
        The model's ``{"name": ..., "units": ...}``.
    layer : str
        The layer of the feature maps.
    """
    if show not in SCENES:
        raise SpecError(f"show must be one of {', '.join(SCENES)}, got {show!r}")
    if show == "structure":
        return name, f"structure, {formula}" if formula else "structure"
    if show == "grid":
        if spec is None:
            return name, "energy grid"
        return name, (
            f"energy grid: {spec.describe_probe()}, {spec.n}³ points, {spec.temperature:g} K"
        )
    what = f"{layer} feature maps" if show == "features" else "saliency |∂ŷ/∂x|"
    if model is not None:
        what += f" of model {model_label(model)}"
    t = target or {}
    if t.get("name"):
        what += f", predicting {t['name']}" + (f" ({t['units']})" if t.get("units") else "")
    return name, what


def caption_font(bold: bool = False) -> Path:
    """The caption's font file: DejaVu Sans (matplotlib's), which has Greek letters,
    ``Å`` and ``³`` (VTK's own fonts lack Greek)."""
    import matplotlib

    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    return Path(matplotlib.get_data_path()) / "fonts" / "ttf" / name


def _caption_actors(plotter: pv.Plotter, title: str, subtitle: str) -> tuple[list, int]:
    """Text actors of the caption (positions in pixels from the band's lower left
    corner) and the band's height, pixels."""
    from vtkmodules.vtkRenderingCore import vtkTextActor

    w, h = (int(v) for v in plotter.window_size)
    margin = max(4, round(0.012 * w))
    title_px = max(MIN_FONT + 2, round(TITLE_PX * h / REFERENCE_HEIGHT))
    lines = [(title, title_px, True)]
    if subtitle:
        lines.append((subtitle, max(MIN_FONT, round(title_px * SUBTITLE_RATIO)), False))
    actors, y = [], round(PAD * title_px)
    for text, px, bold in reversed(lines):  # from the bottom of the band up
        actor = vtkTextActor()
        actor.SetInput(text)
        prop = actor.GetTextProperty()
        prop.SetColor(ink(plotter))
        prop.SetFontFamilyAsString("File")
        prop.SetFontFile(str(caption_font(bold)))
        while px > MIN_FONT and _text_width(prop, text, px) > w - 2 * margin:
            px -= 1  # shrink to fit the width
        prop.SetFontSize(px)
        actor.SetPosition(margin, y)
        actors.append(actor)
        y += round(1.25 * px)
    return actors, min(y + round(PAD * title_px), h // 2)


@contextmanager
def caption_band(plotter: pv.Plotter, title: str, subtitle: str = ""):
    """While open: a band above the scene with ``title`` (and ``subtitle`` under it).

    Every renderer of the plotter is squeezed into the space below the band, so the
    caption never covers the scene; the band has the scene's background (transparent in
    a transparent screenshot). Text scales with the window's height and shrinks to fit
    its width. Open it once the window has its final size. Yields the band's renderer;
    on exit the band goes and the renderers get their places back.
    """
    from vtkmodules.vtkRenderingCore import vtkRenderer

    actors, band_px = _caption_actors(plotter, title, subtitle)
    share = band_px / int(plotter.window_size[1])
    # every renderer of the window: the subplots and pyvista's overlays (subplot borders)
    window = plotter.render_window.GetRenderers()
    places = [
        (r, r.GetViewport())
        for r in (window.GetItemAsObject(i) for i in range(window.GetNumberOfItems()))
    ]
    band = vtkRenderer()
    band.SetViewport(0.0, 1.0 - share, 1.0, 1.0)
    band.SetBackground(plotter.renderer.GetBackground())
    band.InteractiveOff()
    for actor in actors:
        band.AddActor(actor)
    for r, (x0, y0, x1, y1) in places:
        r.SetViewport(x0, y0 * (1 - share), x1, y1 * (1 - share))
    plotter.render_window.AddRenderer(band)
    try:
        yield band
    finally:
        plotter.render_window.RemoveRenderer(band)
        for r, vp in places:
            r.SetViewport(*vp)


@contextmanager
def _keep_width(plotter: pv.Plotter, aspects: list[float]):
    """While open: each renderer narrower (width / height) than its ``aspects`` entry
    widens its camera to show at least the width it showed (VTK keeps the height)."""
    saved = []
    for r, before in zip(plotter.renderers, aspects, strict=True):
        w, h = r.GetSize()
        f = before / (max(w, 1) / max(h, 1))
        cam = r.GetActiveCamera()
        saved.append((r, cam, cam.GetViewAngle(), cam.GetParallelScale()))
        if f > 1.0:
            half = math.atan(math.tan(math.radians(cam.GetViewAngle()) / 2) * f)
            cam.SetViewAngle(min(MAX_VIEW_ANGLE, math.degrees(2 * half)))
            cam.SetParallelScale(cam.GetParallelScale() * f)
            r.ResetCameraClippingRange()
    try:
        yield
    finally:
        for r, cam, angle, scale in saved:
            cam.SetViewAngle(angle)
            cam.SetParallelScale(scale)
            r.ResetCameraClippingRange()


def colorbars(plotter: pv.Plotter) -> list:
    """The plotter's colour bars (``vtkScalarBarActor``), in every renderer."""
    return [
        prop
        for r in plotter.renderers
        for prop in r.GetViewProps()
        if prop.IsA("vtkScalarBarActor")
    ]


def capture(
    plotter: pv.Plotter,
    size: tuple[int, int] | None = None,
    *,
    caption: tuple[str, str] | None = None,
    transparent: bool = False,
    scales: bool = True,
) -> NDArray[np.uint8]:
    """Render the plotter's scene as it stands (its cameras) at ``size`` and return it.

    The plotter (an off-screen one, or the app's view) is left as it was: its size,
    cameras, colour bars and layout are restored after the picture is taken. A picture
    narrower than the view widens the cameras so nothing the view showed is cut.

    Parameters
    ----------
    size : (int, int), optional
        Width and height, pixels (default: the plotter's).
    caption : (str, str), optional
        Title and subtitle of a band above the scene (:func:`caption_band`).
    transparent : bool
        Background pixels get alpha 0 (an RGBA image).
    scales : bool
        Keep the colour bars (False hides them in the picture).

    Returns
    -------
    NDArray[np.uint8]
        Shape (height, width, 3), or (height, width, 4) when ``transparent``.
    """
    size = tuple(int(v) for v in (size or plotter.window_size))
    aspects = [(w / max(h, 1)) for w, h in (r.GetSize() for r in plotter.renderers)]
    bars = [b for b in colorbars(plotter) if b.GetVisibility()]
    with ExitStack() as stack:
        stack.enter_context(plotter.window_size_context(size))
        if caption is not None:
            stack.enter_context(caption_band(plotter, *caption))
        stack.enter_context(_keep_width(plotter, aspects))
        for b in bars if not scales else ():
            b.SetVisibility(False)
            stack.callback(b.SetVisibility, True)
        plotter.render()
        img = plotter.screenshot(None, transparent_background=transparent, return_img=True)
    plotter.render()
    return np.ascontiguousarray(img)


def write_png(
    path: str | Path, img: NDArray[np.uint8], title: str = "", subtitle: str = ""
) -> Path:
    """Write an RGB or RGBA image (h, w, 3 or 4), uint8, to a PNG file atomically; the
    caption goes into its ``Title`` and ``Description`` texts."""
    from PIL import Image, PngImagePlugin

    from ..core.cache import atomic_write_bytes

    path = Path(path)
    info = PngImagePlugin.PngInfo()
    if title:
        info.add_itxt("Title", title)
    if subtitle:
        info.add_itxt("Description", subtitle)
    info.add_text("Software", "RetVis")
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(img)).save(buf, format="PNG", pnginfo=info)
    atomic_write_bytes(path, buf.getvalue())
    return path
