"""Pretraining targets: cheap physical quantities RetVis computes for every structure.

A backbone pretrained to predict many quantities that adsorption depends on needs far
fewer GCMC labels for a new gas or condition (docs/pretraining.md). The quantities here
cost milliseconds per structure, so every usable CoRE MOF gets all of them:

- For each Lennard-Jones sphere of :data:`PROBES` (CH4, Xe, Kr, Ar at 298 K; H2 at 77 K),
  its Henry coefficient and its heat of adsorption at infinite dilution, from an energy
  grid of that probe on the structure's canonical cell (n = 25, 10 Å cutoff, UFF): the
  grid's points sample the cell uniformly, so the mean Boltzmann factor ``<B>`` is the
  cell average. ``K_H = <B> / (R T rho)`` in mol/(kg Pa), stored as ``log10``; the heat
  is ``q = R (T - <V B> / <B>)`` in kJ/mol, with ``V = -T ln B`` in kelvin. The energy
  beyond the grid's cutoff is added as the usual analytic tail of a uniform framework,
  ``(8/3) pi sum_j rho_j eps_j sig_j^3 [(sig_j/rc)^9 / 3 - (sig_j/rc)^3]`` (one constant per
  structure and probe), as RASPA adds to its energies.
- The geometry the CoRE MOF 2019 table gives (Zeo++): largest cavity, pore limiting and
  largest free-path diameters, accessible surface area, void fraction, pore volume; and
  the density. Missing for structures outside CoRE MOF (a masked target, not a zero).

The table also carries each structure's input grid (the default sphere probe, the grid
every RetVis model reads) so that pretraining does not compute it again.
"""

from __future__ import annotations

import csv
import json
import math
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core import formats
from ..core.cache import atomic_write_bytes, sha256_file
from ..core.grid import GridSpec, compute_grid
from ..core.guests import GUESTS
from ..core.structure import read_structure
from ..errors import DataError, RetvisError
from .gcmc import GAS_CONSTANT as R


@dataclass(frozen=True)
class Probe:
    """A Lennard-Jones sphere at a temperature: a guest for a Henry coefficient."""

    name: str
    epsilon: float  # K
    sigma: float  # Å
    temperature: float  # K
    source: str

    def spec(self) -> GridSpec:
        return GridSpec(
            probe_epsilon=self.epsilon, probe_sigma=self.sigma, temperature=self.temperature
        )


def _guest_probe(name: str, source: str) -> Probe:
    """The sphere of a single-site guest of the GCMC labels (``GUESTS``) at 298 K."""
    site = GUESTS[name].sites[0]
    return Probe(name, site.epsilon, site.sigma, 298.0, source)


#: The probes of the pretraining targets: gases users screen for, sizes from H2 to Xe.
PROBES = (
    _guest_probe("CH4", "TraPPE united atom (Martin & Siepmann 1998)"),
    _guest_probe("Xe", "Xe sphere of Xe/Kr screening (Simon et al. 2015)"),
    _guest_probe("Kr", "Kr sphere of Xe/Kr screening (Simon et al. 2015)"),
    Probe("Ar", 119.8, 3.4, 298.0, "Ar, classical Lennard-Jones (Michels et al. 1949)"),
    Probe("H2", 34.2, 2.96, 77.0, "H2 sphere at 77 K (Buch 1994)"),
)

#: CoRE MOF 2019 table column -> target name, units.
GEOMETRY = {
    "LCD": ("lcd", "Å"),
    "PLD": ("pld", "Å"),
    "LFPD": ("lfpd", "Å"),
    "ASA_m2_g": ("asa", "m²/g"),
    "AV_VF": ("void_fraction", "1"),
    "AV_cm3_g": ("pore_volume", "cm³/g"),
}


#: Input grids a targets folder can hold, by name: the default sphere probe (the grid of
#: the CH4 model and of the first backbone) and the TraPPE CO2 probe with EQeq charges.
INPUTS = {"sphere": GridSpec(), "CO2": GridSpec(probe="CO2")}


def target_columns(input_probe: str = "sphere") -> dict[str, str]:
    """Every target column with its units, in table order. A folder of CO2-probe input
    grids also has CO2's Henry coefficient and heat, from those grids."""
    cols: dict[str, str] = {}
    if input_probe == "CO2":
        cols["log10_kh_CO2"] = "log10 mol/(kg Pa)"
        cols["qst_CO2"] = "kJ/mol"
    for p in PROBES:
        cols[f"log10_kh_{p.name}"] = "log10 mol/(kg Pa)"
        cols[f"qst_{p.name}"] = "kJ/mol"
    cols["density"] = "g/cm³"
    for name, units in GEOMETRY.values():
        cols[name] = units
    return cols


COLUMNS = ["name", "status", "reason", "part", "row", "cpu_seconds", "sha256", "path"]


def tail_energy(structure, sites: Iterable[tuple[float, float]], spec: GridSpec) -> float:
    """Lennard-Jones energy beyond the grid's cutoff, in a uniform framework (the force
    field of ``spec``), of a guest made of ``sites`` (epsilon K, sigma Å), K."""
    from ..core.forcefield import load_forcefield, mix

    eps_a, sig_a = load_forcefield(spec.forcefield).parameters(structure.species, structure.path)
    total = 0.0
    for epsilon, sigma in sites:
        eps, sig = mix(eps_a, sig_a, epsilon, sigma)
        s3 = (sig / spec.cutoff) ** 3
        # each atom is one of its kind per cell: its number density is 1 / V
        total += float(8 / 3 * np.pi * np.sum(eps * sig**3 * (s3**3 / 3 - s3)))
    return total / structure.volume


def henry(
    boltzmann: np.ndarray, temperature: float, density: float, tail: float = 0.0
) -> tuple[float, float]:
    """(log10 K_H in mol/(kg Pa), heat of adsorption at infinite dilution in kJ/mol) of
    one probe's grid, every energy shifted by ``tail`` (K); ``density`` in g/cm³."""
    b = boltzmann.astype(np.float64).ravel() * math.exp(-tail / temperature)
    mean_b = float(b.mean())
    if not mean_b > 0:
        raise DataError("no point of the grid is accessible to the probe (all B = 0)")
    kh = mean_b / (R * temperature * density * 1000.0)  # rho in kg/m³
    pos = b > 0
    v = -temperature * np.log(b[pos])
    mean_v = float((v * b[pos]).sum() / b.sum())
    return math.log10(kh), R * (temperature - mean_v) / 1000.0


def structure_targets(
    path: Path,
    geometry: dict[str, dict[str, float]],
    max_atoms: int = 1000,
    input_probe: str = "sphere",
    known: dict[str, float] | None = None,
):
    """All targets of one CIF and its input grid (``INPUTS[input_probe]``), float32.

    ``known``: this file's sphere-probe targets from an earlier table (same file, same
    sha256), used instead of computing them again.
    """
    s = read_structure(path, max_atoms=max_atoms)
    out: dict[str, float] = {}
    spec = INPUTS[input_probe]
    grid = compute_grid(s, spec)
    if input_probe == "CO2":
        sites = [(a.epsilon, a.sigma) for a in GUESTS["CO2"].sites]
        out["log10_kh_CO2"], out["qst_CO2"] = henry(
            grid.boltzmann, spec.temperature, grid.density, tail_energy(s, sites, spec)
        )
    for p in PROBES:
        kh, qst = f"log10_kh_{p.name}", f"qst_{p.name}"
        if known and known.get(kh) and known.get(qst):
            out[kh], out[qst] = float(known[kh]), float(known[qst])
            continue
        g = grid if input_probe == "sphere" and p.spec() == spec else compute_grid(s, p.spec())
        out[kh], out[qst] = henry(
            g.boltzmann, p.temperature, g.density, tail_energy(s, [(p.epsilon, p.sigma)], p.spec())
        )
    out["density"] = float(grid.density)
    for name, value in geometry.get(path.stem, {}).items():
        out[name] = value
    return out, grid.boltzmann.astype(np.float32)


def coremof_geometry() -> dict[str, dict[str, float]]:
    """The CoRE MOF 2019-ASR table's geometry per structure name (finite values only)."""
    from ..core import coremof

    out: dict[str, dict[str, float]] = {}
    with open(coremof.table(), newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            vals = {}
            for col, (name, _) in GEOMETRY.items():
                try:
                    v = float(r[col])
                except (KeyError, ValueError):
                    continue
                if math.isfinite(v):
                    vals[name] = v
            out[r["filename"]] = vals
    return out


class TargetsFolder:
    """A resumable folder of targets: ``targets.csv`` (one row per structure) and the
    input grids in parts ``grids/part-NNNNN.npy`` (rows in the table's ``row`` order).

    A part and its rows are written together, the part first (atomically), so a crash
    loses at most the structures of the part being filled; they run again on resume.
    """

    def __init__(self, root: str | os.PathLike[str], input_probe: str | None = None) -> None:
        self.root = Path(root)
        self.table = self.root / "targets.csv"
        self.meta_path = self.root / "targets.meta.json"
        self.grids = self.root / "grids"
        held = self._held_input()
        if input_probe is not None and held is not None and held != input_probe:
            raise DataError(
                f"this targets folder holds {held}-probe input grids, not {input_probe}: "
                "choose another folder",
                self.root,
            )
        if input_probe is not None and input_probe not in INPUTS:
            raise DataError(f"no input grid '{input_probe}' (one of {', '.join(INPUTS)})")
        self.input_probe = held or input_probe or "sphere"

    def _held_input(self) -> str | None:
        """The input probe of an existing table, from its columns."""
        if not self.table.is_file():
            return None
        with open(self.table, newline="", encoding="utf-8") as fh:
            header = next(csv.reader(fh), [])
        return "CO2" if "log10_kh_CO2" in header else "sphere"

    @property
    def spec(self) -> GridSpec:
        """The grid settings of the folder's input grids."""
        return INPUTS[self.input_probe]

    def columns(self) -> dict[str, str]:
        """The folder's target columns with their units."""
        return target_columns(self.input_probe)

    def rows(self) -> list[dict[str, str]]:
        if not self.table.is_file():
            return []
        with open(self.table, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            missing = set(COLUMNS) - set(reader.fieldnames or ())
            if missing:
                raise DataError(f"not a RetVis targets table (no {sorted(missing)})", self.table)
            return list(reader)

    def done(self) -> set[str]:
        return {r["path"] for r in self.rows()}

    def next_part(self) -> int:
        parts = [int(p.stem.split("-")[1]) for p in self.grids.glob("part-*.npy")]
        return max(parts, default=-1) + 1

    def append(self, part: int, grids: list[np.ndarray], rows: list[dict]) -> None:
        """Write one part of grids, then its rows (with their ``part`` and ``row``)."""
        cols = COLUMNS + list(self.columns())
        if grids:
            import io

            buf = io.BytesIO()
            np.save(buf, np.stack(grids))
            atomic_write_bytes(self.grids / f"part-{part:05d}.npy", buf.getvalue())
        new = not self.table.is_file()
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.table, "a", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=cols, extrasaction="ignore")
            if new:
                w.writeheader()
            w.writerows(rows)
            fh.flush()
            os.fsync(fh.fileno())

    def load(self, names: Iterable[str] | None = None):
        """(names, grids (N, n, n, n) float32, targets (N, T) with NaN where missing, the
        target names) of the structures whose status is ok."""
        rows = [r for r in self.rows() if r["status"] == "ok"]
        if names is not None:
            keep = set(names)
            rows = [r for r in rows if r["name"] in keep]
        cols = list(self.columns())
        parts: dict[int, np.ndarray] = {}
        grids, values = [], []
        for r in rows:
            k = int(r["part"])
            if k not in parts:
                parts[k] = np.load(self.grids / f"part-{k:05d}.npy", mmap_mode="r")
            grids.append(np.asarray(parts[k][int(r["row"])]))
            values.append([float(r[c]) if r.get(c) not in (None, "") else np.nan for c in cols])
        if not grids:
            raise DataError("no computed structures in the targets folder", self.root)
        return [r["name"] for r in rows], np.stack(grids), np.asarray(values), cols


def compute_targets(
    files: list[Path],
    out: str | os.PathLike[str],
    exclude: set[str] = frozenset(),
    max_atoms: int = 1000,
    part_size: int = 256,
    progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    input_probe: str = "sphere",
    known: str | os.PathLike[str] | None = None,
) -> dict:
    """Compute the targets of ``files`` into the folder ``out``, resuming what is there.

    A structure that fails is a row with its reason; ``exclude`` names (hold-out, test
    splits) are never computed. ``input_probe`` names the input grids (:data:`INPUTS`);
    ``known``, a targets table whose sphere-probe targets are taken for the files with
    the same sha256 instead of being computed again. Returns counts and CPU seconds of
    this run.
    """
    folder = TargetsFolder(out, input_probe)
    known_rows = _known_targets(known) if known is not None else {}
    done = folder.done()
    todo = [f for f in files if str(f) not in done and f.stem not in exclude]
    geometry = coremof_geometry()
    part = folder.next_part()
    grids: list[np.ndarray] = []
    rows: list[dict] = []
    counts = {"ok": 0, "failed": 0, "skipped": len(files) - len(todo), "cpu_seconds": 0.0}
    t_start = time.process_time()

    def flush():
        nonlocal part, grids, rows
        if rows:
            folder.append(part, grids, rows)
            part += 1 if grids else 0
        grids, rows = [], []

    for i, f in enumerate(todo):
        if should_stop is not None and should_stop():
            break
        t0 = time.process_time()
        row = {"name": f.stem, "path": str(f), "part": "", "row": ""}
        try:
            row["sha256"] = sha256_file(f)
            values, grid = structure_targets(
                f, geometry, max_atoms, folder.input_probe, known_rows.get(row["sha256"])
            )
        except (RetvisError, OSError) as exc:
            row.update(status="failed", reason=str(getattr(exc, "reason", exc)))
            counts["failed"] += 1
        else:
            row.update(status="ok", reason="", part=part, row=len(grids))
            row.update({k: f"{v:.6g}" for k, v in values.items()})
            grids.append(grid)
            counts["ok"] += 1
        row["cpu_seconds"] = f"{time.process_time() - t0:.4f}"
        rows.append(row)
        if len(grids) >= part_size:
            flush()
        if progress is not None:
            progress(i + 1, len(todo))
    flush()
    counts["cpu_seconds"] = round(time.process_time() - t_start, 1)
    _write_meta(folder)
    return counts


def _known_targets(table: str | os.PathLike[str]) -> dict[str, dict[str, str]]:
    """The computed rows of a targets table, by their file's sha256."""
    path = Path(table)
    if not path.is_file():
        raise DataError("no such targets table", path)
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if not {"sha256", "status"} <= set(reader.fieldnames or ()):
            raise DataError("not a RetVis targets table (no sha256 and status)", path)
        return {r["sha256"]: r for r in reader if r["status"] == "ok"}


def _write_meta(folder: TargetsFolder) -> None:
    rows = folder.rows()
    ok = [r for r in rows if r["status"] == "ok"]
    cpu = sum(float(r["cpu_seconds"] or 0) for r in rows)
    meta = {
        **formats.stamp("retvis-targets"),
        "description": "Pretraining targets computed by RetVis (retvis targets); see "
        "docs/pretraining.md.",
        "input_grid": folder.spec.to_dict(),
        "targets": folder.columns(),
        "probes": [
            {
                "name": p.name,
                "epsilon_K": p.epsilon,
                "sigma_A": p.sigma,
                "temperature_K": p.temperature,
                "source": p.source,
            }
            for p in PROBES
        ],
        "geometry_source": "CoRE MOF 2019-ASR table (Zeo++), core-mof package",
        "rows": len(rows),
        "ok": len(ok),
        "cpu_seconds": round(cpu, 2),
        "cpu_hours": round(cpu / 3600, 3),
        "cpu_seconds_median": float(np.median([float(r["cpu_seconds"]) for r in ok]))
        if ok
        else None,
    }
    atomic_write_bytes(folder.meta_path, json.dumps(meta, indent=1).encode())
