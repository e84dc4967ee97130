"""PyVista scenes of structures, energy grids, feature maps and saliency (no Qt).

Every function draws into a plotter it is given, so the GUI (a ``QtInteractor``),
off-screen screenshots (the CLI) and tests share one scene builder. Inputs are NumPy
arrays (feature maps and saliency included), never torch modules.
"""

from .features import FeatureGallery, GalleryLayout, add_feature_gallery, gallery_layout
from .fingerprint import fingerprint_figure
from .geometry import GridFrame
from .grid import GridLayer, add_energy_grid
from .saliency import SaliencyLayer, add_saliency
from .scene import (
    features_plotter,
    new_plotter,
    save_screenshot,
    show_features,
    show_grid,
    show_saliency,
    show_structure,
)
from .structure import StructureActors, add_structure

__all__ = [
    "FeatureGallery",
    "GalleryLayout",
    "GridFrame",
    "GridLayer",
    "SaliencyLayer",
    "StructureActors",
    "add_energy_grid",
    "add_feature_gallery",
    "add_saliency",
    "add_structure",
    "features_plotter",
    "fingerprint_figure",
    "gallery_layout",
    "new_plotter",
    "save_screenshot",
    "show_features",
    "show_grid",
    "show_saliency",
    "show_structure",
]
