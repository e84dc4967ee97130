"""The 3D viewer: a pyvistaqt ``QtInteractor`` with modes and pickers.

Modes: structure, energy grid, feature maps (layer + channel) and saliency. The viewer
holds no computation: for feature maps and saliency it emits :attr:`ViewerPanel.inspect`
with what it needs, and the main window answers with :meth:`ViewerPanel.show_field`
once a worker has the arrays. Every VTK object is made here, on the GUI thread.
"""

from __future__ import annotations

import logging
import time

import numpy as np
from numpy.typing import NDArray
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QMenu,
    QSizePolicy,
    QSpinBox,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ...errors import RetvisError, SpecError
from .. import scenes
from ..settings import qsettings
from .grid_controls import GridControls

log = logging.getLogger(__name__)

MODES = ("Structure", "Energy grid", "Feature maps", "Saliency")
#: RetNet layers whose outputs can be shown (docs/method.md section 2), in network order.
DEFAULT_LAYERS = ("conv1", "conv2", "max1", "conv3", "max2", "conv4", "conv5")
#: Pause in resizing (ms) after which the feature gallery is laid out again for the new
#: size (only redrawn when the layout changes).
RELAYOUT_MS = 200
#: Most unit cells drawn along each axis, and most atoms drawn for several cells (a
#: software-OpenGL render of 10^5 splats takes about a second).
MAX_CELLS = 3
MAX_CELL_ATOMS = 100_000
#: The Show menu's text and shortcut for each of :data:`retvis.gui.scenes.STRUCTURE_EXTRAS`.
EXTRA_ACTIONS = {
    "labels": ("Atom labels", "Alt+L"),
    "legend": ("Element legend", "Alt+E"),
    "polyhedra": ("Metal polyhedra", "Alt+P"),
}


def _interactor_class():
    """A ``QtInteractor`` whose renders can be held while a scene is built.

    Scene functions call ``render()`` through pyvista (``add_mesh`` resets the camera on
    the first actor, camera setters render...); each one is a full frame, hundreds of
    ms with software OpenGL. Holding them makes one scene one frame.
    """
    from pyvistaqt import QtInteractor

    class HeldInteractor(QtInteractor):
        hold = False
        #: called with (start, end) perf_counter seconds after each paint of the view
        on_paint = None

        def render(self):
            if self.hold:
                return None
            return super().render()

        def paintGL(self):  # noqa: N802
            t0 = time.perf_counter()
            super().paintGL()
            if self.on_paint is not None:
                self.on_paint(t0, time.perf_counter())

    return HeldInteractor


class ViewerPanel(QWidget):
    """Mode bar + ``QtInteractor``.

    Signals
    -------
    inspect(str what, str layer)
        The current mode needs model output for the shown material: ``what`` is
        "feature_maps" or "saliency".
    rendered(float start, float end)
        A scene was rebuilt and rendered, or the view repainted, on the GUI thread
        (``time.perf_counter`` s).
    """

    inspect = Signal(str, str)
    rendered = Signal(float, float)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        QtInteractor = _interactor_class()  # noqa: N806

        self.mode = QComboBox()
        self.mode.addItems(MODES)
        self.mode.setToolTip("What the 3D view shows")
        self.layer = QComboBox()
        self.layer.addItems(DEFAULT_LAYERS)
        self.layer.setToolTip("Network layer whose feature maps are shown")
        self.channel = QSpinBox()
        self.channel.setToolTip("Channel shown enlarged")
        self.channel.setPrefix("channel ")
        self.channel.setRange(0, 0)
        self.cells = QSpinBox()
        self.cells.setRange(1, MAX_CELLS)
        self.cells.setPrefix("cells ")
        self.cells.setSuffix("³")
        self.cells.setToolTip("Unit cells drawn along each axis")
        self.extras = self._extras_button()
        self.grid_controls = GridControls()  # Energy grid mode: level, slices, pore surface
        self.message = QLabel("Drop CIF files, folders or zip archives on the window.")
        self.message.setWordWrap(True)
        self.message.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        bar = QHBoxLayout()
        bar.addWidget(QLabel("View"))
        bar.addWidget(self.mode)
        bar.addWidget(self.layer)
        bar.addWidget(self.channel)
        bar.addWidget(self.cells)
        bar.addWidget(self.extras)
        bar.addWidget(self.grid_controls)
        bar.addStretch(1)
        # auto_update=False: no render timer; we render when the scene changes (a software
        # OpenGL render of a large structure can take a few hundred ms on the GUI thread).
        self.plotter = QtInteractor(self, auto_update=False)
        self.plotter.set_background("white")
        self.plotter.on_paint = self.rendered.emit
        # right-click an atom: its label and position; two: their distance; three: the
        # angle (retvis.render.measure)
        self.plotter.enable_point_picking(
            callback=self._on_pick,
            use_picker=True,
            show_message=False,
            show_point=False,
            tolerance=0.01,
        )
        self._actors = None  # the structure drawn in Structure mode
        self._grid_layer = None  # the grid drawn in Energy grid mode
        self._picks: list[int] = []
        self._galleries: dict[tuple, object] = {}  # layout -> QtInteractor (feature maps)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.plotter.interactor)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(bar)
        lay.addWidget(self.stack, 1)
        lay.addWidget(self.message)

        self._structure = None
        self._grid = None
        self._charges = None
        self._name = ""
        self._fields: dict[tuple[str, str], NDArray[np.float32]] = {}
        self._model_ok = False
        self._drawn: tuple | None = None  # key of the scene on screen
        self._note = ""
        self.mode.currentIndexChanged.connect(self._on_mode)
        self.layer.currentIndexChanged.connect(self._on_mode)
        self.channel.valueChanged.connect(self.redraw)
        self.cells.valueChanged.connect(self.redraw)
        self.grid_controls.changed.connect(self._on_grid_controls)
        # a resized view may want another gallery layout: redraw (if it does) once the
        # resizing pauses
        self._relayout = QTimer(self, singleShot=True, interval=RELAYOUT_MS)
        self._relayout.timeout.connect(self.redraw)
        self._update_pickers()

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        if self.current_mode() == "Feature maps":
            self._relayout.start()

    # -- inputs (GUI thread) ------------------------------------------------------------
    def set_model_available(self, ok: bool, layers: list[str] | None = None) -> None:
        """Whether a model is loaded (feature maps and saliency need one)."""
        self._model_ok = ok
        if layers:
            current = self.layer.currentText()
            self.layer.blockSignals(True)
            self.layer.clear()
            self.layer.addItems(layers)
            if current in layers:
                self.layer.setCurrentText(current)
            self.layer.blockSignals(False)
        self._fields.clear()
        self._on_mode()

    def show_material(self, name: str, structure=None, grid=None, note: str = "") -> None:
        """Show a material (structure and grid may be None while they load).

        ``note`` says why there is nothing to show (a failure reason, "queued"...).
        """
        if name != self._name:
            self._fields.clear()
        if name != self._name or structure is not self._structure:
            self._charges = None
        self._name, self._structure, self._grid = name, structure, grid
        self._note = note
        self._on_mode()

    def set_charges(self, name: str, structure, charges: NDArray[np.float64] | None) -> None:
        """Partial charges (e, in atom order) of ``structure`` of ``name``, shown with
        picked atoms (the CO2 probe's EQeq charges); ignored for another material."""
        if name == self._name and structure is self._structure:
            self._charges = charges

    def show_field(self, name: str, what: str, layer: str, array: NDArray[np.float32]) -> None:
        """Receive model output for ``name``: feature maps (C, m, m, m) or saliency (n, n, n)."""
        if name != self._name:
            return
        self._fields[(what, layer if what == "feature_maps" else "")] = array
        if what == "feature_maps" and self.layer.currentText() == layer:
            self.channel.blockSignals(True)
            self.channel.setRange(0, max(0, array.shape[0] - 1))
            self.channel.blockSignals(False)
        self.redraw()

    def clear(self) -> None:
        self._name, self._structure, self._grid = "", None, None
        self._fields.clear()
        self.redraw()

    # -- drawing -------------------------------------------------------------------------
    def current_mode(self) -> str:
        return self.mode.currentText()

    def _update_pickers(self) -> None:
        fm = self.current_mode() == "Feature maps"
        self.layer.setVisible(fm)
        self.channel.setVisible(fm)
        self.cells.setVisible(self.current_mode() == "Structure")
        self.extras.setVisible(self.current_mode() == "Structure")
        self.grid_controls.setVisible(self.current_mode() == "Energy grid")

    def _on_mode(self, *_):
        self._update_pickers()
        mode = self.current_mode()
        if mode in ("Feature maps", "Saliency") and self._grid is not None and self._model_ok:
            what = "feature_maps" if mode == "Feature maps" else "saliency"
            layer = self.layer.currentText() if what == "feature_maps" else ""
            if (what, layer) not in self._fields:
                self.inspect.emit(what, layer)
        self.redraw()

    def _scene_key(self) -> tuple:
        mode = self.current_mode()
        key = (self._name, mode, id(self._structure), id(self._grid), self._model_ok, self._note)
        if mode == "Structure":
            key += (self.cells.value(), self.structure_extras())
        if mode == "Feature maps":
            arr = self._fields.get(("feature_maps", self.layer.currentText()))
            key += (self.layer.currentText(), self.channel.value(), id(arr))
            if arr is not None:
                key += (self._gallery_kwargs(arr)["shape"],)
        elif mode == "Saliency":
            key += (id(self._fields.get(("saliency", ""))),)
        return key

    def redraw(self, *_, force: bool = False):
        """Rebuild the scene for the current mode from what is loaded (skipped if unchanged)."""
        if getattr(self.plotter, "_closed", False):
            return
        key = self._scene_key()
        if key == self._drawn and not force:
            return
        self._drawn = key
        t0 = time.perf_counter()
        p = self.plotter
        mode = self.current_mode()
        msg = ""
        self.stack.setCurrentWidget(p.interactor)
        p.hold = True
        p.clear()
        self._actors, self._picks = None, []
        self._grid_layer = None
        try:
            if not self._name:
                msg = "Select a material, or drop CIF files, folders or zip archives on the window."
            elif self._note and self._structure is None:
                msg = f"{self._name}: {self._note}"
            elif mode == "Structure":
                if self._structure is None:
                    msg = f"{self._name}: loading the structure…"
                else:
                    k = self.cells.value()
                    if k > 1 and self._structure.n_atoms * k**3 > MAX_CELL_ATOMS:
                        k = 1
                        note = f" ({self.cells.value()}³ cells would be over {MAX_CELL_ATOMS:,} atoms: one drawn)"
                    else:
                        note = f", {k}³ cells" if k > 1 else ""
                    self._actors, counts = scenes.draw_structure(
                        p, self._structure, k, self.structure_extras()
                    )
                    msg = (
                        f"{self._name}: {self._structure.formula}, {self._structure.n_atoms} "
                        f"atoms{note}{_extras_note(counts)}. Right-click atoms to measure."
                    )
            elif self._grid is None or self._structure is None:
                msg = f"{self._name}: no energy grid yet"
            elif mode == "Energy grid":
                msg = self._draw_grid()
            elif not self._model_ok:
                msg = f"{mode} need a model: none is loaded (see Model in the toolbar)."
            else:
                what = "feature_maps" if mode == "Feature maps" else "saliency"
                layer = self.layer.currentText() if what == "feature_maps" else ""
                arr = self._fields.get((what, layer))
                if arr is None:
                    msg = f"{self._name}: computing {mode.lower()}…"
                elif what == "saliency":
                    scenes.draw_saliency(p, self._grid, self._structure, arr)
                    msg = f"{self._name}: saliency |∂ŷ/∂x| over the energy grid"
                else:
                    c = min(self.channel.value(), arr.shape[0] - 1)
                    g = self._gallery(arr)
                    g.hold = True
                    try:
                        g.clear()
                        scenes.draw_features(g, arr, self._grid, layer, c, self._structure)
                    finally:
                        g.hold = False
                    self.stack.setCurrentWidget(g.interactor)
                    g.render()
                    msg = (
                        f"{self._name}: {layer}, {arr.shape[0]} channels of "
                        f"{'×'.join(map(str, arr.shape[1:]))}; channel {c} enlarged"
                    )
        except RetvisError as exc:
            msg = f"{self._name}: cannot draw this view: {exc.reason}"
            log.warning("%s", msg)
        finally:
            p.hold = False
        self.message.setText(msg)
        p.render()
        self.rendered.emit(t0, time.perf_counter())

    def _draw_grid(self) -> str:
        """Draw the energy grid with the controls' level, slices and pore surface (kept
        while the same grid is shown, else the defaults); returns the message line."""
        gc, key = self.grid_controls, id(self._grid)
        self._grid_layer = scenes.draw_grid(
            self.plotter, self._grid, self._structure, gc.state_for(key)
        )
        gc.show_layer(self._grid_layer, key)
        sc = "×".join(str(k) for k in self._grid.supercell)
        return (
            f"{self._name}: probe energy from the Boltzmann factors, "
            f"{self._grid.spec.n}³ points over a {sc} supercell"
        )

    def _on_grid_controls(self) -> None:
        """The grid controls changed: move the isosurface, slices or pore surface of the
        grid on screen (nothing else is redrawn)."""
        layer = self._grid_layer
        if layer is None or self.current_mode() != "Energy grid":
            return
        t0 = time.perf_counter()
        self.plotter.hold = True  # one frame for the change (see _interactor_class)
        try:
            changed = scenes.update_grid(layer, self.grid_controls.state())
        except RetvisError as exc:
            self.message.setText(f"{self._name}: cannot draw this view: {exc.reason}")
            return
        finally:
            self.plotter.hold = False
        if changed:
            self.plotter.render()
            self.rendered.emit(t0, time.perf_counter())

    def _on_pick(self, point, _picker=None) -> None:
        """A right-click in Structure mode: the nearest drawn atom joins the picks and the
        message line says what they measure."""
        from ...render.measure import MAX_PICKS, describe_picks, nearest_atom

        if self._actors is None or self.current_mode() != "Structure":
            return
        k = nearest_atom(self._actors.positions, point)
        if k is None:
            return
        self._picks = (self._picks + [k])[-MAX_PICKS:]
        a = self._actors
        text = describe_picks(self._structure, a.positions, a.atom, self._picks, self._charges)
        self.message.setText(f"{self._name}: {text}")

    def _extras_button(self) -> QToolButton:
        """ "Show ▾": atom labels, element legend and polyhedra over the structure
        (remembered between sessions)."""
        button = QToolButton()
        button.setText("Show")
        button.setToolTip("Draw atom labels, an element legend or metal polyhedra")
        button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(button)
        shown = set(str(qsettings().value("view/structure_extras", "legend")).split(","))
        self._extra_actions = {}
        for key in scenes.STRUCTURE_EXTRAS:
            text, shortcut = EXTRA_ACTIONS[key]
            act = menu.addAction(text)
            act.setCheckable(True)
            act.setChecked(key in shown)
            act.setShortcut(shortcut)
            act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            act.toggled.connect(self._on_extras)
            self.addAction(act)
            self._extra_actions[key] = act
        button.setMenu(menu)
        return button

    def structure_extras(self) -> tuple[str, ...]:
        """What is drawn over the structure, in :data:`~retvis.gui.scenes.STRUCTURE_EXTRAS`."""
        return tuple(k for k, a in self._extra_actions.items() if a.isChecked())

    def set_structure_extras(self, extras) -> None:
        """Draw exactly these of :data:`~retvis.gui.scenes.STRUCTURE_EXTRAS` over the
        structure."""
        for key, act in self._extra_actions.items():
            act.setChecked(key in extras)

    def _on_extras(self, *_) -> None:
        qsettings().setValue("view/structure_extras", ",".join(self.structure_extras()))
        self.redraw()

    def _gallery_kwargs(self, maps: NDArray[np.float32]) -> dict:
        """The gallery layout whose cells are closest to square in the view's size."""
        size = self.stack.size()
        return scenes.gallery_kwargs(maps, max(size.width(), 1) / max(size.height(), 1))

    def _gallery(self, maps: NDArray[np.float32]):
        """The interactor laid out for this gallery (made once per layout)."""
        QtInteractor = _interactor_class()  # noqa: N806

        kw = self._gallery_kwargs(maps)
        key = (tuple(kw["shape"]), repr(kw.get("groups")))
        g = self._galleries.get(key)
        if g is None:
            g = QtInteractor(self, auto_update=False, **kw)
            g.set_background("white")
            g.on_paint = self.rendered.emit
            self._galleries[key] = g
            self.stack.addWidget(g.interactor)
        return g

    def active_plotter(self):
        """The interactor on screen (the main one, or a feature gallery)."""
        w = self.stack.currentWidget()
        for g in [self.plotter, *self._galleries.values()]:
            if g.interactor is w:
                return g
        return self.plotter

    def screenshot(self) -> NDArray[np.uint8]:
        """The rendered view as an (h, w, 3) uint8 RGB array."""
        p = self.active_plotter()
        p.render()
        return np.asarray(p.screenshot(return_img=True))[..., :3]

    def has_scene(self) -> bool:
        """The view shows a scene (not only a message)."""
        p = self.active_plotter()
        return any(r.GetViewProps().GetNumberOfItems() for r in p.renderers)

    def scene_caption(self, model=None, target: dict | None = None) -> tuple[str, str]:
        """(title, subtitle) of a picture of the view: the material's name and what is
        shown (:func:`~retvis.render.picture.scene_caption`); ``model`` (name or folder)
        and its ``target`` are said under feature maps and saliency."""
        from ...render.picture import scene_caption

        show = {"Structure": "structure", "Energy grid": "grid", "Feature maps": "features"}
        return scene_caption(
            show.get(self.current_mode(), "saliency"),
            self._name,
            formula=self._structure.formula if self._structure is not None else "",
            spec=self._grid.spec if self._grid is not None else None,
            model=model,
            target=target,
            layer=self.layer.currentText(),
        )

    def picture(self, size: tuple[int, int], **kwargs) -> NDArray[np.uint8]:
        """The scene on screen drawn at ``size`` (width, height) px from its camera, the
        view left as it was; ``kwargs`` go to :func:`~retvis.render.picture.capture`
        (``caption``, ``transparent``, ``scales``).

        Raises
        ------
        SpecError
            The view shows no scene, or the size is out of bounds.
        """
        from ...render.picture import capture, check_size

        size = check_size(*size)
        if not self.has_scene():
            raise SpecError("the 3D view shows no scene to export")
        return capture(self.active_plotter(), size, **kwargs)

    def close_viewer(self) -> None:
        """Release the VTK render windows (call when the main window closes)."""
        for g in self._galleries.values():
            g.close()
        self.plotter.close()


def _extras_note(counts: dict) -> str:
    """ ", 12 polyhedra, 300 labels" for the message line (what the extras drew)."""
    parts = []
    if "polyhedra" in counts:
        parts.append(f"{counts['polyhedra']} metal polyhedra")
    if "labels" in counts:
        parts.append(
            f"{counts['labels']} labels" if counts["labels"] else "too many atoms to label"
        )
    return "".join(f", {p}" for p in parts)


def opengl_renderer() -> str:
    """The OpenGL renderer string of the default context ('' if none can be made)."""
    from PySide6.QtGui import QOffscreenSurface, QOpenGLContext

    ctx = QOpenGLContext()
    if not ctx.create():
        return ""
    surface = QOffscreenSurface()
    surface.create()
    try:
        if not ctx.makeCurrent(surface):
            return ""
        return str(ctx.functions().glGetString(0x1F01) or "")  # GL_RENDERER
    finally:
        ctx.doneCurrent()
        surface.destroy()


def software_opengl() -> bool:
    """True when OpenGL is a CPU rasteriser (llvmpipe, softpipe, swrast)."""
    r = opengl_renderer().lower()
    return any(k in r for k in ("llvmpipe", "softpipe", "swrast", "software"))
