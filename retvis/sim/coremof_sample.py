"""Label a random sample of CoRE MOF 2019-ASR (or CURATED COFs) by GCMC, resumable.

Builds the run order (a fixed-seed permutation of the CIFs, hold-out names and cells
over ``--max-atoms`` atoms excluded), writes the file list, the exclusions and the
dataset metadata, then runs (or prints) the ``retvis label`` command. Rerunning the
script with the same arguments resumes where the table stops.

The guests share one sample order (same seed), so the CO2 structures are the first
ones of the CH4 run. Defaults are docs/method.md section 6: CH4 at 298 K and 5.8 bar; CO2
at 298 K and 0.15 bar with EQeq framework charges and Ewald sums.

Examples (the long runs; the tables go to RetVis' data folder unless ``--out`` says)::

    python3 -m retvis.sim.coremof_sample --run
    python3 -m retvis.sim.coremof_sample --guest CO2 --timeout 1800 --run

CoRE MOF comes from the ``core-mof`` package (extracted once into the user cache).
``--source curated-cofs --folder DIR`` samples the experimental COFs of the CURATED COFs
database (its ``cifs/`` folder, https://github.com/danieleongari/CURATED-COFs) the same way (dataset ``<guest>_<T>K_<p>bar_cofs``): labels to measure how a model
trained on MOFs transfers to COFs, never training data of the shipped models.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import shlex
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np

from retvis.core.structure import read_structure
from retvis.errors import RetvisError
from retvis.paths import data_dir, resources_dir
from retvis.sim.gcmc import GUESTS, Protocol
from retvis.sim.labels import raspalib_version
from retvis.sim.units import parse_pressure


def _version(pkg: str) -> str:
    try:
        return version(pkg)
    except PackageNotFoundError:
        return "not installed"


#: Where the CIFs come from: dataset-name suffix, description, metadata.
SOURCES = {
    "coremof": {
        "suffix": "",
        "what": "CoRE MOF 2019-ASR structures",
        "database": "CoRE MOF 2019-ASR (all-solvent-removed)",
        "package": lambda: f"core-mof {_version('core-mof')} (CoRE_MOF/data/2019-ASR.tar.xz)",
    },
    "curated-cofs": {
        "suffix": "_cofs",
        "what": "experimental COFs of CURATED COFs (as published, not DFT-optimized)",
        "database": "CURATED COFs (Ongari, Yakutovich, Talirz, Smit, ACS Cent. Sci. 2019, "
        "5, 1663; 2020 update), MIT license",
        "package": lambda: "CURATED COFs cifs/ (github.com/danieleongari/CURATED-COFs)",
    },
}


def _describe(guest) -> str:
    sites = "; ".join(
        f"{s.name} {s.epsilon:g} K / {s.sigma:g} A / {s.charge:+g} e / {s.mass:.8g} g/mol"
        for s in guest.sites
    )
    return (
        f"{guest.model} {guest.name} ({sites}), Peng-Robinson (Tc {guest.critical_temperature:g} K, "
        f"Pc {guest.critical_pressure / 1e6:g} MPa, omega {guest.acentric_factor:g})"
    )


def _charges_text() -> str:
    from retvis.sim.charges import METHOD_ID

    return f"framework charges {METHOD_ID}; Ewald summation in RASPA3"


def _parser() -> argparse.ArgumentParser:
    """The command line of :func:`main`."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--source", choices=sorted(SOURCES), default="coremof")
    p.add_argument(
        "--folder",
        "--coremof",
        type=Path,
        dest="folder",
        help="CIF folder (default: the core-mof package's CoRE MOF 2019-ASR)",
    )
    p.add_argument(
        "--holdout", type=Path, default=resources_dir() / "datasets" / "holdout_names.txt"
    )
    p.add_argument("--guest", choices=sorted(GUESTS), default="CH4")
    p.add_argument(
        "--pressure",
        help="default: the guest's usual one (5.8bar CH4, 0.15bar CO2, 1bar Xe and Kr)",
    )
    p.add_argument(
        "--split",
        type=Path,
        help="sample a model's structures instead (its split.json): 3 training, 1 test, "
        "1 validation name in turn, each part in a seeded shuffle, so the labels share "
        "that model's split and grids",
    )
    p.add_argument("--out", type=Path, help="labels CSV (default DATA/labels/<dataset>.csv)")
    p.add_argument("--meta", type=Path, help="metadata (default beside --out, .meta.json)")
    p.add_argument("--seed", type=int, default=2024, help="sampling seed (numpy default_rng)")
    p.add_argument("--max-atoms", type=int, default=1000)
    p.add_argument("--timeout", type=float, default=900.0, help="CPU-time limit per structure, s")
    p.add_argument("--jobs", type=int, default=1, help="structures at once (one process each)")
    p.add_argument("--run", action="store_true", help="run retvis label (else print it)")
    return p


def _sample(
    files: list[Path], order: np.ndarray, holdout: set[str], max_atoms: int
) -> tuple[list[Path], list[tuple[str, str, str]]]:
    """The files in run order that are kept, and the excluded ones as (name, why,
    reason): hold-out names, unreadable structures and cells over ``max_atoms`` atoms."""
    keep, excluded = [], []
    for i in order:
        f = files[i]
        if f.stem in holdout:
            excluded.append((f.stem, "holdout", "in holdout_names.txt"))
            continue
        try:
            s = read_structure(f)
        except RetvisError as exc:
            excluded.append((f.stem, exc.kind, exc.reason))
            continue
        if s.n_atoms > max_atoms:
            excluded.append(
                (f.stem, "too_large", f"{s.n_atoms} atoms in the unit cell > {max_atoms}")
            )
            continue
        keep.append(f)
    return keep, excluded


#: The run order of a split's parts (:func:`_split_order`): every prefix holds them 3:1:1.
SPLIT_PATTERN = ("train", "test", "train", "val", "train")


def _split_order(files: list[Path], split: Path, seed: int) -> np.ndarray:
    """Indices into ``files`` of a model's split (``split.json``): each part shuffled by
    ``random.Random(seed)`` (train, val, test in turn), then taken in
    :data:`SPLIT_PATTERN` until all are used."""
    import random

    index = {f.stem: i for i, f in enumerate(files)}
    names = json.loads(split.read_text())
    rng = random.Random(seed)
    parts = {}
    for part in ("train", "val", "test"):
        parts[part] = [n for n in names[part] if n in index]
        rng.shuffle(parts[part])
    order = []
    while any(parts.values()):
        for part in SPLIT_PATTERN:
            if parts[part]:
                order.append(index[parts[part].pop(0)])
    return np.array(order, dtype=np.int64)


def _write_sample(
    keep: list[Path], excluded: list[tuple[str, str, str]], list_path: Path, excl_path: Path
) -> None:
    """Write the file list (one path a line) and the exclusions CSV."""
    list_path.write_text("".join(f"{f}\n" for f in keep))
    with open(excl_path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["name", "why", "reason"])
        w.writerows(excluded)


def _label_command(args: argparse.Namespace, protocol: Protocol, list_path: Path) -> list[str]:
    """The ``retvis label`` command that labels the listed files into ``args.out``."""
    return [
        sys.executable,
        "-m",
        "retvis",
        "label",
        "--files-from",
        str(list_path),
        "-o",
        str(args.out),
        "--guest",
        protocol.guest,
        "--pressure",
        f"{protocol.pressure / 1e5:g}bar",
        "--temperature",
        f"{protocol.temperature:g}K",
        "--jobs",
        str(args.jobs),
        "--timeout",
        f"{args.timeout:g}",
        "-q",
    ] + (["--charges"] if protocol.charges else [])


def _reproduce_command(args: argparse.Namespace, pressure: float) -> str:
    """The command line that reruns this sample (and resumes its labelling)."""
    return " ".join(
        shlex.quote(c)
        for c in [
            "python3",
            "-m",
            "retvis.sim.coremof_sample",
            "--guest",
            args.guest,
            "--pressure",
            f"{pressure / 1e5:g}bar",
            "--source",
            args.source,
            "--folder",
            str(args.folder),
            "--holdout",
            str(args.holdout),
            "--out",
            str(args.out),
            "--meta",
            str(args.meta),
            "--seed",
            str(args.seed),
            "--max-atoms",
            str(args.max_atoms),
            "--timeout",
            f"{args.timeout:g}",
            *(["--split", str(args.split)] if args.split is not None else []),
            "--run",
        ]
    )


def _simulation_meta(guest, protocol: Protocol) -> dict:
    """The metadata's ``simulation`` entry: engine, force field, guest, moves, charges."""
    return {
        "engine": "RASPA3 via raspalib",
        "raspalib": raspalib_version(),
        "framework": "rigid, UFF Lennard-Jones (resources/forcefield/uff.csv), "
        "Lorentz-Berthelot, truncated at 12.8 A, tail corrections, "
        "supercell by the minimum image convention",
        "guest": _describe(guest),
        "moves": ", ".join(
            f"{k.removesuffix('_probability').replace('_cbmc', ' (CBMC)')} {v:g}"
            for k, v in guest.moves.items()
        ),
        "charges": _charges_text() if protocol.charges else "none (no Coulomb terms)",
        "error": "uptake_err_* is RASPA's 95% confidence half-width over 5 blocks",
    }


def _sampling_meta(
    args: argparse.Namespace,
    keep: list[Path],
    excluded: list[tuple[str, str, str]],
    counts: dict[str, int],
    list_path: Path,
    excl_path: Path,
) -> dict:
    """The metadata's ``sampling`` entry: method, seed, limits, counts and file names."""
    return {
        "method": (
            f"the names of {args.split.name} ({args.split}), each part shuffled by "
            f"random.Random(seed), taken {':'.join(SPLIT_PATTERN)} in turn"
            if args.split is not None
            else "numpy.random.default_rng(seed).permutation over the sorted file names"
        )
        + "; structures run in that order",
        "seed": args.seed,
        "max_atoms": args.max_atoms,
        "n_candidates": len(keep),
        "n_excluded": len(excluded),
        "excluded_by_reason": counts,
        "holdout_file": f"{args.holdout.name} (never labelled here)",
        "file_list": list_path.name,
        "exclusions_file": excl_path.name,
        "timeout_s": args.timeout,
    }


def main(argv=None) -> int:
    """Build the sample, write its file list, exclusions and metadata, then run (``--run``)
    or print the ``retvis label`` command; returns the exit status."""
    p = _parser()
    args = p.parse_args(argv)
    guest = GUESTS[args.guest]
    pressure = parse_pressure(args.pressure) if args.pressure else GUESTS[args.guest].pressure
    # docs/method.md section 6: CO2 with EQeq framework charges and Ewald electrostatics
    protocol = Protocol(guest=args.guest, pressure=pressure, charges=guest.charged)
    source = SOURCES[args.source]
    if args.folder is None and args.source == "curated-cofs":
        p.error("--source curated-cofs needs --folder: the cifs/ folder of CURATED COFs")
    if args.folder is None:
        from retvis.core import coremof

        args.folder = coremof.extract()
    dataset = f"{args.guest.lower()}_{protocol.temperature:g}K_{pressure / 1e5:g}bar"
    dataset += source["suffix"]
    args.out = args.out or data_dir() / "labels" / f"{dataset}.csv"
    args.meta = args.meta or args.out.with_suffix(".meta.json")

    holdout = {
        ln.strip()
        for ln in args.holdout.read_text().splitlines()
        if ln.strip() and not ln.startswith("#")
    }
    files = sorted(args.folder.glob("*.cif"))
    if args.split is not None:
        order = _split_order(files, args.split, args.seed)
    else:
        order = np.random.default_rng(args.seed).permutation(len(files))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    stem = args.out.with_suffix("")
    list_path = Path(f"{stem}.files.txt")
    excl_path = Path(f"{stem}.exclusions.csv")
    keep, excluded = _sample(files, order, holdout, args.max_atoms)
    _write_sample(keep, excluded, list_path, excl_path)

    cmd = _label_command(args, protocol, list_path)
    counts: dict[str, int] = {}
    for _, why, _ in excluded:
        counts[why] = counts.get(why, 0) + 1
    meta = {
        "dataset": dataset,
        "labels_file": args.out.name,
        "target": "uptake_mol_kg",
        "target_units": "mol/kg (absolute uptake)",
        "description": f"GCMC {args.guest} uptake at {protocol.temperature:g} K and "
        f"{pressure / 1e5:g} bar of "
        + (f"the structures of {args.split}, " if args.split is not None else "a random sample of ")
        + f"{source['what']} "
        "(docs/method.md section 6).",
        "protocol": protocol.to_dict(),
        "protocol_identity": protocol.identity(),
        "simulation": _simulation_meta(guest, protocol),
        "source": {
            "database": source["database"],
            "package": source["package"](),
            "folder": str(args.folder),
            "n_files": len(files),
        },
        "sampling": _sampling_meta(args, keep, excluded, counts, list_path, excl_path),
        "command": " ".join(shlex.quote(c) for c in cmd),
        "reproduce": _reproduce_command(args, pressure),
        "resume": "rerun the same command: rows already in the table are skipped",
        "created_utc": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    args.meta.parent.mkdir(parents=True, exist_ok=True)
    args.meta.write_text(json.dumps(meta, indent=1) + "\n")
    print(f"{len(keep)} candidates, {len(excluded)} excluded {counts}; list {list_path}")
    print(meta["command"])
    if args.run:
        os.execv(sys.executable, cmd)
    return 0


if __name__ == "__main__":
    sys.exit(main())
