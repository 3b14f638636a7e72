"""Set the real app up for the screenshots of the Design and Runs tabs (run under Xvfb by ../shared/tools/screenshot).

    python docs/screenshots/design_runs_scene.py design   # the editor, on two-blocks-batch-norm.json
    python docs/screenshots/design_runs_scene.py runs     # every recorded run selected and compared

For runs-compared.png, three short real runs were recorded first into an empty history
(CNN_DESKTOP_DATA_HOME=<empty folder>, the same variable set for the app):

    cnn-desktop train --preset seed --limit 3000 --epochs 2
    cnn-desktop train --preset fast --limit 3000 --epochs 2
    cnn-desktop train --preset seed --design docs/screenshots/two-blocks-batch-norm.json --limit 3000 --epochs 2
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QTimer

from cnn_desktop.gui.app import create_application
from cnn_desktop.gui.main_window import MainWindow

DESIGN_FILE = Path(__file__).with_name("two-blocks-batch-norm.json")
SETTLE_MS = 1500  # the window is shown and the history read before the scene is arranged


def main(scene: str) -> int:
    app = create_application()
    window = MainWindow()
    window.resize(1400, 870)
    window.move(0, 0)
    window.show()
    window.start_loading()

    def arrange() -> None:
        if scene == "design":
            window.design_state.load(DESIGN_FILE)
            window.tabs.setCurrentWidget(window.design_tab)
            window.design_tab.select_layer(3)
        else:
            window.tabs.setCurrentWidget(window.runs_tab)
            window.runs_tab.table.select_ids([run.id for run in window.runs_state.runs])
            window.runs_tab.diff.only_differences.setChecked(True)

    QTimer.singleShot(SETTLE_MS, arrange)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "design"))
