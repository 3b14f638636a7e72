"""The current image: what Classify shows and Inspect looks into.

It comes from the canvas, a file, the clipboard or a dataset image. Holding it
here lets every tab follow it: the inspector's feature maps update live as the
user draws.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QObject, Signal


@dataclass(frozen=True)
class ImageSource:
    kind: str  # "canvas", "file", "clipboard", "dataset"
    description: str  # e.g. a file name, or "test #123"
    true_label: int | None = None  # known for dataset images


class ImageState(QObject):
    imageChanged = Signal()  # a new 28x28 image (or None)
    # Ask the window to show a tab for this image ("classify" or "inspect").
    showRequested = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.image: np.ndarray | None = None  # (28, 28) float32 in [0, 1]
        self.source: ImageSource | None = None
        self.message: str = ""  # why there is no image (e.g. "nothing to classify")

    def set_image(self, image: np.ndarray | None, source: ImageSource | None, message: str = "") -> None:
        self.image = None if image is None else np.asarray(image, dtype=np.float32)
        self.source = source
        self.message = message
        self.imageChanged.emit()
