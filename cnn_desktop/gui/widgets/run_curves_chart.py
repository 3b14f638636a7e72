"""Several runs' loss and accuracy per epoch on one pair of charts: one colour per run.

Each run gets a colour; its validation curve is a solid line with dots, its
training curve a dashed line of the same colour. One legend under both charts
has an entry per run, with the label the caller gives (the core's
``legend_labels``: what sets the run apart from the others); under the charts,
not inside them, so long labels wrap instead of hiding the curves.
"""

from __future__ import annotations

import html

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

# Tableau 10: distinct on light and dark backgrounds; runs beyond ten reuse them.
RUN_COLOURS = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
               "#9c755f", "#bab0ac")
METRICS = (("loss", "Loss", "loss", "val_loss"), ("accuracy", "Accuracy", "accuracy", "val_accuracy"))


def run_colour(position: int) -> str:
    return RUN_COLOURS[position % len(RUN_COLOURS)]


class RunCurvesChart(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.plots: dict[str, pg.PlotWidget] = {}
        self._legend_labels: list[str] = []
        # (run id, metric, "train" | "validation") -> its line
        self.curves: dict[tuple[int, str, str], pg.PlotDataItem] = {}
        self.placeholder = QLabel("Select runs in the table to see their curves here.", self)
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        row = QHBoxLayout()
        for metric, title, _train, _validation in METRICS:
            plot = pg.PlotWidget(self)
            plot.setBackground(None)
            plot.setTitle(f"{title} per epoch (solid: validation, dashed: training)", size="9pt")
            plot.setLabel("bottom", "epoch")
            plot.showGrid(x=True, y=True, alpha=0.25)
            plot.setMinimumSize(240, 160)
            self.plots[metric] = plot
            row.addWidget(plot)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.placeholder)
        layout.addLayout(row, 1)
        self.legend = QLabel(self)
        self.legend.setWordWrap(True)
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.legend.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.legend)

    def show_runs(self, runs, labels: dict[int, str]) -> None:
        """Draw ``runs`` (core ``Run`` objects with their epochs); ``labels``: run id -> legend text."""
        for plot in self.plots.values():
            plot.clear()
        self.curves = {}
        self._legend_labels = [labels.get(run.id, f"#{run.id}") for run in runs]
        self.legend.setText("<br>".join(
            f'<span style="color:{run_colour(position)}; font-weight:bold">━━ ●</span>&nbsp;{html.escape(label)}'
            for position, label in enumerate(self._legend_labels)))
        self.legend.setVisible(bool(runs))
        for position, run in enumerate(runs):
            colour = run_colour(position)
            epochs = [record.epoch for record in run.epochs]
            for metric, _title, train_key, validation_key in METRICS:
                plot = self.plots[metric]
                for series, key, style in (("validation", validation_key, Qt.PenStyle.SolidLine),
                                           ("train", train_key, Qt.PenStyle.DashLine)):
                    points = [(epoch, getattr(record, key)) for epoch, record in zip(epochs, run.epochs)
                              if getattr(record, key) is not None]
                    pen = pg.mkPen(colour, width=2, style=style)
                    curve = plot.plot([x for x, _ in points], [y for _, y in points], pen=pen,
                                      symbol="o" if series == "validation" else None, symbolSize=5,
                                      symbolBrush=colour, symbolPen=colour)
                    self.curves[(run.id, metric, series)] = curve
        self.placeholder.setVisible(not runs)

    def legend_texts(self) -> list[str]:
        """The legend's labels, top to bottom (the same order and colours as the runs drawn)."""
        return list(self._legend_labels)
