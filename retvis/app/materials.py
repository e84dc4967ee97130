"""The materials of a session, without Qt: records, ranks, same-crystal notes, the rows
being predicted, how each value is shown, the table's order and its filter.

:class:`Materials` holds one :class:`~retvis.core.project.MaterialRecord` per digest in
the order they were added and tells its observers what changed
(:class:`MaterialsEvent`). The Qt table (:class:`retvis.gui.materials_model.MaterialsModel`)
is one such observer: it turns the events into Qt's row signals and asks this module
what to show, so every rule of the table can be tested without a window.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Literal

from ..core.canonical import same_crystal_notes
from ..core.csvout import table_text
from ..core.project import MaterialRecord
from ..core.ranking import ranks

#: (header, record attribute or computed key, tooltip) of the table's columns.
COLUMNS: list[tuple[str, str, str]] = [
    ("Name", "name", "Material name (file stem)"),
    ("Formula", "formula", "Unit-cell formula (Hill order)"),
    ("Atoms", "n_atoms", "Atoms in the unit cell"),
    ("Volume (Å³)", "volume", "Unit-cell volume"),
    ("Status", "status", "Energy grid and prediction status"),
    ("Uptake (mol/kg)", "uptake", "Predicted uptake ± ensemble spread"),
    ("Rank", "rank", "Rank by predicted uptake (1 = highest)"),
    ("Label (mol/kg)", "label", "Known uptake (simulated or imported)"),
    ("Error", "reason", "Why the material failed"),
]
COL = {key: i for i, (_, key, _) in enumerate(COLUMNS)}

#: Progress in percent shown for each status.
PROGRESS = {
    "queued": 0,
    "running": 40,
    "predicting": 80,
    "simulating": 60,
    "ok": 100,
    "failed": 100,
    "cancelled": 100,
}


@dataclass(frozen=True)
class MaterialsEvent:
    """What changed: ``kind`` and the digests it concerns (empty for ``cleared``).

    ``added``: new records, in order; ``changed``: fields of these records; ``removed``;
    ``cleared``; ``ranked``: the ranks changed (any row's); ``same``: these rows'
    same-crystal notes changed.
    """

    kind: Literal["added", "changed", "removed", "cleared", "ranked", "same"]
    digests: tuple[str, ...] = ()


@dataclass(frozen=True)
class MaterialsFilter:
    """Which rows a view shows: text in the name or formula, statuses, a prediction range
    (None: unbounded)."""

    text: str = ""
    statuses: frozenset[str] | None = None
    low: float | None = None
    high: float | None = None


class Materials:
    """The session's materials, one record per digest, in the order they were added."""

    def __init__(self) -> None:
        self._records: dict[str, MaterialRecord] = {}
        self._rank: dict[str, int] = {}
        self._same: dict[str, str] = {}  # digest -> "same crystal as ..."
        #: Digests whose prediction is being computed (shown as "predicting").
        self.predicting: set[str] = set()
        #: Names whose GCMC simulation is running (shown as "simulating").
        self.simulating: set[str] = set()
        self._observers: list[Callable[[MaterialsEvent], None]] = []

    # -- observers -------------------------------------------------------------------
    def subscribe(self, observer: Callable[[MaterialsEvent], None]) -> None:
        """Call ``observer(event)`` after every change."""
        self._observers.append(observer)

    def _tell(self, kind, digests: Iterable[str] = ()) -> None:
        event = MaterialsEvent(kind, tuple(digests))
        for observer in self._observers:
            observer(event)

    # -- access ----------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._records)

    def __contains__(self, digest: str) -> bool:
        return digest in self._records

    def records(self) -> list[MaterialRecord]:
        """Every record, in the order added."""
        return list(self._records.values())

    def record(self, digest: str) -> MaterialRecord | None:
        return self._records.get(digest)

    def rank(self, digest: str) -> int | None:
        """1 for the highest prediction (:func:`retvis.core.ranking.ranks`), None without one."""
        return self._rank.get(digest)

    def same_crystal(self, digest: str) -> str:
        """``"same crystal as ..."`` naming the other rows of this row's crystal, or ''."""
        return self._same.get(digest, "")

    # -- changes ---------------------------------------------------------------------
    def add(self, records: Iterable[MaterialRecord]) -> list[MaterialRecord]:
        """Append the records whose digest is new; returns the ones added."""
        new: list[MaterialRecord] = []
        for r in records:
            if r.digest not in self._records:
                self._records[r.digest] = r
                new.append(r)
        if new:
            self._tell("added", [r.digest for r in new])
            self._rerank()
        return new

    def update(self, digest: str, **changes) -> MaterialRecord | None:
        """Change fields of one record; returns the new record (None if unknown)."""
        return self.update_many({digest: changes})[0]

    def update_many(self, changes: Mapping[str, dict]) -> list[MaterialRecord | None]:
        """Change fields of many records at once, ``{digest: {field: value}}``, with one
        event and one re-ranking however many there are. Returns the new records in
        the order given (None for unknown digests)."""
        out: list[MaterialRecord | None] = []
        changed, rerank = [], False
        for digest, ch in changes.items():
            r = self._records.get(digest)
            if r is None:
                out.append(None)
                continue
            self._records[digest] = r = replace(r, **ch)
            out.append(r)
            changed.append(digest)
            rerank = rerank or "pred_mean" in ch or "crystal" in ch or "name" in ch
        if changed:
            self._tell("changed", changed)
        if rerank:
            self._rerank()
        return out

    def remove(self, digests: Iterable[str]) -> None:
        gone = [d for d in dict.fromkeys(digests) if d in self._records]
        if not gone:
            return
        for d in gone:
            del self._records[d]
            self.predicting.discard(d)
        self._tell("removed", gone)
        self._rerank()

    def clear(self) -> None:
        self._records, self._rank, self._same = {}, {}, {}
        self.predicting.clear()
        self.simulating.clear()
        self._tell("cleared")

    def set_simulating(self, names: Iterable[str]) -> None:
        """Mark the rows of these names as being simulated (and no others)."""
        names = set(names)
        changed = names ^ self.simulating
        self.simulating = names
        digests = [r.digest for r in self._records.values() if r.name in changed]
        if digests:
            self._tell("changed", digests)

    def _rerank(self) -> None:
        rows = self.records()
        notes = same_crystal_notes([r.name for r in rows], [r.crystal for r in rows])
        same = {r.digest: n for r, n in zip(rows, notes, strict=True) if n}
        if same != self._same:
            changed = [
                d for d in same.keys() | self._same.keys() if same.get(d) != self._same.get(d)
            ]
            self._same = same
            self._tell("same", changed)
        values = ranks([r.pred_mean for r in rows], [r.name for r in rows])
        rank = {r.digest: k for r, k in zip(rows, values, strict=True) if k is not None}
        if rank != self._rank:
            self._rank = rank
            self._tell("ranked")

    # -- how values are shown --------------------------------------------------------
    def status_of(self, r: MaterialRecord) -> str:
        """The record's status; ``predicting`` while its prediction is computed and
        ``simulating`` while its GCMC label is."""
        if r.status == "ok" and r.digest in self.predicting:
            return "predicting"
        if r.status == "ok" and r.name in self.simulating:
            return "simulating"
        return r.status

    def display(self, r: MaterialRecord, key: str) -> str:
        """The text of column ``key`` (:data:`COLUMNS`) for a record."""
        if key == "status":
            st = self.status_of(r)
            return "done" if st == "ok" else st
        if key == "n_atoms":
            return "" if r.n_atoms is None else str(r.n_atoms)
        if key == "volume":
            return "" if r.volume is None else f"{r.volume:.1f}"
        if key == "uptake":
            if r.pred_mean is None:
                return r.pred_note if r.status == "ok" else ""
            warn = " ⚠" if r.pred_note else ""  # outside what the model learned (tooltip)
            if r.pred_std is None or not math.isfinite(r.pred_std) or r.pred_std == 0:
                return f"{r.pred_mean:.3f}{warn}"  # one network: no spread
            return f"{r.pred_mean:.3f} ± {r.pred_std:.3f}{warn}"
        if key == "rank":
            rank = self._rank.get(r.digest)
            return "" if rank is None else str(rank)
        if key == "name" and r.digest in self._same:
            return f"{r.name} ≡"  # another row holds the same crystal (tooltip)
        if key == "label":
            return "" if r.label is None else f"{r.label:.3f}"
        return str(getattr(r, key) or "")

    def tooltip(self, r: MaterialRecord, key: str) -> str | None:
        """The tooltip of column ``key`` for a record, or None."""
        if key in ("reason", "status", "name") and r.reason:
            return f"{r.kind}: {r.reason}" if r.kind else r.reason
        if key == "uptake" and r.pred_note:
            return r.pred_note
        if key == "uptake" and r.pred_model:
            name = r.pred_model_name
            card = r.pred_model[len(name) + 1 :]
            return f"model: {name}" + (f" (card {card})" if card else "")
        if key == "label" and r.label_source:
            return f"source: {r.label_source}"
        if key == "name":
            same = self._same.get(r.digest)
            return f"{r.path}\n{same}" if same else r.path
        return None

    def sort_value(self, r: MaterialRecord, key: str):
        if key == "uptake":
            return r.pred_mean
        if key == "rank":
            return self._rank.get(r.digest)
        if key == "status":
            return self.status_of(r)
        return getattr(r, key)

    def ordered(self, key: str | None = None, descending: bool = False) -> list[MaterialRecord]:
        """The records ordered by column ``key`` (None: the order added). Empty values go
        last in either order; text compares case-insensitively; ties keep the order added."""
        by_added = self.records()
        if key is None:
            return by_added
        present, empty = [], []
        for r in by_added:
            v = self.sort_value(r, key)
            (empty if v is None or v == "" else present).append((v, r))
        if any(isinstance(v, str) for v, _ in present):
            present = [(str(v).lower(), r) for v, r in present]
        present.sort(key=lambda vr: vr[0], reverse=descending)
        return [r for _, r in present] + [r for _, r in empty]

    def accepts(self, r: MaterialRecord, f: MaterialsFilter) -> bool:
        """Whether a view with filter ``f`` shows the record."""
        text = f.text.strip().lower()
        if text and text not in r.name.lower() and text not in r.formula.lower():
            return False
        if f.statuses is not None and self.status_of(r) not in f.statuses:
            return False
        if f.low is not None or f.high is not None:
            if r.pred_mean is None:
                return False
            if f.low is not None and r.pred_mean < f.low:
                return False
            if f.high is not None and r.pred_mean > f.high:
                return False
        return True

    def to_table(self, records: list[MaterialRecord], delimiter: str = ",") -> str:
        """Records as CSV (or TSV) text with a header, numbers unformatted, text quoted
        and spreadsheet-safe (:mod:`retvis.core.csvout`)."""
        header = [
            "name", "formula", "atoms", "volume_A3", "status", "uptake_mol_kg",
            "uptake_std_mol_kg", "rank", "label_mol_kg", "label_source", "model",
            "error_kind", "error", "path", "digest", "crystal", "note",
        ]  # fmt: skip
        rows = [
            [
                r.name, r.formula, r.n_atoms, r.volume, self.status_of(r), r.pred_mean,
                r.pred_std, self.rank(r.digest), r.label, r.label_source, r.pred_model,
                r.kind, r.reason or r.pred_note, r.path, r.digest, r.crystal,
                self.same_crystal(r.digest),
            ]
            for r in records
        ]  # fmt: skip
        return table_text(header, rows, delimiter)
