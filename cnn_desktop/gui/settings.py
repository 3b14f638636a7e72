"""The app's settings: one place for every key, typed getters, and a format version.

Settings files are hostile input like any other (edited by hand, from another
version, damaged): every getter returns its default for a value that is
missing, of the wrong type or out of range, and ``open_settings`` starts afresh
when the file is unreadable or from another format version.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

log = logging.getLogger(__name__)

VERSION_KEY = "settings/version"
FORMAT_VERSION = 1

# Every key the app stores.
WINDOW_GEOMETRY = "window/geometry"
WINDOW_STATE = "window/state"
WINDOW_TAB = "window/tab"
LAST_MODEL = "model/last_path"
CLASSIFY_LAST_DIR = "classify/last_dir"
DATASET_PIXEL_SCALE = "dataset/pixel_scale"
DATASET_MARKS = "dataset/show_predictions"
DATASET_LAST_FOLDER = "dataset/last_folder"
TRAIN_GROUP = "train"  # the Train tab's form: train/preset, train/epochs, ...

_TRUE, _FALSE = ("true", "1", "yes"), ("false", "0", "no")


class Settings:
    """Typed reads and writes of the app's QSettings (organisation and application names set in app.py)."""

    def __init__(self, store: QSettings | None = None):
        self._store = store if store is not None else QSettings()

    # ------------------------------------------------------------------ reading
    def get_int(self, key: str, default: int, minimum: int | None = None, maximum: int | None = None) -> int:
        try:
            value = int(str(self._store.value(key, default)))
        except (TypeError, ValueError):
            return default
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            return default
        return value

    def get_float(self, key: str, default: float | None, minimum: float | None = None, maximum: float | None = None,
                  *, above: float | None = None) -> float | None:
        """A finite number within [minimum, maximum] (and greater than ``above``); else ``default``."""
        try:
            value = float(str(self._store.value(key, default)))
        except (TypeError, ValueError):
            return default
        if not math.isfinite(value) or (minimum is not None and value < minimum) or \
                (maximum is not None and value > maximum) or (above is not None and value <= above):
            return default
        return value

    def get_bool(self, key: str, default: bool) -> bool:
        value = self._store.value(key, default)
        if isinstance(value, bool):
            return value
        text = str(value).lower()
        return True if text in _TRUE else False if text in _FALSE else default

    def get_str(self, key: str, default: str, choices=None) -> str:
        """A string (one of ``choices`` when given); else ``default``."""
        value = self._store.value(key, default)
        if not isinstance(value, str) or (choices is not None and value not in choices):
            return default
        return value

    def get_dir(self, key: str) -> Path | None:
        """A folder that exists; None when the stored one is missing, gone or not a folder."""
        value = self._store.value(key, "")
        return Path(value) if isinstance(value, str) and value and Path(value).is_dir() else None

    def get_file(self, key: str) -> Path | None:
        """A file that exists; None when the stored one is missing, gone or not a file."""
        value = self._store.value(key, "")
        return Path(value) if isinstance(value, str) and value and Path(value).is_file() else None

    def get_bytes(self, key: str) -> QByteArray | None:
        value = self._store.value(key)
        return QByteArray(value) if isinstance(value, (QByteArray, bytes)) else None

    # ------------------------------------------------------------------ writing
    def set(self, key: str, value) -> None:
        self._store.setValue(key, value)

    def remove(self, key_or_group: str) -> None:
        self._store.remove(key_or_group)

    def sync(self) -> None:
        self._store.sync()


def open_settings() -> Settings:
    """The app's settings, reset when unreadable or written by another format version (checked at start)."""
    store = QSettings()
    if store.status() != QSettings.Status.NoError:
        log.warning("the settings file %s is unreadable (%s); starting with defaults", store.fileName(), store.status())
        store.clear()
    settings = Settings(store)
    version = settings.get_int(VERSION_KEY, 0)
    if version != FORMAT_VERSION:
        # Settings from another version (or damaged): start afresh rather than misread them.
        if store.allKeys():
            log.info("settings are from another version (%r); resetting them", version)
        store.clear()
        store.setValue(VERSION_KEY, FORMAT_VERSION)
    return settings
