"""The models a session predicts with, without Qt: each loaded once per name, device and
card version, and the jobs the app runs on them in the background (a prediction, a
model's description).

The functions take and return plain data (arrays, lists, dicts), so a worker thread can
run them and the rules can be tested without a display. The Qt window's runners
(:mod:`retvis.gui.workers`) call them.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from ..core.cache import sha256_file
from ..errors import RetvisError

_models: dict[tuple[str, str], tuple[str, Any]] = {}
_models_lock = threading.Lock()


def model_key(ref: str) -> str:
    """``ref@<first 12 hex digits of the card's SHA-256>``: which model, and which version.

    Predictions are stored under this key, so a model updated in place (retrained,
    recalibrated: the card changes even when the weights do not) is noticed.

    Raises
    ------
    RetvisError
        No such model exists, or its card cannot be read.
    """
    from ..ml.weights import CARD_NAME, resolve_model

    folder = resolve_model(ref)
    try:
        return f"{ref}@{sha256_file(folder / CARD_NAME)[:12]}"
    except OSError as exc:
        raise RetvisError(f"cannot read the model card: {exc.strerror or exc}", folder) from None


def _load_keyed(ref: str, device: str) -> tuple[str, Any]:
    with _models_lock:
        key = model_key(ref)
        held = _models.get((ref, device))
        if held is None or held[0] != key:
            from ..ml.weights import load_model

            _models[(ref, device)] = (key, load_model(ref, device=device))
        return _models[(ref, device)]


def load_predictor(ref: str, device: str = "cpu"):
    """Load and return ``retvis.ml.weights.load_model(ref)``, once per name, device and
    card version (a model changed on disk is loaded again).

    Raises
    ------
    RetvisError
        The ml package is missing or the model cannot be loaded.
    """
    return _load_keyed(ref, device)[1]


def available_models() -> list[str]:
    """Names of installed models (shipped, then the user's); [] without the ml package."""
    try:
        from ..ml.weights import available_models as _available
    except ImportError:
        return []
    return list(_available())


def predict_job(
    ref: str, keys: list[str], boltzmann: np.ndarray, density: list[float], device: str = "cpu"
) -> dict:
    """Predict uptakes of stacked grids (N, n, n, n) float32 of frameworks with these
    densities (g/cm³, used by per-volume models); returns keys, mean, std, notes, the
    reasons a prediction is refused ('' where it stands) and the :func:`model_key` that
    made them."""
    key, model = _load_keyed(ref, device)
    x = np.ascontiguousarray(boltzmann, dtype=np.float32)
    mean, std = model.predict(x, density=density)
    mean = np.asarray(mean, dtype=float).ravel()
    std = np.asarray(std, dtype=float).ravel() if std is not None else None
    notes = model.domain_notes(mean, std if std is not None else np.zeros_like(mean))
    refused = model.refusals(mean, density)
    return {
        "keys": keys,
        "mean": mean,
        "std": std,
        "notes": notes,
        "refused": refused,
        "model": key,
    }


def model_info_job(ref: str, device: str = "cpu") -> dict:
    """Load a model; return its :func:`model_key`, card, grid spec and feature-map layers
    (plain data)."""
    key, model = _load_keyed(ref, device)
    spec = getattr(model, "spec", None)
    if spec is not None:  # one clear message, not a failed row per structure
        spec.require_available(f"model '{ref}'")
    layers = getattr(model, "layers", None) or {}
    return {
        "ref": ref,
        "key": key,
        "card": dict(getattr(model, "card", {}) or {}),
        "spec": getattr(model, "spec", None),
        "layers": list(layers),
    }
