"""The materials table in Qt: an item model over :class:`retvis.app.materials.Materials`,
and its filter.

The rows, their ranks, notes, texts, order and filter rule live in the Qt-free
:class:`~retvis.app.materials.Materials`; this model observes it, turns its events into
Qt's row signals and keeps the display order. Rows are identified by content digest.

Sorting happens in the model itself, in Python (one ``sorted`` with a key: about a
millisecond for 1,000 rows), throttled while rows change; the proxy only filters. A
``QSortFilterProxyModel`` sorting with a Python ``lessThan`` made two Python calls per
comparison and froze the GUI thread 80-160 ms each time the ranks changed at 1,000 rows
(``benchmarks/screen.py``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QSortFilterProxyModel,
    Qt,
    QTimer,
)
from PySide6.QtGui import QColor

from ..app.materials import COL, COLUMNS, PROGRESS, Materials, MaterialsEvent
from ..app.materials import MaterialsFilter as Filter
from ..core.project import MaterialRecord

__all__ = ["COL", "COLUMNS", "DigestRole", "MaterialsFilter", "MaterialsModel", "ProgressRole"]

#: Role holding the status column's progress in percent.
ProgressRole = Qt.ItemDataRole.UserRole + 2
#: Role holding the row's digest.
DigestRole = Qt.ItemDataRole.UserRole + 3

_STATUS_COLOURS = {
    "failed": QColor(200, 40, 40),
    "cancelled": QColor(130, 130, 130),
    "ok": QColor(30, 130, 60),
}
_RIGHT = {"n_atoms", "volume", "uptake", "rank", "label"}


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
    """Table of materials: one row per record of :attr:`materials`, in display order.

    ``predicting`` is shown for rows whose digest is in :attr:`predicting`.
    """

    #: Longest wait, ms, between a change of the rows and their re-sorting.
    RESORT_MS = 150

    def __init__(self, parent=None, materials: Materials | None = None) -> None:
        super().__init__(parent)
        self.materials = materials if materials is not None else Materials()
        self._rows: list[str] = [r.digest for r in self.materials.records()]  # display order
        self._index: dict[str, int] = {d: i for i, d in enumerate(self._rows)}
        self._sort: tuple[int, Qt.SortOrder] = (-1, Qt.SortOrder.AscendingOrder)
        self._headers = {key: head for head, key, _ in COLUMNS}
        self._tips = {key: tip for _, key, tip in COLUMNS}
        self._resort_timer = QTimer(self, singleShot=True, interval=self.RESORT_MS)
        self._resort_timer.timeout.connect(self._apply_sort)
        self.materials.subscribe(self._on_event)

    @property
    def predicting(self) -> set[str]:
        return self.materials.predicting

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
        r = self.record_at(index.row())
        key = COLUMNS[index.column()][1]
        if role == Qt.ItemDataRole.DisplayRole:
            return self.materials.display(r, key)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.materials.tooltip(r, key)
        if role == ProgressRole and key == "status":
            return PROGRESS.get(self.status_of(r), 0)
        if role == DigestRole:
            return r.digest
        if role == Qt.ItemDataRole.ForegroundRole and key in ("status", "reason"):
            return _STATUS_COLOURS.get(self.status_of(r))
        if role == Qt.ItemDataRole.TextAlignmentRole and key in _RIGHT:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    # -- the materials' events -------------------------------------------------------
    def _on_event(self, e: MaterialsEvent) -> None:
        last = len(COLUMNS) - 1
        if e.kind == "added":
            first = len(self._rows)
            self.beginInsertRows(QModelIndex(), first, first + len(e.digests) - 1)
            for d in e.digests:
                self._index[d] = len(self._rows)
                self._rows.append(d)
            self.endInsertRows()
        elif e.kind in ("removed", "cleared"):
            self.beginResetModel()
            self._rows = [d for d in self._rows if d in self.materials]
            self._index = {d: i for i, d in enumerate(self._rows)}
            self.endResetModel()
            return
        elif e.kind == "changed":
            for first, end in _runs(self._index[d] for d in e.digests):  # one signal per run
                self.dataChanged.emit(self.index(first, 0), self.index(end, last))
        elif e.kind == "same":
            c = COL["name"]
            for d in e.digests:
                i = self._index.get(d)
                if i is not None:
                    self.dataChanged.emit(self.index(i, c), self.index(i, c))
        elif e.kind == "ranked" and self._rows:
            c = COL["rank"]
            self.dataChanged.emit(self.index(0, c), self.index(len(self._rows) - 1, c))
        self._schedule_sort()

    # -- values and rows (the materials' own, by row) ----------------------------------
    def status_of(self, r: MaterialRecord) -> str:
        return self.materials.status_of(r)

    def display(self, r: MaterialRecord, key: str) -> str:
        return self.materials.display(r, key)

    def records(self) -> list[MaterialRecord]:
        """All rows in the order they were added (the display order may differ)."""
        return self.materials.records()

    def record(self, digest: str) -> MaterialRecord | None:
        return self.materials.record(digest)

    def record_at(self, row: int) -> MaterialRecord:
        return self.materials.record(self._rows[row])

    def row_of(self, digest: str) -> int | None:
        return self._index.get(digest)

    def __contains__(self, digest: str) -> bool:
        return digest in self.materials

    def add(self, records: Iterable[MaterialRecord]) -> list[MaterialRecord]:
        """Append records whose digest is new; returns the ones added."""
        return self.materials.add(records)

    def update(self, digest: str, **changes) -> MaterialRecord | None:
        """Change fields of one row; returns the new record (None if unknown)."""
        return self.materials.update(digest, **changes)

    def update_many(self, changes: Mapping[str, dict]) -> list[MaterialRecord | None]:
        """Change fields of many rows at once (one ``dataChanged`` per run of adjacent
        rows and one re-ranking, however many rows)."""
        return self.materials.update_many(changes)

    def refresh(self, digest: str) -> None:
        i = self._index.get(digest)
        if i is not None:
            self.dataChanged.emit(self.index(i, 0), self.index(i, len(COLUMNS) - 1))
            self._schedule_sort()

    def remove(self, digests: Iterable[str]) -> None:
        self.materials.remove(digests)

    def clear(self) -> None:
        self.materials.clear()

    def same_crystal(self, digest: str) -> str:
        return self.materials.same_crystal(digest)

    def rank(self, digest: str) -> int | None:
        return self.materials.rank(digest)

    # -- sorting -------------------------------------------------------------------------
    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Order the rows by a column (-1: the order they were added), now and after changes."""
        self._sort = (int(column), Qt.SortOrder(order))
        self._apply_sort()

    def _schedule_sort(self) -> None:
        if self._sort[0] >= 0 and not self._resort_timer.isActive():
            self._resort_timer.start()

    def _apply_sort(self) -> None:
        self._resort_timer.stop()
        column, order = self._sort
        key = COLUMNS[column][1] if column >= 0 else None
        rows = [
            r.digest for r in self.materials.ordered(key, order == Qt.SortOrder.DescendingOrder)
        ]
        if rows == self._rows:
            return
        self.layoutAboutToBeChanged.emit()
        old = self.persistentIndexList()
        digests = [self._rows[i.row()] for i in old]
        self._rows = rows
        self._index = {d: i for i, d in enumerate(rows)}
        self.changePersistentIndexList(
            old, [self.index(self._index[d], i.column()) for d, i in zip(digests, old, strict=True)]
        )
        self.layoutChanged.emit()


class MaterialsFilter(QSortFilterProxyModel):
    """Filters by text, status and uptake; sorting is the source model's (see the module)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.rule = Filter()
        self.setDynamicSortFilter(True)  # re-filters changed rows; never sorts itself

    def _refilter(self, **change) -> None:
        from dataclasses import replace

        if hasattr(self, "beginFilterChange"):  # Qt >= 6.9
            self.beginFilterChange()
            self.rule = replace(self.rule, **change)
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            self.rule = replace(self.rule, **change)
            self.invalidateFilter()

    def set_text(self, text: str) -> None:
        self._refilter(text=text)

    def set_statuses(self, statuses: set[str] | None) -> None:
        """Show only these statuses (None: all)."""
        self._refilter(statuses=None if statuses is None else frozenset(statuses))

    def set_uptake_range(self, lo: float | None, hi: float | None) -> None:
        """Show only rows with a prediction in [lo, hi] (None: unbounded; both None: all)."""
        self._refilter(low=lo, high=hi)

    def filterAcceptsRow(self, row: int, parent) -> bool:  # noqa: N802
        model: MaterialsModel = self.sourceModel()
        return model.materials.accepts(model.record_at(row), self.rule)

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
    """Rows as CSV (or TSV) text (:meth:`retvis.app.materials.Materials.to_table`)."""
    return model.materials.to_table(records, delimiter)
