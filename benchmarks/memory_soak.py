"""Memory and threads over consecutive trainings in the real app window (offscreen).

Runs N short trainings one after another through the window's training controller (worker thread,
live charts, evaluation, model hand-over), and prints the process's resident
memory and OS thread count after each. Growth that levels off is caches warming
up; growth proportional to the run count would be a leak.

    python benchmarks/memory_soak.py [--runs 5] [--limit 5000] [--epochs 1]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def os_threads() -> int:
    return len(os.listdir("/proc/self/task"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--limit", type=int, default=5000)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    from PySide6.QtCore import QEventLoop, QTimer

    from cnn_desktop import config
    from cnn_desktop.core.training import TrainingConfig
    from cnn_desktop.gui.app import create_application
    from cnn_desktop.gui.main_window import MainWindow

    app = create_application()
    window = MainWindow(model_path=config.default_model_path())
    window.show()

    def wait_for(signal, timeout_s=600):
        loop = QEventLoop()
        signal.connect(loop.quit)
        QTimer.singleShot(timeout_s * 1000, loop.quit)
        loop.exec()

    window.start_loading()
    if not window.model_state.ready:
        wait_for(window.model_state.modelChanged)
    if window.data_state.dataset is None:
        wait_for(window.data_state.loaded)
    rows = [{"run": 0, "rss_mib": round(rss_mib(), 1), "threads": os_threads(), "status": "before"}]
    print(f"{'run':>4} {'status':>10} {'RSS MiB':>9} {'threads':>8}")
    print(f"{0:>4} {'before':>10} {rows[0]['rss_mib']:>9.1f} {rows[0]['threads']:>8}")
    for run in range(1, args.runs + 1):
        results = []
        controller = window.training_controller
        controller.finished.connect(results.append)
        controller.start(TrainingConfig(preset="seed", epochs=args.epochs, limit=args.limit, seed=run))
        wait_for(controller.finished)
        controller.finished.disconnect(results.append)
        # Let the evaluation and hand-over that follow a training finish too.
        loop = QEventLoop()
        QTimer.singleShot(3000, loop.quit)
        loop.exec()
        gc.collect()
        status = results[0].status if results else "no result"
        row = {"run": run, "rss_mib": round(rss_mib(), 1), "threads": os_threads(), "status": status}
        rows.append(row)
        print(f"{run:>4} {status:>10} {row['rss_mib']:>9.1f} {row['threads']:>8}", flush=True)
    growth = [b["rss_mib"] - a["rss_mib"] for a, b in zip(rows[1:], rows[2:])]
    print(f"RSS growth per run after the first: {', '.join(f'{g:+.1f}' for g in growth)} MiB")
    window.close_without_asking()  # the soak's trained models need no saving
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
