"""Framework partial charges by EQeq (extended charge equilibration), for CO2 labels.

EQeq (Wilmer, Kim and Snurr, J. Phys. Chem. Lett. 2012) is run through the C++
extension of the ``pyeqeq`` package (``pip install "pybind11>=2.10" setuptools wheel``
then ``pip install --no-build-isolation pyeqeq``). Its Python wrapper imports
``pkg_resources``, which recent setuptools no longer ship, so the extension is called
directly here with the package's own data files.

The structure is handed over as a P1 CIF written from the :class:`Structure`, so the
charges come back in the structure's atom order. EQeq sums the periodic Coulomb
interactions over ``num_cells`` images in every direction; with its default of 2 the
charges of symmetry-equivalent atoms differ by up to 0.1 e in the primitive cell of
HKUST-1 (perpendicular width 15 Å). Measured there: Cu 0.683-0.800 e with 2 cells,
0.849-0.880 with 4, 0.902-0.905 with 6, 0.908 (all equal) with 8. The image count is
therefore chosen so that ``num_cells * smallest width`` reaches
:data:`IMAGE_LENGTH` Å.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import math
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
#: Text that names these settings, part of the identity of a protocol with charges.
METHOD_ID = (
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


#: The charge method the GCMC worker uses when ``Protocol.charges`` is set.
framework_charges = eqeq_charges
