"""Run in a fresh process by tests/test_distributed.py: the CPU split into two logical devices (possible only before
TensorFlow initialises its devices), then the same seeded training on one device and on two replicas
(MirroredStrategy), a cancelled two-replica run, and the run record of a two-replica run. Prints one JSON object."""

from __future__ import annotations

import json
import os
import sys
import threading
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main() -> None:
    limit, epochs, runs_dir = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    from cnn_desktop.core.devices import split_cpu

    split_cpu(2)
    from cnn_desktop.core.dataset import load_dataset
    from cnn_desktop.core.run_recorder import RunRecorder
    from cnn_desktop.core.run_store import RunStore
    from cnn_desktop.core.training import BatchProgress, EpochEnd, TrainingConfig, TrainingSession

    data = load_dataset()
    report = {}
    for label, devices in (("one", "cpu"), ("two", 2)):
        events = []
        config = TrainingConfig(preset="fast", epochs=epochs, limit=limit, seed=0, validation="split",
                                devices=devices)
        recorder = RunRecorder(events.append, runs_dir=runs_dir, tensorboard=False)
        session = TrainingSession(config, data=data, listener=recorder)
        started = time.perf_counter()
        result = session.run()
        recorder.finish(result)
        recorder.close()
        report[label] = {
            "device": session.device_description, "status": result.status, "seconds": time.perf_counter() - started,
            "images_per_second": result.images_per_second, "val_accuracy": result.val_accuracy,
            "val_loss": result.val_loss, "loss": result.history["loss"][-1],
            "batch_events": sum(isinstance(event, BatchProgress) for event in events),
            "epoch_events": sum(isinstance(event, EpochEnd) and bool(event.weights) for event in events),
            "run_id": recorder.run_id,
        }
    # Stop under the strategy: the same flag, checked after every batch.
    seen = []

    def stop_early(event):
        if isinstance(event, BatchProgress):
            seen.append(event.global_step)
            if len(seen) == 2:
                session.cancel()

    session = TrainingSession(TrainingConfig(preset="fast", epochs=3, limit=limit, seed=0, validation="split",
                                             devices="all"), data=data, listener=stop_early)
    # In a worker thread, as the app runs it (the GUI thread stays free).
    outcome = {}
    worker = threading.Thread(target=lambda: outcome.update(result=session.run()))
    worker.start()
    worker.join()
    result = outcome["result"]
    report["cancelled"] = {"status": result.status, "epochs_completed": result.epochs_completed,
                           "steps_before_stop": seen[-1] if seen else None, "steps_per_epoch": -(-int(limit * 0.9) // 128)}
    store = RunStore(runs_dir)
    recorded = store.get_run(report["two"]["run_id"])
    report["recorded"] = {"status": recorded.status, "epochs": len(recorded.epochs),
                          "val_accuracy": recorded.epochs[-1].val_accuracy if recorded.epochs else None}
    store.close()
    print(json.dumps(report))


if __name__ == "__main__":
    main()
