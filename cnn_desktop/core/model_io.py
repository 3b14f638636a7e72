"""Saving and loading models: `.keras` files written atomically, with a JSON model card beside them.

Saving. The model and its card are written to temporary files in the target directory
and flushed to disk; the model is renamed over the target first, then the card. The
card records the SHA-256 and size of the model file it describes, so a reader that
finds a card beside a model it does not belong to (a save killed between the two
renames, or an old card beside a copied model) ignores it instead of showing another
model's figures. Renaming the model first means the valuable half lands first: an
interruption after it still finishes the card (one rename), and a SIGKILL in between
leaves a new model whose stale card is detected. While a save runs in the main thread,
SIGTERM and SIGHUP interrupt it like Ctrl+C does, so the temporary files are removed
before the process ends the way it would have; temporary files of a process that died
anyway (SIGKILL, power loss) carry its pid and are swept by the next save.

Loading. The path must be a regular file (never a FIFO, a device or a directory) of
bounded size; the zip archive's central directory, entry count and declared
uncompressed sizes are checked before anything is expanded; Keras then loads it in
safe mode from the very file descriptor that was checked, and the model must take
28x28x1 images, give 10 finite outputs.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import json
import logging
import math
import os
import re
import signal
import struct
import tempfile
import threading
import zipfile
from pathlib import Path
from typing import BinaryIO

import numpy as np

from cnn_desktop import __version__, config
from cnn_desktop.core.safe_files import UnsafeFileError, check_regular_file, open_regular_file, read_bounded

log = logging.getLogger(__name__)

MODEL_SUFFIX = ".keras"
CARD_SUFFIX = ".card.json"

# Bounds for a model file. The presets' models are 1-6 MB with a 20 kB config; these limits leave
# room for far bigger networks while keeping a hostile file's cost to well under a second.
MAX_MODEL_FILE_BYTES = 256 * 2**20
MAX_MODEL_EXPANDED_BYTES = 512 * 2**20  # sum of the entries' declared uncompressed sizes
MAX_CONFIG_BYTES = 4 * 2**20  # config.json / metadata.json, parsed whole by Keras
MAX_ARCHIVE_ENTRIES = 64  # Keras writes 3 (config, metadata, weights) plus any assets
MAX_CENTRAL_DIRECTORY_BYTES = 256 * 2**10  # what zipfile parses before anything else
MAX_CARD_BYTES = 1 * 2**20
# A config.json of a few kB can ask for a Dense layer of 10^7 units (46 GB of weights, allocated while
# the model is built, before the weights file is even opened). The variables' sizes are counted first
# without allocating them; the presets have 0.3-1.7 million parameters.
MAX_MODEL_PARAMETERS = 50_000_000
WEIGHTS_ENTRY = "model.weights.h5"
# Card text fields shown in titles and status bars are kept to one short line.
MAX_CARD_TEXT = 200
CARD_TEXT_FIELDS = ("name", "preset", "date", "dataset", "status", "validation", "app_version")
CARD_NUMBER_FIELDS = ("epochs", "batch_size", "learning_rate", "test_accuracy", "test_loss", "training_seconds",
                      "parameters", "best_epoch", "limit", "seed", "images_per_second", "model_bytes")

_END_OF_CENTRAL_DIRECTORY = struct.Struct("<4s4H2LH")
_END_SIGNATURE = b"PK\x05\x06"
_ZIP64_LOCATOR_SIGNATURE = b"PK\x06\x07"
_ZIP64_LOCATOR_SIZE = 20
_MAX_ZIP_COMMENT = 0xFFFF

# Hidden temporary names: ".<name>.<pid>.<random>.tmp[.keras]" so the sweep can tell a dead writer's files.
_TEMP_PATTERN = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.[^.]+\.tmp(\.keras)?$")


class ModelFileError(RuntimeError):
    """A model file cannot be used; the message says why."""


class SaveInterrupted(BaseException):
    """A termination signal arrived during a save (BaseException, like KeyboardInterrupt: it must not be caught
    by ``except Exception`` handlers inside Keras)."""

    def __init__(self, signum: int):
        super().__init__(f"interrupted by signal {signum}")
        self.signum = signum


def card_path(model_path: Path | str) -> Path:
    """``model.keras`` -> ``model.card.json``."""
    model_path = Path(model_path)
    return model_path.with_name(model_path.stem + CARD_SUFFIX)


# ---------------------------------------------------------------------------------------------------- saving


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


def _temporary_file(path: Path, suffix: str) -> Path:
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    return Path(name)


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_stale_temporaries(directory: Path) -> list[Path]:
    """Remove temporary files that a save by a process now dead left in ``directory``; returns them."""
    removed = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed
    for entry in entries:
        match = _TEMP_PATTERN.match(entry.name)
        if not match or _pid_alive(int(match["pid"])):
            continue
        try:
            if entry.is_file(follow_symlinks=False):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:
            pass
    if removed:
        log.info("removed %d temporary file(s) left by an interrupted save in %s", len(removed), directory)
    return removed


@contextlib.contextmanager
def _termination_interrupts():
    """While the block runs in the main thread, SIGTERM / SIGHUP raise SaveInterrupted (so ``finally`` clean-up
    runs); afterwards the previous handlers are restored and a signal that arrived is delivered to them."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set handlers; the next save's sweep covers a kill here
        return
    received: list[int] = []

    def interrupt(signum, _frame):
        received.append(signum)
        raise SaveInterrupted(signum)

    previous = {}
    for signum in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if signum is None:
            continue
        handler = signal.getsignal(signum)
        if handler is signal.SIG_IGN or handler is None:
            continue  # ignored before: stays ignored
        previous[signum] = handler
        signal.signal(signum, interrupt)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if received:
            # The default action (end the process) happens now, after the clean-up; a Python handler runs.
            signal.raise_signal(received[0])


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one, never a part."""
    path = Path(path)
    tmp_path = _temporary_file(path, ".tmp")
    try:
        with open(tmp_path, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fchmod(handle.fileno(), _umask_mode())
            os.fsync(handle.fileno())
        os.replace(tmp_path, path)
        _fsync_dir(path.parent)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
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


def check_save_location(path: Path | str) -> Path:
    """Check, before any work is spent, that a model can be saved at ``path``; returns it.

    Creates the directory when missing and proves it writable by creating (and removing) a
    temporary file there. Raises ModelFileError with a one-line reason.
    """
    path = Path(path)
    if path.suffix != MODEL_SUFFIX:
        raise ModelFileError(f"Model files must end in {MODEL_SUFFIX}: {path}")
    if path.is_dir():
        raise ModelFileError(f"{path} is a directory; give a file name ending in {MODEL_SUFFIX}")
    for target in (path, card_path(path)):
        if os.path.lexists(target):
            try:
                check_regular_file(target)
            except UnsafeFileError as exc:
                raise ModelFileError(f"cannot save over {target}: {exc}") from None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise ModelFileError(f"cannot save to {path}: {path.parent} is not a folder") from None
    except OSError as exc:
        raise ModelFileError(f"cannot create the folder {path.parent}: {exc.strerror or exc}") from None
    try:
        probe = _temporary_file(path, ".tmp")
    except OSError as exc:
        raise ModelFileError(f"cannot write in the folder {path.parent}: {exc.strerror or exc}") from None
    probe.unlink(missing_ok=True)
    return path


def _file_digest(handle: BinaryIO, max_bytes: int | None = None) -> tuple[str, int]:
    """SHA-256 and length of the file, reading at most ``max_bytes`` + 1 bytes (a /proc or /sys file says
    it is 0 bytes long and may never end)."""
    handle.seek(0)
    digest = hashlib.sha256()
    size = 0
    while max_bytes is None or size <= max_bytes:
        chunk = handle.read(2**20)
        if not chunk:
            break
        digest.update(chunk)
        size += len(chunk)
    handle.seek(0)
    return digest.hexdigest(), size


def save_model(model, path: Path | str, card: dict | None = None) -> Path:
    """Save ``model`` to ``path`` (must end in .keras) atomically, and its card beside it (see the module text)."""
    path = Path(path)
    if path.suffix != MODEL_SUFFIX:
        raise ModelFileError(f"Model files must end in {MODEL_SUFFIX}: {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    sweep_stale_temporaries(path.parent)
    temporaries: list[Path] = []
    landed = False
    with _termination_interrupts():
        try:
            # Keras insists on the .keras suffix, so the temporary name keeps it.
            tmp_model = _temporary_file(path, ".tmp" + MODEL_SUFFIX)
            temporaries.append(tmp_model)
            model.save(tmp_model)
            with open(tmp_model, "rb+") as handle:
                os.fchmod(handle.fileno(), _umask_mode())
                os.fsync(handle.fileno())
                sha256, size = _file_digest(handle)
            tmp_card = None
            if card is not None:
                tmp_card = _temporary_file(card_path(path), ".tmp")
                temporaries.append(tmp_card)
                card_bytes = (json.dumps({**card, "model_sha256": sha256, "model_bytes": size}, indent=2)
                              + "\n").encode()
                with open(tmp_card, "wb") as handle:
                    handle.write(card_bytes)
                    handle.flush()
                    os.fchmod(handle.fileno(), _umask_mode())
                    os.fsync(handle.fileno())
            try:
                os.replace(tmp_model, path)
            finally:
                # Once the model is in place (its temporary name is gone) its card follows, even when a
                # signal arrived meanwhile.
                if not os.path.lexists(tmp_model):
                    landed = True
                    if tmp_card is not None:
                        os.replace(tmp_card, card_path(path))
                    else:
                        card_path(path).unlink(missing_ok=True)  # an older model's card would not match
                    _fsync_dir(path.parent)
        except BaseException as exc:
            for temporary in temporaries:
                temporary.unlink(missing_ok=True)
            if not isinstance(exc, SaveInterrupted):
                raise
            if not landed:
                # Leaving the block delivers the signal (by default: the process ends here); when a handler
                # of the program's own lets it go on, the caller learns that nothing was saved.
                raise ModelFileError(f"saving {path} was interrupted; the previous files are unchanged") from None
    log.info("saved model to %s", path)
    return path


# --------------------------------------------------------------------------------------------------- loading


def _clean_card(card: dict) -> dict:
    """Drop card values of the wrong type, so that no caller formats a string as a number or shows a
    megabyte-long name (a card is a file anyone can edit)."""
    cleaned = {}
    for key, value in card.items():
        if not isinstance(key, str):
            continue
        if key in CARD_TEXT_FIELDS:
            if not isinstance(value, str):
                continue
            value = " ".join(value.split())[:MAX_CARD_TEXT]
        elif key in CARD_NUMBER_FIELDS:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                continue
        cleaned[key] = value
    return cleaned


def read_card(model_path: Path | str, model_sha256: str | None = None) -> dict:
    """The model card beside ``model_path``, or {} when there is none, it is unreadable, or it records a
    different model file than the one whose SHA-256 is given."""
    path = card_path(model_path)
    try:
        with open_regular_file(path, MAX_CARD_BYTES) as handle:
            card = json.loads(read_bounded(handle, MAX_CARD_BYTES, str(path)).decode("utf-8"))
    except (OSError, ValueError, RecursionError) as exc:  # UnsafeFileError and JSON errors are ValueErrors
        if os.path.lexists(path):
            log.warning("ignoring the model card %s: %s", path, exc)
        return {}
    if not isinstance(card, dict):
        log.warning("ignoring the model card %s: not a JSON object", path)
        return {}
    recorded = card.get("model_sha256")
    if model_sha256 is not None and recorded is not None and recorded != model_sha256:
        log.warning("ignoring the model card %s: it describes another version of the model file", path)
        return {}
    return _clean_card(card)


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


def check_model_outputs(model) -> None:
    """Refuse a model whose outputs are not finite numbers (NaN or infinite weights) on a blank and a
    mid-grey image."""
    import keras

    probe = np.zeros((2, *config.INPUT_SHAPE), dtype=np.float32)
    probe[1] = 0.5
    try:
        outputs = keras.ops.convert_to_numpy(model(probe, training=False))
    except Exception as exc:  # any layer may fail on a hostile configuration
        raise ModelFileError(f"the model fails on a test image ({_first_line(exc)})") from exc
    if not np.all(np.isfinite(outputs)):
        raise ModelFileError("the model gives no usable output (NaN or infinite values)")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


def _check_central_directory(handle: BinaryIO, size: int, path: Path) -> None:
    """Bound what zipfile will parse, from the end-of-central-directory record, before it parses it."""
    tail_size = min(size, _END_OF_CENTRAL_DIRECTORY.size + _MAX_ZIP_COMMENT + _ZIP64_LOCATOR_SIZE)
    handle.seek(size - tail_size)
    tail = handle.read(tail_size)
    position = tail.rfind(_END_SIGNATURE)
    if position < 0 or position + _END_OF_CENTRAL_DIRECTORY.size > len(tail):
        raise ModelFileError(f"Model file {path} is damaged or not a Keras model (no zip directory)")
    _sig, _disk, _cd_disk, _disk_entries, entries, directory_size, _offset, _comment = \
        _END_OF_CENTRAL_DIRECTORY.unpack_from(tail, position)
    zip64 = position >= _ZIP64_LOCATOR_SIZE and \
        tail[position - _ZIP64_LOCATOR_SIZE:position - _ZIP64_LOCATOR_SIZE + 4] == _ZIP64_LOCATOR_SIGNATURE
    if zip64 or entries > MAX_ARCHIVE_ENTRIES or directory_size > MAX_CENTRAL_DIRECTORY_BYTES:
        raise ModelFileError(
            f"Model file {path} is not a Keras model file this program accepts (its archive lists "
            f"{'a ZIP64 directory' if zip64 else f'{entries:,} entries in {directory_size:,} bytes'}; "
            f"the limit is {MAX_ARCHIVE_ENTRIES} entries)")
    handle.seek(0)


def _check_archive(handle: BinaryIO, size: int, path: Path) -> tuple[bytes, int]:
    """The .keras zip: bounded directory, entries and declared sizes, CRCs correct, config.json present.

    Returns config.json's bytes and the declared size of the weights entry."""
    _check_central_directory(handle, size, path)
    try:
        with zipfile.ZipFile(handle) as archive:
            entries = archive.infolist()
            if len(entries) > MAX_ARCHIVE_ENTRIES:
                raise ModelFileError(f"Model file {path} has {len(entries):,} entries; "
                                     f"the limit is {MAX_ARCHIVE_ENTRIES}")
            expanded = sum(entry.file_size for entry in entries)
            if expanded > MAX_MODEL_EXPANDED_BYTES:
                raise ModelFileError(
                    f"Model file {path} would expand to {expanded / 2**20:,.0f} MB; the limit is "
                    f"{MAX_MODEL_EXPANDED_BYTES // 2**20} MB (a possible decompression bomb)")
            for entry in entries:
                if entry.filename in ("config.json", "metadata.json") and entry.file_size > MAX_CONFIG_BYTES:
                    raise ModelFileError(f"Model file {path} has a {entry.file_size / 2**20:,.0f} MB "
                                         f"{entry.filename}; the limit is {MAX_CONFIG_BYTES // 2**20} MB")
            names = {entry.filename for entry in entries}
            # Every entry is decompressed once here (bounded by the sizes checked above) to verify its CRC.
            bad = archive.testzip()
            config_json = archive.read("config.json") if bad is None and "config.json" in names else b""
            weights_bytes = archive.getinfo(WEIGHTS_ENTRY).file_size if WEIGHTS_ENTRY in names else 0
    except ModelFileError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError,
            NotImplementedError, RuntimeError) as exc:
        raise ModelFileError(f"Model file {path} is damaged or not a Keras model ({_first_line(exc)})") from exc
    if bad is not None or "config.json" not in names:
        raise ModelFileError(f"Model file {path} is damaged or not a Keras model")
    handle.seek(0)
    return config_json, weights_bytes


def count_parameters(config_json: bytes) -> int:
    """The number of values a model's config asks for, counted without allocating them (Keras defers
    creating variables inside a StatelessScope that is left without initializing them). Safe mode."""
    import keras

    config_dict = json.loads(config_json)
    if not isinstance(config_dict, dict):
        raise ValueError("config.json is not a JSON object")
    config_dict["compile_config"] = None
    with keras.StatelessScope(initialize_variables=False):
        model = keras.saving.deserialize_keras_object(config_dict, safe_mode=True)
        return int(sum(math.prod(variable.shape) for variable in model.weights))


def _check_parameters(config_json: bytes, weights_bytes: int, path: Path) -> None:
    try:
        parameters = count_parameters(config_json)
    except Exception as exc:  # Keras raises many kinds for a bad config (RecursionError for deep JSON too)
        raise ModelFileError(f"Model file {path} cannot be loaded: {_first_line(exc)}") from exc
    # Every value has at least one byte in a weights file that holds them all.
    if parameters > MAX_MODEL_PARAMETERS or parameters > max(weights_bytes, 1):
        raise ModelFileError(
            f"Model file {path} describes a network of {parameters:,} parameters, "
            + (f"more than the limit of {MAX_MODEL_PARAMETERS:,}" if parameters > MAX_MODEL_PARAMETERS
               else f"more than its {weights_bytes:,}-byte weights file can hold"))


def check_model_file(path: Path | str) -> Path:
    """Quick checks of a model path without loading it (regular file, suffix, size); raises ModelFileError.

    For a file dialog or a path typed by the user: it never blocks, whatever the path names.
    """
    path = Path(path)
    try:
        check_regular_file(path, MAX_MODEL_FILE_BYTES)
    except UnsafeFileError as exc:
        raise ModelFileError(f"Model file {exc}" if str(exc).startswith(str(path)) else str(exc)) from None
    if path.suffix != MODEL_SUFFIX:
        raise ModelFileError(f"{path} is not a {MODEL_SUFFIX} model file")
    return path


def _keras_load(handle: BinaryIO):
    # Keras' file-object entry point: the model is read from the descriptor that was checked, so a path
    # swapped for a FIFO or a bigger file after the checks changes nothing. keras.models.load_model only
    # accepts paths. safe_mode=True refuses Lambda layers and other code in the config.
    from keras.src.saving import saving_lib

    return saving_lib.load_model(handle, custom_objects=None, compile=False, safe_mode=True)


def load_model(path: Path | str):
    """Load and validate a `.keras` model; returns ``(model, card)``. Raises ModelFileError."""
    path = check_model_file(path)
    try:
        handle = open_regular_file(path, MAX_MODEL_FILE_BYTES)
    except UnsafeFileError as exc:
        raise ModelFileError(f"Model file {exc}" if str(exc).startswith(str(path)) else str(exc)) from None
    with handle:
        try:
            sha256, size = _file_digest(handle, MAX_MODEL_FILE_BYTES)
        except OSError as exc:
            raise ModelFileError(f"Model file {path} cannot be read: {exc.strerror or exc}") from None
        if size > MAX_MODEL_FILE_BYTES:  # it grew after the check, or it is a file that lies about its size
            raise ModelFileError(f"Model file {path} is too large (more than {MAX_MODEL_FILE_BYTES:,} bytes)")
        config_json, weights_bytes = _check_archive(handle, size, path)
        _check_parameters(config_json, weights_bytes, path)
        try:
            model = _keras_load(handle)
        except Exception as exc:  # Keras raises many kinds for a bad file (RecursionError for deep JSON too)
            raise ModelFileError(f"Model file {path} cannot be loaded: {_first_line(exc)}") from exc
    try:
        check_model_shapes(model)
        check_model_outputs(model)
    except ModelFileError as exc:
        raise ModelFileError(f"Model file {path} is not compatible: {exc}") from exc
    card = read_card(path, sha256)
    card.setdefault("name", path.stem)
    card.setdefault("path", str(path))
    return model, card
