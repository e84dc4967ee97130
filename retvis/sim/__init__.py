"""Adsorption simulations: GCMC uptake labels with RASPA3 (``raspalib``) and charges.

No torch and no Qt here. ``raspalib`` is imported only inside the functions that run a
simulation, so importing :mod:`retvis.sim` is cheap and has no side effects.
"""
