"""Lennard-Jones parameters of framework atoms (UFF) and probe mixing.

The table lives in ``resources/forcefield/uff.csv`` (see the README there for its
source). Epsilon is in kelvin (epsilon / k_B), sigma in Å.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from ..errors import ForceFieldError
from ..paths import resources_dir


@dataclass(frozen=True)
class ForceField:
    """Per-element Lennard-Jones parameters.

    Attributes
    ----------
    name : str
        Table name, e.g. ``"UFF"``.
    epsilon : dict[str, float]
        Well depth per element symbol, K.
    sigma : dict[str, float]
        Size parameter per element symbol, Å.
    digest : str
        SHA-256 of the table file, part of every cache key.
    """

    name: str
    epsilon: dict[str, float]
    sigma: dict[str, float]
    digest: str

    def parameters(self, species: Sequence[str], path: Path | None = None):
        """Return ``(epsilon, sigma)`` arrays for a list of element symbols.

        Parameters
        ----------
        species : sequence of str
            Element symbols, one per atom.
        path : Path, optional
            File the atoms come from, named in the error message.

        Returns
        -------
        epsilon, sigma : NDArray[np.float64]
            Shape (n_atoms,), K and Å.

        Raises
        ------
        ForceFieldError
            If an element has no parameters; the message lists them.
        """
        missing = sorted({s for s in species if s not in self.epsilon})
        if missing:
            raise ForceFieldError(
                f"no {self.name} Lennard-Jones parameters for element(s) "
                f"{', '.join(missing)}; the table covers {len(self.epsilon)} elements "
                f"(H to Lr)",
                path,
            )
        eps = np.fromiter((self.epsilon[s] for s in species), np.float64, len(species))
        sig = np.fromiter((self.sigma[s] for s in species), np.float64, len(species))
        return eps, sig


def mix(
    eps_atoms: NDArray[np.float64],
    sig_atoms: NDArray[np.float64],
    eps_probe: float,
    sig_probe: float,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Lorentz-Berthelot mixing of framework atoms with a probe.

    ``eps_ij = sqrt(eps_i * eps_j)`` (K) and ``sig_ij = (sig_i + sig_j) / 2`` (Å).
    """
    return np.sqrt(eps_atoms * eps_probe), 0.5 * (sig_atoms + sig_probe)


@lru_cache(maxsize=4)
def load_forcefield(name: str = "UFF") -> ForceField:
    """Load a force-field table shipped in ``resources/forcefield``.

    Parameters
    ----------
    name : str
        Table name; ``"UFF"`` is the only one shipped.
    """
    from ..errors import SpecError

    if not isinstance(name, str) or not name.replace("_", "").replace("-", "").isalnum():
        raise SpecError(f"force field name must be letters, digits, _ or -, got {name!r}")
    path = resources_dir() / "forcefield" / f"{name.lower()}.csv"
    if not path.is_file():
        avail = sorted(p.stem.upper() for p in path.parent.glob("*.csv"))
        raise SpecError(f"unknown force field {name!r}; available: {', '.join(avail)}")
    raw = path.read_bytes()
    eps: dict[str, float] = {}
    sig: dict[str, float] = {}
    for row in csv.DictReader(raw.decode("utf-8").splitlines()):
        eps[row["element"]] = float(row["epsilon_K"])
        sig[row["element"]] = float(row["sigma_A"])
    return ForceField(name.upper(), eps, sig, hashlib.sha256(raw).hexdigest())
