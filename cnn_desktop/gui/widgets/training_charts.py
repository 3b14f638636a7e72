"""Live loss and accuracy charts of a training, with the best epoch marked.

Two pyqtgraph plots. During an epoch the training curve gets a point per
(throttled) batch report at a fractional epoch, with Keras' running mean over
the epoch as the value; at each epoch end both the training and the validation
series get their epoch values. Points are collected as they come and drawn by
a timer at most 20 times a second, however fast they arrive.
"""

from __future__ import annotations

import csv
import logging
import math
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, Qt, Slot
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QPushButton, QVBoxLayout, QWidget

from cnn_desktop.core.evaluation import best_epoch as lowest_loss_epoch
from cnn_desktop.gui.throttle import Throttle
from cnn_desktop.gui.widgets.messages import show_warning

log = logging.getLogger(__name__)

REDRAW_INTERVAL_MS = 50  # at most ~20 redraws a second
# Batch points kept per curve; beyond this every other one is dropped (an hour at 20 reports a second
# is 72,000 points, more than a chart has pixels and slow to redraw 20 times a second).
MAX_BATCH_POINTS = 8_000
METRICS = ("loss", "accuracy")
SERIES = ("train", "validation")
HISTORY_KEYS = {("loss", "train"): "loss", ("accuracy", "train"): "accuracy",
                ("loss", "validation"): "val_loss", ("accuracy", "validation"): "val_accuracy"}
# Colours that read well on light and dark backgrounds (Tableau's blue and orange).
SERIES_COLOURS = {"train": "#4e79a7", "validation": "#f28e2b"}
BEST_COLOUR = "#59a14f"
ACCURACY_AXIS_STEP = 0.05  # the accuracy axis starts at a multiple of this below the lowest value


def _round_up(value: float) -> float:
    """``value`` rounded up to half a power of ten below it (2.31 -> 2.5, 0.53 -> 0.55, 0.04 -> 0.04)."""
    if value <= 0:
        return 1.0
    step = 10 ** math.floor(math.log10(value)) / 2
    return math.ceil(value / step - 1e-9) * step


class TrainingCharts(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.plots: dict[str, pg.PlotWidget] = {}
        # (metric, series) -> the line drawn for it; the train line has the per-batch points.
        self.curves: dict[tuple[str, str], pg.PlotDataItem] = {}
        self._epoch_markers: dict[str, pg.PlotDataItem] = {}  # train values at epoch ends, as dots
        self._best_lines: dict[str, pg.InfiniteLine] = {}
        self._best_legend_entries: dict[str, pg.PlotDataItem] = {}  # no data: only its legend line
        plots_row = QHBoxLayout()
        plots_row.setContentsMargins(0, 0, 0, 0)
        self._plots_area = QWidget(self)
        self._plots_area.setLayout(plots_row)
        for metric in METRICS:
            plot = pg.PlotWidget(self._plots_area)
            plot.setMinimumSize(220, 180)
            plot.setLabel("bottom", "epoch")
            plot.setLabel("left", metric)
            plot.getAxis("left").enableAutoSIPrefix(False)  # accuracy is a fraction, not "x0.001"
            # No grid lines: with a grid, pyqtgraph repaints both axes (ticks, labels and grid) on every
            # curve update, which tripled the GUI thread's time per frame and took ~20% of the CPU from
            # the training on a 2-core machine (benchmarks/run.py measures in-app vs plain fit).
            plot.setMouseEnabled(x=False, y=False)
            plot.setMenuEnabled(False)
            plot.getPlotItem().hideButtons()
            # Loss falls and accuracy rises: put each legend in the corner the curves leave free.
            plot.addLegend(offset=(-10, 10) if metric == "loss" else (-10, -10))
            for series in SERIES:
                colour = SERIES_COLOURS[series]
                symbol = "o" if series == "validation" else None
                curve = plot.plot([], [], name=series, pen=pg.mkPen(colour, width=2), symbol=symbol,
                                  symbolSize=7, symbolBrush=colour, symbolPen=None)
                self.curves[(metric, series)] = curve
            self._epoch_markers[metric] = plot.plot([], [], pen=None, symbol="o", symbolSize=7,
                                                    symbolBrush=SERIES_COLOURS["train"], symbolPen=None)
            # A dashed vertical line at the best epoch, named in the legend (a label on the line
            # would sit on top of the curves, which end right there).
            best_pen = pg.mkPen(BEST_COLOUR, width=1.5, style=Qt.PenStyle.DashLine)
            best = pg.InfiniteLine(angle=90, movable=False, pen=best_pen)
            best.setVisible(False)
            best.setToolTip("The epoch with the lowest validation loss")
            plot.addItem(best, ignoreBounds=True)
            self._best_lines[metric] = best
            self._best_legend_entries[metric] = plot.plot([], [], pen=best_pen, name="best epoch")
            self.plots[metric] = plot
            plots_row.addWidget(plot)

        self.export_csv_button = QPushButton("Export history (CSV)…", self)
        self.export_csv_button.setToolTip("Save the loss and accuracy of every epoch as a CSV file")
        self.export_csv_button.clicked.connect(self.export_csv_dialog)
        self.export_png_button = QPushButton("Save charts (PNG)…", self)
        self.export_png_button.setToolTip("Save both charts as a PNG picture")
        self.export_png_button.clicked.connect(self.export_png_dialog)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.export_csv_button)
        buttons.addWidget(self.export_png_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._plots_area, 1)
        layout.addLayout(buttons)

        self._redraw_throttle = Throttle(self.flush, REDRAW_INTERVAL_MS, self)
        self._apply_palette()
        self.reset()

    # ------------------------------------------------------------------ data in
    def reset(self) -> None:
        """Forget every point (a new training starts)."""
        self._batch_x: list[float] = []
        self._batch_epoch: list[int] = []
        self._batch_values: dict[str, list[float]] = {metric: [] for metric in METRICS}
        self.history: dict[str, list[float]] = {key: [] for key in HISTORY_KEYS.values()}
        self._epoch_x: list[float] = []  # where each epoch's values go: its number, or less for a stopped one
        self._drawn_epochs: int | None = None  # how many epochs the epoch series last drew; None: redraw
        self._y_ranges: dict[str, tuple[float, float] | None] = {}
        for plot in self.plots.values():
            plot.enableAutoRange(x=True)
        self._dirty = True
        self.flush()

    def set_planned_epochs(self, epochs: int) -> None:
        """Show the whole run's epochs on the x axis from the start: the user sees how far along it is,
        and the axis is not redrawn for every new point."""
        for plot in self.plots.values():
            plot.setXRange(0, max(int(epochs), 1), padding=0.02)  # also turns x auto-range off

    def add_batch(self, epoch: int, step: int, steps: int, loss: float, accuracy: float) -> None:
        """A batch report: ``epoch`` is 1-based; the point goes at the fraction of epochs done."""
        x = epoch - 1 + step / max(steps, 1)
        self._batch_x.append(x)
        self._batch_epoch.append(epoch)
        self._batch_values["loss"].append(loss)
        self._batch_values["accuracy"].append(accuracy)
        if len(self._batch_x) > MAX_BATCH_POINTS:
            self._batch_x = self._batch_x[::2]
            self._batch_epoch = self._batch_epoch[::2]
            self._batch_values = {metric: values[::2] for metric, values in self._batch_values.items()}
        self._mark_dirty()

    def add_epoch(self, loss: float, accuracy: float, val_loss: float, val_accuracy: float,
                  x: float | None = None) -> None:
        """An epoch's end; ``x`` is the epochs done (less than a whole number when the run was stopped)."""
        self._epoch_x.append(float(self.epochs + 1 if x is None else x))
        for key, value in (("loss", loss), ("accuracy", accuracy), ("val_loss", val_loss),
                           ("val_accuracy", val_accuracy)):
            self.history[key].append(float(value))
        self._mark_dirty()

    @property
    def epochs(self) -> int:
        return len(self.history["val_loss"])

    @property
    def best_epoch(self) -> int | None:
        """The epoch (1-based) with the lowest validation loss, or None before the first epoch ends."""
        return lowest_loss_epoch(self.history["val_loss"])

    def _mark_dirty(self) -> None:
        self._dirty = True
        self._redraw_throttle.request()

    # ------------------------------------------------------------------ drawing
    @Slot()
    def flush(self) -> None:
        """Draw what has been collected (the throttle calls this; call it to draw at once)."""
        self._redraw_throttle.cancel()
        if not self._dirty:
            return
        self._dirty = False
        epochs_of_points = np.asarray(self._batch_epoch)
        same_epoch = np.append(epochs_of_points[1:] == epochs_of_points[:-1], False) if len(epochs_of_points) else "all"
        for metric in METRICS:
            # Keras' running mean starts afresh each epoch: one line per epoch, not a cliff between them.
            self.curves[(metric, "train")].setData(np.asarray(self._batch_x), np.asarray(self._batch_values[metric]),
                                                   connect=same_epoch)
        self._update_y_ranges()
        # The epoch series, the best-epoch line and the legend change only at epoch ends; setting them
        # again on every frame re-laid out the legend and repainted the whole plot 20 times a second.
        if self._drawn_epochs != self.epochs:
            self._drawn_epochs = self.epochs
            self._draw_epoch_series()

    def _update_y_ranges(self) -> None:
        """Loss from 0 up, accuracy up to 1, each edge rounded to a step so that it rarely moves.

        Auto-range followed every new low of the loss, so both axes were laid out again on every
        frame: more than half of the GUI thread's time during a training went to repainting them.
        """
        for metric in METRICS:
            values = np.asarray([*self._batch_values[metric],
                                 *self.history[HISTORY_KEYS[(metric, "train")]],
                                 *self.history[HISTORY_KEYS[(metric, "validation")]]], dtype=float)
            values = values[np.isfinite(values)]
            if not len(values):
                y_range = None
            elif metric == "loss":
                y_range = (0.0, _round_up(float(values.max())))
            else:
                y_range = (min(math.floor(float(values.min()) / ACCURACY_AXIS_STEP) * ACCURACY_AXIS_STEP,
                               1.0 - ACCURACY_AXIS_STEP), 1.0)
            if y_range != self._y_ranges.get(metric):
                self._y_ranges[metric] = y_range
                if y_range is None:
                    self.plots[metric].enableAutoRange(y=True)
                else:
                    self.plots[metric].setYRange(*y_range, padding=0.03)

    def _draw_epoch_series(self) -> None:
        epoch_x = list(self._epoch_x)
        best = self.best_epoch
        for metric in METRICS:
            self._epoch_markers[metric].setData(epoch_x, self.history[HISTORY_KEYS[(metric, "train")]])
            self.curves[(metric, "validation")].setData(epoch_x, self.history[HISTORY_KEYS[(metric, "validation")]])
            line = self._best_lines[metric]
            line.setVisible(best is not None)
            if best is not None:
                line.setValue(epoch_x[best - 1])
            legend = self.plots[metric].getPlotItem().legend
            legend.getLabel(self._best_legend_entries[metric]).setText(
                "best epoch" if best is None else f"best: epoch {best}")

    def changeEvent(self, event) -> None:
        if event.type() == QEvent.Type.PaletteChange:
            self._apply_palette()
        super().changeEvent(event)

    def _apply_palette(self) -> None:
        """Follow the light or dark theme: plot background and text from the palette."""
        palette = self.palette()
        background = palette.color(QPalette.ColorRole.Base)
        text = palette.color(QPalette.ColorRole.Text)
        for plot in self.plots.values():
            plot.setBackground(background)
            item = plot.getPlotItem()
            for name in ("left", "bottom"):
                axis = item.getAxis(name)
                axis.setPen(pg.mkPen(text))
                axis.setTextPen(pg.mkPen(text))
                axis.label.setDefaultTextColor(text)
            if item.legend is not None:
                item.legend.setLabelTextColor(text)
                for _sample, label in item.legend.items:
                    label.setText(label.text)  # the new colour shows only once the text is set again
                legend_background = QColor(background)
                legend_background.setAlpha(210)  # the curves stay faintly visible behind it
                item.legend.setBrush(pg.mkBrush(legend_background))
                item.legend.setPen(pg.mkPen(text, width=0.5))

    # ------------------------------------------------------------------ export
    def export_csv(self, path: Path | str) -> Path:
        """Write one row per epoch: epoch, loss, accuracy, val_loss, val_accuracy."""
        path = Path(path)
        keys = ("loss", "accuracy", "val_loss", "val_accuracy")
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(("epoch", *keys))
            for index in range(self.epochs):
                writer.writerow((index + 1, *(repr(self.history[key][index]) for key in keys)))
        log.info("wrote the training history to %s", path)
        return path

    def export_png(self, path: Path | str) -> Path:
        path = Path(path)
        self.flush()
        if not self._plots_area.grab().save(str(path), "PNG"):
            raise OSError(f"cannot write {path}")
        log.info("saved the charts to %s", path)
        return path

    @Slot()
    def export_csv_dialog(self) -> None:
        self._export_dialog("Export Training History", "training-history.csv", "CSV files (*.csv)", ".csv",
                            self.export_csv)

    @Slot()
    def export_png_dialog(self) -> None:
        self._export_dialog("Save Charts", "training-charts.png", "PNG images (*.png)", ".png", self.export_png)

    def _export_dialog(self, title: str, default_name: str, file_filter: str, suffix: str, write) -> None:
        path, _ = QFileDialog.getSaveFileName(self, title, str(Path.home() / default_name), file_filter)
        if not path:
            return
        path = Path(path)
        if path.suffix.lower() != suffix:
            path = path.with_name(path.name + suffix)
        try:
            write(path)
        except OSError as exc:
            show_warning(self, title, f"Could not write {path}:\n{exc.strerror or exc}")
