"""Explanations in the real app, for the screenshots (run under Xvfb by ../shared/tools/screenshot).

    python docs/screenshots/explain_scene.py explain-drawing|explain-photo|explain-why-not|filter-pattern

explain-drawing: a dress drawn with the real X pointer (xdotool) and filled, explained by Grad-CAM;
explain-photo: a photo-like picture (a T-shirt on a wood table) opened, explained by occlusion (the map
laid over the photo where the network saw the item); explain-why-not: the same drawing, "why not
Coat?" clicked in the probability bars, explained by integrated gradients; filter-pattern: the
Inspect tab's "What a filter looks for" page for filter 3 of the last convolution.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

from PySide6.QtCore import QTimer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scene import DRESS_INSIDE, DRESS_OUTLINE, draw_with_pointer, photo_composite  # noqa: E402

from cnn_desktop import config  # noqa: E402
from cnn_desktop.core.explain import INTEGRATED_GRADIENTS, OCCLUSION  # noqa: E402
from cnn_desktop.gui.app import create_application, setup_file_logging  # noqa: E402
from cnn_desktop.gui.main_window import MainWindow  # noqa: E402


def choose_method(panel, method: str) -> None:
    panel.method_choice.setCurrentIndex(panel.method_choice.findData(method))


def click_class(bars, name: str, delay_s: float) -> None:
    """Click the class's bar with the real X pointer after ``delay_s`` (once the drawing is done)."""
    index = config.CLASS_NAMES.index(name)
    row = bars.height() / len(bars.class_names)
    spot = bars.mapToGlobal(bars.rect().topLeft())
    x, y = spot.x() + bars.width() // 2, spot.y() + int((index + 0.5) * row)
    command = ["sleep", str(delay_s), "mousemove", str(x), str(y), "click", "1", "sleep", "0.2",
               "mousemove", "1300", "880"]
    threading.Thread(target=subprocess.run, args=(["xdotool", *command],), daemon=True).start()


def main() -> int:
    scene = sys.argv[1] if len(sys.argv) > 1 else "explain-drawing"
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
        tab = window.classify_tab
        if scene in ("explain-drawing", "explain-why-not"):
            window.show_tab("classify")
            draw_with_pointer(tab, DRESS_OUTLINE, DRESS_INSIDE)
            if scene == "explain-why-not":
                choose_method(tab.explanation_panel, INTEGRATED_GRADIENTS)

                def when_drawn() -> None:  # the filled dress is explained: now ask "why not Coat?"
                    explained = tab.explanation_state.explained
                    if explained is None or explained.explanation.predicted_name != "Dress":
                        QTimer.singleShot(300, when_drawn)
                        return
                    click_class(tab.probability_bars, "Coat", 1.0)

                QTimer.singleShot(300, when_drawn)
        elif scene == "explain-photo":
            window.show_tab("classify")
            choose_method(tab.explanation_panel, OCCLUSION)
            tab.open_image_file(photo_composite())
        elif scene == "filter-pattern":
            tab.show_test_image(9)
            window.show_tab("inspect")
            inspect = window.inspect_tab
            inspect.pages.setCurrentWidget(inspect.filter_patterns)
            state = inspect.filter_pattern_state
            state.select(state.layers[-1], 3)

    window.start_loading()
    QTimer.singleShot(200, ready)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
