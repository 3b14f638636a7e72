"""The user's example collection (core/examples.py) and its command line: real SQLite files, real pictures,
real archives, a real process killed mid-write, and a real (short) fine-tune of the bundled model."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cnn_desktop.core.examples import (ExampleStore, ExampleStoreError, class_index_from_text, fine_tune_data,
                                       repeats_for_share, split_held_out)

ROOT = Path(__file__).resolve().parent.parent
DRAWINGS = ROOT / "benchmarks" / "teach" / "teach"


def drawing(number: int) -> np.ndarray:
    """A real canvas drawing (made with the mouse under Xvfb), as the canvas's grey pixels."""
    path = sorted(DRAWINGS.glob(f"{number:03d}_*.png"))[0]
    return np.asarray(Image.open(path).convert("L"))


def drawing_label(number: int) -> int:
    return number // 8  # draw_on_canvas.py: 8 drawings per class, in label order


@pytest.fixture
def store(tmp_path):
    with ExampleStore(tmp_path / "examples") as opened:
        yield opened


def test_add_list_relabel_delete(store):
    first, added = store.add_pixels("t-shirt", drawing(0))
    assert added
    again, added_again = store.add_pixels(0, drawing(0))  # the same input and label: one example
    assert (again, added_again) == (first, False)
    second, _ = store.add_pixels("Ankle_boot", drawing(72))
    assert len(store) == 2 and store.counts() == [1, 0, 0, 0, 0, 0, 0, 0, 0, 1]
    boots = store.examples(label=9)
    assert [e.id for e in boots] == [second] and boots[0].input.shape == (28, 28) and boots[0].input.max() > 200
    original = Image.open(io.BytesIO(store.original(first)))
    assert original.size == (280, 280)  # the drawing as drawn, not the 28x28 input
    store.relabel(second, "sneakers")
    assert store.counts()[7] == 1 and store.counts()[9] == 0
    store.delete(first)
    assert [e.id for e in store.examples()] == [second]
    with pytest.raises(KeyError):
        store.delete(first)
    images, labels = store.arrays()
    assert images.shape == (1, 28, 28) and images.dtype == np.uint8 and labels.tolist() == [7]


@pytest.mark.parametrize("text, label", [("ankle boot", 9), ("Ankle_boot", 9), ("ankle-boot", 9), ("ANKLE BOOTS", 9),
                                         ("9", 9), ("T-shirt", 0), ("top", 0), ("T-shirt/top", 0), ("shirt", 6),
                                         ("Sneakers", 7), ("trousers", 1), (3, 3)])
def test_class_names_are_matched_leniently(text, label):
    assert class_index_from_text(text) == label


@pytest.mark.parametrize("text", ["boot", "10", "-1", "", "hat", "x" * 10_000])
def test_unknown_class_names_are_refused_with_the_choices(text):
    with pytest.raises(ExampleStoreError, match="Ankle boot"):
        class_index_from_text(text)


def test_export_import_round_trip(store, tmp_path):
    for number in (0, 9, 41, 73):
        store.add_pixels(drawing_label(number), drawing(number))
    store.add_file("bag", DRAWINGS / sorted(p.name for p in DRAWINGS.glob("064_*.png"))[0])
    archive = tmp_path / "my examples.zip"
    assert store.export_archive(archive) == 5
    with ExampleStore(tmp_path / "elsewhere") as other:
        report = other.import_archive(archive)
        assert (report.added, report.duplicates, report.skipped_count) == (5, 0, 0)
        mine, theirs = store.examples(), other.examples()
        assert [e.label for e in theirs] == [e.label for e in mine]
        assert all(np.array_equal(a.input, b.input) for a, b in zip(mine, theirs))
        assert [other.original(e.id) for e in theirs] == [store.original(e.id) for e in mine]
        assert theirs[-1].original_name == mine[-1].original_name != ""
        again = other.import_archive(archive)  # importing twice adds nothing
        assert (again.added, again.duplicates) == (0, 5) and len(other) == 5


def _hostile_archive(path: Path, entries: list[dict], files: dict[str, bytes], manifest_extra=None) -> Path:
    manifest = {"format": "cnn-desktop-examples", "version": 1, "examples": entries, **(manifest_extra or {})}
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("manifest.json", json.dumps(manifest))
        for name, data in files.items():
            archive.writestr(name, data)
    return path


def _png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def test_hostile_archive_entries_are_skipped_with_reasons_and_nothing_is_extracted(store, tmp_path):
    good = _png(np.full((28, 28), 200, np.uint8))
    work = tmp_path / "work"
    work.mkdir()
    entries = [
        {"label": 1, "input": "inputs/1.png"},  # fine
        {"label": 2, "input": "../../evil.png"},  # zip slip: ignored
        {"label": 2, "input": "/etc/evil.png"},
        {"label": 3, "input": "inputs/big.png"},  # not 28x28
        {"label": 4, "input": "inputs/junk.png"},  # not an image
        {"label": 42, "input": "inputs/1.png"},  # no such class
        {"label": 5, "input": "inputs/missing.png"},
        "not an object",
    ]
    files = {"inputs/1.png": good, "../../evil.png": good, "/etc/evil.png": good,
             "inputs/big.png": _png(np.zeros((600, 600), np.uint8)), "inputs/junk.png": b"GIF89a nonsense"}
    archive = _hostile_archive(tmp_path / "hostile.zip", entries, files)
    before = set(os.listdir(tmp_path))
    report = store.import_archive(archive)
    assert report.added == 1 and report.skipped_count == 7 and store.counts()[1] == 1
    text = "\n".join(report.skipped)
    assert "unsafe" in text and "not 28x28" in text and "cannot be read" in text and "unknown class" in text
    assert set(os.listdir(tmp_path)) == before and not (tmp_path.parent / "evil.png").exists()


@pytest.mark.parametrize("make, message", [
    (lambda p: p.write_bytes(b"not a zip at all" * 100), "not a zip"),
    (lambda p: zipfile.ZipFile(p, "w").writestr("x.txt", "hello"), "no manifest.json"),
    (lambda p: zipfile.ZipFile(p, "w").writestr("manifest.json", "{not json"), "not valid JSON"),
    (lambda p: zipfile.ZipFile(p, "w").writestr("manifest.json", '{"format": "other"}'), "not a cnn-desktop"),
    (lambda p: zipfile.ZipFile(p, "w").writestr(
        "manifest.json", '{"format": "cnn-desktop-examples", "version": 99, "examples": []}'), "newer"),
    (lambda p: os.mkfifo(p), "named pipe"),
])
def test_unusable_archives_are_refused_with_one_message(store, tmp_path, make, message):
    path = tmp_path / "archive.zip"
    make(path)
    started = time.monotonic()
    with pytest.raises(ExampleStoreError, match=message):
        store.import_archive(path)
    assert time.monotonic() - started < 5 and len(store) == 0


def test_folder_of_class_subfolders_is_imported_leniently(store, tmp_path):
    folder = tmp_path / "my pictures"
    for sub, numbers in {"Ankle_boot": (72, 73), "sneakers": (56,), "3": (24, 25), "holiday": (0,)}.items():
        (folder / sub).mkdir(parents=True)
        for number in numbers:
            Image.fromarray(drawing(number)).save(folder / sub / f"{number}.png")
    (folder / "3" / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    (folder / "3" / "notes.txt").write_text("ignored: not a picture")
    progress = []
    report = store.import_folder(folder, progress=lambda done, total: progress.append((done, total)))
    assert report.added == 5 and report.skipped_count == 2
    assert any("holiday" in reason for reason in report.skipped)
    assert any("broken.jpg" in reason for reason in report.skipped)
    assert store.counts() == [0, 0, 0, 2, 0, 0, 0, 1, 0, 2]
    assert progress[-1] == (6, 6)
    assert {e.source for e in store.examples()} == {"imported"}


def test_damaged_database_is_refused_with_a_message(tmp_path):
    folder = tmp_path / "examples"
    folder.mkdir()
    (folder / "examples.sqlite3").write_bytes(b"this is not a database " * 500)
    with pytest.raises(ExampleStoreError, match="damaged.*move the file aside"):
        ExampleStore(folder)


def test_database_with_damaged_pages_is_refused_with_a_message(tmp_path):
    folder = tmp_path / "examples"
    with ExampleStore(folder) as store:
        for number in range(0, 80, 4):
            store.add_pixels(drawing_label(number), drawing(number))
        store._connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    path = folder / "examples.sqlite3"
    data = bytearray(path.read_bytes())
    assert len(data) > 8 * 4096
    data[3 * 4096:5 * 4096] = os.urandom(2 * 4096)  # pages in the middle of the file overwritten
    path.write_bytes(bytes(data))
    with pytest.raises(ExampleStoreError, match="damaged"):
        ExampleStore(folder)


def test_a_newer_schema_is_refused(tmp_path):
    folder = tmp_path / "examples"
    ExampleStore(folder).close()
    import sqlite3

    connection = sqlite3.connect(folder / "examples.sqlite3")
    connection.execute("PRAGMA user_version = 99")
    connection.close()
    with pytest.raises(ExampleStoreError, match="newer cnn-desktop"):
        ExampleStore(folder)


CRASHING_WRITER = r"""
import sys, numpy as np
from cnn_desktop.core.examples import ExampleStore
store = ExampleStore(sys.argv[1])
rng = np.random.default_rng(0)
for number in range(100000):
    pixels = rng.integers(0, 256, (300, 300), dtype=np.uint8)  # a large original: a long write
    store.add(number % 10, rng.integers(0, 256, (28, 28), dtype=np.uint8), _png(pixels))
    print(number + 1, flush=True)
"""


def test_a_process_killed_while_adding_leaves_only_whole_examples(tmp_path):
    folder = tmp_path / "examples"
    code = "from cnn_desktop.core.examples import original_png as _png\n" + CRASHING_WRITER
    child = subprocess.Popen([sys.executable, "-c", code, str(folder)], stdout=subprocess.PIPE, text=True,
                             cwd=ROOT)
    committed = 0
    try:
        while committed < 15:
            line = child.stdout.readline()
            assert line, "the writer ended early"
            committed = int(line)
    finally:
        child.send_signal(signal.SIGKILL)  # mid-write: it is always writing the next example
        child.wait(timeout=30)
    with ExampleStore(folder) as store:
        examples = store.examples()
        assert len(examples) >= committed  # every example it reported is there
        for example in examples:
            assert example.input.shape == (28, 28)
            original = Image.open(io.BytesIO(store.original(example.id)))
            original.load()
            assert original.size == (300, 300)
        store.add(0, np.zeros((28, 28), np.uint8))  # and the collection is writable again


def test_held_out_split_is_stratified_and_oversampling_makes_the_share():
    labels = np.repeat(np.arange(10), [8, 8, 8, 8, 8, 8, 8, 8, 1, 4])
    split = split_held_out(labels, 0.25, seed=3)
    assert len(np.intersect1d(split.teach, split.held_out)) == 0
    assert len(split.teach) + len(split.held_out) == len(labels)
    held_counts = np.bincount(labels[split.held_out], minlength=10)
    assert held_counts.tolist() == [2] * 8 + [0, 1]  # a lone example only teaches
    assert repeats_for_share(60, 60_000, 0.05) == 53  # 60 x 53 = 3,180 = 5% of 63,180
    assert repeats_for_share(0, 60_000) == 0 and repeats_for_share(10_000, 100) == 1


def test_fine_tune_data_mixes_official_images_with_repeated_examples(dataset):
    images = np.stack([np.asarray(Image.fromarray(drawing(n)).resize((28, 28))) for n in (0, 8, 16)])
    labels = np.array([0, 1, 2])
    mixed = fine_tune_data(dataset, images, labels, official_images=1900, share=0.05, seed=1)
    repeats = repeats_for_share(3, 1900, 0.05)
    assert len(mixed.train_images) == 1900 + 3 * repeats
    assert np.array_equal(mixed.train_images[-repeats:], np.repeat(images, repeats, axis=0)[-repeats:])
    assert mixed.train_labels[1900:].tolist() == np.repeat(labels, repeats).tolist()
    assert mixed.test_images is dataset.test_images  # the chart shows the official test set


# ----------------------------------------------------------------------------------------------- command line
def run_cli(home: Path, *args, timeout=600):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CNN_DESKTOP_DATA_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "cnn_desktop", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env=env, stdin=subprocess.DEVNULL, cwd=ROOT)


def test_cli_add_list_import_export(tmp_path):
    home = tmp_path / "home"
    files = [next(DRAWINGS.glob(f"{number:03d}_*.png")) for number in (72, 73)]
    added = run_cli(home, "examples", "add", *files, "--label", "ankle-boot")
    assert added.returncode == 0, added.stderr
    assert added.stdout.count("added as example") == 2 and "(Ankle boot)" in added.stdout
    wrong = run_cli(home, "examples", "add", files[0], "--label", "hat")
    assert wrong.returncode == 1 and "unknown class" in wrong.stderr and "Traceback" not in wrong.stderr
    folder = tmp_path / "pictures" / "Sandal"
    folder.mkdir(parents=True)
    Image.fromarray(drawing(40)).save(folder / "a.png")
    imported = run_cli(home, "examples", "import", folder.parent)
    assert imported.returncode == 0 and "1 example added" in imported.stdout
    listed = run_cli(home, "examples", "list")
    counts = {line[:15].strip(): int(line[15:21]) for line in listed.stdout.splitlines()[1:]}
    assert "3 examples" in listed.stdout and counts["Ankle boot"] == 2 and counts["Sandal"] == 1
    assert sum(counts.values()) == 3 and len(counts) == 10
    archive = tmp_path / "out.zip"
    exported = run_cli(home, "examples", "export", archive)
    assert exported.returncode == 0 and "Exported 3 examples" in exported.stdout
    again = run_cli(tmp_path / "other home", "examples", "import", archive)
    assert "3 examples added" in again.stdout
    as_json = [json.loads(line) for line in run_cli(tmp_path / "other home", "examples", "list", "--json")
               .stdout.splitlines()]
    assert sorted(item["class"] for item in as_json) == ["Ankle boot", "Ankle boot", "Sandal"]
    damaged = tmp_path / "damaged home" / "examples"
    damaged.mkdir(parents=True)
    (damaged / "examples.sqlite3").write_bytes(b"garbage" * 1000)
    refused = run_cli(damaged.parent, "examples", "list")
    assert refused.returncode == 1 and "damaged" in refused.stderr and "Traceback" not in refused.stderr


def test_train_continue_with_examples_end_to_end(tmp_path, default_model_path):
    """A short fine-tune of the bundled model: 2,000 official images + 12 examples, one epoch."""
    home = tmp_path / "home"
    with ExampleStore(home / "examples") as store:
        for number in [n for label in (0, 8, 9) for n in range(label * 8, label * 8 + 4)]:
            store.add_pixels(drawing_label(number), drawing(number))
    out = tmp_path / "taught.keras"
    result = run_cli(home, "train", "--continue", "--with-examples", "--limit", "2000", "--no-record",
                     "--out", out)
    assert result.returncode == 0, result.stderr
    assert "Teaching 9 of your examples; 3 of 12 examples held out" in result.stderr
    assert "Training preset robust: 1 epochs" in result.stderr
    lines = result.stdout.splitlines()
    official = next(line for line in lines if line.startswith("official test set"))
    held = next(line for line in lines if line.startswith("your held-out examples"))
    assert official.count("/10000)") == 2 and held.count("/3)") == 2
    card = json.loads(out.with_name("taught.card.json").read_text())
    assert card["test_accuracy"] > 0.9  # a gentle fine-tune keeps what the network knew
    assert not run_cli(home, "train", "--with-examples", "--out", tmp_path / "x.keras").returncode == 0
