"""Records a training session in the run history while passing its events on: one line to use.

    recorder = RunRecorder(listener, warn=show_message)     # wraps the listener
    result = TrainingSession(config, data=data, listener=recorder).run()
    recorder.finish(result)                                  # then, optionally:
    recorder.record_test(evaluation); recorder.record_model(path, card)

The recorder turns ``TrainingStarted`` into a new run (design, hyper-parameters, seed, machine),
each ``EpochEnd`` into an epoch row and TensorBoard scalars (``run-NNNNN/train`` and
``run-NNNNN/validation`` under the runs folder), ``BatchProgress`` into a heartbeat, and
``finish`` into the run's end status. Recording never stops a training: if the run history
cannot be used (damaged, locked, disk full), ``warn`` is called once with the reason, and the
training goes on unrecorded. Every event reaches the wrapped listener either way.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Callable

from cnn_desktop.core.run_store import (
    FAILED, FINISHED, HEARTBEAT_INTERVAL_SECONDS, RUNNING, STOPPED, RunStore, RunStoreError,
)

log = logging.getLogger(__name__)

# TrainingResult.status -> the run's status in the history.
RESULT_STATUS = {"completed": FINISHED, "early_stopped": FINISHED, "cancelled": STOPPED, "diverged": FAILED}
# Scalar names as Keras' TensorBoard callback writes them, so the charts look the same.
TENSORBOARD_TAGS = {"loss": "epoch_loss", "accuracy": "epoch_accuracy"}


class RunRecorder:
    """A training listener that records the run and forwards every event to ``listener``."""

    def __init__(self, listener: Callable[[object], None] | None = None, *, runs_dir: Path | str | None = None,
                 store: RunStore | None = None, name: str | None = None,
                 warn: Callable[[str], None] | None = None, tensorboard: bool = True):
        self._listener = listener
        self._warn = warn or (lambda text: log.warning("%s", text))
        self._name = name
        self._tensorboard = tensorboard
        self._writers: dict[str, object] = {}
        self._schedule = None
        self._last_heartbeat = 0.0
        self._owns_store = store is None
        self.run_id: int | None = None
        self.status: str | None = None
        self.problem: str | None = None  # why nothing is recorded, once something failed
        self.store = store
        if store is None:
            try:
                self.store = RunStore(runs_dir)
            except RunStoreError as exc:
                self._disable(exc)

    def wrap(self, listener: Callable[[object], None] | None) -> "RunRecorder":
        """Pass every event on to ``listener`` (when the recorder was made before the listener)."""
        self._listener = listener
        return self

    # -- state ------------------------------------------------------------------------------
    @property
    def recording(self) -> bool:
        return self.store is not None and self.problem is None

    @property
    def database_path(self) -> Path | None:
        return self.store.path if self.store is not None else None

    @property
    def tensorboard_dir(self) -> Path | None:
        return self.store.run_dir(self.run_id) if self.store is not None and self.run_id is not None else None

    def _disable(self, exc: Exception) -> None:
        if self.problem is not None:
            return
        self.problem = f"{exc}. This training goes on, but it is not recorded in the run history."
        try:
            self._warn(self.problem)
        except Exception:  # noqa: BLE001 - a broken warning must not stop the training either
            log.exception("run recorder warning failed")

    def _safely(self, action, *args, **kwargs):
        if not self.recording:
            return None
        try:
            return action(*args, **kwargs)
        except RunStoreError as exc:
            self._disable(exc)
        except Exception as exc:  # noqa: BLE001 - recording is never worth a failed training
            log.exception("recording the run failed")
            self._disable(RuntimeError(f"recording the run failed ({type(exc).__name__}: {exc})"))
        return None

    # -- the listener -----------------------------------------------------------------------
    def __call__(self, event) -> None:
        from cnn_desktop.core.training import BatchProgress, EpochEnd, TrainingResult, TrainingStarted

        if isinstance(event, TrainingStarted):
            self._safely(self._start, event)
        elif isinstance(event, EpochEnd):
            self._safely(self._epoch, event)
        elif isinstance(event, BatchProgress):
            if self.run_id is not None and time.monotonic() - self._last_heartbeat > HEARTBEAT_INTERVAL_SECONDS:
                self._last_heartbeat = time.monotonic()
                self._safely(self.store.heartbeat, self.run_id)
        elif isinstance(event, TrainingResult):
            self.finish(event)
        if self._listener is not None:
            self._listener(event)

    def _start(self, event) -> None:
        from cnn_desktop.core.design import DesignError, analyze, design_from_preset
        from cnn_desktop.core.model import get_preset, make_schedule

        cfg = event.config
        try:
            design = cfg.design if cfg.design is not None else design_from_preset(cfg.preset)
        except DesignError:  # a preset with layers designs cannot express: record the run without its design
            log.info("preset %s has no design form; its run is recorded without one", cfg.preset, exc_info=True)
            design = None
        analysis = analyze(design) if design is not None else None
        preset = get_preset(cfg.preset)
        hyperparameters = {key: value for key, value in vars(cfg).items() if key != "design"}
        hyperparameters.update(schedule=preset.schedule, augment=preset.augment,
                               steps_per_epoch=event.steps_per_epoch, train_size=event.train_size,
                               validation_size=event.validation_size)
        self._schedule = make_schedule(preset, cfg.learning_rate, event.steps_per_epoch * event.epochs)
        self.run_id = self.store.start_run(
            name=self._name or (design.name if design is not None else cfg.preset),
            hyperparameters=_jsonable(hyperparameters), design=design.to_dict() if design is not None else None,
            seed=cfg.seed, parameters=analysis.total_params if analysis else None,
            macs_per_image=analysis.macs_per_image if analysis else None)
        self.status = RUNNING
        self._last_heartbeat = time.monotonic()
        if self._tensorboard:
            import tensorflow as tf

            run_dir = self.store.run_dir(self.run_id)
            self._writers = {part: tf.summary.create_file_writer(str(run_dir / part))
                             for part in ("train", "validation")}

    def _learning_rate(self, step: int) -> float | None:
        schedule = self._schedule
        if schedule is None:
            return None
        if isinstance(schedule, (int, float)):
            return float(schedule)
        return float(schedule(step))

    def _epoch(self, event) -> None:
        if self.run_id is None:
            return
        learning_rate = self._learning_rate(event.global_step)
        self.store.add_epoch(self.run_id, event.epoch, loss=event.loss, accuracy=event.accuracy,
                             val_loss=event.val_loss, val_accuracy=event.val_accuracy, learning_rate=learning_rate,
                             seconds=event.seconds, images_per_second=event.images_per_second)
        self._last_heartbeat = time.monotonic()
        if self._writers:
            self._write_tensorboard(event, learning_rate)

    def _write_tensorboard(self, event, learning_rate) -> None:
        """Scalars as TensorBoard's scalar plugin reads them, written with TensorFlow's own summary op.

        ``tf.summary.scalar`` would need the tensorboard package installed; ``tf.summary.write`` with
        the scalar plugin's metadata writes the same records without it. A failure here costs the
        TensorBoard files only, not the run's record.
        """
        try:
            import tensorflow as tf
            from tensorflow.core.framework import summary_pb2

            metadata = summary_pb2.SummaryMetadata(
                plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars"),
                data_class=summary_pb2.DATA_CLASS_SCALAR)
            values = {"train": {"loss": event.loss, "accuracy": event.accuracy},
                      "validation": {"loss": event.val_loss, "accuracy": event.val_accuracy}}
            if learning_rate is not None:
                values["train"]["learning_rate"] = learning_rate
            for part, writer in self._writers.items():
                with writer.as_default():
                    for key, value in values[part].items():
                        tf.summary.write(TENSORBOARD_TAGS.get(key, key), tf.constant(value, tf.float32),
                                         step=event.epoch, metadata=metadata)
                writer.flush()
        except Exception as exc:  # noqa: BLE001
            log.exception("writing TensorBoard events failed")
            self._close_writers()
            self._warn(f"TensorBoard event files for run {self.run_id} could not be written ({exc}); "
                       "the run is still recorded.")

    # -- after the training -----------------------------------------------------------------
    def finish(self, result) -> None:
        """The session's ``TrainingResult``: the run ends as finished, stopped or failed."""
        if self.run_id is None or self.status != RUNNING:
            return
        self.status = RESULT_STATUS.get(result.status, FINISHED)
        self._safely(self.store.finish_run, self.run_id, self.status, message=result.message,
                     duration_seconds=result.seconds, images_per_second=result.images_per_second)
        self._close_writers()

    def fail(self, message: str, *, status: str = FAILED) -> None:
        """The training raised (or was interrupted) before it returned a result."""
        if self.run_id is None or self.status != RUNNING:
            return
        self.status = status
        self._safely(self.store.finish_run, self.run_id, status, message=message)
        self._close_writers()

    def record_test(self, evaluation) -> None:
        """Final test metrics and confusion matrix (a ``core.evaluation.Evaluation``)."""
        if self.run_id is not None:
            self._safely(self.store.set_test_results, self.run_id, accuracy=evaluation.accuracy,
                         loss=evaluation.loss, confusion=evaluation.confusion.tolist())

    def record_model(self, model_path: Path | str, card: dict | None = None) -> None:
        if self.run_id is not None:
            self._safely(self.store.set_model, self.run_id, Path(model_path).resolve(), card)

    def _close_writers(self) -> None:
        for writer in self._writers.values():
            try:
                writer.close()
            except Exception:  # noqa: BLE001
                log.exception("closing a TensorBoard writer failed")
        self._writers = {}

    def close(self) -> None:
        """End an unfinished run as failed, close the TensorBoard files and the store (if the recorder opened it)."""
        self.fail("The training ended without a result.")
        self._close_writers()
        if self._owns_store and self.store is not None:
            try:
                self.store.close()
            except Exception:  # noqa: BLE001
                log.exception("closing the run history failed")

    def __enter__(self) -> "RunRecorder":
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        if exc_type is not None:
            if issubclass(exc_type, KeyboardInterrupt):
                self.fail("Interrupted (Ctrl+C).", status=STOPPED)
            else:
                self.fail(f"The training failed: {exc_type.__name__}: {exc}")
        self.close()


def _jsonable(value):
    """Hyper-parameters as plain JSON values (paths and other objects as text)."""
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)
