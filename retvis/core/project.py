"""A screening project on disk: one SQLite file (WAL mode) per project.

A project holds the materials the user loaded (by content digest), what happened to
each one (status, error reason), the predictions and the models that made them, and
known labels (simulated or imported uptakes). Energy grids are not stored here: they
live in the content-addressed :class:`~retvis.core.cache.GridCache`.

Every write commits at once, so a crash loses at most the row being written. The
connection belongs to the thread that opened the project (the GUI thread in the app).
No Qt here: this is core.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from ..errors import RetvisError
from . import formats

#: Suffix of project files.
PROJECT_SUFFIX = ".retvis"
#: Schema version written into ``meta``; bumped on incompatible changes.
SCHEMA_VERSION = formats.CURRENT["retvis-project"]

#: Statuses a material can have.
STATUSES = ("queued", "running", "ok", "failed", "cancelled")


class ProjectError(RetvisError):
    """A project file is not a RetVis project, is from a newer version, or is unreadable."""

    kind = "project"


@dataclass
class MaterialRecord:
    """One material of a project, as shown in a table row.

    Attributes
    ----------
    digest : str
        SHA-256 of the file's bytes (:attr:`Structure.digest`); the row's identity.
    name : str
        Material name (file stem).
    path : str
        Where the file was loaded from.
    status : str
        One of :data:`STATUSES`.
    kind, reason : str
        Error category and human-readable reason when ``status`` is failed/cancelled.
    formula : str
        Unit-cell formula (Hill order), '' until read.
    n_atoms : int or None
        Atoms in the unit cell.
    volume : float or None
        Unit-cell volume, Å^3.
    pred_mean, pred_std : float or None
        Predicted uptake and ensemble spread, mol/kg.
    pred_model : str
        Model that made the prediction, ``name@card-hash`` (the first 12 hex digits of its
        card's SHA-256: a model updated in place predicts again); a bare name in projects
        saved before the hash was added.
    pred_note : str
        Why there is no prediction ("no model", an error...), '' otherwise.
    label : float or None
        Known uptake, mol/kg (simulated or imported).
    label_source : str
        Where the label comes from (a file name, "GCMC").
    seconds : float or None
        Wall time of the grid computation, s.
    crystal : str
        Digest of the structure's canonical cell (:mod:`retvis.core.canonical`), the same
        for every file of one crystal; '' until its grid is computed on a canonical cell.
    """

    digest: str
    name: str
    path: str
    status: str = "queued"
    kind: str = ""
    reason: str = ""
    formula: str = ""
    n_atoms: int | None = None
    volume: float | None = None
    pred_mean: float | None = None
    pred_std: float | None = None
    pred_model: str = ""
    pred_note: str = ""
    label: float | None = None
    label_source: str = ""
    seconds: float | None = None
    crystal: str = ""

    @property
    def pred_model_name(self) -> str:
        """The model name part of :attr:`pred_model`."""
        return self.pred_model.rsplit("@", 1)[0]


_COLUMNS = [f.name for f in fields(MaterialRecord)]
_SQL_TYPES = {
    "n_atoms": "INTEGER",
    "volume": "REAL",
    "pred_mean": "REAL",
    "pred_std": "REAL",
    "label": "REAL",
    "seconds": "REAL",
}


def _schema() -> str:
    cols = ",\n  ".join(
        f"{c} {_SQL_TYPES.get(c, 'TEXT')}" + (" PRIMARY KEY" if c == "digest" else "")
        for c in _COLUMNS
    )
    return f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS materials (
  {cols},
  position INTEGER NOT NULL,
  updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS models (
  name TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, card TEXT NOT NULL, used REAL NOT NULL
);
"""


def _migrate_columns(db: sqlite3.Connection) -> None:
    """Add the columns a project written by an older schema lacks (schema 1 had no
    ``crystal``): each new :class:`MaterialRecord` field reads as its default."""
    have = {row[1] for row in db.execute("PRAGMA table_info(materials)")}
    for f in fields(MaterialRecord):
        if f.name not in have:
            default = "''" if isinstance(f.default, str) else "NULL"
            db.execute(
                f"ALTER TABLE materials ADD COLUMN {f.name} "
                f"{_SQL_TYPES.get(f.name, 'TEXT')} DEFAULT {default}"
            )


#: Columns of the materials table each schema version has (2 added ``crystal``).
_SCHEMA_COLUMNS = {1: [c for c in _COLUMNS if c != "crystal"], 2: _COLUMNS}
_SQLITE_MAGIC = b"SQLite format 3\x00"


def _inspect(path: Path) -> None:
    """Refuse, before anything is written, a file that is not a RetVis project of a
    known version in good order: not SQLite, damaged pages, an SQLite database without
    RetVis' tables (a foreign database is never modified), a schema version that is not
    a number, a materials table without its columns. An empty file or database is a new
    project."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(len(_SQLITE_MAGIC))
    except FileNotFoundError:
        return
    except OSError as exc:
        raise ProjectError(f"cannot be read: {exc.strerror or exc}", path) from None
    if not head:
        return
    if head != _SQLITE_MAGIC:
        raise ProjectError("not a RetVis project (not an SQLite database)", path)
    try:
        db = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise ProjectError(f"cannot be opened ({exc})", path) from None
    try:
        check = db.execute("PRAGMA quick_check").fetchone()[0]
        if check != "ok":
            raise ProjectError(f"the file is damaged ({check})", path)
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if not tables:
            return
        if "meta" not in tables or "materials" not in tables:
            raise ProjectError(
                "an SQLite database without RetVis' tables: not a RetVis "
                "project (left unopened and unchanged)",
                path,
            )
        row = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        if row is None:
            raise ProjectError(
                "its meta table has no schema version: not a RetVis project "
                "(left unopened and unchanged)",
                path,
            )
        try:
            version = int(row[0])
        except (TypeError, ValueError):
            raise ProjectError(f"its schema version is {row[0]!r}, not a number", path) from None
        if version > SCHEMA_VERSION:
            raise ProjectError(
                f"written by a newer RetVis (schema {version}; this one reads {SCHEMA_VERSION})",
                path,
            )
        if version not in _SCHEMA_COLUMNS:
            raise ProjectError(f"unknown schema version {version}", path)
        have = {r[1] for r in db.execute("PRAGMA table_info(materials)")}
        missing = [c for c in _SCHEMA_COLUMNS[version] + ["position", "updated"] if c not in have]
        if missing:
            raise ProjectError(
                f"the materials table lacks column(s) {', '.join(missing)}: damaged or "
                "not written by RetVis",
                path,
            )
    except sqlite3.DatabaseError as exc:
        raise ProjectError(f"the file is damaged ({exc})", path) from None
    finally:
        db.close()


_NUMBERS = {
    f.name: (int if f.name == "n_atoms" else float)
    for f in fields(MaterialRecord)
    if f.name in _SQL_TYPES
}


def _record(row: tuple, path: Path) -> MaterialRecord:
    """A stored row as a :class:`MaterialRecord`, every value of its column's type."""
    values = {}
    for c, v in zip(_COLUMNS, row, strict=True):
        kind = _NUMBERS.get(c)
        if kind is None:
            ok, want = isinstance(v, str) or (v is None and c != "digest"), "text"
        else:
            ok = v is None or (
                isinstance(v, (int, float))
                and not isinstance(v, bool)
                and (kind is float or float(v).is_integer())
            )
            want = "number" if kind is float else "whole number"
        if not ok:
            raise ProjectError(
                f"material {row[0]!r}: column {c} holds {v!r}, not a {want}; the file is damaged",
                path,
            )
        values[c] = ("" if v is None else v) if kind is None else (v if v is None else kind(v))
    return MaterialRecord(**values)


class Project:
    """An open project file.

    Parameters
    ----------
    path : str or Path
        The ``.retvis`` file; created (with its folder) when missing.

    Raises
    ------
    ProjectError
        The file exists but is not a RetVis project, or was written by a newer schema.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._db = None
        _inspect(self.path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(str(self.path), isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_schema())
        except sqlite3.DatabaseError as exc:
            raise ProjectError(f"not a RetVis project ({exc})", self.path) from None
        version = self.get_meta("schema")
        if version is None:
            self.set_meta("schema", str(SCHEMA_VERSION))
            self.set_meta("created", time.strftime("%Y-%m-%dT%H:%M:%S"))
        elif int(version) < SCHEMA_VERSION:
            _migrate_columns(self._db)
            self.set_meta("schema", str(SCHEMA_VERSION))
        self._next = self._db.execute(
            "SELECT COALESCE(MAX(position), -1) + 1 FROM materials"
        ).fetchone()[0]

    # -- metadata -----------------------------------------------------------
    def get_meta(self, key: str, default: str | None = None) -> str | None:
        """Return a metadata value (``grid_spec``, ``model``...) or ``default``."""
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        """Store a metadata value (committed at once)."""
        self._db.execute(
            "INSERT INTO meta(key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    # -- materials ----------------------------------------------------------
    def save(self, records: Iterable[MaterialRecord]) -> None:
        """Insert or update materials (by digest) in one transaction; new ones go last."""
        now = time.time()
        placeholders = ", ".join("?" for _ in _COLUMNS)
        updates = ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS if c != "digest")
        sql = (
            f"INSERT INTO materials({', '.join(_COLUMNS)}, position, updated) "
            f"VALUES ({placeholders}, ?, ?) "
            f"ON CONFLICT(digest) DO UPDATE SET {updates}, updated = excluded.updated"
        )
        rows = []
        for r in records:
            d = asdict(r)
            rows.append([d[c] for c in _COLUMNS] + [self._next, now])
            self._next += 1
        self._db.execute("BEGIN")
        try:
            self._db.executemany(sql, rows)
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def remove(self, digests: Iterable[str]) -> None:
        """Forget materials."""
        self._db.executemany("DELETE FROM materials WHERE digest = ?", [(d,) for d in digests])

    def records(self) -> list[MaterialRecord]:
        """All materials, in the order they were added."""
        try:
            cur = self._db.execute(f"SELECT {', '.join(_COLUMNS)} FROM materials ORDER BY position")
            return [_record(row, self.path) for row in cur]
        except sqlite3.DatabaseError as exc:
            raise ProjectError(f"the file is damaged ({exc})", self.path) from None

    def __len__(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM materials").fetchone()[0]

    # -- models -------------------------------------------------------------
    def record_model(self, name: str, fingerprint: str, card: dict) -> None:
        """Remember that a model was used in this project."""
        self._db.execute(
            "INSERT INTO models(name, fingerprint, card, used) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(name) DO UPDATE SET fingerprint = excluded.fingerprint, "
            "card = excluded.card, used = excluded.used",
            (name, fingerprint, json.dumps(card, default=str), time.time()),
        )

    def models(self) -> list[dict]:
        """Models used in this project: name, fingerprint, card, used (epoch seconds)."""
        cur = self._db.execute("SELECT name, fingerprint, card, used FROM models ORDER BY used")
        return [
            {"name": n, "fingerprint": f, "card": json.loads(c), "used": u} for n, f, c, u in cur
        ]

    # -- life cycle -----------------------------------------------------------
    def save_as(self, path: str | Path) -> Project:
        """Copy this project to ``path`` (SQLite backup) and return the copy, opened."""
        path = Path(path)
        if path.resolve() == self.path.resolve():
            return self
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        dest = sqlite3.connect(str(path))
        try:
            self._db.backup(dest)
        finally:
            dest.close()
        return Project(path)

    def close(self) -> None:
        """Close the connection (checkpoints the WAL into the main file)."""
        if self._db is not None:
            self._db.close()
            self._db = None

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
