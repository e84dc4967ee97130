"""``retvis targets PATH... -o DIR``: the pretraining targets of CIF files, resumable.

For every structure: the Henry coefficient and heat of adsorption of five Lennard-Jones
probes (CH4, Xe, Kr, Ar at 298 K; H2 at 77 K) from energy grids, its density, the CoRE
MOF 2019 table's geometry where it has the structure, and its input grid (docs/pretraining.md).
``DIR/targets.csv`` gets a row per structure (failures with their reason) and
``DIR/grids/`` the input grids; a rerun with the same ``-o`` computes only what is
missing. The hold-out names and the validation and test structures of the shipped
models are never computed, so a backbone never sees what the models are measured on.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser(
        "targets",
        help="pretraining targets of CIF files (Henry coefficients, geometry)",
        description=__doc__.split("\n\n")[0],
    )
    p.add_argument("paths", nargs="*", metavar="PATH", help="CIF files or folders")
    p.add_argument("-o", "--out", required=True, type=Path, help="targets folder (resumed)")
    p.add_argument("--core-mof", action="store_true", help="every CoRE MOF 2019-ASR CIF")
    p.add_argument(
        "--max-atoms", type=int, default=1000, help="largest unit cell computed (default 1000)"
    )
    p.add_argument(
        "--input-probe",
        choices=("sphere", "CO2"),
        default="sphere",
        help="the input grids stored for pretraining: the default sphere probe, or the CO2 "
        "probe with EQeq charges (adds CO2's Henry coefficient and heat; default sphere)",
    )
    p.add_argument(
        "--known",
        type=Path,
        metavar="TABLE",
        help="a targets table (e.g. resources/datasets/pretrain_targets_coremof.csv) whose "
        "sphere-probe targets are used for the same files (same sha256) instead of "
        "computing them again",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def excluded_names() -> set[str]:
    """Hold-out names and the validation and test structures of every shipped model."""
    from ..ml.data import read_name_list
    from ..paths import models_dir, resources_dir

    names = read_name_list(resources_dir() / "datasets" / "holdout_names.txt")
    for split in sorted(models_dir().glob("*/split.json")):
        s = json.loads(split.read_text())
        names |= set(s.get("val", [])) | set(s.get("test", []))
    return names


def run(args) -> int:
    from ..errors import UsageError
    from ..sim.targets import compute_targets
    from ._common import input_files, output_folder, progress_bar, report

    output_folder(args.out)
    paths = list(args.paths)
    if args.core_mof:
        from ..core.coremof import extract

        paths.append(extract())
    if not paths:
        raise UsageError("give CIF files or folders, or --core-mof")
    files = input_files(paths)
    bar = progress_bar(0, "targets", disable=args.quiet)

    def progress(done: int, total: int) -> None:
        if bar.total != total:
            bar.reset(total=total)
        bar.update(done - bar.n)

    try:
        c = compute_targets(
            files,
            args.out,
            exclude=excluded_names(),
            max_atoms=args.max_atoms,
            progress=progress,
            input_probe=args.input_probe,
            known=args.known,
        )
    finally:
        bar.close()
    text = (
        f"{c['ok']} structures computed, {c['failed']} failed, {c['skipped']} already there "
        f"or excluded; {c['cpu_seconds']:.0f} CPU s -> {args.out}"
    )
    if args.json:
        report(args, text, out=args.out, **c)
    else:
        print(text, file=sys.stderr)
    return 0 if not c["failed"] else 1
