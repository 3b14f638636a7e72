#!/usr/bin/env python3
"""How long a 12-megapixel phone photo takes to become the network's 28x28 input.

    python benchmarks/prepare_photo.py [--repeats N]

Writes a 4000x3000 JPEG (a Fashion-MNIST item on wood grain, a gradient and a
plaid background, as a phone would save it) and times ``prepare_file`` on it:
decoding (the JPEG decoder scales down while decoding), finding the item with
GrabCut and framing it. Baseline in the same run: the same file through the
plain-background rule alone (decode + ``prepare_arrays``), which is what opening
a file cost before segmentation. Target (issue 12): well under 200 ms.
Benchmarks are not tests: nothing here fails because the machine is slow.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from photo_composites import composite  # noqa: E402

from cnn_desktop.core.dataset import load_dataset  # noqa: E402
from cnn_desktop.core.preprocessing import (EmptyImageError, decode_picture, open_image,  # noqa: E402
                                            prepare_arrays, prepare_file)

PHOTO_SIZE = (4000, 3000)  # 12 megapixels


def _timed(function, path: Path, repeats: int) -> list[float]:
    function(path)  # warm-up: first-call imports and caches
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function(path)
        times.append(time.perf_counter() - start)
    return times


def _plain_rule(path: Path):
    image = open_image(path)
    try:
        picture = decode_picture(image)
        return prepare_arrays(picture.gray, picture.alpha)
    except EmptyImageError:  # the old rule refuses many photos as blank; its time still counts
        return None
    finally:
        image.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    data = load_dataset()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for kind, index in (("wood", 0), ("gradient", 1), ("plaid", 2)):
            picture, _truth = composite(data.test_images[index], kind, seed=index)
            path = Path(folder) / f"{kind}.jpg"
            Image.fromarray(picture).resize(PHOTO_SIZE, Image.Resampling.BICUBIC).save(path, quality=92)
            segmented = _timed(prepare_file, path, args.repeats)
            plain = _timed(_plain_rule, path, args.repeats)
            rows.append((kind, path.stat().st_size, segmented, plain))
    print(f"prepare_file on a {PHOTO_SIZE[0]}x{PHOTO_SIZE[1]} JPEG (median / max of {args.repeats} runs)")
    for kind, size, segmented, plain in rows:
        print(f"  {kind:9s} ({size / 1e6:.1f} MB): segmentation {statistics.median(segmented) * 1000:6.1f} ms "
              f"(max {max(segmented) * 1000:.0f}); plain-background rule {statistics.median(plain) * 1000:6.1f} ms "
              f"(max {max(plain) * 1000:.0f})")
    worst = max(statistics.median(segmented) for _, _, segmented, _ in rows)
    print(f"slowest median {worst * 1000:.0f} ms: {'met' if worst < 0.2 else 'MISSED'} (target < 200 ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
