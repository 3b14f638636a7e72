"""Real-world benchmark: how a model does on what people actually draw and photograph.

Sets (each reported with accuracy, accuracy per class, and expected calibration error over 15 bins):

- ``official``: the 10,000 official test images as they are (the reference point);
- ``silhouette``, ``outline_1px``, ``outline_2px``, ``outline_3px``, ``outline_inner``: the 10,000 test
  images rendered the way drawings look (see ``render``);
- ``canvas``: drawings made with the mouse on the app's real canvas (``benchmarks/realworld/``, made by
  ``draw_on_canvas.py``), through the app's ``prepare_pixels``;
- ``photo``: photo-like composites of test items (``composite``), written as JPEG / PNG files of 400-1200
  px and read back through the app's ``prepare_file``. An image the app refuses counts as wrong.

    python benchmarks/realworld.py [--model PATH ...] [--json OUT] [--quick]

With several ``--model`` paths every model is measured on the very same images. A model whose card has a
``"temperature"`` is also reported with its calibrated probabilities (the accuracy does not change).
``benchmarks/run.py`` can call ``realworld_rows()`` for the rows and ``summary_rows()`` for its table.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from cnn_desktop import config  # noqa: E402
from cnn_desktop.core.calibration import (Calibration, calibrated_probabilities,  # noqa: E402
                                          expected_calibration_error, load_calibration, logits_and_features,
                                          unsure_mask)
from cnn_desktop.core.preprocessing import ImageError, prepare_file, prepare_pixels  # noqa: E402

DRAWINGS_DIR = Path(__file__).resolve().parent / "realworld"
DEFAULT_MODEL = ROOT / "resources" / "models" / "default.keras"
SEED = 12

# Renderings are drawn at this multiple of 28 px and reduced back, so that lines are anti-aliased like a
# canvas drawing after the app's resize (a 1-px outline is 4 px wide at 112 px).
RENDER_SCALE = 4
# A test-image pixel belongs to the item above this grey level (of 255): Fashion-MNIST backgrounds are 0,
# with a little noise around some items.
ITEM_LEVEL = 12
# Canny thresholds (of 255) for the inner edges of ``outline_inner``: the visible seams, collars, soles.
INNER_EDGE_LOW, INNER_EDGE_HIGH = 40, 110

RENDERINGS = ("silhouette", "outline_1px", "outline_2px", "outline_3px", "outline_inner")
PHOTO_CATEGORIES = ("dark_item_light_wall", "light_item_dark_gradient", "wood_table", "fabric", "stripes",
                    "checks", "coloured", "white_on_light", "drop_shadow", "touching_border", "cut_by_border",
                    "heavy_jpeg")
PHOTOS_PER_CATEGORY = 30
SETS = ("official", *RENDERINGS, "canvas", "photo")
# Issue 12's targets for the bundled model (accuracy); the other sets are measured without one.
TARGETS = {"official": 0.94, "silhouette": 0.88, "outline_2px": 0.85, "canvas": 0.90, "photo": 0.90}


# ----------------------------------------------------------------------------- renderings of the test set


def item_mask(image: np.ndarray) -> np.ndarray:
    """The item's pixels (bool, same size), without holes: what a filled drawing of it covers."""
    mask = (np.asarray(image) > ITEM_LEVEL).astype(np.uint8)
    padded = np.pad(mask, 1)
    outside = padded.copy()
    # Everything reachable from the border without crossing the item is outside; the rest is the item.
    cv2.floodFill(outside, None, (0, 0), 2)
    return (outside[1:-1, 1:-1] != 2)


def _reduce(large: np.ndarray) -> np.ndarray:
    size = config.IMAGE_SIZE
    return cv2.resize(large.astype(np.float32), (size, size), interpolation=cv2.INTER_AREA)


def _large_mask(image: np.ndarray) -> np.ndarray:
    big = cv2.resize(image, None, fx=RENDER_SCALE, fy=RENDER_SCALE, interpolation=cv2.INTER_LINEAR)
    return item_mask(big)


def outline(mask: np.ndarray, width: int) -> np.ndarray:
    """The rim of ``mask`` ``width`` pixels thick (inside the mask)."""
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
    inner = cv2.erode(mask.astype(np.uint8), kernel, iterations=width)
    return mask & ~inner.astype(bool)


def render(image: np.ndarray, kind: str) -> np.ndarray:
    """One 28x28 uint8 test image drawn as ``kind`` (one of RENDERINGS): white ink on black, 28x28 uint8."""
    image = np.asarray(image, dtype=np.uint8)
    mask = _large_mask(image)
    if kind == "silhouette":
        ink = mask
    elif kind.startswith("outline_") and kind.endswith("px"):
        ink = outline(mask, int(kind[len("outline_"):-2]) * RENDER_SCALE)
    elif kind == "outline_inner":
        big = cv2.resize(image, None, fx=RENDER_SCALE, fy=RENDER_SCALE, interpolation=cv2.INTER_CUBIC)
        edges = cv2.Canny(cv2.GaussianBlur(big, (5, 5), 0), INNER_EDGE_LOW, INNER_EDGE_HIGH) > 0
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (RENDER_SCALE, RENDER_SCALE))
        edges = cv2.dilate(edges.astype(np.uint8), kernel).astype(bool) & mask
        ink = outline(mask, RENDER_SCALE) | edges
    else:
        raise ValueError(f"unknown rendering {kind!r}; choose from {', '.join(RENDERINGS)}")
    return np.round(np.clip(_reduce(ink), 0, 1) * 255).astype(np.uint8)


def render_all(images: np.ndarray, kind: str) -> np.ndarray:
    return np.stack([render(image, kind) for image in images])


# ----------------------------------------------------------------------------- canvas drawings


def load_drawings(directory: Path = DRAWINGS_DIR) -> tuple[list[Path], np.ndarray, list[dict]]:
    """The committed canvas drawings: paths, labels and their rows of ``labels.csv``."""
    with open(directory / "labels.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    paths = [directory / "drawings" / row["file"] for row in rows]
    return paths, np.array([int(row["label"]) for row in rows]), rows


def prepare_drawings(paths: list[Path]) -> np.ndarray:
    """Each drawing through the app's canvas path (``prepare_pixels`` on the canvas's grey pixels)."""
    return np.stack([prepare_pixels(np.asarray(Image.open(path).convert("L"))).image for path in paths])


# ----------------------------------------------------------------------------- photo-like composites


def _smooth_noise(rng, height: int, width: int, cells: int) -> np.ndarray:
    """Noise in [0, 1] that varies over about ``cells`` blobs across the image."""
    small = rng.random((max(2, cells * height // max(height, width)), max(2, cells * width // max(height, width))))
    return cv2.resize(small.astype(np.float32), (width, height), interpolation=cv2.INTER_CUBIC).clip(0, 1)


def _colour(rng, low: float, high: float, saturation: float) -> np.ndarray:
    grey = rng.uniform(low, high)
    return np.clip(grey + rng.uniform(-saturation, saturation, 3), 0, 1).astype(np.float32)


def _grid(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column coordinates that broadcast to (height, width)."""
    return np.arange(height, dtype=np.float32)[:, None], np.arange(width, dtype=np.float32)[None, :]


def _vignette(height: int, width: int, strength: float, rng) -> np.ndarray:
    y, x = _grid(height, width)
    cy, cx = height * rng.uniform(0.3, 0.7), width * rng.uniform(0.3, 0.7)
    distance = np.hypot((y - cy) / height, (x - cx) / width)
    return (1 - strength * distance / distance.max())[..., None]


def _gradient(height: int, width: int, strength: float, rng) -> np.ndarray:
    angle = rng.uniform(0, 2 * np.pi)
    y, x = _grid(height, width)
    ramp = (np.cos(angle) * x / width + np.sin(angle) * y / height)
    ramp = (ramp - ramp.min()) / (np.ptp(ramp) or 1)
    return (1 - strength + strength * ramp)[..., None]


def background(kind: str, height: int, width: int, rng) -> np.ndarray:
    """An (H, W, 3) float32 background in [0, 1]."""
    base = np.ones((height, width, 3), np.float32)
    if kind == "wall":  # a light painted wall: soft blotches, uneven light
        colour = _colour(rng, 0.7, 0.92, 0.06)
        texture = 0.92 + 0.08 * _smooth_noise(rng, height, width, 40)[..., None]
        return np.clip(base * colour * texture * _vignette(height, width, 0.35, rng), 0, 1)
    if kind == "dark_gradient":
        colour = _colour(rng, 0.08, 0.3, 0.05)
        return np.clip(base * colour * _gradient(height, width, 0.7, rng) * 1.3, 0, 1)
    if kind == "wood":  # long grain rings, warped by noise, in browns
        y, x = _grid(height, width)
        warp = _smooth_noise(rng, height, width, 6) * rng.uniform(20, 60)
        period = rng.uniform(8, 30) * max(height, width) / 600
        grain = 0.5 + 0.5 * np.sin((y + warp + 0.05 * x) / period)
        fine = 0.04 * rng.standard_normal((height, width), dtype=np.float32)
        light, dark = _colour(rng, 0.55, 0.75, 0.0) * [1.0, 0.78, 0.55], _colour(rng, 0.3, 0.45, 0.0) * [1, 0.7, 0.45]
        return np.clip(dark + (light - dark) * (grain + fine)[..., None], 0, 1).astype(np.float32)
    if kind == "fabric":  # a woven texture: fine cross-hatching plus fibre noise and folds
        y, x = _grid(height, width)
        period = rng.uniform(3, 7)
        weave = 0.5 + 0.25 * (np.sin(x / period) * np.sign(np.sin(y / period)) + 1) / 2
        fibres = 0.08 * rng.standard_normal((height, width), dtype=np.float32)
        folds = 0.75 + 0.25 * _smooth_noise(rng, height, width, 5)
        colour = _colour(rng, 0.35, 0.8, 0.25)
        return np.clip(colour * ((weave + fibres) * folds)[..., None] * 1.2, 0, 1).astype(np.float32)
    if kind == "stripes":
        y, x = _grid(height, width)
        angle = rng.uniform(0, np.pi)
        period = rng.uniform(0.03, 0.12) * max(height, width)
        band = (np.floor((np.cos(angle) * x + np.sin(angle) * y) / period) % 2)[..., None]
        first, second = _colour(rng, 0.2, 0.9, 0.3), _colour(rng, 0.2, 0.9, 0.3)
        return (first * band + second * (1 - band)).astype(np.float32)
    if kind == "checks":
        y, x = _grid(height, width)
        size = rng.uniform(0.03, 0.1) * max(height, width)
        cells = ((np.floor(x / size) + np.floor(y / size)) % 2)[..., None]
        first, second = _colour(rng, 0.3, 0.95, 0.3), _colour(rng, 0.1, 0.7, 0.3)
        return (first * cells + second * (1 - cells)).astype(np.float32)
    if kind == "coloured":
        colour = _colour(rng, 0.25, 0.85, 0.45)
        return np.clip(base * colour * _gradient(height, width, 0.3, rng), 0, 1)
    if kind == "light_grey":
        colour = _colour(rng, 0.78, 0.9, 0.02)
        return np.clip(base * colour * _vignette(height, width, 0.15, rng), 0, 1)
    raise ValueError(f"unknown background {kind!r}")


def _item_layers(image: np.ndarray, side: int) -> tuple[np.ndarray, np.ndarray]:
    """A test image at ``side`` px: its darkness in the product photo (0 white .. 1 black) and its alpha.

    Fashion-MNIST items are product photos on white, greyed and inverted: the dataset's brightness is the
    product's darkness. Holes inside the item (a bag's handle) stay transparent.
    """
    big = cv2.resize(image, (side, side), interpolation=cv2.INTER_CUBIC).astype(np.float32) / 255
    mask = cv2.resize(item_mask(image).astype(np.float32), (side, side), interpolation=cv2.INTER_LINEAR)
    alpha = cv2.GaussianBlur(mask, (0, 0), max(0.6, side / 200)).clip(0, 1)
    return big.clip(0, 1), alpha


def composite(image: np.ndarray, category: str, rng) -> tuple[np.ndarray, str, int]:
    """One photo-like picture of a 28x28 test item: (H, W, 3) uint8, the file suffix, the JPEG quality."""
    height, width = (int(rng.integers(400, 1201)), int(rng.integers(400, 1201)))
    item_share = rng.uniform(0.45, 0.8)
    if category in ("touching_border", "cut_by_border"):
        item_share = rng.uniform(0.85, 1.0)
    side = int(item_share * min(height, width))
    darkness, alpha = _item_layers(image, side)

    tone = "natural"
    scene = {"dark_item_light_wall": "wall", "light_item_dark_gradient": "dark_gradient", "wood_table": "wood",
             "fabric": "fabric", "stripes": "stripes", "checks": "checks", "coloured": "coloured",
             "white_on_light": "light_grey", "drop_shadow": "wall", "touching_border": "wall",
             "cut_by_border": "wall", "heavy_jpeg": "fabric"}[category]
    if category == "dark_item_light_wall":
        tone = "dark"
    elif category in ("light_item_dark_gradient", "white_on_light"):
        tone = "light"
    elif category in ("touching_border", "cut_by_border", "stripes", "checks", "fabric", "wood_table",
                      "heavy_jpeg", "drop_shadow"):
        tone = str(rng.choice(["natural", "dark"]))
    # The item's brightness in the picture, keeping its own shading.
    brightness = {"natural": 1 - darkness, "dark": 0.08 + 0.5 * (1 - darkness),
                  "light": 0.93 - 0.3 * darkness}[tone]
    tint = _colour(rng, 0.85, 1.0, 0.15) if category != "coloured" else _colour(rng, 0.6, 1.0, 0.4)
    item = brightness[..., None] * tint

    picture = background(scene, height, width, rng)
    # Where the item goes: anywhere inside, or against / across the border.
    if category == "touching_border":
        top = int(rng.choice([0, height - side])) if height > side else 0
        left = int(rng.integers(0, width - side + 1))
    elif category == "cut_by_border":
        overhang = int(rng.uniform(0.06, 0.18) * side)
        top = int(rng.choice([-overhang, height - side + overhang]))
        left = int(rng.integers(-overhang, width - side + overhang + 1))
    else:
        top, left = int(rng.integers(0, height - side + 1)), int(rng.integers(0, width - side + 1))

    def paste(layer: np.ndarray, weight: np.ndarray, y: int, x: int) -> None:
        y0, x0, y1, x1 = max(y, 0), max(x, 0), min(y + side, height), min(x + side, width)
        if y1 <= y0 or x1 <= x0:
            return
        w = weight[y0 - y:y1 - y, x0 - x:x1 - x, None]
        region = picture[y0:y1, x0:x1]
        picture[y0:y1, x0:x1] = region * (1 - w) + layer[y0 - y:y1 - y, x0 - x:x1 - x] * w

    # A soft shadow: always in "drop_shadow", in half the white-on-light pictures, now and then elsewhere.
    if category == "drop_shadow" or rng.random() < (0.5 if category == "white_on_light" else 0.2):
        offset = int(rng.uniform(0.02, 0.06) * side)
        shadow = cv2.GaussianBlur(alpha, (0, 0), max(1.0, side / 40)) * rng.uniform(0.35, 0.6)
        paste(np.zeros_like(item), shadow, top + offset, left + offset)
    paste(item, alpha, top, left)
    picture += rng.uniform(0.005, 0.025) * rng.standard_normal(picture.shape, dtype=np.float32)  # sensor noise
    pixels = np.round(np.clip(picture, 0, 1) * 255).astype(np.uint8)
    if category == "heavy_jpeg":
        return pixels, ".jpg", int(rng.integers(15, 35))
    if rng.random() < 0.2:
        return pixels, ".png", 0
    return pixels, ".jpg", int(rng.integers(55, 93))


def write_photos(images: np.ndarray, labels: np.ndarray, directory: Path, per_category: int = PHOTOS_PER_CATEGORY,
                 seed: int = SEED) -> list[tuple[Path, int, str]]:
    """Photo composites of test items as files in ``directory``: (path, label, category) for each."""
    rng = np.random.default_rng(seed)
    written = []
    for category in PHOTO_CATEGORIES:
        chosen = rng.choice(len(images), per_category, replace=False)
        for number, index in enumerate(chosen):
            pixels, suffix, quality = composite(images[index], category, rng)
            path = directory / f"{category}_{number:02d}_{index}{suffix}"
            options = {"quality": quality} if suffix == ".jpg" else {"compress_level": 1}
            Image.fromarray(pixels).save(path, **options)
            written.append((path, int(labels[index]), category))
    return written


def prepare_photos(paths: list[Path]) -> tuple[np.ndarray, np.ndarray]:
    """Each file through the app's ``prepare_file``; a refused file gets a blank input and refused=True."""
    inputs, refused = [], []
    for path in paths:
        try:
            inputs.append(prepare_file(path).image)
            refused.append(False)
        except ImageError:
            inputs.append(np.zeros((config.IMAGE_SIZE, config.IMAGE_SIZE), np.float32))
            refused.append(True)
    return np.stack(inputs), np.array(refused)


# ----------------------------------------------------------------------------- scores


def score(name: str, model_name: str, logits: np.ndarray, labels: np.ndarray, refused: np.ndarray | None = None,
          calibration: Calibration | None = None, features: np.ndarray | None = None,
          categories: list[str] | None = None, names: list[str] | None = None) -> dict:
    """One row of the table: accuracy (refused inputs count as wrong), per class, ECE, the unsure share.

    ECE is over the inputs the app did classify; raw (softmax) and at the calibration's temperature.
    "unsure" is what the app would say (the calibration's rules); "sure_accuracy" the accuracy of the rest.
    """
    calibration = calibration or Calibration()
    labels = np.asarray(labels)
    refused = np.zeros(len(labels), bool) if refused is None else np.asarray(refused, bool)
    kept = ~refused
    raw = calibrated_probabilities(logits, 1.0)
    calibrated = calibrated_probabilities(logits, calibration.temperature)
    predicted = raw.argmax(axis=1)
    correct = (predicted == labels) & kept
    unsure = unsure_mask(logits, calibration, features) & kept
    sure = kept & ~unsure
    row = {
        "set": name, "model": model_name, "count": int(len(labels)), "accuracy": float(correct.mean()),
        "refused": int(refused.sum()),
        "ece": expected_calibration_error(raw[kept], labels[kept]) if kept.any() else None,
        "temperature": float(calibration.temperature),
        "ece_calibrated": expected_calibration_error(calibrated[kept], labels[kept]) if kept.any() else None,
        "mean_confidence": float(calibrated[kept].max(axis=1).mean()) if kept.any() else None,
        "unsure_share": float(unsure.mean()),
        "sure_accuracy": float(correct[sure].mean()) if sure.any() else None,
        "per_class": {config.CLASS_NAMES[c]: float(correct[labels == c].mean())
                      for c in range(config.NUM_CLASSES) if (labels == c).any()},
        "predicted": {config.CLASS_NAMES[c]: int(((predicted == c) & kept).sum()) for c in range(config.NUM_CLASSES)},
    }
    if names is not None:  # which drawings went wrong, and as what
        row["wrong"] = [{"file": names[i], "label": config.CLASS_NAMES[labels[i]],
                         "predicted": config.CLASS_NAMES[predicted[i]], "confidence": float(calibrated[i].max()),
                         "unsure": bool(unsure[i])} for i in np.flatnonzero(~correct & kept)]
    if categories is not None:
        categories = np.asarray(categories)
        row["per_category"] = {str(c): float(correct[categories == c].mean()) for c in dict.fromkeys(categories)}
    return row


@dataclass
class Inputs:
    """Every set's model inputs, made once and shared by all the models compared."""

    images: dict[str, np.ndarray]  # set -> (N, 28, 28) uint8 or float in [0, 1]
    labels: dict[str, np.ndarray]
    refused: dict[str, np.ndarray]
    categories: dict[str, list[str]]
    names: dict[str, list[str]]  # file names, for the sets whose mistakes are worth listing one by one
    seconds: dict[str, float]


def build_inputs(sets=SETS, limit: int | None = None, photos_per_category: int = PHOTOS_PER_CATEGORY,
                 seed: int = SEED, log=print) -> Inputs:
    """Render / load / composite and preprocess every set once. ``limit`` takes the first N test images."""
    from cnn_desktop.core.dataset import load_dataset

    data = load_dataset(allow_download=False)
    test_images, test_labels = data.test_images, data.test_labels
    if limit is not None:
        test_images, test_labels = test_images[:limit], test_labels[:limit]
    inputs = Inputs({}, {}, {}, {}, {}, {})
    for name in sets:
        start = time.perf_counter()
        if name == "official":
            inputs.images[name], inputs.labels[name] = test_images, test_labels
        elif name in RENDERINGS:
            inputs.images[name], inputs.labels[name] = render_all(test_images, name), test_labels
        elif name == "canvas":
            paths, labels, _ = load_drawings()
            inputs.images[name], inputs.labels[name] = prepare_drawings(paths), labels
            inputs.names[name] = [path.name for path in paths]
        elif name == "photo":
            with tempfile.TemporaryDirectory(prefix="realworld-photos-") as folder:
                written = write_photos(data.test_images, data.test_labels, Path(folder), photos_per_category, seed)
                images, refused = prepare_photos([path for path, _, _ in written])
            inputs.images[name], inputs.refused[name] = images, refused
            inputs.labels[name] = np.array([label for _, label, _ in written])
            inputs.categories[name] = [category for _, _, category in written]
        else:
            raise ValueError(f"unknown set {name!r}; choose from {', '.join(SETS)}")
        inputs.seconds[name] = time.perf_counter() - start
        log(f"  {name}: {len(inputs.labels[name]):,} images ready in {inputs.seconds[name]:.1f} s")
    return inputs


def measure_model(path: Path, inputs: Inputs, name: str | None = None) -> list[dict]:
    """Every set's row for the model at ``path``, with the calibration its card (and feature file) give."""
    from cnn_desktop.core.model_io import load_model

    model, card = load_model(path)
    calibration = load_calibration(path, card)
    rows = []
    for set_name, images in inputs.images.items():
        batch = images if images.dtype == np.uint8 else images[..., None].astype(np.float32)
        logits, features = logits_and_features(model, batch)
        rows.append(score(set_name, name or Path(path).name, logits, inputs.labels[set_name],
                          inputs.refused.get(set_name), calibration, features, inputs.categories.get(set_name),
                          inputs.names.get(set_name)))
    return rows


def realworld_rows(model_paths=(DEFAULT_MODEL,), quick: bool = False, sets=SETS, log=print) -> list[dict]:
    """Rows (model, set, count, accuracy, ece, per_class, ...) for every model on every set.

    ``quick`` renders the first 2,000 test images and 10 photos per category (figures not comparable).
    """
    inputs = build_inputs(sets, limit=2000 if quick else None, photos_per_category=10 if quick else PHOTOS_PER_CATEGORY,
                          log=log)
    rows = []
    for path in model_paths:
        rows += measure_model(Path(path), inputs, name=str(path))
    return rows


def markdown_table(rows: list[dict]) -> str:
    """Sets down, models across: accuracy (ECE raw → calibrated; share called unsure)."""
    models = list(dict.fromkeys(row["model"] for row in rows))
    lines = ["| Set | Images | " + " | ".join(f"`{Path(m).name}`: accuracy (ECE; unsure)" for m in models) + " |",
             "|---|---|" + "---|" * len(models)]
    for set_name in dict.fromkeys(row["set"] for row in rows):
        cells = []
        for model in models:
            row = next(r for r in rows if r["set"] == set_name and r["model"] == model)
            ece = "–" if row["ece"] is None else f"{row['ece']:.3f}"
            if row["ece_calibrated"] is not None and row["temperature"] != 1.0:
                ece += f" → {row['ece_calibrated']:.3f} at T={row['temperature']:.2f}"
            refused = f", {row['refused']} refused" if row["refused"] else ""
            cells.append(f"{row['accuracy']:.1%} ({ece}; {row['unsure_share']:.0%} unsure{refused})")
        count = next(r["count"] for r in rows if r["set"] == set_name)
        lines.append(f"| {set_name} | {count:,} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def summary_rows(rows: list[dict], model: str | None = None, quick: bool = False) -> list[dict]:
    """``benchmarks/run.py``'s table rows (measure, figure, baseline, ratio, target, met) for one model.

    The baseline is the same model's accuracy on the official test images in the same run; ``met`` is
    True / False against issue 12's target, or None where a set has none (or in a quick run).
    """
    model = model or rows[0]["model"]
    mine = {row["set"]: row for row in rows if row["model"] == model}
    official = mine.get("official")
    table = []
    for name, row in mine.items():
        target = TARGETS.get(name)
        extra = f"; {row['refused']} refused" if row["refused"] else ""
        table.append({
            "measure": f"real-world accuracy, {name} ({row['count']:,} images, {Path(model).name})"
                       + (" (QUICK: not comparable)" if quick else ""),
            "figure": f"{row['accuracy']:.1%} (ECE {row['ece']:.3f}; {row['unsure_share']:.0%} unsure{extra})",
            "baseline": f"official test set: {official['accuracy']:.1%}" if official else "-",
            "ratio": f"{row['accuracy'] / official['accuracy']:.3f}" if official else "-",
            "target": f">= {target:.0%}" if target is not None else "-",
            "met": None if target is None or quick else bool(row["accuracy"] >= target),
        })
    return table


def per_class_table(rows: list[dict], model: str) -> str:
    mine = [row for row in rows if row["model"] == model]
    short = [name.split("/")[0] for name in config.CLASS_NAMES]
    lines = ["| Set | " + " | ".join(short) + " |", "|---|" + "---|" * len(short)]
    for row in mine:
        lines.append(f"| {row['set']} | " + " | ".join(
            f"{row['per_class'].get(name, float('nan')):.0%}" for name in config.CLASS_NAMES) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", action="append", type=Path,
                        help=f"a .keras model (repeat to compare several; default {DEFAULT_MODEL.relative_to(ROOT)})")
    parser.add_argument("--json", type=Path, help="write every row (per class, per photo category) here")
    parser.add_argument("--sets", default=",".join(SETS), help=f"comma-separated subset of {', '.join(SETS)}")
    parser.add_argument("--quick", action="store_true", help="2,000 test images, 10 photos per category")
    args = parser.parse_args(argv)
    sets = [s for s in args.sets.split(",") if s]
    unknown = set(sets) - set(SETS)
    if unknown:
        parser.error(f"unknown set(s) {', '.join(sorted(unknown))}")
    models = args.model or [DEFAULT_MODEL]
    start = time.perf_counter()
    rows = realworld_rows(models, quick=args.quick, sets=sets)
    print()
    print(markdown_table(rows))
    for model in dict.fromkeys(row["model"] for row in rows):
        print(f"\nPer class, {model}:\n")
        print(per_class_table(rows, model))
        for row in rows:
            if row["model"] == model and "per_category" in row:
                print("\nPhoto categories: " + ", ".join(f"{c} {a:.0%}" for c, a in row["per_category"].items()))
    print(f"\n{time.perf_counter() - start:.0f} s")
    if args.json:
        args.json.write_text(json.dumps({"mode": "quick" if args.quick else "full", "rows": rows}, indent=1))
        print(f"rows written to {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
