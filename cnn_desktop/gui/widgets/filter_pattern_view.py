"""What one convolution filter looks for: the input that excites it most, and the test images that do.

A view of a ``FilterPatternState`` (handed in; this module does not import the
state layer): the layer and filter choosers change the state's selection; the
pattern (computed in the background, with progress) and the top test images
are shown as they arrive.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QComboBox, QGridLayout, QHBoxLayout, QLabel, QProgressBar, QSpinBox, QVBoxLayout

from cnn_desktop import config
from cnn_desktop.gui.widgets.array_images import to_grey_qimage
from cnn_desktop.gui.widgets.on_demand_view import OnDemandView

PATTERN_SCALE = 7  # the 28x28 pattern drawn 196 px wide, pixels square and sharp
TOP_IMAGE_SCALE = 3
TOP_COLUMNS = 3
EXPLANATION = ("<b>The pattern</b> is an input made up to excite this filter as much as possible: starting from "
               "grey, every pixel is nudged many times in the direction that raises the filter's mean activation "
               "(with a little blur and jitter so the result stays readable). <b>The test images</b> are the "
               "real pictures among the 10,000 test images that excite it most.")


def _pixmap(image: np.ndarray, scale: int, ratio: float) -> QPixmap:
    picture = to_grey_qimage(image)
    side = int(picture.width() * scale * ratio)
    pixmap = QPixmap.fromImage(picture.scaled(side, side, Qt.AspectRatioMode.KeepAspectRatio,
                                              Qt.TransformationMode.FastTransformation))
    pixmap.setDevicePixelRatio(ratio)
    return pixmap


class FilterPatternView(OnDemandView):
    def __init__(self, state, parent=None):
        super().__init__(parent)
        self.state = state
        self.layer_choice = QComboBox(self)
        self.layer_choice.setAccessibleName("Convolution layer")
        self.filter_spin = QSpinBox(self)
        self.filter_spin.setAccessibleName("Filter number")
        self.filter_spin.setPrefix("#")
        layer_label, filter_label = QLabel("La&yer:", self), QLabel("&Filter:", self)
        layer_label.setBuddy(self.layer_choice)
        filter_label.setBuddy(self.filter_spin)
        choice_row = QHBoxLayout()
        for widget in (layer_label, self.layer_choice, filter_label, self.filter_spin):
            choice_row.addWidget(widget)
        choice_row.addStretch(1)

        side = config.IMAGE_SIZE * PATTERN_SCALE
        self.pattern_label = QLabel(self)
        self.pattern_label.setFixedSize(side, side)
        self.pattern_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.pattern_label.setAccessibleName("Filter pattern")
        self.pattern_caption = QLabel(self)
        self.pattern_caption.setWordWrap(True)
        self.pattern_caption.setMaximumWidth(side + 40)
        self.progress = QProgressBar(self)
        self.progress.setFormat("step %v of %m")
        self.progress.setMaximumWidth(side)
        self.progress.setVisible(False)
        pattern_column = QVBoxLayout()
        pattern_column.addWidget(QLabel("<b>Pattern that excites it most</b>", self))
        pattern_column.addWidget(self.pattern_label)
        pattern_column.addWidget(self.progress)
        pattern_column.addWidget(self.pattern_caption)
        pattern_column.addStretch(1)

        self.top_labels: list[QLabel] = []
        self.top_grid = QGridLayout()
        self.top_caption = QLabel(self)
        self.top_caption.setWordWrap(True)
        top_column = QVBoxLayout()
        top_column.addWidget(QLabel("<b>Test images that excite it most</b>", self))
        top_column.addLayout(self.top_grid)
        top_column.addWidget(self.top_caption)
        top_column.addStretch(1)

        results = QHBoxLayout()
        results.addLayout(pattern_column)
        results.addSpacing(16)
        results.addLayout(top_column)
        results.addStretch(1)
        self.explanation = QLabel(EXPLANATION, self)
        self.explanation.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addLayout(choice_row)
        layout.addLayout(results)
        layout.addWidget(self.explanation)
        layout.addStretch(1)

        self.layer_choice.currentIndexChanged.connect(self._choose_layer)
        self.filter_spin.valueChanged.connect(self._choose_filter)
        state.layersChanged.connect(self._show_layers)
        state.selectionChanged.connect(self._show_selection)
        state.patternChanged.connect(self._show_pattern)
        state.patternChanged.connect(self._show_top_images)  # its caption compares the two
        state.topImagesChanged.connect(self._show_top_images)
        state.progressChanged.connect(self._show_progress)
        state.messageChanged.connect(self._show_pattern)
        self._show_layers()
        self._show_pattern()
        self._show_top_images()

    @Slot(int)
    def _choose_layer(self, index: int) -> None:
        self.state.select(self.layer_choice.itemData(index), 0)

    @Slot(int)
    def _choose_filter(self, value: int) -> None:
        self.state.select(self.state.layer, value)

    @property
    def shown_top_count(self) -> int:
        return sum(1 for label in self.top_labels if label.pixmap() is not None and not label.pixmap().isNull())

    @Slot()
    def _show_layers(self) -> None:
        self.layer_choice.blockSignals(True)
        self.layer_choice.clear()
        for name in self.state.layers:
            self.layer_choice.addItem(name, name)
        self.layer_choice.blockSignals(False)
        self._show_selection()

    @Slot()
    def _show_selection(self) -> None:
        self.layer_choice.blockSignals(True)
        self.layer_choice.setCurrentIndex(max(0, self.layer_choice.findData(self.state.layer)))
        self.layer_choice.blockSignals(False)
        self.filter_spin.blockSignals(True)
        self.filter_spin.setRange(0, max(0, self.state.filter_count - 1))
        self.filter_spin.setValue(self.state.filter_index)
        self.filter_spin.blockSignals(False)

    @Slot(int, int)
    def _show_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, total)
        self.progress.setValue(done)
        self.progress.setVisible(done < total)

    @Slot()
    def _show_pattern(self) -> None:
        pattern = self.state.pattern
        if pattern is None:
            self.pattern_label.clear()
            self.pattern_label.setText(self.state.message or "computing…")
            self.pattern_caption.setText("")
            return
        self.progress.setVisible(False)
        self.pattern_label.setPixmap(_pixmap(pattern.image, PATTERN_SCALE, self.devicePixelRatioF()))
        self.pattern_caption.setText(f"Filter #{pattern.filter_index} of {pattern.layer}: mean activation "
                                     f"{pattern.activation:.3g} for this pattern "
                                     f"({pattern.steps} gradient steps).")

    @Slot()
    def _show_top_images(self) -> None:
        top, pictures = self.state.top_images, self.state.top_pictures
        count = 0 if top is None or pictures is None else len(top.indices)
        while len(self.top_labels) < count:
            label = QLabel(self)
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            position = len(self.top_labels)
            self.top_grid.addWidget(label, position // TOP_COLUMNS, position % TOP_COLUMNS)
            self.top_labels.append(label)
        for position, label in enumerate(self.top_labels):
            if position >= count:
                label.clear()
                continue
            index = int(top.indices[position])
            label.setPixmap(_pixmap(pictures[position], TOP_IMAGE_SCALE, self.devicePixelRatioF()))
            label.setToolTip(f"test #{index}: mean activation {top.activations[position]:.3g}")
        if count:
            best = float(top.activations[0])
            pattern = self.state.pattern
            compared = "" if pattern is None else (
                f" The pattern reaches {pattern.activation:.3g}: "
                + ("more than any test image." if pattern.activation > best else "not more than the best test image."))
            self.top_caption.setText(f"The best test image reaches a mean activation of {best:.3g}.{compared} "
                                     "Hover over an image for its number and activation.")
        else:
            self.top_caption.setText("computing…" if self.state.layer is not None else "")
