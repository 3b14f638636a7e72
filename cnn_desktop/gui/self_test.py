"""``cnn-desktop --self-test``: prove a build works end to end, offscreen.

Starts the Qt application and main window, loads the bundled model through the
app's own loader, classifies the built-in sample images with it, checks the
answers and prints one line. Exit 0 when every sample is classified as its
known class, 1 otherwise.
"""

from __future__ import annotations

import sys
import time

from cnn_desktop import config
from cnn_desktop.gui.launch import LAUNCH_TIME

# Sample file -> the class it shows (test-set images rendered dark on white, larger and off centre).
SAMPLES = {"sneaker.png": "Sneaker", "trouser.png": "Trouser", "bag.png": "Bag"}
TIMEOUT_SECONDS = 120


def _say(line: str) -> None:
    if sys.stdout is not None:
        print(line, flush=True)


def run_self_test(app, window) -> int:
    from PySide6.QtCore import QEventLoop, QTimer

    from cnn_desktop.core.preprocessing import ImageError, prepare_file

    loop = QEventLoop()
    outcome: dict = {}
    window.model_state.modelChanged.connect(loop.quit)

    def failed(message, details):
        outcome["error"] = message
        loop.quit()

    window.model_state.loadFailed.connect(failed)
    QTimer.singleShot(TIMEOUT_SECONDS * 1000, loop.quit)
    window.load_model(config.default_model_path())
    loop.exec()
    try:
        if "error" in outcome or not window.model_state.ready:
            _say(f"self-test FAILED: model not loaded: {outcome.get('error', 'timed out')}")
            return 1
        results = []
        ok = True
        for file_name, expected in SAMPLES.items():
            try:
                prepared = prepare_file(config.resources_dir() / "samples" / file_name)
            except ImageError as exc:
                _say(f"self-test FAILED: {exc}")
                return 1
            prediction = window.model_state.classifier.classify(prepared.image)
            ok &= prediction.label == expected
            results.append(f"{file_name}={prediction.label} ({prediction.confidence:.0%})")
        verdict = "passed" if ok else "FAILED"
        _say(f"self-test {verdict}: model {window.model_state.name}; {', '.join(results)}; "
             f"Qt platform {app.platformName()}; {time.perf_counter() - LAUNCH_TIME:.1f} s")
        return 0 if ok else 1
    finally:
        window.close()
