"""Model files: atomic .keras saves with a card, identical predictions after loading, refusal of bad files."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from cnn_desktop.core.evaluation import predict_logits
from cnn_desktop.core.model import build_model
from cnn_desktop.core.model_io import ModelFileError, card_path, load_model, make_card, save_model


def test_save_then_load_gives_identical_predictions(tmp_path, quick_model_path, dataset):
    model, card = load_model(quick_model_path)
    images = dataset.test_images[:500]
    target = tmp_path / "copy.keras"
    save_model(model, target, make_card(preset="seed", epochs=1, test_accuracy=0.5))
    loaded, loaded_card = load_model(target)
    np.testing.assert_array_equal(predict_logits(model, images), predict_logits(loaded, images))
    assert loaded_card["preset"] == "seed" and loaded_card["test_accuracy"] == 0.5
    assert card["name"] == "quick"
    assert oct(target.stat().st_mode & 0o777) != "0o600"  # readable like any other file the user saves


def test_card_lies_beside_the_model_with_the_promised_fields(quick_model_path):
    card = json.loads(card_path(quick_model_path).read_text())
    for key in ("preset", "epochs", "batch_size", "test_accuracy", "test_loss", "training_seconds", "date",
                "dataset_checksum", "classes"):
        assert key in card
    assert card_path(quick_model_path).name == "quick.card.json"


def test_no_temporary_files_are_left_behind(tmp_path, quick_model_path):
    model, _ = load_model(quick_model_path)
    save_model(model, tmp_path / "m.keras", {"preset": "seed"})
    save_model(model, tmp_path / "m.keras", {"preset": "seed"})  # overwrite
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.card.json", "m.keras"]


@pytest.mark.parametrize("content, message", [
    (b"", "damaged or not a Keras model"),
    (b"this is not a zip file at all", "damaged or not a Keras model"),
])
def test_garbage_files_are_refused(tmp_path, content, message):
    path = tmp_path / "bad.keras"
    path.write_bytes(content)
    with pytest.raises(ModelFileError, match=message):
        load_model(path)


def test_truncated_model_file_is_refused(tmp_path, quick_model_path):
    data = quick_model_path.read_bytes()
    path = tmp_path / "truncated.keras"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError, match="damaged"):
        load_model(path)


def test_zip_without_keras_config_is_refused(tmp_path):
    path = tmp_path / "other.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hello.txt", "hi")
    with pytest.raises(ModelFileError, match="not a Keras model"):
        load_model(path)


def test_missing_file_directory_and_wrong_suffix(tmp_path):
    with pytest.raises(ModelFileError, match="does not exist"):
        load_model(tmp_path / "none.keras")
    with pytest.raises(ModelFileError, match="directory"):
        load_model(tmp_path)
    other = tmp_path / "model.h5"
    other.write_bytes(b"x")
    with pytest.raises(ModelFileError, match="not a .keras"):
        load_model(other)


def test_models_with_wrong_input_or_output_are_refused(tmp_path):
    import keras

    wrong_input = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Flatten(), keras.layers.Dense(10)])
    wrong_output = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(5)])
    wrong_input.save(tmp_path / "in.keras")
    wrong_output.save(tmp_path / "out.keras")
    with pytest.raises(ModelFileError, match=r"input of shape \(32, 32, 3\)"):
        load_model(tmp_path / "in.keras")
    with pytest.raises(ModelFileError, match="10 classes"):
        load_model(tmp_path / "out.keras")


def test_killing_a_save_midway_leaves_the_previous_file_intact(tmp_path, quick_model_path):
    """A subprocess overwrites a model with a bigger one and is killed while writing; the old file survives."""
    target = tmp_path / "model.keras"
    target.write_bytes(quick_model_path.read_bytes())
    before = target.read_bytes()
    marker = tmp_path / "saving"
    script = textwrap.dedent(f"""
        import pathlib, keras
        from cnn_desktop.core import model_io
        from cnn_desktop.core.model import build_model
        model = build_model("improved")
        real_save = keras.Model.save
        def slow_save(self, path, *args, **kwargs):
            pathlib.Path({str(marker)!r}).write_text(str(path))
            real_save(self, path, *args, **kwargs)
            import time; time.sleep(60)   # still "writing" when killed
        keras.Model.save = slow_save
        model_io.save_model(model, pathlib.Path({str(target)!r}), {{"preset": "improved"}})
    """)
    process = subprocess.Popen([sys.executable, "-c", script], env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    try:
        deadline = time.monotonic() + 120
        while not marker.exists() and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.1)
        assert marker.exists(), "the saving subprocess never started writing"
        temporary = marker.read_text()
        assert temporary != str(target)  # it writes elsewhere first
        process.send_signal(signal.SIGKILL)
        process.wait(30)
    finally:
        if process.poll() is None:
            process.kill()
    assert target.read_bytes() == before
    model, _ = load_model(target)
    assert model.count_params() == build_model("seed").count_params()


def test_check_save_location_refuses_before_any_work(tmp_path):
    from cnn_desktop.core.model_io import check_save_location

    assert check_save_location(tmp_path / "new" / "folder" / "m.keras") == tmp_path / "new" / "folder" / "m.keras"
    assert (tmp_path / "new" / "folder").is_dir() and not list((tmp_path / "new" / "folder").iterdir())
    a_file = tmp_path / "file"
    a_file.write_text("x")
    (tmp_path / "taken.card.json").mkdir()
    for path, reason in ((a_file / "m.keras", "is not a folder"), (tmp_path / "new", "must end in .keras"),
                         (tmp_path / "taken.keras", "taken.card.json is a directory"),
                         (Path("/proc/1/m.keras"), "cannot write in the folder /proc/1")):
        with pytest.raises(ModelFileError, match=reason):
            check_save_location(path)


def test_check_model_file_never_opens_the_path(tmp_path):
    from cnn_desktop.core.model_io import check_model_file

    fifo = tmp_path / "f.keras"
    os.mkfifo(fifo)  # opening it for reading would block forever
    with pytest.raises(ModelFileError, match="named pipe"):
        check_model_file(fifo)
