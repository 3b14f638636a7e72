"""The test-set results of a trained model: accuracy and loss, the confusion matrix and example images.

Click a cell of the matrix to see its test images; click an image to send it on
(``exampleClicked`` with its index in the test set).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import QLabel, QSplitter, QTabWidget, QVBoxLayout, QWidget

from cnn_desktop import config
from cnn_desktop.gui.widgets.confusion_matrix import ConfusionMatrix
from cnn_desktop.gui.widgets.example_gallery import ExampleGallery

HARDEST_COUNT = 60
EMPTY_TEXT = "Test-set results appear here after a training."


class TestResultsPanel(QWidget):
    __test__ = False  # a widget, not a pytest test class

    exampleClicked = Signal(int)  # index of a test image

    def __init__(self, parent=None):
        super().__init__(parent)
        self.evaluation = None  # the core Evaluation shown
        self.dataset = None  # the dataset whose test images it is about
        self.summary = QLabel(EMPTY_TEXT, self)
        self.summary.setWordWrap(True)
        self.confusion_matrix = ConfusionMatrix(self)
        self.confusion_matrix.setToolTip("Rows: the true class; columns: what the model said")
        self.confusion_matrix.cellClicked.connect(self._show_cell)
        self.cell_gallery = ExampleGallery("Click a cell of the confusion matrix to see its test images.", self)
        self.hardest_gallery = ExampleGallery("The test images the model got wrong most confidently.", self)
        for gallery in (self.cell_gallery, self.hardest_gallery):
            gallery.exampleClicked.connect(self.exampleClicked)
        self.galleries = QTabWidget(self)
        self.galleries.setDocumentMode(True)
        self.galleries.addTab(self.cell_gallery, "Selected cell")
        self.galleries.addTab(self.hardest_gallery, "Hardest examples")
        lower = QSplitter(Qt.Orientation.Horizontal, self)
        lower.addWidget(self.confusion_matrix)
        lower.addWidget(self.galleries)
        lower.setStretchFactor(0, 0)  # the matrix at its size hint; the images get the rest
        lower.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.summary)
        layout.addWidget(lower, 1)

    def show_evaluation(self, evaluation, dataset) -> None:
        """Show test accuracy and loss, the confusion matrix, the hardest class and the hardest examples."""
        self.evaluation, self.dataset = evaluation, dataset
        accuracy = evaluation.per_class_accuracy
        worst = int(np.argmin(accuracy))
        self.summary.setText(
            f"<b>Test set ({evaluation.n:,} images): accuracy {evaluation.accuracy:.2%}, loss {evaluation.loss:.4f}.</b> "
            f"Hardest class: {config.CLASS_NAMES[worst]} ({accuracy[worst]:.1%}). "
            "Click a cell of the matrix to see its images; click an image to classify it.")
        self.confusion_matrix.set_matrix(evaluation.confusion)
        self.cell_gallery.clear()
        self.hardest_gallery.show_examples(
            evaluation.hardest(HARDEST_COUNT), dataset.test_images, dataset.test_labels,
            predictions=evaluation.predictions, confidences=evaluation.probabilities.max(axis=1),
            title=f"The {HARDEST_COUNT} test images the model got wrong most confidently.")

    def clear(self, text: str = EMPTY_TEXT) -> None:
        self.evaluation = self.dataset = None
        self.summary.setText(text)
        self.confusion_matrix.clear()
        self.cell_gallery.clear()
        self.hardest_gallery.clear()

    @Slot(int, int)
    def _show_cell(self, true_class: int, predicted_class: int) -> None:
        if self.evaluation is None:
            return
        self.cell_gallery.show_examples(
            self.evaluation.indices_for_cell(true_class, predicted_class), self.dataset.test_images,
            self.dataset.test_labels, predictions=self.evaluation.predictions,
            confidences=self.evaluation.probabilities.max(axis=1),
            title=self.confusion_matrix.describe(true_class, predicted_class) + ".")
        self.galleries.setCurrentWidget(self.cell_gallery)
