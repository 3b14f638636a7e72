"""File ▸ Export: the model in use written as TFLite, ONNX or a SavedModel in a worker, checked by core.export.

One export at a time; ``finished(report)`` carries the core ExportReport (agreement, size), ``failed(message)``
the one-line reason. The worker exports a copy of the model holding a snapshot of its weights, so a training's
epoch end or another model loaded meanwhile cannot mix into the export.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot

from cnn_desktop.gui.concurrency.latest_task import LatestTask


def export_model_copy(model, weights, path: Path, export_format: str, quantize: str | None, data,
                      temperature: float):
    """Runs in a worker thread: export a copy of ``model`` holding ``weights``, checked on test images."""
    from cnn_desktop.core.export import check_and_representative_images, export_model
    from cnn_desktop.core.model import copy_model

    check_images, check_labels, representative = check_and_representative_images(data)
    return export_model(copy_model(model, weights), path, export_format, quantize=quantize,
                        check_images=check_images, check_labels=check_labels,
                        representative_images=representative, temperature=temperature)


class ExportState(QObject):
    finished = Signal(object)  # core.export.ExportReport
    failed = Signal(str)  # why nothing was written, one line
    runningChanged = Signal(bool)

    def __init__(self, model_state, data_state, parent=None):
        super().__init__(parent)
        self.model_state, self.data_state = model_state, data_state
        self._task = LatestTask("export", self)
        self._task.finished.connect(self.finished)
        self._task.failed.connect(self._on_failed)
        self._task.runningChanged.connect(self.runningChanged)

    @property
    def running(self) -> bool:
        return self._task.running

    def start(self, path: Path | str, export_format: str, quantize: str | None = None) -> str | None:
        """Begin an export; returns why it cannot begin (None when it began)."""
        from cnn_desktop.core.calibration import Calibration
        from cnn_desktop.core.export import ExportError, check_export_location

        if self.running:
            return "An export is already under way; wait for it to finish."
        model = self.model_state.model
        if model is None:
            return "There is no model to export: load or train one first."
        if self.data_state.dataset is None:
            return "The export is checked on Fashion-MNIST test images, which are not loaded yet."
        try:
            path = check_export_location(path, export_format)
        except ExportError as exc:
            return f"Nothing exported: {exc}."
        self._task.start(export_model_copy, model, model.get_weights(), path, export_format, quantize,
                         self.data_state.dataset, Calibration.from_card(self.model_state.card).temperature)
        return None

    @Slot(str, str)
    def _on_failed(self, message: str, details: str) -> None:
        self.failed.emit(message.strip().splitlines()[0] if message.strip() else "the export failed")

    def stop_and_wait(self) -> None:
        self._task.stop_and_wait()
