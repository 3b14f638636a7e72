"""Exports that load anywhere: TFLite (LiteRT), ONNX and TensorFlow SavedModel, each checked before it counts.

An export is written to a temporary file (or folder) beside its destination, loaded back with its own
runtime (the TFLite interpreter, ONNX Runtime, TensorFlow) and compared with the Keras model on test
images; only an export that agrees is renamed into place. One that does not is removed, and the
ExportError says why. So a file at the destination always is an export that was checked.

Every export outputs probabilities (the softmax of the logits divided by the model card's temperature,
as the app shows them) for float32 images of shape (N, 28, 28, 1) with values in [0, 1] (0 = black).
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from cnn_desktop import config

log = logging.getLogger(__name__)

FORMATS = ("tflite", "onnx", "savedmodel")
QUANTIZE_CHOICES = ("int8",)
# The file name ending each format gets by default; a SavedModel is a folder.
DEFAULT_SUFFIXES = {"tflite": ".tflite", "onnx": ".onnx", "savedmodel": "_savedmodel"}
CHECK_IMAGES = 1000
# A float export computes the same function in another runtime: only ties may flip.
MIN_AGREEMENT = 0.995
# Int8 weights and activations move some close calls; more than this many changed answers means a broken
# quantisation (a bad representative set), not rounding.
MIN_INT8_AGREEMENT = 0.97
REPRESENTATIVE_IMAGES = 300
INPUT_NAME = "image"
OUTPUT_NAME = "probabilities"
TFLITE_CHUNK = 250


class ExportError(RuntimeError):
    """An export could not be written or failed its check; the message says why in one line."""


@dataclass(frozen=True)
class ExportReport:
    format: str
    path: Path
    size_bytes: int
    quantize: str | None
    images: int  # how many test images were compared
    agreement: float  # share of images with the same top-1 class as the Keras model
    max_probability_difference: float
    keras_accuracy: float
    export_accuracy: float
    seconds: float

    @property
    def accuracy_change(self) -> float:
        return self.export_accuracy - self.keras_accuracy

    def summary(self) -> str:
        what = f"{self.format}" + (f" ({self.quantize})" if self.quantize else "")
        text = (f"Exported {what} to {self.path} ({self.size_bytes / 1e6:.2f} MB): top-1 agreement "
                f"{self.agreement:.1%} with the Keras model on {self.images:,} test images, largest probability "
                f"difference {self.max_probability_difference:.2g}")
        if self.quantize:
            text += (f"; accuracy {self.export_accuracy:.2%} vs {self.keras_accuracy:.2%} "
                     f"({self.accuracy_change * 100:+.2f} points)")
        return text


def default_export_path(model_path: Path | str, export_format: str) -> Path:
    model_path = Path(model_path)
    return model_path.with_name(model_path.stem + DEFAULT_SUFFIXES[export_format])


def path_size(path: Path) -> int:
    if path.is_dir():
        return sum(item.stat().st_size for item in path.rglob("*") if item.is_file())
    return path.stat().st_size


def check_export_location(path: Path | str, export_format: str) -> Path:
    """Refuse, before any work, a destination that cannot take the export; returns it. One-line ExportError."""
    path = Path(path)
    if export_format not in FORMATS:
        raise ExportError(f"unknown export format {export_format!r}; choose one of {', '.join(FORMATS)}")
    if export_format == "savedmodel":
        # A folder cannot replace another folder in one step: never merge into or delete the user's folder.
        if os.path.lexists(path):
            raise ExportError(f"{path} already exists; give a new folder name for the SavedModel")
    elif path.is_dir():
        raise ExportError(f"{path} is a directory; give a file name ending in {DEFAULT_SUFFIXES[export_format]}")
    elif os.path.lexists(path) and not path.is_file():
        raise ExportError(f"cannot export over {path}: it is not a regular file")
    parent = path.parent
    if not parent.is_dir():
        raise ExportError(f"cannot export to {path}: the folder {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ExportError(f"cannot export to {path}: the folder {parent} is not writable")
    return path


def probability_model(model, temperature: float = 1.0):
    """The model with its probabilities as output (the network ends in logits), named input and output."""
    import keras

    inputs = keras.Input(shape=config.INPUT_SHAPE, name=INPUT_NAME, dtype="float32")
    logits = model(inputs)
    if temperature != 1.0:
        logits = keras.layers.Rescaling(1.0 / temperature, name="temperature")(logits)
    outputs = keras.layers.Softmax(name=OUTPUT_NAME)(logits)
    return keras.Model(inputs, outputs, name=f"{model.name}_probabilities")


# ------------------------------------------------------------------------------------------- writers


def _tflite_bytes(prob_model, quantize: str | None, representative_images: np.ndarray | None) -> bytes:
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(prob_model)
    if quantize == "int8":
        if representative_images is None or len(representative_images) == 0:
            raise ExportError("int8 quantisation needs training images to calibrate its ranges")
        samples = representative_images.astype(np.float32)

        def representative_dataset():
            for index in range(len(samples)):
                yield [samples[index: index + 1]]

        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = representative_dataset
        # Integer kernels throughout; input and output stay float32 so that callers need no scales.
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    return converter.convert()


def _write_tflite(prob_model, tmp_path: Path, quantize, representative_images) -> None:
    from cnn_desktop.core.model_io import atomic_write_bytes

    atomic_write_bytes(tmp_path, _tflite_bytes(prob_model, quantize, representative_images))


def _write_onnx(prob_model, tmp_path: Path, quantize, representative_images) -> None:
    prob_model.export(str(tmp_path), format="onnx", verbose=False)


def _write_savedmodel(prob_model, tmp_path: Path, quantize, representative_images) -> None:
    prob_model.export(str(tmp_path), format="tf_saved_model", verbose=False)


# ------------------------------------------------------------------------------------------- readers
# Each returns a function: float32 images (N, 28, 28, 1) -> probabilities (N, 10), computed by the
# export's own runtime, not by Keras.


def tflite_predictor(path: Path) -> Callable[[np.ndarray], np.ndarray]:
    try:
        from ai_edge_litert.interpreter import Interpreter  # LiteRT, where installed
    except ImportError:
        import tensorflow as tf

        Interpreter = tf.lite.Interpreter
    interpreter = Interpreter(model_path=str(path))
    input_index = interpreter.get_input_details()[0]["index"]
    output_index = interpreter.get_output_details()[0]["index"]

    def predict(images: np.ndarray) -> np.ndarray:
        # In chunks: the converted graph takes any batch size once resized (batch dimension left open).
        outputs = []
        for start in range(0, len(images), TFLITE_CHUNK):
            chunk = images[start: start + TFLITE_CHUNK].astype(np.float32)
            interpreter.resize_tensor_input(input_index, list(chunk.shape))
            interpreter.allocate_tensors()
            interpreter.set_tensor(input_index, chunk)
            interpreter.invoke()
            outputs.append(interpreter.get_tensor(output_index).copy())
        return np.concatenate(outputs)

    return predict


def onnx_predictor(path: Path) -> Callable[[np.ndarray], np.ndarray]:
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    input_name = session.get_inputs()[0].name

    def predict(images: np.ndarray) -> np.ndarray:
        return session.run(None, {input_name: images.astype(np.float32)})[0]

    return predict


def savedmodel_predictor(path: Path) -> Callable[[np.ndarray], np.ndarray]:
    import tensorflow as tf

    loaded = tf.saved_model.load(str(path))
    serve = loaded.signatures["serving_default"]

    def predict(images: np.ndarray) -> np.ndarray:
        outputs = serve(tf.constant(images.astype(np.float32)))
        return np.asarray(next(iter(outputs.values())))

    return predict


_WRITERS = {"tflite": _write_tflite, "onnx": _write_onnx, "savedmodel": _write_savedmodel}
PREDICTORS = {"tflite": tflite_predictor, "onnx": onnx_predictor, "savedmodel": savedmodel_predictor}


def _require_onnx_tools() -> None:
    import importlib.util

    missing = [name for name in ("tf2onnx", "onnx", "onnxruntime") if importlib.util.find_spec(name) is None]
    if missing:
        raise ExportError(f"ONNX export needs {', '.join(missing)}: pip install \"cnn-desktop[export]\" "
                          "(the packaged app exports tflite and savedmodel)")


def _temporary_target(path: Path, export_format: str) -> Path:
    """A new, unused name beside the destination (same file system, so the final rename is atomic)."""
    if export_format == "savedmodel":
        return Path(tempfile.mkdtemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=path.parent))
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp" + path.suffix,
                                dir=path.parent)
    os.close(fd)
    return Path(name)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def export_model(model, path: Path | str, export_format: str, *, check_images: np.ndarray,
                 check_labels: np.ndarray, quantize: str | None = None,
                 representative_images: np.ndarray | None = None, temperature: float = 1.0,
                 progress: Callable[[str], None] | None = None) -> ExportReport:
    """Write ``model`` as ``export_format`` at ``path`` after checking it on ``check_images``; see the module doc.

    ``check_images`` are model inputs (float32 in [0, 1], shape (N, 28, 28, 1)), normally 1,000 test images;
    ``representative_images`` (training images, model inputs) calibrate int8 quantisation.
    """
    started = time.perf_counter()
    progress = progress or (lambda text: None)
    path = check_export_location(path, export_format)
    if quantize is not None and quantize not in QUANTIZE_CHOICES:
        raise ExportError(f"unknown quantisation {quantize!r}; choose one of {', '.join(QUANTIZE_CHOICES)}")
    if quantize is not None and export_format != "tflite":
        raise ExportError(f"int8 quantisation is offered for tflite only, not {export_format}")
    if export_format == "onnx":
        _require_onnx_tools()
    check_images = np.asarray(check_images, dtype=np.float32)
    check_labels = np.asarray(check_labels)
    if len(check_images) == 0 or len(check_images) != len(check_labels):
        raise ExportError("the check needs test images with one label each")

    prob_model = probability_model(model, temperature)
    expected = np.asarray(prob_model.predict(check_images, batch_size=500, verbose=0))
    try:
        tmp_path = _temporary_target(path, export_format)
    except OSError as exc:
        raise ExportError(f"cannot write in the folder {path.parent}: {exc.strerror or exc}") from None
    try:
        progress(f"Writing the {export_format} export...")
        try:
            _WRITERS[export_format](prob_model, tmp_path, quantize, representative_images)
        except ExportError:
            raise
        except OSError as exc:
            raise ExportError(f"cannot write {path}: {exc.strerror or exc}") from None
        except Exception as exc:  # a converter's failure: its first line is the reason
            log.debug("export failed", exc_info=True)
            raise ExportError(f"the {export_format} converter failed: {_first_line(exc)}") from None
        progress(f"Loading the export back and comparing it on {len(check_images):,} test images...")
        try:
            actual = np.asarray(PREDICTORS[export_format](tmp_path)(check_images))
        except Exception as exc:
            log.debug("export did not load back", exc_info=True)
            raise ExportError(f"the {export_format} export did not load back: {_first_line(exc)}") from None
        if actual.shape != expected.shape or not np.all(np.isfinite(actual)):
            raise ExportError(f"the {export_format} export gives outputs of shape {actual.shape} "
                              f"(or non-finite values), not {expected.shape}")
        expected_top, actual_top = expected.argmax(axis=1), actual.argmax(axis=1)
        agreement = float(np.mean(expected_top == actual_top))
        max_difference = float(np.max(np.abs(expected - actual)))
        keras_accuracy = float(np.mean(expected_top == check_labels))
        export_accuracy = float(np.mean(actual_top == check_labels))
        needed = MIN_INT8_AGREEMENT if quantize else MIN_AGREEMENT
        if agreement < needed:
            raise ExportError(f"the {export_format} export agrees with the Keras model on only {agreement:.1%} of "
                              f"{len(check_images):,} test images (at least {needed:.1%} needed); nothing was written")
        try:
            os.replace(tmp_path, path)
        except OSError as exc:
            raise ExportError(f"cannot write {path}: {exc.strerror or exc}") from None
    except BaseException:
        _remove(tmp_path)
        raise
    report = ExportReport(
        format=export_format, path=path, size_bytes=path_size(path), quantize=quantize, images=len(check_images),
        agreement=agreement, max_probability_difference=max_difference, keras_accuracy=keras_accuracy,
        export_accuracy=export_accuracy, seconds=time.perf_counter() - started)
    log.info("%s", report.summary())
    return report


def check_and_representative_images(data, check_count: int = CHECK_IMAGES,
                                    representative_count: int = REPRESENTATIVE_IMAGES, seed: int = 0):
    """The first ``check_count`` test images with labels, and ``representative_count`` random training images."""
    from cnn_desktop.core.dataset import to_model_input

    check_count = min(check_count, len(data.test_images))
    order = np.random.default_rng(seed).permutation(len(data.train_images))[:representative_count]
    return (to_model_input(data.test_images[:check_count]), data.test_labels[:check_count],
            to_model_input(data.train_images[order]))
