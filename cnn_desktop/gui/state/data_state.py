"""The Fashion-MNIST dataset for the app, loaded in the background once."""

from __future__ import annotations

import functools
import logging

import numpy as np

from PySide6.QtCore import QObject, Signal, Slot

from cnn_desktop.gui.concurrency.task_runner import TaskRunner

log = logging.getLogger(__name__)


class DataState(QObject):
    loaded = Signal()
    failed = Signal(str)
    loadingChanged = Signal(bool)

    def __init__(self, data_dir=None, parent=None):
        super().__init__(parent)
        self.data_dir = data_dir
        self.dataset = None
        self.error: str = ""
        self._runner: TaskRunner | None = None
        self._rng = np.random.default_rng()

    def random_test_index(self) -> int | None:
        """A random image of the test set (for "random test image" buttons); None without a dataset."""
        if self.dataset is None:
            return None
        return int(self._rng.integers(len(self.dataset.test_images)))

    @property
    def loading(self) -> bool:
        return self._runner is not None and self._runner.is_running()

    def load(self, *, allow_download: bool = False) -> None:
        """Start loading (local files only unless ``allow_download``); emits loaded or failed."""
        if self.loading or self.dataset is not None:
            return
        from cnn_desktop.core.dataset import load_dataset

        self.error = ""
        self._runner = TaskRunner(functools.partial(load_dataset, self.data_dir, allow_download=allow_download),
                                  name="dataset-loader", parent=self)
        self._runner.finished.connect(self._on_loaded)
        self._runner.failed.connect(self._on_failed)
        self._runner.done.connect(lambda: self.loadingChanged.emit(False))
        self.loadingChanged.emit(True)
        self._runner.start()

    def reload(self, data_dir=None, *, allow_download: bool = False) -> None:
        """Forget the dataset (or the failure) and load again from ``data_dir``.

        ``data_dir=None`` searches the usual places (and downloads when
        ``allow_download``); a folder the user chose must hold the files itself.
        Does nothing while a load is running.
        """
        if self.loading:
            return
        self.data_dir = data_dir
        self.dataset = None
        self.load(allow_download=allow_download)

    @Slot(object)
    def _on_loaded(self, dataset) -> None:
        self.dataset = dataset
        log.info("dataset loaded from %s", dataset.source)
        self.loaded.emit()

    @Slot(str, str)
    def _on_failed(self, message: str, details: str) -> None:
        self.error = message
        log.warning("dataset not available: %s", message)
        self.failed.emit(message)

    def stop_and_wait(self) -> None:
        if self._runner is not None:
            self._runner.stop_and_wait()
