"""Exports (TFLite, ONNX, SavedModel): each written, loaded back with its own runtime and compared with the Keras
model on 1,000 real test images; int8's accuracy change; hostile destinations give one line and leave nothing."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import numpy as np
import pytest

from cnn_desktop.core import export
from cnn_desktop.core.export import ExportError, export_model

pytestmark = pytest.mark.slow
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def check_data(dataset):
    return export.check_and_representative_images(dataset)


def _keras_probabilities(model, images):
    from cnn_desktop.core.calibration import calibrated_probabilities

    return calibrated_probabilities(np.asarray(model.predict(images, verbose=0)), 1.0)


def _leftovers(folder):
    return [name for name in os.listdir(folder) if name.startswith(".")]


@pytest.mark.parametrize("export_format, name", [("tflite", "model.tflite"), ("onnx", "model.onnx"),
                                                  ("savedmodel", "model_savedmodel")])
def test_round_trip_agrees_with_keras(default_model, check_data, tmp_path, export_format, name):
    images, labels, representative = check_data
    report = export_model(default_model, tmp_path / name, export_format, check_images=images, check_labels=labels)
    assert report.path == tmp_path / name and report.path.exists()
    assert report.images == 1000
    assert report.agreement >= export.MIN_AGREEMENT
    assert report.max_probability_difference < 1e-3
    assert report.size_bytes == export.path_size(report.path) > 100_000
    assert "agreement" in report.summary() and "\n" not in report.summary()
    assert _leftovers(tmp_path) == []
    # Loaded again, apart from the check, by the format's own runtime: the app's probabilities come out.
    probabilities = export.PREDICTORS[export_format](report.path)(images[:64])
    np.testing.assert_allclose(probabilities, _keras_probabilities(default_model, images[:64]), atol=1e-4)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


def test_int8_tflite_is_smaller_and_reports_its_accuracy_change(default_model, check_data, tmp_path):
    images, labels, representative = check_data
    float_report = export_model(default_model, tmp_path / "float.tflite", "tflite", check_images=images,
                                check_labels=labels)
    report = export_model(default_model, tmp_path / "int8.tflite", "tflite", quantize="int8", check_images=images,
                          check_labels=labels, representative_images=representative)
    assert report.quantize == "int8"
    assert report.size_bytes < 0.4 * float_report.size_bytes  # int8 weights: about a quarter
    assert report.agreement >= export.MIN_INT8_AGREEMENT
    assert abs(report.accuracy_change) <= 0.02
    assert "points" in report.summary()
    print(f"\nfloat: {float_report.summary()}\nint8: {report.summary()}")


def test_failed_check_keeps_nothing_and_says_why(default_model, check_data, tmp_path, monkeypatch):
    """A runtime that answers differently (here: ONNX Runtime's answers shifted by one class) fails the check."""
    images, labels, _ = check_data
    real_predictor = export.PREDICTORS["onnx"]
    monkeypatch.setitem(export.PREDICTORS, "onnx",
                        lambda path: (lambda batch: np.roll(real_predictor(path)(batch), 1, axis=1)))
    with pytest.raises(ExportError, match=r"agrees with the Keras model on only .*nothing was written") as info:
        export_model(default_model, tmp_path / "bad.onnx", "onnx", check_images=images[:200],
                     check_labels=labels[:200])
    assert "\n" not in str(info.value)
    assert os.listdir(tmp_path) == []


def test_hostile_destinations(default_model, check_data, tmp_path):
    images, labels, _ = check_data
    existing = tmp_path / "existing"
    existing.mkdir()
    (existing / "keep.txt").write_text("the user's file")
    cases = [
        (existing, "tflite", "is a directory"),
        (existing, "savedmodel", "already exists"),
        (tmp_path / "no" / "such" / "folder.onnx", "onnx", "does not exist"),
        (tmp_path / "x.onnx", "pdf", "unknown export format"),
    ]
    for path, export_format, reason in cases:
        with pytest.raises(ExportError, match=reason) as info:
            export_model(default_model, path, export_format, check_images=images[:10], check_labels=labels[:10])
        assert "\n" not in str(info.value)
    with pytest.raises(ExportError, match="tflite only"):
        export_model(default_model, tmp_path / "q.onnx", "onnx", quantize="int8", check_images=images[:10],
                     check_labels=labels[:10])
    assert (existing / "keep.txt").read_text() == "the user's file"
    assert sorted(os.listdir(tmp_path)) == ["existing"]


def _run_cli(*args):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run([sys.executable, "-m", "cnn_desktop", *map(str, args)], capture_output=True, text=True,
                          timeout=300, env=env, stdin=subprocess.DEVNULL, cwd=ROOT)


def test_cli_export_onnx_then_hostile_folder(default_model_path, tmp_path):
    out = tmp_path / "default.onnx"
    done = _run_cli("export", "--format", "onnx", "--model", default_model_path, "--out", out)
    assert done.returncode == 0, done.stderr
    assert out.is_file()
    assert re.search(r"agreement (100\.0|99\.[5-9])% with the Keras model on 1,000 test images", done.stdout)
    # The README's example classifies with that file and only numpy + onnxruntime (ten lines at most).
    readme = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    example = readme.split("only numpy and onnxruntime:\n\n```python\n", 1)[1].split("```", 1)[0]
    assert len(example.strip().splitlines()) <= 10 and "import gzip, numpy as np, onnxruntime as ort" in example
    ran = subprocess.run([sys.executable, "-c", example], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert [line.split()[0] for line in ran.stdout.splitlines()] == ["Ankle", "Pullover", "Trouser", "Trouser",
                                                                     "Shirt"]  # the first five test labels
    # /proc takes no new files, even for root: one line, nothing left behind.
    refused = _run_cli("export", "--format", "tflite", "--model", default_model_path, "--out", "/proc/fashion.tflite")
    assert refused.returncode == 1
    assert refused.stderr.strip().count("\n") == 0 and refused.stderr.startswith("cnn-desktop: error:")
    assert "/proc" in refused.stderr


def test_onnx_without_its_tools_says_how_to_get_them(default_model, check_data, tmp_path, monkeypatch):
    """The packaged app leaves ONNX Runtime out: an ONNX export there says what to install, in one line."""
    import importlib.util

    images, labels, _ = check_data
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *args: None if name == "onnxruntime" else real_find_spec(name, *args))
    with pytest.raises(ExportError, match=r"needs onnxruntime: pip install \"cnn-desktop\[export\]\"") as info:
        export_model(default_model, tmp_path / "m.onnx", "onnx", check_images=images[:10], check_labels=labels[:10])
    assert "\n" not in str(info.value) and list(tmp_path.iterdir()) == []
