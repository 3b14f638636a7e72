"""The user's own examples: corrected answers and imported pictures, kept to teach the network.

One embedded SQLite database, ``examples.sqlite3`` in ``<app data>/cnn-desktop/examples`` (beside the
run history; ``CNN_DESKTOP_DATA_HOME`` moves the whole app-data base). Each example is one row: its
label, the 28x28 image the network saw (784 bytes) and the original picture or drawing as a PNG blob.

Why blobs rather than files beside the database: one example is then one transaction, so a crash or a
power cut mid-write leaves either the whole example or nothing - never a row without its picture or a
picture without its row - and export, delete and relabel need no file bookkeeping. The originals are
kept small (longer side at most ``ORIGINAL_SIDE`` pixels, the size the app works at anyway), so a
collection of thousands stays a few tens of megabytes. WAL mode lets the app and the command line use
the collection at the same time; the schema is versioned like the run history's.

Teaching (``fine_tune_data`` and friends): the model in use keeps training on the official training set
mixed with the user's examples, each repeated so that they make up ``EXAMPLE_SHARE`` of the mix (a few
dozen drawings then count against 60,000 official images), at a small learning rate for one epoch so the
network keeps what it knew. ``HELD_OUT_SHARE`` of the examples (stratified by class) are held out of the
fine-tune to measure, before and after, whether the network learned the user's kind of picture.

Every failure of the database or of an archive is an ``ExampleStoreError`` whose message can be shown
as it is.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image

from cnn_desktop import config
from cnn_desktop.core import class_names
from cnn_desktop.core.sqlite_database import SqliteDatabase, app_data_dir
from cnn_desktop.core.sqlite_database import now_iso as _now_iso

log = logging.getLogger(__name__)

DATABASE_NAME = "examples.sqlite3"
BUSY_TIMEOUT_SECONDS = 10.0
INPUT_BYTES = config.IMAGE_SIZE * config.IMAGE_SIZE

# Bounds on everything a user (or an archive from elsewhere) can hand us.
MAX_EXAMPLES = 20_000  # in the collection, and per import
ORIGINAL_SIDE = 640  # originals are reduced to this longer side before they are stored (the app's PHOTO_SIZE)
MAX_ORIGINAL_BYTES = 4 * 2**20  # one stored original (a 640x640 RGBA PNG of noise is ~1.6 MB)
MAX_ARCHIVE_BYTES = 1 * 2**30
MAX_MANIFEST_BYTES = 16 * 2**20
MAX_ARCHIVE_ENTRIES = 2 * MAX_EXAMPLES + 1
MAX_SKIP_REASONS = 50  # an import lists at most this many refused files by name

ARCHIVE_FORMAT = "cnn-desktop-examples"
ARCHIVE_VERSION = 1
MANIFEST_NAME = "manifest.json"

# Sources of an example, for the user's overview.
CANVAS, PICTURE, IMPORTED = "canvas", "picture", "imported"

# Teaching. Chosen by ``benchmarks/teach.py --select`` on 5,000 held-out official training images (forgetting)
# and one half of the benchmark's teaching drawings (learning), never on the official test set: of learning
# rates 1e-4, 2e-4, 5e-4 with 5% examples and 2e-4 with 10%, the last learned the most (other half 42.5% ->
# 70%) for the least forgetting (-0.16 points); 5e-4 learned as much but forgot more (-0.20). 20,000 official
# images (a random third) keep it to about 170 steps, as in the choice, and short for the user.
HELD_OUT_SHARE = 0.25  # of each class's examples, held out of the fine-tune to measure it
EXAMPLE_SHARE = 0.10  # of the fine-tune's training images that are (repeated) user examples
FINE_TUNE_EPOCHS = 1
FINE_TUNE_LEARNING_RATE = 2e-4
FINE_TUNE_OFFICIAL_IMAGES = 20_000  # official training images mixed in, drawn at random
FINE_TUNE_BATCH_SIZE = 128

# Each entry upgrades the schema by one version; a new database runs them all. Never edit a released
# entry: add one.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (  # version 1
        f"""CREATE TABLE examples (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            label INTEGER NOT NULL CHECK (label BETWEEN 0 AND {config.NUM_CLASSES - 1}),
            input BLOB NOT NULL CHECK (length(input) = {INPUT_BYTES}),
            original BLOB,
            original_name TEXT NOT NULL DEFAULT '',
            source TEXT NOT NULL,
            created_at TEXT NOT NULL,
            input_sha256 TEXT NOT NULL)""",
        "CREATE INDEX examples_by_label ON examples(label)",
        # The same network input with the same label is one example (a double click, an archive imported twice).
        "CREATE UNIQUE INDEX examples_unique ON examples(input_sha256, label)",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)


class ExampleStoreError(RuntimeError):
    """The example collection (or an archive of one) cannot be used; the message says why and what to do."""


def default_examples_dir() -> Path:
    """``$CNN_DESKTOP_DATA_HOME/examples`` if set, else ``examples`` beside the user's models folder."""
    return app_data_dir("examples")


# ----------------------------------------------------------------------------------------------- class names
def class_index_from_text(text: str | int) -> int:
    """A class by label number or name (``core.class_names``); raises ExampleStoreError naming the choices."""
    return class_names.class_index_from_text(text, ExampleStoreError)


# ----------------------------------------------------------------------------------------------- pictures
def _png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False, compress_level=6)
    return buffer.getvalue()


def original_png(pixels: np.ndarray) -> bytes:
    """A picture or canvas bitmap (H, W[, 3|4]) uint8 as PNG bytes, reduced to ORIGINAL_SIDE."""
    pixels = np.ascontiguousarray(pixels)
    if pixels.dtype != np.uint8 or pixels.ndim not in (2, 3) or (pixels.ndim == 3 and pixels.shape[2] not in (3, 4)):
        raise ExampleStoreError("the original picture must be an (H, W[, 3|4]) array of bytes")
    image = Image.fromarray(pixels)
    if max(image.size) > ORIGINAL_SIDE:
        image.thumbnail((ORIGINAL_SIDE, ORIGINAL_SIDE), Image.Resampling.BOX)
    return _png_bytes(image)


def input_to_bytes(image: np.ndarray) -> bytes:
    """The network input (28, 28) as 784 bytes: uint8 as is, floats in [0, 1] scaled to 0-255."""
    array = np.asarray(image)
    if array.shape == (*config.INPUT_SHAPE[:2], 1):
        array = array[..., 0]
    if array.shape != config.INPUT_SHAPE[:2]:
        raise ExampleStoreError(f"the network input must be {config.IMAGE_SIZE}x{config.IMAGE_SIZE}, not {array.shape}")
    if array.dtype != np.uint8:
        array = np.round(np.clip(np.nan_to_num(array.astype(np.float32)), 0, 1) * 255).astype(np.uint8)
    return array.tobytes()


def _decode_png(data: bytes, what: str, *, exact_size: tuple[int, int] | None = None) -> Image.Image:
    """A PNG from an archive, checked before it is decoded: its size, then the pixels."""
    try:
        image = Image.open(io.BytesIO(data))
        if image.format != "PNG":
            raise ExampleStoreError(f"{what} is not a PNG image")
        if exact_size is not None and image.size != exact_size:
            raise ExampleStoreError(f"{what} is {image.size[0]}x{image.size[1]}, not "
                                    f"{exact_size[0]}x{exact_size[1]}")
        if max(image.size) > ORIGINAL_SIDE:
            raise ExampleStoreError(f"{what} is larger than {ORIGINAL_SIDE} pixels on a side")
        image.load()
        return image
    except ExampleStoreError:
        raise
    except Exception as exc:  # Pillow raises many kinds for a damaged file
        raise ExampleStoreError(f"{what} cannot be read ({type(exc).__name__}: {str(exc)[:100]})") from None


# ----------------------------------------------------------------------------------------------- the store
@dataclass(frozen=True)
class Example:
    id: int
    label: int
    input: np.ndarray = field(repr=False)  # (28, 28) uint8: what the network saw
    source: str
    original_name: str
    created_at: str

    @property
    def class_name(self) -> str:
        return config.CLASS_NAMES[self.label]


@dataclass
class ImportReport:
    added: int = 0
    duplicates: int = 0
    skipped: list[str] = field(default_factory=list)  # one line per refused file or entry (at most MAX_SKIP_REASONS)
    skipped_count: int = 0
    stopped: bool = False

    def skip(self, reason: str) -> None:
        self.skipped_count += 1
        if len(self.skipped) < MAX_SKIP_REASONS:
            self.skipped.append(reason)

    def summary(self) -> str:
        parts = [f"{self.added} example{'s' if self.added != 1 else ''} added"]
        if self.duplicates:
            parts.append(f"{self.duplicates} already in the collection")
        if self.skipped_count:
            parts.append(f"{self.skipped_count} skipped")
        if self.stopped:
            parts.append("stopped before the end")
        return ", ".join(parts)


Progress = Callable[[int, int], None]  # done, total
ShouldStop = Callable[[], bool]


class ExampleStore(SqliteDatabase):
    """The user's example collection. Thread-safe (one connection, one lock); open one per process or thread."""

    MIGRATIONS = MIGRATIONS
    ERROR = ExampleStoreError
    WHAT = "your example collection"
    DAMAGED_ADVICE = ("move the file aside (a new, empty collection will be started) or restore it from an "
                      "export")

    def __init__(self, examples_dir: Path | str | None = None, *, timeout: float = BUSY_TIMEOUT_SECONDS):
        self.examples_dir = Path(examples_dir) if examples_dir is not None else default_examples_dir()
        try:
            self.examples_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ExampleStoreError(f"cannot create the examples folder {self.examples_dir}: "
                                    f"{exc.strerror or exc}") from None
        # FULL: a committed example survives a power cut; a damaged file is refused at once, with a message.
        self._open(self.examples_dir / DATABASE_NAME, timeout, synchronous="FULL", check_integrity=True)

    # -- writing ----------------------------------------------------------------------------------------
    def add(self, label: int | str, network_input: np.ndarray, original: bytes | None = None, *,
            source: str = CANVAS, original_name: str = "") -> tuple[int, bool]:
        """Store one example in one transaction; returns (id, added). ``added`` is False when the same input
        with the same label was already there (its id is returned)."""
        label = class_index_from_text(label)
        data = input_to_bytes(network_input)
        if original is not None and len(original) > MAX_ORIGINAL_BYTES:
            raise ExampleStoreError(f"the original picture is larger than {MAX_ORIGINAL_BYTES:,} bytes")
        digest = hashlib.sha256(data).hexdigest()
        with self._transaction() as connection:
            existing = connection.execute("SELECT id FROM examples WHERE input_sha256 = ? AND label = ?",
                                          (digest, label)).fetchone()
            if existing:
                return int(existing[0]), False
            if connection.execute("SELECT COUNT(*) FROM examples").fetchone()[0] >= MAX_EXAMPLES:
                raise ExampleStoreError(f"the collection holds the most examples it can ({MAX_EXAMPLES:,}); "
                                        f"delete some first")
            cursor = connection.execute(
                "INSERT INTO examples (label, input, original, original_name, source, created_at, input_sha256)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (label, data, original, str(original_name)[:255], str(source)[:32], _now_iso(), digest))
            return int(cursor.lastrowid), True

    def add_pixels(self, label: int | str, pixels: np.ndarray, *, photo: bool = False) -> tuple[int, bool]:
        """A canvas drawing (or a pasted bitmap with ``photo``): prepared as the app classifies it."""
        from cnn_desktop.core.preprocessing import prepare_pixels

        prepared = prepare_pixels(pixels, photo=photo)
        return self.add(label, prepared.as_uint8, original_png(pixels), source=PICTURE if photo else CANVAS)

    def add_file(self, label: int | str, path: Path | str, *, source: str = PICTURE) -> tuple[int, bool]:
        """A picture file, prepared as ``classify`` prepares it (raises preprocessing.ImageError if unusable)."""
        from cnn_desktop.core.preprocessing import read_picture_file

        label = class_index_from_text(label)
        prepared, picture = read_picture_file(path)
        pixels = picture.rgb if picture.alpha is None else picture.rgba()
        return self.add(label, prepared.as_uint8, original_png(pixels), source=source,
                        original_name=Path(path).name)

    def delete(self, example_id: int) -> None:
        with self._transaction() as connection:
            if connection.execute("DELETE FROM examples WHERE id = ?", (int(example_id),)).rowcount == 0:
                raise KeyError(example_id)

    def relabel(self, example_id: int, label: int | str) -> None:
        """Give an example another class (if the same input already has that class, this one is dropped)."""
        label = class_index_from_text(label)
        with self._transaction() as connection:
            row = connection.execute("SELECT input_sha256 FROM examples WHERE id = ?", (int(example_id),)).fetchone()
            if row is None:
                raise KeyError(example_id)
            clash = connection.execute("SELECT id FROM examples WHERE input_sha256 = ? AND label = ? AND id != ?",
                                       (row[0], label, int(example_id))).fetchone()
            if clash:
                connection.execute("DELETE FROM examples WHERE id = ?", (int(example_id),))
            else:
                connection.execute("UPDATE examples SET label = ? WHERE id = ?", (label, int(example_id)))

    # -- reading ----------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return int(self._read("SELECT COUNT(*) FROM examples")[0][0])

    def counts(self) -> list[int]:
        """How many examples each class has, in label order."""
        counts = [0] * config.NUM_CLASSES
        for label, count in self._read("SELECT label, COUNT(*) FROM examples GROUP BY label"):
            counts[int(label)] = int(count)
        return counts

    def examples(self, label: int | None = None) -> list[Example]:
        """The examples (without their originals), oldest first; only class ``label`` when given."""
        sql = "SELECT id, label, input, source, original_name, created_at FROM examples"
        rows = (self._read(sql + " WHERE label = ? ORDER BY id", (int(label),)) if label is not None
                else self._read(sql + " ORDER BY id"))
        return [Example(int(i), int(lab), np.frombuffer(data, np.uint8).reshape(config.INPUT_SHAPE[:2]).copy(),
                        source, name, created) for i, lab, data, source, name, created in rows]

    def original(self, example_id: int) -> bytes | None:
        """The original picture or drawing as PNG bytes (None when the example has none)."""
        rows = self._read("SELECT original FROM examples WHERE id = ?", (int(example_id),))
        if not rows:
            raise KeyError(example_id)
        return rows[0][0]

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """All network inputs (N, 28, 28) uint8 and labels (N,), oldest first: what teaching uses."""
        examples = self.examples()
        if not examples:
            return np.zeros((0, *config.INPUT_SHAPE[:2]), np.uint8), np.zeros((0,), np.int64)
        return np.stack([e.input for e in examples]), np.array([e.label for e in examples], np.int64)

    # -- import and export --------------------------------------------------------------------------------
    def import_folder(self, folder: Path | str, *, progress: Progress | None = None,
                      should_stop: ShouldStop | None = None) -> ImportReport:
        """Pictures sorted into class sub-folders (``folder/ankle boot/x.jpg``; names matched leniently)."""
        from cnn_desktop.core.preprocessing import SUPPORTED_SUFFIXES, ImageError

        folder = Path(folder)
        if not folder.is_dir():
            raise ExampleStoreError(f"{folder} is not a folder")
        report = ImportReport()
        files: list[tuple[int, Path]] = []
        try:
            subfolders = sorted(os.scandir(folder), key=lambda entry: entry.name)
        except OSError as exc:
            raise ExampleStoreError(f"{folder} cannot be read: {exc.strerror or exc}") from None
        for entry in subfolders:
            if not entry.is_dir(follow_symlinks=False):
                continue
            try:
                label = class_index_from_text(entry.name)
            except ExampleStoreError:
                report.skip(f"{entry.name}/: not a class name")
                continue
            try:
                names = sorted(os.scandir(entry.path), key=lambda item: item.name)
            except OSError as exc:
                report.skip(f"{entry.name}/: {exc.strerror or exc}")
                continue
            for item in names:
                if Path(item.name).suffix.lower() in SUPPORTED_SUFFIXES and not item.is_dir():
                    if len(files) >= MAX_EXAMPLES:
                        raise ExampleStoreError(f"{folder} holds more than {MAX_EXAMPLES:,} pictures; import "
                                                f"a smaller folder")
                    files.append((label, Path(item.path)))
        for done, (label, path) in enumerate(files):
            if should_stop is not None and should_stop():
                report.stopped = True
                break
            try:
                _, added = self.add_file(label, path, source=IMPORTED)
            except (ImageError, ExampleStoreError) as exc:
                if "locked" in str(exc):
                    raise
                report.skip(f"{path.parent.name}/{path.name}: {exc}")
            else:
                report.added += added
                report.duplicates += not added
            if progress is not None:
                progress(done + 1, len(files))
        return report

    def export_archive(self, path: Path | str) -> int:
        """Write the whole collection as one zip (manifest + PNGs), atomically; returns the number of examples."""
        path = Path(path)
        tmp_path = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        examples = self.examples()
        manifest = {"format": ARCHIVE_FORMAT, "version": ARCHIVE_VERSION, "classes": list(config.CLASS_NAMES),
                    "exported_at": _now_iso(), "examples": []}
        try:
            with zipfile.ZipFile(tmp_path, "w", compression=zipfile.ZIP_STORED) as archive:
                for number, example in enumerate(examples, start=1):
                    entry = {"label": example.label, "class": example.class_name, "source": example.source,
                             "original_name": example.original_name, "created_at": example.created_at,
                             "input": f"inputs/{number:05d}.png"}
                    archive.writestr(entry["input"], _png_bytes(Image.fromarray(example.input)))
                    original = self.original(example.id)
                    if original is not None:
                        entry["original"] = f"originals/{number:05d}.png"
                        archive.writestr(entry["original"], original)
                    manifest["examples"].append(entry)
                archive.writestr(MANIFEST_NAME, json.dumps(manifest, indent=1), compress_type=zipfile.ZIP_DEFLATED)
            with open(tmp_path, "rb") as handle:
                os.fsync(handle.fileno())
            os.replace(tmp_path, path)
        except OSError as exc:
            tmp_path.unlink(missing_ok=True)
            raise ExampleStoreError(f"cannot write {path}: {exc.strerror or exc}") from None
        except BaseException:
            tmp_path.unlink(missing_ok=True)
            raise
        return len(examples)

    def import_archive(self, path: Path | str, *, progress: Progress | None = None,
                       should_stop: ShouldStop | None = None) -> ImportReport:
        """Add the examples of an archive made by ``export_archive`` (on this machine or another).

        Nothing is extracted to disk: entries are read into memory by the names the manifest gives, each
        bounded, so a name like ``../../x`` (zip slip) or an absolute path is ignored, not followed.
        """
        from cnn_desktop.core.safe_files import UnsafeFileError, open_regular_file, read_bounded

        path = Path(path)
        report = ImportReport()
        try:
            handle = open_regular_file(path, MAX_ARCHIVE_BYTES)
        except UnsafeFileError as exc:
            raise ExampleStoreError(str(exc)) from None
        with handle:
            try:
                archive = zipfile.ZipFile(handle)
            except (zipfile.BadZipFile, OSError, ValueError) as exc:
                raise ExampleStoreError(f"{path} is not an examples archive (not a zip file: {exc})") from None
            with archive:
                infos = archive.infolist()
                if len(infos) > MAX_ARCHIVE_ENTRIES:
                    raise ExampleStoreError(f"{path} has too many entries ({len(infos):,}; the limit is "
                                            f"{MAX_ARCHIVE_ENTRIES:,})")
                by_name = {info.filename: info for info in infos}

                def read(name: str, limit: int) -> bytes:
                    info = by_name[name]
                    if info.file_size > limit:
                        raise ExampleStoreError(f"{name} is larger than {limit:,} bytes")
                    try:
                        with archive.open(info) as member:
                            return read_bounded(member, limit, name)
                    except (zipfile.BadZipFile, OSError, UnsafeFileError, EOFError, NotImplementedError,
                            RuntimeError) as exc:
                        raise ExampleStoreError(f"{name} cannot be read ({exc})") from None

                if MANIFEST_NAME not in by_name:
                    raise ExampleStoreError(f"{path} is not an examples archive (it has no {MANIFEST_NAME})")
                try:
                    manifest = json.loads(read(MANIFEST_NAME, MAX_MANIFEST_BYTES))
                except (ValueError, UnicodeDecodeError) as exc:
                    raise ExampleStoreError(f"the manifest of {path} is not valid JSON ({exc})") from None
                if not isinstance(manifest, dict) or manifest.get("format") != ARCHIVE_FORMAT:
                    raise ExampleStoreError(f"{path} is not a cnn-desktop examples archive")
                if not isinstance(manifest.get("version"), int) or manifest["version"] > ARCHIVE_VERSION:
                    raise ExampleStoreError(f"{path} was written by a newer cnn-desktop (archive version "
                                            f"{manifest.get('version')!r}; this version reads {ARCHIVE_VERSION})")
                entries = manifest.get("examples")
                if not isinstance(entries, list) or len(entries) > MAX_EXAMPLES:
                    raise ExampleStoreError(f"the manifest of {path} lists no examples or too many")
                for number, entry in enumerate(entries):
                    if should_stop is not None and should_stop():
                        report.stopped = True
                        break
                    try:
                        self._import_entry(entry, number, by_name, read)
                    except _Duplicate:
                        report.duplicates += 1
                    except ExampleStoreError as exc:
                        if "locked" in str(exc) or "most examples" in str(exc):
                            raise
                        report.skip(f"example {number + 1}: {exc}")
                    else:
                        report.added += 1
                    if progress is not None:
                        progress(number + 1, len(entries))
        return report

    def _import_entry(self, entry, number: int, by_name: dict, read) -> None:
        if not isinstance(entry, dict):
            raise ExampleStoreError("not an object")
        label = class_index_from_text(entry.get("label", entry.get("class", "")))
        names = {}
        for key in ("input", "original"):
            name = entry.get(key)
            if name is None and key == "original":
                continue
            if not isinstance(name, str) or not _safe_member_name(name):
                raise ExampleStoreError(f"unsafe or missing {key} entry name {str(name)[:80]!r} ignored")
            if name not in by_name:
                raise ExampleStoreError(f"{name} is not in the archive")
            names[key] = name
        network_input = _decode_png(read(names["input"], 64 * 2**10), names["input"],
                                    exact_size=config.INPUT_SHAPE[:2])
        original = None
        if "original" in names:
            original = read(names["original"], MAX_ORIGINAL_BYTES)
            _decode_png(original, names["original"]).close()
        source = entry.get("source") if entry.get("source") in (CANVAS, PICTURE, IMPORTED) else IMPORTED
        original_name = entry.get("original_name") if isinstance(entry.get("original_name"), str) else ""
        _, added = self.add(label, np.asarray(network_input.convert("L")), original, source=source,
                            original_name=original_name)
        if not added:
            raise _Duplicate()


class _Duplicate(ExampleStoreError):
    pass


def _safe_member_name(name: str) -> bool:
    """A relative name inside the archive: no absolute path, drive, backslash or '..' (zip slip)."""
    parts = name.split("/")
    return (0 < len(name) <= 255 and not name.startswith("/") and "\\" not in name and ":" not in name
            and all(part not in ("", ".", "..") for part in parts))


# ----------------------------------------------------------------------------------------------- teaching
@dataclass(frozen=True)
class HeldOutSplit:
    """Which examples teach and which are held out to measure (indices into the collection's arrays)."""

    teach: np.ndarray
    held_out: np.ndarray
    description: str


def split_held_out(labels: np.ndarray, share: float = HELD_OUT_SHARE, seed: int = 0) -> HeldOutSplit:
    """Stratified: ``share`` of each class's examples, rounded, held out (a class with one example only teaches)."""
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    teach, held = [], []
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        count = int(round(len(members) * share)) if len(members) >= 2 else 0
        count = min(count, len(members) - 1)
        held.extend(members[:count])
        teach.extend(members[count:])
    return HeldOutSplit(np.sort(np.array(teach, np.int64)), np.sort(np.array(held, np.int64)),
                        f"{len(held)} of {len(labels)} examples held out ({share:.0%} of each class, stratified)")


def repeats_for_share(example_count: int, official_count: int, share: float = EXAMPLE_SHARE) -> int:
    """How often each example appears so that examples are ``share`` of the mix (at least once)."""
    if example_count <= 0:
        return 0
    return max(1, int(round(share * official_count / ((1 - share) * example_count))))


def fine_tune_data(data, example_images: np.ndarray, example_labels: np.ndarray, *,
                   official_images: int = FINE_TUNE_OFFICIAL_IMAGES, share: float = EXAMPLE_SHARE,
                   seed: int = 0, official_indices: np.ndarray | None = None):
    """A FashionMnist whose training split is official training images mixed with the examples, repeated
    (oversampled) to ``share`` of it; the test split stays the official test set (what the live chart shows).

    ``official_indices``: which official training images to mix in (default: ``official_images`` at random).
    """
    from cnn_desktop.core.dataset import FashionMnist

    if official_indices is None:
        count = min(int(official_images), len(data.train_images))
        official_indices = np.sort(np.random.default_rng(seed).permutation(len(data.train_images))[:count])
    repeats = repeats_for_share(len(example_images), len(official_indices), share)
    images = np.concatenate([data.train_images[official_indices], np.repeat(example_images, repeats, axis=0)])
    labels = np.concatenate([data.train_labels[official_indices].astype(np.uint8),
                             np.repeat(np.asarray(example_labels, np.uint8), repeats)])
    return FashionMnist(images, labels, data.test_images, data.test_labels,
                        source=f"{data.source} + {len(example_images)} examples x{repeats}",
                        checksum=data.checksum)


def fine_tune_config(preset: str, *, epochs: int = FINE_TUNE_EPOCHS, learning_rate: float = FINE_TUNE_LEARNING_RATE,
                     batch_size: int = FINE_TUNE_BATCH_SIZE, seed: int | None = 0):
    """Continue the model in use with its own recipe's augmentation, gently (small rate, short)."""
    from cnn_desktop.core.model import PRESET_NAMES
    from cnn_desktop.core.training import TrainingConfig

    return TrainingConfig(preset=preset if preset in PRESET_NAMES else "improved", epochs=epochs,
                          batch_size=batch_size, learning_rate=learning_rate, validation="test", seed=seed,
                          continue_training=True)


@dataclass(frozen=True)
class Accuracy:
    correct: int
    total: int

    @property
    def value(self) -> float | None:
        return self.correct / self.total if self.total else None

    def text(self) -> str:
        return "-" if not self.total else f"{100 * self.correct / self.total:.2f}% ({self.correct}/{self.total})"


def accuracy_of(model, images: np.ndarray, labels: np.ndarray) -> Accuracy:
    from cnn_desktop.core.evaluation import predict_logits

    if len(images) == 0:
        return Accuracy(0, 0)
    predictions = predict_logits(model, images).argmax(axis=1)
    return Accuracy(int((predictions == np.asarray(labels)).sum()), int(len(labels)))


@dataclass(frozen=True)
class TeachReport:
    """Accuracy before and after teaching, side by side."""

    official_before: Accuracy
    official_after: Accuracy | None
    held_out_before: Accuracy
    held_out_after: Accuracy | None
    taught: int
    held_out_description: str
    status: str = ""

    def lines(self) -> list[str]:
        def row(name, before, after):
            return f"{name:<28} {before.text():>24}   {after.text() if after else '-':>24}"

        return [f"{'':<28} {'before':>24}   {'after':>24}",
                row("official test set", self.official_before, self.official_after),
                row("your held-out examples", self.held_out_before, self.held_out_after),
                f"taught with {self.taught} examples; {self.held_out_description}"]


class TeachingPlan:
    """Everything one teaching run needs, prepared from the collection before it starts."""

    def __init__(self, data, images: np.ndarray, labels: np.ndarray, *, preset: str,
                 held_out_share: float = HELD_OUT_SHARE, seed: int = 0, **data_options):
        if len(images) == 0:
            raise ExampleStoreError("there are no examples to teach; correct an answer or import pictures first")
        self.split = split_held_out(labels, held_out_share, seed)
        self.images, self.labels = images, np.asarray(labels)
        self.data = fine_tune_data(data, images[self.split.teach], self.labels[self.split.teach], seed=seed,
                                   **data_options)
        self.training_config = fine_tune_config(preset, seed=seed)
        self._official = (data.test_images, data.test_labels)
        self._before: tuple[Accuracy, Accuracy] | None = None

    @property
    def held_out(self) -> tuple[np.ndarray, np.ndarray]:
        return self.images[self.split.held_out], self.labels[self.split.held_out]

    def measure_before(self, model) -> None:
        self._before = (accuracy_of(model, *self._official), accuracy_of(model, *self.held_out))

    def report(self, model_after=None, status: str = "", *, official_after: Accuracy | None = None) -> TeachReport:
        """Before and after; ``official_after``: the taught model's official accuracy when already measured."""
        if self._before is None:
            raise RuntimeError("measure_before() must run before the teaching")
        after = (None, None) if model_after is None else (
            official_after or accuracy_of(model_after, *self._official), accuracy_of(model_after, *self.held_out))
        return TeachReport(self._before[0], after[0], self._before[1], after[1], len(self.split.teach),
                           self.split.description, status)


def model_preset(card: dict | None) -> str:
    """The preset a model was trained with (its card says), for its recipe's augmentation."""
    preset = (card or {}).get("preset")
    return preset if isinstance(preset, str) else "improved"
