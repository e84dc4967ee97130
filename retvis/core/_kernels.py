"""Compiled inner loops of the energy-grid engine (numba, GIL released)."""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(nogil=True, cache=True, fastmath={"reassoc", "contract", "nsz", "arcp"})
def lj_binned(
    points,  # (M, 3) float64, Cartesian, sorted by point bin, Å
    pstart,  # (B + 1,) int64, offsets of each occupied point bin in ``points``
    pbin,  # (B, 3) int64, integer coordinates of each occupied point bin
    atoms,  # (K, 3) float64, image atoms sorted by bin, Å
    eps4,  # (K,) float64, 4 * eps_ij, K
    sig2,  # (K,) float64, sig_ij^2, Å^2
    bin_start,  # (nx*ny*nz + 1,) int64
    shape,  # (3,) int64
    origin,  # (3,) float64, Å
    bin_size,  # float, Å
    cutoff2,  # float, Å^2
    overlap2,  # float, Å^2
    first,  # int, first point bin to process
    last,  # int, one past the last point bin to process
    out,  # (M,) float64, K (inf at overlaps)
):
    """Two-level cell list: gather the atoms near each point bin once, then sweep its points.

    A point bin (a cube of side ``bin_size``) gathers every atom within
    ``cutoff + half diagonal`` of its centre into a contiguous buffer; each of its
    points then runs a branch-light loop over that buffer, which the compiler
    vectorises. The per-pair test ``r^2 <= cutoff^2`` keeps the result exact.
    """
    nx, ny, nz = shape[0], shape[1], shape[2]
    half = 0.5 * bin_size
    rgather = np.sqrt(cutoff2) + half * np.sqrt(3.0)
    rg2 = rgather * rgather
    reach = int(np.ceil(rgather / bin_size))
    n_atoms = atoms.shape[0]
    cx_ = np.empty(n_atoms)
    cy_ = np.empty(n_atoms)
    cz_ = np.empty(n_atoms)
    ce_ = np.empty(n_atoms)
    cs_ = np.empty(n_atoms)
    for q in range(first, last):
        ix, iy, iz = pbin[q, 0], pbin[q, 1], pbin[q, 2]
        cx = origin[0] + (ix + 0.5) * bin_size
        cy = origin[1] + (iy + 0.5) * bin_size
        cz = origin[2] + (iz + 0.5) * bin_size
        m = 0
        z0 = max(iz - reach, 0)
        z1 = min(iz + reach + 1, nz)
        if z0 < z1:
            for bx in range(max(ix - reach, 0), min(ix + reach + 1, nx)):
                for by in range(max(iy - reach, 0), min(iy + reach + 1, ny)):
                    base = (bx * ny + by) * nz
                    for k in range(bin_start[base + z0], bin_start[base + z1]):
                        dx = atoms[k, 0] - cx
                        dy = atoms[k, 1] - cy
                        dz = atoms[k, 2] - cz
                        if dx * dx + dy * dy + dz * dz <= rg2:
                            cx_[m] = atoms[k, 0]
                            cy_[m] = atoms[k, 1]
                            cz_[m] = atoms[k, 2]
                            ce_[m] = eps4[k]
                            cs_[m] = sig2[k]
                            m += 1
        for p in range(pstart[q], pstart[q + 1]):
            px, py, pz = points[p, 0], points[p, 1], points[p, 2]
            e = 0.0
            n_close = 0
            for k in range(m):
                dx = cx_[k] - px
                dy = cy_[k] - py
                dz = cz_[k] - pz
                r2 = dx * dx + dy * dy + dz * dz
                n_close += r2 <= overlap2
                s6 = cs_[k] / max(r2, overlap2)
                s6 = s6 * s6 * s6
                e += ce_[k] * (s6 * s6 - s6) if r2 <= cutoff2 else 0.0
            out[p] = np.inf if n_close > 0 else e
    return out
