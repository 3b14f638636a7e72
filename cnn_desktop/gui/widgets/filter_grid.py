"""The learned kernels of one convolution layer, on a blue-white-red scale centred at zero.

A first-layer kernel is a 3×3 patch of weights applied to the image. A deeper
kernel is 3×3×(input channels): it is shown either averaged over its input
channels (an overview) or for one input channel chosen by the user.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Slot
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from cnn_desktop.gui.widgets.feature_map_grid import FeatureMapGrid

AVERAGE = -1  # combo data for "average over the input channels"


class FilterGrid(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self._kernel: np.ndarray | None = None  # (kh, kw, in, out)
        self._layer_name = ""
        self.description = QLabel()
        self.description.setWordWrap(True)
        self.channel_label = QLabel("Input &channel:")
        self.channel_choice = QComboBox()
        self.channel_choice.setToolTip("Which slice of each 3-D kernel to draw")
        self.channel_label.setBuddy(self.channel_choice)
        self.channel_choice.currentIndexChanged.connect(self._redraw)
        self.grid = FeatureMapGrid(colormap="CET-D1", centred=True, item_name="filter", value_name="weight")

        choice_row = QHBoxLayout()
        choice_row.addWidget(self.channel_label)
        choice_row.addWidget(self.channel_choice)
        choice_row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.description)
        layout.addLayout(choice_row)
        layout.addWidget(self.grid, 1)
        self.show_message("Select a convolution layer to see its filters.")

    @property
    def filter_count(self) -> int:
        return self.grid.channel_count

    @property
    def shown_input_channel(self) -> int:
        """The input channel drawn, or AVERAGE."""
        data = self.channel_choice.currentData()
        return AVERAGE if data is None else int(data)

    def show_message(self, text: str) -> None:
        self._kernel = None
        self.description.setText(text)
        self.channel_label.setVisible(False)
        self.channel_choice.setVisible(False)
        self.grid.show_message("No filters to show.")

    def set_filters(self, layer_name: str, kernel: np.ndarray) -> None:
        """Show the kernels of ``layer_name``: ``kernel`` is (kh, kw, in_channels, filters) as Keras stores it."""
        kernel = np.asarray(kernel, dtype=np.float32)
        inputs = kernel.shape[2]
        keep_choice = self._kernel is not None and self._kernel.shape == kernel.shape and layer_name == self._layer_name
        self._kernel, self._layer_name = kernel, layer_name
        if not keep_choice:
            self.channel_choice.blockSignals(True)
            self.channel_choice.clear()
            self.channel_choice.addItem(f"Average over all {inputs} input channels", AVERAGE)
            for channel in range(inputs):
                self.channel_choice.addItem(f"Input channel #{channel}", channel)
            self.channel_choice.blockSignals(False)
        self._redraw()

    @Slot()
    def _redraw(self) -> None:
        if self._kernel is None:
            return
        channel = self.shown_input_channel
        slices = self._kernel.mean(axis=2) if channel == AVERAGE else self._kernel[:, :, channel, :]
        self.grid.set_maps(slices)
        self._describe()

    def _describe(self) -> None:
        kh, kw, inputs, filters = self._kernel.shape
        several = inputs > 1
        self.channel_label.setVisible(several)
        self.channel_choice.setVisible(several)
        if several:
            channel = self.shown_input_channel
            detail = (f"Each filter is {kh}×{kw}×{inputs}: one {kh}×{kw} slice per map of the previous layer. "
                      "Shown: " + ("the average over those slices." if channel == AVERAGE
                                   else f"the slice for input channel #{channel}."))
        else:
            detail = (f"Each filter is a {kh}×{kw} patch of weights slid over the image; "
                      "it responds where the image looks like it.")
        self.description.setText(f"<b>{self._layer_name}</b>: {filters} learned filters. {detail} "
                                 "Red: positive weights, blue: negative, white: zero.")
