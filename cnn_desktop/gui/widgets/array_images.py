"""NumPy arrays to and from QImage: the one set of conversions every view of a picture, a 28x28 image, a
heat map or the canvas uses."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage


def to_grey_qimage(image: np.ndarray) -> QImage:
    """(H, W) float in [0, 1] or uint8 -> an 8-bit grey QImage that owns its pixels (the array may go away)."""
    array = np.asarray(image)
    if array.dtype != np.uint8:
        array = np.round(np.clip(array, 0, 1) * 255).astype(np.uint8)
    array = np.ascontiguousarray(array)
    height, width = array.shape
    return QImage(array.data, width, height, array.strides[0], QImage.Format.Format_Grayscale8).copy()


def rgba_qimage(rgba: np.ndarray) -> QImage:
    """(H, W, 4) uint8 RGBA -> a QImage that owns its pixels."""
    array = np.ascontiguousarray(rgba, dtype=np.uint8)
    height, width = array.shape[:2]
    return QImage(array.data, width, height, array.strides[0], QImage.Format.Format_RGBA8888).copy()


def picture_qimage(picture: np.ndarray) -> QImage:
    """A grey (H, W) or RGBA (H, W, 4) uint8 picture as a QImage."""
    return to_grey_qimage(picture) if picture.ndim == 2 else rgba_qimage(picture)


def qimage_to_rgba(image: QImage) -> np.ndarray:
    """A QImage -> (H, W, 4) uint8 RGBA array (a copy)."""
    converted = image.convertToFormat(QImage.Format.Format_RGBA8888)
    rows = np.frombuffer(converted.constBits(), dtype=np.uint8).reshape(converted.height(), converted.bytesPerLine())
    return rows[:, :converted.width() * 4].reshape(converted.height(), converted.width(), 4).copy()
