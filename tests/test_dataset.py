"""Loading Fashion-MNIST: search order, validation and clear errors on the real files."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import numpy as np
import pytest

from cnn_desktop import config
from cnn_desktop.core import dataset as ds


def test_real_dataset_has_official_shapes_and_labels(dataset):
    assert dataset.train_images.shape == (60_000, 28, 28)
    assert dataset.test_images.shape == (10_000, 28, 28)
    assert dataset.train_images.dtype == np.uint8
    assert dataset.train_labels.shape == (60_000,)
    assert dataset.test_labels.shape == (10_000,)
    # Fashion-MNIST is balanced: 6,000 training and 1,000 test images per class.
    assert np.bincount(dataset.train_labels, minlength=10).tolist() == [6000] * 10
    assert np.bincount(dataset.test_labels, minlength=10).tolist() == [1000] * 10
    assert len(dataset.checksum) == 64


def test_class_names_are_the_official_ten():
    assert config.CLASS_NAMES == ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                  "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")


@pytest.fixture
def data_copy(tmp_path, dataset):
    """A directory with copies of the four real files."""
    source = Path(dataset.files[ds.ALL_FILE_STEMS[0]]).parent if dataset.files else config.SYSTEM_DATA_DIR
    target = tmp_path / "fmnist"
    target.mkdir()
    for stem in ds.ALL_FILE_STEMS:
        found = ds._find_file(source, stem)
        shutil.copy(found, target / found.name)
    return target


def test_explicit_directory_wins_and_plain_idx_files_work(tmp_path, data_copy, dataset):
    plain = tmp_path / "plain"
    plain.mkdir()
    for gz_file in data_copy.iterdir():
        with gzip.open(gz_file) as src:
            (plain / gz_file.name.removesuffix(".gz")).write_bytes(src.read())
    loaded = ds.load_from_directory(plain)
    assert loaded.checksum == dataset.checksum
    assert np.array_equal(loaded.test_images, dataset.test_images)


def test_environment_variable_comes_before_system_directory(monkeypatch, data_copy):
    monkeypatch.setenv(config.DATA_ENV_VAR, str(data_copy))
    assert ds.candidate_directories(None)[0] == data_copy
    assert ds.find_local_directory(None) == data_copy
    explicit = Path("/somewhere/else")
    assert ds.candidate_directories(explicit)[:2] == [explicit, data_copy]


def test_missing_file_names_the_file_and_how_to_get_data(data_copy):
    (data_copy / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(ds.DatasetError) as error:
        ds.load_from_directory(data_copy)
    message = str(error.value)
    assert "t10k-labels-idx1-ubyte" in message
    assert "dataset-fashion-mnist" in message


def test_truncated_file_is_refused_with_its_name(data_copy):
    path = data_copy / "train-images-idx3-ubyte.gz"
    raw = gzip.decompress(path.read_bytes())
    path.write_bytes(gzip.compress(raw[: len(raw) // 2], compresslevel=1))
    with pytest.raises(ds.DatasetError, match="train-images-idx3-ubyte.*truncated"):
        ds.load_from_directory(data_copy)


def test_corrupt_gzip_is_refused_with_its_name(data_copy):
    path = data_copy / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(ds.DatasetError, match="t10k-images-idx3-ubyte"):
        ds.load_from_directory(data_copy)


def test_wrong_magic_number_is_refused(data_copy):
    # Swapping the two label files for image files gives the wrong magic number.
    images = data_copy / "t10k-images-idx3-ubyte.gz"
    labels = data_copy / "t10k-labels-idx1-ubyte.gz"
    labels.write_bytes(images.read_bytes())
    with pytest.raises(ds.DatasetError, match="magic number 2051, expected 2049"):
        ds.load_from_directory(data_copy)


def test_label_out_of_range_is_refused(data_copy):
    path = data_copy / "t10k-labels-idx1-ubyte.gz"
    raw = bytearray(gzip.decompress(path.read_bytes()))
    raw[-1] = 12
    path.write_bytes(gzip.compress(bytes(raw)))
    with pytest.raises(ds.DatasetError, match="label 12"):
        ds.load_from_directory(data_copy)


def test_no_local_data_and_no_download_gives_clear_error(monkeypatch, tmp_path):
    monkeypatch.delenv(config.DATA_ENV_VAR, raising=False)
    monkeypatch.setattr(config, "SYSTEM_DATA_DIR", tmp_path / "none")
    monkeypatch.setattr(config, "KERAS_CACHE_DIR", tmp_path / "none2")
    ds.clear_cache()
    try:
        with pytest.raises(ds.DatasetError, match="not found.*dataset-fashion-mnist"):
            ds.load_dataset(allow_download=False)
    finally:
        ds.clear_cache()


def test_missing_explicit_directory_is_an_error_not_a_fallback(tmp_path):
    with pytest.raises(ds.DatasetError, match="does not exist"):
        ds.load_dataset(tmp_path / "nowhere")


def test_data_dir_that_is_a_file_or_device_is_not_a_folder(tmp_path):
    with pytest.raises(ds.DatasetError, match="/dev/zero is not a folder"):
        ds.load_from_directory("/dev/zero")
    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(ds.DatasetError, match="file is not a folder"):
        ds.load_from_directory(a_file)
