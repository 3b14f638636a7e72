"""A run trained elsewhere (a headless server) added to this machine's run history, from its model card.

Why the card: a headless ``train`` saves the model with its card, and the card already carries the run's
settings, per-epoch history, test results and the command. Copying the two files is all a user does anyway;
a separate run-database export would be a third file to forget, and merging SQLite databases from two
machines would mix their run ids. So ``cnn-desktop runs import MODEL.keras`` (or loading the files with
``RunStore``) makes a finished run of the card, linked to the model file, and the Runs tab shows its curves.
"""

from __future__ import annotations

import math
from pathlib import Path

from cnn_desktop.core.model_io import card_path, read_card
from cnn_desktop.core.run_recorder import RESULT_STATUS
from cnn_desktop.core.run_store import FINISHED

HYPERPARAMETER_KEYS = ("preset", "epochs", "batch_size", "learning_rate", "limit", "train_images", "seed",
                       "validation", "early_stopping_patience", "continued", "devices")
MAX_EPOCHS = 1000  # as TrainingConfig allows
HISTORY_KEYS = ("loss", "accuracy", "val_loss", "val_accuracy")


class RunImportError(ValueError):
    """The model's card cannot become a run; the message says why in one line."""


def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _whole(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def import_run(store, model_path: Path | str) -> int:
    """Add the run recorded in ``model_path``'s card to ``store``; returns the new run's id."""
    model_path = Path(model_path).absolute()
    card = read_card(model_path)  # bounded; {} when missing, unreadable or not a JSON object
    if not card:
        raise RunImportError(f"{model_path} has no readable model card ({card_path(model_path).name}); "
                             "copy it with the model")
    history = card.get("history")
    if not isinstance(history, dict) or not isinstance(history.get("loss"), list) or not history["loss"]:
        raise RunImportError(f"the card of {model_path.name} records no training history")
    for run in store.list_runs():
        if run.model_path == str(model_path):
            raise RunImportError(f"{model_path} is already in the run history as run {run.id}")
    columns = {key: history[key][:MAX_EPOCHS] if isinstance(history.get(key), list) else [] for key in HISTORY_KEYS}
    hyperparameters = {key: card[key] for key in HYPERPARAMETER_KEYS
                       if key in card and isinstance(card[key], (str, int, float, bool, type(None)))}
    machine = {"trained": "on another machine", "imported_from": str(model_path),
               "date": str(card.get("date", ""))[:40], "command": str(card.get("command", ""))[:500]}
    run_id = store.start_run(name=str(card.get("name") or model_path.stem)[:200], hyperparameters=hyperparameters,
                             design=card.get("design") if isinstance(card.get("design"), dict) else None,
                             seed=_whole(card.get("seed")), machine=machine, parameters=_whole(card.get("parameters")))
    for index in range(len(columns["loss"])):
        values = {key: _number(column[index]) if index < len(column) else None for key, column in columns.items()}
        store.add_epoch(run_id, index + 1, **values)
    status = RESULT_STATUS.get(card.get("status"), FINISHED)
    store.finish_run(run_id, status, message=f"Imported from the model card of {model_path.name}.",
                     duration_seconds=_number(card.get("training_seconds")),
                     images_per_second=_number(card.get("images_per_second")))
    accuracy, loss = _number(card.get("test_accuracy")), _number(card.get("test_loss"))
    if accuracy is not None and loss is not None:
        store.set_test_results(run_id, accuracy=accuracy, loss=loss)
    store.set_model(run_id, model_path, card)
    return run_id
