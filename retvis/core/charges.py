"""EQeq partial charges (extended charge equilibration) with converged Ewald sums.

EQeq (Wilmer, Kim and Snurr, J. Phys. Chem. Lett. 2012) gives every atom a charge by
equalising electronegativities. The element data (ionization energies, electron
affinities, charge centers) are read from the ``pyeqeq`` package's data files
(``pip install "pybind11>=2.10" setuptools wheel`` then ``pip install
--no-build-isolation pyeqeq``); only its data are used, not its solver.

The periodic sums are Ewald sums carried to convergence (:data:`EWALD_TOLERANCE`), the
reciprocal part as two matrix products: a fraction of a second for a few hundred atoms.
This is the charge method of the CO2 labels (``retvis.sim.charges``, which also keeps
pyeqeq's own solver as the reference) and of the CO2 probe of the energy grid.
"""

from __future__ import annotations

import importlib.util
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from ..errors import SimulationError
from .cancel import check
from .pairs import image_count
from .structure import Structure

#: EQeq settings (the pyeqeq / original EQeq defaults).
DIELECTRIC_SCREENING = 1.2
H_ELECTRON_AFFINITY = -2.0
#: Largest partial charge, e, accepted from charge equilibration. Over the 508 CO2-labelled
#: CoRE MOFs and the 20 demo structures, 526 stay within 3.3 e (Zr, Ti, B near +3.2);
#: EQeq breaks down on the other two (ZIMLOY: B +9.6 e; RUBTAK04: O -14.4 e, which makes
#: CO2 Boltzmann factors overflow). Nothing lies between 3.3 and 9.5 e.
MAX_ABS_CHARGE = 5.0

INSTALL_HINT = (
    'install it with: pip install "pybind11>=2.10" setuptools wheel && '
    "pip install --no-build-isolation pyeqeq"
)


def _data_dir() -> Path:
    spec = importlib.util.find_spec("pyeqeq")
    if spec is None or not spec.submodule_search_locations:
        raise SimulationError("EQeq charges need the pyeqeq package; " + INSTALL_HINT)
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def eqeq_unavailable() -> str | None:
    """Why EQeq charges cannot be computed here (pyeqeq's element data missing), or None.

    Cheap (no file is read): callers check it once before a batch, so that a missing
    optional package is one clear message, not one failed row per structure.
    """
    try:
        data = _data_dir()
    except SimulationError as exc:
        return exc.reason
    if not data.is_dir():
        return f"pyeqeq is installed but has no element data folder ({data}); " + INSTALL_HINT
    return None


#: EQeq's Coulomb constant, eV Å (the value of the original code).
K_COULOMB = 14.4
#: First ionization energy of hydrogen, eV (EQeq's hI1).
H_IONIZATION = 13.598
#: Relative size of the terms the converged sums leave out.
EWALD_TOLERANCE = 1e-12


@dataclass(frozen=True)
class EqeqParameters:
    """Electronegativity X and hardness J (eV) of each element at its charge center."""

    electronegativity: dict[str, float]
    hardness: dict[str, float]
    charge_center: dict[str, int]


def _ip(value: str) -> float:
    value = value.strip()
    if value.startswith("<0.5"):
        return 0.5
    try:
        return float(value)
    except ValueError:  # "na" / "np": not available
        return math.nan


@lru_cache(maxsize=1)
def eqeq_parameters(data_dir: Path | None = None) -> EqeqParameters:
    """EQeq's element table: ionization data and charge centers (pyeqeq's data files).

    For an element with charge center c (its usual oxidation state, 0 for most
    non-metals), with IP_0 the electron affinity and IP_n the n-th ionization energy:
    ``J = IP_(c+1) - IP_c`` and ``X = (IP_(c+1) + IP_c) / 2 - c J``; hydrogen uses
    ``IP_1 = 13.598`` and the electron affinity :data:`H_ELECTRON_AFFINITY`.
    """
    data = _data_dir() if data_dir is None else Path(data_dir)
    ips: dict[str, list[float]] = {}
    for line in (data / "ionizationdata.dat").read_text().splitlines():
        f = line.split("\t")
        if len(f) >= 5 and f[1].strip():
            ips[f[1].strip()] = [_ip(v) for v in f[3:12]]
    centers: dict[str, int] = {}
    for line in (data / "chargecenters.dat").read_text().splitlines():
        f = line.split()
        if len(f) >= 2 and f[1].isdigit():
            centers[f[0]] = int(f[1])
    x: dict[str, float] = {}
    j: dict[str, float] = {}
    for el, ip in ips.items():
        c = centers.get(el, 0)
        if el == "H":
            lo, hi = H_ELECTRON_AFFINITY, H_IONIZATION
        elif c + 1 < len(ip):
            lo, hi = ip[c], ip[c + 1]
        else:
            continue
        if math.isfinite(lo) and math.isfinite(hi) and hi > lo:
            j[el] = hi - lo
            x[el] = 0.5 * (hi + lo) - c * (hi - lo)
    return EqeqParameters(x, j, centers)


#: Real-space cutoff of EQeq's Ewald matrix in units of the cell's cube root: the
#: real-space pairs grow as N^2 rc^3 / V and the reciprocal part as N^2 V / rc^3, so
#: their balance is at rc proportional to V^(1/3); fitted on CoRE MOFs of 100-3,000 atoms.
EWALD_MATRIX_CUTOFF = 0.9


def _splitting(hardness: NDArray[np.float64], tol: float, rc: float) -> tuple[float, float, float]:
    """Real-space cutoff (Å), Ewald splitting (1/Å) and largest k-vector (1/Å) of EQeq's
    sums: the cutoff is at least ``rc`` and what the tolerance needs for the
    orbital-overlap term of the softest pair (and never below 16 Å); the splitting and
    k-vector are :func:`ewald_splitting`'s for that cutoff."""
    a_min = float(hardness.min()) / K_COULOMB
    rc = max(16.0, math.sqrt(-math.log(tol)) / a_min + 1.0, rc)
    return (rc, *ewald_splitting(tol, rc))


def _real_space_pairs(
    structure: Structure,
    hardness: NDArray[np.float64],
    alpha: float,
    rc: float,
    pairs_per_block: int = 4_000_000,
):
    """The real-space terms of EQeq's matrix, a block of rows at a time.

    Yields ``(rows, i, j, value)``: for atoms ``rows``, every image pair within ``rc``
    (atom i, image of atom j, an atom's own images included, itself not), its
    ``erfc(alpha r) / r`` plus EQeq's overlap term ``exp(-a^2 r^2) (2a - a^2 r - 1/r)``,
    ``a = sqrt(J_i J_j) / k``. Pairs come from a k-d tree of the atoms' images; a block
    holds about ``pairs_per_block`` of them.
    """
    from scipy.spatial import cKDTree
    from scipy.special import erfc

    from .pairs import images

    n, cart, vol = structure.n_atoms, structure.cart, structure.volume
    pos, which = images(structure, rc)
    tree = cKDTree(pos)
    a_of = np.sqrt(hardness / K_COULOMB)  # a_ij = a_of[i] a_of[j]
    per_row = max(1, int(min(len(pos), n * (4 / 3) * math.pi * rc**3 / vol)))  # pairs of a row
    block = max(1, pairs_per_block // per_row)
    for lo in range(0, n, block):
        rows = np.arange(lo, min(n, lo + block))
        pairs = cKDTree(cart[rows]).sparse_distance_matrix(tree, rc, output_type="ndarray")
        keep = pairs["v"] > 1e-8
        i, j, rr = rows[pairs["i"][keep]], which[pairs["j"][keep]], pairs["v"][keep]
        aa = a_of[i] * a_of[j]
        val = erfc(alpha * rr) / rr + np.exp(-((aa * rr) ** 2)) * (2 * aa - aa * aa * rr - 1 / rr)
        check()
        yield rows, i, j, val


def _ewald_matrix(
    structure: Structure, hardness: NDArray[np.float64], tol: float = EWALD_TOLERANCE
) -> NDArray[np.float64]:
    """EQeq's interaction matrix (before the lambda k / 2 factor), sums converged.

    Element (i, j): the periodic Coulomb potential of atom j's images at atom i, by
    Ewald summation, plus EQeq's orbital-overlap term
    ``exp(-a^2 r^2) (2a - a^2 r - 1/r)``, ``a = sqrt(J_i J_j) / k``, summed over
    images; on the diagonal the image n = 0 is left out and the Ewald self term
    ``-2 alpha / sqrt(pi)`` added. The k = 0 term is left out, which shifts every
    element by the same constant: charges of a neutral cell do not change.

    The real-space pairs come from a k-d tree of the atoms' images, a block of atoms at
    a time (memory bounded); the cutoff balances them against the reciprocal part
    (:data:`EWALD_MATRIX_CUTOFF`), never below what the tolerance needs.
    """
    n = structure.n_atoms
    vol = structure.volume
    rc, alpha, kmax = _splitting(hardness, tol, EWALD_MATRIX_CUTOFF * vol ** (1 / 3))
    lattice, cart = structure.lattice, structure.cart
    out = np.zeros((n, n))
    for rows, i, j, val in _real_space_pairs(structure, hardness, alpha, rc):
        lo = rows[0]
        out[rows] += np.bincount((i - lo) * n + j, val, len(rows) * n).reshape(len(rows), n)
    # reciprocal space: half of the k-vectors (k and -k give the same term), twice
    rec = 2 * np.pi * np.linalg.inv(lattice).T
    m = np.ceil(kmax * np.linalg.norm(lattice, axis=1) / (2 * np.pi)).astype(int)
    hkl = np.stack(
        np.meshgrid(*(np.arange(-mi, mi + 1) for mi in m), indexing="ij"), axis=-1
    ).reshape(-1, 3)
    first = np.where(hkl[:, 0] != 0, hkl[:, 0], np.where(hkl[:, 1] != 0, hkl[:, 1], hkl[:, 2]))
    hkl = hkl[first > 0]
    kv = hkl @ rec
    k2 = np.einsum("ij,ij->i", kv, kv)
    keep = k2 <= kmax * kmax
    kv, k2 = kv[keep], k2[keep]
    weight = 2 * (4 * np.pi / vol) * np.exp(-k2 / (4 * alpha * alpha)) / k2
    for lo in range(0, len(kv), 4096):
        check()
        phase = cart @ kv[lo : lo + 4096].T
        c, s = np.cos(phase), np.sin(phase)
        wk = weight[lo : lo + 4096]
        out += (c * wk) @ c.T + (s * wk) @ s.T
    out[np.diag_indices(n)] -= 2 * alpha / math.sqrt(math.pi)
    return out


#: Atoms above which EQeq is solved without its matrix (:func:`_eqeq_iterative`): the
#: dense matrix costs N^2 memory and about N^2 V^(1/3) time to fill.
ITERATIVE_ATOMS = 400
#: Particle-mesh Ewald of the iterative solver: B-spline order and mesh points per
#: reciprocal-lattice index that the Gaussian reaches (1 is the Nyquist rate).
PME_ORDER = 8
PME_OVERSAMPLING = 1.0
#: Convergence of the iterative solver: residual relative to the right-hand side.
SOLVER_TOLERANCE = 1e-10
SOLVER_MAX_ITERATIONS = 500
#: Real-space pairs built at a time by the iterative solver (about 100 bytes each).
PAIRS_PER_BLOCK = 1_000_000


def _pme_shape(lattice: NDArray[np.float64], kmax: float) -> list[int]:
    """Mesh points per axis of the particle-mesh Ewald: every reciprocal-lattice index
    within ``kmax`` below the Nyquist rate, times :data:`PME_OVERSAMPLING`."""
    from scipy import fft

    half = kmax * np.linalg.norm(lattice, axis=1) / (2 * np.pi)
    return [
        int(fft.next_fast_len(max(2 * PME_ORDER, math.ceil(2 * h * PME_OVERSAMPLING) + 2)))
        for h in half
    ]


def eqeq_bytes(structure: Structure, tol: float = EWALD_TOLERANCE) -> int:
    """Peak memory of :func:`eqeq_ewald_charges` on a structure, bytes (an upper bound
    checked by ``benchmarks/limits.py``).

    Dense solve (up to :data:`ITERATIVE_ATOMS`): four (N + 1)^2 matrices and a block of
    real-space pairs. Iterative: the sparse real-space pairs within the cutoff (kept, and
    copied once when the blocks are joined), a block of them being built, the atoms'
    images and the particle-mesh Ewald mesh with its transform.
    """
    n, vol = structure.n_atoms, structure.volume
    try:
        params = eqeq_parameters()
        hardness = np.array([params.hardness.get(e, np.nan) for e in set(structure.species)])
        hardness = hardness[np.isfinite(hardness)]
    except SimulationError:
        hardness = np.zeros(0)
    if hardness.size == 0:
        hardness = np.array([K_COULOMB])  # the charges will not be computed: any bound
    floor = EWALD_MATRIX_CUTOFF * vol ** (1 / 3) if n <= ITERATIVE_ATOMS else 0.0
    rc, _, kmax = _splitting(hardness, tol, floor)
    images = n * image_count(structure, rc)
    pairs = n * min(images, n * (4 / 3) * math.pi * rc**3 / vol + 1.0)
    if n <= ITERATIVE_ATOMS:
        return int(4 * 8 * (n + 1) ** 2 + 120 * min(pairs, 4_000_000) + 64 * images)
    mesh = float(np.prod(_pme_shape(structure.lattice, kmax)))
    return int(32 * pairs + 120 * min(pairs, PAIRS_PER_BLOCK) + 64 * images + 48 * mesh)


def _bspline(order: int, x: NDArray[np.float64]) -> NDArray[np.float64]:
    """Cardinal B-spline ``M_order(x)`` (support ``0 < x < order``)."""
    if order == 2:
        return np.clip(1.0 - np.abs(x - 1.0), 0.0, None)
    return (x * _bspline(order - 1, x) + (order - x) * _bspline(order - 1, x - 1.0)) / (order - 1)


class _EwaldOperator:
    """EQeq's matrix applied to a charge vector without forming it.

    Real space: the pairs of :func:`_real_space_pairs` as a sparse matrix. Reciprocal
    space: smooth particle-mesh Ewald (Essmann et al., J. Chem. Phys. 1995): charges
    spread onto a mesh by B-splines of order :data:`PME_ORDER`, one real FFT there and
    back with the Ewald Gaussian divided by the splines' Fourier factors, gathered back
    with the same splines; so the operator is symmetric, as the matrix is. Memory is
    the sparse pairs and the mesh, both linear in the cell.
    """

    def __init__(self, structure: Structure, hardness: NDArray[np.float64], tol: float):
        from scipy import fft, sparse

        n = structure.n_atoms
        self.rc, self.alpha, kmax = _splitting(hardness, tol, 0.0)
        blocks = []
        pairs = _real_space_pairs(structure, hardness, self.alpha, self.rc, PAIRS_PER_BLOCK)
        for rows, i, j, val in pairs:
            ij = ((i - rows[0]).astype(np.int32), j.astype(np.int32))
            blocks.append(sparse.csr_array(sparse.coo_array((val, ij), shape=(len(rows), n))))
        self.real = sparse.vstack(blocks, format="csr") if blocks else None
        lattice = structure.lattice
        p = PME_ORDER
        shape = _pme_shape(lattice, kmax)
        self.shape = np.array(shape, dtype=np.int64)
        u = structure.frac * self.shape
        u -= np.floor(u / self.shape) * self.shape
        base = np.floor(u)
        w = u - base
        j = np.arange(p)
        self.weight = _bspline(p, w[:, :, None] + j)  # (N, 3, p)
        self.index = ((base[:, :, None].astype(np.int64) - j) % self.shape[:, None]).astype(
            np.int64
        )
        # the Ewald Gaussian over each mesh frequency, divided by |b(h)|^2 per axis
        recip = 2 * np.pi * np.linalg.inv(lattice).T
        freqs = [fft.fftfreq(k, 1.0 / k) for k in shape[:2]] + [
            fft.rfftfreq(shape[2], 1.0 / shape[2])
        ]
        hkl = np.stack(np.meshgrid(*freqs, indexing="ij"), axis=-1)
        kv = hkl @ recip
        k2 = np.einsum("...i,...i->...", kv, kv)
        k2[0, 0, 0] = 1.0
        green = 4 * np.pi / structure.volume * np.exp(-k2 / (4 * self.alpha**2)) / k2
        green[0, 0, 0] = 0.0
        m_int = _bspline(p, np.arange(1, p, dtype=np.float64))  # M_p(1..p-1)
        for axis, k in enumerate(shape):
            f = freqs[axis]
            denom = np.exp(2j * np.pi * np.outer(f, np.arange(p - 1)) / k) @ m_int
            factor = 1.0 / np.abs(denom) ** 2
            view = [None, None, None]
            view[axis] = slice(None)
            green = green * factor[tuple(view)]
        self.green = green * float(np.prod(shape))
        self.self_term = 2 * self.alpha / math.sqrt(math.pi)

    def __call__(self, q: NDArray[np.float64]) -> NDArray[np.float64]:
        from scipy import fft

        from ._kernels import spme_gather, spme_spread

        mesh = spme_spread(self.index, self.weight, q, self.shape)
        field = fft.irfftn(fft.rfftn(mesh) * self.green, s=mesh.shape)
        out = spme_gather(self.index, self.weight, field) - self.self_term * q
        if self.real is not None:
            out += self.real @ q
        return out


def _eqeq_dense(structure, x, hard, total_charge):
    """EQeq's charges from its full matrix (:func:`_ewald_matrix`) and one solve."""
    n = structure.n_atoms
    m = DIELECTRIC_SCREENING * (K_COULOMB / 2) * _ewald_matrix(structure, hard)
    m[np.diag_indices(n)] += hard
    # X_i + sum_j M_ij q_j = mu for every i, sum_i q_i = total charge
    a = np.zeros((n + 1, n + 1))
    a[:n, :n] = m
    a[:n, n] = -1.0
    a[n, :n] = 1.0
    b = np.concatenate([-x, [total_charge]])
    try:
        return np.linalg.solve(a, b)[:n]
    except np.linalg.LinAlgError as exc:
        raise SimulationError(f"EQeq: {exc}", structure.path) from None


def _eqeq_iterative(
    structure: Structure,
    x: NDArray[np.float64],
    hard: NDArray[np.float64],
    total_charge: float,
    tol: float = EWALD_TOLERANCE,
) -> NDArray[np.float64]:
    """EQeq's charges by MINRES on the bordered system, the matrix applied by
    :class:`_EwaldOperator`.

    The same equations as the dense solve: ``X_i + sum_j M_ij q_j = mu`` for every atom
    and the total charge fixed, written as one symmetric system in ``(q, -mu)``. It is
    indefinite (the border), and so can be ``M`` itself on the zero-sum charges for
    some structures that EQeq still solves (WUHJAK), which is why it is MINRES and not
    conjugate gradients; the preconditioner is the absolute diagonal.
    """
    from scipy.sparse.linalg import LinearOperator, minres

    n = structure.n_atoms
    op = _EwaldOperator(structure, hard, tol)
    scale = DIELECTRIC_SCREENING * (K_COULOMB / 2)

    def apply(v):
        q = v[:n]
        out = np.empty(n + 1)
        out[:n] = scale * op(q) + hard * q + v[n]
        out[n] = q.sum()
        return out

    diag = np.abs(hard + scale * (op.real.diagonal() if op.real is not None else 0.0))
    inv = np.concatenate([1.0 / np.where(diag > 0, diag, hard), [1.0]])
    system = LinearOperator((n + 1, n + 1), matvec=apply, dtype=np.float64)
    precondition = LinearOperator((n + 1, n + 1), matvec=lambda r: inv * r, dtype=np.float64)
    start = np.concatenate([np.full(n, total_charge / n), [0.0]])
    b = np.concatenate([-x, [total_charge]])
    sol, info = minres(
        system,
        b,
        x0=start,
        M=precondition,
        rtol=SOLVER_TOLERANCE,
        maxiter=SOLVER_MAX_ITERATIONS,
        callback=lambda _: check(),
    )
    if info != 0:
        raise SimulationError(
            f"EQeq's iterative solver did not converge in {SOLVER_MAX_ITERATIONS} steps",
            structure.path,
        )
    return sol[:n]


def eqeq_ewald_charges(
    structure: Structure, total_charge: float = 0.0, params: EqeqParameters | None = None
) -> NDArray[np.float64]:
    """EQeq partial charges with converged periodic sums (RetVis' own EQeq).

    The same model, parameters and element data as pyeqeq (:func:`eqeq_charges`),
    with its Ewald sums carried to convergence: pyeqeq sums both the real-space and
    the reciprocal-space series over a cube of ``(2 m + 1)^3`` cells with a fixed
    splitting of 50 Å, so its charges depend on ``m`` and cost ``N^2 m^3``;
    here the splitting is chosen so that both series converge to
    :data:`EWALD_TOLERANCE` within a cutoff, and the reciprocal part is two matrix
    products. The result is the limit pyeqeq approaches as ``m`` grows.

    Parameters
    ----------
    structure : Structure
    total_charge : float
        Net charge of the cell, e.
    params : EqeqParameters, optional
        Element table; default :func:`eqeq_parameters` (pyeqeq's data files).

    Returns
    -------
    NDArray[np.float64]
        Shape (n_atoms,), e, in the structure's atom order.

    Raises
    ------
    SimulationError
        An element without EQeq data, or a singular system.
    """
    params = eqeq_parameters() if params is None else params
    missing = sorted({e for e in structure.species if e not in params.hardness})
    if missing:
        raise SimulationError(
            f"EQeq has no ionization data for {', '.join(missing)}", structure.path
        )
    x = np.array([params.electronegativity[e] for e in structure.species])
    hard = np.array([params.hardness[e] for e in structure.species])
    n = structure.n_atoms
    if n > ITERATIVE_ATOMS:
        q = _eqeq_iterative(structure, x, hard, total_charge)
    else:
        q = _eqeq_dense(structure, x, hard, total_charge)
    if not np.all(np.isfinite(q)):
        raise SimulationError("EQeq gave non-finite charges", structure.path)
    q = q - (q.sum() - total_charge) / n
    i = int(np.argmax(np.abs(q)))
    if abs(q[i]) > MAX_ABS_CHARGE:
        raise SimulationError(
            f"EQeq charges are unphysical ({structure.species[i]} atom {i + 1} at "
            f"{q[i]:+.1f} e; a sane framework stays within +/-{MAX_ABS_CHARGE:g} e): charge "
            "equilibration failed on this structure, so its electrostatics cannot be trusted",
            structure.path,
        )
    return q


# --- the potential of framework charges ---------------------------------------------------

#: Coulomb energy of two elementary charges 1 Å apart over k_B, K (about 167,101 K).
COULOMB_K = 1.602176634e-19**2 / (4 * math.pi * 8.8541878128e-12 * 1e-10 * 1.380649e-23)


def ewald_splitting(tol: float, cutoff: float) -> tuple[float, float]:
    """The Ewald splitting ``alpha`` (1/Å) for which ``erfc(alpha cutoff) ~ tol``, and the
    largest k-vector (1/Å) whose Gaussian ``exp(-k^2 / 4 alpha^2)`` is above ``tol``."""
    log_tol = -math.log(tol)
    alpha = math.sqrt(log_tol) / cutoff
    return alpha, 2 * alpha * math.sqrt(log_tol)


def ewald_reciprocal_grid(
    structure: Structure,
    charges: NDArray[np.float64],
    m: int,
    weights: NDArray[np.float64],
    offsets: NDArray[np.float64],
    alpha: float,
    kmax: float,
    block: int = 1 << 16,
) -> NDArray[np.float64]:
    """Weighted sums of the reciprocal-space Ewald potential at displaced points of the
    unit cell's regular grid, exactly.

    Result ``c`` at grid point g (fractions ``(i, j, k) / m``) is
    ``sum_s weights[c, s] phi_rec(g + offsets[c, s])``: for a rigid guest, its sites'
    charges and positions in one orientation. The potential is a Fourier series over
    the k-vectors within ``kmax``; sampled on an m-point grid it is the inverse FFT of
    its coefficients folded modulo m, with no interpolation. Memory is bounded: the
    k-vectors go in planes of Miller index h, about ``block`` at a time, and the atoms
    in blocks of 1,024.

    Parameters
    ----------
    structure : Structure
    charges : NDArray[np.float64]
        Shape (n_atoms,), e.
    m : int
        Grid points per axis.
    weights : NDArray[np.float64]
        Shape (C, S).
    offsets : NDArray[np.float64]
        Shape (C, S, 3), Cartesian, Å.
    alpha, kmax : float
        From :func:`ewald_splitting`.

    Returns
    -------
    NDArray[np.float64]
        Shape (C, m, m, m), e/Å times the weights' units.
    """
    q = np.asarray(charges, dtype=np.float64).reshape(-1)
    weights = np.asarray(weights, dtype=np.float64)
    offsets = np.asarray(offsets, dtype=np.float64)
    lattice, frac = structure.lattice, structure.frac
    recip = 2 * np.pi * np.linalg.inv(lattice).T
    half = np.ceil(kmax * np.linalg.norm(lattice, axis=1) / (2 * np.pi)).astype(int)
    h = [np.arange(-x, x + 1) for x in half]
    ph2 = np.exp(-2j * np.pi * np.outer(frac[:, 1], h[1]))
    ph3 = np.exp(-2j * np.pi * np.outer(frac[:, 2], h[2]))
    n_combo = weights.shape[0]
    tables, w_re, w_im = _offset_phases(weights, offsets, recip, h)
    spectrum = np.zeros(n_combo * m**3, dtype=np.complex128)
    plane = len(h[1]) * len(h[2])
    step = max(1, block // plane)
    for lo in range(0, len(h[0]), step):
        check()
        h1 = h[0][lo : lo + step]
        hkl = np.stack(np.meshgrid(h1, h[1], h[2], indexing="ij"), axis=-1).reshape(-1, 3)
        kv = hkl @ recip
        k2 = np.einsum("ij,ij->i", kv, kv)
        inside = (k2 > 0) & (k2 <= kmax * kmax)
        if not inside.any():
            continue
        sk = _structure_factor(q, frac[:, 0], h1, ph2, ph3)
        k2, hkl = k2[inside], hkl[inside]
        coef = sk.reshape(-1)[inside] * (
            4 * np.pi / structure.volume * np.exp(-k2 / (4 * alpha * alpha)) / k2
        )
        _add_to_spectrum(spectrum, hkl, coef, half, tables, w_re, w_im, m)
    grid = np.fft.ifftn(spectrum.reshape(n_combo, m, m, m), axes=(1, 2, 3))
    return grid.real * float(m**3)


def _offset_phases(
    weights: NDArray[np.float64],
    offsets: NDArray[np.float64],
    recip: NDArray[np.float64],
    h: list[NDArray[np.int64]],
) -> tuple[list[NDArray[np.complex128]], NDArray[np.float64], NDArray[np.float64]]:
    """Phase tables of :func:`ewald_reciprocal_grid`'s offsets, per axis.

    ``exp(i k.o)`` for each distinct offset up to sign (``exp(-i k.o)`` is its
    conjugate), as products of per-axis tables (``k.o = sum_i h_i theta_i``); each
    combination is then real matrices times the phases' real and imaginary parts.

    Returns
    -------
    tables : list of three NDArray[np.complex128]
        Shape (U, len(h[i])): ``exp(i h theta_i)`` of the U distinct offsets.
    w_re, w_im : NDArray[np.float64]
        Shape (C, U): the weights of each combination on the phases' real and
        imaginary parts.
    """
    n_combo = weights.shape[0]
    flat = offsets.reshape(-1, 3)
    lead = np.array([next((x for x in row if abs(x) > 1e-12), 0.0) for row in flat])
    sign = np.where(lead < 0, -1.0, 1.0)
    _, first, group = np.unique(
        np.round(flat * sign[:, None], 9), axis=0, return_index=True, return_inverse=True
    )
    group = group.reshape(-1)
    theta = (flat[first] * sign[first, None]) @ recip.T  # (U, 3)
    tables = [np.exp(1j * theta[:, i, None] * h[i]) for i in range(3)]
    w_plus = np.zeros((n_combo, len(first)))
    w_minus = np.zeros((n_combo, len(first)))
    combo = np.repeat(np.arange(n_combo), weights.shape[1])
    np.add.at(w_plus, (combo, group), np.where(sign > 0, weights.reshape(-1), 0.0))
    np.add.at(w_minus, (combo, group), np.where(sign < 0, weights.reshape(-1), 0.0))
    return tables, w_plus + w_minus, w_plus - w_minus


def _add_to_spectrum(
    spectrum: NDArray[np.complex128],
    hkl: NDArray[np.int64],
    coef: NDArray[np.complex128],
    half: NDArray[np.int64],
    tables: list[NDArray[np.complex128]],
    w_re: NDArray[np.float64],
    w_im: NDArray[np.float64],
    m: int,
) -> None:
    """Add the Fourier coefficients ``coef`` of the k-vectors ``hkl`` (K, 3), times each
    combination's phase factor (:func:`_offset_phases`), to ``spectrum`` (C m^3, the C
    combinations' m^3 grids), each folded onto its Miller indices modulo m."""
    n_combo = w_re.shape[0]
    # (C, k): each combination's sites as one factor per k-vector
    phase = tables[0][:, hkl[:, 0] + half[0]]
    phase *= tables[1][:, hkl[:, 1] + half[1]]
    phase *= tables[2][:, hkl[:, 2] + half[2]]
    factor = w_re @ phase.real + 1j * (w_im @ phase.imag)
    flat = np.ravel_multi_index(tuple((hkl % m).T), (m, m, m))
    index = (np.arange(n_combo)[:, None] * m**3 + flat[None]).ravel()
    value = (factor * coef[None]).ravel()
    spectrum += np.bincount(index, value.real, len(spectrum))
    spectrum += 1j * np.bincount(index, value.imag, len(spectrum))


def _structure_factor(
    q: NDArray[np.float64],
    frac_a: NDArray[np.float64],
    h1: NDArray[np.int64],
    ph2: NDArray[np.complex128],
    ph3: NDArray[np.complex128],
) -> NDArray[np.complex128]:
    """``sum_j q_j exp(-2 pi i (h x_j + k y_j + l z_j))`` for the Miller indices h in
    ``h1`` and every k and l of the phase tables ``ph2`` (N, K) and ``ph3`` (N, L),
    shape (len(h1) * K, L); the atoms go in blocks of 1,024 to bound memory."""
    a1 = q[:, None] * np.exp(-2j * np.pi * np.outer(frac_a, h1))
    sk = np.zeros((len(h1) * ph2.shape[1], ph3.shape[1]), dtype=np.complex128)
    for a in range(0, len(q), 1024):
        b = slice(a, a + 1024)
        sk += (a1[b, :, None] * ph2[b, None, :]).reshape(len(q[b]), -1).T @ ph3[b]
    return sk


def ewald_potential(
    structure: Structure,
    charges: NDArray[np.float64],
    points: NDArray[np.float64],
    tol: float = 1e-6,
    cutoff: float = 6.0,
    threads: int = 1,
) -> NDArray[np.float64]:
    """The periodic electrostatic potential of the framework's charges at points.

    Ewald summation with the splitting chosen so that ``erfc(alpha cutoff) = tol``: the
    real-space part by the grid engine's cell list (:func:`retvis.core.pairs.pair_sum`),
    the reciprocal part exactly on an FFT grid of the unit cell (the structure factor
    placed at its Miller indices, one inverse FFT) and from there by cubic B-spline
    interpolation, which is accurate because that part is smooth (the charges smeared
    over ``1 / alpha``). The k = 0 term is left out: for a charged cell this is a
    neutralising background. A point on an atom leaves that atom out of the real-space
    sum but not its smeared charge (subtract ``2 alpha q / sqrt(pi)`` for the potential
    of the other atoms there).

    Parameters
    ----------
    structure : Structure
    charges : NDArray[np.float64]
        Shape (n_atoms,), e.
    points : NDArray[np.float64]
        Shape (M, 3), Cartesian, Å; any position (folded into the cell).
    tol : float
        Relative size of the terms left out.
    cutoff : float
        Real-space cutoff, Å.
    threads : int

    Returns
    -------
    NDArray[np.float64]
        Shape (M,), e/Å (times :data:`COULOMB_K` for K per elementary charge).
    """
    from scipy import fft, ndimage

    from .pairs import pair_sum

    q = np.asarray(charges, dtype=np.float64).reshape(-1)
    if q.shape != (structure.n_atoms,):
        raise ValueError(f"{q.size} charges for {structure.n_atoms} atoms")
    lattice = structure.lattice
    inv = np.linalg.inv(lattice)
    points = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    frac = points @ inv
    frac -= np.floor(frac)
    cart = frac @ lattice
    alpha, kmax = ewald_splitting(tol, cutoff)
    real = pair_sum(structure, cart, q, q, cutoff, 1e-6, 1, alpha, threads)

    m = np.ceil(kmax * np.linalg.norm(lattice, axis=1) / (2 * np.pi)).astype(int)
    nfft = tuple(fft.next_fast_len(int(max(4 * mi + 2, 8))) for mi in m)
    idx = [np.arange(-mi, mi + 1) for mi in m]
    phases = [np.exp(-2j * np.pi * np.outer(structure.frac[:, i], idx[i])) for i in range(3)]
    sk = np.einsum("j,jh,jk,jl->hkl", q, *phases, optimize=True)
    hkl = np.stack(np.meshgrid(*idx, indexing="ij"), axis=-1)
    kv = hkl @ (2 * np.pi * inv.T)
    k2 = np.einsum("...i,...i->...", kv, kv)
    weight = np.zeros_like(k2)
    inside = (k2 > 0) & (k2 <= kmax * kmax)
    weight[inside] = (
        4 * np.pi / structure.volume * np.exp(-k2[inside] / (4 * alpha * alpha)) / k2[inside]
    )
    spectrum = np.zeros(nfft, dtype=np.complex128)
    spectrum[np.ix_(*(i % n for i, n in zip(idx, nfft, strict=True)))] = weight * sk
    grid = fft.ifftn(spectrum).real * float(np.prod(nfft))
    coords = (frac * np.array(nfft)).T
    recip = ndimage.map_coordinates(grid, coords, order=3, mode="grid-wrap")
    return real + recip
