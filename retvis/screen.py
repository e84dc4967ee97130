"""Screening a database: energy grids and RetNet predictions for many files, with Dask.

The same core and ml code as the app: :func:`retvis.core.batch.iter_grids` with the
model's own :class:`~retvis.core.grid.GridSpec`, then :meth:`Predictor.predict
<retvis.ml.weights.Predictor.predict>` on the chunk's grids as one batch.

Work is cut into chunks of files (:data:`CHUNK`); each chunk is one task
(:func:`screen_chunk`) that returns one row per file (:data:`COLUMNS`). Tasks run in this
process (``workers=0``), on a ``dask.distributed.LocalCluster`` or on an existing
cluster (a scheduler address, e.g. one started by dask-jobqueue on Slurm). Each worker
process loads the model once (:func:`predictor`).

Output: a Parquet dataset (a folder)::

    OUT/part-<run>-<chunk>.parquet   one file per finished chunk, written atomically
    OUT/_screen.json                 model identity, GridSpec, target (checked on resume)

A rerun with the same output skips every path already in it, and every file whose
content (SHA-256) is already in it, so a killed screen resumes where it stopped. Files
that fail (unreadable CIF, unknown element, limits...) are rows with ``status = "failed"``
and a reason; a chunk whose task itself failed (a worker died) writes no part file and is
retried by the next run.
"""

from __future__ import annotations

import io
import json
import logging
import os
import secrets
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .core import formats
from .core.batch import collect_cifs, iter_grids
from .core.cache import atomic_write_bytes, sha256_file
from .core.canonical import join_notes, same_crystal_notes
from .core.csvout import write_csv
from .core.grid import GridSpec
from .core.ranking import ranks
from .core.structure import MAX_ATOMS, MIN_DISTANCE
from .errors import DataError, RetvisError
from .ml.config import INFERENCE_BATCH

log = logging.getLogger(__name__)

#: Files per task.
CHUNK = 64
#: Columns of a result row, in order.
COLUMNS = (
    "name",
    "path",
    "digest",
    "crystal",
    "status",
    "reason",
    "kind",
    "n_atoms",
    "formula",
    "prediction",
    "std",
    "seconds",
)
META_NAME = "_screen.json"
#: The output's format (``_screen.json``; :mod:`retvis.core.formats`). Version 0 wrote
#: ``"version": 1`` instead of a format version, with the same content.
SCREEN_FORMAT = "retvis-screen"

#: Models loaded in this process, by (folder, card SHA-256): one load per worker.
_PREDICTORS: dict[tuple[str, str], object] = {}


# --------------------------------------------------------------------------- worker side
def predictor(model: str | os.PathLike[str], torch_threads: int | None = None):
    """The :class:`~retvis.ml.weights.Predictor` of a model folder, loaded once per process.

    Parameters
    ----------
    model : path-like
        A model folder (resolved by the caller, so every worker sees the same one).
    torch_threads : int, optional
        Set torch's intra-op threads when the model is first loaded in this process.
    """
    from .ml.weights import CARD_NAME, load_model

    folder = Path(model)
    key = (str(folder.resolve()), _sha256(folder / CARD_NAME))
    p = _PREDICTORS.get(key)
    if p is None:
        if torch_threads:
            import torch

            torch.set_num_threads(int(torch_threads))
        p = _PREDICTORS[key] = load_model(folder)
    return p


def _sha256(path: Path) -> str:
    """The file's SHA-256, or "" when it cannot be read (the row then says why)."""
    try:
        return sha256_file(path)
    except OSError:
        return ""


def _row(path: str, **kw) -> dict:
    row = dict.fromkeys(COLUMNS)
    row.update(
        name=Path(path).stem, path=path, digest="", crystal="", reason="", kind="", formula=""
    )
    row.update(kw)
    return row


def screen_chunk(
    paths: Sequence[str],
    model: str,
    batch_size: int = INFERENCE_BATCH,
    threads: int = 1,
    torch_threads: int | None = None,
    max_atoms: int = MAX_ATOMS,
    min_distance: float = MIN_DISTANCE,
) -> list[dict]:
    """Grids and predictions for one chunk of files: the unit of work of a screen.

    Parameters
    ----------
    paths : sequence of str
        Files (absolute paths on the worker).
    model : str
        Model folder.
    batch_size : int
        Grids per forward pass.
    threads : int
        Grid threads in this task.
    torch_threads : int, optional
        Torch threads of the worker process (set on its first model load).
    max_atoms, min_distance
        Passed to :func:`~retvis.core.structure.read_structure`.

    Returns
    -------
    list of dict
        One row per input in input order, keys :data:`COLUMNS`. ``prediction`` and
        ``std`` (ensemble spread) are in the model's target units; ``seconds`` is the
        file's grid time plus its share of the chunk's prediction time.
    """
    pred = predictor(model, torch_threads)
    rows, grids, densities = _grid_rows(paths, pred.spec, threads, max_atoms, min_distance)
    if grids:
        _predict_rows(pred, rows, grids, densities, batch_size)
    return rows


def _grid_rows(paths: Sequence[str], spec, threads: int, max_atoms: int, min_distance: float):
    """Each file's row after its grid (failed, with the reason, where it has none), and
    the grids (n, n, n) and densities (g/cm³) of those that have one, by input index."""
    rows: list[dict | None] = [None] * len(paths)  # iter_grids gives every index
    grids: dict[int, np.ndarray] = {}
    densities: dict[int, float] = {}
    for o in iter_grids(
        list(paths),
        spec,
        jobs=threads,
        cache=None,
        max_atoms=max_atoms,
        min_distance=min_distance,
    ):
        p = str(paths[o.index])
        if o.status == "ok":
            s = o.structure
            rows[o.index] = _row(
                p,
                name=s.name,
                digest=s.digest,
                crystal=o.grid.meta.get("crystal", ""),
                status="ok",
                n_atoms=s.n_atoms,
                formula=s.formula,
                seconds=o.seconds,
            )
            grids[o.index] = o.grid.boltzmann
            densities[o.index] = o.grid.density
        else:
            rows[o.index] = _row(
                p,
                digest=_sha256(Path(p)),
                status="failed",
                reason=o.reason,
                kind=o.kind,
                seconds=o.seconds,
            )
    return rows, grids, densities


def _predict_rows(pred, rows: list[dict], grids: dict, densities: dict, batch_size: int) -> None:
    """Predict the grids as one batch (one at a time when the model refuses the batch,
    so only the grids it refuses fail) and write each prediction, or the refusal, into
    its row, with an equal share of the prediction time added to each row's seconds."""
    idx = sorted(grids)
    t0 = time.perf_counter()
    try:
        x = np.stack([grids[i] for i in idx])
        mean, std = pred.predict(x, batch_size, density=[densities[i] for i in idx])
    except RetvisError:  # isolate the grid(s) the model refuses
        mean, std = np.full(len(idx), np.nan), np.full(len(idx), np.nan)
        for k, i in enumerate(idx):
            try:
                m, s = pred.predict(grids[i][None], 1, density=densities[i])
                mean[k], std[k] = m[0], s[0]
            except RetvisError as exc:
                rows[i].update(status="failed", reason=exc.reason, kind=exc.kind)
    share = (time.perf_counter() - t0) / len(idx)
    refused = pred.refusals(mean, [densities[i] for i in idx])
    for k, i in enumerate(idx):
        r = rows[i]
        r["seconds"] += share
        if r["status"] == "ok" and refused[k]:
            r.update(status="failed", reason=refused[k], kind="domain")
        elif r["status"] == "ok":
            r["prediction"], r["std"] = float(mean[k]), float(std[k])


# --------------------------------------------------------------------------- output
def _schema():
    import pyarrow as pa

    return pa.schema(
        [
            ("name", pa.string()),
            ("path", pa.string()),
            ("digest", pa.string()),
            ("crystal", pa.string()),
            ("status", pa.string()),
            ("reason", pa.string()),
            ("kind", pa.string()),
            ("n_atoms", pa.int32()),
            ("formula", pa.string()),
            ("prediction", pa.float64()),
            ("std", pa.float64()),
            ("seconds", pa.float64()),
        ]
    )


def _clean(s: str | None) -> str | None:
    """Undecodable file-name bytes (os.fsdecode's surrogates) as ``\\xNN``."""
    if s is None:
        return None
    try:
        s.encode("utf-8")
        return s
    except UnicodeEncodeError:
        return s.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def write_part(out: Path, rows: list[dict], part: str) -> Path:
    """Write rows as ``out/part-<part>.parquet`` atomically (a hidden temp file, renamed)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = _schema()
    cols = {
        c: [_clean(r[c]) if schema.field(c).type == pa.string() else r[c] for r in rows]
        for c in COLUMNS
    }
    table = pa.table(cols, schema=schema)
    buf = io.BytesIO()
    pq.write_table(table, buf)
    path = out / f"part-{part}.parquet"
    atomic_write_bytes(path, buf.getvalue())
    return path


#: Where damaged part files and a damaged ``_screen.json`` are moved (never deleted).
DAMAGED = "_damaged"


def read_results(out: str | os.PathLike[str], columns: Sequence[str] | None = None):
    """The rows of a screen output folder as a pyarrow Table (empty if none yet).

    A part file that cannot be read whole in the output's schema (truncated, flipped
    bytes, empty, foreign) is moved to ``out/_damaged/`` with a warning: its files are
    then screened again by the next run instead of blocking the folder.
    """
    import pyarrow as pa

    out = Path(out)
    parts = sorted(out.glob("part-*.parquet")) if out.is_dir() else []
    schema = _schema()
    tables = [t for t in (_read_part(p, schema) for p in parts) if t is not None]
    if columns is not None:
        schema = pa.schema([schema.field(c) for c in columns])
        tables = [t.select(columns) for t in tables]
    if not tables:
        return schema.empty_table()
    return pa.concat_tables(tables)


def set_aside(path: Path, why: str) -> Path:
    """Move a damaged output file into the folder's ``_damaged/`` (a warning names it)."""
    dest = path.parent / DAMAGED / path.name
    dest.parent.mkdir(exist_ok=True)
    if dest.exists():
        dest = dest.with_name(f"{dest.stem}-{secrets.token_hex(3)}{dest.suffix}")
    os.replace(path, dest)
    log.warning("%s is damaged (%s): moved to %s; its files are screened again", path, why, dest)
    return dest


def _read_part(path: Path, schema):
    """One part file, whole, in ``schema`` (``None`` when damaged: set aside); a column
    it was written without (``crystal``, before canonical cells) reads as empty strings."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        t = pq.read_table(path)
        for c in schema.names:
            if c not in t.column_names:
                t = t.append_column(c, pa.array([""] * len(t), pa.string()))
        return t.select(schema.names).cast(schema)
    except (pa.ArrowException, OSError, ValueError, KeyError) as exc:
        if path.exists():
            set_aside(path, f"{type(exc).__name__}: {str(exc)[:160]}")
        return None


def model_identity(model: str | os.PathLike[str]) -> dict:
    """What a screen output records about its model (checked when resuming)."""
    from .ml.weights import CARD_NAME, read_card

    folder = Path(model)
    card = read_card(folder)
    return {
        "path": str(folder.resolve()),
        "card_sha256": _sha256(folder / CARD_NAME),
        "target": card.get("target", {}),
        "gridspec": card.get("gridspec"),
    }


def read_meta(out: Path) -> dict | None:
    """The output's ``_screen.json`` (None if there is none).

    Raises
    ------
    DataError
        It exists but is not a screen output's record.
    """
    meta = Path(out) / META_NAME
    try:
        old = json.loads(meta.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise DataError(f"{META_NAME} is damaged ({exc})", out) from None
    if (
        not isinstance(old, dict)
        or old.get("format") != SCREEN_FORMAT
        or not isinstance(old.get("model"), dict)
        or not isinstance(old["model"].get("card_sha256"), str)
    ):
        raise DataError(f"{META_NAME} is damaged (not a screen output's record)", out)
    # a version this RetVis does not read is not damage: it is refused, not set aside
    formats.version_of(old, SCREEN_FORMAT, meta, _NewerFormat)
    return formats.upgraded(old, SCREEN_FORMAT, meta)


class _NewerFormat(DataError):
    """A ``_screen.json`` this RetVis cannot read (its format version is newer)."""


def _open_output(out: Path, ident: dict) -> None:
    meta = out / META_NAME
    try:
        old = read_meta(out)
    except _NewerFormat:
        raise
    except DataError as exc:
        # which model made the parts is unknown: all of it is set aside, none mixed in
        set_aside(meta, exc.reason)
        for part in out.glob("part-*.parquet"):
            set_aside(part, f"{META_NAME} was damaged, so its model is unknown")
        old = None
    if old is not None:
        if old.get("model", {}).get("card_sha256") != ident["card_sha256"]:
            raise DataError(
                f"this output holds predictions of another model ({old['model'].get('path')}); "
                f"got {ident['path']}: choose another output",
                out,
            )
        return
    if out.exists() and any(out.glob("part-*.parquet")):
        raise DataError(f"output folder has result files but no {META_NAME}", out)
    out.mkdir(parents=True, exist_ok=True)
    from . import __version__

    atomic_write_bytes(
        meta,
        json.dumps(
            {**formats.stamp(SCREEN_FORMAT), "retvis": __version__, "model": ident},
            indent=1,
        ).encode(),
    )


# --------------------------------------------------------------------------- driver
@dataclass
class ScreenSummary:
    """What one :func:`screen` call did.

    Attributes
    ----------
    total : int
        Input files.
    skipped_path, skipped_digest : int
        Skipped as already in the output, by path and by content.
    ok, failed : int
        Files screened by this call, by status.
    chunk_failures : list of dict
        Rows (``path``, ``kind``, ``reason``) for files whose whole task failed; they
        are not in the output and are retried by the next run.
    seconds : float
        Wall time of this call.
    """

    total: int = 0
    skipped_path: int = 0
    skipped_digest: int = 0
    ok: int = 0
    failed: int = 0
    chunk_failures: list[dict] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def screened(self) -> int:
        return self.ok + self.failed


def plan(paths: Sequence[str | os.PathLike[str]], out: Path) -> tuple[list[str], int, int, int]:
    """Files still to screen: ``(todo, total, skipped_by_path, skipped_by_digest)``.

    Paths are made absolute. Content digests of new files are computed only when the
    output already holds rows (a resume).
    """
    files = [os.path.abspath(p) for p in collect_cifs(paths)]
    done = read_results(out, ["path", "digest"])
    if done.num_rows == 0:
        return files, len(files), 0, 0
    known_paths = set(done.column("path").to_pylist())
    known_digests = {d for d in done.column("digest").to_pylist() if d}
    todo, by_path, by_digest = [], 0, 0
    for f in files:
        if _clean(f) in known_paths:
            by_path += 1
        elif known_digests and _sha256(Path(f)) in known_digests:
            by_digest += 1
        else:
            todo.append(f)
    return todo, len(files), by_path, by_digest


def _chunks(files: list[str], size: int) -> Iterator[list[str]]:
    for s in range(0, len(files), size):
        yield files[s : s + size]


def screen(
    paths: Sequence[str | os.PathLike[str]],
    model: str | os.PathLike[str],
    out: str | os.PathLike[str],
    workers: int = 2,
    threads_per_worker: int = 1,
    scheduler: str | None = None,
    chunk: int = CHUNK,
    batch_size: int = INFERENCE_BATCH,
    max_atoms: int = MAX_ATOMS,
    min_distance: float = MIN_DISTANCE,
    progress: Callable[[int, int], None] | None = None,
    on_start: Callable[[int, int, int], None] | None = None,
) -> ScreenSummary:
    """Screen files with a model into a Parquet dataset folder.

    Parameters
    ----------
    paths : sequence of path-like
        Files and folders (searched for ``*.cif``).
    model : path-like or str
        Model folder, run folder or model name (:func:`retvis.ml.weights.resolve_model`).
    out : path-like
        Output folder (Parquet dataset); created, or resumed when it exists.
    workers : int
        Worker processes of a local cluster; ``0``: run in this process, no Dask.
    threads_per_worker : int
        Threads of each worker (tasks at once per worker; torch threads too).
    scheduler : str, optional
        Address of a running Dask scheduler; ``workers`` is then ignored.
    chunk : int
        Files per task.
    batch_size : int
        Grids per forward pass.
    max_atoms, min_distance
        Passed to :func:`~retvis.core.structure.read_structure`.
    progress : callable(done, total), optional
        Called with the files finished by this call after each chunk.
    on_start : callable(todo, skipped_by_path, skipped_by_digest), optional
        Called once the work is planned.

    Returns
    -------
    ScreenSummary
    """
    t_start = time.perf_counter()
    if chunk < 1:
        raise DataError(f"chunk size must be >= 1, got {chunk}")
    folder, ident = _screen_model(model)
    out = Path(out)
    _open_output(out, ident)
    todo, total, by_path, by_digest = plan(paths, out)
    summary = ScreenSummary(total=total, skipped_path=by_path, skipped_digest=by_digest)
    if on_start:
        on_start(len(todo), by_path, by_digest)
    finish = _PartWriter(out, summary, len(todo), progress)
    chunks = list(_chunks(todo, chunk))
    on_dask = bool(workers > 0 or scheduler)
    kw = dict(
        model=str(folder.resolve()),
        batch_size=batch_size,
        threads=threads_per_worker if on_dask else 1,
        torch_threads=threads_per_worker if on_dask else None,
        max_atoms=max_atoms,
        min_distance=min_distance,
    )
    if not chunks:
        pass  # nothing left to do: no cluster to start
    elif workers <= 0 and scheduler is None:
        for k, c in enumerate(chunks):
            finish(k, screen_chunk(c, **kw))
    else:
        _run_dask(chunks, kw, workers, threads_per_worker, scheduler, finish, summary, progress)
    summary.seconds = time.perf_counter() - t_start
    return summary


def _screen_model(model: str | os.PathLike[str]) -> tuple[Path, dict]:
    """The model's folder (:func:`~retvis.ml.weights.resolve_model`) and identity, once
    this machine is known to compute its grids."""
    from .ml.weights import resolve_model

    folder = resolve_model(model)
    ident = model_identity(folder)
    GridSpec.from_dict(ident["gridspec"] or {}).require_available(f"model '{folder.name}'")
    return folder, ident


class _PartWriter:
    """Writes each finished chunk's rows as a part file of this run (numbered by chunk),
    counts them into the summary and reports the files done so far to ``progress``."""

    def __init__(self, out: Path, summary: ScreenSummary, total: int, progress) -> None:
        self.out, self.summary, self.total, self.progress = out, summary, total, progress
        self.run_id = time.strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(3)
        self.done = 0

    def __call__(self, k: int, rows: list[dict]) -> None:
        write_part(self.out, rows, f"{self.run_id}-{k:06d}")
        for r in rows:
            if r["status"] == "ok":
                self.summary.ok += 1
            else:
                self.summary.failed += 1
        self.done += len(rows)
        if self.progress:
            self.progress(self.done, self.total)


#: glibc malloc settings of local workers. Dask's default (trim above 64 KiB) hands a
#: grid's arrays back to the kernel after every structure and faults them in again: about
#: a million minor page faults per worker per 500 files. Arrays under 32 MiB come from the
#: heap instead and the heap keeps up to 256 MiB free.
WORKER_ENVIRON = {
    "distributed.nanny.pre-spawn-environ.MALLOC_MMAP_THRESHOLD_": 32 << 20,
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": 256 << 20,
}


def local_cluster(workers: int, threads_per_worker: int = 1):
    """A ``dask.distributed.LocalCluster`` of worker processes for screening, with
    :data:`WORKER_ENVIRON`, no dashboard and no memory limit (the batch's estimate
    bounds memory)."""
    import dask
    from dask.distributed import LocalCluster

    # Dask's nanny takes these from this process's environment before its config, and
    # writes its own into that environment when it spawns: an earlier cluster in this
    # process (Dask's defaults) would otherwise decide them
    names = [k.rsplit(".", 1)[1] for k in WORKER_ENVIRON]
    saved = {k: os.environ.get(k) for k in names}
    os.environ.update({k.rsplit(".", 1)[1]: str(v) for k, v in WORKER_ENVIRON.items()})
    try:
        with dask.config.set(WORKER_ENVIRON):
            return LocalCluster(
                n_workers=workers,
                threads_per_worker=threads_per_worker,
                processes=True,
                dashboard_address=None,
                memory_limit=0,
                silence_logs=logging.ERROR,
            )
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _run_dask(chunks, kw, workers, threads_per_worker, scheduler, finish, summary, progress):
    from dask.distributed import Client, as_completed

    cluster = None
    if scheduler:
        client = Client(scheduler)
    else:
        cluster = local_cluster(workers, threads_per_worker)
        client = Client(cluster)
    try:
        tag = secrets.token_hex(4)
        futures = {
            client.submit(screen_chunk, c, key=f"retvis-screen-{tag}-{k}", **kw): (k, c)
            for k, c in enumerate(chunks)
        }
        try:
            for fut in as_completed(futures):
                k, c = futures[fut]
                try:
                    rows = fut.result()
                except Exception as exc:  # the task or its worker died: retried by the next run
                    log.error("chunk %d failed: %s: %s", k, type(exc).__name__, exc)
                    summary.chunk_failures.extend(
                        {"path": p, "kind": "task", "reason": f"{type(exc).__name__}: {exc}"}
                        for p in c
                    )
                    continue
                finish(k, rows)
        finally:
            client.cancel([f for f in futures if not f.done()])
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


# --------------------------------------------------------------------------- reports
def write_failures(out: Path, path: Path, extra: Sequence[dict] = ()) -> int:
    """Write every failed file of the output (plus ``extra`` task failures) as CSV.

    Columns: name, path, kind, reason. Returns the number of rows.
    """
    t = read_results(out, ["name", "path", "status", "kind", "reason"]).to_pylist()
    rows = [[r["name"], r["path"], r["kind"], r["reason"]] for r in t if r["status"] != "ok"]
    rows += [[Path(r["path"]).stem, r["path"], r["kind"], r["reason"]] for r in extra]
    write_csv(path, ["name", "path", "kind", "reason"], rows)
    return len(rows)


def write_ranking(out: Path, path: Path) -> tuple[int, str]:
    """Write the screened materials ranked by predicted value, highest first, as CSV.

    Columns: rank, name, prediction, ensemble_std, units, formula, n_atoms, crystal, path,
    note: the names ``retvis predict`` gives the same quantities.
    ``crystal`` is the canonical cell's digest (the same for every file of one crystal);
    ``note`` is the model's own note on a prediction outside what it learned or at the
    sparse top of its training labels (:func:`retvis.ml.weights.domain_notes`, from the
    card of the model the output was made with) and, for a crystal screened from more
    than one file, the other files' names; else empty. Returns the rows written and a line
    counting the notes ('' if none).
    """
    from .ml.weights import domain_notes, notes_summary, read_card

    t = read_results(
        out, ["name", "path", "status", "prediction", "std", "formula", "n_atoms", "crystal"]
    )
    ok = [r for r in t.to_pylist() if r["status"] == "ok" and r["prediction"] is not None]
    rank = ranks([r["prediction"] for r in ok], [r["name"] for r in ok])
    ok = [r for _, r in sorted(zip(rank, ok, strict=True), key=lambda kr: kr[0])]
    meta = read_meta(Path(out))
    if meta is None:
        raise DataError(f"not a screen output (no {META_NAME})", out)
    card = read_card(meta["model"]["path"])
    notes = domain_notes(
        np.array([r["prediction"] for r in ok]), np.array([r["std"] for r in ok]), card
    )
    same = same_crystal_notes([r["name"] for r in ok], [r["crystal"] for r in ok])
    notes = [join_notes(a, b) for a, b in zip(notes, same, strict=True)]
    units = card.get("target", {}).get("units", "")
    rows = [
        [k + 1, r["name"], f"{r['prediction']:.6g}", f"{r['std']:.3g}", units, r["formula"],
         r["n_atoms"], r["crystal"], r["path"], note]
        for k, (r, note) in enumerate(zip(ok, notes, strict=True))
    ]  # fmt: skip
    header = ["rank", "name", "prediction", "ensemble_std", "units", "formula", "n_atoms",
              "crystal", "path", "note"]  # fmt: skip
    write_csv(path, header, rows)
    return len(rows), notes_summary(notes)


def failure_counts(out: Path, extra: Sequence[dict] = ()) -> dict[str, int]:
    """Failures grouped by ``kind: reason`` with file-specific parts cut off."""
    t = read_results(out, ["status", "kind", "reason"]).to_pylist()
    counts: dict[str, int] = {}
    for r in [x for x in t if x["status"] != "ok"] + list(extra):
        key = f"{r['kind']}: {reason_prefix(r['reason'])}"
        counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


def reason_prefix(reason: str) -> str:
    """A failure reason without its file-specific numbers and names (for grouping)."""
    import re

    text = reason.split(" (")[0].split(": ")[0]
    return re.sub(r"\d+(\.\d+)?", "#", text).strip()
