"""Receptive fields: which input pixels an output pixel of a layer can see (the inspector shows them).

The standard size / jump / offset recurrence over the window, stride and
padding of each layer, read from a Keras model without importing TensorFlow.
Plain numpy and Python: no Qt.
"""

from __future__ import annotations

from dataclasses import dataclass

from cnn_desktop.core.convolution_demo import same_padding, square_size


@dataclass(frozen=True)
class LayerGeometry:
    """What a layer does to positions: window size, stride and zeros added before (per axis, square here)."""

    name: str
    kernel: int = 1
    stride: int = 1
    pad_before: int = 0
    spatial: bool = True  # False from Flatten on: outputs no longer have a position


@dataclass(frozen=True)
class ReceptiveField:
    """Where an output pixel of a layer looks in the input image.

    ``size``: side of the square of input pixels that can influence it; ``jump``:
    input pixels between neighbouring outputs; ``offset``: input coordinate of the
    centre of output pixel 0 (may be x.5 after 2×2 pooling).
    """

    size: int
    jump: int
    offset: float

    def rectangle(self, row: int, col: int) -> tuple[int, int, int, int]:
        """(top, left, bottom, right), inclusive input pixel indices; may reach into the zero padding."""
        half = (self.size - 1) / 2
        top = self.offset + row * self.jump - half
        left = self.offset + col * self.jump - half
        return int(round(top)), int(round(left)), int(round(top)) + self.size - 1, int(round(left)) + self.size - 1


def receptive_fields(geometries: list[LayerGeometry]) -> dict[str, ReceptiveField]:
    """Receptive field of every spatial layer, layer after layer (the standard size/jump/offset recurrence)."""
    fields: dict[str, ReceptiveField] = {}
    size, jump, offset = 1, 1, 0.0
    for geometry in geometries:
        if not geometry.spatial:
            break
        offset += ((geometry.kernel - 1) / 2 - geometry.pad_before) * jump
        size += (geometry.kernel - 1) * jump
        jump *= geometry.stride
        fields[geometry.name] = ReceptiveField(size, jump, offset)
    return fields


def keras_layer_geometries(model) -> list[LayerGeometry]:
    """Read the window/stride/padding of each layer of a Keras Sequential model (no TensorFlow import)."""
    geometries = []
    for layer in model.layers:
        kind = type(layer).__name__
        shape = tuple(layer.input.shape)
        if len(shape) != 4 or len(tuple(layer.output.shape)) != 4:
            geometries.append(LayerGeometry(layer.name, spatial=False))
            continue
        if kind == "Conv2D":
            kernel, stride = square_size(layer.kernel_size), square_size(layer.strides)
            if square_size(layer.dilation_rate) != 1:
                raise ValueError(f"{layer.name}: dilated convolutions are not supported")
        elif kind in ("MaxPooling2D", "AveragePooling2D"):
            kernel, stride = square_size(layer.pool_size), square_size(layer.strides)
        else:  # BatchNormalization, Activation, Dropout...: position by position
            geometries.append(LayerGeometry(layer.name))
            continue
        pad_before = same_padding(int(shape[1]), kernel, stride)[0] if layer.padding == "same" else 0
        geometries.append(LayerGeometry(layer.name, kernel, stride, pad_before))
    return geometries
