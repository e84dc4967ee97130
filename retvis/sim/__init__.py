"""Adsorption simulations (RASPA3 via raspalib), charges and Zeo++ descriptors (no torch, no Qt)."""
