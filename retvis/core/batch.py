"""Batch computation of energy grids: many files, a thread pool, progress and cancel.

One structure's failure is recorded with its reason and never stops the batch. The
kernels release the GIL, so threads keep every core busy without pickling.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

from ..errors import Cancelled, LimitError, RetvisError, StructureError
from .cache import GridCache
from .cancel import cancellable
from .grid import MEMORY_MODEL, EnergyGrid, GridSpec, compute_grid, estimate_grid_bytes
from .structure import MAX_ATOMS, MIN_DISTANCE, Structure, read_structure

log = logging.getLogger(__name__)

#: File suffixes collected from folders.
CIF_SUFFIXES = (".cif",)
#: Files collected from one folder before refusing.
MAX_FILES = 1_000_000
#: Peak working memory of one grid computation, bytes per voxel (float64 energies,
#: folded points, index arrays): the grid engine's memory model.
WORK_BYTES_PER_VOXEL = MEMORY_MODEL["voxel"]
#: Fraction of the available memory a batch may plan to use.
MEMORY_FRACTION = 0.8
#: Environment variable that sets the memory one grid may take (bytes, or with a K, M or
#: G suffix); without it, :data:`MEMORY_FRACTION` of the available memory shared among
#: the grids computed at once.
MEMORY_BUDGET_ENV = "RETVIS_GRID_MEMORY"


@dataclass(frozen=True)
class BatchEstimate:
    """Memory a batch of grids needs, bytes.

    Attributes
    ----------
    n_structures, n, jobs : int
        The batch: structures, points per axis, worker threads.
    result_bytes : int
        The (n_structures, n, n, n) float32 voxel array.
    working_bytes : int
        Peak working memory of the ``jobs`` grids computed at once.
    """

    n_structures: int
    n: int
    jobs: int
    result_bytes: int
    working_bytes: int

    def total(self, keep_results: bool = True) -> int:
        """Bytes of memory needed; ``keep_results=False`` when results go to disk."""
        return self.working_bytes + (self.result_bytes if keep_results else 0)


def estimate_batch_bytes(n_structures: int, n: int, jobs: int = 1) -> BatchEstimate:
    """Estimate the memory of computing ``n_structures`` grids of ``n**3`` points.

    Parameters
    ----------
    n_structures : int
        Number of structures.
    n : int
        Grid points per axis.
    jobs : int
        Grids computed at the same time.

    Returns
    -------
    BatchEstimate
        ``result_bytes = 4 n_structures n^3`` (float32 voxels) and
        ``working_bytes = min(jobs, n_structures) n^3 WORK_BYTES_PER_VOXEL``.
    """
    voxels = int(n) ** 3
    return BatchEstimate(
        int(n_structures),
        int(n),
        int(jobs),
        result_bytes=4 * voxels * int(n_structures),
        working_bytes=WORK_BYTES_PER_VOXEL * voxels * max(1, min(int(jobs), int(n_structures))),
    )


def available_memory() -> int:
    """Memory available to a new allocation, bytes (``MemAvailable`` on Linux)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # not POSIX: do not block on a guess
        return 2**63


def check_batch_memory(
    estimate: BatchEstimate, keep_results: bool = True, available: int | None = None
) -> None:
    """Refuse a batch whose estimate exceeds :data:`MEMORY_FRACTION` of free memory.

    Raises
    ------
    LimitError
        With the estimate, what is available and what to change.
    """
    available = available_memory() if available is None else available
    need = estimate.total(keep_results)
    if need > MEMORY_FRACTION * available:
        hint = (
            f"use fewer jobs (-j) or a smaller grid (n = {estimate.n})"
            if not keep_results or estimate.working_bytes > estimate.result_bytes
            else "split the batch or use a smaller grid"
        )
        raise LimitError(
            f"{estimate.n_structures} grids of {estimate.n}^3 with {estimate.jobs} jobs need "
            f"about {need / 2**30:.1f} GiB of memory; {available / 2**30:.1f} GiB is "
            f"available: {hint}"
        )


def grid_memory_budget(jobs: int = 1) -> int:
    """Memory one grid may take, bytes: :data:`MEMORY_BUDGET_ENV` if set, else
    :data:`MEMORY_FRACTION` of the available memory over ``jobs``.

    Raises
    ------
    LimitError
        The variable is set to something that is not a size.
    """
    raw = os.environ.get(MEMORY_BUDGET_ENV, "").strip()
    if not raw:
        return int(MEMORY_FRACTION * available_memory() / max(1, jobs))
    scale = {"K": 2**10, "M": 2**20, "G": 2**30}.get(raw[-1].upper(), 1)
    try:
        value = float(raw[:-1] if scale > 1 else raw) * scale
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise LimitError(
            f"{MEMORY_BUDGET_ENV}={raw!r} is not a memory size (for example 4G or 512M)"
        )
    return int(value)


def check_grid_memory(structure: Structure, spec: GridSpec, budget: int | None = None) -> None:
    """Refuse a grid whose estimated peak memory (:func:`estimate_grid_bytes`) exceeds
    the budget (default :func:`grid_memory_budget`), before any of it is computed.

    Raises
    ------
    LimitError
        With the estimate, the budget and how to change it.
    """
    budget = grid_memory_budget() if budget is None else budget
    need = estimate_grid_bytes(structure, spec)
    if need > budget:
        raise LimitError(
            f"its {spec.probe} grid would need about {need / 2**20:,.0f} MiB of memory "
            f"({structure.n_atoms} atoms, cell volume {structure.volume:,.0f} Å^3); one "
            f"grid may take {budget / 2**20:,.0f} MiB here (set {MEMORY_BUDGET_ENV}, or "
            "compute fewer grids at once)",
            structure.path,
        )


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
                            raise LimitError(f"more than {MAX_FILES} CIF files", p)
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
    min_distance: float = MIN_DISTANCE,
    memory_budget: int | None = None,
) -> tuple[Structure, EnergyGrid, bool]:
    """Read one file and return its structure, grid and whether the grid was cached.

    ``max_atoms`` and ``min_distance`` go to :func:`~retvis.core.structure.read_structure`,
    ``memory_budget`` to :func:`grid_for_structure`.

    Raises
    ------
    RetvisError
        Anything that stops this file.
    """
    structure = read_structure(path, max_atoms=max_atoms, min_distance=min_distance)
    return (structure, *grid_for_structure(structure, spec, cache, threads, memory_budget))


def grid_for_structure(
    structure: Structure,
    spec: GridSpec,
    cache: GridCache | None = None,
    threads: int = 1,
    memory_budget: int | None = None,
) -> tuple[EnergyGrid, bool]:
    """A structure's grid from the cache, or computed (and cached); and whether cached.

    A grid to compute is first checked against the memory budget
    (:func:`check_grid_memory`; default :func:`grid_memory_budget`)."""
    if cache is not None:
        g = cache.get(structure.digest, spec, structure.name)
        if g is not None:
            if math.isnan(g.density):  # an entry written before grids carried it
                g = dataclasses.replace(g, density=structure.density)
            return g, True
    check_grid_memory(structure, spec, memory_budget)
    g = compute_grid(structure, spec, threads=threads)
    if cache is not None:
        cache.put(structure.digest, g)
    return g, False


def grid_outcome(
    index: int,
    path: Path,
    spec: GridSpec,
    cache: GridCache | None = None,
    max_atoms: int = MAX_ATOMS,
    min_distance: float = MIN_DISTANCE,
    memory_budget: int | None = None,
    cancel: threading.Event | None = None,
) -> GridOutcome:
    """:func:`grid_for_file` as an outcome: never raises, a failure is a status and reason.

    ``index`` is stored in the outcome (the position in a batch's input list). When
    ``cancel`` is set while the grid is being computed, its long loops stop
    (:mod:`retvis.core.cancel`) and the outcome is "cancelled".
    """
    t0 = time.perf_counter()
    try:
        with cancellable(cancel):
            s, g, cached = grid_for_file(
                path,
                spec,
                cache,
                max_atoms=max_atoms,
                min_distance=min_distance,
                memory_budget=memory_budget,
            )
    except Cancelled as exc:
        return GridOutcome(
            index, path, "cancelled", exc.reason, exc.kind, seconds=time.perf_counter() - t0
        )
    except RetvisError as exc:
        return GridOutcome(
            index, path, "failed", exc.reason, exc.kind, seconds=time.perf_counter() - t0
        )
    except MemoryError:
        return GridOutcome(
            index, path, "failed", "out of memory", "limit", seconds=time.perf_counter() - t0
        )
    except Exception as exc:  # a bug or an unforeseen input: record it, keep the batch going
        log.exception("unexpected error on %s", path)
        err = StructureError(f"unexpected error ({type(exc).__name__}: {exc})", path)
        return GridOutcome(
            index, path, "failed", err.reason, "internal", seconds=time.perf_counter() - t0
        )
    return GridOutcome(
        index, path, "ok", structure=s, grid=g, seconds=time.perf_counter() - t0, cached=cached
    )


def iter_grids(
    paths: Iterable[str | os.PathLike[str]],
    spec: GridSpec | None = None,
    jobs: int | None = None,
    cache: GridCache | None = None,
    progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
    max_atoms: int = MAX_ATOMS,
    min_distance: float = MIN_DISTANCE,
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
        When set, no new file starts, running ones stop at their next check (within a
        fraction of a second for the long loops), and the rest are yielded as
        ``"cancelled"``.
    max_atoms, min_distance
        Passed to :func:`~retvis.core.structure.read_structure`.

    Yields
    ------
    GridOutcome
        In completion order; ``index`` gives the input order.

    Raises
    ------
    LimitError
        Before any work, when ``jobs`` grids at once would not fit in memory
        (:func:`check_batch_memory`; results are not kept here). A structure whose own
        grid would not fit its share (:func:`grid_memory_budget`) is a failed outcome.
    """
    spec = spec or GridSpec()
    files = collect_cifs(paths)
    jobs = max(1, jobs or os.cpu_count() or 1)
    check_batch_memory(estimate_batch_bytes(len(files), spec.n, jobs), keep_results=False)
    budget = grid_memory_budget(jobs)
    # a consumer that stops early (Ctrl-C, an error, a closed generator) stops the grids
    # being computed too, instead of waiting for them
    stop = cancel if cancel is not None else threading.Event()

    def work(i: int, p: Path) -> GridOutcome:
        return grid_outcome(i, p, spec, cache, max_atoms, min_distance, budget, stop)

    yield from _run_in_pool(files, work, jobs, stop, progress)


def _run_in_pool(
    files: list[Path],
    work: Callable[[int, Path], GridOutcome],
    jobs: int,
    stop: threading.Event,
    progress: Callable[[int, int], None] | None,
) -> Iterator[GridOutcome]:
    """``work(index, path)`` for each file on ``jobs`` threads (at most ``2 jobs`` queued),
    yielding the outcomes in completion order and calling ``progress(done, total)``
    before each. No file starts once ``stop`` is set; the files not started are then
    yielded as "cancelled". An exception or a closed generator sets ``stop``."""
    total = len(files)
    done = 0
    with ThreadPoolExecutor(jobs, thread_name_prefix="retvis-grid") as ex:
        pending = set()
        it = iter(enumerate(files))
        exhausted = False
        try:
            while True:
                while not exhausted and len(pending) < 2 * jobs and not stop.is_set():
                    try:
                        i, p = next(it)
                    except StopIteration:
                        exhausted = True
                        break
                    pending.add(ex.submit(work, i, p))
                if not pending:
                    break
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for f in finished:
                    done += 1
                    if progress:
                        progress(done, total)
                    yield f.result()
        except BaseException:
            stop.set()
            raise
        if stop.is_set():
            for i, p in it:
                yield GridOutcome(i, p, "cancelled", "cancelled by the user", "cancelled")
