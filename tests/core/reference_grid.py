"""A plain, obviously-correct energy grid: every point, every atom, every image.

Used only by tests. Follows docs/method.md section 1 literally: grid points at the
fractional coordinates of the supercell, Lennard-Jones sum over all periodic images
within the cutoff, Lorentz-Berthelot mixing, exp(-V/T), 0 for a point within 1e-3 Å of
an atom, float64 throughout.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from retvis.core.forcefield import load_forcefield
from retvis.core.grid import GridSpec
from retvis.core.structure import Structure, supercell_factors


def reference_boltzmann(s: Structure, spec: GridSpec) -> np.ndarray:
    ff = load_forcefield(spec.forcefield)
    n = spec.n
    if spec.mode == "supercell":
        sc = np.array(supercell_factors(s, spec.cutoff), dtype=float)
        t = np.linspace(0, 1, n) if spec.endpoint else np.arange(n) / n
        f = np.stack(np.meshgrid(t, t, t, indexing="ij"), -1).reshape(-1, 3)
        pts = (f * sc) @ s.lattice  # supercell fraction -> unit-cell fraction -> Cartesian
    else:
        L = spec.box_length
        t = (np.linspace(0, 1, n) if spec.endpoint else np.arange(n) / n) * L - L / 2
        pts = np.stack(np.meshgrid(t, t, t, indexing="ij"), -1).reshape(-1, 3)
    # every image that can be within the cutoff of any point (points span the box)
    span = np.abs(pts @ np.linalg.inv(s.lattice)).max(axis=0)
    reach = [int(math.ceil(spec.cutoff / w + span[i])) + 1 for i, w in enumerate(s.widths)]
    shifts = np.array(list(itertools.product(*(range(-r, r + 1) for r in reach))), float)
    energy = np.zeros(len(pts))
    close = np.zeros(len(pts), bool)
    for j, el in enumerate(s.species):
        eps = math.sqrt(ff.epsilon[el] * spec.probe_epsilon)
        sig = 0.5 * (ff.sigma[el] + spec.probe_sigma)
        images = (s.frac[j] + shifts) @ s.lattice  # (S, 3)
        for chunk in np.array_split(np.arange(len(pts)), max(1, len(pts) // 2000)):
            r = np.linalg.norm(pts[chunk, None, :] - images[None, :, :], axis=-1)
            close[chunk] |= (r <= spec.overlap_distance).any(axis=1)
            within = (r <= spec.cutoff) & (r > spec.overlap_distance)
            x = np.where(within, sig / np.where(within, r, 1.0), 0.0)
            energy[chunk] += (4 * eps * (x**12 - x**6)).sum(axis=1)
    b = np.exp(-energy / spec.temperature)
    b[close] = 0.0
    return b.reshape(n, n, n)
