"""Make the benchmark's canvas drawings with the real mouse on the app's real canvas widget.

Run it under a real X server (Xvfb is enough; ``xdotool`` moves the pointer):

    xvfb-run -a -s "-screen 0 1000x700x24" .venv/bin/python benchmarks/realworld/draw_on_canvas.py

It opens the app's ``Canvas`` in a window beside a small tool bar like the Classify tab's (Brush, Fill,
Clear, a brush-size box), and a worker thread drives X pointer events with ``xdotool``: it types the
brush size into the box, presses the button and moves the pointer in many small steps for every stroke,
clicks "Fill" and then inside the shape for the filled drawings, and clicks "Clear" between drawings.
The canvas's own pixels (its backing store, via ``Canvas.pixels()``) are saved as PNG files downsized to
the canvas's logical 280 px, with their labels in ``labels.csv``.

The shapes were planned by hand, class by class, as a person draws them with a mouse: simplified,
template-like outlines in a few strokes, with their own proportions (not contours of Fashion-MNIST
items and not taken from any training generator), each drawing with random proportions, size, position,
stroke width, wobble and small overshoots; shoes sometimes face right. Seeded: the same run gives the same
drawings.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from cnn_desktop import config  # noqa: E402

DRAWINGS_DIR = HERE / "drawings"
LABELS_FILE = HERE / "labels.csv"
SAVED_SIZE = 280  # the canvas's logical size: small PNG files, same shapes
PER_CLASS = 8
FILLED_PER_CLASS = 3  # the rest are outlines
MIRRORED_SHOES = 2  # per shoe class, drawn facing right instead of left
POINTER_STEP = 4.0  # pixels between pointer positions along a stroke
MOVE_DELAY = 0.004  # seconds between pointer moves, so that Qt sees each one
SEED = 20261125

CLASS_NAMES = config.CLASS_NAMES
SHOE_CLASSES = {5, 7, 9}


def import_canvas():
    """The app's canvas widget, wherever the GUI keeps it."""
    try:
        from cnn_desktop.gui.widgets.canvas import Canvas, Tool
    except ImportError:  # where it lived before the GUI was split into widgets / tabs
        from cnn_desktop.gui.canvas import Canvas, Tool
    return Canvas, Tool


# ----------------------------------------------------------------------------- shapes, in a unit box
# Each shape: strokes (lists of (x, y) in [0, 1], y down) as a person would draw them, the points to
# click with the bucket for a filled drawing, and the box's aspect (width / height).


@dataclass
class Shape:
    strokes: list[list[tuple[float, float]]]  # the closed outline, in one or a few strokes
    fill_points: list[tuple[float, float]] = field(default_factory=list)  # inside the outline
    aspect: float = 1.0
    details: list[list[tuple[float, float]]] = field(default_factory=list)  # inner lines
    details_when_filled: bool = False  # details that lie outside the filled area (a sandal's straps)


def _arc(cx, cy, rx, ry, start_deg, end_deg, steps=12):
    return [(cx + rx * math.cos(math.radians(a)), cy + ry * math.sin(math.radians(a)))
            for a in np.linspace(start_deg, end_deg, steps)]


def tshirt(rng) -> Shape:
    sleeve = rng.uniform(0.22, 0.32)  # how far a short sleeve reaches out
    body = rng.uniform(0.26, 0.34)  # half the body width at the hem
    neck = rng.uniform(0.08, 0.13)
    hem = rng.uniform(0.92, 0.98)
    arm = rng.uniform(0.32, 0.42)  # the armpit's height
    drop = rng.uniform(0.08, 0.14)  # how low the sleeve's end hangs under the shoulder
    left = [(0.5 - neck, 0.05), (0.5 - 0.25, 0.10), (0.5 - 0.25 - sleeve, 0.10 + sleeve * 0.9),
            (0.5 - 0.22 - sleeve * 0.6, 0.10 + sleeve * 0.9 + drop), (0.5 - 0.24, arm), (0.5 - body, hem),
            (0.5, hem + 0.005)]
    right = [(1 - x, y) for x, y in left]
    neckline = _arc(0.5, 0.05, neck, rng.uniform(0.06, 0.12), 180, 0, 9)
    return Shape([left, right, neckline], [(0.5, 0.55)], aspect=rng.uniform(0.95, 1.15))


def trouser(rng) -> Shape:
    waist = rng.uniform(0.18, 0.26)
    flare = rng.uniform(-0.03, 0.05)
    crotch = rng.uniform(0.25, 0.36)
    gap = rng.uniform(0.03, 0.08)  # half the space between the legs at the hem
    outline = [(0.5 - waist, 0.02), (0.5 + waist, 0.02), (0.5 + waist + flare, 0.98), (0.5 + gap, 0.98),
               (0.5, crotch), (0.5 - gap, 0.98), (0.5 - waist - flare, 0.98), (0.5 - waist, 0.02)]
    details = []
    if rng.random() < 0.5:  # a waistband
        details.append([(0.5 - waist, 0.09), (0.5 + waist, 0.09)])
    return Shape([outline], [(0.5, 0.2)], aspect=rng.uniform(0.45, 0.62), details=details)


def _long_sleeved(rng, body, hem, cuff_y, collar) -> tuple[list, list]:
    """Left and right halves of a long-sleeved top (pullover, coat, shirt)."""
    shoulder = rng.uniform(0.28, 0.32)
    out = rng.uniform(0.44, 0.49)  # the cuff's outer x distance from the centre
    cuff = rng.uniform(0.09, 0.13)
    arm = rng.uniform(0.28, 0.36)
    left = [(0.5 - collar, 0.04), (0.5 - shoulder, 0.09), (0.5 - out, cuff_y), (0.5 - out + cuff, cuff_y + 0.02),
            (0.5 - shoulder + 0.06, arm), (0.5 - body, hem), (0.5, hem)]
    right = [(1 - x, y) for x, y in left]
    return left, right


def pullover(rng) -> Shape:
    collar = rng.uniform(0.08, 0.12)
    left, right = _long_sleeved(rng, rng.uniform(0.26, 0.32), rng.uniform(0.88, 0.95), rng.uniform(0.80, 0.92), collar)
    neckline = _arc(0.5, 0.04, collar, rng.uniform(0.05, 0.09), 180, 0, 9)
    details = []
    if rng.random() < 0.6:  # a ribbed waistband
        hem = left[5][1]
        details.append([(left[5][0] + 0.01, hem - 0.07), (right[5][0] - 0.01, hem - 0.07)])
    return Shape([left, right, neckline], [(0.5, 0.5)], aspect=rng.uniform(1.0, 1.2), details=details)


def coat(rng) -> Shape:
    collar = rng.uniform(0.09, 0.13)
    left, right = _long_sleeved(rng, rng.uniform(0.28, 0.34), 0.98, rng.uniform(0.72, 0.85), collar)
    lapel_y = rng.uniform(0.28, 0.4)
    lapels = [(0.5 - collar, 0.04), (0.5, lapel_y), (0.5 + collar, 0.04)]
    placket = [(0.5, lapel_y), (0.5, 0.98)]
    details = [placket]
    if rng.random() < 0.5:  # a belt
        belt = rng.uniform(0.5, 0.6)
        details.append([(0.5 - 0.3, belt), (0.5 + 0.3, belt)])
    return Shape([left, right, lapels], [(0.5, 0.6)], aspect=rng.uniform(0.8, 0.95), details=details)


def shirt(rng) -> Shape:
    collar = rng.uniform(0.07, 0.1)
    left, right = _long_sleeved(rng, rng.uniform(0.25, 0.3), rng.uniform(0.9, 0.97), rng.uniform(0.78, 0.9), collar)
    points = rng.uniform(0.1, 0.15)
    collar_stroke = [(0.5 - collar, 0.04), (0.5 - collar + 0.02, 0.04 + points), (0.5, 0.08),
                     (0.5 + collar - 0.02, 0.04 + points), (0.5 + collar, 0.04)]
    details = [[(0.5, 0.09), (0.5, left[5][1])]]
    if rng.random() < 0.5:  # a breast pocket
        px = rng.uniform(0.58, 0.63)
        details.append([(px, 0.25), (px, 0.34), (px + 0.1, 0.34), (px + 0.1, 0.25)])
    return Shape([left, right, collar_stroke], [(0.5, 0.5)], aspect=rng.uniform(1.0, 1.2), details=details)


def dress(rng) -> Shape:
    shoulder = rng.uniform(0.15, 0.2)
    waist = rng.uniform(0.1, 0.15)
    waist_y = rng.uniform(0.3, 0.42)
    skirt = rng.uniform(0.32, 0.48)
    strap = rng.random() < 0.5
    top_y = 0.1 if strap else 0.04
    left = [(0.5 - 0.07, top_y), (0.5 - shoulder, top_y + 0.02), (0.5 - shoulder + 0.01, 0.2),
            (0.5 - waist, waist_y), (0.5 - skirt, 0.97), (0.5, 0.99)]
    right = [(1 - x, y) for x, y in left]
    details = []
    if strap:
        details += [[(0.5 - shoulder + 0.03, top_y + 0.01), (0.5 - shoulder + 0.03, 0.0)],
                    [(0.5 + shoulder - 0.03, top_y + 0.01), (0.5 + shoulder - 0.03, 0.0)]]
    if rng.random() < 0.5:  # a waist seam
        details.append([(0.5 - waist, waist_y), (0.5 + waist, waist_y)])
    return Shape([left, right, _arc(0.5, top_y, 0.07, 0.05, 180, 0, 7)], [(0.5, 0.6)], aspect=rng.uniform(0.55, 0.8),
                 details=details, details_when_filled=strap)


def sandal(rng) -> Shape:
    sole_top = rng.uniform(0.7, 0.8)
    heel = rng.uniform(0.0, 0.12)  # a raised heel at the back (right side, toe on the left)
    sole = [(0.06, sole_top), (0.02, sole_top + 0.08), (0.1, 0.95), (0.98, 0.95), (0.98, sole_top - heel),
            (0.85, sole_top - heel), (0.6, sole_top), (0.06, sole_top)]
    straps = []
    for i in range(int(rng.integers(2, 4))):
        x = 0.2 + i * rng.uniform(0.18, 0.24)
        height = rng.uniform(0.25, 0.45)
        straps.append(_arc(x + 0.08, sole_top, 0.09, height, 180, 360, 8))
    straps.append(_arc(0.86, sole_top - heel, 0.1, rng.uniform(0.35, 0.5), 200, 330, 8))  # heel strap
    return Shape([sole], [(0.5, (sole_top + 0.95) / 2)], aspect=rng.uniform(1.8, 2.5), details=straps,
                 details_when_filled=True)


def sneaker(rng) -> Shape:
    collar_y = rng.uniform(0.08, 0.2)
    toe_y = rng.uniform(0.45, 0.6)
    upper = [(0.03, 0.8), (0.04, toe_y + 0.08), (0.2, toe_y), (0.45, 0.42), (0.62, collar_y + 0.05),
             (0.7, collar_y), (0.92, collar_y - 0.02), (0.97, 0.5), (0.97, 0.8), (0.03, 0.8)]
    sole = [(0.03, 0.8), (0.04, 0.95), (0.97, 0.95), (0.97, 0.8)]
    laces = []
    count = int(rng.integers(2, 5))
    for i in range(count):
        t = (i + 1) / (count + 1)
        x, y = 0.3 + 0.32 * t, 0.5 - 0.3 * t
        laces.append([(x - 0.04, y - 0.03), (x + 0.06, y + 0.08)])
    return Shape([upper, sole], [(0.75, 0.55), (0.5, 0.88)], aspect=rng.uniform(1.7, 2.3), details=laces)


def bag(rng) -> Shape:
    top = rng.uniform(0.35, 0.5)
    taper = rng.uniform(0.0, 0.1)
    body = [(0.08 + taper, top), (0.92 - taper, top), (0.98, 0.97), (0.02, 0.97), (0.08 + taper, top)]
    handle_width = rng.uniform(0.2, 0.32)
    handle = _arc(0.5, top, handle_width, top - 0.02, 180, 360, 12)
    details = []
    if rng.random() < 0.4:  # a flap
        details.append([(0.1 + taper, top + 0.02), (0.5, top + 0.25), (0.9 - taper, top + 0.02)])
    return Shape([body, handle], [(0.5, (top + 0.97) / 2 + 0.1)], aspect=rng.uniform(1.0, 1.35), details=details)


def ankle_boot(rng) -> Shape:
    shaft = rng.uniform(0.42, 0.55)  # x of the shaft's front edge (toe on the left)
    heel = rng.uniform(0.06, 0.16)
    instep = rng.uniform(0.45, 0.6)
    outline = [(0.92, 0.02), (shaft, 0.02), (shaft - 0.02, instep - 0.1), (0.2, instep), (0.05, instep + 0.12),
               (0.03, 0.95), (0.62, 0.95), (0.68, 0.95 - heel), (0.75, 0.95 - heel), (0.78, 0.98), (0.98, 0.98),
               (0.96, 0.5), (0.92, 0.02)]
    details = []
    if rng.random() < 0.5:  # the sole's edge
        details.append([(0.04, 0.86), (0.62, 0.86)])
    if rng.random() < 0.5:  # a zip or a pull tab at the back
        details.append([(0.9, 0.04), (0.9, 0.3)])
    return Shape([outline], [(0.6, 0.6)], aspect=rng.uniform(0.8, 1.1), details=details)


SHAPES = (tshirt, trouser, pullover, dress, coat, sandal, shirt, sneaker, bag, ankle_boot)


# ----------------------------------------------------------------------------- from shape to pointer path


def _resample(points: np.ndarray, step: float) -> np.ndarray:
    lengths = np.hypot(*np.diff(points, axis=0).T)
    total = float(lengths.sum())
    if total == 0:
        return points[:1]
    where = np.concatenate([[0.0], np.cumsum(lengths)])
    samples = np.linspace(0, total, max(2, int(total / step) + 1))
    return np.stack([np.interp(samples, where, points[:, 0]), np.interp(samples, where, points[:, 1])], axis=1)


def _wobble(count: int, amplitude: float, rng) -> np.ndarray:
    """A slow random drift (a hand's tremor), smoothed, ``amplitude`` pixels at most, none at the ends.

    The ends stay where they were aimed so that a closed outline stays closed for the bucket.
    """
    drift = np.cumsum(rng.normal(0, 1, (count + 16, 2)), axis=0)
    kernel = np.ones(9) / 9
    smooth = np.stack([np.convolve(drift[:, i], kernel, mode="same") for i in range(2)], axis=1)[8:8 + count]
    smooth -= smooth.mean(axis=0)
    smooth *= np.sin(np.linspace(0, np.pi, count))[:, None] ** 0.5
    peak = float(np.abs(smooth).max()) or 1.0
    return smooth / peak * amplitude


@dataclass
class Plan:
    label: int
    filled: bool
    brush: int
    strokes: list[np.ndarray]  # pointer paths in canvas coordinates (logical pixels)
    fill_points: list[tuple[int, int]]
    mirrored: bool


def plan_drawing(label: int, index: int, rng, canvas_size: int = SAVED_SIZE) -> Plan:
    filled = index < FILLED_PER_CLASS
    mirrored = label in SHOE_CLASSES and index >= PER_CLASS - MIRRORED_SHOES
    shape = SHAPES[label](rng)
    # Size and place the box: 45-90% of the canvas, anywhere it fits.
    longest = rng.uniform(0.45, 0.9) * canvas_size
    width, height = (longest, longest / shape.aspect) if shape.aspect >= 1 else (longest * shape.aspect, longest)
    left = rng.uniform(6, canvas_size - width - 6)
    top = rng.uniform(6, canvas_size - height - 6)
    # Filled shapes need closed outlines and a brush wide enough not to leave gaps.
    brush = int(rng.choice([4, 6, 8, 12]) if filled else rng.choice([2, 3, 5, 8, 12, 18, 18, 25]))
    brush = min(brush, max(2, int(longest / 12)))  # nobody draws a 120 px shirt with a 25 px brush
    tremor = rng.uniform(0.6, 2.0) if filled else rng.uniform(1.0, 4.0)

    def to_canvas(x: float, y: float) -> tuple[float, float]:
        if mirrored:
            x = 1 - x
        return left + x * width, top + y * height

    strokes = []
    for stroke in shape.strokes + (shape.details if (not filled or shape.details_when_filled) else []):
        points = np.array([to_canvas(x, y) for x, y in stroke], dtype=float)
        if not filled and len(points) >= 2 and rng.random() < 0.5:
            # Overshoot or stop short at the end, as a quick hand does.
            direction = points[-1] - points[-2]
            direction /= np.linalg.norm(direction) or 1.0
            points[-1] += direction * rng.uniform(-6, 8)
        path = _resample(points, POINTER_STEP)
        if len(path) > 3:
            path = path + _wobble(len(path), tremor, rng)
        strokes.append(np.clip(path, 1, canvas_size - 2))
    fill_points = [tuple(int(round(v)) for v in to_canvas(x, y)) for x, y in shape.fill_points] if filled else []
    return Plan(label, filled, brush, strokes, fill_points, mirrored)


def all_plans(seed: int = SEED) -> list[Plan]:
    rng = np.random.default_rng(seed)
    return [plan_drawing(label, index, rng) for label in range(len(CLASS_NAMES)) for index in range(PER_CLASS)]


# ----------------------------------------------------------------------------- the window and the mouse


def xdotool(*args: str) -> None:
    subprocess.run(["xdotool", *args], check=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--out", type=Path, default=DRAWINGS_DIR)
    parser.add_argument("--labels", type=Path, default=LABELS_FILE)
    args = parser.parse_args(argv)
    if not os.environ.get("DISPLAY"):
        parser.error("needs an X display (run it under xvfb-run); xdotool drives the real pointer")

    from PySide6.QtCore import QObject, QPoint, Qt, Signal, Slot
    from PySide6.QtWidgets import QApplication, QHBoxLayout, QPushButton, QSpinBox, QVBoxLayout, QWidget
    from PIL import Image

    Canvas, Tool = import_canvas()
    app = QApplication([sys.argv[0]])
    window = QWidget()
    window.setWindowTitle("canvas drawings for the real-world benchmark")
    layout = QHBoxLayout(window)
    bar = QVBoxLayout()
    canvas = Canvas(window)
    canvas.setFixedSize(SAVED_SIZE, SAVED_SIZE)  # shown at one drawing unit per pixel: plans map 1:1 to the screen
    buttons = {}
    for name, tool in (("Brush", Tool.BRUSH), ("Fill", Tool.FILL)):
        button = QPushButton(name, window)
        button.clicked.connect(lambda _=False, t=tool: canvas.set_tool(t))
        bar.addWidget(button)
        buttons[name] = button
    clear = QPushButton("Clear", window)
    clear.clicked.connect(canvas.clear)
    bar.addWidget(clear)
    buttons["Clear"] = clear
    size_box = QSpinBox(window)
    size_box.setRange(2, 60)
    size_box.setValue(round(canvas.brush_size))
    size_box.valueChanged.connect(canvas.set_brush_size)
    bar.addWidget(size_box)
    bar.addStretch(1)
    layout.addLayout(bar)
    layout.addWidget(canvas)
    window.move(40, 40)
    window.show()
    for _ in range(20):
        app.processEvents()

    def centre(widget) -> tuple[int, int]:
        point = widget.mapToGlobal(QPoint(widget.width() // 2, widget.height() // 2))
        return point.x(), point.y()

    origin = canvas.mapToGlobal(QPoint(0, 0))
    places = {name: centre(widget) for name, widget in {**buttons, "size": size_box}.items()}
    plans = all_plans(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    rows: list[dict] = []

    class Saver(QObject):
        """Runs in the GUI thread what the pointer-driving thread asks for."""

        save = Signal(int)
        finished = Signal()

        def __init__(self):
            super().__init__()
            self.done = threading.Event()
            self.save.connect(self.on_save, Qt.ConnectionType.QueuedConnection)
            self.finished.connect(app.quit, Qt.ConnectionType.QueuedConnection)

        @Slot(int)
        def on_save(self, number: int) -> None:
            for _ in range(10):
                app.processEvents()
            plan = plans[number]
            pixels = canvas.pixels()
            name = f"{number:03d}_{CLASS_NAMES[plan.label].split('/')[0].replace(' ', '_').lower()}.png"
            small = Image.fromarray(pixels).resize((SAVED_SIZE, SAVED_SIZE), Image.Resampling.BOX)
            small.save(args.out / name, optimize=True)
            rows.append({"file": name, "label": plan.label, "class": CLASS_NAMES[plan.label],
                         "style": "filled" if plan.filled else "outline", "brush": int(round(canvas.brush_size)),
                         "mirrored": int(plan.mirrored), "strokes": len(plan.strokes)})
            print(f"{name}: {rows[-1]['style']}, brush {rows[-1]['brush']}, ink {np.mean(pixels > 127):.1%}",
                  flush=True)
            self.done.set()

    saver = Saver()
    failure: list[BaseException] = []

    def click(name: str) -> None:
        x, y = places[name]
        xdotool("mousemove", str(x), str(y), "sleep", "0.05", "click", "1", "sleep", "0.05")

    def drive() -> None:
        try:
            for number, plan in enumerate(plans):
                click("Clear")
                click("Brush")
                x, y = places["size"]
                xdotool("mousemove", str(x), str(y), "click", "1", "key", "ctrl+a", "type", str(plan.brush))
                xdotool("key", "Return", "sleep", "0.05")
                for stroke in plan.strokes:
                    points = [(origin.x() + int(round(px)), origin.y() + int(round(py))) for px, py in stroke]
                    command = ["mousemove", str(points[0][0]), str(points[0][1]), "sleep", "0.02", "mousedown", "1"]
                    for px, py in points[1:]:
                        command += ["mousemove", str(px), str(py), "sleep", str(MOVE_DELAY)]
                    command += ["sleep", "0.02", "mouseup", "1", "sleep", "0.02"]
                    xdotool(*command)
                if plan.fill_points:
                    click("Fill")
                    for px, py in plan.fill_points:
                        xdotool("mousemove", str(origin.x() + px), str(origin.y() + py), "sleep", "0.05",
                                "click", "1", "sleep", "0.1")
                xdotool("sleep", "0.2")
                saver.done.clear()
                saver.save.emit(number)
                saver.done.wait()
        except BaseException as exc:  # reported by the main thread
            failure.append(exc)
        finally:
            saver.finished.emit()

    threading.Thread(target=drive, daemon=True).start()
    app.exec()
    if failure:
        raise failure[0]
    with open(args.labels, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"{len(rows)} drawings in {args.out}, labels in {args.labels}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
