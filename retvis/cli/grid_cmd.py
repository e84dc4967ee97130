"""``retvis grid PATH... -o OUT``: energy grids in the published layout.

Writes ``OUT/voxels.npy`` (N, n, n, n) float32 Boltzmann factors, ``OUT/names.json``
(material names in the same order), ``OUT/densities.json`` (each framework's density,
g/cm³, same order; per-volume models train and predict with it), ``OUT/failures.csv`` (name, path, kind, reason)
and ``OUT/gridspec.json``.

Grids are kept in the grid cache as they finish (atomic writes), so a run that is killed
resumes where it stopped when run again: finished grids are read back, not recomputed.
The summary line says how many were computed and how many came from the cache.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np

from ..core.batch import estimate_batch_bytes, iter_grids
from ..core.cache import GridCache
from ..errors import LimitError
from ..ml.data import write_voxels_index
from ._common import (
    add_grid_options,
    add_structure_limits,
    grid_spec_from_args,
    input_files,
    output_folder,
    progress_bar,
    report,
    write_csv,
)


def register(sub) -> None:
    p = sub.add_parser(
        "grid",
        help="compute energy grids (voxels.npy + names.json)",
        description=__doc__.split("\n\n")[0],
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="CIF files or folders")
    p.add_argument("-o", "--out", required=True, type=Path, help="output folder")
    p.add_argument("-j", "--jobs", type=int, default=os.cpu_count(), help="worker threads")
    p.add_argument("--no-cache", action="store_true", help="neither read nor write the grid cache")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    add_structure_limits(p)
    add_grid_options(p)
    p.set_defaults(func=run)


def run(args) -> int:
    spec = grid_spec_from_args(args)
    out: Path = output_folder(args.out)
    files = input_files(args.paths)
    out.mkdir(parents=True, exist_ok=True)
    n = spec.n
    tmp = out / ".voxels.npy.partial"
    total = len(files)
    _check_disk(out, estimate_batch_bytes(total, n).result_bytes)
    mm = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(max(total, 1), n, n, n))
    ok = np.zeros(total, dtype=bool)
    names: list[str] = [""] * total
    densities: list[float] = [float("nan")] * total
    failures = []
    cache = None if args.no_cache else GridCache()
    cancel = threading.Event()
    n_cached = 0
    bar = progress_bar(total, "grids", disable=args.quiet)
    try:
        for o in iter_grids(
            files,
            spec,
            jobs=args.jobs,
            cache=cache,
            cancel=cancel,
            max_atoms=args.max_atoms,
            min_distance=args.min_distance,
        ):
            bar.update(1)
            if o.status == "ok":
                n_cached += o.cached
                mm[o.index] = o.grid.boltzmann
                ok[o.index] = True
                names[o.index] = o.name
                densities[o.index] = o.grid.density
            else:
                failures.append([o.name, str(o.path), o.kind, o.reason])
                bar.write(f"failed: {o.path}: {o.reason}")
    except KeyboardInterrupt:
        cancel.set()
        bar.write("interrupted: writing what finished")
    finally:
        bar.close()
    idx = np.flatnonzero(ok)
    if total and len(idx) == total:  # nothing failed: the partial file is the result
        mm.flush()
        del mm
        os.replace(tmp, out / "voxels.npy")
    else:
        final = np.lib.format.open_memmap(
            out / ".voxels.npy.tmp", mode="w+", dtype=np.float32, shape=(len(idx), n, n, n)
        )
        for k, i in enumerate(idx):
            final[k] = mm[i]
        final.flush()
        del final, mm
        os.replace(out / ".voxels.npy.tmp", out / "voxels.npy")
        tmp.unlink(missing_ok=True)
    write_voxels_index(out, [names[i] for i in idx], [densities[i] for i in idx], spec.to_dict())
    write_csv(out / "failures.csv", ["name", "path", "kind", "reason"], failures)
    report(
        args,
        f"{len(idx)} grids written to {out / 'voxels.npy'} ({len(idx) - n_cached} computed, "
        f"{n_cached} from the cache); {len(failures)} failed"
        + (f" (see {out / 'failures.csv'})" if failures else ""),
        out=out,
        ok=len(idx),
        failed=len(failures),
        cached=n_cached,
    )
    return 0 if not failures else 1


def _check_disk(out: Path, result_bytes: int) -> None:
    """Refuse to start when the voxel files (partial + final) cannot fit on the disk."""
    import shutil

    free = shutil.disk_usage(out).free
    if 2 * result_bytes > free:
        raise LimitError(
            f"the grids need up to {2 * result_bytes / 2**30:.1f} GiB of disk in {out} "
            f"(voxels.npy and its partial copy); {free / 2**30:.1f} GiB is free"
        )
