"""One cell per crystal: the setting-free representation energy grids are computed on.

A CIF can write the same crystal in many settings: the deposited cell, the conventional
or primitive standard cell, a Niggli-reduced cell, any supercell, any origin, any
permutation or sign of the axes. The energy grid (and so a prediction) is a function of
the cell it is computed on, so RetVis first maps every setting of a crystal to one
*canonical cell* (``docs/invariance.md``):

1. **Standard cell.** spglib finds the space group (``SYMPREC``, Å) and gives the
   conventional standard cell with an idealised metric; the file's own positions,
   transformed into it, are projected onto the symmetry (:func:`symmetrize`). Any
   supercell, origin or axis choice of the input gives the same standard cell up to the
   residual choices of step 3. A triclinic cell (P1, P-1) is Niggli-reduced, which is
   unique up to the same residual choices.
2. **Fallback.** When spglib finds no symmetry (or fails), the input cell is
   Niggli-reduced instead and the result is noted: origin and axis choices are still
   canonical, but a supercell of such a structure is not reduced to its cell.
3. **Origin and axes.** What is left is the choice of origin among equivalent points and
   of the basis among the lattice's automorphisms (integer unimodular matrices with
   entries in {-1, 0, 1} that keep the metric: the signed axis permutations of a cubic
   cell, the 120-degree turns of a hexagonal one, ...). Every candidate places one atom
   of the rarest element (the *anchor*) at the origin and applies one automorphism; the
   candidate whose atoms, written as sorted (element, rounded fractional coordinates)
   rows, come first in lexicographic order wins. The result depends only on the
   crystal.

The canonical cell also gives the crystal's identity, :attr:`Canonical.crystal`: a
SHA-256 of its rounded lattice parameters and atoms, equal for every file that holds the
same crystal, whatever its setting.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import threading
import warnings
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

from .structure import Structure

log = logging.getLogger(__name__)
# spglib 2.x warns on every call until its error handling is switched globally (which
# would change what pymatgen's calls see); RetVis handles both a None and a raise.
warnings.filterwarnings("ignore", message="Set OLD_ERROR_HANDLING", category=DeprecationWarning)

#: Bump when the canonical cell of a structure changes; part of a canonical grid's key.
CANONICAL_VERSION = 1
#: Symmetry tolerance of the standardisation, Å (spglib's ``symprec``).
SYMPREC = 0.01
#: Fractional-coordinate resolution of the canonical ordering and of the crystal digest:
#: a power of two, so that no decimal coordinate of a CIF (0.0685, 0.4315) falls on a
#: rounding boundary, as it would at 1e-3.
KEY_RESOLUTION = 1 / 1024
#: Relative tolerance on the metric for a lattice automorphism.
METRIC_TOLERANCE = 1e-4
#: Largest number of (anchor, automorphism) candidates compared in full; beyond it the
#: anchor-only key decides (a large high-symmetry cell, where it already separates them).
MAX_FULL_CANDIDATES = 4096


@dataclass(frozen=True, eq=False)
class Canonical:
    """A structure in its canonical cell.

    Attributes
    ----------
    structure : Structure
        The canonical cell (same name, path and file digest as the input).
    index : NDArray[np.int64]
        For each canonical atom, the index of an input atom it is equivalent to (to carry
        per-atom data such as charges across).
    crystal : str
        SHA-256 of the canonical cell: the same for every setting of the same crystal.
    spacegroup : str
        International symbol and number, e.g. ``"Fm-3m (225)"``; ``""`` without symmetry.
    note : str
        Empty when the standardisation succeeded, else why the fallback was used.
    operations : int
        Symmetry operations of the canonical cell's space group in its setting (what
        symmetrising the positions cost; 1 for the fallbacks).
    """

    structure: Structure
    index: NDArray[np.int64]
    crystal: str
    spacegroup: str
    note: str = ""
    operations: int = 1

    def meta(self) -> dict[str, str]:
        """The plain-JSON facts a grid carries (:attr:`retvis.core.grid.EnergyGrid.meta`)."""
        return {"crystal": self.crystal, "spacegroup": self.spacegroup, "cell_note": self.note}


def atomic_numbers(species: tuple[str, ...]) -> NDArray[np.int32]:
    """Atomic number of each element symbol."""
    import gemmi

    table = {e: gemmi.Element(e).atomic_number for e in set(species)}
    return np.array([table[e] for e in species], dtype=np.int32)


@lru_cache(maxsize=1)
def _unimodular() -> NDArray[np.int64]:
    """Every 3x3 matrix with entries in {-1, 0, 1} and determinant +-1, shape (K, 3, 3)."""
    rows = np.array(list(itertools.product((-1, 0, 1), repeat=9)), dtype=np.int64).reshape(-1, 3, 3)
    det = np.rint(np.linalg.det(rows)).astype(np.int64)
    return rows[np.abs(det) == 1]


def automorphisms(lattice: NDArray[np.float64]) -> NDArray[np.int64]:
    """The lattice's basis changes that keep its metric, shape (K, 3, 3), identity first.

    Each ``M`` maps fractional coordinates ``f -> f @ M`` of an equivalent description of
    the same lattice with the same cell parameters.
    """
    g = lattice @ lattice.T
    ms, codes = _unimodular(), _row_codes()
    tol = METRIC_TOLERANCE * np.abs(g).max()
    # each new basis vector (a row m_i of M) must keep its length, m_i G m_i = g_ii: a
    # necessary condition checked on the 27 possible rows first, which leaves few matrices
    v = _VECTORS
    lengths = np.einsum("vi,ij,vj->v", v, g, v)
    row_ok = np.abs(lengths[None, :] - np.diag(g)[:, None]) <= tol  # (3, 27)
    ms = ms[row_ok[0, codes[:, 0]] & row_ok[1, codes[:, 1]] & row_ok[2, codes[:, 2]]]
    # metric of the new basis M^-1 L: M^-1 G M^-T; for the candidates M^-1 runs over the
    # same set, so test M G M^T
    gm = (ms @ g) @ ms.transpose(0, 2, 1)
    found = ms[np.abs(gm - g).max(axis=(1, 2)) <= tol]
    eye = np.all(found == np.eye(3, dtype=np.int64), axis=(1, 2))
    return np.concatenate([found[eye], found[~eye]])


#: The 27 vectors with entries in {-1, 0, 1}, in the order of :func:`_row_codes`.
_VECTORS = np.array(list(itertools.product((-1, 0, 1), repeat=3)), dtype=np.float64)


@lru_cache(maxsize=1)
def _row_codes() -> NDArray[np.int64]:
    """For each matrix of :func:`_unimodular`, the index of each of its rows in
    :data:`_VECTORS`, shape (K, 3)."""
    m = _unimodular() + 1
    return (m[:, :, 0] * 3 + m[:, :, 1]) * 3 + m[:, :, 2]


def _niggli(lattice: NDArray[np.float64], frac: NDArray[np.float64]):
    """Niggli-reduced lattice and the fractional coordinates in it (input unchanged on failure)."""
    import spglib

    reduced = spglib.niggli_reduce(lattice, eps=1e-5)
    if reduced is None:
        return lattice, frac
    reduced = np.asarray(reduced, dtype=np.float64)
    f = (frac @ lattice) @ np.linalg.inv(reduced)
    return reduced, f - np.floor(f)


def reduced_structure(structure: Structure) -> Structure:
    """The same crystal, atoms in the same order, in its Niggli-reduced cell (the lattice
    itself unchanged: every periodic property is the same at every Cartesian point)."""
    lattice, frac = _niggli(structure.lattice, structure.frac)
    if lattice is structure.lattice:
        return structure
    return Structure(
        structure.name, lattice, frac, structure.species, structure.path, structure.digest
    )


def _standard_cell(structure: Structure, numbers: NDArray[np.int32]):
    """spglib's conventional standard cell: lattice, fractions, types, input index, symbol,
    note and the number of symmetry operations.

    One symmetry search (``get_symmetry_dataset``) gives everything: the standard lattice
    with its idealised metric, the input's own positions carried into the standard setting
    by the transformation ``(P, p)`` (:func:`_input_positions`), the operations of the
    standard setting from spglib's database, and the orbits, for :func:`symmetrize`.
    """
    import spglib

    cell = (structure.lattice, structure.frac, numbers)
    try:
        data = spglib.get_symmetry_dataset(cell, symprec=SYMPREC)
    except Exception as exc:  # noqa: BLE001 - any library failure is the fallback
        data, why = None, f"spglib failed ({exc})"
    else:
        why = "no symmetry found within tolerance"
    if data is None:
        lat, frac = _niggli(structure.lattice, structure.frac)
        return (
            lat,
            frac,
            numbers,
            np.arange(structure.n_atoms),
            "",
            (
                f"{why}: the Niggli-reduced input cell is used, so a supercell of this "
                "structure is not reduced to its cell"
            ),
            1,
        )
    lat = np.asarray(data.std_lattice, dtype=np.float64)  # idealised metric
    types = np.asarray(data.std_types, dtype=np.int32)
    # std atom -> primitive atom -> first input atom mapped to it
    prim_of_input = np.asarray(data.mapping_to_primitive)
    prim_of_std = np.asarray(data.std_mapping_to_primitive)
    first = np.full(prim_of_input.max() + 1, -1, dtype=np.int64)
    first[prim_of_input[::-1]] = np.arange(len(prim_of_input))[::-1]
    index = first[prim_of_std]
    # the input's own positions in the standard setting (spglib's idealised positions
    # depend on the input setting at the level of the file's noise); symmetrised below
    frac = _input_positions(structure.frac, data, lat)
    ops = spglib.get_symmetry_from_database(data.hall_number)
    rot, trans = np.asarray(ops["rotations"], float), np.asarray(ops["translations"], float)
    if data.number <= 2:
        lat_std = lat
        lat, frac = _niggli(lat, frac)
        # the operations (identity, inversion) in the reduced basis, whose rows are f T
        t = lat_std @ np.linalg.inv(lat)
        t_inv = np.linalg.inv(t)
        rot = np.einsum("ji,kjl,ml->kim", t, rot, t_inv)  # T^T R T^-T, on columns
        trans = trans @ t
    orbits = np.asarray(data.crystallographic_orbits)[index]
    frac = symmetrize(lat, frac, types, (rot, trans), orbits)
    return lat, frac, types, index, f"{data.international} ({data.number})", "", len(rot)


def _input_positions(frac_in: NDArray[np.float64], data, lattice) -> NDArray[np.float64]:
    """The input atoms' positions in the standard cell of ``data``, one per standard atom.

    Each input atom ``x`` sits at ``P x + p`` in the standard setting. A standard atom is
    that point up to a lattice or centring translation (the differences between the
    standard atoms of one primitive atom); each standard atom takes the mean offset of all
    input atoms of its primitive atom (several when the input is a supercell) from its
    idealised position.
    """
    std = np.asarray(data.std_positions, dtype=np.float64)
    prim_in = np.asarray(data.mapping_to_primitive)
    prim_std = np.asarray(data.std_mapping_to_primitive)
    y = frac_in @ np.asarray(data.transformation_matrix, float).T + np.asarray(
        data.origin_shift, float
    )
    group0 = np.flatnonzero(prim_std == prim_std[0])
    cents = std[group0] - std[0]
    cents -= np.round(cents)  # centring translations, (C, 3), the zero vector included
    # every (standard atom, input atom of the same primitive atom) pair
    order = np.argsort(prim_in, kind="stable")
    counts = np.bincount(prim_in, minlength=prim_std.max() + 1)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    per = counts[prim_std]
    pair_std = np.repeat(np.arange(len(std)), per)
    offset = np.arange(len(pair_std)) - np.repeat(np.cumsum(per) - per, per)
    pair_in = order[starts[prim_std[pair_std]] + offset]
    d = (y[pair_in] - std[pair_std])[:, None, :] - cents[None]  # (pairs, C, 3)
    d -= np.round(d)
    cart = np.einsum("pcj,jk->pck", d, lattice)
    pick = np.argmin((cart**2).sum(-1), axis=1)  # the nearest centring copy
    d = d[np.arange(len(d)), pick]
    mean = np.stack([np.bincount(pair_std, d[:, k], minlength=len(std)) for k in range(3)], 1)
    return std + mean / per[:, None]


def symmetrize(lattice, frac, types, ops, orbits=None) -> NDArray[np.float64]:
    """Fractional coordinates projected onto the cell's symmetry.

    Each atom becomes the average of the images that every operation of the space group
    (``ops``: rotations (K, 3, 3) and translations (K, 3) acting on fractional column
    vectors) maps onto it. spglib's idealisation places special positions exactly, but a
    general position keeps the file's noise (about 1e-4 Å in CoRE MOF): without this the
    equivalent anchors of step 3 would differ by that much, and so would the grids of two
    settings. The average is taken for one atom of each orbit (``orbits``: a label per
    atom; found from the operations when not given or not consistent with them) and
    carried to the rest of its orbit by the operations, which gives the same projection
    as averaging every atom. Returns ``frac`` unchanged if an operation does not map the
    atoms onto atoms of the same type within the tolerance.
    """
    from scipy.spatial import cKDTree

    rot, trans = (np.asarray(a, dtype=np.float64) for a in ops)
    if len(rot) <= 1:
        return frac
    f = frac - np.floor(frac)
    f[f >= 1.0] = 0.0
    tree = cKDTree(f, boxsize=1.0)
    tol = 3 * SYMPREC / float(np.linalg.norm(lattice, axis=1).min())

    def images(which, ops_slice):
        """Images of atoms ``which`` under the operations ``ops_slice``, (k, R, 3)."""
        return np.einsum("kij,rj->kri", rot[ops_slice], f[which]) + trans[ops_slice, None]

    def landing(which):
        """For blocks of operations (about 2e6 coordinates at a time: bounded memory), the
        atom each image of ``which`` lands on, or None where one lands on no atom of its
        own type within the tolerance."""
        per = max(1, 2_000_000 // (3 * len(which)))
        for start in range(0, len(rot), per):
            block = images(which, slice(start, start + per))
            wrapped = block - np.floor(block)
            wrapped[wrapped >= 1.0] = 0.0
            dist, j = tree.query(wrapped.reshape(-1, 3))
            j = j.reshape(block.shape[:2])
            yield None if dist.max() > tol or (types[j] != types[which][None]).any() else j

    def representatives(labels):
        """One atom per orbit and the atoms its images land on, or None if ``labels``
        are not orbits of these operations."""
        labels = np.asarray(labels)
        _, reps = np.unique(labels, return_index=True)
        blocks = list(landing(reps))
        if any(j is None for j in blocks):
            return None
        j = np.concatenate(blocks)
        return (reps, j) if (labels[j] == labels[reps][None]).all() else None

    found = representatives(orbits) if orbits is not None else None
    if found is None:  # the orbits from the operations: the smallest atom each reaches
        labels = np.arange(len(f))
        for j in landing(labels):
            if j is None:
                return frac  # not a symmetry of these atoms within the tolerance
            labels = np.minimum(labels, j.min(axis=0))
        found = representatives(labels)
    if found is None:
        return frac
    reps, j = found
    img = images(reps, slice(None))
    # x_r - mean over h of R_h^-1 (h(x_r) - x_h(r)), the latter unwrapped next to h(x_r)
    delta = img - f[j]
    delta -= np.round(delta)
    mean = f[reps] - np.einsum("kij,krj->kri", np.linalg.inv(rot), delta).mean(axis=0)
    # each atom of an orbit: the first operation's image of its representative's mean
    out = np.full_like(f, np.nan)
    moved = np.einsum("kij,rj->kri", rot, mean) + trans[:, None]
    flat_j, flat_m = j[::-1].reshape(-1), moved[::-1].reshape(-1, 3)  # first op wins
    out[flat_j] = flat_m - np.round(flat_m - f[flat_j])
    if np.isnan(out).any():
        return frac
    return out


def _keys(frac: NDArray[np.float64], scale: int) -> NDArray[np.int64]:
    """Rounded fractional coordinates in [0, scale), integer."""
    return np.rint(frac * scale).astype(np.int64) % scale


def _codes(types: NDArray, frac: NDArray[np.float64]) -> NDArray[np.int64]:
    """One sortable integer per atom: (type, rounded a, b, c) in mixed radix; ``frac`` may
    carry leading candidate axes, ``types`` is broadcast against them."""
    s = int(round(1 / KEY_RESOLUTION))
    k = _keys(frac, s)
    return ((types.astype(np.int64) * s + k[..., 0]) * s + k[..., 1]) * s + k[..., 2]


def _lexmin(rows: NDArray[np.int64]) -> NDArray[np.int64]:
    """Indices of the lexicographically smallest rows of a 2D array (all ties)."""
    idx = np.arange(len(rows))
    # only the columns where some candidate differs from the first can separate them
    for col in np.flatnonzero((rows != rows[:1]).any(axis=0)):
        v = rows[idx, col]
        idx = idx[v == v.min()]
        if len(idx) == 1:
            break
    return idx


def environment(lattice, frac, types, which, radius: float = 6.0) -> NDArray[np.float64]:
    """A setting-free fingerprint of each atom in ``which``: the sum over its neighbours
    within ``radius`` (periodic images included) of ``Z exp(-(r / 2 Å)^2)``, rounded to 9
    significant digits. Equal for symmetry-equivalent atoms."""
    from scipy.spatial import cKDTree

    from .pairs import images

    cell = Structure("env", lattice, frac, ("X",) * len(frac))
    pos, owner = images(cell, radius)
    centres = frac[which] @ lattice
    pairs = cKDTree(centres).sparse_distance_matrix(cKDTree(pos), radius, output_type="ndarray")
    pairs = pairs[pairs["v"] > 1e-6]
    out = np.bincount(
        pairs["i"],
        types[owner[pairs["j"]]] * np.exp(-((pairs["v"] / 2.0) ** 2)),
        minlength=len(which),
    )
    return np.array([float(f"{v:.9g}") for v in out])


def _best(frac, types, anchors, autos, subset) -> list[tuple[int, int]]:
    """The (anchor, automorphism) candidates whose ``subset`` atoms sort first."""
    sub_f, sub_t = frac[subset], types[subset]
    rows, cands = [], []
    per = max(1, int(4_000_000 // max(1, len(autos) * len(subset) * 3)))
    for start in range(0, len(anchors), per):
        a = anchors[start : start + per]
        f = (sub_f[None] - frac[a][:, None])[:, None] @ autos[None]  # (a, k, n, 3)
        c = np.sort(_codes(sub_t, f - np.floor(f)), axis=-1).reshape(-1, len(subset))
        win = _lexmin(c)
        rows.append(c[win])
        cands += [(int(a[w // len(autos)]), int(w % len(autos))) for w in win]
    rows = np.concatenate(rows)
    return [cands[i] for i in _lexmin(rows)]


def _choose(lattice, frac, types) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """The canonical (origin, automorphism) of a standard cell: its fractions and the
    canonical atom order."""
    counts = {int(t): int(np.sum(types == t)) for t in np.unique(types)}
    anchor_type = min(counts, key=lambda t: (counts[t], -t))
    same = np.flatnonzero(types == anchor_type)
    anchors = same
    if len(anchors) > 1:
        env = environment(lattice, frac, types, anchors)
        anchors = anchors[env == env.min()]
    autos = automorphisms(lattice)
    tied = _best(frac, types, anchors, autos, same)

    def placed(cands: list[tuple[int, int]]) -> NDArray[np.float64]:
        """The fractions of each candidate's placement, shape (len(cands), n, 3)."""
        a = np.array([c[0] for c in cands])
        f = (frac[None] - frac[a][:, None]) @ autos[np.array([c[1] for c in cands])]
        return f - np.floor(f)

    # the whole cell decides among tied candidates, blocks of about 4e6 coordinates
    per = max(1, 4_000_000 // (3 * len(frac)))
    if len(tied) > 1:
        tied = tied[:MAX_FULL_CANDIDATES]
        rows = np.concatenate(
            [
                np.sort(_codes(types, placed(tied[s : s + per])), axis=-1)
                for s in range(0, len(tied), per)
            ]
        )
        tied = [tied[i] for i in _lexmin(rows)]
    if len(tied) > 1:
        # Still tied at KEY_RESOLUTION: candidates that are equivalent, or that differ
        # by less than the resolution (a pseudo-symmetry of the file's noise, 1e-4 Å).
        # The finer coordinates decide (at 2^-30, far above rounding noise), in the atom
        # order of the rounded codes, which the tied candidates share.
        rows = []
        for s in range(0, len(tied), per):
            f = placed(tied[s : s + per])
            fine = np.rint(f * 2**30).astype(np.int64) % 2**30
            order = np.argsort(_codes(types, f), axis=-1, kind="stable")
            rows.append(np.take_along_axis(fine, order[..., None], axis=1).reshape(len(f), -1))
        tied = [tied[i] for i in _lexmin(np.concatenate(rows))]
    f = placed(tied[:1])[0]
    return f, np.argsort(_codes(types, f), kind="stable")


def crystal_digest(lattice: NDArray[np.float64], frac, types) -> str:
    """SHA-256 of a canonical cell: lattice parameters (1/1024 Å and degrees) and sorted
    (atomic number, fractional coordinates to :data:`KEY_RESOLUTION`) rows."""
    a, b, c = (float(np.linalg.norm(v)) for v in lattice)
    g = lattice @ lattice.T
    cosines = [g[1, 2] / (b * c), g[0, 2] / (a * c), g[0, 1] / (a * b)]
    angles = np.degrees(np.arccos(np.clip(cosines, -1, 1)))
    params = np.rint(np.array([a, b, c, *angles]) * 1024).astype(np.int64)
    h = hashlib.sha256(params.tobytes())
    h.update(np.sort(_codes(np.asarray(types), frac)).tobytes())
    return h.hexdigest()


def canonicalize(structure: Structure) -> Canonical:
    """The structure in its canonical cell (module docstring); never raises for a valid
    :class:`~retvis.core.structure.Structure`: a failure of the standardisation falls
    back to the Niggli-reduced input cell, and any other failure to the cell as read,
    each with a note.

    The last :data:`MEMO_SIZE` results are kept by the structure's atoms, so that the viewer
    drawing a grid's cell on the GUI thread finds what the grid worker computed.
    """
    h = hashlib.sha256(structure.lattice.tobytes() + structure.frac.tobytes())
    h.update(" ".join(structure.species).encode())
    key = (h.hexdigest(), structure.name, str(structure.path))  # the atoms, not the file
    with _MEMO_LOCK:
        hit = _MEMO.get(key)
        if hit is not None:
            _MEMO.move_to_end(key)
            return hit
    result = _canonicalize(structure)
    with _MEMO_LOCK:
        _MEMO[key] = result
        while len(_MEMO) > MEMO_SIZE:
            _MEMO.popitem(last=False)
    return result


#: Canonical cells kept in memory (:func:`canonicalize`).
MEMO_SIZE = 64
_MEMO: OrderedDict[tuple, Canonical] = OrderedDict()
_MEMO_LOCK = threading.Lock()


def _canonicalize(structure: Structure) -> Canonical:
    numbers = atomic_numbers(structure.species)
    try:
        lat, frac, types, index, symbol, note, n_ops = _standard_cell(structure, numbers)
        frac, order = _choose(lat, frac, types)
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001 - a prediction on the cell as read, noted
        log.exception("canonical cell of %s failed", structure.path or structure.name)
        return Canonical(
            structure,
            np.arange(structure.n_atoms),
            crystal_digest(structure.lattice, structure.frac, numbers),
            "",
            f"no canonical cell ({type(exc).__name__}: {exc}): the grid is on the cell as "
            "read, so another setting of this crystal may predict differently",
        )
    frac, types, index = frac[order], types[order], index[order]
    species = tuple(structure.species[i] for i in index)
    # spglib's std types are the input's atomic numbers: the species follow the index
    canon = Structure(structure.name, lat, frac, species, structure.path, structure.digest)
    digest = crystal_digest(lat, canon.frac, types)
    return Canonical(canon, index, digest, symbol, note, n_ops)


def same_crystal_notes(names: list[str], crystals: list[str]) -> list[str]:
    """For each item, ``"same crystal as A, B"`` naming the other items whose canonical
    cell has the same digest (two files of one crystal, in whatever settings); ``""``
    for a crystal seen once or an unknown (empty) digest."""
    groups: dict[str, list[int]] = {}
    for i, c in enumerate(crystals):
        if c:
            groups.setdefault(c, []).append(i)
    out = [""] * len(names)
    for members in groups.values():
        if len(members) > 1:
            for i in members:
                others = [names[j] for j in members if j != i]
                shown = ", ".join(others[:3]) + (
                    f" and {len(others) - 3} more" if len(others) > 3 else ""
                )
                out[i] = f"same crystal as {shown}"
    return out


def join_notes(*notes: str) -> str:
    """Non-empty notes joined with '; '."""
    return "; ".join(n for n in notes if n)
