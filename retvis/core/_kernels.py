"""Compiled inner loops of the energy-grid engine (numba, GIL released)."""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(nogil=True, cache=True, error_model="numpy",
            fastmath={"reassoc", "contract", "nsz", "arcp"})
def pair_binned(
    points,  # (M, 3) float64, Cartesian, sorted by point bin, Å
    pstart,  # (B + 1,) int64, offsets of each occupied point bin in ``points``
    pbin,  # (B, 3) int64, integer coordinates of each occupied point bin
    atoms,  # (K, 3) float64, image atoms sorted by bin, Å
    eps4,  # (K,) float64, 4 * eps_ij, K (kind 1: the atom's charge, e)
    sig2,  # (K,) float64, sig_ij^2, Å^2 (kind 1: unused)
    bin_start,  # (nx*ny*nz + 1,) int64
    shape,  # (3,) int64
    origin,  # (3,) float64, Å
    bin_size,  # float, Å
    cutoff2,  # float, Å^2
    overlap2,  # float, Å^2
    kind,  # int, 0: Lennard-Jones energy; 1: real-space Ewald potential
    alpha,  # float, Ewald splitting, 1/Å (kind 1)
    first,  # int, first point bin to process
    last,  # int, one past the last point bin to process
    out,  # (M,) float64, K (inf at overlaps); kind 1: e/Å
):
    """Two-level cell list: gather the atoms near each point bin once, then sweep its points.

    A point bin (a cube of side ``bin_size``) gathers every atom within
    ``cutoff + half diagonal`` of its centre into a contiguous buffer; each of its
    points then runs a branch-light loop over that buffer, which the compiler
    vectorises. The per-pair test ``r^2 <= cutoff^2`` keeps the result exact.

    ``kind`` 0 sums ``4 eps [(sig/r)^12 - (sig/r)^6]`` (``inf`` within the overlap
    distance of an atom); ``kind`` 1 sums ``q erfc(alpha r) / r``, the real-space part
    of the Ewald potential (pairs within the overlap distance left out).
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
            if kind == 0:
                for k in range(m):
                    dx = cx_[k] - px
                    dy = cy_[k] - py
                    dz = cz_[k] - pz
                    r2 = dx * dx + dy * dy + dz * dz
                    n_close += r2 <= overlap2
                    s6 = cs_[k] / max(r2, overlap2)
                    s6 = s6 * s6 * s6
                    e += ce_[k] * (s6 * s6 - s6) if r2 <= cutoff2 else 0.0
            else:
                for k in range(m):
                    dx = cx_[k] - px
                    dy = cy_[k] - py
                    dz = cz_[k] - pz
                    r2 = dx * dx + dy * dy + dz * dz
                    r = np.sqrt(max(r2, overlap2))
                    # erfc by Abramowitz & Stegun 7.1.26 (absolute error < 1.5e-7):
                    # branch-free, so the loop vectorises like the Lennard-Jones one
                    x = alpha * r
                    t = 1.0 / (1.0 + 0.3275911 * x)
                    poly = t * (0.254829592 + t * (-0.284496736 + t * (
                        1.421413741 + t * (-1.453152027 + t * 1.061405429))))
                    keep = (r2 > overlap2) & (r2 <= cutoff2)
                    e += ce_[k] * poly * np.exp(-x * x) / r if keep else 0.0
            out[p] = np.inf if n_close > 0 else e
    return out


@numba.njit(nogil=True, cache=True, error_model="numpy",
            fastmath={"reassoc", "contract", "nsz", "arcp"})
def lj_scatter(
    frac,  # (N, 3) float64, fractional coordinates of the unit cell's atoms in [0, 1)
    eps4,  # (N,) float64, 4 * eps_ij, K
    sig2,  # (N,) float64, sig_ij^2, Å^2
    lattice,  # (3, 3) float64, rows a, b, c, Å
    widths,  # (3,) float64, perpendicular cell widths, Å
    cutoff2,  # float, Å^2
    overlap2,  # float, Å^2
    first,  # int, first atom
    last,  # int, one past the last atom
    energy,  # (ma, mb, mc) float64, accumulated in place, K
    close,  # (ma, mb, mc) uint8, set to 1 where a point is within the overlap distance
):
    """Scatter each atom's Lennard-Jones sphere onto a regular grid of the unit cell.

    Grid point (i, j, k) sits at fractions (i/ma, j/mb, k/mc). For an atom, the points
    within the cutoff have index offsets bounded by ``cutoff / w * m`` along a and b;
    for each (i, j) the k range is the root interval of a quadratic. Unwrapped indices
    are reduced modulo m, which is exactly the sum over periodic images. Every pair is
    checked against ``r^2 <= cutoff^2`` so the result is exact.
    """
    ma, mb, mc = energy.shape
    rc = np.sqrt(cutoff2)
    da0, da1, da2 = lattice[0, 0] / ma, lattice[0, 1] / ma, lattice[0, 2] / ma
    db0, db1, db2 = lattice[1, 0] / mb, lattice[1, 1] / mb, lattice[1, 2] / mb
    dc0, dc1, dc2 = lattice[2, 0] / mc, lattice[2, 1] / mc, lattice[2, 2] / mc
    dcc = dc0 * dc0 + dc1 * dc1 + dc2 * dc2
    ra = rc / widths[0] * ma
    rb = rc / widths[1] * mb
    for t in range(first, last):
        fa, fb, fc = frac[t, 0], frac[t, 1], frac[t, 2]
        x0 = fa * lattice[0, 0] + fb * lattice[1, 0] + fc * lattice[2, 0]
        x1 = fa * lattice[0, 1] + fb * lattice[1, 1] + fc * lattice[2, 1]
        x2 = fa * lattice[0, 2] + fb * lattice[1, 2] + fc * lattice[2, 2]
        ga, gb = fa * ma, fb * mb
        e4, s2 = eps4[t], sig2[t]
        for i in range(int(np.ceil(ga - ra)) - 1, int(np.floor(ga + ra)) + 2):
            ii = i % ma
            for j in range(int(np.ceil(gb - rb)) - 1, int(np.floor(gb + rb)) + 2):
                jj = j % mb
                u0 = i * da0 + j * db0 - x0
                u1 = i * da1 + j * db1 - x1
                u2 = i * da2 + j * db2 - x2
                b = u0 * dc0 + u1 * dc1 + u2 * dc2
                c = u0 * u0 + u1 * u1 + u2 * u2 - cutoff2
                disc = b * b - dcc * c
                if disc < 0.0:
                    continue
                sq = np.sqrt(disc)
                k0 = int(np.floor((-b - sq) / dcc)) - 1
                k1 = int(np.ceil((-b + sq) / dcc)) + 1
                k = k0
                while k <= k1:
                    kk = k % mc
                    # contiguous run of k without wrapping
                    run = min(k1 - k + 1, mc - kk)
                    for q in range(run):
                        kq = k + q
                        v0 = u0 + kq * dc0
                        v1 = u1 + kq * dc1
                        v2 = u2 + kq * dc2
                        r2 = v0 * v0 + v1 * v1 + v2 * v2
                        if r2 <= cutoff2:
                            if r2 <= overlap2:
                                close[ii, jj, kk + q] = 1
                            else:
                                s6 = s2 / r2
                                s6 = s6 * s6 * s6
                                energy[ii, jj, kk + q] += e4 * (s6 * s6 - s6)
                    k += run
    return energy
