"""Run > Active Learning: ``retvis learn`` over a pool of the table's structures, with a
live plot of what each simulation bought.

The dialog is the GCMC dialog's form (guest, conditions, cycles, simulations at a time)
plus the loop's budget, batch and goal. ``retvis learn`` runs as a child process; the
dialog polls its run folder: each new label goes to the table as it lands, and the plot
shows, against simulations spent, the best uptake found so far and the surrogate's error
on each round's structures before they were simulated. Stop keeps every finished
simulation; the run folder resumes with ``retvis learn`` (docs/active-learning.md).
"""

from __future__ import annotations

import time
from pathlib import Path

from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.figure import Figure
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QSpinBox

from ...paths import data_dir
from .gcmc_dialog import GcmcDialog

#: The loop's goals as the dialog words them: (text, ``retvis learn --rule``).
GOALS = (
    ("Find the best materials", "best"),
    ("An accurate model", "uncertainty"),
    ("Random choice (the baseline)", "random"),
)


class LearningDialog(GcmcDialog):
    """Active learning over ``files``: choose, simulate, learn, until the budget.

    Signals
    -------
    simulating(list)
        The names of the structures of the current round without a label yet (empty
        when the run ends).
    """

    simulating = Signal(list)

    def __init__(self, files: list[Path], parent=None) -> None:
        super().__init__(files, parent)
        self.setWindowTitle(f"Active learning — a pool of {len(files)} structure(s)")
        self.resize(720, 760)
        self.budget = QSpinBox(minimum=1, maximum=100_000, value=min(50, len(files)))
        self.batch = QSpinBox(minimum=1, maximum=1_000, value=min(10, len(files)))
        self.goal = QComboBox()
        for text, rule in GOALS:
            self.goal.addItem(text, rule)
        self.goal.setToolTip(
            "Find the best materials: expected improvement over the best uptake so far. "
            "An accurate model: the structures the surrogate is least sure of."
        )
        self.form.insertRow(0, "Goal", self.goal)
        self.form.insertRow(1, "Simulations in all", self.budget)
        self.form.insertRow(2, "Simulations per round", self.batch)
        self.budget.valueChanged.connect(lambda n: self.progress.setRange(0, n))
        self.progress.setRange(0, self.budget.value())
        self.status.setText(
            "Each round a Gaussian process on the backbone's fingerprints chooses the next "
            "structures; RASPA3 simulates them (docs/active-learning.md)."
        )
        self.figure = Figure(figsize=(6, 2.6), layout="constrained")
        self.canvas = FigureCanvasQTAgg(self.figure)
        self.canvas.setMinimumHeight(220)
        self.layout().insertWidget(3, self.canvas, 2)
        self.run_dir: Path | None = None
        self._plot()

    def command(self, protocol_args: list[str]) -> list[str]:
        self.run_dir = data_dir() / "learning" / time.strftime("%Y%m%d-%H%M%S")
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.out = self.run_dir / "labels.csv"
        listing = self.run_dir / "pool.txt"
        listing.write_text("".join(f"{f}\n" for f in self.files), encoding="utf-8")
        return ["learn", "--files-from", str(listing), "-o", str(self.run_dir), "-q",
                "--budget", str(self.budget.value()), "--batch", str(self.batch.value()),
                "--rule", self.goal.currentData(), *protocol_args]  # fmt: skip

    def progress_data(self) -> list[dict]:
        """Per round: simulations spent, best found, the surrogate's prospective error
        (:func:`retvis.app.learn.progress_table`)."""
        if self.run_dir is None:
            return []
        from ...app.learn import LearningRun, progress_table

        return progress_table(LearningRun(self.run_dir, self.protocol))

    def running_names(self) -> list[str]:
        """The current round's structures that have no row yet."""
        if self.run_dir is None or not self.process.running():
            return []
        from ...app.learn import LearningRun

        run = LearningRun(self.run_dir, self.protocol)
        rounds, done = run.rounds(), run.done()
        return [n for n in rounds[-1]["chosen"] if n not in done] if rounds else []

    def _read_rows(self) -> None:
        super()._read_rows()
        self.simulating.emit(self.running_names())
        self._plot()

    def _on_finished(self, code: int, reason: str) -> None:
        super()._on_finished(code, reason)
        self.simulating.emit([])

    def _plot(self) -> None:
        data = self.progress_data()
        self.figure.clear()
        best, err = self.figure.subplots(1, 2)
        spent = [d["simulations"] for d in data]
        best.plot(spent, [d["best"] for d in data], "o-", color="#1f77b4")
        best.set_xlabel("simulations")
        best.set_ylabel("best uptake found (mol/kg)")
        pts = [
            (d["simulations"], d["surrogate_mae_log"])
            for d in data
            if d["surrogate_mae_log"] is not None
        ]
        err.plot([p[0] for p in pts], [p[1] for p in pts], "s-", color="#d62728")
        err.set_xlabel("simulations")
        err.set_ylabel("surrogate error, MAE of log(1+y)")
        for ax in (best, err):
            ax.set_xlim(0, max(self.budget.value(), 1))
            ax.grid(alpha=0.3)
        self.canvas.draw_idle()
