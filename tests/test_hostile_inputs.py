"""Hostile files (issue 13): every model, dataset and image path is bounded in time and memory.

What could hang or exhaust memory runs in a subprocess with an address-space limit and a timeout,
so that a regression fails the test instead of hanging or killing the test run.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
import textwrap
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cnn_desktop import config
from cnn_desktop.core import dataset as ds
from cnn_desktop.core.model_io import (MAX_ARCHIVE_ENTRIES, ModelFileError, card_path, load_model, read_card,
                                       save_model)
from cnn_desktop.core.preprocessing import EmptyImageError, prepare_file

ROOT = Path(__file__).resolve().parent.parent
# Enough for Python, NumPy and the checks; far too little for any expansion the checks must prevent
# (TensorFlow alone cannot even be imported under it).
ADDRESS_SPACE_LIMIT = 1536 * 2**20
GIB = 2**30


def run_limited(script: str, timeout: float = 60) -> dict:
    """Run ``script`` in a fresh Python limited to ADDRESS_SPACE_LIMIT bytes; it prints one JSON object."""
    prologue = textwrap.dedent(f"""
        import json, resource, sys
        resource.setrlimit(resource.RLIMIT_AS, ({ADDRESS_SPACE_LIMIT}, {ADDRESS_SPACE_LIMIT}))
        sys.path.insert(0, {str(ROOT)!r})
    """)
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, "-c", prologue + textwrap.dedent(script)], capture_output=True,
                            text=True, timeout=timeout, env=env, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


LOAD_EACH = """
    from cnn_desktop.core.model_io import ModelFileError, load_model
    messages = {}
    for path in PATHS:
        try:
            load_model(path)
            messages[path] = "loaded"
        except ModelFileError as exc:
            messages[path] = str(exc)
    print(json.dumps(messages))
"""


def load_in_limited_process(*paths: Path) -> dict[str, str]:
    return run_limited(f"PATHS = {[str(p) for p in paths]!r}\n" + textwrap.dedent(LOAD_EACH))


# ------------------------------------------------------------------------------------ 1: endless model paths


def test_model_paths_that_are_not_regular_files_are_refused_at_once(tmp_path):
    zero = tmp_path / "zero.keras"
    zero.symlink_to("/dev/zero")
    fifo = tmp_path / "fifo.keras"
    os.mkfifo(fifo)
    folder = tmp_path / "folder.keras"
    folder.mkdir()
    loop = tmp_path / "loop.keras"
    loop.symlink_to(loop)
    broken = tmp_path / "broken.keras"
    broken.symlink_to(tmp_path / "nowhere.keras")
    messages = load_in_limited_process(zero, fifo, folder, loop, broken)
    assert messages[str(zero)].endswith("is not a regular file but a character device")
    assert messages[str(fifo)].endswith("is not a regular file but a named pipe (FIFO)")
    assert messages[str(folder)].endswith("is a directory, not a file")
    assert messages[str(loop)].endswith("is a symbolic link loop")
    assert messages[str(broken)].endswith("is a broken symbolic link (its target does not exist)")


# ----------------------------------------------------------------------------- 2 and 3: small files that expand


def _zeros_deflated(size: int, prefix: bytes = b"") -> bytes:
    """A raw deflate stream of ``prefix`` + ``size`` zero bytes, built from one compressed 64 MiB block
    repeated (a full flush makes each block independent), so a 2 GiB stream costs a fraction of a second."""
    chunk = 64 * 2**20
    assert size % chunk == 0
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = compressor.compress(prefix) + compressor.flush(zlib.Z_FULL_FLUSH) if prefix else b""
    block = compressor.compress(bytes(chunk)) + compressor.flush(zlib.Z_FULL_FLUSH)
    return head + block * (size // chunk) + compressor.flush()


def _zip_with_raw_entries(path: Path, entries: list[tuple[str, bytes, int, bool]]) -> None:
    """A zip file from (name, data, uncompressed size, deflated) entries, data written as given (the CRC of
    the bomb is not computed: the point is what a reader spends before it could notice)."""
    local, central = bytearray(), bytearray()
    for name, data, size, deflated in entries:
        method = zipfile.ZIP_DEFLATED if deflated else zipfile.ZIP_STORED
        crc = 0 if deflated else zlib.crc32(data)
        encoded = name.encode()
        offset = len(local)
        local += struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, method, 0, 0x21, crc, len(data), size,
                             len(encoded), 0) + encoded + data
        central += struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, method, 0, 0x21, crc, len(data), size,
                               len(encoded), 0, 0, 0, 0, 0, offset) + encoded
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(entries), len(entries), len(central), len(local), 0)
    path.write_bytes(bytes(local) + bytes(central) + end)


def _keras_parts(model_path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(model_path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_keras_file_whose_weights_declare_2_gib_is_refused_before_expanding(tmp_path, quick_model_path):
    parts = _keras_parts(quick_model_path)
    bomb = tmp_path / "bomb.keras"
    _zip_with_raw_entries(bomb, [
        ("metadata.json", parts["metadata.json"], len(parts["metadata.json"]), False),
        ("config.json", parts["config.json"], len(parts["config.json"]), False),
        ("model.weights.h5", _zeros_deflated(2 * GIB), 2 * GIB, True),
    ])
    assert bomb.stat().st_size < 3 * 2**20
    message = load_in_limited_process(bomb)[str(bomb)]
    assert "would expand to 2,048 MB" in message and "decompression bomb" in message


def test_keras_file_with_a_huge_config_or_thousands_of_entries_is_refused(tmp_path, quick_model_path):
    parts = _keras_parts(quick_model_path)
    huge_config = tmp_path / "huge-config.keras"
    with zipfile.ZipFile(huge_config, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("config.json", b" " * (64 * 2**20) + parts["config.json"])  # valid JSON, 64 MB
        archive.writestr("model.weights.h5", parts["model.weights.h5"])
    many = tmp_path / "many.keras"
    with zipfile.ZipFile(many, "w") as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
        for index in range(5000):
            archive.writestr(f"assets/{index}", b"")
    messages = load_in_limited_process(huge_config, many)
    assert "config.json; the limit is 4 MB" in messages[str(huge_config)]
    assert "5,003 entries" in messages[str(many)] and f"limit is {MAX_ARCHIVE_ENTRIES} entries" in messages[str(many)]


def test_deeply_nested_config_is_refused_without_crashing(tmp_path, quick_model_path):
    parts = _keras_parts(quick_model_path)
    nested = tmp_path / "nested.keras"
    with zipfile.ZipFile(nested, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("metadata.json", parts["metadata.json"])
        archive.writestr("config.json", "[" * 200_000 + "]" * 200_000)
        archive.writestr("model.weights.h5", parts["model.weights.h5"])
    # In a subprocess: a C stack overflow would end the test run itself.
    script = f"""
        import sys
        from cnn_desktop.core.model_io import ModelFileError, load_model
        try:
            load_model({str(nested)!r})
            print("loaded")
        except ModelFileError as exc:
            print(exc)
    """
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], capture_output=True, text=True,
                            timeout=300, cwd=ROOT, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert result.returncode == 0, result.stderr[-2000:]
    assert "cannot be loaded" in result.stdout


def _idx_header(magic: int, count: int, *shape: int) -> bytes:
    return struct.pack(f">{2 + len(shape)}I", magic, count, *shape)


def _write_gzip(path: Path, deflated: bytes) -> None:
    # gzip = 10-byte header, raw deflate, CRC-32 and size (left 0: a reader that needs them read everything).
    path.write_bytes(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff" + deflated + struct.pack("<2L", 0, 0))


@pytest.fixture
def data_copy(tmp_path, dataset):
    target = tmp_path / "fmnist"
    target.mkdir()
    for stem in ds.ALL_FILE_STEMS:
        source = dataset.files[stem]
        shutil.copy(source, target / source.name)
    return target


def test_gzip_dataset_file_that_expands_to_3_gib_is_refused_after_the_expected_size(data_copy):
    images = data_copy / "train-images-idx3-ubyte.gz"
    _write_gzip(images, _zeros_deflated(3 * GIB, prefix=_idx_header(ds.IMAGES_MAGIC, config.TRAIN_SIZE, 28, 28)))
    assert images.stat().st_size < 4 * 2**20
    result = run_limited(f"""
        from cnn_desktop.core import dataset
        try:
            dataset.load_from_directory({str(data_copy)!r})
            print(json.dumps({{"message": "loaded"}}))
        except dataset.DatasetError as exc:
            print(json.dumps({{"message": str(exc)}}))
    """)
    assert "train-images-idx3-ubyte.gz is truncated or has trailing data" in result["message"]


def test_dataset_header_is_checked_from_the_first_bytes(data_copy):
    labels = data_copy / "train-labels-idx1-ubyte.gz"
    # A header promising 4 billion labels, followed by 3 GiB: refused on the header alone.
    _write_gzip(labels, _zeros_deflated(3 * GIB, prefix=_idx_header(ds.LABELS_MAGIC, 2**32 - 1)))
    result = run_limited(f"""
        from cnn_desktop.core import dataset
        try:
            dataset.load_from_directory({str(data_copy)!r})
            print(json.dumps({{"message": "loaded"}}))
        except dataset.DatasetError as exc:
            print(json.dumps({{"message": str(exc)}}))
    """, timeout=30)
    assert "holds 4294967295 items" in result["message"]


def test_dataset_directory_with_a_fifo_or_device_says_so(data_copy):
    labels = data_copy / "t10k-labels-idx1-ubyte.gz"
    labels.unlink()
    os.mkfifo(labels)
    images = data_copy / "t10k-images-idx3-ubyte.gz"
    images.unlink()
    images.symlink_to("/dev/zero")
    result = run_limited(f"""
        from cnn_desktop.core import dataset
        try:
            dataset.load_from_directory({str(data_copy)!r})
            print(json.dumps({{"message": "loaded"}}))
        except dataset.DatasetError as exc:
            print(json.dumps({{"message": str(exc)}}))
    """)
    assert "t10k-images-idx3-ubyte.gz is not a regular file but a character device" in result["message"]
    # ... and a search for a data directory passes such a directory by.
    assert not ds._has_all_files(data_copy)


# ----------------------------------------------------------------------------- 4: semi-transparent uniform grey


def test_uniform_semi_transparent_grey_is_blank_like_the_opaque_one(tmp_path, dataset):
    for alpha in (255, 128, 40):
        path = tmp_path / f"grey-{alpha}.png"
        Image.new("RGBA", (200, 200), (128, 128, 128, alpha)).save(path)
        with pytest.raises(EmptyImageError):
            prepare_file(path)
    # A picture seen through uniform transparency still shows its item.
    item = tmp_path / "item.png"
    grey = np.kron(255 - dataset.test_images[0], np.ones((4, 4), dtype=np.uint8))
    Image.fromarray(np.dstack([grey, grey, grey, np.full_like(grey, 128)]), "RGBA").save(item)
    prepared = prepare_file(item)
    assert np.corrcoef(prepared.as_uint8.ravel(), dataset.test_images[0].ravel())[0, 1] > 0.8


# ------------------------------------------------------------------------------------- 6: the model-card pair


def test_card_of_another_model_version_is_ignored(tmp_path, quick_model_path):
    import keras

    model, _ = load_model(quick_model_path)
    first = save_model(model, tmp_path / "a.keras", {"name": "first", "test_accuracy": 0.5})
    other = keras.models.clone_model(model)  # same shapes, new weights: another file
    second = save_model(other, tmp_path / "b.keras", {"name": "second", "test_accuracy": 0.9})
    assert json.loads(card_path(first).read_text())["model_sha256"] != \
        json.loads(card_path(second).read_text())["model_sha256"]
    shutil.copy(card_path(second), card_path(first))  # the state a save killed between two renames could leave
    _model, card = load_model(first)
    assert card.get("test_accuracy") is None and card["name"] == "a"


SLOW_SAVE = """
    import os, pathlib, sys, time, keras
    from cnn_desktop.core import model_io
    from cnn_desktop.core.model import build_model
    target, marker, stage = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), sys.argv[3]
    model = build_model("improved")
    if stage.startswith("writing"):
        real_save = keras.Model.save
        def slow_save(self, path, *args, **kwargs):
            real_save(self, path, *args, **kwargs)
            marker.write_text(str(path))
            time.sleep(120)   # still "writing" when the signal comes
        keras.Model.save = slow_save
    else:  # between the model's rename and the card's
        real_replace = os.replace
        def slow_replace(source, destination):
            real_replace(source, destination)
            if str(destination) == str(target):
                marker.write_text(str(source))
                time.sleep(120)
        os.replace = slow_replace
    if stage == "writing-handled":  # a program with its own SIGTERM handler goes on after the save
        import signal
        signal.signal(signal.SIGTERM, lambda signum, frame: print("handler ran", flush=True))
    try:
        model_io.save_model(model, target, {"preset": "improved", "name": "new"})
    except model_io.ModelFileError as exc:
        print(exc)
        sys.exit(3)
"""


def _save_and_signal(tmp_path: Path, stage: str, signum: int) -> subprocess.CompletedProcess:
    marker = tmp_path / "marker"
    target = tmp_path / "models" / "m.keras"
    process = subprocess.Popen([sys.executable, "-c", textwrap.dedent(SLOW_SAVE), str(target), str(marker), stage],
                               cwd=ROOT, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        import time
        deadline = time.monotonic() + 180
        while not marker.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.exists(), process.communicate(timeout=30)
        process.send_signal(signum)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


@pytest.fixture
def previous_pair(tmp_path, quick_model_path):
    folder = tmp_path / "models"
    folder.mkdir()
    model, _ = load_model(quick_model_path)
    save_model(model, folder / "m.keras", {"preset": "seed", "name": "old"})
    return folder


@pytest.mark.parametrize("signum", [15, 2], ids=["SIGTERM", "SIGINT"])
def test_signal_while_writing_keeps_the_old_pair_and_leaves_no_temporary_file(tmp_path, previous_pair, signum):
    before = {path.name: path.read_bytes() for path in previous_pair.iterdir()}
    result = _save_and_signal(tmp_path, "writing", signum)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr or signum == 2  # Ctrl+C shows Python's usual traceback
    assert {path.name: path.read_bytes() for path in previous_pair.iterdir()} == before
    _model, card = load_model(previous_pair / "m.keras")
    assert card["name"] == "old"


def test_sigterm_with_the_programs_own_handler_reports_that_nothing_was_saved(tmp_path, previous_pair):
    before = {path.name: path.read_bytes() for path in previous_pair.iterdir()}
    result = _save_and_signal(tmp_path, "writing-handled", 15)
    assert result.returncode == 3, result.stderr[-2000:]
    assert result.stdout.splitlines() == ["handler ran", f"saving {previous_pair / 'm.keras'} was interrupted; "
                                                         "the previous files are unchanged"]
    assert {path.name: path.read_bytes() for path in previous_pair.iterdir()} == before


def test_sigterm_between_the_renames_still_lands_the_card(tmp_path, previous_pair):
    result = _save_and_signal(tmp_path, "renaming", 15)
    assert result.returncode == -15  # ended by the signal, as before, once the card was in place
    assert sorted(path.name for path in previous_pair.iterdir()) == ["m.card.json", "m.keras"]
    model, card = load_model(previous_pair / "m.keras")
    assert card["name"] == "new" and model.count_params() > 300_000  # the improved preset's model


def test_temporaries_of_a_killed_save_are_swept_by_the_next_save(tmp_path, previous_pair, quick_model_path):
    _save_and_signal(tmp_path, "writing", 9)  # SIGKILL: nothing can clean up
    assert len(list(previous_pair.iterdir())) > 2
    model, _ = load_model(quick_model_path)
    save_model(model, previous_pair / "m.keras", {"preset": "seed", "name": "again"})
    assert sorted(path.name for path in previous_pair.iterdir()) == ["m.card.json", "m.keras"]


# ---------------------------------------------------------------------------------------- hostile model cards


@pytest.mark.parametrize("content", [
    b"\x00\xff not json",
    b"[1, 2, 3]",
    b"[" * 100_000 + b"]" * 100_000,
    b'{"name": "' + b"x" * (2 * 2**20) + b'"}',
], ids=["binary", "list", "deep", "huge"])
def test_unusable_cards_are_ignored(tmp_path, quick_model_path, content):
    target = tmp_path / "m.keras"
    shutil.copy(quick_model_path, target)
    card_path(target).write_bytes(content)
    _model, card = load_model(target)
    assert card == {"name": "m", "path": str(target)}


def test_card_values_of_the_wrong_type_are_dropped(tmp_path, quick_model_path):
    target = tmp_path / "m.keras"
    shutil.copy(quick_model_path, target)
    card_path(target).write_text(json.dumps({"name": "line one\nline two" + "y" * 1000, "test_accuracy": "98%",
                                             "epochs": float("nan"), "batch_size": True, "preset": ["seed"]}))
    card = read_card(target)
    assert "\n" not in card["name"] and len(card["name"]) == 200
    assert not {"test_accuracy", "epochs", "batch_size", "preset"} & card.keys()


def test_a_model_that_outputs_nan_is_refused(tmp_path, quick_model_path):
    model, _ = load_model(quick_model_path)
    weights = model.get_weights()
    weights[-1] = np.full_like(weights[-1], np.nan)
    model.set_weights(weights)
    model.save(tmp_path / "nan.keras")
    with pytest.raises(ModelFileError, match="NaN or infinite"):
        load_model(tmp_path / "nan.keras")


def test_config_asking_for_a_huge_layer_is_refused_before_allocating_it(tmp_path, quick_model_path):
    import keras

    # The config of a network with a 10^6-unit layer (795 million weights, 3 GB), made without allocating it.
    with keras.StatelessScope(initialize_variables=False):
        huge = keras.Sequential([keras.Input(config.INPUT_SHAPE), keras.layers.Flatten(),
                                 keras.layers.Dense(10**6), keras.layers.Dense(config.NUM_CLASSES)])
        huge_config = json.dumps(keras.saving.serialize_keras_object(huge)).encode()
    parts = _keras_parts(quick_model_path)
    path = tmp_path / "huge.keras"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("metadata.json", parts["metadata.json"])
        archive.writestr("config.json", huge_config)
        archive.writestr("model.weights.h5", parts["model.weights.h5"])
    # TensorFlow needs a few GB of address space to start; far less than the 3 GB layer on top of it.
    script = f"""
        import json, resource, sys
        resource.setrlimit(resource.RLIMIT_AS, ({6 * GIB}, {6 * GIB}))
        from cnn_desktop.core.model_io import ModelFileError, load_model
        try:
            load_model({str(path)!r})
            print("loaded")
        except ModelFileError as exc:
            print(exc)
        # This process's own peak (VmHWM starts anew at exec; ru_maxrss would carry over the peak of the
        # forking pytest process, gigabytes late in a full run).
        status = open("/proc/self/status").read()
        print(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")))
    """
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], capture_output=True, text=True,
                            timeout=300, cwd=ROOT, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert result.returncode == 0, result.stderr[-2000:]
    message, peak_kib = result.stdout.strip().splitlines()[-2:]
    assert "describes a network of 795,000,010 parameters, more than the limit of 50,000,000" in message
    assert int(peak_kib) < 1.5 * 2**20  # KiB: TensorFlow itself, no layer


def test_oversized_model_file_and_zip64_directory_are_refused_before_reading(tmp_path, quick_model_path):
    sparse = tmp_path / "sparse.keras"
    with open(sparse, "wb") as handle:
        handle.truncate(300 * 2**20)  # 300 MB that cost no disk
    zip64 = tmp_path / "zip64.keras"
    data = quick_model_path.read_bytes()
    end = data.rfind(b"PK\x05\x06")
    # A ZIP64 locator just before the end record makes zipfile trust the ZIP64 record's sizes instead.
    zip64.write_bytes(data[:end] + struct.pack("<4sLQL", b"PK\x06\x07", 0, 2**40, 1) + data[end:])
    messages = load_in_limited_process(sparse, zip64)
    assert "is too large (314,572,800 bytes" in messages[str(sparse)]
    assert "a ZIP64 directory" in messages[str(zip64)]


def test_card_that_is_a_fifo_is_ignored_without_blocking(tmp_path):
    model = tmp_path / "m.keras"
    model.write_bytes(b"")
    os.mkfifo(card_path(model))
    result = run_limited(f"""
        from cnn_desktop.core.model_io import read_card
        print(json.dumps({{"card": read_card({str(model)!r})}}))
    """, timeout=30)
    assert result["card"] == {}


def test_code_in_a_config_is_refused_by_safe_mode_before_anything_is_built(tmp_path, quick_model_path):
    import keras

    marker = tmp_path / "pwned"
    parts = _keras_parts(quick_model_path)
    lambda_model = keras.Sequential([keras.Input(config.INPUT_SHAPE), keras.layers.Flatten(),
                                     keras.layers.Lambda(lambda x: x[:, :10])])
    lambda_model.save(tmp_path / "lambda.keras")
    injected = tmp_path / "injected.keras"
    with zipfile.ZipFile(injected, "w") as archive:
        archive.writestr("metadata.json", parts["metadata.json"])
        archive.writestr("config.json", json.dumps({"module": "os", "class_name": "system",
                                                    "config": f"touch {marker}", "registered_name": "system"}))
        archive.writestr("model.weights.h5", parts["model.weights.h5"])
    for path in (tmp_path / "lambda.keras", injected):
        with pytest.raises(ModelFileError, match="cannot be loaded"):
            load_model(path)
    assert not marker.exists()


def test_window_refuses_a_fifo_model_and_keeps_the_model_in_use(qtbot, make_window, quick_model_path, tmp_path):
    """Issue 13 item 2 in the window: the loader thread ends at once, so the window does not stay at
    "Loading model f.keras…" and can close."""
    from cnn_desktop.gui.widgets.messages import open_messages

    window = make_window(quick_model_path, wait_for_data=False)
    model_before = window.model_state.model
    fifo = tmp_path / "f.keras"
    os.mkfifo(fifo)
    window.load_model(fifo)
    qtbot.waitUntil(lambda: bool(open_messages(window)), timeout=30_000)
    box = open_messages(window)[0]
    assert "f.keras" in box.text() and "named pipe" in box.text()
    assert window.model_state.model is model_before
    box.close()
