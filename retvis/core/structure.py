"""Crystal structures read from CIF files.

A :class:`Structure` is a frozen, plain-NumPy description of a periodic framework:
lattice vectors, fractional coordinates and element symbols. It is read with gemmi
(C++, ~100x faster than pymatgen on CoRE MOF CIFs, same atoms: see
``tests/core/test_structure.py``) and validated so that anything RetVis cannot use
raises a :class:`~retvis.errors.StructureError` naming the file and the problem.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from ..errors import LimitError, StructureError

#: Largest CIF file read, bytes. CoRE MOF's largest is ~1 MB.
MAX_FILE_BYTES = 64 * 1024 * 1024
#: Largest number of atoms in a unit cell accepted (CoRE MOF 2019's largest has ~10,000).
MAX_ATOMS = 20_000
#: Occupancies below this are treated as partial (disorder).
FULL_OCCUPANCY = 0.99
#: Isotopes and pseudo-elements mapped to the element whose parameters they use.
ELEMENT_ALIASES = {"D": "H", "T": "H"}

_MAGIC = {
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"%PDF": "a PDF document",
    b"PK\x03\x04": "a zip archive",
    b"\x1f\x8b": "a gzip archive",
    b"\x7fELF": "an executable",
    b"\x93NUMPY": "a NumPy array",
    b"SQLite format 3": "an SQLite database",
}


@dataclass(frozen=True, eq=False)
class Structure:
    """A periodic crystal structure.

    Attributes
    ----------
    name : str
        Material name (the file stem).
    lattice : NDArray[np.float64]
        Shape (3, 3); rows are the lattice vectors a, b, c in Å.
    frac : NDArray[np.float64]
        Shape (n_atoms, 3); fractional coordinates wrapped into [0, 1).
    species : tuple of str
        Element symbol of each atom.
    path : Path or None
        File the structure was read from.
    digest : str
        SHA-256 of the file's bytes (content address), or of the arrays when built
        in memory.
    """

    name: str
    lattice: NDArray[np.float64]
    frac: NDArray[np.float64]
    species: tuple[str, ...]
    path: Path | None = None
    digest: str = field(default="")

    def __post_init__(self) -> None:
        lat = np.ascontiguousarray(self.lattice, dtype=np.float64).reshape(3, 3)
        frac = np.ascontiguousarray(self.frac, dtype=np.float64).reshape(-1, 3)
        frac = frac - np.floor(frac)
        frac[frac >= 1.0] = 0.0
        lat.setflags(write=False)
        frac.setflags(write=False)
        object.__setattr__(self, "lattice", lat)
        object.__setattr__(self, "frac", frac)
        object.__setattr__(self, "species", tuple(self.species))
        if len(self.species) != len(frac):
            raise StructureError(
                f"{len(self.species)} species for {len(frac)} coordinates", self.path
            )
        if not self.digest:
            h = hashlib.sha256(lat.tobytes() + frac.tobytes())
            h.update(" ".join(self.species).encode())
            object.__setattr__(self, "digest", h.hexdigest())

    @property
    def n_atoms(self) -> int:
        """Number of atoms in the unit cell."""
        return len(self.species)

    @cached_property
    def volume(self) -> float:
        """Unit-cell volume, Å^3."""
        return float(abs(np.linalg.det(self.lattice)))

    @property
    def cart(self) -> NDArray[np.float64]:
        """Cartesian coordinates, shape (n_atoms, 3), Å."""
        return self.frac @ self.lattice

    @cached_property
    def widths(self) -> NDArray[np.float64]:
        """Perpendicular cell widths (w_a, w_b, w_c), Å: ``V / |b x c|`` etc."""
        a, b, c = self.lattice
        v = self.volume
        return np.array(
            [v / np.linalg.norm(np.cross(b, c)), v / np.linalg.norm(np.cross(c, a)),
             v / np.linalg.norm(np.cross(a, b))]
        )

    @cached_property
    def parameters(self) -> tuple[float, float, float, float, float, float]:
        """Cell lengths (Å) and angles (degrees): a, b, c, alpha, beta, gamma."""
        a, b, c = self.lattice
        la, lb, lc = (float(np.linalg.norm(v)) for v in (a, b, c))

        def ang(u, v, lu, lv):
            return math.degrees(math.acos(max(-1.0, min(1.0, float(u @ v) / (lu * lv)))))

        return la, lb, lc, ang(b, c, lb, lc), ang(a, c, la, lc), ang(a, b, la, lb)

    @cached_property
    def composition(self) -> dict[str, int]:
        """Element counts in the unit cell."""
        return dict(Counter(self.species))

    @property
    def formula(self) -> str:
        """Unit-cell formula in Hill order (C, H, then alphabetical), e.g. ``C72H24Cu12O48``."""
        comp = self.composition
        order = [e for e in ("C", "H") if e in comp] if "C" in comp else []
        order += sorted(e for e in comp if e not in order)
        return "".join(f"{e}{comp[e] if comp[e] != 1 else ''}" for e in order)

    @cached_property
    def mass(self) -> float:
        """Unit-cell mass, g/mol (atomic mass units)."""
        import gemmi

        return float(sum(gemmi.Element(e).weight * n for e, n in self.composition.items()))

    @property
    def density(self) -> float:
        """Framework density, g/cm^3."""
        return self.mass / (self.volume * 0.6022140857)


def _read_bytes(path: Path) -> bytes:
    if not path.exists() and not path.is_symlink():
        raise StructureError("file not found", path)
    try:
        if path.is_dir():
            raise StructureError("is a folder, not a CIF file", path)
        size = path.stat().st_size
    except OSError as exc:  # symlink loops, permission on parent
        raise StructureError(f"cannot read file: {exc.strerror or exc}", path) from exc
    if size > MAX_FILE_BYTES:
        raise LimitError(
            f"file is {size / 2**20:.0f} MiB; CIFs larger than "
            f"{MAX_FILE_BYTES / 2**20:.0f} MiB are refused",
            path,
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise StructureError(f"cannot read file: {exc.strerror or exc}", path) from exc
    if not data.strip():
        raise StructureError("file is empty", path)
    for magic, what in _MAGIC.items():
        if data.startswith(magic):
            raise StructureError(f"not a CIF file: it is {what}", path)
    if b"\x00" in data[:65536]:
        raise StructureError("not a CIF file: it contains binary data", path)
    return data


def _decode(data: bytes, path: Path) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        # CIF 1.1 is ASCII; many programs write Latin-1 in comments and author names.
        return data.decode("latin-1")


def read_structure(path: str | Path, max_atoms: int = MAX_ATOMS) -> Structure:
    """Read and validate a CIF file.

    Parameters
    ----------
    path : str or Path
        CIF file.
    max_atoms : int
        Largest unit cell accepted.

    Returns
    -------
    Structure

    Raises
    ------
    StructureError
        Unreadable, not a CIF, malformed, no cell, no atoms, disorder, unknown
        elements, non-finite numbers.
    LimitError
        File or cell too large.
    """
    path = Path(path)
    data = _read_bytes(path)
    text = _decode(data, path)
    lattice, frac, species = _parse_gemmi(text, path, max_atoms)
    return Structure(path.stem, lattice, frac, species, path, hashlib.sha256(data).hexdigest())


def _parse_gemmi(text: str, path: Path, max_atoms: int):
    import gemmi

    try:
        doc = gemmi.cif.read_string(text)
    except (ValueError, RuntimeError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise StructureError(f"malformed CIF: {msg}", path) from None
    blocks = [b for b in doc if b.find_value("_cell_length_a") is not None]
    if not blocks:
        if len(doc) == 0:
            raise StructureError("malformed CIF: no data_ block", path)
        raise StructureError("no unit cell: _cell_length_a/b/c and angles are missing", path)
    block = blocks[0]
    missing = [t for t in ("_cell_length_a", "_cell_length_b", "_cell_length_c")
               if block.find_value(t) is None]
    if missing:
        raise StructureError(f"no unit cell: {', '.join(missing)} missing", path)
    try:
        small = gemmi.make_small_structure_from_block(block)
    except (ValueError, RuntimeError) as exc:
        raise StructureError(f"malformed CIF: {exc}", path) from None

    cell = small.cell
    params = (cell.a, cell.b, cell.c, cell.alpha, cell.beta, cell.gamma)
    if not all(math.isfinite(p) for p in params):
        raise StructureError("cell parameters are not finite numbers", path)
    if min(params[:3]) <= 0:
        raise StructureError(f"cell lengths must be positive, got {params[:3]}", path)
    if not (cell.volume > 1e-6) or not math.isfinite(cell.volume):
        raise StructureError(
            f"cell volume is {cell.volume:.3g} Å^3 (angles {params[3:]} do not make a cell)",
            path,
        )
    if not small.sites:
        raise StructureError("no atoms: the CIF has no _atom_site_fract_x/y/z loop", path)

    bad = [s.label for s in small.sites if not all(math.isfinite(v) for v in s.fract.tolist())]
    if bad:
        raise StructureError(
            f"non-numeric or non-finite coordinates for site(s) {', '.join(bad[:5])}", path
        )
    partial = [s for s in small.sites if s.occ < FULL_OCCUPANCY]
    if partial:
        ex = ", ".join(f"{s.label} ({s.occ:g})" for s in partial[:3])
        raise StructureError(
            f"disordered structure: {len(partial)} site(s) with partial occupancy, e.g. {ex}; "
            "resolve the disorder (keep one configuration) before screening",
            path,
        )
    unknown = sorted({s.label for s in small.sites if s.element.name in ("X", "")})
    if unknown:
        raise StructureError(
            f"unknown element for site(s) {', '.join(unknown[:5])}; "
            "set _atom_site_type_symbol to an element symbol",
            path,
        )
    if len(small.sites) * max(1, len(small.spacegroup.operations()) if small.spacegroup
                              else 1) > 50 * max_atoms:
        raise LimitError(f"more than {max_atoms} atoms per unit cell", path)

    sites = small.get_all_unit_cell_sites()
    n = len(sites)
    if n > max_atoms:
        raise LimitError(
            f"{n} atoms in the unit cell; the limit is {max_atoms} (Settings > Limits)", path
        )
    frac = np.array([s.fract.tolist() for s in sites], dtype=np.float64).reshape(-1, 3)
    species = tuple(ELEMENT_ALIASES.get(s.element.name, s.element.name) for s in sites)
    return np.array(cell.orth.mat.tolist()).T, frac, species


def read_structure_pymatgen(path: str | Path) -> Structure:
    """Read a CIF with pymatgen (slow reference reader, used to validate gemmi's).

    Parameters
    ----------
    path : str or Path
        CIF file.
    """
    import warnings

    from pymatgen.io.cif import CifParser

    path = Path(path)
    data = _read_bytes(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            s = CifParser.from_str(_decode(data, path)).parse_structures(primitive=False)[0]
        except Exception as exc:  # pymatgen raises many types; this is the reference path
            raise StructureError(f"pymatgen could not parse it: {exc}", path) from None
    species = tuple(ELEMENT_ALIASES.get(sp.symbol, sp.symbol) for sp in
                    (site.specie.element if hasattr(site.specie, "element") else site.specie
                     for site in s))
    return Structure(
        path.stem, s.lattice.matrix, s.frac_coords, species, path,
        hashlib.sha256(data).hexdigest(),
    )


def supercell_factors(structure: Structure, cutoff: float) -> tuple[int, int, int]:
    """Replications along a, b, c so every perpendicular width is at least ``2 * cutoff``.

    ``ceil(2 * cutoff / w_i)`` as in METHOD.md section 1 (the minimum image convention).
    """
    return tuple(int(math.ceil(2.0 * cutoff / w)) for w in structure.widths)
