"""Core: structures, force field, energy grids, cache. NumPy + gemmi/pymatgen + numba only."""
