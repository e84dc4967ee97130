"""Model picker for the toolbar, and the model card dialog."""

from __future__ import annotations

import html
import json
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

NO_MODEL = "(no model)"
BROWSE = "Other model folder…"


class ModelPicker(QWidget):
    """A combo box of installed models plus "browse", and a "Card" button.

    Signals
    -------
    chosen(str ref)
        The user picked a model name or folder ('' for no model).
    card_requested()
        The user asked for the current model's card.
    """

    chosen = Signal(str)
    card_requested = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.combo = QComboBox()
        self.combo.setMinimumContentsLength(18)
        self.combo.setToolTip("Model used for predictions, feature maps and saliency")
        self.card_button = QPushButton("Model card…")
        self.card_button.setEnabled(False)
        self.card_button.clicked.connect(self.card_requested)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(QLabel("Model"))
        lay.addWidget(self.combo)
        lay.addWidget(self.card_button)
        self._current = ""
        self.combo.activated.connect(self._on_activated)

    def set_models(self, names: list[str], current: str | None) -> None:
        """Fill the list; ``current`` (a name or a folder) is selected and added if missing."""
        self.combo.blockSignals(True)
        self.combo.clear()
        self.combo.addItem(NO_MODEL, "")
        for n in names:
            self.combo.addItem(n, n)
        if current and current not in names:
            self.combo.addItem(Path(current).name, current)
        self.combo.addItem(BROWSE, None)
        self._select(current or "")
        self.combo.blockSignals(False)

    def _select(self, ref: str) -> None:
        for i in range(self.combo.count()):
            if self.combo.itemData(i) == ref:
                self.combo.setCurrentIndex(i)
                self._current = ref
                return

    def set_loaded(self, ok: bool, tooltip: str = "") -> None:
        self.card_button.setEnabled(ok)
        self.combo.setToolTip(tooltip or "Model used for predictions, feature maps and saliency")

    def _on_activated(self, index: int) -> None:
        ref = self.combo.itemData(index)
        if ref is None:  # browse
            d = QFileDialog.getExistingDirectory(self, "Model folder (holding model.json)")
            if not d:
                self._select(self._current)
                return
            ref = d
            self.combo.insertItem(self.combo.count() - 1, Path(d).name, d)
        self._select(ref)
        self.chosen.emit(ref)


def _r2(m: dict) -> str:
    """R² of a bootstrap metrics dict with its interval, e.g. ``0.959 [0.95, 0.97]``."""
    r = (m or {}).get("r2") or {}
    if not isinstance(r.get("value"), (int, float)):
        return "?"
    low, high = r.get("low"), r.get("high")
    band = f" [{low:.2f}, {high:.2f}]" if isinstance(low, (int, float)) else ""
    return f"{r['value']:.3f}{band}"


def card_html(card: dict) -> str:
    """A model card as HTML: the main facts first, then everything as JSON."""
    target = card.get("target") or {}
    rows = [
        *_target_rows(card, target),
        *_metric_rows(card),
        *_evaluation_rows(card, target),
        *_training_rows(card, target),
        *_fact_rows(card),
    ]
    table = "".join(
        f"<tr><th align='left' valign='top'>{html.escape(k)}</th>"
        f"<td>{html.escape(str(v))}</td></tr>"
        for k, v in rows
    )
    full = html.escape(json.dumps(card, indent=1, default=str))
    return f"<table cellspacing='6'>{table}</table><hr><pre>{full}</pre>"


def _target_rows(card: dict, target: dict) -> list[tuple[str, str]]:
    """What the model predicts, whether per volume, and its calibration."""
    rows = []
    if target:
        rows.append(("Predicts", f"{target.get('name', '?')} ({target.get('units', '?')})"))
    if target.get("per_volume"):
        rows.append(
            (
                "Learned",
                "per volume (target x framework density, what the grid shows); each "
                "prediction is divided by its structure's density",
            )
        )
    cal = card.get("calibration") or {}
    if isinstance(cal.get("b"), (int, float)):
        rows.append(
            (
                "Calibrated",
                f"y = {cal.get('a', 0):+.3g} + {cal['b']:.3g} x the networks' prediction, "
                f"fitted on {cal.get('n', '?')} validation structures",
            )
        )
    return rows


def _metric_rows(card: dict) -> list[tuple[str, str]]:
    """Validation and test R², MAE, RMSE as training recorded them."""
    rows = []
    metrics = card.get("metrics") or {}
    for split in ("val", "test"):
        m = metrics.get(split) if isinstance(metrics, dict) else None
        if isinstance(m, dict):
            parts = [
                f"{'R²' if k == 'r2' else k.upper()} {m[k]:.3g}"
                for k in ("r2", "mae", "rmse")
                if isinstance(m.get(k), (int, float))
            ]
            rows.append((f"{'Validation' if split == 'val' else 'Test'} set", ", ".join(parts)))
    return rows


def _evaluation_rows(card: dict, target: dict) -> list[tuple[str, str]]:
    """The test set against the Random Forest baseline, external test sets, the
    learning curve."""
    rows = []
    ev = card.get("evaluation_test") or {}
    if isinstance(ev, dict) and ev.get("retnet"):
        text = f"R² {_r2(ev['retnet'])} (95 % interval, n = {ev['retnet'].get('n', '?')})"
        rf = ev.get("random_forest_same_split") or {}
        if rf.get("metrics"):
            text += f"; Random Forest on the same split: R² {_r2(rf['metrics'])}"
        rows.append(("Test, with baseline", text))
    external = card.get("evaluations_external") or {}
    for key, e in external.items() if isinstance(external, dict) else ():
        m = e.get("metrics") or {}
        mae = (m.get("mae") or {}).get("value")
        rho = (m.get("spearman") or {}).get("value")
        text = f"R² {_r2(m)} (95 % interval)"
        if isinstance(mae, (int, float)):
            text += f", MAE {mae:.3g} {target.get('units', '')}"
        if isinstance(rho, (int, float)):
            text += f", Spearman {rho:.2f}"
        text += f"; n = {e.get('n', '?')} labelled materials it never trained on"
        rows.append((f"Tested on {key}", text))
    lc = card.get("learning_curve") or {}
    if isinstance(lc, dict) and lc.get("r2"):
        pts = ", ".join(
            f"{size}: {v.get('retnet', float('nan')):.2f} vs {v.get('rf', float('nan')):.2f}"
            for size, v in lc["r2"].items()
        )
        rows.append(("Learning curve (R², RetNet vs RF)", pts))
    return rows


def _training_rows(card: dict, target: dict) -> list[tuple[str, str]]:
    """The split's sizes and the training labels' range."""
    rows = []
    ts = card.get("training_set") or {}
    if ts:
        rows.append(
            (
                "Training data",
                f"{ts.get('n_train', '?')} train / {ts.get('n_val', '?')} "
                f"validation / {ts.get('n_test', '?')} test materials",
            )
        )
    q = ts.get("label_quantiles")
    if q:
        u = target.get("units", "")
        rows.append(
            (
                "Training labels",
                f"{q['min']:.3g} to {q['max']:.3g} {u}, median {q['p50']:.3g}; 95 % below "
                f"{q['p95']:.3g} (predictions above it carry a note: likely underestimates)",
            )
        )
    return rows


def _fact_rows(card: dict) -> list[tuple[str, str]]:
    """Name, date, description, grid settings, folder, ensemble size."""
    rows = []
    for key, label in (
        ("name", "Name"),
        ("created", "Created"),
        ("description", "About"),
        ("gridspec", "Grid settings"),
        ("path", "Folder"),
    ):
        if key in card:
            v = card[key]
            if key == "gridspec" and isinstance(v, dict):
                v = _grid_words(v)
            rows.append((label, v if isinstance(v, str) else json.dumps(v, default=str)))
    members = card.get("members") or []
    if members:
        rows.append(("Ensemble", f"{len(members)} network(s)"))
    return rows


def _grid_words(d: dict) -> str:
    """A card's grid settings in words (:meth:`GridSpec.describe`); as they are written
    when they are not valid settings."""
    from ...core.grid import GridSpec
    from ...errors import RetvisError

    try:
        return GridSpec.from_dict(d).describe()
    except (RetvisError, TypeError, ValueError):
        return json.dumps(d, default=str)


class ModelCardDialog(QDialog):
    """Shows a model's card (``model.json`` contents)."""

    def __init__(self, card: dict, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Model card — {card.get('name') or Path(card.get('path', '')).name}")
        self.resize(640, 560)
        self.text = QTextBrowser()
        self.text.setHtml(card_html(card))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(self.text)
        lay.addWidget(buttons)
