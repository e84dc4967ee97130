"""All of the app's thread plumbing: requests in, responses out.

Every piece of heavy work is a frozen *request* built on the GUI thread, a plain
function run on a ``QThreadPool`` thread, and a *response* (plain data and NumPy
arrays) delivered back to the GUI thread by a queued signal. Workers never touch
widgets or VTK objects; the slot that receives a response builds those.

Runners
-------
:class:`GridRunner`
    Energy grids, one runnable per file (``retvis.core.batch.grid_for_file``; the
    numba kernel releases the GIL). Cancel stops queued files; running ones finish
    and are kept.
:class:`TaskRunner`
    One-off jobs (expanding dropped folders and zip archives, predictions, feature
    maps, saliency) on a small pool of its own, so they never wait behind a batch.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QRunnable, QThreadPool, QTimer, Signal

from ..app.models import load_predictor
from ..core.archive import extract_cifs
from ..core.batch import GridOutcome, collect_cifs, grid_outcome
from ..core.cache import GridCache
from ..core.grid import GridSpec
from ..core.structure import MAX_ATOMS, MAX_FILE_BYTES, Structure
from ..errors import LimitError, RetvisError
from . import collector

log = logging.getLogger(__name__)

#: Largest total of bytes extracted from one zip archive.
#: A cancel flag that is never set (one-off jobs).
NEVER = threading.Event()


# ---------------------------------------------------------------------------
# requests and responses
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class GridRequest:
    """Compute one file's grid.

    Attributes
    ----------
    batch : int
        Batch number (a cancelled batch's late results are still accepted).
    key : str
        Row identity (content digest of the file).
    path : Path
        The file.
    spec : GridSpec
        Grid settings.
    cache_root : Path or None
        Grid cache folder; ``None``: no cache.
    max_atoms : int
        Largest unit cell accepted.
    """

    batch: int
    key: str
    path: Path
    spec: GridSpec
    cache_root: Path | None = None
    max_atoms: int = MAX_ATOMS


@dataclass(kw_only=True)
class GridResponse(GridOutcome):
    """What happened to one :class:`GridRequest`: a batch outcome and its request.

    The fields of :class:`~retvis.core.batch.GridOutcome` (``index`` is 0: a request
    stands alone); ``status`` is "ok", "failed" or "cancelled"; ``grid.boltzmann`` is
    (n, n, n) float32.
    """

    request: GridRequest

    @classmethod
    def of(cls, request: GridRequest, outcome: GridOutcome) -> GridResponse:
        return cls(**vars(outcome), request=request)

    @classmethod
    def cancelled(cls, request: GridRequest) -> GridResponse:
        return cls(
            0, request.path, "cancelled", "cancelled by the user", "cancelled", request=request
        )


@dataclass(frozen=True)
class ImportedFile:
    """A file found in what the user dropped: path and content digest.

    ``digest`` is the SHA-256 of the bytes (equal to :attr:`Structure.digest`), or
    ``"unreadable:<hash of path>"`` with ``reason`` set when the file cannot be read.
    """

    path: Path
    digest: str
    reason: str = ""


@dataclass
class ImportResponse:
    files: list[ImportedFile] = field(default_factory=list)
    #: (source, reason) of archives or folders that could not be opened.
    errors: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class TaskResponse:
    """Result of a :class:`TaskRunner` job: ``value`` or ``error`` (a readable reason)."""

    tag: str
    value: Any = None
    error: str = ""
    seconds: float = 0.0


# ---------------------------------------------------------------------------
# work functions (run on pool threads; no Qt objects touched)
# ---------------------------------------------------------------------------
def compute_grid_job(req: GridRequest, cancel: threading.Event) -> GridResponse:
    """Run one :class:`GridRequest` (never raises)."""
    if cancel.is_set():
        return GridResponse.cancelled(req)
    cache = GridCache(req.cache_root) if req.cache_root is not None else None
    # failures (bad file, out of memory, a bug) are a status and reason, as in a batch
    return GridResponse.of(
        req, grid_outcome(0, req.path, req.spec, cache, req.max_atoms, cancel=cancel)
    )


def warmup_job() -> float:
    """Load the compiled grid kernel once (a one-atom cell, n = 4); returns seconds.

    Loading numba's cached machine code holds the GIL for up to a second; doing it at
    start-up keeps that pause away from the first batch.
    """
    import numpy as np  # noqa: F401  (already loaded; keeps the job self-contained)

    from ..core.grid import compute_grid

    t0 = time.perf_counter()
    cell = Structure("warmup", np.eye(3) * 12.0, np.zeros((1, 3)), ("C",))
    compute_grid(cell, GridSpec(n=4))
    return time.perf_counter() - t0


def file_digest(path: Path) -> ImportedFile:
    """Hash a file's bytes (the same digest :func:`read_structure` gives)."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise LimitError(f"file is larger than {MAX_FILE_BYTES / 2**20:.0f} MiB", path)
        h = hashlib.sha256(path.read_bytes()).hexdigest()
        return ImportedFile(path, h)
    except (OSError, RetvisError) as exc:
        reason = (
            exc.reason
            if isinstance(exc, RetvisError)
            else (
                "file not found"
                if isinstance(exc, FileNotFoundError)
                else f"cannot read file: {exc.strerror or exc}"
            )
        )
        tag = hashlib.sha256(str(path.absolute()).encode()).hexdigest()
        return ImportedFile(path, f"unreadable:{tag}", reason)


def import_job(paths: list[Path], extract_root: Path) -> ImportResponse:
    """Expand dropped files, folders and zip archives into hashed files."""
    out = ImportResponse()
    expanded: list[Path] = []
    for p in paths:
        if p.is_file() and p.suffix.lower() == ".zip":
            try:
                got = extract_cifs(p, extract_root)
            except (RetvisError, OSError) as exc:
                out.errors.append((str(p), getattr(exc, "reason", None) or str(exc)))
                continue
            for member, reason in got.failures:  # a failure row per member
                tag = hashlib.sha256(f"{p.absolute()}:{member}".encode()).hexdigest()
                out.files.append(ImportedFile(p / member, f"unreadable:{tag}", reason))
            if got.folder.is_dir():
                expanded.append(got.folder)
        else:
            expanded.append(p)
    try:
        files = collect_cifs(expanded)
    except RetvisError as exc:
        out.errors.append((str(exc.path or ""), exc.reason))
        files = []
    out.files += [file_digest(f) for f in files]
    return out


# ---------------------------------------------------------------------------
# model access (feature maps, saliency, fingerprints); models are loaded once
# (retvis.app.models)
# ---------------------------------------------------------------------------
def fingerprint_job(
    ref: str,
    keys: list[str],
    boltzmann: np.ndarray,
    device: str = "cpu",
    names: list[str] | None = None,
    size_px: tuple[int, int] | None = None,
) -> dict:
    """Learned fingerprints (N, F) float32 of stacked grids (N, n, n, n) float32.

    With ``names`` and ``size_px`` (width, height), the plot is drawn here too, as an
    RGBA image (H, W, 4) uint8 under ``"image"``: a matplotlib draw takes 150-400 ms on
    a small CPU, too long for the GUI thread while a batch computes.
    """
    model = load_predictor(ref, device)
    fp = np.asarray(model.fingerprint(np.ascontiguousarray(boltzmann, dtype=np.float32)))
    out = {"keys": keys, "fingerprints": fp.astype(np.float32)}
    if names is not None and size_px is not None:
        from .widgets.fingerprint import render_image

        out["image"] = render_image(out["fingerprints"], names, size_px)
    return out


def inspect_job(
    ref: str,
    boltzmann: np.ndarray,
    what: str,
    layer: str | None,
    density: float | None = None,
    device: str = "cpu",
) -> dict:
    """Feature maps of ``layer`` or saliency of one grid (n, n, n) float32 (``density``,
    g/cm³, is the framework's: a per-volume model's saliency needs it).

    Returns a dict with ``what``, ``layer`` and ``array`` (feature maps: (C, d, d, d);
    saliency: (n, n, n)), float32.
    """
    model = load_predictor(ref, device)
    x = np.ascontiguousarray(boltzmann, dtype=np.float32)
    if what == "saliency":
        arr = np.asarray(model.saliency(x, density=density), dtype=np.float32)
    elif what == "feature_maps":
        arr = np.asarray(model.feature_maps(x, layer), dtype=np.float32)
    else:
        raise ValueError(f"what must be 'saliency' or 'feature_maps', got {what!r}")
    return {"what": what, "layer": layer, "array": arr}


# ---------------------------------------------------------------------------
# runnables and runners
# ---------------------------------------------------------------------------
#: Niceness added to pool threads (Linux): when the GUI thread wants a core, it gets one
#: (``$RETVIS_WORKER_NICE`` overrides it; 0 turns it off).
WORKER_NICE = int(os.environ.get("RETVIS_WORKER_NICE", "5"))
_thread_state = threading.local()


def _lower_priority() -> None:
    """Make the calling pool thread nicer than the GUI thread (once per thread).

    Linux keeps a niceness per thread (``setpriority`` on the thread id); threads this
    one starts (OpenMP's for torch) inherit it. Elsewhere this does nothing. Measured
    with ``benchmarks/screen.py``: the GUI thread otherwise competes on equal terms with
    two grid threads and torch's threads on a 2-core machine.
    """
    if getattr(_thread_state, "niced", False) or WORKER_NICE == 0:
        return
    _thread_state.niced = True
    if sys.platform.startswith("linux"):
        try:
            tid = threading.get_native_id()
            os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + WORKER_NICE)
        except OSError as exc:  # not allowed here: run at normal priority
            log.debug("cannot lower a worker thread's priority: %s", exc)


class _Call(QRunnable):
    """Run ``fn()`` on a pool thread and hand its return value to ``deliver``."""

    def __init__(self, fn: Callable[[], Any], deliver: Callable[[Any], None]) -> None:
        super().__init__()
        self._fn = fn
        self._deliver = deliver
        self.setAutoDelete(True)

    def run(self) -> None:  # pool thread
        _lower_priority()
        value = self._fn()
        try:
            self._deliver(value)
        except RuntimeError as exc:  # the runner was deleted while the job ran
            # The window closed and its runners went with it (a close waits for
            # running jobs only so long); with the cache on, the grid is kept there.
            log.debug("result dropped, its receiver is gone: %s", exc)


class GridRunner(QObject):
    """Computes energy grids on its own ``QThreadPool``.

    Signals (delivered on the GUI thread)
    -------------------------------------
    started(str key)
        A file's computation began.
    results(list[GridResponse])
        Files finished (ok, failed or cancelled), in the order they finished. Results
        are collected on the pool threads and handed over in batches, at most one
        pending hand-over at a time: the GUI thread does one table update and one save
        per batch however fast files finish (a per-file signal let a fast batch queue
        hundreds of slot calls, each a repaint and an SQLite commit).
    progress(int done, int total)
        Counts for the current batch.
    idle()
        Nothing is queued or running any more.
    """

    started = Signal(str)
    results = Signal(list)
    progress = Signal(int, int)
    idle = Signal()
    _wake = Signal()  # pool thread -> GUI thread: the inbox has results
    _began = Signal(str)  # pool thread -> GUI thread: a job started

    def __init__(self, workers: int = 1, parent: QObject | None = None) -> None:
        super().__init__(parent)
        collector.install()  # no collections on pool threads (see retvis.gui.collector)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(max(1, workers))
        self._batch = 0
        self._cancel = threading.Event()
        self._lock = threading.Lock()
        self._active: set[str] = set()  # keys running on pool threads (under _lock)
        self._queued: dict[str, GridRequest] = {}
        self._running: dict[str, GridRequest] = {}
        self._done = 0
        self._total = 0
        self._shut = False
        self._inbox: list[GridResponse] = []  # finished, not yet handed over (under _lock)
        self._wake_pending = False  # (under _lock)
        self._wake.connect(self._drain)
        self._began.connect(self._on_began)

    # GUI-thread API ------------------------------------------------------------
    @property
    def workers(self) -> int:
        return self.pool.maxThreadCount()

    def set_workers(self, n: int) -> None:
        self.pool.setMaxThreadCount(max(1, int(n)))

    def new_batch(self) -> int:
        """Number for the next requests; a fresh cancel flag when nothing is pending."""
        if not self._queued:
            self._cancel = threading.Event()
            self._done = self._total = 0
        self._batch += 1
        return self._batch

    def submit(self, requests: list[GridRequest]) -> None:
        """Queue requests (frozen snapshots); results arrive through :attr:`results`."""
        if self._shut:
            log.debug("grid runner shut down; %d requests ignored", len(requests))
            return
        cancel = self._cancel
        for req in requests:
            self._queued[req.key] = req
            self._total += 1
            self.pool.start(_Call(self._job(req, cancel), self._post))
        self.progress.emit(self._done, self._total)

    def _job(self, req: GridRequest, cancel: threading.Event) -> Callable[[], GridResponse]:
        def job() -> GridResponse:  # pool thread
            with self._lock:
                if cancel.is_set():
                    return GridResponse.cancelled(req)
                self._active.add(req.key)
            self._began.emit(req.key)
            try:
                return compute_grid_job(req, threading.Event())
            finally:
                with self._lock:
                    self._active.discard(req.key)

        return job

    def _post(self, resp: GridResponse) -> None:  # pool thread
        with self._lock:
            self._inbox.append(resp)
            if self._wake_pending:
                return
            self._wake_pending = True
        self._wake.emit()

    def cancel(self) -> list[GridRequest]:
        """Stop: queued requests are dropped and returned; running ones finish and are kept."""
        with self._lock:
            self._cancel.set()
            active = set(self._active)
        self.pool.clear()
        dropped = [r for k, r in self._queued.items() if k not in active]
        for r in dropped:
            self._queued.pop(r.key, None)
            self._running.pop(r.key, None)
        self._total -= len(dropped)
        self.progress.emit(self._done, self._total)
        if not self._queued:
            self.idle.emit()
        return dropped

    def running(self) -> list[GridRequest]:
        return list(self._running.values())

    def busy(self) -> bool:
        return bool(self._queued)

    def wait(self, msecs: int = -1) -> bool:
        """Block until the pool is empty (for shutdown and tests)."""
        return self.pool.waitForDone(msecs)

    def shutdown(self, msecs: int = 10_000) -> bool:
        """Cancel, wait up to ``msecs`` for running jobs, then go quiet for good.

        Later :meth:`submit` calls are ignored and results still queued are dropped.
        Returns False when a job was still running at the end of the wait.
        """
        self.cancel()
        done = self.wait(msecs)
        self._shut = True
        self.blockSignals(True)
        return done

    # slots (GUI thread) ----------------------------------------------------------
    def _on_began(self, key: str) -> None:
        # A start can arrive after its result: the result joined a hand-over that was
        # already on its way. Only files still queued are announced as running.
        req = self._queued.get(key)
        if req is not None:
            self._running[key] = req
            self.started.emit(key)

    def _drain(self) -> None:
        with self._lock:
            batch, self._inbox = self._inbox, []
            self._wake_pending = False
        if not batch:
            return
        done = self._done
        for resp in batch:
            key = resp.request.key
            self._running.pop(key, None)
            if self._queued.pop(key, None) is not None:
                self._done += 1
        self.results.emit(batch)
        if self._done != done:
            self.progress.emit(self._done, self._total)
        if not self._queued:  # after every other slot of these results has run
            QTimer.singleShot(0, self._emit_idle)

    def _emit_idle(self) -> None:
        if not self._queued:
            self.idle.emit()


class TaskRunner(QObject):
    """Runs one-off jobs off the GUI thread; ``finished(TaskResponse)`` on the GUI thread.

    Parameters
    ----------
    threads : int
        Pool size (1 keeps model calls serial, which torch modules prefer).
    """

    finished = Signal(object)

    def __init__(self, threads: int = 1, parent: QObject | None = None) -> None:
        super().__init__(parent)
        collector.install()  # no collections on pool threads (see retvis.gui.collector)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(threads)
        self._pending = 0
        self._shut = False
        self.finished.connect(self._count)

    def submit(self, tag: str, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` (arguments must be snapshots, never widgets)."""
        if self._shut:
            log.debug("task runner shut down; %s ignored", tag)
            return

        def job() -> TaskResponse:
            t0 = time.perf_counter()
            try:
                value = fn(*args)
            except RetvisError as exc:
                return TaskResponse(tag, error=str(exc), seconds=time.perf_counter() - t0)
            except Exception as exc:  # shown to the user and logged with its traceback
                log.error("task %s failed:\n%s", tag, traceback.format_exc())
                return TaskResponse(
                    tag, error=f"{type(exc).__name__}: {exc}", seconds=time.perf_counter() - t0
                )
            return TaskResponse(tag, value=value, seconds=time.perf_counter() - t0)

        self._pending += 1
        self.pool.start(_Call(job, self.finished.emit))

    def _count(self, _resp) -> None:
        self._pending -= 1

    def busy(self) -> bool:
        return self._pending > 0

    def wait(self, msecs: int = -1) -> bool:
        return self.pool.waitForDone(msecs)

    def shutdown(self, msecs: int = 10_000) -> bool:
        """Wait up to ``msecs`` for queued jobs, then ignore new ones and drop results."""
        done = self.wait(msecs)
        self._shut = True
        self.blockSignals(True)
        return done
