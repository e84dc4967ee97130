"""Compiled inner loops of the energy-grid engine (numba, GIL released)."""

from __future__ import annotations

import math

import numba
import numpy as np

#: numba fast-math flags of the kernels and their inlined helpers.
_FAST = {"reassoc", "contract", "nsz", "arcp"}


@numba.njit(
    nogil=True, cache=True, error_model="numpy", fastmath={"reassoc", "contract", "nsz", "arcp"}
)
def pair_binned(
    points,  # (M, 3) float64, Cartesian, sorted by point bin, Å
    pstart,  # (B + 1,) int64, offsets of each occupied point bin in ``points``
    pbin,  # (B, 3) int64, integer coordinates of each occupied point bin
    atoms,  # (K, 3) float64, image atoms sorted by bin, Å
    which,  # (K,) int64, the unit-cell atom of each image
    eps4,  # (N,) float64, per unit-cell atom: 4 * eps_ij, K (kind 1: its charge, e)
    sig2,  # (N,) float64, per unit-cell atom: sig_ij^2, Å^2 (kind 1: unused)
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
    half = 0.5 * bin_size
    rgather = np.sqrt(cutoff2) + half * np.sqrt(3.0)
    n_atoms = atoms.shape[0]
    cx_ = np.empty(n_atoms)
    cy_ = np.empty(n_atoms)
    cz_ = np.empty(n_atoms)
    ci_ = np.empty(n_atoms, dtype=np.int64)
    ce_ = np.empty(n_atoms)
    cs_ = np.empty(n_atoms)
    for q in range(first, last):
        cx = origin[0] + (pbin[q, 0] + 0.5) * bin_size
        cy = origin[1] + (pbin[q, 1] + 0.5) * bin_size
        cz = origin[2] + (pbin[q, 2] + 0.5) * bin_size
        m = _gather(
            atoms,
            bin_start,
            shape,
            origin,
            bin_size,
            cx,
            cy,
            cz,
            rgather,
            which,
            cx_,
            cy_,
            cz_,
            ci_,
        )
        for k in range(m):
            ce_[k] = eps4[ci_[k]]
            cs_[k] = sig2[ci_[k]]
        for p in range(pstart[q], pstart[q + 1]):
            px, py, pz = points[p, 0], points[p, 1], points[p, 2]
            if kind == 0:
                e, n_close = _lj_sum(cx_, cy_, cz_, ce_, cs_, m, px, py, pz, cutoff2, overlap2)
            else:
                e = _ewald_real_sum(cx_, cy_, cz_, ce_, m, px, py, pz, cutoff2, overlap2, alpha)
                n_close = 0
            out[p] = np.inf if n_close > 0 else e
    return out


@numba.njit(nogil=True, cache=True, error_model="numpy", inline="always", fastmath=_FAST)
def _lj_sum(cx_, cy_, cz_, ce_, cs_, m, px, py, pz, cutoff2, overlap2):
    """The Lennard-Jones energy at (px, py, pz) of the ``m`` gathered atoms (4 eps in
    ``ce_``, sig^2 in ``cs_``) within the cutoff, and how many are within the overlap
    distance."""
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
    return e, n_close


@numba.njit(nogil=True, cache=True, error_model="numpy", inline="always", fastmath=_FAST)
def _ewald_real_sum(cx_, cy_, cz_, ce_, m, px, py, pz, cutoff2, overlap2, alpha):
    """The real-space Ewald potential ``sum q erfc(alpha r) / r`` at (px, py, pz) of the
    ``m`` gathered charges (in ``ce_``) within the cutoff, pairs within the overlap
    distance left out."""
    e = 0.0
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
        poly = t * (
            0.254829592
            + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))
        )
        keep = (r2 > overlap2) & (r2 <= cutoff2)
        e += ce_[k] * poly * np.exp(-x * x) / r if keep else 0.0
    return e


@numba.njit(
    nogil=True, cache=True, error_model="numpy", fastmath={"reassoc", "contract", "nsz", "arcp"}
)
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


_F4 = np.float32
#: Coefficients of exp(-z) (Taylor, degree 8) and of Abramowitz & Stegun's erfc 7.1.26.
_EXP = tuple(_F4(1.0 / math.factorial(i)) for i in range(9))
_AS = tuple(
    _F4(c) for c in (0.3275911, 0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429)
)


@numba.njit(
    nogil=True,
    cache=True,
    error_model="numpy",
    inline="always",
    fastmath={"reassoc", "contract", "nsz", "arcp"},
)
def _exp_neg32(y):
    """exp(-y), single precision, for 0 <= y <= 20 to a relative 1e-6: exp(-y / 32) by its
    Taylor polynomial, squared five times. Branch-free, so loops that call it vectorise
    (numba's ``np.exp`` is a scalar library call without Intel's SVML)."""
    c = _EXP
    z = y * _F4(1.0 / 32.0)
    e = c[0] - z * (
        c[1]
        - z * (c[2] - z * (c[3] - z * (c[4] - z * (c[5] - z * (c[6] - z * (c[7] - z * c[8]))))))
    )
    e = e * e
    e = e * e
    e = e * e
    e = e * e
    return e * e


@numba.njit(
    nogil=True,
    cache=True,
    error_model="numpy",
    inline="always",
    fastmath={"reassoc", "contract", "nsz", "arcp"},
)
def _erfc_over_r32(r2, alpha, overlap2):
    """erfc(alpha r) / r, single precision, by Abramowitz & Stegun 7.1.26 (absolute
    error < 1.5e-7 in erfc)."""
    a = _AS
    r = np.sqrt(max(r2, overlap2))
    x = alpha * r
    t = _F4(1.0) / (_F4(1.0) + a[0] * x)
    poly = t * (a[1] + t * (a[2] + t * (a[3] + t * (a[4] + t * a[5]))))
    return poly * _exp_neg32(x * x) / r


@numba.njit(
    nogil=True, cache=True, error_model="numpy", fastmath={"reassoc", "contract", "nsz", "arcp"}
)
def _gather(
    atoms, bin_start, shape, origin, bin_size, cx, cy, cz, radius, which, bx_, by_, bz_, bi_
):
    """The atoms within ``radius`` of (cx, cy, cz), with their unit-cell index, copied
    into the buffers; returns their count."""
    nx, ny, nz = shape[0], shape[1], shape[2]
    r2 = radius * radius
    reach = int(np.ceil(radius / bin_size))
    ix = int((cx - origin[0]) / bin_size)
    iy = int((cy - origin[1]) / bin_size)
    iz = int((cz - origin[2]) / bin_size)
    m = 0
    z0 = max(iz - reach, 0)
    z1 = min(iz + reach + 1, nz)
    if z0 >= z1:
        return m
    for bx in range(max(ix - reach, 0), min(ix + reach + 1, nx)):
        for by in range(max(iy - reach, 0), min(iy + reach + 1, ny)):
            base = (bx * ny + by) * nz
            for k in range(bin_start[base + z0], bin_start[base + z1]):
                dx = atoms[k, 0] - cx
                dy = atoms[k, 1] - cy
                dz = atoms[k, 2] - cz
                if dx * dx + dy * dy + dz * dz <= r2:
                    bx_[m] = atoms[k, 0]
                    by_[m] = atoms[k, 1]
                    bz_[m] = atoms[k, 2]
                    bi_[m] = which[k]
                    m += 1
    return m


@numba.njit(nogil=True, cache=True, error_model="numpy", inline="always", fastmath=_FAST)
def _co2_buffers(n_img):
    """The work buffers of :func:`co2_points`, each for up to ``n_img`` atoms: a gather's
    (x, y, z, index; float64), the bin's (x, y, z; and its five parameters per atom) and a
    point's (squared distances; x, y, z, oxygen 4 eps and sig^2 within Lennard-Jones
    reach; x, y, z and charge within real-space Ewald reach), single precision."""
    f4 = np.float32
    gx, gy, gz = np.empty(n_img), np.empty(n_img), np.empty(n_img)
    gi = np.empty(n_img, dtype=np.int64)
    bx, by, bz = np.empty(n_img, dtype=f4), np.empty(n_img, dtype=f4), np.empty(n_img, dtype=f4)
    bp = np.empty((5, n_img), dtype=f4)
    d2 = np.empty(n_img, dtype=f4)
    x, y, z = np.empty(n_img, dtype=f4), np.empty(n_img, dtype=f4), np.empty(n_img, dtype=f4)
    e4o, s2o = np.empty(n_img, dtype=f4), np.empty(n_img, dtype=f4)
    qx, qy, qz = np.empty(n_img, dtype=f4), np.empty(n_img, dtype=f4), np.empty(n_img, dtype=f4)
    qq = np.empty(n_img, dtype=f4)
    return gx, gy, gz, gi, bx, by, bz, bp, d2, x, y, z, e4o, s2o, qx, qy, qz, qq


@numba.njit(nogil=True, cache=True, error_model="numpy", inline="always", fastmath=_FAST)
def _bin_centre(points, p0, p1, bond):
    """The centroid of points ``p0:p1`` and the radius around it that holds every site of
    their molecules (the farthest point's distance plus ``bond`` plus 1e-3 Å)."""
    cx = cy = cz = 0.0
    for p in range(p0, p1):
        cx += points[p, 0]
        cy += points[p, 1]
        cz += points[p, 2]
    cx /= p1 - p0
    cy /= p1 - p0
    cz /= p1 - p0
    spread = 0.0
    for p in range(p0, p1):
        d = (points[p, 0] - cx) ** 2 + (points[p, 1] - cy) ** 2 + (points[p, 2] - cz) ** 2
        spread = max(spread, d)
    return cx, cy, cz, np.sqrt(spread) + bond + 1e-3


@numba.njit(nogil=True, cache=True, error_model="numpy", inline="always", fastmath=_FAST)
def _bin_atoms(
    atoms, bin_start, shape, origin, bin_size, which, params, cx, cy, cz, radius, buffers
):
    """Gather the image atoms within ``radius`` of (cx, cy, cz) (:func:`_gather`) into the
    bin's single-precision buffers, relative to that centre, with their five parameters
    (``buffers`` as :func:`_co2_buffers` gives them); returns their count."""
    gx, gy, gz, gi, bx, by, bz, bp = buffers
    nb = _gather(
        atoms, bin_start, shape, origin, bin_size, cx, cy, cz, radius, which, gx, gy, gz, gi
    )
    for k in range(nb):
        bx[k] = gx[k] - cx
        by[k] = gy[k] - cy
        bz[k] = gz[k] - cz
        for c in range(5):
            bp[c, k] = params[gi[k], c]
    return nb


@numba.njit(nogil=True, cache=True, error_model="numpy", inline="always", fastmath=_FAST)
def _carbon_lj(bx, by, bz, bp, nb, px, py, pz, o2, c2, d2):
    """The carbon's Lennard-Jones energy at (px, py, pz) over the bin's ``nb`` atoms and
    how many are within the overlap distance; each squared distance goes into ``d2``."""
    zero = np.float32(0.0)
    u = zero
    close = 0
    for k in range(nb):
        r2 = (bx[k] - px) ** 2 + (by[k] - py) ** 2 + (bz[k] - pz) ** 2
        d2[k] = r2
        close += r2 <= o2
        s6 = bp[1, k] / max(r2, o2)
        s6 = s6 * s6 * s6
        u += bp[0, k] * (s6 * s6 - s6) if r2 <= c2 else zero
    return u, close


@numba.njit(nogil=True, cache=True, error_model="numpy", inline="always", fastmath=_FAST)
def _near_sites(bx, by, bz, bp, d2, nb, px, py, pz, reach_lj, reach_el, near, charged):
    """Compact the bin's atoms within reach of a point's sites, relative to the point:
    into ``near`` (x, y, z, oxygen 4 eps, oxygen sig^2) those within ``reach_lj``, into
    ``charged`` (x, y, z, charge) those also within ``reach_el``; returns both counts."""
    x, y, z, e4o, s2o = near
    qx, qy, qz, qq = charged
    nl = 0
    ne = 0
    for k in range(nb):
        if d2[k] <= reach_lj:
            x[nl] = bx[k] - px
            y[nl] = by[k] - py
            z[nl] = bz[k] - pz
            e4o[nl] = bp[2, k]
            s2o[nl] = bp[3, k]
            nl += 1
            if d2[k] <= reach_el:
                qx[ne] = x[nl - 1]
                qy[ne] = y[nl - 1]
                qz[ne] = z[nl - 1]
                qq[ne] = bp[4, k]
                ne += 1
    return nl, ne


@numba.njit(nogil=True, cache=True, error_model="numpy", inline="always", fastmath=_FAST)
def _carbon_phi(qx, qy, qz, qq, ne, al, o2, e2):
    """The real-space Ewald potential at the point the ``ne`` charges are relative to."""
    zero = np.float32(0.0)
    phi = zero
    for k in range(ne):
        r2 = qx[k] * qx[k] + qy[k] * qy[k] + qz[k] * qz[k]
        keep = (r2 > o2) & (r2 <= e2)
        phi += qq[k] * _erfc_over_r32(r2, al, o2) if keep else zero
    return phi


@numba.njit(nogil=True, cache=True, error_model="numpy", inline="always", fastmath=_FAST)
def _oxygens_lj(x, y, z, e4o, s2o, nl, ox, oy, oz, o2, c2):
    """The Lennard-Jones energy of the oxygens at +-(ox, oy, oz) from the point over the
    ``nl`` atoms relative to it, and how many pairs are within the overlap distance."""
    zero = np.float32(0.0)
    u = zero
    close = 0
    for k in range(nl):
        r2a = (x[k] - ox) ** 2 + (y[k] - oy) ** 2 + (z[k] - oz) ** 2
        r2b = (x[k] + ox) ** 2 + (y[k] + oy) ** 2 + (z[k] + oz) ** 2
        close += (r2a <= o2) + (r2b <= o2)
        sa = s2o[k] / max(r2a, o2)
        sa = sa * sa * sa
        sb = s2o[k] / max(r2b, o2)
        sb = sb * sb * sb
        u += e4o[k] * (sa * sa - sa) if r2a <= c2 else zero
        u += e4o[k] * (sb * sb - sb) if r2b <= c2 else zero
    return u, close


@numba.njit(nogil=True, cache=True, error_model="numpy", inline="always", fastmath=_FAST)
def _oxygens_phi(qx, qy, qz, qq, ne, ox, oy, oz, al, o2, e2):
    """The sum of the real-space Ewald potential at both oxygens, +-(ox, oy, oz) from the
    point the ``ne`` charges are relative to."""
    zero = np.float32(0.0)
    phi = zero
    for k in range(ne):
        r2a = (qx[k] - ox) ** 2 + (qy[k] - oy) ** 2 + (qz[k] - oz) ** 2
        r2b = (qx[k] + ox) ** 2 + (qy[k] + oy) ** 2 + (qz[k] + oz) ** 2
        keep = (r2a > o2) & (r2a <= e2)
        phi += qq[k] * _erfc_over_r32(r2a, al, o2) if keep else zero
        keep = (r2b > o2) & (r2b <= e2)
        phi += qq[k] * _erfc_over_r32(r2b, al, o2) if keep else zero
    return phi


@numba.njit(nogil=True, cache=True, error_model="numpy", fastmath=_FAST)
def co2_points(
    points,  # (M, 3) float64, Cartesian probe centres (the carbon), sorted by bin, Å
    pstart,  # (B + 1,) int64, offsets of each occupied point bin in ``points``
    atoms,  # (K, 3) float64, image atoms sorted by bin, Å
    which,  # (K,) int64, the unit-cell atom of each image
    params,  # (N, 5) float64, per unit-cell atom: 4 eps and sig^2 with the carbon, the
    # same with the oxygen, and the atom's charge (e)
    bin_start,  # (nx*ny*nz + 1,) int64
    shape,  # (3,) int64
    origin,  # (3,) float64, Å
    bin_size,  # float, Å
    cutoff,  # float, Lennard-Jones cutoff, Å
    real_cutoff,  # float, real-space Ewald cutoff, Å
    alpha,  # float, Ewald splitting, 1/Å
    offsets,  # (A, 3) float64, the oxygens sit at +-offsets[a] from the carbon, Å
    site_q,  # (2,) float64, the charges of the carbon and of each oxygen times the
    # Coulomb constant, K Å / e
    recip,  # (M, A) float64, the molecule's reciprocal-space energy per orientation, K
    temperature,  # float, K
    blocked,  # float, K: a carbon Lennard-Jones energy above this blocks every orientation
    overlap2,  # float, Å^2
    first,  # int, first point bin
    last,  # int, one past the last point bin
    out,  # (M,) float64: -T ln <exp(-U / T)> over the orientations, K (inf: blocked)
):
    """The orientation-averaged energy of a rigid linear three-site molecule (CO2).

    Per point bin, the image atoms within reach of any site of its points are gathered
    once, in single precision relative to the bin's centre. Each point sums its carbon
    over that buffer; unless the carbon alone is blocked, the atoms within reach of its
    own sites are compacted and both oxygens of every orientation are summed against
    them. All loops over atoms are branch-free and vectorise, and every pair is tested
    against its cutoff, so the sums are the direct ones.
    """
    f4 = np.float32
    buffers = _co2_buffers(atoms.shape[0])
    gx, gy, gz, gi, bx, by, bz, bp, d2, x, y, z, e4o, s2o, qx, qy, qz, qq = buffers
    bond = 0.0
    for a in range(offsets.shape[0]):
        bond = max(bond, np.sqrt(offsets[a, 0] ** 2 + offsets[a, 1] ** 2 + offsets[a, 2] ** 2))
    n_orient = offsets.shape[0]
    off = offsets.astype(f4)
    c2, e2, o2 = f4(cutoff * cutoff), f4(real_cutoff * real_cutoff), f4(overlap2)
    al = f4(alpha)
    reach_lj = f4((cutoff + bond + 1e-4) ** 2)
    reach_el = f4((real_cutoff + bond + 1e-4) ** 2)
    for b in range(first, last):
        p0, p1 = pstart[b], pstart[b + 1]
        cx, cy, cz, spread = _bin_centre(points, p0, p1, bond)
        nb = _bin_atoms(
            atoms, bin_start, shape, origin, bin_size, which, params, cx, cy, cz,
            cutoff + spread, (gx, gy, gz, gi, bx, by, bz, bp),
        )  # fmt: skip
        for p in range(p0, p1):
            px, py, pz = f4(points[p, 0] - cx), f4(points[p, 1] - cy), f4(points[p, 2] - cz)
            u, close = _carbon_lj(bx, by, bz, bp, nb, px, py, pz, o2, c2, d2)
            if close > 0 or u > blocked:
                out[p] = np.inf
                continue
            nl, ne = _near_sites(
                bx, by, bz, bp, d2, nb, px, py, pz, reach_lj, reach_el,
                (x, y, z, e4o, s2o), (qx, qy, qz, qq),
            )  # fmt: skip
            u_c = float(u) + site_q[0] * float(_carbon_phi(qx, qy, qz, qq, ne, al, o2, e2))
            w = 0.0
            for a in range(n_orient):
                ox, oy, oz = off[a, 0], off[a, 1], off[a, 2]
                u, close = _oxygens_lj(x, y, z, e4o, s2o, nl, ox, oy, oz, o2, c2)
                if close > 0:
                    continue
                phi = _oxygens_phi(qx, qy, qz, qq, ne, ox, oy, oz, al, o2, e2)
                total = u_c + float(u) + site_q[1] * float(phi) + recip[p, a]
                w += np.exp(-total / temperature)
            out[p] = -temperature * np.log(w / n_orient) if w > 0.0 else np.inf
    return out


@numba.njit(nogil=True, cache=True, error_model="numpy")
def spme_spread(index, weight, q, shape):
    """Charges onto the particle-mesh Ewald mesh: atom i adds ``q_i`` times the product
    of its three B-spline weights at mesh points ``index[i, axis, :]`` (already wrapped).

    index : (N, 3, p) int64; weight : (N, 3, p) float64; q : (N,) float64.
    """
    mesh = np.zeros((shape[0], shape[1], shape[2]))
    p = index.shape[2]
    for i in range(index.shape[0]):
        for a in range(p):
            wa = q[i] * weight[i, 0, a]
            ia = index[i, 0, a]
            for b in range(p):
                wab = wa * weight[i, 1, b]
                ib = index[i, 1, b]
                for c in range(p):
                    mesh[ia, ib, index[i, 2, c]] += wab * weight[i, 2, c]
    return mesh


@numba.njit(nogil=True, cache=True, error_model="numpy")
def spme_gather(index, weight, mesh):
    """The transpose of :func:`spme_spread`: each atom's B-spline weighted sum of a mesh."""
    n = index.shape[0]
    p = index.shape[2]
    out = np.zeros(n)
    for i in range(n):
        total = 0.0
        for a in range(p):
            ia = index[i, 0, a]
            for b in range(p):
                wab = weight[i, 0, a] * weight[i, 1, b]
                ib = index[i, 1, b]
                for c in range(p):
                    total += wab * weight[i, 2, c] * mesh[ia, ib, index[i, 2, c]]
        out[i] = total
    return out
