"""Network designs: a user's own CNN as a small JSON document, checked and sized before Keras sees it.

A design is the list of hidden layers between the 28×28×1 input and the fixed output layer
(``Dense(10)`` logits, always added last). Everything the network editor needs while the user
edits is pure Python and instant: ``analyze(design)`` gives each layer's output shape, parameter
count and multiply-adds (the numbers the Keras summary shows) and the reasons, in words, why a
design cannot work. Only ``build_design_model`` imports Keras.

The file format (``DESIGN_FORMAT``, version ``DESIGN_VERSION``)::

    {"format": "cnn-desktop-design", "version": 1, "name": "my net", "description": "",
     "based_on": "seed",
     "layers": [{"type": "Conv2D", "filters": 32, "kernel_size": 3, "strides": 1,
                 "padding": "same", "activation": "relu", "use_bias": true}, ...]}

Options left out of a layer take the defaults in ``LAYER_TYPES``; a layer may carry a ``name``
(the preset designs keep their Keras layer names, so a design built from ``seed`` is the seed).
"""

from __future__ import annotations

import json
import math
import re
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from cnn_desktop import config

DESIGN_FORMAT = "cnn-desktop-design"
DESIGN_VERSION = 1
DESIGN_SUFFIX = ".json"
MAX_DESIGN_FILE_BYTES = 256 * 1024  # a hundred layers take ~15 KB
MAX_LAYERS = 100
MAX_NAME_LENGTH = 100
MAX_DESCRIPTION_LENGTH = 2000
# A float32 model this big is 200 MB and would not train on a CPU in any useful time.
MAX_PARAMETERS = 50_000_000
# Forward multiply-adds per image; 1 G is ~100x the improved preset: hours per epoch on a CPU.
MAX_MACS_PER_IMAGE = 1_000_000_000
OUTPUT_LAYER_NAME = "logits"
INPUT_LAYER_NAME = "image"

ACTIVATIONS = ("relu", "linear", "elu", "gelu", "selu", "sigmoid", "tanh", "swish", "softplus")
PADDINGS = ("same", "valid")
_LAYER_NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")


class DesignError(ValueError):
    """A design or design file cannot be used; the message says why in words."""


# ----------------------------------------------------------------------------------------------
# Layer types and their options
@dataclass(frozen=True)
class IntOption:
    default: int | None
    low: int
    high: int
    unit: str = ""

    def check(self, value, where: str, option: str):
        if isinstance(value, bool) or not isinstance(value, int):
            raise DesignError(f"{where}: {option} must be a whole number, not {value!r}")
        if not self.low <= value <= self.high:
            raise DesignError(f"{where}: {option} must be {self.low}–{self.high}, not {value}")
        return value


@dataclass(frozen=True)
class FloatOption:
    default: float
    low: float
    high: float  # exclusive
    unit: str = ""

    def check(self, value, where: str, option: str):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise DesignError(f"{where}: {option} must be a number, not {value!r}")
        if not self.low <= value < self.high:
            raise DesignError(f"{where}: {option} must be at least {self.low:g} and below {self.high:g}, not {value:g}")
        return float(value)


@dataclass(frozen=True)
class ChoiceOption:
    default: str
    choices: tuple[str, ...]

    def check(self, value, where: str, option: str):
        if value not in self.choices:
            raise DesignError(f"{where}: {option} must be one of {', '.join(self.choices)}, not {value!r}")
        return value


@dataclass(frozen=True)
class BoolOption:
    default: bool

    def check(self, value, where: str, option: str):
        if not isinstance(value, bool):
            raise DesignError(f"{where}: {option} must be true or false, not {value!r}")
        return value


_ACTIVATION = ChoiceOption("relu", ACTIVATIONS)
_POOL_OPTIONS = {
    "pool_size": IntOption(2, 1, config.IMAGE_SIZE, "px"),
    "strides": IntOption(None, 1, config.IMAGE_SIZE, "px"),  # None: the pool size, as in Keras
    "padding": ChoiceOption("valid", PADDINGS),
}
# The editor offers these types with these options (defaults, ranges, choices).
LAYER_TYPES: dict[str, dict] = {
    "Conv2D": {
        "filters": IntOption(32, 1, 1024),
        "kernel_size": IntOption(3, 1, config.IMAGE_SIZE, "px"),
        "strides": IntOption(1, 1, config.IMAGE_SIZE, "px"),
        "padding": ChoiceOption("same", PADDINGS),
        "activation": _ACTIVATION,
        "use_bias": BoolOption(True),
    },
    "MaxPooling2D": dict(_POOL_OPTIONS),
    "AveragePooling2D": dict(_POOL_OPTIONS),
    "BatchNormalization": {"momentum": FloatOption(0.99, 0.0, 1.0)},
    "Dropout": {"rate": FloatOption(0.5, 0.0, 1.0)},
    "Activation": {"activation": _ACTIVATION},
    "Flatten": {},
    "GlobalAveragePooling2D": {},
    "Dense": {
        "units": IntOption(64, 1, 8192),
        "activation": _ACTIVATION,
        "use_bias": BoolOption(True),
    },
}
IMAGE_LAYER_TYPES = ("Conv2D", "MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling2D")


def default_layer(layer_type: str) -> dict:
    """A new layer of ``layer_type`` with every option at its default (what the editor adds)."""
    if layer_type not in LAYER_TYPES:
        raise DesignError(f"unknown layer type {layer_type!r}; choose one of {', '.join(LAYER_TYPES)}")
    return normalize_layer({"type": layer_type})


def normalize_layer(layer, position: int | None = None) -> dict:
    """A checked copy of one layer with every option filled in; DesignError names what is wrong."""
    where = f"layer {position}" if position is not None else "layer"
    if not isinstance(layer, dict):
        raise DesignError(f"{where}: expected an object like {{\"type\": \"Conv2D\", ...}}, not {type(layer).__name__}")
    layer_type = layer.get("type")
    if layer_type not in LAYER_TYPES:
        raise DesignError(f"{where}: unknown layer type {layer_type!r}; choose one of {', '.join(LAYER_TYPES)}")
    where = f"{where} ({layer_type})"
    options = LAYER_TYPES[layer_type]
    unknown = sorted(set(layer) - set(options) - {"type", "name"}, key=str)
    if unknown:
        known = ", ".join(options) or "no options"
        raise DesignError(f"{where}: unknown option {unknown[0]!r} (a {layer_type} layer has {known})")
    normalized = {"type": layer_type}
    if layer.get("name") is not None:
        name = layer["name"]
        if not isinstance(name, str) or not _LAYER_NAME_PATTERN.match(name):
            raise DesignError(f"{where}: a layer name must be a letter then up to 63 letters, digits or _, "
                              f"not {name!r}")
        normalized["name"] = name
    for option, spec in options.items():
        value = layer.get(option, spec.default)
        if value is None and option == "strides":  # pooling: stride = pool size
            value = normalized["pool_size"]
        normalized[option] = spec.check(value, where, option)
    return normalized


# ----------------------------------------------------------------------------------------------
# The design
@dataclass(frozen=True)
class Design:
    """Hidden layers (normalised dicts) between the input and the fixed 10-logit output layer."""

    name: str
    layers: tuple[dict, ...]
    description: str = ""
    based_on: str | None = None  # the preset it started from, if any

    def to_dict(self) -> dict:
        return {
            "format": DESIGN_FORMAT, "version": DESIGN_VERSION, "name": self.name,
            "description": self.description, "based_on": self.based_on,
            "layers": [dict(layer) for layer in self.layers],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"

    def with_layers(self, layers) -> "Design":
        """A copy with other layers (checked), e.g. after the editor inserted, removed or moved one."""
        return make_design(self.name, layers, description=self.description, based_on=self.based_on)


def make_design(name: str, layers, *, description: str = "", based_on: str | None = None) -> Design:
    """A design from plain layer dicts; each is checked and filled in (``DesignError`` if one is wrong)."""
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME_LENGTH:
        raise DesignError(f"a design needs a name of 1–{MAX_NAME_LENGTH} characters")
    if not isinstance(description, str) or len(description) > MAX_DESCRIPTION_LENGTH:
        raise DesignError(f"the description must be text of at most {MAX_DESCRIPTION_LENGTH} characters")
    if based_on is not None and (not isinstance(based_on, str) or len(based_on) > MAX_NAME_LENGTH):
        raise DesignError("based_on must be a preset name")
    if not isinstance(layers, (list, tuple)):
        raise DesignError("layers must be a list")
    if len(layers) > MAX_LAYERS:
        raise DesignError(f"a design may have at most {MAX_LAYERS} layers, this one has {len(layers)}")
    normalized = tuple(normalize_layer(layer, position) for position, layer in enumerate(layers, start=1))
    names = [layer["name"] for layer in normalized if "name" in layer]
    for taken in (OUTPUT_LAYER_NAME, INPUT_LAYER_NAME):
        if taken in names:
            raise DesignError(f"the layer name {taken!r} is kept for the network's own {taken} layer")
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise DesignError(f"two layers are named {duplicates[0]!r}; layer names must differ")
    return Design(name=name.strip(), layers=normalized, description=description, based_on=based_on)


def empty_design(name: str = "my network") -> Design:
    """Starting from scratch: the smallest network that works (Flatten, then the output layer)."""
    return make_design(name, [default_layer("Flatten")])


def design_from_dict(data) -> Design:
    if not isinstance(data, dict):
        raise DesignError("a design must be a JSON object")
    if data.get("format") != DESIGN_FORMAT:
        raise DesignError(f"not a cnn-desktop design (\"format\" must be {DESIGN_FORMAT!r})")
    version = data.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise DesignError("the design's \"version\" must be a whole number")
    if version > DESIGN_VERSION:
        raise DesignError(f"this design was written by a newer cnn-desktop (format version {version}; "
                          f"this one reads up to {DESIGN_VERSION})")
    unknown = sorted(set(data) - {"format", "version", "name", "description", "based_on", "layers"}, key=str)
    if unknown:
        raise DesignError(f"unknown design field {unknown[0]!r}")
    return make_design(data.get("name", "design"), data.get("layers"), description=data.get("description") or "",
                       based_on=data.get("based_on"))


def _refuse_constant(name):
    raise DesignError(f"numbers must be finite, not {name}")


def design_from_json(text: str | bytes) -> Design:
    if len(text) > MAX_DESIGN_FILE_BYTES:
        raise DesignError(f"a design file is at most {MAX_DESIGN_FILE_BYTES // 1024} KB; this one is {len(text):,} bytes")
    try:
        data = json.loads(text, parse_constant=_refuse_constant)
    except DesignError:
        raise
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise DesignError(f"not valid JSON ({exc})") from None
    return design_from_dict(data)


def load_design(path: Path | str) -> Design:
    """Read a design file; any problem is one ``DesignError`` that names the file and the reason."""
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            text = handle.read(MAX_DESIGN_FILE_BYTES + 1)
    except OSError as exc:
        raise DesignError(f"cannot read the design file {path}: {exc.strerror or exc}") from None
    try:
        return design_from_json(text)
    except DesignError as exc:
        raise DesignError(f"{path}: {exc}") from None


def save_design(design: Design, path: Path | str) -> Path:
    """Write the design as JSON, atomically (a crash leaves the old file or the new one)."""
    from cnn_desktop.core.model_io import atomic_write_bytes

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, design.to_json().encode())
    return path


# ----------------------------------------------------------------------------------------------
# From the presets' real Keras models
def design_from_keras_model(model, *, name: str | None = None, based_on: str | None = None) -> Design:
    """The design of a Sequential model built from the supported layers and ending in Dense(10) logits."""
    keras_layers = list(model.layers)
    if not keras_layers:
        raise DesignError("the model has no layers")
    output = keras_layers[-1]
    output_config = output.get_config()
    if (type(output).__name__ != "Dense" or output_config["units"] != config.NUM_CLASSES
            or output_config["activation"] != "linear"):
        raise DesignError(f"the model's last layer must be Dense({config.NUM_CLASSES}) logits, "
                          f"not {type(output).__name__} {output.name!r}")
    layers = [_layer_from_keras(layer, position) for position, layer in enumerate(keras_layers[:-1], start=1)]
    return make_design(name or model.name, layers, based_on=based_on)


def _square(value, what: str, where: str) -> int:
    values = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(set(values)) != 1:
        raise DesignError(f"{where}: only square {what} are supported, not {values}")
    return int(values[0])


def _layer_from_keras(layer, position: int) -> dict:
    layer_type = type(layer).__name__
    where = f"layer {position} ({layer_type} {layer.name!r})"
    if layer_type not in LAYER_TYPES:
        raise DesignError(f"{where}: this layer type is not supported in designs")
    cfg = layer.get_config()
    out = {"type": layer_type, "name": layer.name}
    if layer_type == "Conv2D":
        if _square(cfg["dilation_rate"], "dilations", where) != 1 or cfg["groups"] != 1:
            raise DesignError(f"{where}: dilated or grouped convolutions are not supported")
        out.update(filters=cfg["filters"], kernel_size=_square(cfg["kernel_size"], "kernels", where),
                   strides=_square(cfg["strides"], "strides", where), padding=cfg["padding"],
                   activation=cfg["activation"], use_bias=cfg["use_bias"])
    elif layer_type in ("MaxPooling2D", "AveragePooling2D"):
        out.update(pool_size=_square(cfg["pool_size"], "pools", where),
                   strides=_square(cfg["strides"] or cfg["pool_size"], "strides", where), padding=cfg["padding"])
    elif layer_type == "BatchNormalization":
        if cfg["axis"] not in (-1, [-1], [3], 3) or not (cfg["center"] and cfg["scale"]) or cfg["epsilon"] != 1e-3:
            raise DesignError(f"{where}: only batch normalisation over channels with Keras' defaults is supported")
        out.update(momentum=cfg["momentum"])
    elif layer_type == "Dropout":
        out.update(rate=cfg["rate"])
    elif layer_type == "Activation":
        out.update(activation=cfg["activation"])
    elif layer_type == "Dense":
        out.update(units=cfg["units"], activation=cfg["activation"], use_bias=cfg["use_bias"])
    return normalize_layer(out, position)


def design_from_preset(preset: str) -> Design:
    """The design of a preset, read from the layers of the preset's real (untrained) Keras model."""
    from cnn_desktop.core.model import build_model, get_preset

    get_preset(preset)
    return design_from_keras_model(build_model(preset, compile=False), name=preset, based_on=preset)


# ----------------------------------------------------------------------------------------------
# Shapes, parameters and cost without Keras
@dataclass(frozen=True)
class LayerRow:
    """One line of the summary table: what the Keras summary shows, plus the multiply-adds."""

    position: int | None  # 1-based among the design's layers; None for the fixed output layer
    name: str
    type: str
    output_shape: tuple[int, ...]  # without the batch axis, e.g. (28, 28, 32) or (64,)
    params: int
    macs: int  # multiply-adds per image in the forward pass

    @property
    def keras_output_shape(self) -> tuple:
        return (None, *self.output_shape)


@dataclass(frozen=True)
class DesignAnalysis:
    rows: tuple[LayerRow, ...]  # up to the first problem, then the output layer if the design works
    problems: tuple[str, ...]  # empty when the design can be built and trained

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def total_params(self) -> int:
        return sum(row.params for row in self.rows)

    @property
    def macs_per_image(self) -> int:
        return sum(row.macs for row in self.rows)


def keras_layer_names(design: Design) -> list[str]:
    """Each layer's name in the built model: its own, or Keras' default style (conv2d, conv2d_1, ...)."""
    taken = {layer["name"] for layer in design.layers if "name" in layer} | {OUTPUT_LAYER_NAME, INPUT_LAYER_NAME}
    counters: dict[str, int] = {}
    names = []
    for layer in design.layers:
        if "name" in layer:
            names.append(layer["name"])
            continue
        base = re.sub(r"(?<=[a-z])(?=[A-Z])", "_", layer["type"]).lower()  # MaxPooling2D -> max_pooling2d
        while True:
            count = counters.get(base, 0)
            counters[base] = count + 1
            candidate = base if count == 0 else f"{base}_{count}"
            if candidate not in taken:
                break
        taken.add(candidate)
        names.append(candidate)
    return names


def _spatial_size(size: int, window: int, stride: int, padding: str) -> int:
    if padding == "same":
        return -(-size // stride)
    return (size - window) // stride + 1 if size >= window else 0


def _describe(layer: dict) -> str:
    kind = layer["type"]
    if kind == "Conv2D":
        return f"Conv2D {layer['filters']} filters {layer['kernel_size']}×{layer['kernel_size']}"
    if kind in ("MaxPooling2D", "AveragePooling2D"):
        return f"{kind} {layer['pool_size']}×{layer['pool_size']}"
    if kind == "Dense":
        return f"Dense {layer['units']}"
    return kind


def analyze(design: Design) -> DesignAnalysis:
    """Output shape, parameters and multiply-adds of every layer, as Keras will build them, and the problems.

    Multiply-adds count the weight layers (Conv2D, Dense, BatchNormalization's scale and shift); pooling
    and activations only compare or add and are left out, as is usual for network cost figures.
    """
    names = keras_layer_names(design)
    rows: list[LayerRow] = []
    problems: list[str] = []
    shape: tuple[int, ...] = config.INPUT_SHAPE
    for position, (layer, name) in enumerate(zip(design.layers, names), start=1):
        kind = layer["type"]
        what = f"layer {position} ({_describe(layer)})"
        image = len(shape) == 3
        params = macs = 0
        if kind in IMAGE_LAYER_TYPES and not image:
            problems.append(f"{what} needs an image (height × width × channels), but the data is already flat "
                            f"before layer {position}: move it before the Flatten or GlobalAveragePooling2D")
            break
        if kind in ("Conv2D", "MaxPooling2D", "AveragePooling2D"):  # a window sliding over the image
            height, width, channels = shape
            conv = kind == "Conv2D"
            window = layer["kernel_size"] if conv else layer["pool_size"]
            out_h = _spatial_size(height, window, layer["strides"], layer["padding"])
            out_w = _spatial_size(width, window, layer["strides"], layer["padding"])
            if out_h < 1 or out_w < 1:
                advice = ("use padding \"same\", a smaller kernel, or less pooling before it" if conv
                          else "remove a pooling layer, use a smaller pool, or padding \"same\"")
                problems.append(f"after layer {position} the image would be 0×0 pixels: a {window}×{window} "
                                f"{'kernel' if conv else 'pool'} without padding does not fit in the "
                                f"{height}×{width} image it gets ({advice})")
                break
            if conv:
                filters = layer["filters"]
                shape = (out_h, out_w, filters)
                params = window * window * channels * filters + (filters if layer["use_bias"] else 0)
                macs = out_h * out_w * window * window * channels * filters
            else:
                shape = (out_h, out_w, channels)
        elif kind == "GlobalAveragePooling2D":
            shape = (shape[-1],)
        elif kind == "Flatten":
            shape = (math.prod(shape),)
        elif kind == "BatchNormalization":
            params = 4 * shape[-1]  # gamma, beta, moving mean and variance (Keras counts all four)
            macs = math.prod(shape)
        elif kind == "Dense":
            if image:
                problems.append(f"Dense needs a flat input: add Flatten or GlobalAveragePooling2D before layer "
                                f"{position} (it would get a {'×'.join(map(str, shape))} image)")
                break
            inputs = shape[0]
            shape = (layer["units"],)
            params = inputs * layer["units"] + (layer["units"] if layer["use_bias"] else 0)
            macs = inputs * layer["units"]
        rows.append(LayerRow(position, name, kind, shape, params, macs))
    else:
        if len(shape) != 1:
            problems.append(f"the output layer (Dense {config.NUM_CLASSES} logits) needs a flat input: end the "
                            f"design with Flatten or GlobalAveragePooling2D (the last layer gives a "
                            f"{'×'.join(map(str, shape))} image)")
        else:
            rows.append(LayerRow(None, OUTPUT_LAYER_NAME, "Dense", (config.NUM_CLASSES,),
                                 shape[0] * config.NUM_CLASSES + config.NUM_CLASSES, shape[0] * config.NUM_CLASSES))
    total = sum(row.params for row in rows)
    macs_total = sum(row.macs for row in rows)
    if total > MAX_PARAMETERS:
        problems.append(f"too many parameters: {total:,} (at most {MAX_PARAMETERS:,}); use fewer filters or "
                        f"units, or pool before Flatten")
    if macs_total > MAX_MACS_PER_IMAGE:
        problems.append(f"too much computation: {macs_total:,} multiply-adds per image (at most "
                        f"{MAX_MACS_PER_IMAGE:,}); use fewer filters, strides or pooling")
    return DesignAnalysis(tuple(rows), tuple(problems))


def validate_design(design: Design) -> DesignAnalysis:
    """The analysis of a design that works; ``DesignError`` with the first problem otherwise."""
    analysis = analyze(design)
    if analysis.problems:
        raise DesignError(analysis.problems[0])
    return analysis


# ----------------------------------------------------------------------------------------------
# Keras
def _keras_layer(layers, layer: dict, name: str):
    kind = layer["type"]
    if kind == "Conv2D":
        return layers.Conv2D(layer["filters"], layer["kernel_size"], strides=layer["strides"],
                             padding=layer["padding"], activation=layer["activation"], use_bias=layer["use_bias"],
                             name=name)
    if kind in ("MaxPooling2D", "AveragePooling2D"):
        return getattr(layers, kind)(layer["pool_size"], strides=layer["strides"], padding=layer["padding"],
                                     name=name)
    if kind == "BatchNormalization":
        return layers.BatchNormalization(momentum=layer["momentum"], name=name)
    if kind == "Dropout":
        return layers.Dropout(layer["rate"], name=name)
    if kind == "Activation":
        return layers.Activation(layer["activation"], name=name)
    if kind == "Dense":
        return layers.Dense(layer["units"], activation=layer["activation"], use_bias=layer["use_bias"], name=name)
    return getattr(layers, kind)(name=name)  # Flatten, GlobalAveragePooling2D


def model_name(design: Design) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", design.name).strip("_") or "design"


def build_design_model(design: Design):
    """The untrained Keras model of a checked design (``DesignError`` first if it cannot work)."""
    import keras
    from keras import layers

    validate_design(design)
    hidden = [_keras_layer(layers, layer, name) for layer, name in zip(design.layers, keras_layer_names(design))]
    return keras.Sequential(
        [keras.Input(shape=config.INPUT_SHAPE, name=INPUT_LAYER_NAME), *hidden,
         layers.Dense(config.NUM_CLASSES, name=OUTPUT_LAYER_NAME)],
        name=model_name(design),
    )


# ----------------------------------------------------------------------------------------------
# Expected time per epoch
@dataclass(frozen=True)
class Throughput:
    """Training speed measured on this machine for a network of a known cost."""

    images_per_second: float
    macs_per_image: int

    @property
    def macs_per_second(self) -> float:
        return self.images_per_second * self.macs_per_image


def estimate_epoch_seconds(design_or_analysis, images: int, throughput: Throughput) -> float:
    """Seconds to train one epoch of ``images``, scaling a measured throughput by multiply-adds.

    Training time on a CPU grows about in proportion to the multiply-adds of the conv and dense
    layers (the backward pass costs about twice the forward one, for every design alike), so the
    ratio of two designs' multiply-adds predicts the ratio of their times. The estimate is best
    when ``throughput`` was measured on a network of similar size (see ``measure_throughput``);
    tiny networks are limited by per-batch overhead and train slower than the ratio says.
    """
    analysis = design_or_analysis if isinstance(design_or_analysis, DesignAnalysis) else analyze(design_or_analysis)
    if throughput.macs_per_second <= 0:
        raise ValueError("the throughput must be positive")
    return images * analysis.macs_per_image / throughput.macs_per_second


def measure_throughput(design: Design, *, batch_size: int = 128, steps: int = 8, warmup_steps: int = 2) -> Throughput:
    """Time a few real training steps of the design on this machine (a few seconds, graph building included).

    The first steps build the graph and are not timed. The speed is the median step's, so a burst
    of other work on a shared machine does not set it. The images are random: speed does not
    depend on what the pixels show. This is the number to trust for a design: the multiply-add
    scaling of ``estimate_epoch_seconds`` is a first guess. On the project's shared 2-core machine,
    scaling the seed's measured speed predicted the fast, improved and a wide (28x28x64) network
    within a factor of two of their measured speed, and a tiny network 5x too fast (per-batch
    overhead dominates it).
    """
    import numpy as np

    from cnn_desktop.core.model import compile_model

    analysis = validate_design(design)
    model = build_design_model(design)
    compile_model(model, 1e-3)
    rng = np.random.default_rng(0)
    images = rng.random((batch_size, *config.INPUT_SHAPE), dtype=np.float32)
    labels = rng.integers(0, config.NUM_CLASSES, batch_size)
    for _ in range(warmup_steps):
        model.train_on_batch(images, labels)
    step_seconds = []
    for _ in range(steps):
        start = time.perf_counter()
        model.train_on_batch(images, labels)
        step_seconds.append(time.perf_counter() - start)
    return Throughput(images_per_second=batch_size / statistics.median(step_seconds),
                      macs_per_image=analysis.macs_per_image)
