"""The window's File ▸ Export menu: pick a format (and int8 quantisation), a destination, then an ExportState runs
the export in a worker; what came of it (agreement with the Keras model, size, or why nothing was written) is
shown in the window's message bar."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import QFileDialog, QMenu

from cnn_desktop import config
from cnn_desktop.core.export import DEFAULT_SUFFIXES, default_export_path

# (menu text, format, quantisation, file filter)
EXPORT_CHOICES = (
    ("&TFLite (LiteRT)…", "tflite", None, "TFLite models (*.tflite)"),
    ("TFLite, &int8 quantised…", "tflite", "int8", "TFLite models (*.tflite)"),
    ("&ONNX…", "onnx", None, "ONNX models (*.onnx)"),
    ("TensorFlow &SavedModel (a folder)…", "savedmodel", None, "A new folder (*)"),
)


class ExportMenu(QMenu):
    def __init__(self, window, export_state, message_bar):
        super().__init__("&Export", window)
        self.window_, self.export_state, self.message_bar = window, export_state, message_bar
        self.setToolTipsVisible(True)
        for text, export_format, quantize, file_filter in EXPORT_CHOICES:
            action = self.addAction(text)
            action.setToolTip("Written, loaded back with its own runtime and compared with the model on 1,000 "
                              "test images before it is kept")
            action.triggered.connect(lambda _checked=False, f=export_format, q=quantize, flt=file_filter:
                                     self.ask_destination(f, q, flt))
        export_state.finished.connect(self._on_finished)
        export_state.failed.connect(self._on_failed)
        export_state.runningChanged.connect(lambda running: self.setEnabled(not running))

    def default_destination(self, export_format: str, quantize: str | None) -> Path:
        model_path = self.export_state.model_state.path or (config.user_models_dir() / "model.keras")
        if quantize:
            model_path = model_path.with_name(f"{model_path.stem}-{quantize}{model_path.suffix}")
        return default_export_path(model_path, export_format)

    def ask_destination(self, export_format: str, quantize: str | None, file_filter: str) -> QFileDialog:
        """A window-modal save dialog (no nested event loop); the export starts when a name is chosen."""
        start = self.default_destination(export_format, quantize)
        dialog = QFileDialog(self.window_, "Export Model", str(start), file_filter)
        dialog.setObjectName("exportDialog")
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        if export_format != "savedmodel":
            dialog.setDefaultSuffix(DEFAULT_SUFFIXES[export_format].lstrip("."))
        dialog.selectFile(str(start))
        dialog.fileSelected.connect(lambda path: self.export_to(Path(path), export_format, quantize))
        dialog.open()
        return dialog

    def export_to(self, path: Path, export_format: str, quantize: str | None = None) -> bool:
        refusal = self.export_state.start(path, export_format, quantize)
        if refusal is not None:
            self.message_bar.show_message(refusal, "warning")
            return False
        self.message_bar.show_message(f"Exporting to {path.name}: writing it, then checking it on 1,000 test "
                                      "images…", "information")
        return True

    @Slot(object)
    def _on_finished(self, report) -> None:
        self.message_bar.show_message(report.summary() + ".", "information")

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self.message_bar.show_message(f"Nothing exported: {message}", "critical")
