"""The materials table: a Qt item model over :class:`MaterialRecord` rows, and its filter.

Rows are identified by content digest. The model only holds plain records; grids and
structures live in the main window's stores.

Sorting happens in the model itself, in Python (one ``sorted`` with a key: about a
millisecond for 1,000 rows), throttled while rows change; the proxy only filters. A
``QSortFilterProxyModel`` sorting with a Python ``lessThan`` made two Python calls per
comparison and froze the GUI thread 80-160 ms each time the ranks changed at 1,000 rows
(``benchmarks/screen.py``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QSortFilterProxyModel,
    Qt,
    QTimer,
)
from PySide6.QtGui import QColor

from ..core.canonical import same_crystal_notes
from ..core.csvout import table_text
from ..core.project import MaterialRecord
from ..core.ranking import ranks

#: (header, record attribute or computed key, tooltip)
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

#: Role holding the status column's progress in percent.
ProgressRole = Qt.ItemDataRole.UserRole + 2
#: Role holding the row's digest.
DigestRole = Qt.ItemDataRole.UserRole + 3

_PROGRESS = {
    "queued": 0,
    "running": 40,
    "predicting": 80,
    "ok": 100,
    "failed": 100,
    "cancelled": 100,
}
_STATUS_COLOURS = {
    "failed": QColor(200, 40, 40),
    "cancelled": QColor(130, 130, 130),
    "ok": QColor(30, 130, 60),
}


def _runs(rows: Iterable[int]) -> list[tuple[int, int]]:
    """Runs of consecutive integers: ``[5, 1, 2, 3] -> [(1, 3), (5, 5)]``."""
    out: list[tuple[int, int]] = []
    for i in sorted(set(rows)):
        if out and i == out[-1][1] + 1:
            out[-1] = (out[-1][0], i)
        else:
            out.append((i, i))
    return out


class MaterialsModel(QAbstractTableModel):
    """Table of materials (one :class:`MaterialRecord` per row).

    ``predicting`` is shown for rows whose digest is in :attr:`predicting`.
    """

    #: Longest wait, ms, between a change of the rows and their re-sorting.
    RESORT_MS = 150

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._rows: list[MaterialRecord] = []  # in display order
        self._index: dict[str, int] = {}  # digest -> row
        self._added: dict[str, None] = {}  # digests in the order they were added
        self._rank: dict[str, int] = {}
        self._same: dict[str, str] = {}  # digest -> "same crystal as ..." note
        self._sort: tuple[int, Qt.SortOrder] = (-1, Qt.SortOrder.AscendingOrder)
        self.predicting: set[str] = set()
        self._headers = {key: head for head, key, _ in COLUMNS}
        self._tips = {key: tip for _, key, tip in COLUMNS}
        self._resort_timer = QTimer(self, singleShot=True, interval=self.RESORT_MS)
        self._resort_timer.timeout.connect(self._apply_sort)

    def set_target(self, name: str | None, units: str | None) -> None:
        """Name the prediction and label columns after the model's target.

        The header keeps the target's name up to its conditions ("CH4 uptake" of "CH4
        uptake, 298 K, 5.8 bar"), so the column stays narrow; the tooltip has it all.
        """
        unit = f" ({units})" if units else ""
        for key in ("uptake", "label"):
            self._headers[key] = COLUMNS[COL[key]][0]
            self._tips[key] = COLUMNS[COL[key]][2]
        if name:
            short = name.split(",")[0].strip()
            self._headers["uptake"] = f"{short}{unit}"
            self._headers["label"] = f"Label{unit}"
            self._tips["uptake"] = f"Predicted {name}{unit} ± ensemble spread"
            self._tips["label"] = f"Known {name}{unit} (simulated or imported)"
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, COL["uptake"], COL["label"])

    # -- Qt model API --------------------------------------------------------------
    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal:
            if role == Qt.ItemDataRole.DisplayRole:
                return self._headers[COLUMNS[section][1]]
            if role == Qt.ItemDataRole.ToolTipRole:
                return self._tips[COLUMNS[section][1]]
        return None

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        r = self._rows[index.row()]
        key = COLUMNS[index.column()][1]
        if role == Qt.ItemDataRole.DisplayRole:
            return self.display(r, key)
        if role == Qt.ItemDataRole.ToolTipRole:
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
        if role == ProgressRole and key == "status":
            return _PROGRESS.get(self.status_of(r), 0)
        if role == DigestRole:
            return r.digest
        if role == Qt.ItemDataRole.ForegroundRole and key in ("status", "reason"):
            return _STATUS_COLOURS.get(self.status_of(r))
        if role == Qt.ItemDataRole.TextAlignmentRole and key in (
            "n_atoms",
            "volume",
            "uptake",
            "rank",
            "label",
        ):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    # -- values ----------------------------------------------------------------------
    def status_of(self, r: MaterialRecord) -> str:
        if r.status == "ok" and r.digest in self.predicting:
            return "predicting"
        return r.status

    def display(self, r: MaterialRecord, key: str) -> str:
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

    def sort_value(self, r: MaterialRecord, key: str):
        if key == "uptake":
            return r.pred_mean
        if key == "rank":
            return self._rank.get(r.digest)
        if key == "status":
            return self.status_of(r)
        return getattr(r, key)

    # -- row access ----------------------------------------------------------------------
    def records(self) -> list[MaterialRecord]:
        """All rows in the order they were added (the display order may differ)."""
        return [self._rows[self._index[d]] for d in self._added]

    def record(self, digest: str) -> MaterialRecord | None:
        i = self._index.get(digest)
        return None if i is None else self._rows[i]

    def record_at(self, row: int) -> MaterialRecord:
        return self._rows[row]

    def row_of(self, digest: str) -> int | None:
        return self._index.get(digest)

    def __contains__(self, digest: str) -> bool:
        return digest in self._index

    def add(self, records: Iterable[MaterialRecord]) -> list[MaterialRecord]:
        """Append records whose digest is new; returns the ones added."""
        new = []
        seen = set(self._index)
        for r in records:
            if r.digest not in seen:
                seen.add(r.digest)
                new.append(r)
        if new:
            first = len(self._rows)
            self.beginInsertRows(QModelIndex(), first, first + len(new) - 1)
            for r in new:
                self._index[r.digest] = len(self._rows)
                self._added[r.digest] = None
                self._rows.append(r)
            self.endInsertRows()
            self._rerank()
            self._schedule_sort()
        return new

    def update(self, digest: str, **changes) -> MaterialRecord | None:
        """Change fields of one row; returns the new record (None if unknown)."""
        return self.update_many({digest: changes})[0]

    def update_many(self, changes: Mapping[str, dict]) -> list[MaterialRecord | None]:
        """Change fields of many rows at once: ``{digest: {field: value}}``.

        One ``dataChanged`` per run of adjacent rows and one re-ranking, however
        many rows: with per-row updates, a batch of predictions for N rows re-ranked and
        re-filtered the whole table N times (seconds of GUI-thread time at 1,000 rows).
        Returns the new records in the order given (None for unknown digests).
        """
        out: list[MaterialRecord | None] = []
        rows, rerank = [], False
        for digest, ch in changes.items():
            i = self._index.get(digest)
            if i is None:
                out.append(None)
                continue
            self._rows[i] = replace(self._rows[i], **ch)
            out.append(self._rows[i])
            rows.append(i)
            rerank = rerank or "pred_mean" in ch or "crystal" in ch
        last = len(COLUMNS) - 1
        for first, end in _runs(rows):  # one signal per run of adjacent rows
            self.dataChanged.emit(self.index(first, 0), self.index(end, last))
        if rerank:
            self._rerank()
        if rows:
            self._schedule_sort()
        return out

    def refresh(self, digest: str) -> None:
        i = self._index.get(digest)
        if i is not None:
            self.dataChanged.emit(self.index(i, 0), self.index(i, len(COLUMNS) - 1))
            self._schedule_sort()

    # -- sorting -------------------------------------------------------------------------
    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Order the rows by a column (-1: the order they were added), now and after changes.

        Empty values go last in either order; strings compare case-insensitively.
        """
        self._sort = (int(column), Qt.SortOrder(order))
        self._apply_sort()

    def _schedule_sort(self) -> None:
        if self._sort[0] >= 0 and not self._resort_timer.isActive():
            self._resort_timer.start()

    def _sorted_rows(self) -> list[MaterialRecord]:
        column, order = self._sort
        by_added = self.records()
        if column < 0:
            return by_added
        key = COLUMNS[column][1]
        present, empty = [], []
        for r in by_added:  # stable: ties keep the order of addition
            v = self.sort_value(r, key)
            (empty if v is None or v == "" else present).append((v, r))
        if any(isinstance(v, str) for v, _ in present):
            present = [(str(v).lower(), r) for v, r in present]
        present.sort(key=lambda vr: vr[0], reverse=order == Qt.SortOrder.DescendingOrder)
        return [r for _, r in present] + [r for _, r in empty]

    def _apply_sort(self) -> None:
        self._resort_timer.stop()
        rows = self._sorted_rows()
        if all(a is b for a, b in zip(rows, self._rows, strict=True)):
            return
        self.layoutAboutToBeChanged.emit()
        old = self.persistentIndexList()
        digests = [self._rows[i.row()].digest for i in old]
        self._rows = rows
        self._index = {r.digest: i for i, r in enumerate(rows)}
        self.changePersistentIndexList(
            old, [self.index(self._index[d], i.column()) for d, i in zip(digests, old, strict=True)]
        )
        self.layoutChanged.emit()

    def remove(self, digests: Iterable[str]) -> None:
        gone = set(digests)
        if not gone:
            return
        self.beginResetModel()
        self._rows = [r for r in self._rows if r.digest not in gone]
        self._index = {r.digest: i for i, r in enumerate(self._rows)}
        for d in gone:
            self._added.pop(d, None)
        self.endResetModel()
        self._rerank()

    def clear(self) -> None:
        self.beginResetModel()
        self._rows, self._index, self._rank, self._added = [], {}, {}, {}
        self._same = {}
        self.predicting.clear()
        self.endResetModel()

    def same_crystal(self, digest: str) -> str:
        """``"same crystal as ..."`` naming the other rows of this row's crystal, or ''."""
        return self._same.get(digest, "")

    def _rerank(self) -> None:
        rows = self.records()
        notes = same_crystal_notes([r.name for r in rows], [r.crystal for r in rows])
        same = {r.digest: n for r, n in zip(rows, notes, strict=True) if n}
        if same != self._same:
            changed = {
                d for d in same.keys() | self._same.keys() if same.get(d) != self._same.get(d)
            }
            self._same = same
            c = COL["name"]
            for d in changed:
                i = self._index.get(d)
                if i is not None:
                    self.dataChanged.emit(self.index(i, c), self.index(i, c))
        values = ranks([r.pred_mean for r in rows], [r.name for r in rows])
        rank = {r.digest: k for r, k in zip(rows, values, strict=True) if k is not None}
        if rank != self._rank:
            self._rank = rank
            if self._rows:
                c = COL["rank"]
                self.dataChanged.emit(self.index(0, c), self.index(len(self._rows) - 1, c))

    def rank(self, digest: str) -> int | None:
        return self._rank.get(digest)


class MaterialsFilter(QSortFilterProxyModel):
    """Filters by text, status and uptake; sorting is the source model's (see the module)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._text = ""
        self._statuses: set[str] | None = None
        self._uptake: tuple[float | None, float | None] = (None, None)
        self.setDynamicSortFilter(True)  # re-filters changed rows; never sorts itself

    def _refilter(self, change) -> None:
        if hasattr(self, "beginFilterChange"):  # Qt >= 6.9
            self.beginFilterChange()
            change()
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            change()
            self.invalidateFilter()

    def set_text(self, text: str) -> None:
        self._refilter(lambda: setattr(self, "_text", text.strip().lower()))

    def set_statuses(self, statuses: set[str] | None) -> None:
        """Show only these statuses (None: all)."""
        self._refilter(lambda: setattr(self, "_statuses", statuses))

    def set_uptake_range(self, lo: float | None, hi: float | None) -> None:
        """Show only rows with a prediction in [lo, hi] (None: unbounded; both None: all)."""
        self._refilter(lambda: setattr(self, "_uptake", (lo, hi)))

    def filterAcceptsRow(self, row: int, parent) -> bool:  # noqa: N802
        model: MaterialsModel = self.sourceModel()
        r = model.record_at(row)
        if self._text and self._text not in r.name.lower() and self._text not in r.formula.lower():
            return False
        if self._statuses is not None and model.status_of(r) not in self._statuses:
            return False
        lo, hi = self._uptake
        if lo is not None or hi is not None:
            if r.pred_mean is None:
                return False
            if lo is not None and r.pred_mean < lo:
                return False
            if hi is not None and r.pred_mean > hi:
                return False
        return True

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """What a click on a header asks for: the source model sorts (in Python, fast)."""
        self.sourceModel().sort(column, order)

    def visible_records(self) -> list[MaterialRecord]:
        model: MaterialsModel = self.sourceModel()
        return [
            model.record_at(self.mapToSource(self.index(i, 0)).row())
            for i in range(self.rowCount())
        ]


def records_to_table(
    model: MaterialsModel, records: list[MaterialRecord], delimiter: str = ","
) -> str:
    """Rows as CSV (or TSV) text with a header, numbers unformatted, text quoted and
    spreadsheet-safe (:mod:`retvis.core.csvout`)."""
    header = [
        "name",
        "formula",
        "atoms",
        "volume_A3",
        "status",
        "uptake_mol_kg",
        "uptake_std_mol_kg",
        "rank",
        "label_mol_kg",
        "label_source",
        "model",
        "error_kind",
        "error",
        "path",
        "digest",
        "crystal",
        "note",
    ]
    rows = [
        [
            r.name,
            r.formula,
            r.n_atoms,
            r.volume,
            model.status_of(r),
            r.pred_mean,
            r.pred_std,
            model.rank(r.digest),
            r.label,
            r.label_source,
            r.pred_model,
            r.kind,
            r.reason or r.pred_note,
            r.path,
            r.digest,
            r.crystal,
            model.same_crystal(r.digest),
        ]
        for r in records
    ]
    return table_text(header, rows, delimiter)
