"""Batches of GCMC (or Widom) labels: one child process per structure, a resumable CSV table.

Every structure runs in its own ``python -m retvis.sim.worker`` process with a
timeout, so a RASPA crash or a runaway simulation costs one row. Rows are appended to
the table one line at a time (flushed and fsynced under an exclusive lock), so a batch
killed at any moment leaves a valid table, and a rerun skips every name already
recorded under the same protocol identity. Failures are rows with a status and a
reason, never zeros.
"""

from __future__ import annotations

import csv
import datetime as _dt
import fcntl
import io
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from pathlib import Path
from typing import IO

from ..errors import DataError
from .gcmc import Protocol, WidomProtocol
from .worker import PARENT_ENV

log = logging.getLogger(__name__)

#: Columns every table starts with: who, and how it went.
_HEAD = ["name", "status", "kind", "reason"]
#: Columns every table ends with: the run's cost and provenance.
_RUN = ["n_atoms", "supercell", "seconds", "wall_seconds", "protocol", "guest", "temperature_K"]
_SOURCE = ["path", "sha256", "finished_utc", "raspalib"]
#: Columns of a labels table, in order.
COLUMNS = [
    *_HEAD,
    "uptake_mol_kg",
    "uptake_err_mol_kg",
    "uptake_cm3_cm3",
    "uptake_err_cm3_cm3",
    "molecules_per_cell",
    *_RUN,
    "pressure_Pa",
    *_SOURCE,
]
#: Columns of a Henry-coefficient table (:class:`~retvis.sim.gcmc.WidomProtocol`).
WIDOM_COLUMNS = [
    *_HEAD,
    "henry_mol_kg_pa",
    "henry_err_mol_kg_pa",
    "rosenbluth_weight",
    "rosenbluth_weight_err",
    "excess_mu_kj_mol",
    *_RUN,
    *_SOURCE,
]


def columns_for(protocol: Protocol | WidomProtocol) -> list[str]:
    """The table columns of a protocol's rows."""
    return WIDOM_COLUMNS if isinstance(protocol, WidomProtocol) else COLUMNS


#: Statuses a row can have. ``failed``: RetVis or RASPA refused or failed (see kind,
#: reason); ``timeout``: killed at the time limit; ``crashed``: the process died.
STATUSES = ("ok", "failed", "timeout", "crashed")
#: Default time limit per structure: seconds of CPU time of its process.
DEFAULT_TIMEOUT = 1800.0
#: Default wall-clock cap, as a multiple of the CPU-time limit: it stops a worker that
#: hangs without using CPU, and leaves a niced or crowded one time to finish.
WALL_FACTOR = 4.0
_CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def raspalib_version() -> str:
    """Installed raspalib version (read from package metadata, without importing it)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("raspalib")
    except PackageNotFoundError:
        return "not installed"


class LabelTable:
    """A CSV file of labels that grows one row at a time.

    Parameters
    ----------
    path : Path
        The CSV file; created with its header on the first append.
    columns : list of str
        :data:`COLUMNS` (uptakes, the default) or :data:`WIDOM_COLUMNS` (Henry
        coefficients); see :func:`columns_for`.
    """

    def __init__(self, path: str | os.PathLike[str], columns: list[str] = COLUMNS) -> None:
        self.path = Path(path)
        self.columns = list(columns)

    def rows(self) -> list[dict[str, str]]:
        """Every complete row, in file order (a torn last line is ignored)."""
        if not self.path.is_file():
            return []
        text = self.path.read_text(encoding="utf-8")
        if not text:
            return []
        if not text.endswith("\n"):
            text = text[: text.rfind("\n") + 1]  # a line cut by a kill mid-write
        reader = csv.DictReader(io.StringIO(text))
        if reader.fieldnames is None:
            return []
        if list(reader.fieldnames) != self.columns:
            other = WIDOM_COLUMNS if self.columns == COLUMNS else COLUMNS
            kind = "a Henry-coefficient (Widom)" if other == WIDOM_COLUMNS else "an uptake (GCMC)"
            raise DataError(
                f"this is {kind} table; use another output file"
                if list(reader.fieldnames) == other
                else f"not a RetVis labels table: columns {reader.fieldnames}, "
                f"expected {self.columns}",
                self.path,
            )
        return [r for r in reader if None not in r and r.get("name")]

    def done(self, identity: str, retry_failed: bool = False) -> dict[str, dict[str, str]]:
        """Rows already recorded under ``identity``, by name (the last row of a name wins).

        With ``retry_failed``, only ``ok`` rows count as done.
        """
        out: dict[str, dict[str, str]] = {}
        for r in self.rows():
            if r["protocol"] == identity:
                out[r["name"]] = r
        if retry_failed:
            out = {k: v for k, v in out.items() if v["status"] == "ok"}
        return out

    def protocols(self) -> dict[str, int]:
        """Protocol identities in the table with their row counts."""
        out: dict[str, int] = {}
        for r in self.rows():
            out[r["protocol"]] = out.get(r["protocol"], 0) + 1
        return out

    def labels(self, identity: str | None = None, column: str = "uptake_mol_kg"):
        """The successful labels of one protocol, for training.

        Parameters
        ----------
        identity : str, optional
            Protocol identity; may be omitted when the table holds only one.
        column : str
            ``uptake_mol_kg`` (default) or ``uptake_cm3_cm3``; ``henry_mol_kg_pa`` in
            a Widom table.

        Returns
        -------
        names : list of str
        values : NDArray[np.float64]
            Shape (n,), the label in the unit of ``column``.
        errors : NDArray[np.float64]
            Shape (n,), its 95 % block-average half-width.

        Raises
        ------
        DataError
            Several protocols and none chosen, an unknown identity, or a non-finite value.
        """
        import numpy as np

        valued = [c for c in self.columns if c.replace("_", "_err_", 1) in self.columns]
        if column not in valued:
            raise DataError(f"column must be one of {', '.join(valued)}, got {column!r}")
        found = self.protocols()
        if identity is None:
            if len(found) != 1:
                raise DataError(
                    f"the table holds {len(found)} protocols; choose one of: " + ", ".join(found),
                    self.path,
                )
            identity = next(iter(found))
        elif identity not in found:
            raise DataError(
                f"no rows for protocol {identity!r}; the table has: "
                + (", ".join(found) or "no rows"),
                self.path,
            )
        rows = [r for r in self.done(identity).values() if r["status"] == "ok"]
        err_col = column.replace("_", "_err_", 1)
        values = np.array([float(r[column]) for r in rows], dtype=np.float64)
        errors = np.array([float(r[err_col]) for r in rows], dtype=np.float64)
        if not (np.all(np.isfinite(values)) and np.all(np.isfinite(errors))):
            raise DataError(f"non-finite {column} in an 'ok' row", self.path)
        return [r["name"] for r in rows], values, errors

    def append(self, row: dict) -> None:
        """Append one row durably (exclusive lock, flush, fsync)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow([_fmt(row.get(c, "")) for c in self.columns])
        line = buf.getvalue()
        with open(self.path, "a+", encoding="utf-8", newline="") as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            try:
                fh.seek(0, os.SEEK_END)
                size = fh.tell()
                if size == 0:
                    fh.write(",".join(self.columns) + "\n")
                else:
                    fh.seek(size - 1)
                    if fh.read(1) != "\n":  # torn line from a killed writer: cut it
                        fh.seek(0)
                        keep = fh.read()
                        fh.truncate(keep.rfind("\n") + 1)
                    fh.seek(0, os.SEEK_END)
                fh.write(line)
                fh.flush()
                os.fsync(fh.fileno())
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _fmt(v) -> str:
    if isinstance(v, float):
        return repr(v)
    return "" if v is None else str(v)


def _utc_now() -> str:
    return _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _package_root() -> str:
    return str(Path(__file__).resolve().parent.parent.parent)


def cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system, its reaped children included) of a live process, s.

    ``None`` where ``/proc/<pid>/stat`` cannot be read (not Linux, or the process is
    gone).
    """
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
        # after the command name: state(3) ... utime(14) stime(15) cutime(16) cstime(17)
        return sum(int(f) for f in fields[11:15]) / _CLK_TCK
    except (OSError, IndexError, ValueError):
        return None


def _row_head(path: Path, protocol: Protocol | WidomProtocol) -> dict:
    """The columns of a row known before its simulation: which structure, which protocol."""
    return {
        "name": path.stem,
        "path": str(path),
        "protocol": protocol.identity(),
        "guest": protocol.guest,
        "temperature_K": protocol.temperature,
        "pressure_Pa": getattr(protocol, "pressure", None),
        "raspalib": raspalib_version(),
    }


def label_one(
    path: Path,
    protocol: Protocol | WidomProtocol,
    timeout: float = DEFAULT_TIMEOUT,
    cancel: threading.Event | None = None,
    wall_timeout: float | None = None,
) -> dict | None:
    """Simulate one structure in a child process; return its table row.

    Parameters
    ----------
    path : Path
        CIF file.
    protocol : Protocol or WidomProtocol
    timeout : float
        CPU-time limit, s: the child is killed once it has used this much (status
        ``timeout``). CPU time, not wall-clock, so a labeller run at low priority
        beside other work, or on an oversubscribed node, still finishes what it
        would finish alone. Where the CPU time cannot be read (no ``/proc``), the
        limit applies to wall-clock time.
    cancel : threading.Event, optional
        When set, the child is killed and ``None`` is returned (nothing to record).
    wall_timeout : float, optional
        Wall-clock cap, s, for a child that hangs without using CPU; default
        :data:`WALL_FACTOR` times ``timeout``.

    Returns
    -------
    dict or None
        A row with the keys of :func:`columns_for` the protocol.
    """
    path = Path(path)
    row = _row_head(path, protocol)
    env = _worker_env()
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="retvis-gcmc-") as tmp:
        out = Path(tmp) / "result.json"
        err_path = Path(tmp) / "stderr.txt"
        with open(err_path, "wb") as err:
            proc = _start_worker(path, protocol, out, err, tmp, env)
            wall_cap = WALL_FACTOR * timeout if wall_timeout is None else wall_timeout
            status, reason, cpu = _wait_for_worker(proc, t0, timeout, wall_cap, cancel)
            if status == "cancelled":
                return None
        wall = time.perf_counter() - t0
        row["wall_seconds"] = round(wall, 3)
        row["finished_utc"] = _utc_now()
        if status == "timeout":
            row.update(status="timeout", kind="simulation", reason=reason)
            if cpu is not None:
                row["cpu_seconds"] = round(cpu, 3)  # not a column: for the run's summary
            return row
        return _worker_row(row, out, err_path, proc.returncode)


def _worker_env() -> dict[str, str]:
    """The simulation worker's environment: this package importable, RASPA quiet, one
    OpenMP thread, and this process's id so that the worker dies with it."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [_package_root()] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
    )
    env.setdefault("RASPALIB_QUIET", "1")
    env.setdefault("OMP_NUM_THREADS", "1")
    env[PARENT_ENV] = str(os.getpid())  # the worker dies with this process
    return env


def _start_worker(
    path: Path,
    protocol: Protocol | WidomProtocol,
    out: Path,
    err: IO[bytes],
    tmp: str,
    env: dict[str, str],
) -> subprocess.Popen:
    """Start ``retvis.sim.worker`` on ``path`` in its own session, in the folder ``tmp``,
    writing its result to ``out`` and its stderr to ``err``."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "retvis.sim.worker",
            str(path.absolute()),
            "--protocol",
            json.dumps(protocol.to_dict()),
            "--out",
            str(out),
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=err,
        env=env,
        cwd=tmp,
        start_new_session=True,
    )


def _wait_for_worker(
    proc: subprocess.Popen,
    t0: float,
    timeout: float,
    wall_cap: float,
    cancel: threading.Event | None,
) -> tuple[str, str, float | None]:
    """Wait for the worker started at ``t0`` (:func:`time.perf_counter`), polling every
    0.25 s; kill it once its CPU time passes ``timeout`` (wall-clock time where that
    cannot be read), its wall-clock time passes ``wall_cap``, or ``cancel`` is set.

    Returns
    -------
    status : {"exited", "timeout", "cancelled"}
    reason : str
        Why it was killed (``"timeout"``), else empty.
    cpu : float or None
        Its CPU time at the last poll, s (``None`` where it cannot be read).
    """
    status = None
    reason = ""
    cpu: float | None = 0.0
    while status is None:
        try:
            proc.wait(timeout=0.25)
            status = "exited"
        except subprocess.TimeoutExpired:
            if cancel is not None and cancel.is_set():
                _kill(proc)
                return "cancelled", "", cpu
            wall = time.perf_counter() - t0
            cpu = cpu_seconds(proc.pid)
            if (wall if cpu is None else cpu) > timeout:
                _kill(proc)
                status = "timeout"
                reason = (
                    f"killed after the {timeout:g} s time limit"
                    if cpu is None
                    else f"killed after the {timeout:g} s CPU-time limit ({wall:.0f} s wall-clock)"
                )
            elif wall > wall_cap:
                _kill(proc)
                status = "timeout"
                reason = f"killed at the {wall_cap:g} s wall-clock cap" + (
                    "" if cpu is None else f" after {cpu:.0f} s of CPU time"
                )
    return status, reason, cpu


def _worker_row(row: dict, out: Path, err_path: Path, rc: int) -> dict:
    """``row`` completed from the worker's result file, or as ``crashed`` with its exit
    status ``rc`` and the last lines of its stderr when it wrote none."""
    if out.is_file():
        res = json.loads(out.read_text())
        row.update(res)
        if res["status"] == "ok":
            row["seconds"] = round(res["seconds"], 3)
        return row
    tail = err_path.read_text(errors="replace").strip().splitlines()[-3:]
    why = f"signal {signal.Signals(-rc).name}" if rc < 0 else f"exit status {rc}"
    row.update(
        status="crashed",
        kind="simulation",
        reason=f"simulation process died ({why})" + (f": {' | '.join(tail)}" if tail else ""),
    )
    return row


def _label_task(
    path: str, protocol, timeout: float, wall_timeout: float | None, stop: str
) -> dict | None:
    """:func:`label_one` as a Dask task: its child is killed once the client sets the
    distributed event named ``stop``."""
    from dask.distributed import Event

    return label_one(Path(path), protocol, timeout, Event(stop), wall_timeout)


def _iter_labels_dask(paths, protocol, scheduler, timeout, cancel, wall_timeout):
    """:func:`iter_labels` on the workers of the Dask scheduler at ``scheduler``."""
    from dask.distributed import Client, Event

    tag = os.urandom(4).hex()
    client = Client(scheduler, set_as_default=False)
    pending: set = set()
    stop = None
    try:
        stop = Event(f"retvis-label-stop-{tag}", client=client)
        where = {}
        for k, p in enumerate(paths):
            fut = client.submit(
                _label_task,
                str(Path(p).absolute()),
                protocol,
                timeout,
                wall_timeout,
                stop.name,
                key=f"retvis-label-{tag}-{k}",
                pure=False,
            )
            where[fut.key] = Path(p)
            pending.add(fut)
        while pending and not cancel.is_set():
            finished = [f for f in pending if f.done()]
            if not finished:
                time.sleep(0.25)
            for fut in finished:
                pending.discard(fut)
                try:
                    row = fut.result()
                except Exception as exc:  # the task or its worker died: a recorded failure
                    row = _row_head(where[fut.key], protocol)
                    row.update(
                        finished_utc=_utc_now(),
                        status="crashed",
                        kind="task",
                        reason=f"Dask task failed ({type(exc).__name__}: {exc})",
                    )
                if row is not None:
                    yield row
    finally:
        if pending and stop is not None:  # cancelled, or the caller stopped early
            stop.set()
            client.cancel(list(pending))
        client.close()


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def iter_labels(
    paths: Iterable[Path],
    protocol: Protocol | WidomProtocol,
    jobs: int = 1,
    timeout: float = DEFAULT_TIMEOUT,
    cancel: threading.Event | None = None,
    wall_timeout: float | None = None,
    scheduler: str | None = None,
) -> Iterator[dict]:
    """Simulate many structures, ``jobs`` child processes at a time, or as tasks on the
    workers of a running Dask ``scheduler`` (its address; ``jobs`` is then unused: each
    worker thread runs one simulation, in a child process as here).

    Yields one row per structure, in completion order. Stops starting new ones when
    ``cancel`` is set (running ones are killed, here or on the workers, and yield
    nothing). ``timeout`` and ``wall_timeout``: see :func:`label_one`. On a scheduler the
    paths must be readable by the workers under the same names (a shared file system).
    """
    cancel = cancel or threading.Event()
    todo = list(paths)
    if scheduler:
        yield from _iter_labels_dask(todo, protocol, scheduler, timeout, cancel, wall_timeout)
        return
    jobs = max(1, int(jobs))
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        it = iter(todo)
        running = set()
        try:
            for p in it:
                running.add(pool.submit(label_one, p, protocol, timeout, cancel, wall_timeout))
                if len(running) >= jobs:
                    break
            while running:
                finished, running = wait(running, return_when=FIRST_COMPLETED)
                for f in finished:
                    row = f.result()
                    if row is not None:
                        yield row
                if not cancel.is_set():
                    for p in it:
                        running.add(
                            pool.submit(label_one, p, protocol, timeout, cancel, wall_timeout)
                        )
                        if len(running) >= jobs:
                            break
        finally:
            if running:  # the caller stopped early: kill what still runs
                cancel.set()
