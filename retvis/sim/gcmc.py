"""One grand-canonical Monte Carlo (GCMC) uptake simulation with RASPA3, or one Widom
insertion run (the Henry coefficient), built the same way.

The protocol is docs/method.md section 6: a rigid framework with UFF Lennard-Jones
parameters (the table of :mod:`retvis.core.forcefield`), Lorentz-Berthelot mixing,
potentials truncated (not shifted) at the cutoff with analytic tail corrections, a
supercell by the minimum image convention, TraPPE guests and Peng-Robinson fugacities.

``raspalib`` 3.1.0 has no CIF reader and ships no force-field files, so everything is
built from Python objects here. Its traps, found by testing:

- ``SimulationBox(a, b, c, alpha, beta, gamma)`` takes radians (its docstring says
  degrees).
- ``Framework`` reads the positions of ``defined_atoms`` as fractional coordinates
  whatever the atoms' ``is_fractional`` flag says (Cartesian input gives garbage).
- ``MonteCarlo`` and ``System`` hold copies: results are read from ``mc.systems[0]``.
- The loading error RASPA reports is the 95 % confidence half-width of the block
  averages (Student t, ``number_of_blocks`` blocks), not a standard error.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from dataclasses import asdict, dataclass

import numpy as np

from ..core.forcefield import load_forcefield
from ..core.guests import GUESTS
from ..core.structure import Structure, supercell_factors
from ..core.units import AVOGADRO
from ..errors import SimulationError, SpecError

#: Molar gas constant, J/(mol K).
GAS_CONSTANT = 8.314462618
#: Molar volume of an ideal gas at STP (273.15 K, 101325 Pa), cm^3/mol.
MOLAR_VOLUME_STP = GAS_CONSTANT * 273.15 / 101325.0 * 1e6
#: Version of the way a protocol is turned into a simulation; part of every identity.
SIM_VERSION = 1


def _positive_float(p, name: str) -> None:
    """Check a positive finite number and store it as a float, so 298 and 298.0 name the
    same protocol (the identity hashes the fields' JSON)."""
    v = getattr(p, name)
    if isinstance(v, bool) or not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
        raise SpecError(f"{name} must be a positive finite number, got {v!r}")
    object.__setattr__(p, name, float(v))


def _validate(p) -> None:
    """Checks shared by :class:`Protocol` and :class:`WidomProtocol`."""
    if p.guest not in GUESTS:
        raise SpecError(f"unknown guest {p.guest!r}; known: {', '.join(GUESTS)}")
    for name in ("temperature", "cutoff"):
        _positive_float(p, name)
    if p.cycles < 1:
        raise SpecError(f"cycles must be >= 1, got {p.cycles}")
    if p.blocks < 3:
        raise SpecError(f"blocks must be >= 3 for an error estimate, got {p.blocks}")
    if p.charges and not GUESTS[p.guest].charged:
        raise SpecError(f"charges=True makes no difference for the uncharged {p.guest}")


def _identity_hash(p) -> str:
    """12 hex digits over every field, :data:`SIM_VERSION`, the force-field table's
    SHA-256 and, with charges, the charge method."""
    payload = dict(
        p.to_dict(),
        sim_version=SIM_VERSION,
        forcefield_sha256=load_forcefield(p.forcefield).digest,
    )
    if p.charges:  # the charge method is part of the label (CH4 ids unchanged)
        from .charges import METHOD_ID

        payload["charge_method"] = METHOD_ID
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Protocol:
    """Everything that decides a GCMC label (defaults: docs/method.md section 6, CH4).

    Attributes
    ----------
    guest : str
        A key of :data:`GUESTS`.
    temperature : float
        K.
    pressure : float
        Pa.
    init_cycles : int
        Initialization (equilibration) cycles.
    cycles : int
        Production cycles.
    cutoff : float
        Lennard-Jones (and real-space Coulomb) cutoff, Å; also sets the supercell.
    charges : bool
        Framework partial charges and Ewald electrostatics (needs charges from
        :mod:`retvis.sim.charges`).
    seed : int
        Random seed of RASPA.
    blocks : int
        Blocks for the block-average error.
    forcefield : str
        Framework Lennard-Jones table.
    """

    guest: str = "CH4"
    temperature: float = 298.0
    pressure: float = 5.8e5
    init_cycles: int = 1000
    cycles: int = 2000
    cutoff: float = 12.8
    charges: bool = False
    seed: int = 1
    blocks: int = 5
    forcefield: str = "UFF"

    def __post_init__(self) -> None:
        _validate(self)
        _positive_float(self, "pressure")
        if self.init_cycles < 0:
            raise SpecError(f"init_cycles must be >= 0, got {self.init_cycles}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Protocol:
        known = set(cls.__dataclass_fields__)
        extra = sorted(set(d) - known)
        if extra:
            raise SpecError(f"unknown protocol field(s) {', '.join(extra)}")
        return cls(**d)

    def identity(self) -> str:
        """A short string naming this protocol, with a hash of every field.

        It also covers the framework force-field table (its SHA-256) and
        :data:`SIM_VERSION`, so labels made differently never share an identity.
        Example: ``CH4-298K-5.8bar-1000+2000c-s1-3f2a9c01d4e5``.
        """
        h = _identity_hash(self)
        q = "-q" if self.charges else ""
        return (
            f"{self.guest}-{self.temperature:g}K-{self.pressure / 1e5:g}bar-"
            f"{self.init_cycles}+{self.cycles}c-s{self.seed}{q}-{h}"
        )


@dataclass(frozen=True)
class WidomProtocol:
    """A Widom test-particle insertion run: the Henry coefficient of one guest.

    The framework and guest models are those of :class:`Protocol`; no molecules are
    in the box, so there is no pressure and no equilibration.

    Attributes
    ----------
    guest : str
    temperature : float
        K.
    cycles : int
        Insertion cycles.
    cutoff : float
        Å.
    charges : bool
        Framework charges and Ewald sums (CO2).
    seed : int
    blocks : int
    forcefield : str
    """

    guest: str = "CH4"
    temperature: float = 298.0
    cycles: int = 2000
    cutoff: float = 12.8
    charges: bool = False
    seed: int = 1
    blocks: int = 5
    forcefield: str = "UFF"

    #: What :func:`protocol_from_dict` reads to tell the two kinds apart.
    METHOD = "widom"

    def __post_init__(self) -> None:
        _validate(self)

    def to_dict(self) -> dict:
        return {"method": self.METHOD, **asdict(self)}

    @classmethod
    def from_dict(cls, d: dict) -> WidomProtocol:
        d = {k: v for k, v in d.items() if k != "method"}
        extra = sorted(set(d) - set(cls.__dataclass_fields__))
        if extra:
            raise SpecError(f"unknown Widom protocol field(s) {', '.join(extra)}")
        return cls(**d)

    def identity(self) -> str:
        """Like :meth:`Protocol.identity`: ``widom-CH4-298K-2000c-s1-3f2a9c01d4e5``."""
        q = "-q" if self.charges else ""
        return (
            f"widom-{self.guest}-{self.temperature:g}K-{self.cycles}c-s{self.seed}{q}-"
            f"{_identity_hash(self)}"
        )


def protocol_from_dict(d: dict) -> Protocol | WidomProtocol:
    """The protocol a ``to_dict()`` came from (GCMC unless it names the Widom method)."""
    if d.get("method") == WidomProtocol.METHOD:
        return WidomProtocol.from_dict(d)
    return Protocol.from_dict(d)


@dataclass
class GCMCResult:
    """The uptake of one structure under one protocol.

    Attributes
    ----------
    name : str
    uptake_mol_kg : float
        Absolute uptake, mol/kg (= mmol/g).
    uptake_err_mol_kg : float
        95 % confidence half-width of the block averages, mol/kg.
    uptake_cm3_cm3 : float
        Absolute uptake, cm^3(STP) per cm^3 of framework.
    uptake_err_cm3_cm3 : float
    molecules_per_cell : float
        Average guest molecules per unit cell.
    n_atoms : int
        Atoms in the unit cell.
    supercell : tuple of int
        Unit cells along a, b, c.
    seconds : float
        Wall time of the simulation (setup included), s.
    protocol : str
        :meth:`Protocol.identity`.
    """

    name: str
    uptake_mol_kg: float
    uptake_err_mol_kg: float
    uptake_cm3_cm3: float
    uptake_err_cm3_cm3: float
    molecules_per_cell: float
    n_atoms: int
    supercell: tuple[int, int, int]
    seconds: float
    protocol: str


@dataclass
class WidomResult:
    """The Henry coefficient of one guest in one structure.

    Attributes
    ----------
    name : str
    henry_mol_kg_pa : float
        Henry coefficient, mol/(kg Pa): the uptake per pascal in the limit of zero
        pressure, ``<W> / (R T rho)`` with the framework density ``rho`` in kg/m^3.
    henry_err_mol_kg_pa : float
        95 % confidence half-width of the block averages.
    rosenbluth_weight : float
        ``<W>``, the average Rosenbluth weight of a test insertion (``<exp(-U/kT)>``).
    rosenbluth_weight_err : float
    excess_mu_kj_mol : float
        Excess chemical potential at infinite dilution, ``-RT ln <W>``, kJ/mol.
    n_atoms : int
    supercell : tuple of int
    seconds : float
    protocol : str
        :meth:`WidomProtocol.identity`.
    """

    name: str
    henry_mol_kg_pa: float
    henry_err_mol_kg_pa: float
    rosenbluth_weight: float
    rosenbluth_weight_err: float
    excess_mu_kj_mol: float
    n_atoms: int
    supercell: tuple[int, int, int]
    seconds: float
    protocol: str


def _quiet_import_raspalib():
    os.environ.setdefault("RASPALIB_QUIET", "1")  # silences the missing-OpenCL warning
    import raspalib

    return raspalib


def _check_charges(structure: Structure, use: bool, charges) -> np.ndarray:
    if not use:
        return np.zeros(structure.n_atoms)
    if charges is None:
        raise SpecError("protocol.charges is set but no framework charges were given")
    charges = np.asarray(charges, dtype=np.float64).reshape(-1)
    if charges.shape != (structure.n_atoms,) or not np.all(np.isfinite(charges)):
        raise SpecError(f"expected {structure.n_atoms} finite charges, got shape {charges.shape}")
    return charges


def _build_system(r, structure: Structure, protocol, charges: np.ndarray, moves: dict, pressure):
    """The RASPA ``System`` of one rigid framework and one guest; its supercell factors.

    ``protocol`` is a :class:`Protocol` or :class:`WidomProtocol` (guest, temperature,
    cutoff, charges, blocks, forcefield); ``moves`` the guest's move probabilities.
    """
    ff_table = load_forcefield(protocol.forcefield)
    ff_table.parameters(structure.species, structure.path)  # ForceFieldError if missing
    guest = GUESTS[protocol.guest]
    ff, type_of, guest_types = _force_field(r, structure, guest, ff_table, protocol)
    framework, cells = _framework(r, ff, structure, charges, type_of, protocol.cutoff)
    mol = [
        r.Atom(s.position, s.charge, 1.0, 0, guest_types[s.name], 0, 0, False) for s in guest.sites
    ]
    comp = r.Component(
        ff,
        guest.name,
        guest.critical_temperature,
        guest.critical_pressure,
        guest.acentric_factor,
        mol,
        number_of_blocks=protocol.blocks,
        particle_probabilities=r.MCMoveProbabilities(**moves),
    )
    system = r.System(
        ff,
        None,
        False,
        float(protocol.temperature),
        float(pressure),
        0.29,
        framework,
        [comp],
        [],
        [0],
        protocol.blocks,
    )
    return system, cells


def _force_field(r, structure: Structure, guest, ff_table, protocol):
    """The RASPA ``ForceField``: one pseudo-atom per framework element (uncharged: the
    framework's charges sit on its atoms) and per guest site, Lennard-Jones parameters
    from ``ff_table`` and the guest, Lorentz-Berthelot mixing, truncated at
    ``protocol.cutoff`` with tail corrections; with it, the pseudo-atom index of each
    element and of each guest site name."""
    import gemmi

    elements = sorted(set(structure.species))
    type_of = {e: i for i, e in enumerate(elements)}
    pseudo, vdw = [], []
    for e in elements:
        el = gemmi.Element(e)
        pseudo.append(
            r.PseudoAtom(
                name=e,
                framework_type=True,
                mass=el.weight,
                charge=0.0,
                atomic_number=el.atomic_number,
            )
        )
        vdw.append(r.VDWParameters(ff_table.epsilon[e], ff_table.sigma[e]))
    guest_types: dict[str, int] = {}
    for s in guest.sites:
        if s.name not in guest_types:
            guest_types[s.name] = len(pseudo)
            pseudo.append(
                r.PseudoAtom(
                    name=s.name,
                    framework_type=False,
                    mass=s.mass,
                    charge=s.charge,
                    atomic_number=s.atomic_number,
                )
            )
            vdw.append(r.VDWParameters(s.epsilon, s.sigma))
    c = protocol.cutoff
    ff = r.ForceField(
        pseudo,
        vdw,
        r.ForceField.MixingRule.LORENTZ_BERTHELOT,
        c,
        c,
        c,
        shifted=False,
        tail_corrections=True,
        use_charge=bool(protocol.charges),
    )
    return ff, type_of, guest_types


def _framework(r, ff, structure: Structure, charges: np.ndarray, type_of: dict, cutoff: float):
    """The rigid RASPA ``Framework`` of ``structure`` (its atoms with ``charges``, e) and
    its supercell factors for ``cutoff``, Å."""
    a, b, cc, al, be, ga = structure.parameters
    box = r.SimulationBox(a, b, cc, math.radians(al), math.radians(be), math.radians(ga))
    atoms = [
        r.Atom(tuple(float(x) for x in f), float(q), 1.0, 0, type_of[e], 0, 0, True)
        for f, e, q in zip(structure.frac, structure.species, charges, strict=True)
    ]
    cells = supercell_factors(structure, cutoff)
    return r.Framework(ff, structure.name, box, 1, atoms, list(cells)), cells


def run_gcmc(
    structure: Structure,
    protocol: Protocol = Protocol(),
    charges: np.ndarray | None = None,
) -> GCMCResult:
    """Run one GCMC simulation in this process (use :mod:`retvis.sim.labels` for batches).

    Parameters
    ----------
    structure : Structure
        The rigid framework.
    protocol : Protocol
    charges : NDArray[np.float64], optional
        Shape (n_atoms,), framework partial charges in e; required when
        ``protocol.charges``.

    Returns
    -------
    GCMCResult

    Raises
    ------
    ForceFieldError
        An element has no Lennard-Jones parameters.
    SimulationError
        RASPA failed or returned a non-finite uptake.
    """
    t0 = time.perf_counter()
    r = _quiet_import_raspalib()
    charges = _check_charges(structure, protocol.charges, charges)
    guest = GUESTS[protocol.guest]
    system, cells = _build_system(r, structure, protocol, charges, guest.moves, protocol.pressure)
    done, mass, volume = _monte_carlo(r, system, protocol, protocol.init_cycles, structure.path)
    n_avg, n_err = done.average_loadings.average_loading_number_of_molecules(0)
    if not (math.isfinite(n_avg) and math.isfinite(n_err)):
        raise SimulationError(
            f"RASPA returned a non-finite loading ({n_avg} ± {n_err})", structure.path
        )
    n_cells = cells[0] * cells[1] * cells[2]
    per_kg = 1000.0 / mass
    per_cm3 = MOLAR_VOLUME_STP / (volume * 1e-24 * AVOGADRO)
    return GCMCResult(
        name=structure.name,
        uptake_mol_kg=n_avg * per_kg,
        uptake_err_mol_kg=n_err * per_kg,
        uptake_cm3_cm3=n_avg * per_cm3,
        uptake_err_cm3_cm3=n_err * per_cm3,
        molecules_per_cell=n_avg / n_cells,
        n_atoms=structure.n_atoms,
        supercell=cells,
        seconds=time.perf_counter() - t0,
        protocol=protocol.identity(),
    )


def _monte_carlo(r, system, protocol, init_cycles: int, path):
    """Run RASPA on ``system``; the finished system and its supercell's mass and volume."""
    mc = r.MonteCarlo(
        number_of_cycles=protocol.cycles,
        number_of_initialization_cycles=init_cycles,
        print_every=10**9,
        write_binary_restart_every=10**9,
        systems=[system],
        random_seed=protocol.seed,
        number_of_blocks=protocol.blocks,
        output_to_files=False,
    )
    mc.run()
    done = mc.systems[0]
    mass = done.framework_mass()  # g/mol of the whole supercell
    volume = done.simulation_box.volume  # Å^3 of the whole supercell
    if mass is None or not mass > 0 or not volume > 0:
        raise SimulationError(f"RASPA reported framework mass {mass} and volume {volume}", path)
    return done, mass, volume


def run_widom(
    structure: Structure,
    protocol: WidomProtocol = WidomProtocol(),
    charges: np.ndarray | None = None,
) -> WidomResult:
    """Run one Widom insertion simulation in this process: the Henry coefficient.

    Parameters
    ----------
    structure : Structure
    protocol : WidomProtocol
    charges : NDArray[np.float64], optional
        Framework charges, e; required when ``protocol.charges``.

    Returns
    -------
    WidomResult

    Raises
    ------
    ForceFieldError
        An element has no Lennard-Jones parameters.
    SimulationError
        RASPA failed or returned a non-finite weight.
    """
    t0 = time.perf_counter()
    r = _quiet_import_raspalib()
    charges = _check_charges(structure, protocol.charges, charges)
    system, cells = _build_system(r, structure, protocol, charges, {"widom_probability": 1.0}, 1e5)
    done, mass, volume = _monte_carlo(r, system, protocol, 0, structure.path)
    w, w_err = done.components[0].average_rosenbluth_weights.result()
    if not (math.isfinite(w) and math.isfinite(w_err) and w >= 0):
        raise SimulationError(
            f"RASPA returned a Rosenbluth weight of {w} ± {w_err}", structure.path
        )
    rho = mass * 1e-3 / AVOGADRO / (volume * 1e-30)  # kg/m^3
    per = 1.0 / (GAS_CONSTANT * protocol.temperature * rho)
    mu = -GAS_CONSTANT * protocol.temperature * math.log(w) * 1e-3 if w > 0 else math.inf
    return WidomResult(
        name=structure.name,
        henry_mol_kg_pa=w * per,
        henry_err_mol_kg_pa=w_err * per,
        rosenbluth_weight=w,
        rosenbluth_weight_err=w_err,
        excess_mu_kj_mol=mu,
        n_atoms=structure.n_atoms,
        supercell=cells,
        seconds=time.perf_counter() - t0,
        protocol=protocol.identity(),
    )
