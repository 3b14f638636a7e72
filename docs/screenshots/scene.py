"""Set the real app up for a screenshot of one tab (run under Xvfb by ../shared/tools/screenshot).

    python docs/screenshots/scene.py classify|train|inspect|dataset

Starts the app as `cnn-desktop` does, on the bundled model, then, once the
model and dataset are loaded, puts something worth seeing on the chosen tab:
a drawing on the canvas, a short training, a test image in the inspector.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QPointF, QTimer

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
        canvas._end_stroke()
    canvas.changed.emit()


def main() -> int:
    scene = sys.argv[1] if len(sys.argv) > 1 else "classify"
    app = create_application()
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
            tab.preset_combo.setCurrentIndex(tab.preset_combo.findData("fast"))
            tab.limit_spin.setValue(0)  # "all 60,000"
            tab.start_training()

    window.start_loading()
    QTimer.singleShot(200, ready)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
