"""Set the real app up for a screenshot of one tab (run under Xvfb by ../shared/tools/screenshot).

    python docs/screenshots/scene.py classify|train|inspect|dataset

SCENE_COLOR_SCHEME=dark shows it with a dark palette, as a desktop in dark mode hands one to Qt
(Xvfb has no desktop theme, so Qt's colour-scheme hint alone changes nothing there).
QT_SCALE_FACTOR=2 on a 2800x1800 Xvfb screen shows it at 200% (inspect-200pc.png).

Starts the app as `cnn-desktop` does, on the bundled model, then, once the
model and dataset are loaded, puts something worth seeing on the chosen tab:
a drawing on the canvas, a short training, a test image in the inspector.
"""

from __future__ import annotations

import os
import sys

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

    window.start_loading()
    QTimer.singleShot(200, ready)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
