"""Machine learning: RetNet, datasets, training, baselines, metrics and model files.

torch + scikit-learn; no Qt, no pyvista. Importing this package loads nothing heavy:
``from retvis.ml import load_model`` imports torch on first use.

The API the GUI and the render helpers use is :func:`load_model` and
:class:`~retvis.ml.weights.Predictor` (``predict``, ``fingerprint``, ``feature_maps``,
``saliency``, ``card``, ``spec``, ``layers``).
"""

from __future__ import annotations

__all__ = ["load_model", "available_models", "Predictor", "MAP_LAYERS"]


def __getattr__(name: str):
    if name in ("load_model", "available_models", "Predictor"):
        from . import weights

        return getattr(weights, name)
    if name == "MAP_LAYERS":
        from .retnet import MAP_LAYERS

        return MAP_LAYERS
    raise AttributeError(f"module 'retvis.ml' has no attribute {name!r}")
