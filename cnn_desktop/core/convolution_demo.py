"""The arithmetic of a CNN written out by hand, small enough to show every number.

The layer inspector's "How it works" panel and its receptive-field view use
these functions; they follow Keras' conventions (channels last, cross-correlation
without flipping the kernel, 'valid' = no padding, 'same' = zero padding that
keeps the size at stride 1, pooling windows with stride = window size) so the
numbers agree with what a real ``Conv2D`` / ``MaxPooling2D`` layer computes.

Plain numpy: no Qt, no TensorFlow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

PADDINGS = ("valid", "same")


def format_number(value: float, decimals: int = 2) -> str:
    """Short and exact-looking: 9 not 9.00, 0.5 not 0.50, a true minus sign, never '−0'."""
    text = f"{value:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if text in ("-0", ""):
        text = "0"
    return text.replace("-", "−")


def _as_3d(inputs: np.ndarray) -> np.ndarray:
    """(H, W) -> (H, W, 1); (H, W, C) unchanged."""
    array = np.asarray(inputs, dtype=np.float64)
    if array.ndim == 2:
        array = array[..., np.newaxis]
    if array.ndim != 3:
        raise ValueError(f"expected a matrix (H, W) or maps (H, W, C), got shape {np.asarray(inputs).shape}")
    return array


def _kernel_as_3d(kernel: np.ndarray, in_channels: int) -> np.ndarray:
    array = np.asarray(kernel, dtype=np.float64)
    if array.ndim == 2:
        array = array[..., np.newaxis]
    if array.ndim != 3 or array.shape[2] != in_channels:
        raise ValueError(f"kernel of shape {np.asarray(kernel).shape} does not fit {in_channels} input channel(s)")
    return array


def same_padding(size: int, kernel: int, stride: int = 1) -> tuple[int, int]:
    """Zeros added before and after one axis for 'same' padding (TensorFlow's rule: the extra one goes after)."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def pad_input(inputs: np.ndarray, kernel_shape: tuple[int, int], padding: str) -> tuple[np.ndarray, tuple[int, int]]:
    """The input with the zero border a convolution of ``padding`` uses, and the (top, left) amounts added."""
    if padding not in PADDINGS:
        raise ValueError(f"padding must be one of {PADDINGS}, not {padding!r}")
    array = _as_3d(inputs)
    if padding == "valid":
        return array, (0, 0)
    top, bottom = same_padding(array.shape[0], kernel_shape[0])
    left, right = same_padding(array.shape[1], kernel_shape[1])
    return np.pad(array, ((top, bottom), (left, right), (0, 0))), (top, left)


@dataclass(frozen=True)
class ConvolutionStep:
    """One output number of a convolution: the input patch times the kernel, summed, plus the bias."""

    row: int
    col: int
    patch: np.ndarray  # (kh, kw, C) input values under the kernel (padding zeros included)
    kernel: np.ndarray  # (kh, kw, C)
    bias: float
    top: int  # where the patch starts in the unpadded input (negative: it overlaps the zero border)
    left: int

    @property
    def products(self) -> np.ndarray:
        return self.patch * self.kernel

    @property
    def sum_of_products(self) -> float:
        return float(self.products.sum())

    @property
    def value(self) -> float:
        """The convolution's output before any activation."""
        return self.sum_of_products + self.bias

    def formula(self, decimals: int = 2) -> str:
        """e.g. '9×1 + 8×2 + … + 3×(−1) = 27' (with '+ bias' when there is one)."""
        def number(x: float) -> str:
            text = format_number(x, decimals)
            return f"({text})" if text.startswith("−") else text

        terms = [f"{number(p)}×{number(k)}" for p, k in zip(self.patch.ravel(), self.kernel.ravel())]
        text = " + ".join(terms)
        if self.bias:
            text += f" + {number(self.bias)}"
        return f"{text} = {format_number(self.value, decimals)}"


def convolution_step(inputs: np.ndarray, kernel: np.ndarray, row: int, col: int, *, bias: float = 0.0,
                     padding: str = "valid") -> ConvolutionStep:
    """How output pixel (row, col) of a stride-1 convolution is computed."""
    array = _as_3d(inputs)
    weights = _kernel_as_3d(kernel, array.shape[2])
    padded, (top, left) = pad_input(array, weights.shape[:2], padding)
    out_h = padded.shape[0] - weights.shape[0] + 1
    out_w = padded.shape[1] - weights.shape[1] + 1
    if not (0 <= row < out_h and 0 <= col < out_w):
        raise IndexError(f"output pixel ({row}, {col}) is outside the {out_h}×{out_w} output")
    patch = padded[row:row + weights.shape[0], col:col + weights.shape[1], :]
    return ConvolutionStep(row, col, patch.copy(), weights, float(bias), row - top, col - left)


def convolve(inputs: np.ndarray, kernel: np.ndarray, *, bias: float = 0.0, padding: str = "valid") -> np.ndarray:
    """A stride-1 convolution of a matrix (or C maps) with one kernel: the (H', W') feature map."""
    array = _as_3d(inputs)
    weights = _kernel_as_3d(kernel, array.shape[2])
    padded, _ = pad_input(array, weights.shape[:2], padding)
    kh, kw = weights.shape[:2]
    out = np.empty((padded.shape[0] - kh + 1, padded.shape[1] - kw + 1))
    for r in range(out.shape[0]):
        for c in range(out.shape[1]):
            out[r, c] = np.sum(padded[r:r + kh, c:c + kw, :] * weights)
    return out + bias


@dataclass(frozen=True)
class ConvolutionLayer:
    """The numbers of a stride-1 Conv2D layer needed to redo any of its outputs by hand."""

    name: str
    kernel: np.ndarray  # (kh, kw, in_channels, filters)
    bias: np.ndarray | None  # (filters,), None for layers without bias (followed by batch norm)
    padding: str
    activation: str | None  # Keras activation name: 'relu', 'linear', ...

    def step(self, inputs: np.ndarray, channel: int, row: int, col: int) -> ConvolutionStep:
        """How filter ``channel`` produced output pixel (row, col) of this layer from ``inputs``."""
        bias = 0.0 if self.bias is None else float(self.bias[channel])
        return convolution_step(inputs, self.kernel[..., channel], row, col, bias=bias, padding=self.padding)

    def output(self, step: ConvolutionStep) -> float | None:
        """The layer's output for ``step``: its activation applied; None for an activation not known here."""
        value = activate(self.activation, step.value)
        return None if value is None else float(value)


def keras_convolution(layer) -> ConvolutionLayer:
    """Read a Keras ``Conv2D`` layer's weights and settings."""
    if type(layer).__name__ != "Conv2D":
        raise ValueError(f"{layer.name} is a {type(layer).__name__}, not a Conv2D layer")
    if square_size(layer.strides) != 1 or square_size(layer.dilation_rate) != 1:
        raise ValueError(f"{layer.name}: only stride-1, undilated convolutions can be written out")
    bias = np.asarray(layer.bias) if getattr(layer, "use_bias", False) else None
    activation = getattr(layer.activation, "__name__", None)
    return ConvolutionLayer(layer.name, np.asarray(layer.kernel), bias, layer.padding, activation)


def _pool(matrix: np.ndarray, size: int, reduce) -> np.ndarray:
    array = np.asarray(matrix, dtype=np.float64)
    if array.ndim != 2:
        raise ValueError(f"pooling takes a matrix, got shape {array.shape}")
    rows, cols = array.shape[0] // size, array.shape[1] // size  # Keras 'valid': leftover rows/cols dropped
    if rows == 0 or cols == 0:
        raise ValueError(f"a {array.shape[0]}×{array.shape[1]} matrix is smaller than the {size}×{size} window")
    windows = array[:rows * size, :cols * size].reshape(rows, size, cols, size)
    return reduce(windows, axis=(1, 3))


def max_pool(matrix: np.ndarray, size: int = 2) -> np.ndarray:
    """Largest value of each size×size window (stride = size), like ``MaxPooling2D(size)``."""
    return _pool(matrix, size, np.max)


def average_pool(matrix: np.ndarray, size: int = 2) -> np.ndarray:
    """Mean of each size×size window (stride = size), like ``AveragePooling2D(size)``."""
    return _pool(matrix, size, np.mean)


def flatten(matrix: np.ndarray) -> np.ndarray:
    """Row by row into one vector, the order Keras' ``Flatten`` uses for channels-last data."""
    return np.asarray(matrix).reshape(-1)


def activate(name: str | None, value):
    """Apply a Keras activation by name; None when this module does not know it."""
    if name in (None, "linear"):
        return value
    if name == "relu":
        return np.maximum(value, 0)
    return None


def square_size(value) -> int:
    """The side of a square window or stride given as an int or a pair; ValueError for a non-square one."""
    values = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(set(values)) != 1:
        raise ValueError(f"only square windows are supported, got {values}")
    return int(values[0])
