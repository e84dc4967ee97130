"""The guest molecules RetVis knows (docs/method.md section 6): TraPPE CH4 and CO2, Xe, Kr.

One definition for both users: the GCMC labels (:mod:`retvis.sim.gcmc`, with masses,
critical constants and Monte Carlo moves) and the energy grid's CO2 probe
(:mod:`retvis.core.grid`, sites, charges and bond). No torch, no Qt, no raspalib.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class GuestSite:
    """One pseudo atom of a rigid guest molecule.

    Attributes
    ----------
    name : str
        Pseudo-atom name (unique against element symbols).
    epsilon : float
        Lennard-Jones well depth, K.
    sigma : float
        Lennard-Jones size, Å.
    mass : float
        g/mol.
    charge : float
        Partial charge, e.
    atomic_number : int
    position : tuple of float
        Cartesian position in the molecule frame, Å.
    """

    name: str
    epsilon: float
    sigma: float
    mass: float
    charge: float
    atomic_number: int
    position: tuple[float, float, float]


@dataclass(frozen=True)
class Guest:
    """A rigid adsorbate: its sites, critical constants and Monte Carlo moves.

    Attributes
    ----------
    name : str
    sites : tuple of GuestSite
    critical_temperature : float
        K (Peng-Robinson).
    critical_pressure : float
        Pa (Peng-Robinson).
    acentric_factor : float
    moves : dict[str, float]
        Relative weights of ``raspalib.MCMoveProbabilities`` keyword arguments.
    pressure : float
        Pa: the pressure screens for it usually use (the app's GCMC form and the label
        samples default to it).
    model : str
        Where its parameters come from.
    """

    name: str
    sites: tuple[GuestSite, ...]
    critical_temperature: float
    critical_pressure: float
    acentric_factor: float
    moves: dict[str, float] = field(hash=False)
    pressure: float = 1e5
    model: str = "TraPPE"

    @property
    def charged(self) -> bool:
        return any(s.charge != 0.0 for s in self.sites)


_CO_BOND = 1.149  # Å, TraPPE CO2
_SPHERE_MOVES = {  # a single-site guest: no rotation
    "translation_probability": 0.5,
    "reinsertion_cbmc_probability": 0.5,
    "swap_cbmc_probability": 1.0,
}

#: Guests known to RetVis (docs/method.md section 6), by name.
GUESTS: dict[str, Guest] = {
    "CH4": Guest(
        "CH4",
        (GuestSite("CH4_sp3", 148.0, 3.73, 16.04246, 0.0, 6, (0.0, 0.0, 0.0)),),
        190.564,
        4.5992e6,
        0.01142,
        _SPHERE_MOVES,
        5.8e5,
        "TraPPE united atom",
    ),
    "CO2": Guest(
        "CO2",
        (
            GuestSite("O_co2", 79.0, 3.05, 15.9994, -0.35, 8, (0.0, 0.0, _CO_BOND)),
            GuestSite("C_co2", 27.0, 2.80, 12.0107, 0.70, 6, (0.0, 0.0, 0.0)),
            GuestSite("O_co2", 79.0, 3.05, 15.9994, -0.35, 8, (0.0, 0.0, -_CO_BOND)),
        ),
        304.1282,
        7.3773e6,
        0.22394,
        {
            "translation_probability": 0.5,
            "rotation_probability": 0.5,
            "reinsertion_cbmc_probability": 0.5,
            "swap_cbmc_probability": 1.0,
        },
        0.15e5,
    ),
    # the spheres of Xe/Kr screening (Simon et al. 2015, after Boato and Casanova); critical
    # constants from NIST; acentric factors of the noble gases are within 0.01 of zero
    # (their Peng-Robinson fugacity at 1 bar and 298 K moves by less than 0.01 %)
    "Xe": Guest(
        "Xe",
        (GuestSite("Xe_gas", 221.0, 4.1, 131.293, 0.0, 54, (0.0, 0.0, 0.0)),),
        289.733,
        5.842e6,
        0.0,
        _SPHERE_MOVES,
        1e5,
        "Xe/Kr screening sphere (Simon et al. 2015)",
    ),
    "Kr": Guest(
        "Kr",
        (GuestSite("Kr_gas", 166.4, 3.636, 83.798, 0.0, 36, (0.0, 0.0, 0.0)),),
        209.48,
        5.525e6,
        0.0,
        _SPHERE_MOVES,
        1e5,
        "Xe/Kr screening sphere (Simon et al. 2015)",
    ),
}
