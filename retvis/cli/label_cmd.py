"""``retvis label PATH... -o labels.csv``: GCMC uptake labels with RASPA3, resumable.

Each structure runs in its own process with a time limit; each finished structure is
appended to the CSV at once, so the command can be killed at any moment and rerun: it
skips the names already in the table under the same protocol identity. ``--widom``
computes Henry coefficients (Widom test insertions, mol/(kg Pa)) instead: seconds per
structure where GCMC takes minutes, a label for the low-pressure limit.
"""

from __future__ import annotations

import threading
from pathlib import Path

from ..core.batch import collect_cifs
from ..errors import SpecError
from ..sim.gcmc import GUESTS, Protocol, WidomProtocol
from ..sim.labels import (
    DEFAULT_TIMEOUT,
    WALL_FACTOR,
    LabelTable,
    columns_for,
    iter_labels,
)
from ..sim.units import parse_pressure, parse_temperature
from ._common import output_file, progress_bar, report


def register(sub) -> None:
    p = sub.add_parser(
        "label",
        help="simulate uptake labels with GCMC (RASPA3)",
        description=__doc__.split("\n\n")[0],
    )
    p.add_argument("paths", nargs="*", metavar="PATH", help="CIF files or folders")
    p.add_argument(
        "--files-from",
        type=Path,
        metavar="FILE",
        help="text file with one CIF path per line, run in that order",
    )
    p.add_argument("-o", "--out", required=True, type=Path, help="labels CSV (appended to)")
    add_execution_options(p)
    p.add_argument(
        "--retry-failed",
        action="store_true",
        help="rerun structures whose recorded row is not 'ok'",
    )
    p.add_argument("--limit", type=int, default=None, help="run at most this many structures")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    add_protocol_options(p)
    p.set_defaults(func=run)


def add_execution_options(p) -> None:
    """Where the simulations run: ``-j`` child processes here, or ``--scheduler``."""
    p.add_argument("-j", "--jobs", type=int, default=1, help="simulations at a time (default 1)")
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run the simulations on the workers of a running Dask scheduler "
        "(tcp://host:8786; the CIFs must be readable there under the same paths)",
    )


def add_protocol_options(p) -> None:
    """The simulation options of ``retvis label`` (and ``retvis learn``): the time limits
    per structure and the protocol (guest, conditions, cycles, charges, Widom)."""
    d = Protocol()
    p.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        help="limit per structure, s of CPU time, so a niced or crowded run is not cut "
        f"short (default {DEFAULT_TIMEOUT:g})",
    )
    p.add_argument(
        "--wall-timeout",
        type=float,
        default=None,
        metavar="S",
        help=f"wall-clock cap per structure, s, for a hung simulation "
        f"(default {WALL_FACTOR:g} x --timeout)",
    )
    g = p.add_argument_group("protocol (defaults: docs/method.md section 6)")
    g.add_argument(
        "--guest", default=d.guest, choices=sorted(GUESTS), help=f"adsorbate (default {d.guest})"
    )
    g.add_argument(
        "--pressure",
        default=f"{d.pressure / 1e5:g}bar",
        help=f"e.g. 5.8bar, 580kPa, 580000Pa (default {d.pressure / 1e5:g}bar)",
    )
    g.add_argument(
        "--temperature",
        default=f"{d.temperature:g}K",
        help=f"kelvin, e.g. 298K (default {d.temperature:g}K)",
    )
    g.add_argument(
        "--init-cycles",
        type=int,
        default=d.init_cycles,
        help=f"initialization cycles (default {d.init_cycles})",
    )
    g.add_argument(
        "--cycles", type=int, default=d.cycles, help=f"production cycles (default {d.cycles})"
    )
    g.add_argument("--cutoff", type=float, default=d.cutoff, help=f"Å (default {d.cutoff})")
    g.add_argument("--seed", type=int, default=d.seed, help=f"random seed (default {d.seed})")
    g.add_argument(
        "--charges",
        action="store_true",
        help="framework partial charges (EQeq) and Ewald electrostatics",
    )
    g.add_argument(
        "--widom",
        action="store_true",
        help="Henry coefficients by Widom insertion (--cycles insertion cycles; "
        "--pressure and --init-cycles do not apply); a table of its own",
    )


def protocol_from_args(args) -> Protocol | WidomProtocol:
    if getattr(args, "widom", False):
        return WidomProtocol(
            guest=args.guest,
            temperature=parse_temperature(args.temperature),
            cycles=args.cycles,
            cutoff=args.cutoff,
            charges=bool(args.charges),
            seed=args.seed,
        )
    return Protocol(
        guest=args.guest,
        temperature=parse_temperature(args.temperature),
        pressure=parse_pressure(args.pressure),
        init_cycles=args.init_cycles,
        cycles=args.cycles,
        cutoff=args.cutoff,
        charges=bool(args.charges),
        seed=args.seed,
    )


def inputs_from_args(args) -> list[Path]:
    """The CIF paths of ``--files-from`` and the positional paths (files and folders)."""
    files: list[Path] = []
    if args.files_from is not None:
        if not args.files_from.is_file():
            raise SpecError("--files-from: file not found", args.files_from)
        files += [
            Path(line.strip())
            for line in args.files_from.read_text(encoding="utf-8").splitlines()
            if line.strip()
        ]
    if args.paths:
        files += collect_cifs(args.paths)
    if not files:
        raise SpecError("no input: give CIF files or folders, or --files-from FILE")
    return files


def run(args) -> int:
    for flag, value in (("--timeout", args.timeout), ("--wall-timeout", args.wall_timeout)):
        if value is not None and not value > 0:
            raise SpecError(f"{flag} must be a positive number of seconds, got {value:g}")
    output_file(args.out, "labels.csv")
    protocol = protocol_from_args(args)
    identity = protocol.identity()
    files = inputs_from_args(args)
    table = LabelTable(args.out, columns_for(protocol))
    done = table.done(identity, retry_failed=args.retry_failed)
    seen: set[str] = set()
    todo = []
    for f in files:
        if f.stem in done or f.stem in seen:
            continue
        seen.add(f.stem)
        todo.append(f)
    if args.limit is not None:
        todo = todo[: max(0, args.limit)]
    skipped = len(files) - len(todo)
    if not args.quiet:
        print(
            f"protocol {identity}: {len(todo)} to run, {skipped} already in {args.out}"
            if skipped
            else f"protocol {identity}: {len(todo)} to run"
        )
    counts = {s: 0 for s in ("ok", "failed", "timeout", "crashed")}
    busy = 0.0  # summed wall time of the structures, s
    cpu = 0.0  # summed CPU time of their processes, s
    cancel = threading.Event()
    bar = progress_bar(len(todo), "GCMC", disable=args.quiet)
    try:
        for row in iter_labels(
            todo,
            protocol,
            jobs=args.jobs,
            timeout=args.timeout,
            cancel=cancel,
            wall_timeout=args.wall_timeout,
            scheduler=args.scheduler,
        ):
            table.append(row)
            counts[row["status"]] = counts.get(row["status"], 0) + 1
            busy += float(row.get("wall_seconds") or 0.0)
            cpu += float(row.get("cpu_seconds") or 0.0)
            bar.update(1)
            if row["status"] != "ok":
                bar.write(f"{row['status']}: {row['name']}: {row['reason']}")
            elif "henry_mol_kg_pa" in row:
                bar.set_postfix_str(
                    f"{row['name']} {row['henry_mol_kg_pa']:.3g} mol/kg/Pa {row['seconds']:.0f}s"
                )
            else:
                bar.set_postfix_str(
                    f"{row['name']} {row['uptake_mol_kg']:.3g} mol/kg {row['seconds']:.0f}s"
                )
    except KeyboardInterrupt:
        cancel.set()
        bar.write("interrupted: finished rows are saved; rerun the command to resume")
        raise
    finally:
        bar.close()
    report(
        args,
        f"{counts['ok']} ok, {sum(counts.values()) - counts['ok']} failed "
        f"({', '.join(f'{k} {v}' for k, v in counts.items() if v and k != 'ok') or 'none'}) "
        f"in {busy / 3600:.2f} structure-hours ({cpu / 3600:.2f} CPU-hours); "
        f"table: {args.out}",
        out=args.out,
        ok=counts["ok"],
        failed=sum(counts.values()) - counts["ok"],
        statuses=dict(counts),
        cpu_hours=cpu / 3600,
    )
    return 0 if counts["ok"] == sum(counts.values()) else 1
