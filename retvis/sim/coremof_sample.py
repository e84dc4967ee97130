"""Label a random sample of CoRE MOF 2019-ASR with CH4 uptake (298 K, 5.8 bar), resumable.

Builds the run order (a fixed-seed permutation of the CIFs, hold-out names and cells
over ``--max-atoms`` atoms excluded), writes the file list, the exclusions and the
dataset metadata, then runs (or prints) the ``retvis label`` command. Rerunning the
script with the same arguments resumes where the table stops.

Example (the long run of the session)::

    python3 -m retvis.sim.coremof_sample --coremof /work/coremof \
        --out /work/labels/ch4_298K_5.8bar.csv \
        --meta resources/datasets/ch4_298K_5.8bar.meta.json --run
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
from retvis.sim.gcmc import Protocol
from retvis.sim.labels import raspalib_version

REPO = Path(__file__).resolve().parents[2]  # the checkout (run from a source tree)


def _version(pkg: str) -> str:
    try:
        return version(pkg)
    except PackageNotFoundError:
        return "not installed"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--coremof", type=Path, default=Path("/work/coremof"))
    p.add_argument(
        "--holdout", type=Path, default=REPO.parent / "shared" / "data" / "holdout_names.txt"
    )
    p.add_argument("--out", type=Path, default=Path("/work/labels/ch4_298K_5.8bar.csv"))
    p.add_argument(
        "--meta", type=Path, default=REPO / "resources" / "datasets" / "ch4_298K_5.8bar.meta.json"
    )
    p.add_argument("--seed", type=int, default=2024, help="sampling seed (numpy default_rng)")
    p.add_argument("--max-atoms", type=int, default=1000)
    p.add_argument("--timeout", type=float, default=900.0, help="s per structure")
    p.add_argument("--jobs", type=int, default=1, help="structures at once (one process each)")
    p.add_argument("--run", action="store_true", help="run retvis label (else print it)")
    args = p.parse_args(argv)

    holdout = {
        ln.strip()
        for ln in args.holdout.read_text().splitlines()
        if ln.strip() and not ln.startswith("#")
    }
    files = sorted(args.coremof.glob("*.cif"))
    order = np.random.default_rng(args.seed).permutation(len(files))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    stem = args.out.with_suffix("")
    list_path = Path(f"{stem}.files.txt")
    excl_path = Path(f"{stem}.exclusions.csv")
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
        if s.n_atoms > args.max_atoms:
            excluded.append(
                (f.stem, "too_large", f"{s.n_atoms} atoms in the unit cell > {args.max_atoms}")
            )
            continue
        keep.append(f)
    list_path.write_text("".join(f"{f}\n" for f in keep))
    with open(excl_path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["name", "why", "reason"])
        w.writerows(excluded)

    protocol = Protocol()  # METHOD.md section 6 defaults: CH4, 298 K, 5.8 bar
    cmd = [
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
    ]
    counts: dict[str, int] = {}
    for _, why, _ in excluded:
        counts[why] = counts.get(why, 0) + 1
    meta = {
        "dataset": "ch4_298K_5.8bar",
        "labels_file": args.out.name,
        "target": "uptake_mol_kg",
        "target_units": "mol/kg (absolute uptake)",
        "description": "GCMC CH4 uptake at 298 K and 5.8 bar of a random sample of "
        "CoRE MOF 2019-ASR structures (METHOD.md section 6).",
        "protocol": protocol.to_dict(),
        "protocol_identity": protocol.identity(),
        "simulation": {
            "engine": "RASPA3 via raspalib",
            "raspalib": raspalib_version(),
            "framework": "rigid, UFF Lennard-Jones (resources/forcefield/uff.csv), "
            "Lorentz-Berthelot, truncated at 12.8 A, tail corrections, "
            "supercell by the minimum image convention",
            "guest": "TraPPE united-atom CH4 (148 K, 3.73 A, 16.04246 g/mol), "
            "Peng-Robinson (Tc 190.564 K, Pc 4.5992 MPa, omega 0.01142)",
            "moves": "translation 0.5, CBMC reinsertion 0.5, CBMC swap 1.0",
            "error": "uptake_err_* is RASPA's 95% confidence half-width over 5 blocks",
        },
        "source": {
            "database": "CoRE MOF 2019-ASR (all-solvent-removed)",
            "package": f"core-mof {_version('core-mof')} (CoRE_MOF/data/2019-ASR.tar.xz)",
            "folder": str(args.coremof),
            "n_files": len(files),
        },
        "sampling": {
            "method": "numpy.random.default_rng(seed).permutation over the sorted file "
            "names; structures run in that order",
            "seed": args.seed,
            "max_atoms": args.max_atoms,
            "n_candidates": len(keep),
            "n_excluded": len(excluded),
            "excluded_by_reason": counts,
            "holdout_file": "shared/data/holdout_names.txt (never labelled here)",
            "file_list": list_path.name,
            "exclusions_file": excl_path.name,
            "timeout_s": args.timeout,
        },
        "command": " ".join(shlex.quote(c) for c in cmd),
        "reproduce": " ".join(
            shlex.quote(c)
            for c in [
                "python3",
                "-m",
                "retvis.sim.coremof_sample",
                "--coremof",
                str(args.coremof),
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
                "--run",
            ]
        ),
        "resume": "rerun the same command: rows already in the table are skipped",
        "created_utc": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    args.meta.parent.mkdir(parents=True, exist_ok=True)
    args.meta.write_text(json.dumps(meta, indent=1) + "\n")
    print(f"{len(keep)} candidates, {len(excluded)} excluded {counts}; list {list_path}")
    print(meta["command"])
    if args.run:
        os.chdir(REPO)
        os.execv(sys.executable, cmd)
    return 0


if __name__ == "__main__":
    sys.exit(main())
