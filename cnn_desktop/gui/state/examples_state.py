"""The user's example collection in the app, and teaching the network with it.

Holds the core ``ExampleStore`` (opened on first use: a damaged file is a message, not a crash) and the
workflows around it: store the current input as a corrected example, delete, relabel, import a folder or
an archive, export, and "Teach the network my examples". Teaching runs through the TrainingController,
so the Train tab's live charts, Stop and the model hand-over apply as for any training; the "before"
measurement runs first in a worker thread, the "after" one when the run has ended.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot

from cnn_desktop import config
from cnn_desktop.core.examples import (CANVAS, PICTURE, ExampleStore, ExampleStoreError, TeachingPlan,
                                       model_preset, original_png)
from cnn_desktop.gui.concurrency.latest_task import LatestTask

log = logging.getLogger(__name__)


def _prepare_teaching(store: ExampleStore, data, model, preset: str, options: dict) -> TeachingPlan:
    """Runs in a worker thread: the mixed training data and the 'before' accuracies."""
    images, labels = store.arrays()
    plan = TeachingPlan(data, images, labels, preset=preset, **options)
    plan.measure_before(model)
    return plan


class ExamplesState(QObject):
    changed = Signal()  # the collection changed: reload counts and thumbnails
    message = Signal(str, str)  # text, kind ("information", "warning", "critical") for a message bar
    busyChanged = Signal(bool)  # an import, export or teaching preparation is (not) under way
    teachingStarted = Signal(object)  # core TeachingPlan: the fine-tune is now running in the controller
    teachingReported = Signal(object)  # core TeachReport: before/after, side by side

    def __init__(self, training_controller, model_state, data_state, examples_dir: Path | str | None = None,
                 parent=None):
        super().__init__(parent)
        self._controller, self._model_state, self._data_state = training_controller, model_state, data_state
        self._examples_dir = examples_dir
        self._store: ExampleStore | None = None
        self._error = ""
        self._plan: TeachingPlan | None = None
        self._report = None
        self._task = LatestTask("examples", self)
        self._task.finished.connect(self._on_task_finished)
        self._task.failed.connect(self._on_task_failed)
        self._task.runningChanged.connect(self.busyChanged)
        self._after_task = LatestTask("teaching-after", self)
        self._after_task.finished.connect(self._on_report)
        self._after_task.failed.connect(lambda text, _details: self.message.emit(
            f"Could not measure the taught model: {text}", "warning"))
        self._pending_kind = ""
        # Passed to core TeachingPlan (e.g. official_images=2000 for a quick test); empty: the chosen recipe.
        self.teaching_options: dict = {}
        training_controller.finished.connect(self._on_training_finished)

    # ------------------------------------------------------------------ read-only fields
    @property
    def store(self) -> ExampleStore | None:
        """The open collection, or None when it cannot be used (``error`` says why)."""
        if self._store is None and not self._error:
            try:
                self._store = ExampleStore(self._examples_dir)
            except ExampleStoreError as exc:
                self._error = str(exc)
                self.message.emit(self._error, "critical")
        return self._store

    @property
    def error(self) -> str:
        return self._error

    @property
    def busy(self) -> bool:
        return self._task.running

    @property
    def teaching(self) -> bool:
        return self._plan is not None

    @property
    def last_report(self):
        return self._report

    def examples(self, label: int | None = None) -> list:
        store = self.store
        return [] if store is None else self._guarded(lambda: store.examples(label), [])

    def counts(self) -> list[int]:
        store = self.store
        zero = [0] * config.NUM_CLASSES
        return zero if store is None else self._guarded(store.counts, zero)

    def original(self, example_id: int) -> bytes | None:
        store = self.store
        return None if store is None else self._guarded(lambda: store.original(example_id), None)

    def _guarded(self, read, fallback):
        try:
            return read()
        except ExampleStoreError as exc:
            self.message.emit(str(exc), "critical")
            return fallback

    # ------------------------------------------------------------------ changes
    def add_current(self, image_state, label: int) -> tuple[str, str]:
        """Store what the network sees now (and the picture it came from) as an example of ``label``.
        Returns what happened as (text, kind) for a message bar (also sent as ``message``)."""
        text, kind = self._keep(image_state, label)
        self.message.emit(text, kind)
        return text, kind

    def _keep(self, image_state, label: int) -> tuple[str, str]:
        store = self.store
        if store is None:
            return self._error, "critical"
        image = image_state.image
        if image is None:
            return "There is no image to keep: draw, open or paste one first.", "warning"
        picture, source = image_state.picture, image_state.source
        kind = getattr(source, "kind", "")
        if picture is None:  # a dataset image: the 28x28 image is the original
            picture = np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)
        try:
            _, added = store.add(label, image, original_png(np.asarray(picture)),
                                 source=CANVAS if kind == "canvas" else PICTURE,
                                 original_name=getattr(source, "description", "") if kind == "file" else "")
            count = store.counts()[label]
        except ExampleStoreError as exc:
            return str(exc), "critical"
        self.changed.emit()
        name = config.CLASS_NAMES[label]
        if not added:
            return f"This image is already one of your examples of {name}.", "information"
        return (f"Kept as an example of {name} ({count} now). Teach the network with them in “My examples”.",
                "information")

    def delete(self, example_ids) -> None:
        store = self.store
        if store is None:
            return
        for example_id in example_ids:
            try:
                store.delete(example_id)
            except KeyError:
                pass  # already gone (deleted from the command line meanwhile)
            except ExampleStoreError as exc:
                self.message.emit(str(exc), "critical")
                break
        self.changed.emit()

    def relabel(self, example_ids, label: int) -> None:
        store = self.store
        if store is None:
            return
        for example_id in example_ids:
            try:
                store.relabel(example_id, label)
            except KeyError:
                pass
            except ExampleStoreError as exc:
                self.message.emit(str(exc), "critical")
                break
        self.changed.emit()

    def import_path(self, path: Path | str) -> bool:
        """A folder of class sub-folders, or an exported archive, imported in a worker thread."""
        store = self.store
        if store is None or self._task.running:
            return False
        path = Path(path)
        work = store.import_folder if path.is_dir() else store.import_archive
        self._pending_kind = "import"
        self._task.start(work, path)
        return True

    def export_archive(self, path: Path | str) -> bool:
        store = self.store
        if store is None or self._task.running:
            return False
        self._pending_kind = "export"
        self._task.start(store.export_archive, Path(path))
        return True

    def teach(self) -> bool:
        """Prepare (worker thread) and start the fine-tune of the model in use with the collection."""
        store = self.store
        if store is None or self._task.running or self._plan is not None:
            return False
        if self._controller.is_training:
            self.message.emit("A training is running: wait for it to end, or stop it, then teach.", "warning")
            return False
        if self._model_state.model is None or self._data_state.dataset is None:
            self.message.emit("Teaching needs a model and the Fashion-MNIST training set; neither may be "
                              "loading.", "warning")
            return False
        if len(store) == 0:
            self.message.emit("There are no examples yet: correct an answer in Classify (“Wrong? It is a …”) "
                              "or import a folder of pictures.", "warning")
            return False
        self._pending_kind = "teach"
        self._task.start(_prepare_teaching, store, self._data_state.dataset, self._model_state.model,
                         model_preset(self._model_state.card), dict(self.teaching_options))
        return True

    def stop_and_wait(self) -> None:
        self._task.stop_and_wait()
        self._after_task.stop_and_wait()

    # ------------------------------------------------------------------ outcomes
    @Slot(object)
    def _on_task_finished(self, outcome) -> None:
        kind, self._pending_kind = self._pending_kind, ""
        if kind == "import":
            text = f"Import: {outcome.summary()}."
            if outcome.skipped:
                text += " Skipped: " + "; ".join(outcome.skipped[:3]) + (" …" if outcome.skipped_count > 3 else "")
            self.message.emit(text, "warning" if outcome.skipped_count else "information")
            self.changed.emit()
        elif kind == "export":
            self.message.emit(f"Exported {outcome} examples.", "information")
        elif kind == "teach":
            self._start_teaching(outcome)

    @Slot(str, str)
    def _on_task_failed(self, text: str, _details: str) -> None:
        kind, self._pending_kind = self._pending_kind, ""
        what = {"import": "Import failed", "export": "Export failed", "teach": "Teaching could not start"}
        self.message.emit(f"{what.get(kind, 'Failed')}: {text}", "critical")
        if kind == "import":
            self.changed.emit()  # what was added before the failure is kept

    def _start_teaching(self, plan: TeachingPlan) -> None:
        from cnn_desktop.core.training import TrainingConfigError

        try:
            started = self._controller.start(plan.training_config, data=plan.data)
        except TrainingConfigError as exc:
            self.message.emit(f"Teaching could not start: {exc}", "critical")
            return
        if not started:
            self.message.emit("Teaching could not start: a training is running or the dataset is not loaded.",
                              "warning")
            return
        self._plan = plan
        self.teachingStarted.emit(plan)

    @Slot(object)
    def _on_training_finished(self, result) -> None:
        plan, self._plan = self._plan, None
        if plan is None:
            return  # an ordinary training, not teaching
        if result.usable:
            self._after_task.start(plan.report, result.model, result.status)
        else:
            self._on_report(plan.report(None, result.status))

    @Slot(object)
    def _on_report(self, report) -> None:
        self._report = report
        self.teachingReported.emit(report)
