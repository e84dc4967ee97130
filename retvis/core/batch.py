"""Batch computation of energy grids: many files, a thread pool, progress and cancel.

One structure's failure is recorded with its reason and never stops the batch. The
kernels release the GIL, so threads keep every core busy without pickling.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

from ..errors import RetvisError, StructureError
from .cache import GridCache
from .grid import EnergyGrid, GridSpec, compute_grid
from .structure import MAX_ATOMS, Structure, read_structure

log = logging.getLogger(__name__)

#: File suffixes collected from folders.
CIF_SUFFIXES = (".cif",)
#: Files collected from one folder before refusing.
MAX_FILES = 1_000_000


@dataclass
class GridOutcome:
    """What happened to one input.

    Attributes
    ----------
    index : int
        Position in the input list.
    path : Path
        The input file.
    status : {"ok", "failed", "cancelled"}
    reason : str
        Human-readable failure reason ('' when ok).
    kind : str
        Error category (``RetvisError.kind``), '' when ok.
    structure : Structure or None
    grid : EnergyGrid or None
    seconds : float
        Wall time spent on this input.
    cached : bool
        The grid came from the cache.
    """

    index: int
    path: Path
    status: str
    reason: str = ""
    kind: str = ""
    structure: Structure | None = None
    grid: EnergyGrid | None = None
    seconds: float = 0.0
    cached: bool = False

    @property
    def name(self) -> str:
        return self.structure.name if self.structure is not None else self.path.stem


def collect_cifs(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Expand files and folders into a sorted, de-duplicated list of files.

    Folders are searched recursively for ``*.cif`` (any case), without following
    symbolic links to folders (no loops). Files named explicitly are kept whatever their
    suffix, so that a wrong file gets its own failure reason instead of vanishing.
    Paths that do not exist are kept too: they fail with "file not found".
    """
    out: list[Path] = []
    seen: set[Path] = set()

    def add(p: Path) -> None:
        key = p.absolute()
        if key not in seen:
            seen.add(key)
            out.append(p)

    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found = []
            for root, dirs, files in os.walk(p, followlinks=False):
                dirs.sort()
                for f in sorted(files):
                    if f.lower().endswith(CIF_SUFFIXES):
                        found.append(Path(root) / f)
                        if len(found) > MAX_FILES:
                            raise RetvisError(f"more than {MAX_FILES} CIF files", p)
            for f in found:
                add(f)
        else:
            add(p)
    return out


def grid_for_file(
    path: Path,
    spec: GridSpec,
    cache: GridCache | None = None,
    threads: int = 1,
    max_atoms: int = MAX_ATOMS,
) -> tuple[Structure, EnergyGrid, bool]:
    """Read one file and return its structure, grid and whether the grid was cached.

    Raises
    ------
    RetvisError
        Anything that stops this file.
    """
    structure = read_structure(path, max_atoms=max_atoms)
    if cache is not None:
        g = cache.get(structure.digest, spec, structure.name)
        if g is not None:
            return structure, g, True
    g = compute_grid(structure, spec, threads=threads)
    if cache is not None:
        cache.put(structure.digest, g)
    return structure, g, False


def _one(index: int, path: Path, spec: GridSpec, cache, max_atoms: int) -> GridOutcome:
    t0 = time.perf_counter()
    try:
        s, g, cached = grid_for_file(path, spec, cache, max_atoms=max_atoms)
    except RetvisError as exc:
        return GridOutcome(index, path, "failed", exc.reason, exc.kind,
                           seconds=time.perf_counter() - t0)
    except MemoryError:
        return GridOutcome(index, path, "failed", "out of memory", "limit",
                           seconds=time.perf_counter() - t0)
    except Exception as exc:  # a bug or an unforeseen input: record it, keep the batch going
        log.exception("unexpected error on %s", path)
        err = StructureError(f"unexpected error ({type(exc).__name__}: {exc})", path)
        return GridOutcome(index, path, "failed", err.reason, "internal",
                           seconds=time.perf_counter() - t0)
    return GridOutcome(index, path, "ok", structure=s, grid=g,
                       seconds=time.perf_counter() - t0, cached=cached)


def iter_grids(
    paths: Iterable[str | os.PathLike[str]],
    spec: GridSpec | None = None,
    jobs: int | None = None,
    cache: GridCache | None = None,
    progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
    max_atoms: int = MAX_ATOMS,
) -> Iterator[GridOutcome]:
    """Compute grids for many files, yielding each outcome as soon as it is known.

    Parameters
    ----------
    paths : iterable of path-like
        Files (any suffix) and folders (searched for ``*.cif``).
    spec : GridSpec, optional
        Grid settings.
    jobs : int, optional
        Worker threads; default: the number of CPUs.
    cache : GridCache, optional
        Read and write grids here.
    progress : callable(done, total), optional
        Called after each file.
    cancel : threading.Event, optional
        When set, no new file starts; running ones finish; the rest are yielded as
        ``"cancelled"``.

    Yields
    ------
    GridOutcome
        In completion order; ``index`` gives the input order.
    """
    spec = spec or GridSpec()
    files = collect_cifs(paths)
    total = len(files)
    jobs = max(1, jobs or os.cpu_count() or 1)
    done = 0
    with ThreadPoolExecutor(jobs, thread_name_prefix="retvis-grid") as ex:
        pending = set()
        it = iter(enumerate(files))
        exhausted = False
        while True:
            while not exhausted and len(pending) < 2 * jobs and not (cancel and cancel.is_set()):
                try:
                    i, p = next(it)
                except StopIteration:
                    exhausted = True
                    break
                pending.add(ex.submit(_one, i, p, spec, cache, max_atoms))
            if not pending:
                break
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for f in finished:
                done += 1
                if progress:
                    progress(done, total)
                yield f.result()
        if cancel is not None and cancel.is_set():
            for i, p in it:
                yield GridOutcome(i, p, "cancelled", "cancelled by the user", "cancelled")
