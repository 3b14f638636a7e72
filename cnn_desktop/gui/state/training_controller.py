"""One training from start to hand-over, without widgets: the Train tab, the window and the benchmark drive it.

A run fits its own model in a worker thread (``TrainingRun``). At every epoch
end the app's model (what Classify and Inspect use) follows the training: the
first snapshot builds an inference model of the architecture in a worker
thread, later ones only swap its weights. When the run ends, its result waits
for a decision: ``adopt_result()`` makes the trained weights the model in use
(unsaved) and evaluates them on the official test set in another worker;
``discard_result()`` gives the app back the model it had before the run. A
diverged, failed or empty run is always discarded; a completed one is adopted at
once while ``adopt_automatically`` is true (the default). A stopped run never
replaces the model in use on its own (issue 13): the app gets its previous model
back and the stopped result waits (``resultAwaitingDecision``) until the user
adopts it; only when there was no model before is it adopted at once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import partial

from PySide6.QtCore import QObject, Signal, Slot

from cnn_desktop.core.model import copy_model
from cnn_desktop.core.training import TrainingConfig, TrainingConfigError
from cnn_desktop.gui.concurrency.latest_task import LatestTask
from cnn_desktop.gui.concurrency.training_run import TrainingRun
from cnn_desktop.gui.state.model_state import InferenceModel, prepare_inference_model

log = logging.getLogger(__name__)

OUTCOME_TEXTS = {"completed": "Training complete.",
                 "cancelled": "Training stopped; the weights learned so far are kept."}


def build_snapshot_model(training_config: TrainingConfig, architecture_source, weights) -> InferenceModel:
    """Runs in a worker thread: a fresh model of the trained architecture holding ``weights``, ready to use.

    The architecture is the model a continued run started from, else the run's design, else its preset.
    """
    if architecture_source is not None:
        model = copy_model(architecture_source, weights)
    else:
        if getattr(training_config, "design", None) is not None:
            from cnn_desktop.core.design import build_design_model

            model = build_design_model(training_config.design)
        else:
            from cnn_desktop.core.model import build_model

            model = build_model(training_config.preset, compile=False)
        model.set_weights(weights)
    return prepare_inference_model(model)


@dataclass
class _ModelInUse:
    """What ModelState held before a training, to give it back if the training's result is not kept."""

    model: object
    card: dict
    path: object
    modified: bool
    classifier: object
    feature_extractor: object

    @classmethod
    def of(cls, model_state) -> "_ModelInUse":
        return cls(model_state.model, model_state.card, model_state.path, model_state.modified,
                   model_state.classifier, model_state.feature_extractor)

    def restore(self, model_state) -> None:
        model_state.set_model(self.model, self.card, self.path, modified=self.modified, classifier=self.classifier,
                              feature_extractor=self.feature_extractor)


class TrainingController(QObject):
    """Owns the training runs of the app and what happens to their models."""

    started = Signal(object)  # TrainingConfig (resolved): a run has begun
    prepared = Signal(object)  # core TrainingStarted: the data and model are ready, fitting begins
    progress = Signal(object)  # core BatchProgress (~20 per second at most)
    epochEnded = Signal(object)  # core EpochEnd
    message = Signal(str)  # what the run is doing, for a log (e.g. preparing extra training images)
    finished = Signal(object)  # TrainingResult, whatever its status; then resultAdopted or resultDiscarded
    failed = Signal(str, str)  # message, details: the run raised (the model in use is unchanged)
    resultAdopted = Signal(object)  # TrainingResult: its weights are now the model in use (unsaved)
    resultDiscarded = Signal(object)  # TrainingResult: the model in use is the one from before the run
    resultAwaitingDecision = Signal(object)  # TrainingResult: pending; adopt_result() or discard_result() decide
    evaluated = Signal(object)  # core Evaluation of the adopted model on the test set
    evaluationFailed = Signal(str, str)
    notice = Signal(str, str)  # text, kind ("information", "warning", "critical"): what the run came to
    busyChanged = Signal(bool)  # is_training (the argument) or is_stopping changed: refresh Start / Stop
    runRecorded = Signal()  # the run history has new data about a run (started, epoch, end, test, model file)
    _recordingWarning = Signal(str)  # from the worker: the run history cannot be used (queued to the GUI thread)

    def __init__(self, model_state, data_state, parent=None):
        super().__init__(parent)
        self._model_state, self._data_state = model_state, data_state
        self.adopt_automatically = True  # a usable result becomes the model in use as soon as the run ends
        self.record_runs = True  # every run goes into the run history (core RunRecorder)
        self.runs_dir = None  # the run history's folder; None: the default (core run_store.default_runs_dir)
        self._recorder = None  # the RunRecorder of the last run that ended (test results, model file)
        self._recordingWarning.connect(self._on_recording_warning)
        model_state.saved.connect(self._on_model_saved)
        self._run: TrainingRun | None = None  # the run in progress
        self._ended_runs: set[TrainingRun] = set()  # reported their result; threads may still be ending
        self._config: TrainingConfig | None = None
        self._before: _ModelInUse | None = None
        self._continue_source = None  # the model a "continue" run started from
        self._snapshot: InferenceModel | None = None  # the inference model the app uses while this run trains
        self._latest_weights = None  # the newest weights for it (arrive while it is being built, too)
        self._adopting = None  # the result to adopt once the snapshot model is built
        self._pending = None  # a finished run's result awaiting adopt_result() / discard_result()
        self._trained_model = None  # the model in use made from the adopted result
        self._outcome = ""
        self._closing = False
        self._batches_seen = 0
        self._evaluation = None
        self._evaluated_dataset = None
        self._pending_evaluation_dataset = None
        self._snapshot_task = LatestTask("snapshot-model", self)
        self._snapshot_task.finished.connect(self._on_snapshot_built)
        self._snapshot_task.failed.connect(self._on_snapshot_failed)
        self._evaluation_task = LatestTask("evaluation", self)
        self._evaluation_task.finished.connect(self._on_evaluated)
        self._evaluation_task.failed.connect(self._on_evaluation_failed)

    # ------------------------------------------------------------------ state
    @property
    def is_training(self) -> bool:
        """A run is under way: it exists and has not reported its result."""
        return self._run is not None and self._run.is_running()

    @property
    def is_stopping(self) -> bool:
        return self._run is not None and self._run.cancelled

    @property
    def config(self) -> TrainingConfig | None:
        """The resolved config of the run in progress, or of the last one."""
        return self._config

    @property
    def pending_result(self):
        """A finished run's usable result awaiting ``adopt_result()`` or ``discard_result()``; else None."""
        return self._pending

    @property
    def has_unsaved_model(self) -> bool:
        """The model in use holds weights trained here and not saved to a file."""
        return self._model_state.model is not None and self._model_state.modified

    @property
    def evaluation(self):
        """The newest test-set evaluation of an adopted model (core Evaluation), or None."""
        return self._evaluation

    @property
    def evaluated_dataset(self):
        """The dataset whose test images ``evaluation`` is about."""
        return self._evaluated_dataset

    def run_threads(self) -> list:
        """The worker threads of the current and recently ended runs (to check they end)."""
        runs = ([self._run] if self._run is not None else []) + list(self._ended_runs)
        return [run.thread for run in runs]

    # ------------------------------------------------------------------ commands
    def start(self, training_config: TrainingConfig, data=None) -> bool:
        """Start a run. Raises TrainingConfigError for a config that cannot run (the message says why);
        returns False when a run is under way, the dataset is not loaded or the app is closing.
        ``data``: a core FashionMnist to train on instead of the loaded one (teaching mixes in examples)."""
        if self.is_training or self._closing or self._data_state.dataset is None:
            return False
        resolved = training_config.resolved()
        continue_from = None
        if resolved.continue_training:
            if self._model_state.model is None:
                raise TrainingConfigError("there is no model to continue from: untick “Continue from current "
                                          "weights” to train a fresh one")
            continue_from = self._model_state.model
        make_recorder = None
        if self.record_runs:
            from cnn_desktop.core.run_recorder import RunRecorder

            make_recorder = partial(RunRecorder, runs_dir=self.runs_dir, warn=self._recordingWarning.emit)
        run = TrainingRun(resolved, data=self._data_state.dataset if data is None else data,
                          continue_from=continue_from,
                          make_recorder=make_recorder, parent=self)
        run.started.connect(self._on_prepared)
        run.batchProgress.connect(self._on_batch)
        run.epochEnded.connect(self._on_epoch_end)
        run.message.connect(self._on_message)
        run.finished.connect(self._on_finished)
        run.failed.connect(self._on_failed)
        run.done.connect(self._on_run_done)

        if self._pending is not None:  # a new run is a decision against the result still waiting
            self.discard_result()
        self._close_recorder()
        self._snapshot_task.cancel()
        self._evaluation_task.cancel()
        self._run, self._config = run, resolved
        self._continue_source = continue_from
        self._before = _ModelInUse.of(self._model_state)
        self._snapshot = self._latest_weights = self._adopting = self._trained_model = None
        self._evaluation = self._evaluated_dataset = None
        self._batches_seen = 0
        run.start()
        self.started.emit(resolved)
        self.busyChanged.emit(True)
        return True

    def stop(self) -> None:
        """Stop after the batch in progress; the weights learned so far are kept (or not: see adopt_result)."""
        if self._run is not None:
            self._run.cancel()
            self.busyChanged.emit(True)  # still busy, but now stopping

    def adopt_result(self) -> None:
        """The pending result's weights become the model in use (unsaved); then it is evaluated on the test set."""
        result, self._pending = self._pending, None
        if result is None:
            return
        self._adopting = result
        self._latest_weights = result.model.get_weights()
        if self._snapshot is not None:
            self._adopt_with(self._snapshot)
        elif not self._snapshot_task.running:  # stopped before the first epoch end: build the model now
            self._build_snapshot()
        # else: the snapshot model being built is adopted when it is ready

    def discard_result(self) -> None:
        """Forget the pending result: the app keeps the model it had before the run."""
        result, self._pending = self._pending, None
        self._give_back_model_in_use()
        if result is not None:
            self.resultDiscarded.emit(result)

    def stop_and_wait(self) -> None:
        """The window is closing: stop the run and any background work, and wait for their threads."""
        self._closing = True
        for run in ([self._run] if self._run is not None else []) + list(self._ended_runs):
            if not run.stop_and_wait():
                log.error("a training run did not end in time")
        self._snapshot_task.stop_and_wait()
        self._evaluation_task.stop_and_wait()
        for run in ([self._run] if self._run is not None else []) + list(self._ended_runs):
            if run.recorder is not None and run.recorder is not self._recorder:
                run.recorder.close()  # a run cut short by closing: recorded as it ended
        self._close_recorder()

    @Slot(str)
    def _on_recording_warning(self, text: str) -> None:
        self.notice.emit(text, "warning")

    def _close_recorder(self) -> None:
        recorder, self._recorder = self._recorder, None
        if recorder is not None:
            recorder.close()

    @Slot(object)
    def _on_model_saved(self, path) -> None:
        """The model the last run trained was saved: its run records the file and card."""
        if (self._recorder is not None and self._trained_model is not None
                and self._model_state.model is self._trained_model):
            self._recorder.record_model(path, self._model_state.card)
            self.runRecorded.emit()

    # ------------------------------------------------------------------ the run's events
    @Slot(object)
    def _on_prepared(self, event) -> None:
        if not self._closing and self.sender() is self._run:
            self.prepared.emit(event)
            self.runRecorded.emit()

    @Slot(str)
    def _on_message(self, text: str) -> None:
        if not self._closing and self.sender() is self._run:
            self.message.emit(text)

    @Slot(object)
    def _on_batch(self, event) -> None:
        if not self._closing and self.sender() is self._run:
            self._batches_seen += 1
            self.progress.emit(event)

    @Slot(object)
    def _on_epoch_end(self, event) -> None:
        if self._closing or self.sender() is not self._run:
            return
        self.epochEnded.emit(event)
        self.runRecorded.emit()
        self._latest_weights = event.weights
        self._show_snapshot()

    def _show_snapshot(self) -> None:
        """Let Classify and Inspect use the newest epoch's weights, in an inference model of their own."""
        if self._snapshot is None:
            if not self._snapshot_task.running:
                self._build_snapshot()
        elif self._model_state.model is self._snapshot.model:
            try:
                self._model_state.set_weights(self._latest_weights)
            except Exception:  # a failed preview must not end the training
                log.exception("could not show the epoch's weights in the other tabs")

    def _build_snapshot(self) -> None:
        self._snapshot_task.start(build_snapshot_model, self._config, self._continue_source,
                                  self._latest_weights)

    @Slot(object)
    def _on_snapshot_built(self, snapshot: InferenceModel) -> None:
        if self._closing:
            return
        self._snapshot = snapshot
        snapshot.classifier.set_weights(self._latest_weights)  # epochs may have ended while it was built
        if self._adopting is not None:
            self._adopt_with(snapshot)
        elif self._run is not None:
            self._model_state.set_model(snapshot.model, self.model_card(), None, modified=True,
                                        classifier=snapshot.classifier, feature_extractor=snapshot.feature_extractor)

    @Slot(str, str)
    def _on_snapshot_failed(self, message: str, details: str) -> None:
        log.error("could not build the model for the epoch's weights: %s\n%s", message, details)
        if self._adopting is not None:
            result, self._adopting = self._adopting, None
            self._give_back_model_in_use()
            self.notice.emit(f"The trained model could not be used: {message}", "critical")
            self.resultDiscarded.emit(result)

    @Slot(object)
    def _on_finished(self, result) -> None:
        if self._closing or self.sender() is not self._run:
            return
        self._run_ended(self.sender())
        self.finished.emit(result)
        if result.status == "diverged":
            self._discard(result, f"{result.message} The model in use is unchanged.", "warning")
        elif not result.usable or self._batches_seen == 0:
            self._discard(result, "Stopped before the first training step; the model in use is unchanged.",
                          "information")
        else:
            self._pending = result
            had_a_model = self._before is not None and self._before.model is not None
            if result.status == "cancelled" and had_a_model:
                # Stop must not replace a good model with a half-trained one without the user's say.
                self._give_back_model_in_use(keep_snapshot=True)
                self.resultAwaitingDecision.emit(result)
            elif self.adopt_automatically:
                self.adopt_result()
            else:
                self.resultAwaitingDecision.emit(result)

    def _discard(self, result, text: str, kind: str) -> None:
        self._give_back_model_in_use()
        self.notice.emit(text, kind)
        self.resultDiscarded.emit(result)

    @Slot(str, str)
    def _on_failed(self, message: str, details: str) -> None:
        if self._closing or self.sender() is not self._run:
            return
        self._run_ended(self.sender())
        self._give_back_model_in_use()
        self.notice.emit(f"Training failed: {message}", "critical")
        self.failed.emit(message, details)

    def _run_ended(self, run) -> None:
        """The run has reported its result: no longer training, though its thread may take a moment to end."""
        self._recorder = run.recorder  # the worker has recorded the run's end before reporting it
        self.runRecorded.emit()
        if self._run is not None:
            self._ended_runs.add(self._run)
            self._run = None
        self.busyChanged.emit(False)

    @Slot()
    def _on_run_done(self) -> None:
        """The run's thread has ended: forget and delete the run."""
        run = self.sender()
        if run is self._run:  # ended without a result (should not happen, but never stay "training")
            self._run = None
            self.busyChanged.emit(False)
        self._ended_runs.discard(run)
        run.deleteLater()

    # ------------------------------------------------------------------ hand-over
    def _give_back_model_in_use(self, keep_snapshot: bool = False) -> None:
        """Undo the epoch snapshots: the app keeps the model it had before this training.

        ``keep_snapshot``: the result may still be adopted, so keep (or go on building) its inference model."""
        self._adopting = None
        snapshot = self._snapshot
        if not keep_snapshot:
            self._snapshot_task.cancel()
            self._snapshot = None
        if snapshot is not None and self._model_state.model is snapshot.model:
            if self._before is not None and self._before.model is not None:
                self._before.restore(self._model_state)

    def _adopt_with(self, snapshot: InferenceModel) -> None:
        result, self._adopting = self._adopting, None
        try:
            snapshot.classifier.set_weights(result.model.get_weights())
            self._model_state.set_model(snapshot.model, self.model_card(result), None, modified=True,
                                        classifier=snapshot.classifier, feature_extractor=snapshot.feature_extractor)
        except Exception as exc:  # e.g. out of memory: say so, keep the app usable
            log.exception("could not use the trained model")
            self.notice.emit(f"The trained model could not be used: {exc}", "critical")
            return
        self._trained_model = snapshot.model
        text = OUTCOME_TEXTS.get(result.status, result.message)
        self._outcome = (f"{text} The model in use is now “{self._model_state.name}”: save it with "
                         "“Save model as…” to keep it.")
        self.notice.emit(f"{self._outcome} Evaluating it on the test set…", "information")
        self.resultAdopted.emit(result)
        self._evaluate(result.model)

    def model_card(self, result=None) -> dict:
        """The card of the model the current (or last) run makes (``result``: once it has ended)."""
        from cnn_desktop.core.model_card import training_card

        run_config = self._config
        preset = run_config.preset
        if self._continue_source is not None and self._before is not None:
            preset = self._before.card.get("preset") or getattr(self._continue_source, "name", preset)
        epochs = None if result is None else result.epochs_completed
        parameters = None
        if result is None and self._snapshot is not None:
            parameters = int(self._snapshot.model.count_params())
        design = getattr(run_config, "design", None)
        network = design.name if design is not None and self._continue_source is None else preset
        return training_card(
            run_config, result, preset=preset, parameters=parameters,
            dataset_checksum=getattr(self._data_state.dataset, "checksum", None),
            name=f"{network}, trained here" if result is None else
            f"{network}, {epochs} epoch{'s' if epochs != 1 else ''}")

    # ------------------------------------------------------------------ evaluation
    def _evaluate(self, model) -> None:
        """Evaluate the trained model (no longer used by its training thread) on the official test set."""
        from cnn_desktop.core.evaluation import evaluate

        dataset = self._data_state.dataset
        if dataset is None:
            return
        self._pending_evaluation_dataset = dataset
        self._evaluation_task.start(evaluate, model, dataset.test_images, dataset.test_labels)

    @Slot(object)
    def _on_evaluated(self, evaluation) -> None:
        if self._closing:
            return
        self._evaluation, self._evaluated_dataset = evaluation, self._pending_evaluation_dataset
        if self._trained_model is not None and self._model_state.model is self._trained_model:
            # The card is saved with the model; the test numbers belong in it.
            self._model_state.update_card(test_accuracy=evaluation.accuracy, test_loss=evaluation.loss)
        self.notice.emit(f"{self._outcome} Test accuracy: {evaluation.accuracy:.2%}.", "information")
        if self._recorder is not None:
            self._recorder.record_test(evaluation)
            self.runRecorded.emit()
        self.evaluated.emit(evaluation)

    @Slot(str, str)
    def _on_evaluation_failed(self, message: str, details: str) -> None:
        if self._closing:
            return
        self.notice.emit(f"The test-set evaluation failed: {message}", "critical")
        self.evaluationFailed.emit(message, details)
