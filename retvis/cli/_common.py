"""Helpers shared by the sub-commands: grid options, progress bars, tables."""

from __future__ import annotations

import argparse
import sys

from ..core.csvout import write_csv  # noqa: F401  (the sub-commands' table writer)
from ..core.grid import CELLS, PROBES, GridSpec
from ..core.structure import MAX_ATOMS, MIN_DISTANCE


def add_grid_options(p: argparse.ArgumentParser) -> None:
    """Add the GridSpec options (defaults come from GridSpec itself)."""
    d = GridSpec()
    g = p.add_argument_group("energy grid")
    g.add_argument("--n", type=int, default=d.n, help=f"points per axis (default {d.n})")
    g.add_argument("--cutoff", type=float, default=d.cutoff, help=f"LJ cutoff, Å (default {d.cutoff})")
    g.add_argument("--probe", choices=PROBES, default=d.probe,
                   help="sphere: the Lennard-Jones sphere below (default); CO2: TraPPE CO2 "
                   "averaged over orientations, with EQeq framework charges")
    g.add_argument("--probe-epsilon", type=float, default=d.probe_epsilon,
                   help=f"probe epsilon, K (default {d.probe_epsilon})")
    g.add_argument("--probe-sigma", type=float, default=d.probe_sigma,
                   help=f"probe sigma, Å (default {d.probe_sigma})")
    g.add_argument("--temperature", type=float, default=d.temperature,
                   help=f"Boltzmann temperature, K (default {d.temperature})")
    g.add_argument("--cubic", action="store_true", help="cubic Cartesian box instead of the supercell")
    g.add_argument("--box-length", type=float, default=d.box_length,
                   help=f"cube side in --cubic mode, Å (default {d.box_length})")
    g.add_argument("--cell", choices=CELLS, default=d.cell,
                   help="canonical: the crystal's canonical cell, the same grid for every "
                   "setting of a crystal (default); as-read: the cell as the file writes it")
    g.add_argument("--seed-compatible", action="store_true",
                   help="the published voxels' convention: the end point included "
                   "(linspace(0, 1, n)) on the cell as read (implies --cell as-read)")


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
        n=args.n, cutoff=args.cutoff, probe_epsilon=args.probe_epsilon,
        probe_sigma=args.probe_sigma, temperature=args.temperature,
        mode="cubic" if args.cubic else "supercell", box_length=args.box_length,
        endpoint=bool(args.seed_compatible), probe=args.probe,
        cell="as-read" if args.seed_compatible else args.cell,
    )


def progress_bar(total: int, desc: str, disable: bool = False):
    """A tqdm bar on stderr (silent when stderr is not a terminal and ``disable``)."""
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="file", file=sys.stderr, disable=disable,
                dynamic_ncols=True)

