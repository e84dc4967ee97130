"""Adsorption simulations and geometric descriptors (no torch, no Qt)."""
