"""The energy-grid engine: a voxelized Lennard-Jones potential energy surface.

For a probe (a spherical guest) at each grid point r, the probe-framework energy is

    V(r) = sum_j 4 eps_ij [(sig_ij / r_ij)^12 - (sig_ij / r_ij)^6],   r_ij <= cutoff,

summed over every framework atom j and all its periodic images, with Lorentz-Berthelot
mixing, and each voxel stores the Boltzmann factor exp(-V / T) (docs/method.md section 1).

How it is fast (docs/method.md section 7), while exact:

1. Energy is periodic, so in the supercell mode every grid point folds onto a regular
   grid of the unit cell: supercell point i of an axis replicated s times sits at
   unit-cell fraction ``(i * s mod m) / m`` (m = n, or n - 1 with the end point). That
   unit-cell grid (at most n^3 points) is computed once and indexed.
2. On that regular grid each atom *scatters* its cutoff sphere (:func:`unit_cell_energies`):
   the points within the cutoff are found by index arithmetic (a quadratic per grid
   line), wrapping indices modulo m sums all periodic images, and the compiled kernel
   (numba, GIL released) touches only pairs within the cutoff, accumulating in float64.
3. The cubic mode has irregular folded points; there a two-level cell list gathers the
   atoms near each bin of points (:func:`lj_energies`).
4. The CO2 probe on the regular grid (:func:`co2_grid_energies`): the Ewald reciprocal
   part exactly on the grid by one inverse FFT per orientation, the short-range sums in
   one fused kernel that skips blocked points. Irregular points (the cubic mode) take
   the direct sums of :func:`probe_energies`.
"""

from __future__ import annotations

import hashlib
import json
import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from ..errors import LimitError, SpecError
from .cancel import check
from .canonical import CANONICAL_VERSION, canonicalize, reduced_structure
from .forcefield import load_forcefield, mix
from .guests import GUESTS
from .pairs import CellList, image_count, images, pair_sum
from .structure import Structure, supercell_factors

#: Bump when the engine's numbers change; part of every cache key.
ENGINE_VERSION = 1
#: Largest grid accepted (points per axis).
MAX_N = 256
#: Bump when the CO2 probe's numbers change (2: the grid path, :func:`co2_grid_energies`).
CO2_ENGINE_VERSION = 2
#: Guest probes of the energy grid (:attr:`GridSpec.probe`).
PROBES = ("sphere", "CO2")
#: Cells a grid can be computed on (:attr:`GridSpec.cell`).
CELLS = ("canonical", "as-read")
#: TraPPE CO2, the CO2 labels' guest (:data:`retvis.core.guests.GUESTS`): site ->
#: (eps K, sigma Å, charge e); the oxygens sit :data:`CO2_BOND` from the carbon on
#: either side.
CO2_SITES = {s.name[0]: (s.epsilon, s.sigma, s.charge) for s in GUESTS["CO2"].sites}
CO2_BOND = max(abs(s.position[2]) for s in GUESTS["CO2"].sites)
#: Orientations of the CO2 probe's axis: the 13 directions to a cube's faces, edges and
#: corners (a linear molecule's axis and its reverse are the same orientation).
CO2_AXES = np.array(
    [
        (x, y, z)
        for x in (-1, 0, 1)
        for y in (-1, 0, 1)
        for z in (-1, 0, 1)
        if (x, y, z) > (0, 0, 0)
    ],
    dtype=np.float64,
)
CO2_AXES /= np.linalg.norm(CO2_AXES, axis=1)[:, None]
#: Real-space cutoff of the CO2 grid's Ewald sum: ``max(a, b V^(1/6))`` Å for a unit
#: cell of V Å^3. The reciprocal part is exact on the grid, so this only splits the work
#: (its cost grows with the atoms times V over the cutoff cubed); fitted to the fastest
#: of 4.5-7 Å on CoRE MOFs of 1,200-18,000 Å^3.
CO2_REAL_CUTOFF = (4.5, 1.3)
#: Relative size of the Ewald terms left out.
CO2_EWALD_TOLERANCE = 1e-6
#: A point whose carbon alone has a Lennard-Jones energy above this (K) is blocked for
#: every orientation (energy inf, Boltzmann factor 0) without summing its oxygens: the
#: carbon is then within about 2 Å of a framework atom. ``benchmarks/co2_probe.py``
#: prints the lowest direct energy among such points (15,000 K, a Boltzmann factor of
#: 1e-22, on 40 CoRE MOFs).
CO2_BLOCKED = 1e4
#: CPU cost model of the sphere's two grid paths, seconds (fitted by least squares on 188
#: CoRE MOF canonical cells, n = 25, one thread; choosing by it costs 9.05 ms per file
#: against 9.00 for the faster path of each, 9.5 for always gathering and 15.4 for the
#: earlier rule, scatter whenever more than 40 % of the unit-cell points are distinct):
#: scatter (:func:`unit_cell_energies`) per atom-point pair and per atom; gather
#: (:func:`probe_energies` at the distinct points) per pair, per point, per atom and once.
SCATTER_COST = (3.8e-9, 3.0e-6)
GATHER_COST = (8.1e-10, 1.1e-7, 9.3e-6, 1.45e-3)


@dataclass(frozen=True)
class GridSpec:
    """Everything that determines an energy grid; each default lives here only.

    Attributes
    ----------
    n : int
        Grid points per axis.
    cutoff : float
        Lennard-Jones cutoff, Å.
    probe_epsilon : float
        Probe well depth, K.
    probe_sigma : float
        Probe size, Å.
    temperature : float
        Temperature of the Boltzmann factor, K.
    mode : {"supercell", "cubic"}
        ``"supercell"``: the grid spans the unit cell replicated ``ceil(2 cutoff / w_i)``
        times along each lattice vector (fractional grid). ``"cubic"``: a Cartesian cube
        of side ``box_length`` centred at the origin (for strongly skewed cells;
        periodicity is lost).
    box_length : float
        Side of the cube in the cubic mode, Å.
    endpoint : bool
        ``False`` (default): points at ``i / n``, so the grid tiles the periodic
        supercell exactly and a circular-padded CNN sees true neighbours across the
        boundary. ``True``: points at ``i / (n - 1)`` as in the published seed
        (``linspace(0, 1, n)``), whose first and last planes are the same plane.
    forcefield : str
        Framework Lennard-Jones table (``resources/forcefield/<name>.csv``).
    overlap_distance : float
        A point closer than this to an atom gets a Boltzmann factor of 0, Å.
    cell : {"canonical", "as-read"}
        ``"canonical"`` (default): the grid is computed on the crystal's canonical cell
        (:mod:`retvis.core.canonical`), so every setting of the same crystal (any
        supercell, origin, axis order, conventional or primitive cell) gets the same
        grid. ``"as-read"``: on the cell as the file writes it (the published seed's
        convention, and models trained before canonical cells existed).
    probe : {"sphere", "CO2"}
        ``"sphere"`` (default, docs/method.md section 1): a Lennard-Jones sphere of
        ``probe_epsilon`` and ``probe_sigma``. ``"CO2"``: the TraPPE CO2 molecule of the
        CO2 labels (:data:`CO2_SITES`), its Boltzmann factor averaged over
        :data:`CO2_AXES` orientations at each point, with the Lennard-Jones energy of
        its three sites and their charges in the framework's electrostatic potential
        (EQeq charges, Ewald sum); ``probe_epsilon`` and ``probe_sigma`` are unused.
    """

    n: int = 25
    cutoff: float = 10.0
    probe_epsilon: float = 50.0
    probe_sigma: float = 2.5
    temperature: float = 298.0
    mode: Literal["supercell", "cubic"] = "supercell"
    box_length: float = 30.0
    endpoint: bool = False
    forcefield: str = "UFF"
    overlap_distance: float = 1e-3
    probe: Literal["sphere", "CO2"] = "sphere"
    cell: Literal["canonical", "as-read"] = "canonical"

    def __post_init__(self) -> None:
        if not isinstance(self.n, (int, np.integer)) or not 2 <= self.n <= MAX_N:
            raise SpecError(f"grid size n must be an integer in [2, {MAX_N}], got {self.n!r}")
        for name in ("cutoff", "probe_sigma", "temperature", "box_length"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise SpecError(f"{name} must be a positive number, got {v!r}")
        if not (math.isfinite(self.probe_epsilon) and self.probe_epsilon >= 0):
            raise SpecError(f"probe_epsilon must be >= 0 K, got {self.probe_epsilon!r}")
        if self.mode not in ("supercell", "cubic"):
            raise SpecError(f"mode must be 'supercell' or 'cubic', got {self.mode!r}")
        if self.cell not in CELLS:
            raise SpecError(f"cell must be one of {', '.join(CELLS)}, got {self.cell!r}")
        if self.probe not in PROBES:
            raise SpecError(f"probe must be one of {', '.join(PROBES)}, got {self.probe!r}")
        if not 0 <= self.overlap_distance < self.cutoff:
            raise SpecError(f"overlap_distance must be in [0, cutoff), got {self.overlap_distance}")

    @classmethod
    def seed(cls, **changes) -> GridSpec:
        """The published seed's convention (``linspace(0, 1, n)``, endpoint included, on
        the cell as the file writes it)."""
        return cls(**{"endpoint": True, "cell": "as-read", **changes})

    def replace(self, **changes) -> GridSpec:
        """Return a copy with some fields changed."""
        return replace(self, **changes)

    def describe_probe(self) -> str:
        """The probe in words, e.g. ``"sphere probe (ε 50 K, σ 2.5 Å)"``."""
        if self.probe == "CO2":
            return "TraPPE CO2 probe (13 orientations, EQeq charges)"
        return f"sphere probe (ε {self.probe_epsilon:g} K, σ {self.probe_sigma:g} Å)"

    def describe(self) -> str:
        """The settings in words, for people (a model card, a status line), e.g.
        ``"25³ points, sphere probe (ε 50 K, σ 2.5 Å), 10 Å cutoff, 298 K, UFF,
        supercell of the canonical cell"``."""
        probe = self.describe_probe()
        cell = "canonical cell" if self.cell == "canonical" else "cell as read"
        where = (
            f"supercell of the {cell}"
            if self.mode == "supercell"
            else f"{self.box_length:g} Å cube in the {cell}"
        )
        ends = ", endpoints included" if self.endpoint else ""
        return (
            f"{self.n}³ points, {probe}, {self.cutoff:g} Å cutoff, {self.temperature:g} K, "
            f"{self.forcefield}, {where}{ends}"
        )

    def to_dict(self) -> dict:
        """Plain-JSON form (saved beside models and in projects).

        ``probe`` is left out when it is the default sphere and ``cell`` when it is
        ``"as-read"``, so specs, cache keys and model cards written before those fields
        existed stay what they were (and read back as what they meant).
        """
        d = asdict(self)
        if d["probe"] == "sphere":
            del d["probe"]
        if d["cell"] == "as-read":
            del d["cell"]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> GridSpec:
        """Inverse of :meth:`to_dict`; unknown keys are an error. A spec written without
        ``cell`` (before canonical cells) is ``"as-read"``, which it was computed as."""
        names = set(cls.__dataclass_fields__)
        extra = set(d) - names
        if extra:
            raise SpecError(f"unknown grid settings {sorted(extra)}; valid: {sorted(names)}")
        return cls(**{"cell": "as-read", **d})

    def unavailable(self) -> str | None:
        """Why grids of this spec cannot be computed on this installation, or None.

        The CO2 probe needs EQeq framework charges, whose element data come from the
        optional ``pyeqeq`` package (the ``charges`` extra; how to install it is
        :data:`retvis.core.charges.INSTALL_HINT`).
        """
        if self.probe == "CO2":
            from .charges import eqeq_unavailable

            reason = eqeq_unavailable()
            if reason is not None:
                return f"the CO2 probe needs framework charges ({reason})"
        return None

    def require_available(self, what: str = "these grid settings") -> None:
        """Raise :class:`~retvis.errors.SpecError` naming ``what`` (a model, say) when
        :meth:`unavailable` gives a reason."""
        reason = self.unavailable()
        if reason is not None:
            raise SpecError(f"{what} cannot be used here: {reason}")

    def key(self) -> str:
        """Stable hash of the spec, the force-field table and the engine version."""
        ff = load_forcefield(self.forcefield)
        ident = {"spec": self.to_dict(), "ff": ff.digest, "engine": ENGINE_VERSION}
        if self.cell == "canonical":
            ident["canonical"] = CANONICAL_VERSION
        if self.probe == "CO2":
            ident["co2"] = CO2_ENGINE_VERSION
        blob = json.dumps(ident, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()


@dataclass(frozen=True, eq=False)
class EnergyGrid:
    """An energy grid and the geometry it lives in.

    Attributes
    ----------
    name : str
        Material name.
    boltzmann : NDArray[np.float32]
        Shape (n, n, n); ``exp(-V / T)``, dimensionless, >= 0 (0 at overlaps, 1 where no
        atom is within the cutoff, > 1 in attractive wells). Axis order a, b, c.
    spec : GridSpec
        Settings it was computed with.
    box : NDArray[np.float64]
        Shape (3, 3); rows are the vectors spanned by the grid (the supercell lattice,
        or the cube's edges), Å.
    origin : NDArray[np.float64]
        Shape (3,); Cartesian position of grid point (0, 0, 0), Å.
    supercell : tuple of int
        Replications of the unit cell along a, b, c (1, 1, 1 in the cubic mode).
    density : float
        Density of the framework the grid was computed from, g/cm³ (NaN when unknown):
        a per-volume model (``TrainConfig.per_volume``) converts with it.
    meta : dict
        For a canonical cell, :meth:`retvis.core.canonical.Canonical.meta`: the
        crystal's digest (``crystal``), its space group and a note when the
        standardisation fell back.
    """

    name: str
    boltzmann: NDArray[np.float32]
    spec: GridSpec
    box: NDArray[np.float64]
    origin: NDArray[np.float64]
    supercell: tuple[int, int, int] = (1, 1, 1)
    density: float = float("nan")
    meta: dict = field(default_factory=dict)

    @property
    def energy(self) -> NDArray[np.float32]:
        """Probe energy V, K, shape (n, n, n); ``+inf`` where the Boltzmann factor is 0."""
        with np.errstate(divide="ignore"):
            return (-self.spec.temperature * np.log(self.boltzmann.astype(np.float64))).astype(
                np.float32
            )

    @property
    def spacing(self) -> NDArray[np.float64]:
        """Step between grid points along each box vector, Å."""
        div = self.spec.n - 1 if self.spec.endpoint else self.spec.n
        return np.linalg.norm(self.box, axis=1) / div

    def points(self) -> NDArray[np.float64]:
        """Cartesian grid points, shape (n, n, n, 3), Å."""
        t = _axis_fractions(self.spec.n, self.spec.endpoint)
        f = np.stack(np.meshgrid(t, t, t, indexing="ij"), axis=-1)
        return self.origin + f @ self.box


def _axis_fractions(n: int, endpoint: bool) -> NDArray[np.float64]:
    return np.arange(n, dtype=np.float64) / (n - 1 if endpoint else n)


def _probe_atom_parameters(
    structure: Structure, spec: GridSpec
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Probe-atom Lennard-Jones parameters of every atom (Lorentz-Berthelot mixing).

    Returns
    -------
    eps : NDArray[np.float64]
        Shape (N,), well depth over k_B, K.
    sig : NDArray[np.float64]
        Shape (N,), σ, Å.
    """
    ff = load_forcefield(spec.forcefield)
    eps_a, sig_a = ff.parameters(structure.species, structure.path)
    return mix(eps_a, sig_a, spec.probe_epsilon, spec.probe_sigma)


def lj_energies(
    structure: Structure,
    points: NDArray[np.float64],
    spec: GridSpec,
    threads: int = 1,
) -> NDArray[np.float64]:
    """Probe energies at Cartesian points inside (or near) the unit cell.

    Parameters
    ----------
    structure : Structure
        Framework.
    points : NDArray[np.float64]
        Shape (M, 3), Cartesian, Å. Any position is valid but the cell list is built
        for points inside the unit cell: fold points into it first.
    spec : GridSpec
        Cutoff, probe parameters, force field.
    threads : int
        Split the points over this many threads (the kernel releases the GIL).

    Returns
    -------
    NDArray[np.float64]
        Shape (M,), K; ``inf`` where a point is within ``overlap_distance`` of an atom.
    """
    eps, sig = _probe_atom_parameters(structure, spec)
    return pair_sum(
        structure, points, 4.0 * eps, sig**2, spec.cutoff, spec.overlap_distance, 0, 0.0, threads
    )


def probe_energies(
    structure: Structure,
    points: NDArray[np.float64],
    spec: GridSpec,
    threads: int = 1,
    charges: NDArray[np.float64] | None = None,
) -> NDArray[np.float64]:
    """The probe's energy at points, K: the Lennard-Jones energy of the sphere, or for
    the CO2 probe ``-T ln <exp(-U / T)>`` over its orientations (so that the grid's
    Boltzmann factor is the orientational average).

    ``charges`` (CO2 probe only): framework charges, e, in atom order; default EQeq
    (:func:`retvis.core.charges.eqeq_ewald_charges`).
    """
    if spec.probe == "sphere":
        return lj_energies(structure, points, spec, threads)
    return _co2_energies(structure, points, spec, threads, charges)


def _co2_energies(structure, points, spec, threads, charges):
    from .charges import COULOMB_K, eqeq_ewald_charges, ewald_potential

    if charges is None:
        charges = eqeq_ewald_charges(structure)
    points = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    n, k = len(points), len(CO2_AXES)
    offsets = CO2_BOND * CO2_AXES
    # every site position (carbons, then the two oxygens of each axis), folded into the
    # unit cell once: the cell list wants points inside it
    sites = np.concatenate(
        [
            points,
            (points[:, None] + offsets).reshape(-1, 3),
            (points[:, None] - offsets).reshape(-1, 3),
        ]
    )
    frac = sites @ np.linalg.inv(structure.lattice)
    sites = (frac - np.floor(frac)) @ structure.lattice

    def lj(site, at):
        eps, sig, _ = CO2_SITES[site]
        sphere = spec.replace(probe="sphere", probe_epsilon=eps, probe_sigma=sig)
        return lj_energies(structure, at, sphere, threads)

    u_c = lj("C", sites[:n])
    u_o = lj("O", sites[n:]).reshape(2, n, k)
    phi = ewald_potential(structure, charges, sites, threads=threads)
    phi_c, phi_o = phi[:n], phi[n:].reshape(2, n, k)
    u = (
        u_c[:, None]
        + u_o[0]
        + u_o[1]
        + COULOMB_K
        * (CO2_SITES["C"][2] * phi_c[:, None] + CO2_SITES["O"][2] * (phi_o[0] + phi_o[1]))
    )
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        w = np.where(np.isfinite(u), np.exp(-u / spec.temperature), 0.0).mean(axis=1)
        return np.where(w > 0, -spec.temperature * np.log(w), np.inf)


def co2_grid_energies(
    structure: Structure,
    m: int,
    index: tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]],
    spec: GridSpec,
    threads: int = 1,
    charges: NDArray[np.float64] | None = None,
) -> NDArray[np.float64]:
    """The CO2 probe's energies at points of the unit cell's regular m-point grid.

    The same energies as :func:`probe_energies` (the direct sums of every site over
    every atom within the cutoffs), computed the way grid codes for charged guests do:
    the reciprocal-space part of the framework's Ewald potential is put together once
    per orientation, exactly, on the whole grid
    (:func:`retvis.core.charges.ewald_reciprocal_grid`); the short-range parts run in one
    compiled kernel that skips the points whose carbon alone is blocked
    (:data:`CO2_BLOCKED`). Differences from the direct sums are the reciprocal part's
    interpolation there (well under 1 K; ``benchmarks/co2_probe.py``).

    Parameters
    ----------
    structure : Structure
    m : int
        Grid points per axis; point (i, j, k) sits at fractions ``(i, j, k) / m``.
    index : three integer arrays
        The grid indices along a, b and c wanted; the result covers their product.
    spec : GridSpec
        Cutoff, temperature, force field, overlap distance.
    threads : int
    charges : NDArray[np.float64], optional
        Framework charges, e; default EQeq.

    Returns
    -------
    NDArray[np.float64]
        Shape ``(len(index[0]), len(index[1]), len(index[2]))``, K; ``inf`` where blocked.
    """
    from ._kernels import co2_points
    from .charges import COULOMB_K, eqeq_ewald_charges, ewald_splitting

    if charges is None:
        charges = eqeq_ewald_charges(structure)
    charges = np.asarray(charges, dtype=np.float64)
    params = _co2_atom_parameters(structure, spec, charges)
    offsets = CO2_BOND * CO2_AXES
    site_q = COULOMB_K * np.array([CO2_SITES["C"][2], CO2_SITES["O"][2]])
    real_cutoff = _co2_real_cutoff(structure)
    alpha, kmax = ewald_splitting(CO2_EWALD_TOLERANCE, real_cutoff)
    ia, ib, ic = (np.asarray(i, dtype=np.int64) for i in index)
    recip = _co2_reciprocal(structure, charges, m, (ia, ib, ic), site_q, alpha, kmax)
    frac = np.stack(np.meshgrid(ia / m, ib / m, ic / m, indexing="ij"), axis=-1)
    points = frac.reshape(-1, 3) @ structure.lattice
    pos, which = images(structure, spec.cutoff + CO2_BOND)
    cells = CellList(pos, which, points, 2.5)  # best of 1.5-4 Å on CoRE MOFs
    sorted_recip = np.ascontiguousarray(recip[cells.porder])
    out = np.empty(len(points))
    args = (
        cells.points,
        cells.pstart,
        cells.atoms,
        cells.which,
        params,
        cells.start,
        cells.shape,
        cells.origin,
        cells.bin_size,
        spec.cutoff,
        real_cutoff,
        alpha,
        offsets,
        site_q,
        sorted_recip,
        spec.temperature,
        CO2_BLOCKED,
        spec.overlap_distance**2,
    )
    cells.run(lambda first, last: co2_points(*args, first, last, out), threads)
    return cells.unsort(out).reshape(len(ia), len(ib), len(ic))


def _co2_atom_parameters(
    structure: Structure, spec: GridSpec, charges: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Per framework atom, shape (N, 5): 4 eps (K) and sig^2 (Å^2) with the CO2 carbon,
    the same with its oxygen (Lorentz-Berthelot mixing), and the atom's charge (e)."""
    ff = load_forcefield(spec.forcefield)
    eps_a, sig_a = ff.parameters(structure.species, structure.path)
    params = np.empty((structure.n_atoms, 5))
    for col, site in ((0, "C"), (2, "O")):
        eps, sig = mix(eps_a, sig_a, CO2_SITES[site][0], CO2_SITES[site][1])
        params[:, col], params[:, col + 1] = 4.0 * eps, sig**2
    params[:, 4] = charges
    return params


def _co2_reciprocal(
    structure: Structure,
    charges: NDArray[np.float64],
    m: int,
    index: tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]],
    site_q: NDArray[np.float64],
    alpha: float,
    kmax: float,
) -> NDArray[np.float64]:
    """The CO2 molecule's reciprocal-space Ewald energy, K, shape (points, orientations),
    at the product of ``index`` on the unit cell's m-point grid (points in C order),
    one orientation per :data:`CO2_AXES` row."""
    from .charges import ewald_reciprocal_grid

    offsets = CO2_BOND * CO2_AXES
    n_orient = len(offsets)
    recip = ewald_reciprocal_grid(
        structure,
        charges,
        m,
        np.broadcast_to(site_q[[0, 1, 1]], (n_orient, 3)),
        np.stack([np.zeros_like(offsets), offsets, -offsets], axis=1),
        alpha,
        kmax,
    )
    ia, ib, ic = index
    return recip[:, ia][:, :, ib][:, :, :, ic].reshape(n_orient, -1).T


def unit_cell_energies(
    structure: Structure,
    shape: tuple[int, int, int],
    spec: GridSpec,
    threads: int = 1,
) -> NDArray[np.float64]:
    """Probe energies on the regular grid of the unit cell, points at ``(i/ma, j/mb, k/mc)``.

    Parameters
    ----------
    structure : Structure
        Framework.
    shape : (ma, mb, mc)
        Points along a, b, c.
    spec : GridSpec
        Cutoff, probe parameters, force field.
    threads : int
        Split the atoms over this many threads (the kernel releases the GIL).

    Returns
    -------
    NDArray[np.float64]
        Shape ``shape``, K; ``inf`` where a point is within ``overlap_distance`` of an atom.
    """
    from ._kernels import lj_scatter

    eps, sig = _probe_atom_parameters(structure, spec)
    eps4 = np.ascontiguousarray(4.0 * eps)
    sig2 = np.ascontiguousarray(sig**2)
    args = (
        np.ascontiguousarray(structure.frac),
        eps4,
        sig2,
        structure.lattice,
        np.ascontiguousarray(structure.widths),
        spec.cutoff**2,
        spec.overlap_distance**2,
    )
    n_atoms = structure.n_atoms
    threads = max(1, min(threads, n_atoms // 16))
    edges = np.linspace(0, n_atoms, threads + 1).astype(int)
    energy = [np.zeros(shape) for _ in range(threads)]
    close = [np.zeros(shape, dtype=np.uint8) for _ in range(threads)]

    def work(i: int) -> None:
        lj_scatter(*args, edges[i], edges[i + 1], energy[i], close[i])

    if threads == 1:
        work(0)
    else:
        with ThreadPoolExecutor(threads) as ex:
            list(ex.map(work, range(threads)))
    total = energy[0]
    for e in energy[1:]:
        total += e
    blocked = np.logical_or.reduce(close) if threads > 1 else close[0].astype(bool)
    total[blocked] = np.inf
    return total


def compute_grid(
    structure: Structure,
    spec: GridSpec | None = None,
    threads: int = 1,
    charges: NDArray[np.float64] | None = None,
) -> EnergyGrid:
    """Compute a structure's energy grid.

    Parameters
    ----------
    structure : Structure
        Framework.
    spec : GridSpec, optional
        Settings; defaults to ``GridSpec()``.
    threads : int
        Threads for this one structure (batches parallelise over structures instead).
    charges : NDArray[np.float64], optional
        CO2 probe only: framework charges, e, in atom order (for example from the
        CIF); default EQeq.

    Returns
    -------
    EnergyGrid

    Raises
    ------
    ForceFieldError
        An element has no Lennard-Jones parameters.
    LimitError
        The grid would be larger than :data:`MAX_N` per axis, or its Boltzmann factors
        overflow (an energy below about -88 kT).
    SimulationError
        CO2 probe: EQeq charges cannot be computed for the structure, or are unphysical
        (:data:`retvis.core.charges.MAX_ABS_CHARGE`).
    """
    spec = spec or GridSpec()
    meta: dict = {}
    check()
    if spec.cell == "canonical":
        canon = canonicalize(structure)
        check()
        if charges is not None:
            charges = np.asarray(charges, dtype=np.float64)[canon.index]
        structure = canon.structure
        meta = canon.meta()
    if spec.mode == "supercell":
        e, box, origin, supercell = _supercell_energies(structure, spec, threads, charges)
    else:
        e, box, origin, supercell = _cube_energies(structure, spec, threads, charges)
    if spec.n > MAX_N:
        raise LimitError(f"grid of {spec.n}^3 points exceeds the limit of {MAX_N}^3")
    boltz = _boltzmann(e, spec, structure)
    return EnergyGrid(structure.name, boltz, spec, box, origin, supercell, structure.density, meta)


def _supercell_energies(
    structure: Structure,
    spec: GridSpec,
    threads: int,
    charges: NDArray[np.float64] | None,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], tuple[int, int, int]]:
    """The supercell mode of :func:`compute_grid`: energies at the n^3 supercell points
    (K, shape (n, n, n)), the box spanned (Å), its origin (Å) and the replications.

    Each point folds onto the unit cell's regular m-point grid; the distinct folded
    points are computed once, by the CO2 grid path, by gathering at them or by
    scattering the atoms onto the whole unit-cell grid, whichever applies.
    """
    n = spec.n
    # a skewed cell as read: its energies summed in its reduced cell; points are folded
    # into it
    work = _work_cell(structure, spec)
    s = supercell_factors(structure, spec.cutoff)
    m = n - 1 if spec.endpoint else n
    if m < 1:
        raise LimitError(f"grid of {n} points per axis is too small")
    # point i of an axis replicated s times sits at unit-cell fraction (i*s mod m)/m
    folds = [np.unique((np.arange(n, dtype=np.int64) * k) % m, return_inverse=True) for k in s]
    distinct = int(np.prod([len(u) for u, _ in folds]))
    if spec.probe == "CO2" and work is structure:
        e = co2_grid_energies(structure, m, [u for u, _ in folds], spec, threads, charges)
        e = e[np.ix_(*(inv for _, inv in folds))]
    elif work is not structure or _gather_is_cheaper(structure, distinct, m**3, spec.cutoff):
        # few distinct points (the seed convention often folds 8-fold): gather at them
        fa, fb, fc = (u / m for u, _ in folds)
        frac = np.stack(np.meshgrid(fa, fb, fc, indexing="ij"), axis=-1).reshape(-1, 3)
        e = probe_energies(work, _fold(work, frac @ structure.lattice), spec, threads, charges)
        e = e.reshape(len(fa), len(fb), len(fc))[np.ix_(*(inv for _, inv in folds))]
    else:
        unit = unit_cell_energies(structure, (m, m, m), spec, threads)
        e = unit[np.ix_(*(u[inv] for u, inv in folds))]
    box = structure.lattice * np.array(s, dtype=np.float64)[:, None]
    return e, box, np.zeros(3), tuple(int(k) for k in s)


def _cube_energies(
    structure: Structure,
    spec: GridSpec,
    threads: int,
    charges: NDArray[np.float64] | None,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], tuple[int, int, int]]:
    """The cubic mode of :func:`compute_grid`: energies at the n^3 points of the cube of
    side ``spec.box_length`` centred at the origin (K, shape (n, n, n)), the box (Å), its
    origin (Å) and the replications (1, 1, 1). Points that fold onto the same place in
    the unit cell are computed once."""
    n = spec.n
    work = _work_cell(structure, spec)
    t = _axis_fractions(n, spec.endpoint) * spec.box_length - spec.box_length / 2
    cart = np.stack(np.meshgrid(t, t, t, indexing="ij"), axis=-1).reshape(-1, 3)
    frac = cart @ np.linalg.inv(structure.lattice)
    frac -= np.floor(frac)
    key = np.round(frac * 2**32).astype(np.int64) % 2**32
    _, first, inverse = np.unique(key, axis=0, return_index=True, return_inverse=True)
    e = probe_energies(work, _fold(work, frac[first] @ structure.lattice), spec, threads, charges)
    e = e[inverse.ravel()].reshape(n, n, n)
    box = np.eye(3) * spec.box_length
    return e, box, np.full(3, -spec.box_length / 2), (1, 1, 1)


def _boltzmann(e: NDArray[np.float64], spec: GridSpec, structure: Structure) -> NDArray[np.float32]:
    """``exp(-e / T)`` as float32; :class:`~retvis.errors.LimitError` naming the
    structure's file where it overflows (an energy below about -88 kT)."""
    with np.errstate(over="ignore"):
        boltz = np.exp(-e / spec.temperature).astype(np.float32)
    overflowed = ~np.isfinite(boltz)
    if overflowed.any():
        # never hand on an overflowed grid: a model refuses a batch that holds one
        low = float(np.min(e))
        raise LimitError(
            f"the probe's energy falls to {low:.0f} K ({low / spec.temperature:.0f} kT), "
            f"beyond the range of a float32 Boltzmann factor, at "
            f"{int(overflowed.sum())} grid points: the framework's charges or "
            "parameters are unphysical",
            structure.path,
        )
    return boltz


def _gather_is_cheaper(structure: Structure, distinct: int, points: int, cutoff: float) -> bool:
    """Whether gathering at ``distinct`` points costs less than scattering the atoms onto
    all ``points`` of the unit-cell grid (:data:`SCATTER_COST`, :data:`GATHER_COST`)."""
    per_point = structure.n_atoms * (4 / 3) * math.pi * cutoff**3 / structure.volume
    s_pair, s_atom = SCATTER_COST
    g_pair, g_point, g_atom, g_once = GATHER_COST
    scatter = s_pair * per_point * points + s_atom * structure.n_atoms
    gather = (g_pair * per_point + g_point) * distinct + g_atom * structure.n_atoms + g_once
    return gather < scatter


def _reciprocal_block(structure: Structure) -> int:
    """k-vectors in one block of the CO2 probe's reciprocal grid (its planes of Miller
    index h, about 65,536 k-vectors and at least one plane)."""
    from .charges import ewald_splitting

    real_cutoff = _co2_real_cutoff(structure)
    _, kmax = ewald_splitting(CO2_EWALD_TOLERANCE, real_cutoff)
    half = np.ceil(kmax * np.linalg.norm(structure.lattice, axis=1) / (2 * np.pi))
    side = 2 * half + 1
    plane = int(side[1] * side[2])
    return int(min(side[0], max(1, (1 << 16) // plane)) * plane)


def _work_cell(structure: Structure, spec: GridSpec) -> Structure:
    """The cell the energies are summed in: for ``cell="as-read"``, a strongly skewed
    cell's reduced cell (the same lattice, so every energy is the same, with the periodic
    images a reduced cell has), else the structure itself."""
    if spec.cell != "as-read":
        return structure
    reach = spec.cutoff + (CO2_BOND if spec.probe == "CO2" else 0.0)
    reduced = reduced_structure(structure)
    if image_count(structure, reach) > 2 * image_count(reduced, reach):
        return reduced
    return structure


def _co2_real_cutoff(structure: Structure) -> float:
    """Real-space cutoff of the CO2 probe's Ewald sums, Å (:data:`CO2_REAL_CUTOFF`)."""
    return max(CO2_REAL_CUTOFF[0], CO2_REAL_CUTOFF[1] * structure.volume ** (1 / 6))


def _fold(structure: Structure, cart: NDArray[np.float64]) -> NDArray[np.float64]:
    """Cartesian points moved by lattice vectors into the structure's unit cell."""
    frac = cart @ np.linalg.inv(structure.lattice)
    return (frac - np.floor(frac)) @ structure.lattice


def grid_cell(structure: Structure, spec: GridSpec) -> Structure:
    """The cell ``spec``'s grids of ``structure`` are computed on (and drawn in): the
    canonical cell, or the structure itself for ``cell="as-read"``."""
    return canonicalize(structure).structure if spec.cell == "canonical" else structure


#: Bytes of the memory model (:func:`estimate_grid_bytes`), from peaks measured with
#: ``benchmarks/limits.py`` (resident memory above the process, one thread) and rounded
#: up: per (symmetry operation, atom) of the canonical cell's symmetrisation, capped at
#: the block it works in; per atom image within the cutoff; per energy-grid voxel
#: (float64 energies, folded points, index arrays; tracemalloc on FIQCEN and XAGCIS at
#: n = 32..96 gave at most 144 in the supercell mode, 232 in the cubic mode); per
#: orientation-voxel of the CO2 probe's reciprocal grid; per k-vector of the block its
#: reciprocal sum works in (all orientations); and a floor.
MEMORY_MODEL = {
    "symmetrise": 160,
    "symmetrise_block": 700_000,
    "image": 160,
    "voxel": 256,
    "orientation_voxel": 64,
    "reciprocal_block": 1300,
    "floor": 4 << 20,
}


def estimate_grid_bytes(structure: Structure, spec: GridSpec | None = None) -> int:
    """Peak memory of :func:`compute_grid` on a structure, bytes, before computing it.

    The largest of the phases, which free their arrays before the next: the canonical
    cell's symmetrisation; the grid (images within the cutoff, the voxels, and for the
    CO2 probe the reciprocal-space grid of each orientation); for the CO2 probe, EQeq's
    charges (:func:`retvis.core.charges.eqeq_bytes`). Counts what the canonical cell
    costs, so it computes that cell (kept for the grid that follows). Checked against
    measured peaks from 1 to 21,265 atoms and skewed cells by ``benchmarks/limits.py``.
    """
    spec = spec or GridSpec()
    mm = MEMORY_MODEL
    symmetrise = 0
    if spec.cell == "canonical":
        canon = canonicalize(structure)
        structure = canon.structure
        symmetrise = mm["symmetrise"] * min(
            canon.operations * structure.n_atoms, mm["symmetrise_block"]
        )
    structure = _work_cell(structure, spec)
    reach = spec.cutoff + (CO2_BOND if spec.probe == "CO2" else 0.0)
    images = structure.n_atoms * image_count(structure, reach)
    work = mm["image"] * images + mm["voxel"] * spec.n**3
    if spec.probe == "CO2":
        from .charges import eqeq_bytes

        m = spec.n - 1 if spec.endpoint else spec.n
        work += mm["orientation_voxel"] * len(CO2_AXES) * m**3
        work += mm["reciprocal_block"] * _reciprocal_block(structure)
        work = max(work, eqeq_bytes(structure))
    return int(max(symmetrise, work) + mm["floor"])
