"""The settings module: typed getters fall back to their default for anything damaged or missing."""

from __future__ import annotations

import math

from PySide6.QtCore import QByteArray, QSettings

from cnn_desktop.gui.app import create_application
from cnn_desktop.gui.settings import FORMAT_VERSION, VERSION_KEY, Settings, open_settings

GROUP = "settings-test"


def fresh() -> Settings:
    create_application()
    QSettings().remove(GROUP)
    return Settings()


def test_values_round_trip_with_their_types(tmp_path):
    store = fresh()
    for key, value in (("n", 7), ("x", 0.25), ("flag", False), ("name", "seed"), ("dir", str(tmp_path)),
                       ("blob", QByteArray(b"\x00\x01geometry"))):
        store.set(f"{GROUP}/{key}", value)
    again = Settings()
    assert again.get_int(f"{GROUP}/n", 1) == 7
    assert again.get_float(f"{GROUP}/x", 1.0) == 0.25
    assert again.get_bool(f"{GROUP}/flag", True) is False
    assert again.get_str(f"{GROUP}/name", "fast", choices=("seed", "fast")) == "seed"
    assert again.get_dir(f"{GROUP}/dir") == tmp_path
    assert again.get_bytes(f"{GROUP}/blob") == QByteArray(b"\x00\x01geometry")
    store.remove(GROUP)


def test_damaged_or_missing_values_give_the_default(tmp_path):
    store = fresh()
    raw = QSettings()
    for key, value in (("n", "many"), ("big", 5000), ("x", "nan"), ("neg", -1.0), ("flag", "perhaps"),
                       ("name", ["not", "a", "name"]), ("other", "improved"), ("dir", str(tmp_path / "gone")),
                       ("file", str(tmp_path)), ("blob", "not bytes at all")):
        raw.setValue(f"{GROUP}/{key}", value)
    raw.sync()
    assert store.get_int(f"{GROUP}/n", 3) == 3
    assert store.get_int(f"{GROUP}/big", 3, 1, 1000) == 3
    assert store.get_int(f"{GROUP}/missing", 4) == 4
    assert store.get_float(f"{GROUP}/x", 0.5) == 0.5 and not math.isnan(store.get_float(f"{GROUP}/x", 0.5))
    assert store.get_float(f"{GROUP}/neg", 0.5, above=0) == 0.5
    assert store.get_bool(f"{GROUP}/flag", True) is True
    assert store.get_str(f"{GROUP}/name", "fast") == "fast"
    assert store.get_str(f"{GROUP}/other", "fast", choices=("seed", "fast")) == "fast"
    assert store.get_dir(f"{GROUP}/dir") is None  # the folder is gone
    assert store.get_file(f"{GROUP}/file") is None  # a folder, not a file
    assert store.get_bytes(f"{GROUP}/blob") is None
    store.remove(GROUP)


def test_settings_of_another_format_version_are_reset():
    create_application()
    raw = QSettings()
    raw.setValue(VERSION_KEY, FORMAT_VERSION + 1)
    raw.setValue(f"{GROUP}/n", 7)
    raw.sync()
    store = open_settings()
    assert store.get_int(f"{GROUP}/n", 1) == 1
    assert store.get_int(VERSION_KEY, 0) == FORMAT_VERSION
