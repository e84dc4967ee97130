"""Element colours and radii used to draw atoms and bonds.

Colours are the Jmol (CPK) palette (pymatgen's ``ElementColorSchemes.yaml``, scheme
"Jmol"); covalent and van der Waals radii are gemmi's element tables (covalent radii of
Cordero et al., Dalton Trans. 2008, 2832). The table was written out once so that
drawing needs neither package at run time.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

#: Symbol -> (red, green, blue in 0..255, covalent radius in Å, van der Waals radius in Å).
ELEMENTS: dict[str, tuple[int, int, int, float, float]] = {
    "H": (255, 255, 255, 0.31, 1.20),
    "He": (217, 255, 255, 0.28, 1.40),
    "Li": (204, 128, 255, 1.28, 1.82),
    "Be": (194, 255, 0, 0.96, 1.53),
    "B": (255, 181, 181, 0.84, 1.92),
    "C": (144, 144, 144, 0.73, 1.70),
    "N": (48, 80, 248, 0.71, 1.55),
    "O": (255, 13, 13, 0.66, 1.52),
    "F": (144, 224, 80, 0.57, 1.47),
    "Ne": (179, 227, 245, 0.58, 1.54),
    "Na": (171, 92, 242, 1.66, 2.27),
    "Mg": (138, 255, 0, 1.41, 1.73),
    "Al": (191, 166, 166, 1.21, 1.84),
    "Si": (240, 200, 160, 1.11, 2.10),
    "P": (255, 128, 0, 1.07, 1.80),
    "S": (255, 255, 48, 1.05, 1.80),
    "Cl": (31, 240, 31, 1.02, 1.75),
    "Ar": (128, 209, 227, 1.06, 1.88),
    "K": (143, 64, 212, 2.03, 2.75),
    "Ca": (61, 255, 0, 1.76, 2.31),
    "Sc": (230, 230, 230, 1.70, 2.11),
    "Ti": (191, 194, 199, 1.60, 1.95),
    "V": (166, 166, 171, 1.53, 1.06),
    "Cr": (138, 153, 199, 1.39, 1.13),
    "Mn": (156, 122, 199, 1.39, 1.19),
    "Fe": (224, 102, 51, 1.32, 1.26),
    "Co": (240, 144, 160, 1.26, 1.13),
    "Ni": (80, 208, 80, 1.24, 1.63),
    "Cu": (200, 128, 51, 1.32, 1.40),
    "Zn": (125, 128, 176, 1.22, 1.39),
    "Ga": (194, 143, 143, 1.22, 1.87),
    "Ge": (102, 143, 143, 1.20, 2.11),
    "As": (189, 128, 227, 1.19, 1.85),
    "Se": (255, 161, 0, 1.20, 1.90),
    "Br": (166, 41, 41, 1.20, 1.85),
    "Kr": (92, 184, 209, 1.16, 2.02),
    "Rb": (112, 46, 176, 2.20, 3.03),
    "Sr": (0, 255, 0, 1.95, 2.49),
    "Y": (148, 255, 255, 1.90, 1.61),
    "Zr": (148, 224, 224, 1.75, 1.42),
    "Nb": (115, 194, 201, 1.64, 1.33),
    "Mo": (84, 181, 181, 1.54, 1.75),
    "Tc": (59, 158, 158, 1.47, 2.00),
    "Ru": (36, 143, 143, 1.46, 1.20),
    "Rh": (10, 125, 140, 1.42, 1.22),
    "Pd": (0, 105, 133, 1.39, 1.63),
    "Ag": (192, 192, 192, 1.45, 1.72),
    "Cd": (255, 217, 143, 1.44, 1.58),
    "In": (166, 117, 115, 1.42, 1.93),
    "Sn": (102, 128, 128, 1.39, 2.17),
    "Sb": (158, 99, 181, 1.39, 2.06),
    "Te": (212, 122, 0, 1.38, 2.06),
    "I": (148, 0, 148, 1.39, 1.98),
    "Xe": (66, 158, 176, 1.40, 2.16),
    "Cs": (87, 23, 143, 2.44, 3.43),
    "Ba": (0, 201, 0, 2.15, 2.68),
    "La": (112, 212, 255, 2.07, 1.83),
    "Ce": (255, 255, 199, 2.04, 1.86),
    "Pr": (217, 255, 199, 2.03, 1.62),
    "Nd": (199, 255, 199, 2.01, 1.79),
    "Pm": (163, 255, 199, 1.99, 1.76),
    "Sm": (143, 255, 199, 1.98, 1.74),
    "Eu": (97, 255, 199, 1.98, 1.96),
    "Gd": (69, 255, 199, 1.96, 1.69),
    "Tb": (48, 255, 199, 1.94, 1.66),
    "Dy": (31, 255, 199, 1.92, 1.63),
    "Ho": (0, 255, 156, 1.92, 1.61),
    "Er": (0, 230, 117, 1.89, 1.59),
    "Tm": (0, 212, 82, 1.90, 1.57),
    "Yb": (0, 191, 56, 1.87, 1.54),
    "Lu": (0, 171, 36, 1.75, 1.53),
    "Hf": (77, 194, 255, 1.87, 1.40),
    "Ta": (77, 166, 255, 1.70, 1.22),
    "W": (33, 148, 214, 1.62, 1.26),
    "Re": (38, 125, 171, 1.51, 1.30),
    "Os": (38, 102, 150, 1.44, 1.58),
    "Ir": (23, 84, 135, 1.41, 1.22),
    "Pt": (208, 208, 224, 1.36, 1.75),
    "Au": (255, 209, 35, 1.36, 1.66),
    "Hg": (184, 184, 208, 1.32, 1.55),
    "Tl": (166, 84, 77, 1.45, 1.96),
    "Pb": (87, 89, 97, 1.46, 2.02),
    "Bi": (158, 79, 181, 1.48, 2.07),
    "Po": (171, 92, 0, 1.40, 1.97),
    "At": (117, 79, 69, 1.50, 2.02),
    "Rn": (66, 130, 150, 1.50, 2.20),
    "Fr": (66, 0, 102, 2.60, 3.48),
    "Ra": (0, 125, 0, 2.21, 2.83),
    "Ac": (112, 171, 250, 2.15, 2.12),
    "Th": (0, 186, 255, 2.06, 1.84),
    "Pa": (0, 161, 255, 2.00, 1.60),
    "U": (0, 143, 255, 1.96, 1.86),
    "Np": (0, 128, 255, 1.90, 1.71),
    "Pu": (0, 107, 255, 1.87, 1.67),
    "Am": (84, 92, 242, 1.80, 1.66),
    "Cm": (120, 92, 227, 1.69, 1.65),
    "Bk": (138, 79, 227, 1.68, 1.64),
    "Cf": (161, 54, 212, 1.68, 1.63),
    "Es": (179, 31, 212, 1.65, 1.62),
    "Fm": (179, 31, 186, 1.67, 1.61),
    "Md": (179, 13, 166, 1.73, 1.60),
    "No": (189, 13, 135, 1.76, 1.59),
    "Lr": (199, 0, 102, 1.61, 1.58),
}

#: Elements that are not metals (metalloids included): the ligands, never the centres,
#: of coordination polyhedra.
NON_METALS: frozenset[str] = frozenset(
    "H He B C N O F Ne Si P S Cl Ar Ge As Se Br Kr Sb Te I Xe At Rn".split()
)

#: Colour (0..255) and radii of a symbol missing from :data:`ELEMENTS` (Jmol's pink).
UNKNOWN: tuple[int, int, int, float, float] = (255, 20, 147, 1.50, 2.00)


def element_rgb(symbol: str) -> tuple[int, int, int]:
    """Jmol colour of an element, 0..255 per channel (pink for an unknown symbol)."""
    r, g, b, _, _ = ELEMENTS.get(symbol, UNKNOWN)
    return r, g, b


def covalent_radius(symbol: str) -> float:
    """Covalent radius of an element, Å."""
    return ELEMENTS.get(symbol, UNKNOWN)[3]


def vdw_radius(symbol: str) -> float:
    """Van der Waals radius of an element, Å."""
    return ELEMENTS.get(symbol, UNKNOWN)[4]


def species_table(species) -> tuple[list[str], NDArray[np.intp]]:
    """Distinct symbols of a species list and, per atom, the index of its symbol.

    Parameters
    ----------
    species : sequence of str
        Element symbol of each atom.

    Returns
    -------
    symbols : list of str
        Distinct symbols in order of first appearance.
    index : NDArray[np.intp]
        Shape (n_atoms,); ``symbols[index[k]] == species[k]``.
    """
    symbols: list[str] = []
    lookup: dict[str, int] = {}
    index = np.empty(len(species), dtype=np.intp)
    for k, s in enumerate(species):
        if s not in lookup:
            lookup[s] = len(symbols)
            symbols.append(s)
        index[k] = lookup[s]
    return symbols, index
