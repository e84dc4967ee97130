"""RetVis: screen porous materials with energy grids and a 3D CNN, and look inside."""

__version__ = "0.1.0"
