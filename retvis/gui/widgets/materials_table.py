"""The materials table view: ranked rows, selection that follows the top row, the filter.

:class:`MaterialsTable` shows a :class:`~retvis.gui.materials_model.MaterialsModel`
through its filter (:attr:`MaterialsTable.proxy`), sorted by rank unless the user chose
another order last time (remembered). After a drop it keeps the top row selected while
ranks arrive, until the user selects a row.
"""

from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView

from ...core.project import MaterialRecord
from ..materials_model import COL, MaterialsFilter, MaterialsModel
from ..settings import qsettings
from .status_delegate import StatusDelegate

_WIDTHS = {
    "name": 160,
    "formula": 140,
    "n_atoms": 60,
    "volume": 90,
    "status": 110,
    "uptake": 130,
    "rank": 50,
    "label": 100,
}
_ROWS = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows


class MaterialsTable(QTableView):
    """The materials, filtered and sorted; whole rows selected.

    Signals
    -------
    current_changed()
        The current row changed.
    selection_changed()
        The selected rows changed.
    """

    current_changed = Signal()
    selection_changed = Signal()

    def __init__(self, model: MaterialsModel, parent=None) -> None:
        super().__init__(parent)
        self.materials_model = model
        self.proxy = MaterialsFilter(self)
        self.proxy.setSourceModel(model)
        self.setModel(self.proxy)
        self.setSortingEnabled(True)
        qs = qsettings()
        column = int(qs.value("view/sort_column", COL["rank"]))
        order = Qt.SortOrder(int(qs.value("view/sort_order", Qt.SortOrder.AscendingOrder.value)))
        self.sortByColumn(column, order)
        self.horizontalHeader().sortIndicatorChanged.connect(self._remember_sort)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setAlternatingRowColors(True)
        self.verticalHeader().setVisible(False)
        self.setItemDelegateForColumn(COL["status"], StatusDelegate(self))
        hh = self.horizontalHeader()
        hh.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        hh.setStretchLastSection(True)
        for key, w in _WIDTHS.items():
            self.setColumnWidth(COL[key], w)
        self.selectionModel().currentRowChanged.connect(lambda *_: self.current_changed.emit())
        # the top row stays selected as ranks arrive, until the user selects a row
        self._follow_top = False
        self._quiet = False
        self.proxy.layoutAboutToBeChanged.connect(self._hold_selection)
        self.proxy.layoutChanged.connect(self._on_layout_changed)
        self.selectionModel().selectionChanged.connect(self._on_selection)

    @staticmethod
    def _remember_sort(column: int, order: Qt.SortOrder) -> None:
        qs = qsettings()
        qs.setValue("view/sort_column", column)
        qs.setValue("view/sort_order", order.value)

    def _hold_selection(self, *_) -> None:
        self._quiet = True

    def _on_layout_changed(self, *_) -> None:
        self._quiet = False
        if self._follow_top:
            self._select_top()

    def _on_selection(self, *_) -> None:
        if not self._quiet:
            self._follow_top = False
        self.selection_changed.emit()

    def follow_top(self) -> None:
        """Select the top row and keep it selected as the order changes, until the user
        selects a row (nothing happens when a row is selected already)."""
        if not self.selectionModel().hasSelection():
            self._follow_top = True
            self._select_top()

    def _select_top(self) -> None:
        idx = self.proxy.index(0, 0)
        if not idx.isValid():
            return
        self._quiet = True
        try:
            self.selectionModel().setCurrentIndex(idx, _ROWS)
        finally:
            self._quiet = False

    def set_filter(self, text: str, statuses, low, high) -> None:
        """Show the rows whose name or formula contains ``text``, with these statuses
        and a prediction in [low, high] (None: unbounded) (the filter bar's signal)."""
        self.proxy.set_text(text)
        self.proxy.set_statuses(statuses)
        self.proxy.set_uptake_range(low, high)

    # -- what is selected ------------------------------------------------------------
    def selected_records(self) -> list[MaterialRecord]:
        """The selected rows' records, in the model's order."""
        rows = sorted(
            {self.proxy.mapToSource(i).row() for i in self.selectionModel().selectedRows()}
        )
        return [self.materials_model.record_at(r) for r in rows]

    def current_digest(self) -> str | None:
        """The current row's digest (None without one)."""
        idx = self.selectionModel().currentIndex()
        if not idx.isValid():
            return None
        return self.materials_model.record_at(self.proxy.mapToSource(idx).row()).digest

    def select_digest(self, digest: str) -> bool:
        """Select a material's row as a user would (the top row stops being followed);
        False when the filter hides it or it is not in the table."""
        row = self.materials_model.row_of(digest)
        if row is None:
            return False
        idx = self.proxy.mapFromSource(self.materials_model.index(row, 0))
        if not idx.isValid():
            return False
        self.selectionModel().setCurrentIndex(idx, _ROWS)
        return True

    def visible_records(self) -> list[MaterialRecord]:
        """The rows shown (filtered), in the order shown."""
        return self.proxy.visible_records()

    def fit_columns(self, keys: tuple[str, ...]) -> None:
        """Widen these columns to their headers (a unit's name may have grown)."""
        for c in (COL[k] for k in keys):
            self.setColumnWidth(
                c, max(self.columnWidth(c), self.horizontalHeader().sectionSizeHint(c))
            )
