"""Helpers shared by the sub-commands: grid options, progress bars, tables."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from ..core.csvout import write_csv  # noqa: F401  (the sub-commands' table writer)
from ..core.grid import CELLS, PROBES, GridSpec
from ..core.structure import MAX_ATOMS, MIN_DISTANCE
from ..errors import UsageError


def kelvin(text: str) -> float:
    """A temperature option, the same in every command: ``298`` or ``298K``."""
    from ..errors import RetvisError
    from ..sim.units import parse_temperature

    try:
        value = parse_temperature(text)
    except RetvisError as exc:
        raise argparse.ArgumentTypeError(exc.reason) from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"a temperature must be above 0 K, got {text!r}")
    return value


def grid_options_given(args: argparse.Namespace) -> list[str]:
    """The grid options (:func:`add_grid_options`) set to other than their defaults."""
    p = argparse.ArgumentParser(add_help=False)
    add_grid_options(p)
    defaults = vars(p.parse_args([]))
    return [
        "--" + dest.replace("_", "-")
        for dest, value in defaults.items()
        if getattr(args, dest, value) != value
    ]


def add_grid_options(p: argparse.ArgumentParser) -> None:
    """Add the GridSpec options (defaults come from GridSpec itself)."""
    d = GridSpec()
    g = p.add_argument_group("energy grid")
    g.add_argument("--n", type=int, default=d.n, help=f"points per axis (default {d.n})")
    g.add_argument(
        "--cutoff", type=float, default=d.cutoff, help=f"LJ cutoff, Å (default {d.cutoff})"
    )
    g.add_argument(
        "--probe",
        choices=PROBES,
        default=d.probe,
        help="sphere: the Lennard-Jones sphere below (default); CO2: TraPPE CO2 "
        "averaged over orientations, with EQeq framework charges",
    )
    g.add_argument(
        "--probe-epsilon",
        type=float,
        default=d.probe_epsilon,
        help=f"probe epsilon, K (default {d.probe_epsilon})",
    )
    g.add_argument(
        "--probe-sigma",
        type=float,
        default=d.probe_sigma,
        help=f"probe sigma, Å (default {d.probe_sigma})",
    )
    g.add_argument(
        "--temperature",
        type=kelvin,
        default=d.temperature,
        help=f"Boltzmann temperature, kelvin: 298 or 298K (default {d.temperature:g}K)",
    )
    g.add_argument(
        "--cubic", action="store_true", help="cubic Cartesian box instead of the supercell"
    )
    g.add_argument(
        "--box-length",
        type=float,
        default=d.box_length,
        help=f"cube side in --cubic mode, Å (default {d.box_length})",
    )
    g.add_argument(
        "--cell",
        choices=CELLS,
        default=d.cell,
        help="canonical: the crystal's canonical cell, the same grid for every "
        "setting of a crystal (default); as-read: the cell as the file writes it",
    )
    g.add_argument(
        "--seed-compatible",
        action="store_true",
        help="the published voxels' convention: the end point included "
        "(linspace(0, 1, n)) on the cell as read (implies --cell as-read)",
    )


def add_structure_limits(p: argparse.ArgumentParser) -> None:
    """Add ``--max-atoms`` and ``--min-distance`` (the limits of ``read_structure``)."""
    p.add_argument(
        "--max-atoms",
        type=int,
        default=MAX_ATOMS,
        help=f"refuse unit cells with more atoms (default {MAX_ATOMS})",
    )
    p.add_argument(
        "--min-distance",
        type=float,
        default=MIN_DISTANCE,
        help="refuse structures with two atoms closer than this, Å; 0: no check "
        f"(default {MIN_DISTANCE})",
    )


def grid_spec_from_args(args: argparse.Namespace) -> GridSpec:
    return GridSpec(
        n=args.n,
        cutoff=args.cutoff,
        probe_epsilon=args.probe_epsilon,
        probe_sigma=args.probe_sigma,
        temperature=args.temperature,
        mode="cubic" if args.cubic else "supercell",
        box_length=args.box_length,
        endpoint=bool(args.seed_compatible),
        probe=args.probe,
        cell="as-read" if args.seed_compatible else args.cell,
    )


def progress_bar(total: int, desc: str, disable: bool = False):
    """A tqdm bar on stderr (silent when stderr is not a terminal and ``disable``)."""
    from tqdm import tqdm

    return tqdm(
        total=total, desc=desc, unit="file", file=sys.stderr, disable=disable, dynamic_ncols=True
    )


def input_files(paths: list) -> list[Path]:
    """The CIF files of a command's PATH arguments, checked before any work starts.

    A path that does not exist at all is a mistake in the command, not a bad input: it
    is a :class:`UsageError` naming every such path. A folder without CIF files, or no
    paths at all, is one too. Files that exist but cannot be read (a broken link, a
    pipe, a bad CIF) go on to become failure rows with their reasons.
    """
    from ..core.batch import collect_cifs

    missing = [str(p) for p in paths if not os.path.lexists(p)]
    if missing:
        raise UsageError(f"no such file or folder: {', '.join(missing)}")
    files = collect_cifs(paths)
    if not files:
        raise UsageError(f"no CIF files in {', '.join(map(str, paths))}")
    return files


def _writable_folder(folder: Path, what: str) -> None:
    """``folder`` (or the nearest existing folder above it) can take new files."""
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        raise UsageError(f"{what}: {probe} is not a folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise UsageError(f"{what}: no permission to write in {probe}")


def output_file(path: Path, example: str) -> Path:
    """``-o`` naming a file: not an existing folder, in a folder RetVis can write to."""
    if path.is_dir():
        raise UsageError(f"-o {path} is a folder; give a file name, e.g. {path / example}")
    _writable_folder(path.parent, f"-o {path}")
    return path


def output_folder(path: Path) -> Path:
    """``-o`` naming a folder: not an existing file, creatable where it is."""
    if path.exists() and not path.is_dir():
        raise UsageError(f"-o {path} is a file; give a folder (it is created if needed)")
    _writable_folder(path, f"-o {path}")
    return path


def add_model_option(p: argparse.ArgumentParser) -> None:
    """``-m/--model NAME_OR_FOLDER``, the same in every command that runs a model."""
    from ..paths import DEFAULT_MODEL

    p.add_argument(
        "-m",
        "--model",
        default=DEFAULT_MODEL,
        metavar="NAME_OR_FOLDER",
        help=f"model name or folder (default: the shipped {DEFAULT_MODEL!r}); "
        "./NAME for a local folder named like a model",
    )


#: Sub-commands that always write JSON lines on stdout (their records as they come).
JSON_LINES = ("train", "learning-curve", "evaluate")


def add_json_option(p: argparse.ArgumentParser, command: str) -> None:
    """``--json``, the same on every sub-command but ``app``."""
    if command in JSON_LINES:
        text = "JSON lines on stdout (always: one object per record; the summary on stderr)"
    else:
        text = "a JSON summary on stdout (the one for people goes to stderr)"
    p.add_argument("--json", action="store_true", help=text)


def report(args: argparse.Namespace, text: str, **fields) -> None:
    """The end of a command: ``text`` for people; with ``--json``, ``fields`` as one JSON
    object on stdout (with ``command``) and ``text`` on stderr instead."""
    if getattr(args, "json", False):
        print(text, file=sys.stderr, flush=True)
        print(json.dumps({"command": args.command, **fields}, default=str), flush=True)
    else:
        print(text, flush=True)
