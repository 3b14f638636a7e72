"""The options of one layer of a network design, as a form built from the core's ``LAYER_TYPES``.

Whole numbers get a spin box over their allowed range, fractions a decimal
spin box, choices a drop-down, yes/no a check box; the form changes with the
layer's type. Every edit sends the whole layer (``layerEdited``) for the core
to check.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QGroupBox, QLabel, QSpinBox

from cnn_desktop.core.design import BoolOption, ChoiceOption, FloatOption, IntOption, LAYER_TYPES

OPTION_LABELS = {"filters": "Filters", "kernel_size": "Kernel size", "strides": "Stride", "padding": "Padding",
                 "activation": "Activation", "use_bias": "Bias", "pool_size": "Pool size", "momentum": "Momentum",
                 "rate": "Drop rate", "units": "Units"}
OPTION_TIPS = {
    "filters": "How many patterns the layer looks for: the depth of its output",
    "kernel_size": "The width and height of each filter, in pixels",
    "strides": "How many pixels the window moves each step (2 halves the image)",
    "padding": "same: pad the border so the image keeps its size (at stride 1); valid: no padding, it shrinks",
    "activation": "The function applied to each output",
    "use_bias": "Add a learned constant to each output",
    "pool_size": "The width and height of the window whose maximum or mean is kept",
    "momentum": "How slowly the running mean and variance follow the batches",
    "rate": "The share of inputs set to zero at random while training",
    "units": "How many outputs (neurons) the layer has",
}
FLOAT_DECIMALS = 3


class LayerEditor(QGroupBox):
    layerEdited = Signal(dict)  # the layer with the edited options

    def __init__(self, parent=None):
        super().__init__("Layer", parent)
        self._layer: dict | None = None
        self.fields: dict[str, object] = {}
        self._form = QFormLayout(self)
        self._empty = QLabel("Select a layer to edit its options.", self)
        self._empty.setWordWrap(True)
        self._form.addRow(self._empty)

    def set_layer(self, layer: dict | None, position: int | None = None) -> None:
        """Show ``layer``'s options (``position``: 1-based, for the title); None shows nothing to edit.

        A layer of the type already shown only updates the values, so a field being edited keeps its focus.
        """
        if layer is not None and self._layer is not None and layer["type"] == self._layer["type"]:
            self._layer = dict(layer)
            self.setTitle(f"Layer {position}: {layer['type']}" if position is not None else layer["type"])
            for option, field in self.fields.items():
                self._set_value(field, layer[option])
            return
        while self._form.rowCount():
            self._form.removeRow(0)
        self.fields = {}
        self._layer = dict(layer) if layer is not None else None
        if layer is None:
            self.setTitle("Layer")
            self._empty = QLabel("Select a layer to edit its options.", self)
            self._form.addRow(self._empty)
            return
        self.setTitle(f"Layer {position}: {layer['type']}" if position is not None else layer["type"])
        options = LAYER_TYPES[layer["type"]]
        if not options:
            self._form.addRow(QLabel("This layer has no options.", self))
        for option, spec in options.items():
            field = self._make_field(spec, layer[option])
            field.setToolTip(OPTION_TIPS.get(option, ""))
            self.fields[option] = field
            self._form.addRow(OPTION_LABELS.get(option, option) + ":", field)

    def _make_field(self, spec, value):
        if isinstance(spec, IntOption):
            field = QSpinBox(self)
            field.setRange(spec.low, spec.high)
            field.setValue(value)
            if spec.unit:
                field.setSuffix(f" {spec.unit}")
            field.valueChanged.connect(self._emit)
        elif isinstance(spec, FloatOption):
            field = QDoubleSpinBox(self)
            field.setDecimals(FLOAT_DECIMALS)
            field.setRange(spec.low, spec.high - 10 ** -FLOAT_DECIMALS)  # the core's upper bound is exclusive
            field.setSingleStep(0.05)
            field.setValue(value)
            field.valueChanged.connect(self._emit)
        elif isinstance(spec, ChoiceOption):
            field = QComboBox(self)
            field.addItems(list(spec.choices))
            field.setCurrentText(value)
            field.currentTextChanged.connect(self._emit)
        elif isinstance(spec, BoolOption):
            field = QCheckBox(self)
            field.setChecked(value)
            field.toggled.connect(self._emit)
        else:  # a new option kind in the core: shown, not editable here
            field = QLabel(str(value), self)
        return field

    @staticmethod
    def _set_value(field, value) -> None:
        blocked = field.blockSignals(True)
        if isinstance(field, (QSpinBox, QDoubleSpinBox)):
            field.setValue(value)
        elif isinstance(field, QComboBox):
            field.setCurrentText(value)
        elif isinstance(field, QCheckBox):
            field.setChecked(value)
        field.blockSignals(blocked)

    def layer(self) -> dict | None:
        """The layer as the form shows it."""
        if self._layer is None:
            return None
        layer = dict(self._layer)
        for option, field in self.fields.items():
            if isinstance(field, QDoubleSpinBox):
                layer[option] = round(field.value(), FLOAT_DECIMALS)
            elif isinstance(field, QSpinBox):
                layer[option] = field.value()
            elif isinstance(field, QComboBox):
                layer[option] = field.currentText()
            elif isinstance(field, QCheckBox):
                layer[option] = field.isChecked()
        return layer

    def _emit(self, *args) -> None:
        layer = self.layer()
        if layer is not None:
            self._layer = layer
            self.layerEdited.emit(layer)
