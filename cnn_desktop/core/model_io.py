"""Saving and loading models: `.keras` files written atomically, with a JSON model card beside them.

A save goes to a temporary file in the same directory, is flushed to disk, then
renamed over the target, so a crash or a kill mid-save leaves the previous file
intact. Loading validates the file and the model's shapes before anything uses it.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import os
import tempfile
import zipfile
from pathlib import Path

from cnn_desktop import __version__, config

log = logging.getLogger(__name__)

MODEL_SUFFIX = ".keras"


class ModelFileError(RuntimeError):
    """A model file cannot be used; the message says why."""


def card_path(model_path: Path | str) -> Path:
    """``model.keras`` -> ``model.card.json``."""
    model_path = Path(model_path)
    return model_path.with_name(model_path.stem + ".card.json")


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _umask_mode() -> int:
    """The permissions a plain ``open()`` would give a new file (mkstemp makes it 0600)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one, never a part."""
    path = Path(path)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fchmod(handle.fileno(), _umask_mode())
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
        _fsync_dir(path.parent)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def make_card(*, preset: str, epochs: int | None = None, batch_size: int | None = None,
              learning_rate: float | None = None, test_accuracy: float | None = None,
              test_loss: float | None = None, training_seconds: float | None = None,
              dataset_checksum: str | None = None, parameters: int | None = None, **extra) -> dict:
    return {
        "name": extra.pop("name", preset),
        "preset": preset,
        "epochs": epochs,
        "batch_size": batch_size,
        "learning_rate": learning_rate,
        "test_accuracy": test_accuracy,
        "test_loss": test_loss,
        "training_seconds": training_seconds,
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "dataset": "Fashion-MNIST",
        "dataset_checksum": dataset_checksum,
        "parameters": parameters,
        "classes": list(config.CLASS_NAMES),
        "input_shape": list(config.INPUT_SHAPE),
        "app_version": __version__,
        **extra,
    }


def save_model(model, path: Path | str, card: dict | None = None) -> Path:
    """Save ``model`` to ``path`` (must end in .keras) atomically, and its card beside it."""
    path = Path(path)
    if path.suffix != MODEL_SUFFIX:
        raise ModelFileError(f"Model files must end in {MODEL_SUFFIX}: {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    # Keras insists on the .keras suffix, so the temporary name keeps it.
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".tmp" + MODEL_SUFFIX, dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp_name)
    try:
        model.save(tmp_path)
        with open(tmp_path, "rb+") as handle:
            os.fchmod(handle.fileno(), _umask_mode())
            os.fsync(handle.fileno())
        if card is not None:
            atomic_write_bytes(card_path(path), (json.dumps(card, indent=2) + "\n").encode())
        os.replace(tmp_path, path)
        _fsync_dir(path.parent)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise
    log.info("saved model to %s", path)
    return path


def read_card(model_path: Path | str) -> dict:
    """The model card beside ``model_path``, or {} when there is none or it is unreadable."""
    path = card_path(model_path)
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
        return card if isinstance(card, dict) else {}
    except (OSError, ValueError):
        return {}


def check_model_shapes(model) -> None:
    """Refuse a model that does not take 28x28x1 images or does not give 10 outputs."""
    try:
        input_shape = tuple(model.inputs[0].shape)[1:]
        output_shape = tuple(model.outputs[0].shape)[1:]
    except (AttributeError, IndexError, TypeError, ValueError) as exc:
        raise ModelFileError(f"the model has no usable input or output ({exc})") from exc
    if tuple(input_shape) != config.INPUT_SHAPE:
        raise ModelFileError(
            f"the model takes input of shape {input_shape}, but cnn-desktop needs {config.INPUT_SHAPE} images")
    if tuple(output_shape) != (config.NUM_CLASSES,):
        raise ModelFileError(
            f"the model gives output of shape {output_shape}, but cnn-desktop needs {config.NUM_CLASSES} classes")


def load_model(path: Path | str):
    """Load and validate a `.keras` model; returns ``(model, card)``. Raises ModelFileError."""
    import keras

    path = Path(path)
    if not path.exists():
        raise ModelFileError(f"Model file {path} does not exist")
    if path.is_dir():
        raise ModelFileError(f"{path} is a directory, not a model file")
    if path.suffix != MODEL_SUFFIX:
        raise ModelFileError(f"{path} is not a {MODEL_SUFFIX} model file")
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise ModelFileError(f"Model file {path} is damaged or not a Keras model ({exc})") from exc
    if bad is not None or "config.json" not in names:
        raise ModelFileError(f"Model file {path} is damaged or not a Keras model")
    try:
        model = keras.models.load_model(path, compile=False)
    except Exception as exc:  # Keras raises many kinds for a bad file
        raise ModelFileError(f"Model file {path} cannot be loaded: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from exc
    try:
        check_model_shapes(model)
    except ModelFileError as exc:
        raise ModelFileError(f"Model file {path} is not compatible: {exc}") from exc
    card = read_card(path)
    card.setdefault("name", path.stem)
    card.setdefault("path", str(path))
    return model, card
