"""Adsorption simulations and geometric descriptors (no torch, no Qt).

GCMC uptake labels with RASPA3 (``raspalib``), framework charges (EQeq) and Zeo++
descriptors. ``raspalib`` is imported only inside the functions that run a simulation,
so importing :mod:`retvis.sim` is cheap and has no side effects.
"""
