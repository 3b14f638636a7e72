"""What a convolution filter looks for: its activation-maximisation pattern and the test images that excite it.

Both come from ``core.filter_patterns`` and run in worker threads
(:class:`LatestTask`: a newer choice cancels the older one). The core caches
them per model and weights, so going back to a filter shows it at once and a
training's new weights never serve a stale pattern. Nothing is computed while
no view is on screen.
"""

from __future__ import annotations

import logging
import threading

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot

from cnn_desktop.core.explain import conv_layer_names
from cnn_desktop.core.filter_patterns import TOP_K, FilterPattern, TopImages, filter_patterns_for
from cnn_desktop.gui.concurrency.latest_task import LatestTask

log = logging.getLogger(__name__)

PROGRESS_EVERY = 8  # gradient steps between progress reports (a step takes a few ms)


def compute_pattern(model, layer: str, filter_index: int, on_progress, should_stop) -> tuple[FilterPattern, int]:
    """Runs in a worker thread: the filter's pattern, and the thread that computed it."""
    def report(done: int, total: int) -> None:
        if done % PROGRESS_EVERY == 0 or done == total:
            on_progress(done, total)

    pattern = filter_patterns_for(model).pattern(layer, filter_index, should_stop=should_stop, on_progress=report)
    return pattern, threading.get_ident()


def compute_top_images(model, images: np.ndarray, layer: str, filter_index: int, k: int) -> TopImages:
    """Runs in a worker thread: the ``k`` images that excite the filter most."""
    return filter_patterns_for(model).top_images(images, layer, filter_index, k)


class _ProgressRelay(QObject):
    progress = Signal(int, int, int)  # run number, steps done, steps in all


class FilterPatternState(QObject):
    selectionChanged = Signal()  # layer or filter changed
    layersChanged = Signal()
    patternChanged = Signal()  # read ``pattern`` (None while computing or when there is none)
    topImagesChanged = Signal()  # read ``top_images`` and ``top_pictures``
    progressChanged = Signal(int, int)  # gradient steps done, steps in all
    runningChanged = Signal(bool)
    messageChanged = Signal()

    def __init__(self, model_state, data_state, parent=None, k: int = TOP_K):
        super().__init__(parent)
        self.model_state, self.data_state, self.k = model_state, data_state, k
        self._layers: list[str] = []
        self._layer: str | None = None
        self._filter = 0
        self._pattern: FilterPattern | None = None
        self._top: TopImages | None = None
        self._message = ""
        self._viewers: set[int] = set()
        self._stale = True
        self._run = 0
        self._stop: threading.Event | None = None
        self.pattern_thread_id: int | None = None

        self._pattern_task = LatestTask("filter-pattern", self)
        self._pattern_task.finished.connect(self._on_pattern)
        self._pattern_task.failed.connect(self._on_failed)
        self._pattern_task.runningChanged.connect(self.runningChanged)
        self._top_task = LatestTask("filter-top-images", self)
        self._top_task.finished.connect(self._on_top_images)
        self._top_task.failed.connect(self._on_failed)
        self._relay = _ProgressRelay(self)
        self._relay.progress.connect(self._on_progress)

        model_state.modelChanged.connect(self._on_model_changed)
        model_state.weightsChanged.connect(self._invalidate)
        data_state.loaded.connect(self._invalidate)
        self._on_model_changed()

    # ------------------------------------------------------------------ read-only fields
    @property
    def layers(self) -> list[str]:
        return list(self._layers)

    @property
    def layer(self) -> str | None:
        return self._layer

    @property
    def filter_index(self) -> int:
        return self._filter

    @property
    def filter_count(self) -> int:
        if self._layer is None or self.model_state.model is None:
            return 0
        return filter_patterns_for(self.model_state.model).filter_count(self._layer)

    @property
    def pattern(self) -> FilterPattern | None:
        return self._pattern

    @property
    def top_images(self) -> TopImages | None:
        return self._top

    @property
    def top_pictures(self) -> np.ndarray | None:
        """The top images themselves: (k, 28, 28) uint8 test images, most exciting first."""
        if self._top is None or self.data_state.dataset is None:
            return None
        return self.data_state.dataset.test_images[self._top.indices]

    @property
    def message(self) -> str:
        return self._message

    @property
    def running(self) -> bool:
        return self._pattern_task.running

    # ------------------------------------------------------------------ choices
    def select(self, layer: str | None, filter_index: int) -> None:
        """Show filter ``filter_index`` of convolution ``layer`` (ignored for a layer that is not one)."""
        if layer not in self._layers:
            return
        count = filter_patterns_for(self.model_state.model).filter_count(layer)
        filter_index = int(np.clip(filter_index, 0, count - 1))
        if (layer, filter_index) == (self._layer, self._filter):
            return
        self._layer, self._filter = layer, filter_index
        self.selectionChanged.emit()
        self._invalidate()

    def add_viewer(self, viewer: object) -> None:
        self._viewers.add(id(viewer))
        if self._stale:
            self.refresh()

    def remove_viewer(self, viewer: object) -> None:
        self._viewers.discard(id(viewer))

    # ------------------------------------------------------------------ computing
    @Slot()
    def _on_model_changed(self) -> None:
        model = self.model_state.model
        try:
            self._layers = conv_layer_names(model) if model is not None else []
        except Exception as exc:  # a model whose layers cannot be walked: nothing to show
            log.info("no convolution filters to visualise: %s", exc)
            self._layers = []
        if self._layer not in self._layers:
            self._layer, self._filter = (self._layers[0] if self._layers else None), 0
        self.layersChanged.emit()
        self.selectionChanged.emit()
        self._invalidate()

    @Slot()
    def _invalidate(self, *_signal_arguments) -> None:
        self._stale = True
        if self._viewers:
            self.refresh()

    @Slot()
    def refresh(self) -> None:
        """Compute the pattern and the top images of the chosen filter (cancelling what is in progress)."""
        self._stale = False
        self._run += 1
        if self._stop is not None:
            self._stop.set()
        self._pattern, self._top = None, None
        model = self.model_state.model
        if model is None or self._layer is None:
            self._pattern_task.cancel()
            self._top_task.cancel()
            self._set_message("No convolution layer to look into" if model is not None else "No model yet")
        else:
            self._set_message("")
            stop = self._stop = threading.Event()
            run, relay = self._run, self._relay
            self._pattern_task.start(compute_pattern, model, self._layer, self._filter,
                                     lambda done, total: relay.progress.emit(run, done, total), stop.is_set,
                                     cancel=stop.set)
            dataset = self.data_state.dataset
            if dataset is not None:
                self._top_task.start(compute_top_images, model, dataset.test_images, self._layer, self._filter,
                                     self.k)
            else:
                self._top_task.cancel()
        self.patternChanged.emit()
        self.topImagesChanged.emit()

    @Slot(int, int, int)
    def _on_progress(self, run: int, done: int, total: int) -> None:
        if run == self._run:
            self.progressChanged.emit(done, total)

    @Slot(object)
    def _on_pattern(self, result) -> None:
        self._pattern, self.pattern_thread_id = result
        self.patternChanged.emit()

    @Slot(object)
    def _on_top_images(self, top: TopImages) -> None:
        self._top = top
        self.topImagesChanged.emit()

    @Slot(str, str)
    def _on_failed(self, message: str, details: str) -> None:
        log.info("filter pattern not computed: %s", message)
        self._set_message(f"Not computed: {message}")

    def _set_message(self, text: str) -> None:
        self._message = text
        self.messageChanged.emit()

    def stop_and_wait(self) -> None:
        """The window is closing: stop the work in progress and wait for its threads."""
        self._stale = True
        if self._stop is not None:
            self._stop.set()
        self._pattern_task.stop_and_wait()
        self._top_task.stop_and_wait()
