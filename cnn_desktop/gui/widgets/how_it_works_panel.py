"""How a CNN computes, on numbers small enough to check by hand; every number is editable.

1. a 3×3 kernel slides over a 4×4 input (no padding) -> 2×2 feature map,
   with the multiply-add of the selected output cell written out;
2. the same with 'same' padding (a border of zeros) -> 4×4 feature map;
3. 2×2 max pooling and average pooling of a 4×4 matrix;
4. flattening that matrix into a vector.

The arithmetic is ``core.convolution_demo`` (tested against real Keras layers);
this panel only shows it and recomputes on every edit.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QBrush, QColor, QPalette
from PySide6.QtWidgets import (QAbstractItemView, QDoubleSpinBox, QGroupBox, QHBoxLayout, QLabel,
                               QPushButton, QScrollArea, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from cnn_desktop.core import convolution_demo as demo
from cnn_desktop.core.convolution_demo import format_number
from cnn_desktop.core.explain import METHOD_DESCRIPTIONS, METHOD_TITLES, METHODS

# Our own example: a bright band over a dark one (a horizontal edge) ...
DEFAULT_INPUT = np.array([[9, 8, 9, 7],
                          [8, 9, 7, 8],
                          [2, 1, 3, 2],
                          [1, 2, 1, 0]], dtype=float)
# ... and a kernel that responds to exactly that: top row positive, bottom row negative (Sobel-like).
DEFAULT_KERNEL = np.array([[1, 2, 1],
                           [0, 0, 0],
                           [-1, -2, -1]], dtype=float)
DEFAULT_POOL_INPUT = np.array([[3, 1, 0, 2],
                               [4, 6, 1, 1],
                               [0, 2, 7, 5],
                               [1, 3, 2, 8]], dtype=float)
POOL = 2


def parse_number(text: str) -> float | None:
    """What the user typed, leniently: '−3', '-3', '2,5' and ' 4 ' are numbers; '' and 'abc' are not."""
    cleaned = text.strip().replace("−", "-").replace(",", ".")
    try:
        value = float(cleaned)
    except ValueError:
        return None
    return value if np.isfinite(value) else None


class _NumberTable(QTableWidget):
    """A small matrix drawn as a grid of cells: editable input, or read-only result."""

    edited = Signal()
    rejected = Signal(str)  # a cell got text that is not a number (the old value is put back)

    def __init__(self, rows: int, cols: int, *, editable: bool, parent=None):
        super().__init__(rows, cols, parent)
        self._editable = editable
        self._values = np.zeros((rows, cols))
        self.horizontalHeader().setVisible(False)
        self.verticalHeader().setVisible(False)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        if not editable:
            self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        # Sized from the font, so it fits at any scaling.
        metrics = self.fontMetrics()
        cell_w = metrics.horizontalAdvance("−88.8") + 10
        cell_h = metrics.height() + 10
        for c in range(cols):
            self.setColumnWidth(c, cell_w)
        for r in range(rows):
            self.setRowHeight(r, cell_h)
        frame = 2 * self.frameWidth()
        self.setFixedSize(cols * cell_w + frame, rows * cell_h + frame)
        for r in range(rows):
            for c in range(cols):
                item = QTableWidgetItem("0")
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                if not editable:
                    item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
                self.setItem(r, c, item)
        self.itemChanged.connect(self._on_item_changed)

    def matrix(self) -> np.ndarray:
        return self._values.copy()

    def set_matrix(self, values: np.ndarray, greyed: np.ndarray | None = None) -> None:
        values = np.asarray(values, dtype=float).reshape(self.rowCount(), self.columnCount())
        self._values = values.copy()
        placeholder = self.palette().color(QPalette.ColorRole.PlaceholderText)
        text_colour = self.palette().color(QPalette.ColorRole.Text)
        self.blockSignals(True)
        for (r, c), value in np.ndenumerate(values):
            item = self.item(r, c)
            item.setText(format_number(value))
            item.setForeground(placeholder if greyed is not None and greyed[r, c] else text_colour)
        self.blockSignals(False)

    def highlight(self, cells) -> None:
        """Tint ``cells`` (row, col) pairs: the window the selected result is computed from."""
        tint = QColor(self.palette().color(QPalette.ColorRole.Highlight))
        tint.setAlpha(90)
        cells = set(cells)
        for r in range(self.rowCount()):
            for c in range(self.columnCount()):
                self.item(r, c).setBackground(QBrush(tint) if (r, c) in cells else QBrush())

    @Slot(QTableWidgetItem)
    def _on_item_changed(self, item: QTableWidgetItem) -> None:
        if not self._editable:
            return
        r, c = item.row(), item.column()
        value = parse_number(item.text())
        if value is None:
            self.rejected.emit(f"“{item.text()}” is not a number; the cell keeps "
                               f"{format_number(self._values[r, c])}.")
            self.blockSignals(True)
            item.setText(format_number(self._values[r, c]))
            self.blockSignals(False)
            return
        self._values[r, c] = value
        self.edited.emit()


def _paragraph(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def _captioned(caption: str, widget: QWidget) -> QWidget:
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    label = QLabel(caption)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    layout.addWidget(label)
    layout.addWidget(widget, 0, Qt.AlignmentFlag.AlignHCenter)
    layout.addStretch(1)
    return box


def _operator(text: str) -> QLabel:
    label = QLabel(text)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    font = label.font()
    font.setPointSizeF(font.pointSizeF() * 1.6)
    label.setFont(font)
    return label


def _row(*widgets) -> QHBoxLayout:
    layout = QHBoxLayout()
    for widget in widgets:
        layout.addWidget(widget)
    layout.addStretch(1)
    return layout


class HowItWorksPanel(QScrollArea):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setFrameShape(QScrollArea.Shape.NoFrame)
        size = DEFAULT_INPUT.shape[0]
        kernel_size = DEFAULT_KERNEL.shape[0]
        valid_size = size - kernel_size + 1
        pad = kernel_size // 2

        self.message = QLabel()  # inline message for text that is not a number
        self.message.setWordWrap(True)
        self.message.setVisible(False)

        # 1. convolution without padding
        self.conv_input = _NumberTable(size, size, editable=True)
        self.kernel = _NumberTable(kernel_size, kernel_size, editable=True)
        self.bias = QDoubleSpinBox()
        self.bias.setRange(-999, 999)
        self.bias.setDecimals(2)
        self.bias.setToolTip("Added to every output of the filter")
        self.valid_output = _NumberTable(valid_size, valid_size, editable=False)
        self.valid_explanation = _paragraph()
        bias_box = QWidget()
        bias_layout = QVBoxLayout(bias_box)
        bias_layout.setContentsMargins(0, 0, 0, 0)
        bias_layout.addWidget(QLabel("bias"))
        bias_layout.addWidget(self.bias)
        bias_layout.addStretch(1)
        valid_group = QGroupBox("1 · Convolution: a 3×3 kernel slides over a 4×4 input (stride 1, no padding)")
        valid_layout = QVBoxLayout(valid_group)
        valid_layout.addWidget(_paragraph(
            "The kernel is laid on each 3×3 window of the input; the 9 pairs of numbers are multiplied and added "
            "up (plus the bias). It fits in 2×2 places, so the feature map is 2×2. Edit any number; click an "
            "output cell to see how it was made."))
        valid_layout.addLayout(_row(_captioned("input", self.conv_input), _operator("⊛"),
                                    _captioned("kernel", self.kernel), _operator("+"), bias_box, _operator("="),
                                    _captioned("feature map", self.valid_output)))
        valid_layout.addWidget(self.valid_explanation)

        # 2. 'same' padding
        self.padded_input = _NumberTable(size + 2 * pad, size + 2 * pad, editable=False)
        self.same_kernel = _NumberTable(kernel_size, kernel_size, editable=False)
        self.same_output = _NumberTable(size, size, editable=False)
        self.same_explanation = _paragraph()
        same_group = QGroupBox("2 · 'same' padding: a border of zeros keeps the 4×4 size")
        same_layout = QVBoxLayout(same_group)
        same_layout.addWidget(_paragraph(
            "The same input and kernel, but with a ring of zeros (grey) around the input: now the kernel fits in "
            "4×4 places and the feature map is as large as the input. The network in this app does this in "
            "every convolution layer."))
        same_layout.addLayout(_row(_captioned("input with zero padding", self.padded_input), _operator("⊛"),
                                   _captioned("kernel (from step 1)", self.same_kernel), _operator("="),
                                   _captioned("feature map", self.same_output)))
        same_layout.addWidget(self.same_explanation)

        # 3. pooling
        self.pool_input = _NumberTable(size, size, editable=True)
        self.max_output = _NumberTable(size // POOL, size // POOL, editable=False)
        self.average_output = _NumberTable(size // POOL, size // POOL, editable=False)
        self.pool_explanation = _paragraph()
        self.use_feature_map = QPushButton("Use the feature map from step &2")
        self.use_feature_map.setToolTip("Copy the 4×4 'same' feature map into the pooling input, as the network does")
        self.use_feature_map.clicked.connect(self._copy_feature_map_to_pooling)
        pool_group = QGroupBox("3 · Pooling: 2×2 windows shrink a 4×4 map to 2×2")
        pool_layout = QVBoxLayout(pool_group)
        pool_layout.addWidget(_paragraph(
            "The map is cut into 2×2 windows (stride 2). Max pooling keeps the largest number of each window — "
            "'was the pattern here somewhere?' — and average pooling their mean. Click an output cell."))
        pool_layout.addLayout(_row(_captioned("matrix", self.pool_input), _operator("→"),
                                   _captioned("max pooling", self.max_output),
                                   _captioned("average pooling", self.average_output)))
        pool_layout.addLayout(_row(self.use_feature_map))
        pool_layout.addWidget(self.pool_explanation)

        # 4. flatten
        self.flat_output = _NumberTable(1, size * size, editable=False)
        self.flat_output.horizontalHeader().setVisible(True)
        self.flat_output.setHorizontalHeaderLabels([f"{r},{c}" for r in range(size) for c in range(size)])
        self.flat_output.setFixedHeight(self.flat_output.height() + self.flat_output.horizontalHeader().sizeHint()
                                        .height())
        self.flatten_explanation = _paragraph()
        flatten_group = QGroupBox("4 · Flatten: the matrix, row after row, becomes one vector")
        flatten_layout = QVBoxLayout(flatten_group)
        flatten_layout.addWidget(_paragraph(
            "The dense layers at the end take a list of numbers, not a grid: Flatten reads the matrix of step 3 "
            "row by row (header: row,column it came from)."))
        flatten_layout.addWidget(self.flat_output)
        flatten_layout.addWidget(self.flatten_explanation)

        # 5. explanations: what the overlays in the Classify tab and on the "Why?" page show
        explain_group = QGroupBox("5 · Why did it say that? Four ways to explain a prediction")
        explain_layout = QVBoxLayout(explain_group)
        explain_layout.addWidget(_paragraph(
            "Each method colours the 28×28 input by how much each part of it mattered for one class: the "
            "predicted class, or any class you click in the probability bars."))
        self.method_explanations = [_paragraph(f"<b>{METHOD_TITLES[method]}.</b> {METHOD_DESCRIPTIONS[method]}")
                                    for method in METHODS]
        for paragraph in self.method_explanations:
            explain_layout.addWidget(paragraph)

        content = QWidget()
        layout = QVBoxLayout(content)
        layout.addWidget(self.message)
        for group in (valid_group, same_group, pool_group, flatten_group, explain_group):
            layout.addWidget(group)
        layout.addStretch(1)
        self.setWidget(content)

        for table in (self.conv_input, self.kernel, self.pool_input):
            table.rejected.connect(self._show_rejection)
        self.conv_input.edited.connect(self._update_convolution)
        self.kernel.edited.connect(self._update_convolution)
        self.bias.valueChanged.connect(self._update_convolution)
        self.valid_output.currentCellChanged.connect(self._explain_valid)
        self.same_output.currentCellChanged.connect(self._explain_same)
        self.pool_input.edited.connect(self._update_pooling)
        self.max_output.currentCellChanged.connect(self._explain_pooling)
        self.average_output.currentCellChanged.connect(self._explain_pooling)

        self.conv_input.set_matrix(DEFAULT_INPUT)
        self.kernel.set_matrix(DEFAULT_KERNEL)
        self.pool_input.set_matrix(DEFAULT_POOL_INPUT)
        self._update_convolution()
        self._update_pooling()

    # ------------------------------------------------------------------ convolution
    @Slot()
    def _update_convolution(self) -> None:
        self.message.setVisible(False)
        image, kernel, bias = self.conv_input.matrix(), self.kernel.matrix(), self.bias.value()
        self.valid_output.set_matrix(demo.convolve(image, kernel, bias=bias))
        padded, _ = demo.pad_input(image, kernel.shape, "same")
        pad = kernel.shape[0] // 2
        border = np.ones(padded.shape[:2], dtype=bool)
        border[pad:pad + image.shape[0], pad:pad + image.shape[1]] = False
        self.padded_input.set_matrix(padded[..., 0], greyed=border)
        self.same_kernel.set_matrix(kernel)
        self.same_output.set_matrix(demo.convolve(image, kernel, bias=bias, padding="same"))
        self._explain_valid(*self._current(self.valid_output))
        self._explain_same(*self._current(self.same_output))

    @staticmethod
    def _current(table: QTableWidget) -> tuple[int, int]:
        row, col = table.currentRow(), table.currentColumn()
        return (row, col) if row >= 0 and col >= 0 else (0, 0)

    def _step_text(self, step: demo.ConvolutionStep) -> str:
        return (f"<b>Output row {step.row}, column {step.col}</b> = "
                f"<span style='font-family:monospace'>{step.formula()}</span>")

    @Slot(int, int)
    def _explain_valid(self, row: int, col: int, *_) -> None:
        if row < 0 or col < 0:
            return
        step = demo.convolution_step(self.conv_input.matrix(), self.kernel.matrix(), row, col,
                                     bias=self.bias.value())
        self.valid_explanation.setText(self._step_text(step))
        size = self.kernel.rowCount()
        self.conv_input.highlight((row + r, col + c) for r in range(size) for c in range(size))
        self.valid_output.highlight([(row, col)])

    @Slot(int, int)
    def _explain_same(self, row: int, col: int, *_) -> None:
        if row < 0 or col < 0:
            return
        step = demo.convolution_step(self.conv_input.matrix(), self.kernel.matrix(), row, col,
                                     bias=self.bias.value(), padding="same")
        self.same_explanation.setText(self._step_text(step) + "<br>(zeros from the padding add nothing)")
        size = self.kernel.rowCount()
        self.padded_input.highlight((row + r, col + c) for r in range(size) for c in range(size))
        self.same_output.highlight([(row, col)])

    # ------------------------------------------------------------------ pooling and flatten
    @Slot()
    def _copy_feature_map_to_pooling(self) -> None:
        self.pool_input.set_matrix(self.same_output.matrix())
        self._update_pooling()

    @Slot()
    def _update_pooling(self) -> None:
        self.message.setVisible(False)
        matrix = self.pool_input.matrix()
        self.max_output.set_matrix(demo.max_pool(matrix, POOL))
        self.average_output.set_matrix(demo.average_pool(matrix, POOL))
        vector = demo.flatten(matrix)
        self.flat_output.set_matrix(vector[np.newaxis])
        self.flatten_explanation.setText(
            f"{matrix.shape[0]}×{matrix.shape[1]} = {vector.size} numbers. The network flattens its last feature "
            "maps the same way (the tutorial's model: 7×7×64 maps into 3,136 numbers).")
        self._explain_pooling(*self._current(self.max_output))

    @Slot(int, int)
    def _explain_pooling(self, row: int, col: int, *_) -> None:
        if row < 0 or col < 0:
            return
        window = self.pool_input.matrix()[row * POOL:(row + 1) * POOL, col * POOL:(col + 1) * POOL].ravel()
        numbers = [format_number(value) for value in window]
        self.pool_explanation.setText(
            f"<b>Window at output row {row}, column {col}</b>: max({', '.join(numbers)}) = "
            f"{format_number(window.max())};  ({' + '.join(numbers)}) / {window.size} = "
            f"{format_number(window.mean())}")
        self.pool_input.highlight((row * POOL + r, col * POOL + c) for r in range(POOL) for c in range(POOL))
        self.max_output.highlight([(row, col)])
        self.average_output.highlight([(row, col)])

    @Slot(str)
    def _show_rejection(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(True)
