"""Loading the official Fashion-MNIST idx files, from local copies first.

Search order (first directory that has all four files wins):
1. a directory given explicitly (``--data-dir``),
2. the ``CNN_DESKTOP_DATA`` environment variable,
3. the copy inside a packaged build,
4. ``/usr/share/datasets/fashion-mnist`` (Debian package ``dataset-fashion-mnist``),
5. the Keras download cache (``~/.keras/datasets/fashion-mnist``);
only then ``keras.datasets.fashion_mnist.load_data()``, which downloads.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import logging
import os
import threading
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cnn_desktop import config
from cnn_desktop.core.safe_files import UnsafeFileError, open_regular_file

log = logging.getLogger(__name__)

IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049

# split -> (images file, labels file, expected count)
FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", config.TRAIN_SIZE),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", config.TEST_SIZE),
}
# Headroom over the raw size for a gzip file (its header, and blocks stored uncompressed).
GZIP_SLACK_BYTES = 2**20

ALL_FILE_STEMS = tuple(name for images, labels, _ in FILES.values() for name in (images, labels))


class DatasetError(RuntimeError):
    """The dataset is missing or a file of it is damaged; the message says which and what to do."""


@dataclass(frozen=True)
class FashionMnist:
    train_images: np.ndarray  # (60000, 28, 28) uint8
    train_labels: np.ndarray  # (60000,) uint8
    test_images: np.ndarray  # (10000, 28, 28) uint8
    test_labels: np.ndarray  # (10000,) uint8
    source: str  # directory the files came from, or "keras download"
    checksum: str  # sha256 over the four decoded arrays, to tie a model card to its data
    files: dict[str, Path] = field(default_factory=dict)

    def split(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        if name == "train":
            return self.train_images, self.train_labels
        if name == "test":
            return self.test_images, self.test_labels
        raise ValueError(f"unknown split {name!r}; use 'train' or 'test'")


def _find_file(directory: Path, stem: str) -> Path | None:
    """The file for ``stem`` (gzip first); anything by that name counts, so that a FIFO or a directory
    in its place is reported as such when read rather than as missing."""
    for candidate in (directory / f"{stem}.gz", directory / stem):
        if os.path.lexists(candidate):
            return candidate
    return None


def _read_idx(path: Path, magic: int, count: int, item_shape: tuple[int, ...]) -> np.ndarray:
    """Read one idx file (plain or gzip) without ever holding or decompressing more than its expected size.

    The header is checked from the first decompressed bytes; then exactly the expected number of item
    bytes is read, and one byte more to detect trailing data.
    """
    header_len = 4 * (1 + 1 + len(item_shape))
    body_len = count * int(np.prod(item_shape, dtype=np.int64))
    # A gzip stream of incompressible data is a little larger than the data itself.
    max_file_bytes = header_len + body_len + (body_len // 100 + GZIP_SLACK_BYTES if path.suffix == ".gz" else 0)
    try:
        with contextlib.ExitStack() as stack:
            raw = stack.enter_context(open_regular_file(path))
            stream = stack.enter_context(gzip.GzipFile(fileobj=raw, mode="rb")) if path.suffix == ".gz" else raw
            header_bytes = stream.read(header_len)
            if len(header_bytes) < header_len:
                raise DatasetError(
                    f"Dataset file {path} is truncated (only {len(header_bytes)} bytes). {config.DATA_HELP}")
            header = np.frombuffer(header_bytes, dtype=">u4")
            if int(header[0]) != magic:
                raise DatasetError(
                    f"Dataset file {path} is not an idx file of the expected kind "
                    f"(magic number {int(header[0])}, expected {magic}). {config.DATA_HELP}"
                )
            if int(header[1]) != count or tuple(int(v) for v in header[2:]) != item_shape:
                raise DatasetError(
                    f"Dataset file {path} holds {int(header[1])} items of shape "
                    f"{tuple(int(v) for v in header[2:])}, expected {count} of shape {item_shape}. "
                    f"{config.DATA_HELP}"
                )
            # Checked after the header, which says more about a wrong file than its size does.
            file_bytes = os.fstat(raw.fileno()).st_size
            if file_bytes > max_file_bytes:
                raise DatasetError(f"Dataset file {path} is far larger than a Fashion-MNIST file can be "
                                   f"({file_bytes:,} bytes; at most {max_file_bytes:,}). {config.DATA_HELP}")
            items = np.empty(body_len, dtype=np.uint8)
            filled = 0
            view = memoryview(items)
            while filled < body_len:
                got = stream.readinto(view[filled:])
                if not got:
                    break
                filled += got
            trailing = stream.read(1)
    except DatasetError:
        raise
    except UnsafeFileError as exc:
        raise DatasetError(f"Dataset file {exc}. {config.DATA_HELP}") from None
    except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
        raise DatasetError(f"Cannot read dataset file {path}: {exc}. {config.DATA_HELP}") from exc
    if filled < body_len or trailing:
        actual = f"{header_len + filled} bytes" if filled < body_len else "more bytes"
        raise DatasetError(
            f"Dataset file {path} is truncated or has trailing data ({actual}, expected "
            f"{header_len + body_len}). {config.DATA_HELP}"
        )
    return items.reshape((count, *item_shape))


def _checksum(*arrays: np.ndarray) -> str:
    digest = hashlib.sha256()
    for array in arrays:
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def load_from_directory(directory: Path | str) -> FashionMnist:
    """Load and validate the four idx files (plain or .gz) from one directory."""
    directory = Path(directory)
    if not directory.is_dir():
        problem = "is not a folder" if os.path.lexists(directory) else "does not exist"
        raise DatasetError(f"Dataset directory {directory} {problem}. {config.DATA_HELP}")
    found: dict[str, Path] = {}
    for stem in ALL_FILE_STEMS:
        path = _find_file(directory, stem)
        if path is None:
            raise DatasetError(f"Dataset file {directory / (stem + '.gz')} is missing. {config.DATA_HELP}")
        found[stem] = path
    arrays: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for split, (images_stem, labels_stem, count) in FILES.items():
        images = _read_idx(found[images_stem], IMAGES_MAGIC, count, (config.IMAGE_SIZE, config.IMAGE_SIZE))
        labels = _read_idx(found[labels_stem], LABELS_MAGIC, count, ())
        if labels.max(initial=0) >= config.NUM_CLASSES:
            raise DatasetError(
                f"Dataset file {found[labels_stem]} has label {int(labels.max())}, outside 0-9. {config.DATA_HELP}"
            )
        arrays[split] = (images, labels)
    (train_x, train_y), (test_x, test_y) = arrays["train"], arrays["test"]
    return FashionMnist(
        train_x, train_y, test_x, test_y,
        source=str(directory),
        checksum=_checksum(train_x, train_y, test_x, test_y),
        files=found,
    )


def candidate_directories(data_dir: Path | str | None = None) -> list[Path]:
    """The local directories searched, in order."""
    candidates: list[Path] = []
    if data_dir:
        candidates.append(Path(data_dir))
    env_dir = os.environ.get(config.DATA_ENV_VAR)
    if env_dir:
        candidates.append(Path(env_dir))
    candidates += [config.bundled_data_dir(), config.SYSTEM_DATA_DIR, config.KERAS_CACHE_DIR]
    return candidates


def _has_all_files(directory: Path) -> bool:
    if not directory.is_dir():
        return False
    found = [_find_file(directory, stem) for stem in ALL_FILE_STEMS]
    return all(path is not None and path.is_file() for path in found)


def find_local_directory(data_dir: Path | str | None = None) -> Path | None:
    """The first candidate directory with all four files, or None."""
    for directory in candidate_directories(data_dir):
        if _has_all_files(directory):
            return directory
    return None


def _download_with_keras() -> FashionMnist:
    import keras  # imported here: it pulls in TensorFlow, which plain loading does not need

    log.info("No local Fashion-MNIST found; downloading it with Keras")
    try:
        (train_x, train_y), (test_x, test_y) = keras.datasets.fashion_mnist.load_data()
    except Exception as exc:  # any network or file error: there is no data to be had
        raise DatasetError(f"Fashion-MNIST is not on this machine and downloading it failed ({exc}). "
                           f"{config.DATA_HELP}") from exc
    return FashionMnist(
        train_x, train_y, test_x, test_y,
        source="keras download", checksum=_checksum(train_x, train_y, test_x, test_y),
    )


_cache: dict[str, FashionMnist] = {}
_cache_lock = threading.Lock()


def load_dataset(data_dir: Path | str | None = None, *, allow_download: bool = True) -> FashionMnist:
    """Load Fashion-MNIST from the first local directory that has it (cached per directory).

    An explicitly given ``data_dir`` must hold the data: its errors are reported as they are
    rather than silently falling through to other copies.
    """
    with _cache_lock:
        if data_dir is not None:
            key = str(Path(data_dir).resolve())
            if key not in _cache:
                _cache[key] = load_from_directory(data_dir)
            return _cache[key]
        directory = find_local_directory(None)
        if directory is not None:
            key = str(directory.resolve())
            if key not in _cache:
                log.info("Loading Fashion-MNIST from %s", directory)
                _cache[key] = load_from_directory(directory)
            return _cache[key]
        if not allow_download:
            searched = ", ".join(str(d) for d in candidate_directories(None))
            raise DatasetError(f"Fashion-MNIST was not found (looked in {searched}). {config.DATA_HELP}")
        if "download" not in _cache:
            _cache["download"] = _download_with_keras()
        return _cache["download"]


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()


def to_model_input(images: np.ndarray) -> np.ndarray:
    """uint8 (N, 28, 28) -> float32 (N, 28, 28, 1) in [0, 1], the domain every model here expects."""
    return (np.asarray(images, dtype=np.float32) / 255.0)[..., np.newaxis]
