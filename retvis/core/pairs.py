"""Periodic pair sums: the atom images within a cutoff, a cell list of images and points,
and the compiled pair kernel over them. Used by the grid engine, EQeq's Ewald sums and
the canonical cell's atom environments."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numpy.typing import NDArray

from .structure import Structure


def images(structure: Structure, cutoff: float):
    """Atoms and periodic images that can lie within ``cutoff`` of the unit cell.

    Returns Cartesian positions (K, 3) and the index of the original atom (K,).
    An image whose fractional coordinate along axis i lies outside
    ``[-cutoff / w_i, 1 + cutoff / w_i]`` is farther than ``cutoff`` from every point of
    the cell (planes of constant fraction are ``w_i`` apart per unit), so it is dropped.
    """
    w = structure.widths
    pad = cutoff / w + 1e-9
    m = np.ceil(pad).astype(int)
    frac = structure.frac
    idx = np.arange(len(frac))
    # replicate axis by axis, pruning as we go (keeps the candidate set small)
    for axis in range(3):
        shifts = np.arange(-m[axis], m[axis] + 1)
        f = np.repeat(frac, len(shifts), axis=0)
        f[:, axis] += np.tile(shifts, len(frac))
        i = np.repeat(idx, len(shifts))
        keep = (f[:, axis] >= -pad[axis]) & (f[:, axis] <= 1 + pad[axis])
        frac, idx = f[keep], i[keep]
    return frac @ structure.lattice, idx


def image_count(structure: Structure, reach: float) -> float:
    """Periodic images per atom that :func:`images` makes for ``reach`` (an upper bound:
    the replicas of the cell padded by ``reach / w_i`` along each axis)."""
    return float(np.prod(1.0 + 2.0 * reach / structure.widths))


def pair_sum(
    structure: Structure,
    points: NDArray[np.float64],
    a: NDArray[np.float64],
    b: NDArray[np.float64],
    cutoff: float,
    overlap: float,
    kind: int,
    alpha: float = 0.0,
    threads: int = 1,
) -> NDArray[np.float64]:
    """A pair sum over the atoms (all periodic images) within ``cutoff`` of each point.

    ``kind`` 0: the Lennard-Jones energy with per-atom ``a = 4 eps`` and ``b = sig^2``
    (K, ``inf`` within ``overlap`` of an atom); ``kind`` 1: the real-space Ewald
    potential with per-atom charges ``a`` (e/Å; ``b`` unused). See
    :func:`retvis.core._kernels.pair_binned`.
    """
    from ._kernels import pair_binned

    pos, which = images(structure, cutoff)
    cells = CellList(pos, which, points, cutoff / 4.0)  # best of cutoff/3..cutoff/6
    av = np.ascontiguousarray(a, dtype=np.float64)
    bv = np.ascontiguousarray(b, dtype=np.float64)
    args = (
        cells.points,
        cells.pstart,
        cells.pbin,
        cells.atoms,
        cells.which,
        av,
        bv,
        cells.start,
        cells.shape,
        cells.origin,
        cells.bin_size,
        cutoff**2,
        overlap**2,
        int(kind),
        float(alpha),
    )
    out = np.empty(len(cells.points), dtype=np.float64)
    cells.run(lambda first, last: pair_binned(*args, first, last, out), threads)
    return cells.unsort(out)


class CellList:
    """Image atoms and points sorted into the same cubic bins, for the compiled pair
    kernels: atoms by bin (``start`` offsets per bin), points grouped by occupied bin
    (``pstart`` offsets, ``pbin`` integer coordinates)."""

    def __init__(self, pos, which, points, bin_size: float):
        points = np.ascontiguousarray(points, dtype=np.float64).reshape(-1, 3)
        lo = np.minimum(pos.min(axis=0), points.min(axis=0)) - 1e-6
        hi = np.maximum(pos.max(axis=0), points.max(axis=0)) + 1e-6
        shape = np.maximum(np.ceil((hi - lo) / bin_size).astype(np.int64), 1)

        def bins(x):
            b = np.minimum(np.floor((x - lo) / bin_size).astype(np.int64), shape - 1)
            return b, (b[:, 0] * shape[1] + b[:, 1]) * shape[2] + b[:, 2]

        _, flat = bins(pos)
        order = np.argsort(flat, kind="stable")
        self.start = np.zeros(int(np.prod(shape)) + 1, dtype=np.int64)
        np.cumsum(np.bincount(flat, minlength=len(self.start) - 1), out=self.start[1:])
        self.atoms = np.ascontiguousarray(pos[order])
        self.which = np.ascontiguousarray(which[order])
        pb, pflat = bins(points)
        self.porder = np.argsort(pflat, kind="stable")
        _, first = np.unique(pflat[self.porder], return_index=True)
        self.pstart = np.append(first, len(points)).astype(np.int64)
        self.pbin = np.ascontiguousarray(pb[self.porder][first])
        self.points = np.ascontiguousarray(points[self.porder])
        self.shape, self.origin, self.bin_size = shape, lo, float(bin_size)

    def run(self, work, threads: int) -> None:
        """``work(first, last)`` over the point bins, split over ``threads`` threads."""
        n_bins = len(self.pbin)
        if threads <= 1 or n_bins < 4 * threads:
            work(0, n_bins)
            return
        edges = np.linspace(0, n_bins, threads + 1).astype(int)
        with ThreadPoolExecutor(threads) as ex:
            list(ex.map(lambda i: work(edges[i], edges[i + 1]), range(threads)))

    def unsort(self, values: NDArray) -> NDArray:
        """Per-point values in the points' original order."""
        out = np.empty_like(values)
        out[self.porder] = values
        return out
