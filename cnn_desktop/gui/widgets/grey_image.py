"""Grey images from numpy arrays: the one conversion every view of a 28x28 image (or the canvas) uses."""

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
