#!/usr/bin/env python3
"""Sanity figures and timings of the explanation methods (issue 14), on the bundled model.

    python benchmarks/explain_sanity.py            # 200 images for randomisation, 500 for deletion (~3 min)
    python benchmarks/explain_sanity.py --quick    # 40 / 100 images

1. Model randomisation (Adebayo et al. 2018): Spearman rank correlation between
   the map of the trained model and of the same architecture with fresh random
   weights, per method, over test images, and between two random
   initialisations for reference;
2. deletion: the explained (predicted) class's mean probability drop when the
   20% of pixels a map ranks highest are blanked, against 20% random pixels and
   against 20% random pixels of the item itself (pixels > 0);
3. Grad-CAM variant and layer on 500 held-out TRAINING images (not the test
   set): deletion drop for HiResCAM and classic Grad-CAM weighting, each
   convolution, read bare and at its block output (after batch norm and ReLU);
   and SmoothGrad as gradient x input against the plain mean |gradient|;
4. activation maximisation: each generated pattern's mean activation against
   the largest one of all 10,000 test images, for the first filters of every
   convolution;
5. timings: each method per image after warm-up (median of 20), and one
   forward pass of the same image as the baseline.

Results go to benchmarks/explain_results.json and the table printed here;
docs/explanations.md quotes them.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from cnn_desktop import config  # noqa: E402
from cnn_desktop.core.dataset import load_dataset, to_model_input  # noqa: E402
from cnn_desktop.core.explain import CAM_VARIANTS, GRADCAM, METHODS, SMOOTHGRAD, Explainer  # noqa: E402
from cnn_desktop.core.explain_checks import (  # noqa: E402
    deletion_drops, explanation_maps, randomised_copy, spearman)
from cnn_desktop.core.filter_patterns import FilterPatterns  # noqa: E402
from cnn_desktop.core.model_io import load_model  # noqa: E402

FILTERS_PER_LAYER = 8
# Each method with its defaults, plus classic Grad-CAM weighting for comparison.
VARIANTS = {**{method: (method, {}) for method in METHODS}, "gradcam (classic)": (GRADCAM, {"variant": "gradcam"})}


def sample(count: int, total: int, seed: int) -> np.ndarray:
    return np.sort(np.random.default_rng(seed).choice(total, size=count, replace=False))


def summary(values) -> dict:
    values = np.asarray(values, dtype=np.float64)
    finite = values[np.isfinite(values)]
    return {"n": int(values.size), "constant_maps": int(values.size - finite.size),
            "mean": float(finite.mean()), "median": float(np.median(finite)),
            "p95": float(np.percentile(finite, 95)), "max": float(finite.max())}


def item_random_drops(explainer, images, classes, fraction=0.2, seed=0):
    """Blank 20% of all pixels, chosen at random among the item's pixels (> 0) first."""
    flat = images.reshape(len(images), -1)
    rng = np.random.default_rng(seed)
    # Item pixels get a random score in (1, 2), background in (0, 1): the top 20% are random item pixels.
    scores = rng.random(flat.shape) + (flat > 0)
    _top, _random = deletion_drops(explainer, images, scores, classes, fraction, seed)
    return _top


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    n_random, n_deletion = (40, 100) if args.quick else (200, 500)
    data = load_dataset()
    model, _card = load_model(config.default_model_path())
    explainer = Explainer(model)
    results: dict = {"model": str(config.default_model_path().relative_to(ROOT)), "quick": args.quick}

    # 5. timings
    timings = {}
    tasks = {"forward pass (baseline)": lambda image: explainer.probabilities(image[None]),
             **{method: (lambda image, method=method: explainer.explain(image, method)) for method in METHODS}}
    for name, task in tasks.items():
        task(to_model_input(data.test_images[:1])[0])  # warm-up: traces the functions
        seconds = []
        for index in range(20):
            image = to_model_input(data.test_images[index:index + 1])[0]
            start = time.perf_counter()
            task(image)
            seconds.append(time.perf_counter() - start)
        timings[name] = statistics.median(seconds) * 1000
    results["milliseconds_per_image"] = timings

    # 1. model randomisation
    random_explainer = Explainer(randomised_copy(model, seed=1))
    # The reference: how alike the maps of two random initialisations are (what the architecture and the
    # image alone put into a map); a map that ignored the weights entirely would give 1.
    other_random_explainer = Explainer(randomised_copy(model, seed=2))
    indices = sample(n_random, config.TEST_SIZE, seed=0)
    images = to_model_input(data.test_images[indices])
    classes = explainer.probabilities(images).argmax(axis=1)
    randomisation = {}
    for label, (method, options) in VARIANTS.items():
        trained = explanation_maps(explainer, images, method, classes, **options)
        randomised = explanation_maps(random_explainer, images, method, classes, **options)
        other = explanation_maps(other_random_explainer, images, method, classes, **options)
        rhos = [spearman(a, b) for a, b in zip(trained, randomised)]
        randomisation[label] = {
            **summary(rhos),
            "sd": float(np.nanstd(rhos)),
            "random_vs_random_mean": summary([spearman(a, b) for a, b in zip(randomised, other)])["mean"],
        }
    results["randomisation_spearman"] = randomisation

    # 2. deletion on test images
    indices = sample(n_deletion, config.TEST_SIZE, seed=1)
    images = to_model_input(data.test_images[indices])
    classes = explainer.probabilities(images).argmax(axis=1)
    deletion = {}
    for label, (method, options) in VARIANTS.items():
        maps = explanation_maps(explainer, images, method, classes, **options)
        top, random = deletion_drops(explainer, images, maps, classes)
        deletion[label] = {"top20_drop": float(top.mean()), "random20_drop": float(random.mean()),
                            "share_top_beats_random": float((top > random).mean())}
    deletion["random_item_pixels"] = {"random20_drop": float(item_random_drops(explainer, images, classes).mean())}
    results["deletion"] = deletion

    # 3. Grad-CAM layer choice on held-out training images
    indices = sample(n_deletion, config.TRAIN_SIZE, seed=2)
    images = to_model_input(data.train_images[indices])
    classes = explainer.probabilities(images).argmax(axis=1)
    layer_choice = {}
    for layer in explainer.conv_layer_names:
        for block_output in (False, True):
            for variant in CAM_VARIANTS:
                maps = explainer.gradcam_batch(images, classes, layer=layer, block_output=block_output,
                                               variant=variant)
                top, _random = deletion_drops(explainer, images, maps, classes)
                where = "block output" if block_output else "bare convolution"
                layer_choice[f"{variant} {layer} ({where})"] = float(top.mean())
    results["gradcam_layer_deletion_train"] = layer_choice
    smoothgrad_choice = {}
    for times_input in (True, False):
        maps = explanation_maps(explainer, images, SMOOTHGRAD, classes, times_input=times_input)
        top, random = deletion_drops(explainer, images, maps, classes)
        smoothgrad_choice["gradient x input" if times_input else "mean |gradient|"] = {
            "top20_drop": float(top.mean()), "random20_drop": float(random.mean())}
    results["smoothgrad_deletion_train"] = smoothgrad_choice

    # 4. activation maximisation
    patterns = FilterPatterns(model)
    maximisation = {}
    for layer in explainer.conv_layer_names:
        best_test = patterns.filter_activations(data.test_images, layer).max(axis=0)
        rows = []
        for index in range(FILTERS_PER_LAYER):
            start = time.perf_counter()
            pattern = patterns.pattern(layer, index)
            rows.append({"filter": index, "pattern": pattern.activation, "best_test_image": float(best_test[index]),
                         "seconds": time.perf_counter() - start})
        maximisation[layer] = {
            "filters": rows,
            "pattern_beats_every_test_image": sum(row["pattern"] > row["best_test_image"] for row in rows),
            "of": len(rows),
        }
    results["activation_maximisation"] = maximisation

    (ROOT / "benchmarks" / "explain_results.json").write_text(json.dumps(results, indent=2) + "\n")
    print("Timings (ms per image, median of 20): "
          + ", ".join(f"{method} {ms:.1f}" for method, ms in timings.items()))
    print(f"\nModel randomisation, Spearman rho trained vs random weights ({n_random} test images):")
    for method, row in randomisation.items():
        print(f"  {method:22s} mean {row['mean']:+.3f} (SD {row['sd']:.3f})  median {row['median']:+.3f}  "
              f"p95 {row['p95']:+.3f}  max {row['max']:+.3f}  constant maps {row['constant_maps']}  "
              f"[two random models: {row['random_vs_random_mean']:+.3f}]")
    print(f"\nDeletion, mean probability drop of the explained class ({n_deletion} test images):")
    for label in VARIANTS:
        row = deletion[label]
        print(f"  {label:22s} top 20% {row['top20_drop']:.3f}  random 20% {row['random20_drop']:.3f}  "
              f"top beats random on {row['share_top_beats_random']:.0%}")
    print(f"  random 20% of the item's pixels: {deletion['random_item_pixels']['random20_drop']:.3f}")
    print(f"\nGrad-CAM variant and layer, deletion drop on {n_deletion} held-out training images:")
    for choice, value in layer_choice.items():
        print(f"  {choice:40s} {value:.3f}")
    print("SmoothGrad, deletion drop on the same training images: " + ", ".join(
        f"{name} {row['top20_drop']:.3f} (random {row['random20_drop']:.3f})"
        for name, row in smoothgrad_choice.items()))
    print("\nActivation maximisation (pattern vs best of 10,000 test images):")
    for layer, row in maximisation.items():
        seconds = statistics.median(r["seconds"] for r in row["filters"])
        print(f"  {layer:10s} {row['pattern_beats_every_test_image']}/{row['of']} patterns beat every test image; "
              f"median {seconds:.2f} s per pattern")
    return 0


if __name__ == "__main__":
    sys.exit(main())
