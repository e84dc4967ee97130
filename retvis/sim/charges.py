"""Framework partial charges by EQeq (extended charge equilibration), for CO2 labels.

EQeq (Wilmer, Kim and Snurr, J. Phys. Chem. Lett. 2012) gives every atom a charge by
equalising electronegativities, with element data (ionization energies, electron
affinities, charge centers) from the ``pyeqeq`` package (``pip install
"pybind11>=2.10" setuptools wheel`` then ``pip install --no-build-isolation pyeqeq``).

Two implementations of the same model:

- :func:`eqeq_ewald_charges` (:mod:`retvis.core.charges`), RetVis' own and the
  one labels use (:data:`framework_charges`): the periodic sums are Ewald sums carried to
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
import io
import json
import math

import numpy as np
from numpy.typing import NDArray

from ..core.charges import (  # noqa: F401  (re-exported: the labels' charge method)
    DIELECTRIC_SCREENING,
    EWALD_TOLERANCE,
    H_ELECTRON_AFFINITY,
    INSTALL_HINT,
    EqeqParameters,
    _data_dir,
    _ewald_matrix,
    eqeq_ewald_charges,
    eqeq_parameters,
)
from ..core.structure import Structure
from ..errors import SimulationError

#: Periodic images are summed up to about this length, Å (see the module docstring).
IMAGE_LENGTH = 90.0
#: Largest image count per direction (cost grows as its cube).
MAX_CELLS = 10
#: pyeqeq's own settings (its solver and rounding).
EWALD_SPLITTING = 50.0
PRECISION = 4
#: Names pyeqeq's settings; the identity of the CO2 labels made with it (until 2026-12).
PYEQEQ_METHOD_ID = (
    f"EQeq(pyeqeq, ewald, ds={DIELECTRIC_SCREENING}, hea={H_ELECTRON_AFFINITY}, "
    f"images>={IMAGE_LENGTH}A, precision={PRECISION})"
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


#: Text that names the charge method labels use, part of the identity of a protocol
#: with charges.
METHOD_ID = (
    f"EQeq(retvis, converged Ewald {EWALD_TOLERANCE:g}, ds={DIELECTRIC_SCREENING}, "
    f"hea={H_ELECTRON_AFFINITY}, pyeqeq element data)"
)


#: The charge method the GCMC worker uses when ``Protocol.charges`` is set.
framework_charges = eqeq_ewald_charges
