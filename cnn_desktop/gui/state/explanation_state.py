"""Why did the network say that? The explanation of the current image, kept up to date in the background.

Holds what the user chose (method, class, Grad-CAM layer, occlusion patch and
stride, overlay opacity) and the newest explanation of the current image. Every
computation is ``core.explain`` run by a :class:`LatestTask` in a worker
thread: a newer request (the image, the model, its weights or an option
changed) cancels the one in progress, and only the newest result is shown.
Occlusion reports each row of patches as it is done, so the map fills in.
Image changes (drawing) are coalesced by a :class:`Throttle`; nothing is
computed while no view of the explanation is on screen.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot

from cnn_desktop.core.explain import (GRADCAM, METHODS, OCCLUSION, OCCLUSION_PATCH, OCCLUSION_STRIDE, Explanation,
                                      OcclusionProgress, explainer_for)
from cnn_desktop.gui.concurrency.latest_task import LatestTask
from cnn_desktop.gui.throttle import Throttle

log = logging.getLogger(__name__)

# Drawing changes the image many times a second; an explanation more often than this is not worth its CPU.
REFRESH_INTERVAL_MS = 120
DEFAULT_OPACITY = 0.7


@dataclass(frozen=True)
class ExplainedImage:
    """An explanation together with the image and picture it was computed for (so the overlay matches)."""

    explanation: Explanation
    image: np.ndarray  # (28, 28) float32: what the network saw
    picture: np.ndarray | None  # the picture the image came from (grey or RGBA uint8), None for a dataset image
    prepared: object | None  # its core PreparedImage (where the 28x28 frame lies on the picture)
    seconds: float  # time from the start of the computation (so far, while occlusion runs)
    thread_id: int  # the thread that computed it (never the GUI thread)


@dataclass(frozen=True)
class _Request:
    model: object
    image: np.ndarray
    picture: np.ndarray | None
    prepared: object | None
    method: str
    class_index: int | None
    options: dict


def compute_explanation(request: _Request, on_progress, should_stop) -> ExplainedImage:
    """Runs in a worker thread: the explanation asked for; occlusion reports partial maps to ``on_progress``."""
    started = time.perf_counter()
    explainer = explainer_for(request.model)

    def explained(explanation: Explanation) -> ExplainedImage:
        return ExplainedImage(explanation, request.image, request.picture, request.prepared,
                              time.perf_counter() - started, threading.get_ident())

    if request.method != OCCLUSION:
        return explained(explainer.explain(request.image, request.method, request.class_index, **request.options))
    probabilities = explainer.probabilities(request.image[np.newaxis, ..., np.newaxis])[0]
    predicted = int(np.argmax(probabilities))
    target = predicted if request.class_index is None else request.class_index

    def report(progress: OcclusionProgress) -> None:
        partial = Explanation(OCCLUSION, progress.heatmap, target, predicted, probabilities, scale=progress.scale,
                              complete=progress.rows_done == progress.rows_total, options=dict(request.options))
        on_progress(explained(partial), progress.rows_done, progress.rows_total)

    return explained(explainer.occlusion(request.image, target, on_progress=report, should_stop=should_stop,
                                         **request.options))


class _ProgressRelay(QObject):
    """Carries a worker's partial results to the GUI thread (a queued signal: the relay lives there)."""

    progress = Signal(int, object, int, int)  # run number, ExplainedImage, done, total


class ExplanationState(QObject):
    explanationChanged = Signal()  # a new (possibly partial) explanation, or none: read ``explained``
    optionsChanged = Signal()  # method, class, layer, patch, stride or opacity changed
    layersChanged = Signal()  # the model's convolution layers changed (a new model)
    runningChanged = Signal(bool)
    progressChanged = Signal(int, int)  # occlusion rows done, rows in all

    def __init__(self, model_state, image_state, parent=None):
        super().__init__(parent)
        self.model_state, self.image_state = model_state, image_state
        self._method = GRADCAM
        self._class_index: int | None = None  # None: the predicted class
        self._layer: str | None = None  # None: the last convolution
        self._patch_size, self._stride = OCCLUSION_PATCH, OCCLUSION_STRIDE
        self._opacity = DEFAULT_OPACITY
        self._layers: list[str] = []
        self._explained: ExplainedImage | None = None
        self._message = ""
        self._viewers: set[int] = set()
        self._stale = True
        self._run = 0
        self._stop: threading.Event | None = None
        self._source = None
        self.compute_count = 0  # finished computations (tests and benchmarks read it)

        self._task = LatestTask("explanation", self)
        self._task.finished.connect(self._on_finished)
        self._task.failed.connect(self._on_failed)
        self._task.runningChanged.connect(self.runningChanged)
        self._relay = _ProgressRelay(self)
        self._relay.progress.connect(self._on_progress)
        self._throttle = Throttle(self.refresh, REFRESH_INTERVAL_MS, self)

        model_state.modelChanged.connect(self._on_model_changed)
        model_state.weightsChanged.connect(self.request_refresh)
        model_state.loadingChanged.connect(self.request_refresh)
        image_state.imageChanged.connect(self._on_image_changed)
        self._on_model_changed()

    # ------------------------------------------------------------------ read-only fields
    @property
    def method(self) -> str:
        return self._method

    @property
    def class_index(self) -> int | None:
        """The class asked for, or None for the predicted class."""
        return self._class_index

    @property
    def explained_class(self) -> int | None:
        """The class the current explanation is about (the predicted one unless another was chosen)."""
        if self._class_index is not None:
            return self._class_index
        return None if self._explained is None else self._explained.explanation.class_index

    @property
    def layer(self) -> str | None:
        return self._layer

    @property
    def layers(self) -> list[str]:
        """The model's convolution layers Grad-CAM can read, in model order."""
        return list(self._layers)

    @property
    def patch_size(self) -> int:
        return self._patch_size

    @property
    def stride(self) -> int:
        return self._stride

    @property
    def opacity(self) -> float:
        return self._opacity

    @property
    def explained(self) -> ExplainedImage | None:
        return self._explained

    @property
    def message(self) -> str:
        """Why there is no explanation (no model, no image, an error)."""
        return self._message

    @property
    def running(self) -> bool:
        return self._task.running

    @property
    def active(self) -> bool:
        """A view of the explanation is on screen: only then is anything computed."""
        return bool(self._viewers)

    # ------------------------------------------------------------------ choices
    def set_method(self, method: str) -> None:
        if method not in METHODS:
            raise ValueError(f"unknown explanation method {method!r}")
        if method != self._method:
            self._method = method
            self._options_changed()

    def set_class_index(self, index: int | None) -> None:
        """Explain ``index`` (None: the predicted class)."""
        index = None if index is None else int(index)
        if index != self._class_index:
            self._class_index = index
            self._options_changed()

    def set_layer(self, layer: str | None) -> None:
        layer = layer or None
        if layer != self._layer:
            self._layer = layer
            self._options_changed(rerun=self._method == GRADCAM)

    def set_occlusion(self, patch_size: int, stride: int) -> None:
        patch_size, stride = int(patch_size), int(stride)
        if (patch_size, stride) != (self._patch_size, self._stride):
            self._patch_size, self._stride = patch_size, stride
            self._options_changed(rerun=self._method == OCCLUSION)

    def set_opacity(self, opacity: float) -> None:
        """How strongly the map covers the picture (0-1); redrawn at once, nothing recomputed."""
        opacity = float(np.clip(opacity, 0.0, 1.0))
        if opacity != self._opacity:
            self._opacity = opacity
            self.optionsChanged.emit()

    def _options_changed(self, rerun: bool = True) -> None:
        self.optionsChanged.emit()
        if rerun:
            self._stale = True
            self._throttle.cancel()
            self.refresh()

    # ------------------------------------------------------------------ viewers
    def add_viewer(self, viewer: object) -> None:
        """A view of the explanation is shown: compute what is stale."""
        self._viewers.add(id(viewer))
        if self._stale:
            self.request_refresh()

    def remove_viewer(self, viewer: object) -> None:
        self._viewers.discard(id(viewer))

    # ------------------------------------------------------------------ model and image
    @Slot()
    def _on_model_changed(self) -> None:
        model = self.model_state.model
        layers: list[str] = []
        if model is not None:
            try:
                layers = explainer_for(model).conv_layer_names  # a new model gets a new explainer
            except Exception as exc:  # a model the explainer cannot walk: no layer to offer
                log.info("no convolution layers to explain with: %s", exc)
        self._layers = layers
        if self._layer not in layers:
            self._layer = None
        self.layersChanged.emit()
        self.request_refresh()

    @Slot()
    def _on_image_changed(self) -> None:
        source = self.image_state.source
        if source is not self._source and self._class_index is not None:
            # A new picture: explain its own prediction again (strokes on one drawing keep the chosen class).
            self._class_index = None
            self.optionsChanged.emit()
        self._source = source
        self.request_refresh()

    @Slot()
    def request_refresh(self, *_signal_arguments) -> None:
        """Recompute soon (coalesced), if a view is on screen; otherwise when one is shown."""
        self._stale = True
        if self.active:
            self._throttle.request()

    # ------------------------------------------------------------------ computing
    def _request(self) -> _Request | None:
        options: dict = {}
        if self._method == GRADCAM and self._layer:
            options["layer"] = self._layer
        elif self._method == OCCLUSION:
            options = {"patch_size": self._patch_size, "stride": self._stride}
        return _Request(self.model_state.model, self.image_state.image, self.image_state.picture,
                        self.image_state.prepared, self._method, self._class_index, options)

    @Slot()
    def refresh(self) -> None:
        """Start computing the explanation of the current image (cancelling the one in progress)."""
        self._throttle.cancel()
        if not self.active:
            self._stale = True
            return
        self._stale = False
        self._run += 1
        if self._stop is not None:
            self._stop.set()
        if not self.model_state.ready or self.image_state.image is None:
            self._task.cancel()
            self._show(None, "Loading the model…" if self.model_state.loading else
                       "No model to explain with" if not self.model_state.ready else
                       self.image_state.message or "No image to explain: draw or open one")
            return
        stop = self._stop = threading.Event()
        run, relay = self._run, self._relay

        def on_progress(explained: ExplainedImage, done: int, total: int) -> None:
            relay.progress.emit(run, explained, done, total)  # queued to the GUI thread

        self._task.start(compute_explanation, self._request(), on_progress, stop.is_set, cancel=stop.set)

    @Slot(int, object, int, int)
    def _on_progress(self, run: int, explained: ExplainedImage, done: int, total: int) -> None:
        if run != self._run:  # from a run that was replaced
            return
        self.progressChanged.emit(done, total)
        if done < total:
            self._show(explained, "")

    @Slot(object)
    def _on_finished(self, explained: ExplainedImage) -> None:
        self.compute_count += 1
        self._show(explained, "")

    @Slot(str, str)
    def _on_failed(self, message: str, details: str) -> None:
        log.info("explanation not computed: %s", message)
        self._show(None, f"No explanation: {message}")

    def _show(self, explained: ExplainedImage | None, message: str) -> None:
        self._explained, self._message = explained, message
        self.explanationChanged.emit()

    def stop_and_wait(self) -> None:
        """The window is closing: stop the computation in progress and wait for its thread.

        (A thread still running when its QThread object is deleted aborts the program.)
        """
        self._throttle.cancel()
        self._stale = True  # shown again: computed again
        if self._stop is not None:
            self._stop.set()
        self._task.stop_and_wait()

