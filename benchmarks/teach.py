"""Teaching the network: does it learn a person's kind of drawing while keeping Fashion-MNIST?

Two disjoint sets of canvas drawings, made with the real mouse on the app's real canvas under Xvfb by
``benchmarks/realworld/draw_on_canvas.py`` in the same style (8 per class each; seed 1701 to teach, seed
2802 to test; the real-world benchmark's own 80 drawings, seed 20261125, are not used):

    benchmarks/teach/teach/*.png   the drawings the network is taught with (the user's examples)
    benchmarks/teach/test/*.png    drawings of the same kind, never taught: is the lesson general?

Every drawing goes through the app's canvas path (``prepare_pixels``). The bundled model is fine-tuned as
"Teach the network my examples" does (``core.examples``: the official training set mixed with the
examples, oversampled to ``EXAMPLE_SHARE`` of the mix, ``FINE_TUNE_EPOCHS`` epoch at
``FINE_TUNE_LEARNING_RATE``), and measured before and after on the test drawings and on the official
10,000 test images.

``--select`` is how those constants were chosen, without the official test set or the test drawings:
the official training set minus 5,000 held-out training images, the teaching drawings split in two
stratified halves (teach on one, measure on the other); the held-out training images measure forgetting.

    python benchmarks/teach.py            # the result (writes benchmarks/teach_results.json)
    python benchmarks/teach.py --select   # the choice of learning rate and example share
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from cnn_desktop import config  # noqa: E402
from cnn_desktop.core import examples as teaching  # noqa: E402
from cnn_desktop.core.preprocessing import prepare_pixels  # noqa: E402

TEACH_DIR = HERE / "teach" / "teach"
TEST_DIR = HERE / "teach" / "test"
RESULTS = HERE / "teach_results.json"
HELD_OUT_TRAINING_IMAGES = 5_000  # --select: official training images kept out, to measure forgetting
SELECT_OFFICIAL_IMAGES = 20_000  # --select: official images mixed in per candidate (keeps the search short)
CANDIDATES = ((1e-4, 0.05), (2e-4, 0.05), (5e-4, 0.05), (2e-4, 0.10))  # (learning rate, example share)


def drawings(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    """The drawings of a folder through the app's canvas path, with their labels (labels.csv)."""
    import csv

    with open(folder / "labels.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    images = np.stack([prepare_pixels(np.asarray(Image.open(folder / row["file"]).convert("L"))).as_uint8
                       for row in rows])
    return images, np.array([int(row["label"]) for row in rows])


def fine_tuned(data, images, labels, *, learning_rate, share, official_indices, seed=0):
    """The bundled model after one teaching run on ``images``; returns (model, seconds)."""
    from cnn_desktop.core.model_io import load_model
    from cnn_desktop.core.training import TrainingSession

    model, card = load_model(config.default_model_path())
    mixed = teaching.fine_tune_data(data, images, labels, share=share, seed=seed, official_indices=official_indices)
    training_config = dataclasses.replace(teaching.fine_tune_config(teaching.model_preset(card), seed=seed),
                                          learning_rate=learning_rate)
    start = time.perf_counter()
    result = TrainingSession(training_config, data=mixed, model=model).run()
    return result.model, time.perf_counter() - start


def per_class(model, images, labels) -> list[float]:
    from cnn_desktop.core.evaluation import predict_logits

    predictions = predict_logits(model, images).argmax(axis=1)
    return [float(np.mean(predictions[labels == c] == c)) for c in range(config.NUM_CLASSES)]


def select(data) -> dict:
    from cnn_desktop.core.model_io import load_model

    images, labels = drawings(TEACH_DIR)
    split = teaching.split_held_out(labels, 0.5, seed=0)
    order = np.random.default_rng(0).permutation(len(data.train_images))
    held_training, pool = order[:HELD_OUT_TRAINING_IMAGES], order[HELD_OUT_TRAINING_IMAGES:]
    official = np.sort(pool[:SELECT_OFFICIAL_IMAGES])
    held_x, held_y = data.train_images[held_training], data.train_labels[held_training]
    base, _ = load_model(config.default_model_path())
    before = {"held_out_training": teaching.accuracy_of(base, held_x, held_y).value,
              "other_half_drawings": teaching.accuracy_of(base, images[split.held_out], labels[split.held_out]).value}
    print(f"before: held-out training {before['held_out_training']:.4f}, "
          f"other half of the drawings {before['other_half_drawings']:.3f}", flush=True)
    rows = []
    for learning_rate, share in CANDIDATES:
        model, seconds = fine_tuned(data, images[split.teach], labels[split.teach], learning_rate=learning_rate,
                                    share=share, official_indices=official)
        row = {"learning_rate": learning_rate, "share": share, "seconds": round(seconds, 1),
               "held_out_training": teaching.accuracy_of(model, held_x, held_y).value,
               "other_half_drawings": teaching.accuracy_of(model, images[split.held_out],
                                                           labels[split.held_out]).value}
        rows.append(row)
        print(json.dumps(row), flush=True)
    return {"before": before, "candidates": rows, "official_images": SELECT_OFFICIAL_IMAGES,
            "held_out_training_images": HELD_OUT_TRAINING_IMAGES}


def result(data) -> dict:
    from cnn_desktop.core.model_io import load_model

    teach_x, teach_y = drawings(TEACH_DIR)
    test_x, test_y = drawings(TEST_DIR)
    base, _ = load_model(config.default_model_path())
    official = np.sort(np.random.default_rng(0).permutation(len(data.train_images))[
        :teaching.FINE_TUNE_OFFICIAL_IMAGES])
    model, seconds = fine_tuned(data, teach_x, teach_y, learning_rate=teaching.FINE_TUNE_LEARNING_RATE,
                                share=teaching.EXAMPLE_SHARE, official_indices=official)
    measured = {}
    for name, network in (("before", base), ("after", model)):
        measured[name] = {
            "test_drawings": teaching.accuracy_of(network, test_x, test_y).value,
            "taught_drawings": teaching.accuracy_of(network, teach_x, teach_y).value,
            "official_test": teaching.accuracy_of(network, data.test_images, data.test_labels).value,
            "test_drawings_per_class": per_class(network, test_x, test_y),
        }
    return {"teach_drawings": len(teach_y), "test_drawings": len(test_y),
            "learning_rate": teaching.FINE_TUNE_LEARNING_RATE, "example_share": teaching.EXAMPLE_SHARE,
            "epochs": teaching.FINE_TUNE_EPOCHS, "official_images": int(len(official)),
            "repeats": teaching.repeats_for_share(len(teach_y), len(official)), "seconds": round(seconds, 1),
            **measured}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--select", action="store_true", help="the choice of learning rate and share")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    from cnn_desktop.core.dataset import load_dataset

    data = load_dataset()
    outcome = select(data) if args.select else result(data)
    existing = json.loads(args.out.read_text()) if args.out.exists() else {}
    existing["select" if args.select else "result"] = outcome
    args.out.write_text(json.dumps(existing, indent=1) + "\n")
    if not args.select:
        for name in ("before", "after"):
            print(f"{name:>6}: test drawings {outcome[name]['test_drawings']:.3f}, taught drawings "
                  f"{outcome[name]['taught_drawings']:.3f}, official test {outcome[name]['official_test']:.4f}")
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
