"""Training progress as JSON lines, for following a headless run from afar (``train --progress json``).

One JSON object per line, each with ``"event"``: ``started``, ``message``, ``batch`` (at most one every
``every_seconds``; none when it is 0), ``epoch`` (every epoch) and, written by the caller, ``saved``.
A line is flushed at once, so ``ssh server tail -f run.jsonl | jq`` shows it as it happens.
"""

from __future__ import annotations

import json
import math
import time

from cnn_desktop.core.training import BatchProgress, EpochEnd, TrainingMessage, TrainingStarted


def _number(value):
    """JSON has no NaN or infinity: null instead."""
    return round(value, 6) if isinstance(value, float) and math.isfinite(value) else (
        None if isinstance(value, float) else value)


def event_record(event) -> dict | None:
    """The JSON-ready record of a training event (None for events not logged)."""
    if isinstance(event, TrainingStarted):
        return {"event": "started", "preset": event.config.preset, "epochs": event.epochs,
                "steps_per_epoch": event.steps_per_epoch, "train_size": event.train_size,
                "validation_size": event.validation_size, "batch_size": event.config.batch_size,
                "devices": str(event.config.devices)}
    if isinstance(event, TrainingMessage):
        return {"event": "message", "text": event.text}
    if isinstance(event, BatchProgress):
        return {"event": "batch", "epoch": event.epoch, "step": event.step, "steps": event.steps,
                "global_step": event.global_step, "loss": _number(event.loss), "accuracy": _number(event.accuracy),
                "images_per_second": _number(event.images_per_second), "eta_seconds": _number(event.eta_seconds),
                "elapsed_seconds": _number(event.elapsed_seconds)}
    if isinstance(event, EpochEnd):
        return {"event": "epoch", "epoch": event.epoch, "epochs": event.epochs, "loss": _number(event.loss),
                "accuracy": _number(event.accuracy), "val_loss": _number(event.val_loss),
                "val_accuracy": _number(event.val_accuracy), "seconds": _number(event.seconds),
                "images_per_second": _number(event.images_per_second), "global_step": event.global_step}
    return None


class JsonLinesProgress:
    """A training listener writing event records to ``stream``, batch records at most every ``every_seconds``."""

    def __init__(self, stream, every_seconds: float = 10.0, clock=time.monotonic):
        self.stream = stream
        self.every_seconds = every_seconds
        self._clock = clock
        self._last_batch = -math.inf

    def write(self, record: dict) -> None:
        self.stream.write(json.dumps(record) + "\n")
        self.stream.flush()

    def __call__(self, event) -> None:
        record = event_record(event)
        if record is None:
            return
        if record["event"] == "batch":
            now = self._clock()
            if self.every_seconds <= 0 or now - self._last_batch < self.every_seconds:
                return
            self._last_batch = now
        self.write(record)
