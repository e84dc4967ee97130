"""Framework partial charges by EQeq (extended charge equilibration), for CO2 labels.

EQeq (Wilmer, Kim and Snurr, J. Phys. Chem. Lett. 2012) gives every atom a charge by
equalising electronegativities, with element data (ionization energies, electron
affinities, charge centers) from the ``pyeqeq`` package (``pip install
"pybind11>=2.10" setuptools wheel`` then ``pip install --no-build-isolation pyeqeq``).

Two implementations of the same model:

- :func:`eqeq_ewald_charges`, RetVis' own and the one labels use
  (:data:`framework_charges`): the periodic sums are Ewald sums carried to
  convergence (:data:`EWALD_TOLERANCE`), the reciprocal part as two matrix
  products. A fraction of a second for a few hundred atoms.
- :func:`eqeq_charges`, pyeqeq's C++ code (the reference; kept for comparison and
  for the labels made with it). It sums both Ewald series over a cube of
  ``(2 m + 1)^3`` cells with a fixed splitting of 50 Å, which needs ``m * width``
  past ~150 Å to converge and costs ``N^2 m^3``: with its default m = 2 the charges
  of symmetry-equivalent atoms differ by up to 0.1 e in the primitive cell of
  HKUST-1 (width 15 Å; Cu 0.683-0.800 e with 2 cells, 0.849-0.880 with 4,
  0.902-0.905 with 6, 0.908 with 8). RetVis called it with ``m * width >=``
  :data:`IMAGE_LENGTH` (at most :data:`MAX_CELLS`): 5.5 minutes for 326 atoms.
  Its charges approach :func:`eqeq_ewald_charges` as m grows (measured on
  JASNEX, 66 atoms: max difference 0.103 e at m = 2, 0.0022 at m = 10, 0.00012 at
  m = 14 and 16, its 4-digit rounding). Its wrapper imports ``pkg_resources``,
  which recent setuptools no longer ship, so the extension is called directly with
  a P1 CIF written from the :class:`Structure` (charges come back in its atom
  order).
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from ..core.structure import Structure
from ..errors import SimulationError

#: Periodic images are summed up to about this length, Å (see the module docstring).
IMAGE_LENGTH = 90.0
#: Largest image count per direction (cost grows as its cube).
MAX_CELLS = 10
#: EQeq settings (the pyeqeq / original EQeq defaults).
DIELECTRIC_SCREENING = 1.2
H_ELECTRON_AFFINITY = -2.0
EWALD_SPLITTING = 50.0
PRECISION = 4
#: Names pyeqeq's settings; the identity of the CO2 labels made with it (until 2026-12).
PYEQEQ_METHOD_ID = (
    f"EQeq(pyeqeq, ewald, ds={DIELECTRIC_SCREENING}, hea={H_ELECTRON_AFFINITY}, "
    f"images>={IMAGE_LENGTH}A, precision={PRECISION})"
)

INSTALL_HINT = (
    'install it with: pip install "pybind11>=2.10" setuptools wheel && '
    "pip install --no-build-isolation pyeqeq"
)


def p1_cif(structure: Structure) -> str:
    """A minimal P1 CIF of the structure, atoms in the structure's order."""
    a, b, c, al, be, ga = structure.parameters
    lines = [
        f"data_{structure.name or 'structure'}",
        f"_cell_length_a {a:.6f}",
        f"_cell_length_b {b:.6f}",
        f"_cell_length_c {c:.6f}",
        f"_cell_angle_alpha {al:.6f}",
        f"_cell_angle_beta {be:.6f}",
        f"_cell_angle_gamma {ga:.6f}",
        "_symmetry_space_group_name_H-M 'P 1'",
        "_symmetry_Int_Tables_number 1",
        "loop_",
        "_symmetry_equiv_pos_as_xyz",
        "x,y,z",
        "loop_",
        "_atom_site_label",
        "_atom_site_type_symbol",
        "_atom_site_fract_x",
        "_atom_site_fract_y",
        "_atom_site_fract_z",
    ]
    for i, (e, f) in enumerate(zip(structure.species, structure.frac, strict=True)):
        lines.append(f"{e}{i + 1} {e} {f[0]:.8f} {f[1]:.8f} {f[2]:.8f}")
    return "\n".join(lines) + "\n"


def image_cells(structure: Structure, length: float = IMAGE_LENGTH) -> int:
    """EQeq image count so that ``cells * min(widths) >= length`` (at most MAX_CELLS)."""
    return max(2, min(MAX_CELLS, math.ceil(length / float(min(structure.widths)))))


def _data_dir() -> Path:
    spec = importlib.util.find_spec("pyeqeq")
    if spec is None or not spec.submodule_search_locations:
        raise SimulationError("EQeq charges need the pyeqeq package; " + INSTALL_HINT)
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def eqeq_charges(structure: Structure, cells: int | None = None) -> NDArray[np.float64]:
    """EQeq partial charges of every atom of the unit cell.

    Parameters
    ----------
    structure : Structure
    cells : int, optional
        Periodic images per direction in EQeq's sums; default :func:`image_cells`.

    Returns
    -------
    NDArray[np.float64]
        Shape (n_atoms,), e, summing to zero, in the structure's atom order.

    Raises
    ------
    SimulationError
        pyeqeq is missing or returned something unusable.
    """
    data = _data_dir()
    try:
        import pyeqeq_eqeq
    except ImportError as exc:
        raise SimulationError(
            f"pyeqeq's extension does not load ({exc}); " + INSTALL_HINT
        ) from None
    n = image_cells(structure) if cells is None else int(cells)
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        with pyeqeq_eqeq.ostream_redirect(stdout=True, stderr=True):
            try:
                out = pyeqeq_eqeq.run(
                    p1_cif(structure),
                    "json",
                    DIELECTRIC_SCREENING,
                    H_ELECTRON_AFFINITY,
                    PRECISION,
                    "ewald",
                    n,
                    n,
                    EWALD_SPLITTING,
                    str(data / "ionizationdata.dat"),
                    str(data / "chargecenters.dat"),
                )
            except RuntimeError as exc:
                raise SimulationError(f"EQeq failed: {exc}", structure.path) from None
    try:
        q = np.asarray(json.loads(out), dtype=np.float64).reshape(-1)
    except (ValueError, TypeError):
        tail = sink.getvalue().strip().splitlines()[-1:]
        raise SimulationError(
            f"EQeq returned no charges ({' '.join(tail)})", structure.path
        ) from None
    if q.shape != (structure.n_atoms,) or not np.all(np.isfinite(q)):
        raise SimulationError(
            f"EQeq returned {q.size} charges (finite: {bool(np.all(np.isfinite(q)))}) "
            f"for {structure.n_atoms} atoms",
            structure.path,
        )
    return q


# --- EQeq with converged Ewald sums ------------------------------------------------------

#: EQeq's Coulomb constant, eV Å (the value of the original code).
K_COULOMB = 14.4
#: First ionization energy of hydrogen, eV (EQeq's hI1).
H_IONIZATION = 13.598
#: Relative size of the terms the converged sums leave out.
EWALD_TOLERANCE = 1e-12
#: Text that names the charge method labels use, part of the identity of a protocol
#: with charges.
METHOD_ID = (
    f"EQeq(retvis, converged Ewald {EWALD_TOLERANCE:g}, ds={DIELECTRIC_SCREENING}, "
    f"hea={H_ELECTRON_AFFINITY}, pyeqeq element data)"
)


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
    """
    from scipy.special import erfc

    n = structure.n_atoms
    lattice, cart, vol = structure.lattice, structure.cart, structure.volume
    log_tol = -math.log(tol)
    a_min = float(hardness.min()) / K_COULOMB
    # real-space cutoff: erfc(alpha rc) and the overlap term both below tol
    rc = max(16.0, math.sqrt(log_tol) / a_min + 1.0)
    alpha = math.sqrt(log_tol) / rc
    out = np.zeros((n, n))
    # real space: minimum-image differences, then every image within rc
    d0 = structure.frac[:, None, :] - structure.frac[None, :, :]
    d0 -= np.round(d0)
    d0 = d0 @ lattice
    a = np.sqrt(np.outer(hardness, hardness)) / K_COULOMB
    reach = np.ceil(rc / structure.widths).astype(int)
    diag = float(np.linalg.norm(lattice.sum(axis=0))) + float(np.abs(lattice).sum())
    for u in range(-reach[0], reach[0] + 1):
        for v in range(-reach[1], reach[1] + 1):
            for w in range(-reach[2], reach[2] + 1):
                shift = np.array([u, v, w], dtype=np.float64) @ lattice
                if np.linalg.norm(shift) > rc + diag:
                    continue
                r = np.linalg.norm(d0 + shift, axis=2)
                near = (r < rc) & (r > 1e-8)
                if not near.any():
                    continue
                rr = r[near]
                aa = a[near]
                out[near] += erfc(alpha * rr) / rr + np.exp(-((aa * rr) ** 2)) * (
                    2 * aa - aa * aa * rr - 1 / rr
                )
    # reciprocal space: half of the k-vectors (k and -k give the same term), twice
    rec = 2 * np.pi * np.linalg.inv(lattice).T
    kmax = 2 * alpha * math.sqrt(log_tol)
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
        phase = cart @ kv[lo : lo + 4096].T
        c, s = np.cos(phase), np.sin(phase)
        wk = weight[lo : lo + 4096]
        out += (c * wk) @ c.T + (s * wk) @ s.T
    out[np.diag_indices(n)] -= 2 * alpha / math.sqrt(math.pi)
    return out


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
    m = DIELECTRIC_SCREENING * (K_COULOMB / 2) * _ewald_matrix(structure, hard)
    m[np.diag_indices(n)] += hard
    # X_i + sum_j M_ij q_j = mu for every i, sum_i q_i = total charge
    a = np.zeros((n + 1, n + 1))
    a[:n, :n] = m
    a[:n, n] = -1.0
    a[n, :n] = 1.0
    b = np.concatenate([-x, [total_charge]])
    try:
        q = np.linalg.solve(a, b)[:n]
    except np.linalg.LinAlgError as exc:
        raise SimulationError(f"EQeq: {exc}", structure.path) from None
    if not np.all(np.isfinite(q)):
        raise SimulationError("EQeq gave non-finite charges", structure.path)
    return q - (q.sum() - total_charge) / n


#: The charge method the GCMC worker uses when ``Protocol.charges`` is set.
framework_charges = eqeq_ewald_charges
