"""Set the real app up for a screenshot of one tab (run under Xvfb by ../shared/tools/screenshot).

    python docs/screenshots/scene.py classify|classify-unsure|classify-photo|classify-trouser|train|inspect|dataset|
                                      close-question-stopped

SCENE_COLOR_SCHEME=dark shows it with a dark palette, as a desktop in dark mode hands one to Qt
(Xvfb has no desktop theme, so Qt's colour-scheme hint alone changes nothing there).
QT_SCALE_FACTOR=2 on a 2800x1800 Xvfb screen shows it at 200% (inspect-200pc.png).

Starts the app as `cnn-desktop` does, on the bundled model, then, once the
model and dataset are loaded, puts something worth seeing on the chosen tab:
a drawing on the canvas, a short training, a test image in the inspector.
The Classify scenes draw with the real X pointer (xdotool) on the real canvas:
a dress's outline filled with the bucket (classify), a loose scribble in one
stroke that looks like no item (classify-unsure); classify-photo opens a
photo-like picture (a test item on a wood table, made as benchmarks/realworld.py
makes its composites).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from PySide6.QtCore import QPointF, QTimer
from PySide6.QtGui import QColor, QPalette

from cnn_desktop.gui.app import create_application, setup_file_logging
from cnn_desktop.gui.main_window import MainWindow


def draw_trouser(canvas) -> None:
    """Two legs and a waistband, drawn as a person would with the brush."""
    width = 26.0
    strokes = [[(95, 40), (185, 40)], [(100, 45), (92, 250)], [(180, 45), (188, 250)],
               [(120, 45), (112, 245)], [(160, 45), (168, 245)], [(140, 45), (140, 120)]]
    for stroke in strokes:
        canvas.begin_stroke(QPointF(*stroke[0]), width)
        for point in stroke[1:]:
            canvas.continue_stroke(QPointF(*point), width)
        canvas.end_stroke()
    canvas.changed.emit()


# A dress as a person draws it, in the canvas's drawing units (0-280), and a point inside it for the bucket.
DRESS_OUTLINE = [(115, 30), (165, 30), (160, 70), (175, 110), (215, 250), (65, 250), (105, 110), (120, 70),
                 (115, 30)]
DRESS_INSIDE = (140, 160)
# A loose scribble in one stroke, like no item: the shape-trained model learned outlines and is sure of
# an empty dress outline, but not of this ("Not sure").
SCRIBBLE = [(40, 120), (80, 80), (120, 160), (160, 80), (200, 160), (240, 100), (200, 220), (80, 220)]
PHOTO_TEST_INDEX = 19  # a T-shirt


def draw_with_pointer(tab, outline, fill_at=None, brush: int = 6) -> None:
    """Draw ``outline`` on the Classify tab's canvas with the real X pointer, then click the bucket inside it."""
    from cnn_desktop.gui.widgets.canvas import Tool

    canvas = tab.canvas
    tab.brush_spin.setValue(brush)

    def on_screen(point) -> tuple[str, str]:
        spot = canvas.mapToGlobal(canvas.to_widget(QPointF(*point)).toPoint())
        return str(spot.x()), str(spot.y())

    steps = []  # the pointer moves in short steps, as a hand does
    for (x0, y0), (x1, y1) in zip(outline, outline[1:]):
        count = max(1, int(max(abs(x1 - x0), abs(y1 - y0)) / 4))
        steps += [(x0 + (x1 - x0) * i / count, y0 + (y1 - y0) * i / count) for i in range(1, count + 1)]
    command = ["mousemove", *on_screen(outline[0]), "mousedown", "1"]
    for point in steps:
        command += ["mousemove", *on_screen(point), "sleep", "0.01"]
    command += ["mouseup", "1", "sleep", "0.3"]
    if fill_at is not None:
        button = tab.tool_buttons[Tool.FILL]
        centre = button.mapToGlobal(button.rect().center())
        command += ["mousemove", str(centre.x()), str(centre.y()), "click", "1", "sleep", "0.3",
                    "mousemove", *on_screen(fill_at), "click", "1", "sleep", "0.5"]
    command += ["mousemove", "1300", "880"]  # out of the way
    threading.Thread(target=subprocess.run, args=(["xdotool", *command],), daemon=True).start()


def photo_composite() -> Path:
    """A photo-like picture of a test item on a wood table, written to a temporary file."""
    import numpy as np
    from PIL import Image

    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from benchmarks.realworld import composite
    from cnn_desktop.core.dataset import load_dataset

    image = load_dataset().test_images[PHOTO_TEST_INDEX]
    pixels, _suffix, _quality = composite(image, "wood_table", np.random.default_rng(PHOTO_TEST_INDEX))
    path = Path(tempfile.mkdtemp()) / "t-shirt on a table.jpg"
    Image.fromarray(pixels).save(path, quality=90)
    return path


def use_dark_palette(app) -> None:
    """Fusion with a dark palette, like a KDE or GNOME dark theme gives Qt applications."""
    roles = QPalette.ColorRole
    colours = {roles.Window: "#2d2d2d", roles.WindowText: "#e6e6e6", roles.Base: "#1e1e1e",
               roles.AlternateBase: "#2a2a2a", roles.Text: "#e6e6e6", roles.Button: "#383838",
               roles.ButtonText: "#e6e6e6", roles.Highlight: "#3d7fd6", roles.HighlightedText: "#ffffff",
               roles.ToolTipBase: "#3a3a3a", roles.ToolTipText: "#e6e6e6", roles.PlaceholderText: "#9a9a9a",
               roles.Light: "#4a4a4a", roles.Midlight: "#3f3f3f", roles.Mid: "#5a5a5a", roles.Dark: "#1a1a1a",
               roles.Shadow: "#000000", roles.Link: "#6ea8ff", roles.BrightText: "#ff6b6b"}
    palette = QPalette()
    for role, colour in colours.items():
        palette.setColor(role, QColor(colour))
    for role in (roles.WindowText, roles.Text, roles.ButtonText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor("#7a7a7a"))
    app.setStyle("Fusion")
    app.setPalette(palette)


def main() -> int:
    scene = sys.argv[1] if len(sys.argv) > 1 else "classify"
    app = create_application()
    if os.environ.get("SCENE_COLOR_SCHEME") == "dark":
        use_dark_palette(app)
    setup_file_logging()
    window = MainWindow()
    window.resize(1380, 860)
    window.move(10, 10)
    window.show()

    def ready() -> None:
        if not window.model_state.ready or window.data_state.dataset is None:
            QTimer.singleShot(200, ready)
            return
        if scene == "classify":
            window.show_tab("classify")
            draw_with_pointer(window.classify_tab, DRESS_OUTLINE, DRESS_INSIDE)
        elif scene == "classify-unsure":
            window.show_tab("classify")
            draw_with_pointer(window.classify_tab, SCRIBBLE)
        elif scene == "classify-photo":
            window.show_tab("classify")
            window.classify_tab.open_image_file(photo_composite())
        elif scene == "classify-trouser":
            window.show_tab("classify")
            draw_trouser(window.classify_tab.canvas)
        elif scene == "inspect":
            window.classify_tab.show_test_image(9)
            window.show_tab("inspect")
        elif scene == "dataset":
            window.show_tab("dataset")
        elif scene == "train":
            window.show_tab("train")
            tab = window.train_tab  # filled in as a user would: the fast preset's own recipe, all images
            tab.form.preset_combo.setCurrentIndex(tab.form.preset_combo.findData("fast"))
            tab.form.limit_spin.setValue(0)  # "all 60,000"
            tab.start_training()
        elif scene == "close-question-stopped":
            # A short training stopped after its first epoch, its model not used yet, then File ▸ Quit.
            from cnn_desktop.core.training import TrainingConfig

            window.show_tab("train")
            controller = window.training_controller
            controller.epochEnded.connect(lambda *_: controller.stop())
            controller.resultAwaitingDecision.connect(lambda _result: QTimer.singleShot(300, window.close))
            window.train_tab.start_training(TrainingConfig(preset="seed", epochs=4, limit=3000, seed=5))

    window.start_loading()
    QTimer.singleShot(200, ready)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
