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


def dataset_image(dataset, split: str, index: int) -> tuple[np.ndarray, ImageSource]:
    """Image ``index`` of a Fashion-MNIST split ("train" or "test") as the app's (28, 28) float image in [0, 1],
    with its source (caption "test #123" and true class)."""
    images, labels = dataset.split(split)
    return images[index].astype(np.float32) / 255.0, ImageSource("dataset", f"{split} #{index}", int(labels[index]))


class ImageState(QObject):
    imageChanged = Signal()  # a new 28x28 image (or None)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._image: np.ndarray | None = None
        self._source: ImageSource | None = None
        self._message: str = ""
        self._picture: np.ndarray | None = None
        self._prepared = None

    @property
    def image(self) -> np.ndarray | None:
        """The (28, 28) float32 image in [0, 1], or None."""
        return self._image

    @property
    def source(self) -> ImageSource | None:
        return self._source

    @property
    def message(self) -> str:
        """Why there is no image (e.g. "nothing to classify")."""
        return self._message

    @property
    def picture(self) -> np.ndarray | None:
        """The picture the image was made from, as shown (grey (H, W) or RGBA (H, W, 4) uint8), if any."""
        return self._picture

    @property
    def prepared(self):
        """The core ``PreparedImage`` of ``picture`` (where the network's 28x28 frame lies on it), if any."""
        return self._prepared

    def set_image(self, image: np.ndarray | None, source: ImageSource | None, message: str = "", *,
                  picture: np.ndarray | None = None, prepared=None) -> None:
        self._image = None if image is None else np.asarray(image, dtype=np.float32)
        self._source = source
        self._message = message
        self._picture, self._prepared = (None, None) if image is None else (picture, prepared)
        self.imageChanged.emit()

    def set_dataset_image(self, dataset, split: str, index: int) -> None:
        """Make image ``index`` of a split ("train" or "test") the current image."""
        self.set_image(*dataset_image(dataset, split, index))
