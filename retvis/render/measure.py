"""What the viewer says about picked atoms: label, element and position of an atom, the
distance between two and the angle at the middle one of three.

The viewer draws periodic images (atoms beyond a face bonded to atoms inside, see
:func:`retvis.render.structure.atoms_and_bonds`), so a picked atom is an image at a
Cartesian position; distances and angles are between the images picked, which is what
the picture shows.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from ..core.structure import Structure

#: Most recent picks kept: one atom, a distance, an angle.
MAX_PICKS = 3
#: A pick farther than this from every drawn atom centre picks nothing, Å.
PICK_RADIUS = 1.0


def atom_label(structure: Structure, i: int) -> str:
    """The atom's label: its element and its 1-based position in the cell, e.g. ``Zn3``."""
    return f"{structure.species[i]}{i + 1}"


def distance(p: NDArray[np.float64], q: NDArray[np.float64]) -> float:
    """Distance between two points, Å."""
    return float(np.linalg.norm(np.asarray(q, float) - np.asarray(p, float)))


def angle(p: NDArray[np.float64], q: NDArray[np.float64], r: NDArray[np.float64]) -> float:
    """Angle p-q-r at q, degrees."""
    u = np.asarray(p, float) - np.asarray(q, float)
    v = np.asarray(r, float) - np.asarray(q, float)
    c = float(u @ v / (np.linalg.norm(u) * np.linalg.norm(v)))
    return float(np.degrees(np.arccos(np.clip(c, -1.0, 1.0))))


def nearest_atom(positions: NDArray[np.float64], point) -> int | None:
    """Index of the drawn atom whose centre is nearest ``point``, or None beyond
    :data:`PICK_RADIUS`."""
    if len(positions) == 0:
        return None
    d = np.linalg.norm(positions - np.asarray(point, float), axis=1)
    k = int(np.argmin(d))
    return k if d[k] <= PICK_RADIUS else None


def describe_picks(
    structure: Structure,
    positions: NDArray[np.float64],
    atom: NDArray[np.intp],
    picks,
    charges: NDArray[np.float64] | None = None,
) -> str:
    """The text for the picked drawn atoms (indices into ``positions``, oldest first; the
    last :data:`MAX_PICKS` count): the last atom's label, element, Cartesian and
    fractional position and, given ``charges`` (e, in the structure's atom order), its
    partial charge; with two, their distance; with three, the angle at the middle."""
    picks = list(picks)[-MAX_PICKS:]
    if not picks:
        return ""
    k = picks[-1]
    i = int(atom[k])
    frac = positions[k] @ np.linalg.inv(structure.lattice)
    xyz = ", ".join(f"{v:.3f}" for v in positions[k])
    abc = ", ".join(f"{v:.4f}" for v in frac)
    head = f"{atom_label(structure, i)} ({structure.species[i]}) at ({xyz}) Å, fractional ({abc})"
    if charges is not None:
        head += f", charge {charges[i]:+.3f} e"
    parts = [head]
    labels = [atom_label(structure, int(atom[j])) for j in picks]
    if len(picks) >= 2:
        a, b = picks[-2], picks[-1]
        parts.append(f"{labels[-2]}–{labels[-1]} {distance(positions[a], positions[b]):.3f} Å")
    if len(picks) == 3:
        a, b, c = picks
        parts.append(
            f"angle {labels[0]}–{labels[1]}–{labels[2]} "
            f"{angle(positions[a], positions[b], positions[c]):.2f}°"
        )
    return "; ".join(parts)
