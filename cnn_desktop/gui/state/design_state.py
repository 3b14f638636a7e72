"""The network being designed in the editor: its layers, their analysis, its file, its expected speed.

Every edit makes a new core ``Design`` (checked by the core: a layer option out
of range is refused with the reason) and its ``analyze()`` result, which is
pure arithmetic and instant. Starting from a preset builds the preset's real
Keras model to read its layers, and measuring the speed trains a few batches:
both run in a worker thread.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot

from cnn_desktop import config
from cnn_desktop.core.design import (Design, DesignError, analyze, default_layer, design_from_preset, empty_design,
                                     estimate_epoch_seconds, load_design, make_design, measure_throughput,
                                     save_design)
from cnn_desktop.gui.concurrency.latest_task import LatestTask

log = logging.getLogger(__name__)


class DesignState(QObject):
    changed = Signal()  # the design (and its analysis) changed
    failed = Signal(str)  # an edit, load or save was refused: why, in words
    busyChanged = Signal(bool)  # a preset is being read or the speed measured
    throughputChanged = Signal()

    def __init__(self, runs_state=None, parent=None):
        super().__init__(parent)
        self._runs_state = runs_state
        self._design: Design = empty_design()
        self._analysis = analyze(self._design)
        self._path: Path | None = None
        self._measured = None  # Throughput measured for this very design (best estimate)
        self._measured_for: Design | None = None
        self._measuring: Design | None = None
        self._preset_task = LatestTask("design-from-preset", self)
        self._preset_task.finished.connect(self._on_preset_read)
        self._preset_task.failed.connect(lambda message, _details: self.failed.emit(message))
        self._preset_task.runningChanged.connect(self._on_busy)
        self._speed_task = LatestTask("measure-throughput", self)
        self._speed_task.finished.connect(self._on_measured)
        self._speed_task.failed.connect(lambda message, _details: self.failed.emit(
            f"The speed could not be measured: {message}"))
        self._speed_task.runningChanged.connect(self._on_busy)

    # ------------------------------------------------------------------ reading
    @property
    def design(self) -> Design:
        return self._design

    @property
    def analysis(self):
        """The core ``DesignAnalysis``: rows, totals and the problems that stop the design from working."""
        return self._analysis

    @property
    def path(self) -> Path | None:
        """The file the design was last loaded from or saved to."""
        return self._path

    @property
    def busy(self) -> bool:
        return self._preset_task.running or self._speed_task.running

    def layers(self) -> list[dict]:
        return [dict(layer) for layer in self._design.layers]

    def throughput(self):
        """(Throughput, how it was found) or (None, "")."""
        if self._measured is not None and self._measured_for == self._design:
            return self._measured, "measured for this design"
        if self._runs_state is not None:
            recorded = self._runs_state.measured_throughput()
            if recorded is not None:
                return recorded, "from the speed of recorded runs on this machine"
        if self._measured is not None:
            return self._measured, "measured for an earlier version of this design"
        return None, ""

    def epoch_seconds(self, images: int = config.TRAIN_SIZE) -> tuple[float | None, str]:
        """Expected seconds per epoch of ``images`` on this machine, and how the speed was found."""
        if not self._analysis.ok:
            return None, ""
        throughput, source = self.throughput()
        if throughput is None:
            return None, ""
        if throughput is self._measured and self._measured_for == self._design:
            return images / throughput.images_per_second, source
        return estimate_epoch_seconds(self._analysis, images, throughput), source

    # ------------------------------------------------------------------ editing
    def _set(self, design: Design) -> None:
        self._design = design
        self._analysis = analyze(design)
        self.changed.emit()

    def set_layers(self, layers) -> bool:
        """Replace the layers; a layer the core refuses leaves the design as it was and says why."""
        try:
            design = self._design.with_layers(list(layers))
        except DesignError as exc:
            self.failed.emit(str(exc))
            return False
        self._set(design)
        return True

    def add_layer(self, layer_type: str, position: int | None = None) -> int:
        """Insert a new layer (options at their defaults) at ``position`` (0-based; None: last). Returns where."""
        layers = self.layers()
        position = len(layers) if position is None else max(0, min(position, len(layers)))
        layers.insert(position, default_layer(layer_type))
        return position if self.set_layers(layers) else -1

    def remove_layer(self, position: int) -> bool:
        layers = self.layers()
        if not 0 <= position < len(layers):
            return False
        del layers[position]
        return self.set_layers(layers)

    def move_layer(self, position: int, offset: int) -> int:
        """Move a layer up (-1) or down (+1); returns its new position (unchanged at either end)."""
        layers = self.layers()
        target = position + offset
        if not (0 <= position < len(layers) and 0 <= target < len(layers)):
            return position
        layers[position], layers[target] = layers[target], layers[position]
        return target if self.set_layers(layers) else position

    def update_layer(self, position: int, layer: dict) -> bool:
        layers = self.layers()
        if not 0 <= position < len(layers):
            return False
        layers[position] = layer
        return self.set_layers(layers)

    def rename(self, name: str) -> bool:
        try:
            design = make_design(name, list(self._design.layers), description=self._design.description,
                                 based_on=self._design.based_on)
        except DesignError as exc:
            self.failed.emit(str(exc))
            return False
        self._set(design)
        return True

    def start_from_scratch(self) -> None:
        self._preset_task.cancel()
        self._path = None
        self._set(empty_design())

    def start_from_preset(self, preset: str) -> None:
        """Read the preset's layers (builds its Keras model, in a worker); ``changed`` when done."""
        self._preset_task.start(design_from_preset, preset)

    @Slot(object)
    def _on_preset_read(self, design: Design) -> None:
        self._path = None
        self._set(design)

    def use_design(self, design: Design, path: Path | None = None) -> None:
        self._preset_task.cancel()
        self._path = path
        self._set(design)

    # ------------------------------------------------------------------ files
    def load(self, path: Path | str) -> bool:
        """Read a design file (small: read here); a refused file leaves the design as it was."""
        try:
            design = load_design(path)
        except DesignError as exc:
            self.failed.emit(str(exc))
            return False
        self.use_design(design, Path(path))
        return True

    def save(self, path: Path | str) -> bool:
        try:
            self._path = save_design(self._design, path)
        except OSError as exc:
            self.failed.emit(f"The design could not be saved to {path}: {exc.strerror or exc}")
            return False
        self.changed.emit()  # it now comes from that file
        return True

    # ------------------------------------------------------------------ speed
    def measure_speed(self) -> bool:
        """Train a few batches of the design (a few seconds, in a worker) to know its speed here."""
        if not self._analysis.ok:
            return False
        self._speed_task.start(measure_throughput, self._design)
        self._measuring = self._design
        return True

    @Slot(object)
    def _on_measured(self, throughput) -> None:
        self._measured, self._measured_for = throughput, self._measuring
        self.throughputChanged.emit()

    @Slot(bool)
    def _on_busy(self, _running: bool) -> None:
        self.busyChanged.emit(self.busy)

    def stop_and_wait(self) -> None:
        self._preset_task.stop_and_wait()
        self._speed_task.stop_and_wait()
