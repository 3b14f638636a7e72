"""Several devices without a GPU: the CPU split into two logical devices, a seeded two-replica MirroredStrategy run
against the same one-device run; Stop, live events and the run record under the strategy; device choices."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from cnn_desktop.core.devices import DeviceError, parse_choice
from cnn_desktop.core.training import TrainingConfig, TrainingConfigError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The global batch is the user's batch on any number of replicas, so the updates are the same ones:
# only floating-point summation order differs. Measured here: training loss 0.6418 vs 0.6423, validation
# accuracy 73.3% vs 73.7% after 2 epochs on 2,700 images.
LOSS_TOLERANCE = 0.02  # relative, final training loss
ACCURACY_TOLERANCE = 0.02  # absolute, final validation accuracy (300 held-out training images)


@pytest.mark.slow
def test_two_logical_cpu_devices_train_like_one(tmp_path):
    # Logical devices can only be set before TensorFlow initialises them: a fresh process.
    done = subprocess.run([sys.executable, os.path.join(ROOT, "tests", "distributed_run.py"), "3000", "2",
                           str(tmp_path / "runs")], capture_output=True, text=True, timeout=600, cwd=ROOT,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    one, two = report["one"], report["two"]
    print(f"\none replica: {one['images_per_second']:.0f} images/s, two replicas: {two['images_per_second']:.0f} "
          f"images/s; loss {one['loss']:.4f} vs {two['loss']:.4f}, val acc {one['val_accuracy']:.4f} vs "
          f"{two['val_accuracy']:.4f}")
    assert one["device"] == f"CPU, {len(os.sched_getaffinity(0))} cores"
    assert two["device"] == "2 CPU devices (MirroredStrategy)"
    assert one["status"] == two["status"] == "completed"
    assert two["val_accuracy"] > 0.6  # it learnt (chance is 10%)
    assert abs(two["loss"] - one["loss"]) <= LOSS_TOLERANCE * one["loss"]
    assert abs(two["val_accuracy"] - one["val_accuracy"]) <= ACCURACY_TOLERANCE
    # Live charts: the same events, epoch ends with their weight snapshots.
    assert two["batch_events"] > 0 and two["epoch_events"] == 2
    # Stop: asked at the second progress report of a 3-epoch run, honoured within the first epoch.
    cancelled = report["cancelled"]
    assert cancelled["status"] == "cancelled" and cancelled["epochs_completed"] <= 1
    assert cancelled["steps_before_stop"] < cancelled["steps_per_epoch"]
    # The run record of the two-replica run.
    assert report["recorded"] == {"status": "finished", "epochs": 2, "val_accuracy": pytest.approx(two["val_accuracy"])}


def test_device_choices_are_checked_before_training():
    assert parse_choice("ALL") == "all" and parse_choice("2") == 2 and parse_choice(3) == 3
    for bad in ("tpu", "0", "-1", "two"):
        with pytest.raises(DeviceError):
            parse_choice(bad)
    with pytest.raises(TrainingConfigError, match="devices must be one of"):
        TrainingConfig(devices="tpu").resolved()


def test_unavailable_devices_are_refused_in_one_line():
    from cnn_desktop.core.devices import resolve
    import tensorflow as tf

    if tf.config.list_physical_devices("GPU"):
        pytest.skip("this machine has a GPU")
    with pytest.raises(DeviceError, match="no GPU is visible") as info:
        resolve("gpu")
    assert "\n" not in str(info.value)
    with pytest.raises(DeviceError, match="devices asked for"):
        resolve(64)
    assert resolve("cpu").replicas == 1


def test_several_machines_are_refused_with_the_reason(monkeypatch):
    """Two workers on localhost with TF_CONFIG were tried: Keras 3's fit fails with MultiWorkerMirroredStrategy."""
    from cnn_desktop.core.devices import resolve

    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": {"worker": ["localhost:23456", "localhost:23457"]},
                                                "task": {"type": "worker", "index": 0}}))
    with pytest.raises(DeviceError, match="2 workers.*MultiWorkerMirroredStrategy") as info:
        resolve("auto")
    assert "\n" not in str(info.value)
    monkeypatch.setenv("TF_CONFIG", "{not json")
    with pytest.raises(DeviceError, match="TF_CONFIG is set but"):
        resolve("auto")


def _run_cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "cnn_desktop", *map(str, args)], capture_output=True, text=True,
                          timeout=600, cwd=ROOT, stdin=subprocess.DEVNULL,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})})


@pytest.mark.slow
def test_headless_train_writes_json_lines_and_the_model(tmp_path):
    out = tmp_path / "headless.keras"
    done = _run_cli("train", "--preset", "fast", "--epochs", "2", "--limit", "600", "--validation", "split",
                    "--devices", "1", "--progress", "json", "--log-every", "0.01", "--no-record", "--out", out)
    assert done.returncode == 0, done.stderr[-2000:]
    records = [json.loads(line) for line in done.stdout.splitlines()]  # every line is one JSON object
    kinds = [record["event"] for record in records]
    assert kinds[-1] == "saved" and kinds.index("started") < kinds.index("batch") < kinds.index("epoch")
    assert {"message", "batch"} <= set(kinds) and kinds.count("epoch") == 2
    assert any(record["event"] == "message" and record["text"].startswith("Training on CPU")
               for record in records)
    saved = records[-1]
    assert saved["model"] == str(out) and out.is_file() and saved["status"] == "completed"
    assert 0.1 < saved["test_accuracy"] <= 1
    # The model's card carries the history that the app shows for it (copied with the model to the laptop).
    from cnn_desktop.core.model_io import read_card

    card = read_card(out)
    assert len(card["history"]["val_accuracy"]) == 2 and card["devices"] == "1"
    # ... and `runs import` makes it a run of this machine's history (the Runs tab shows its curves), once.
    laptop = {"CNN_DESKTOP_DATA_HOME": str(tmp_path / "laptop")}
    imported = _run_cli("runs", "import", out, env=laptop)
    assert imported.returncode == 0, imported.stderr
    run_id = int(imported.stdout.split(" as run ")[1].split()[0])
    shown = json.loads(_run_cli("runs", "show", run_id, "--json", env=laptop).stdout)
    assert shown["status"] == "finished" and shown["model_path"] == str(out)
    assert [epoch["val_accuracy"] for epoch in shown["epochs"]] == pytest.approx(card["history"]["val_accuracy"])
    assert shown["test_accuracy"] == pytest.approx(saved["test_accuracy"])
    again = _run_cli("runs", "import", out, env=laptop)
    assert again.returncode == 1 and f"already in the run history as run {run_id}" in again.stderr


def test_cli_refuses_devices_it_cannot_have_in_one_line(tmp_path):
    import tensorflow as tf

    if tf.config.list_physical_devices("GPU"):
        pytest.skip("this machine has a GPU")
    done = _run_cli("train", "--devices", "gpu", "--limit", "100", "--no-record", "--out", tmp_path / "m.keras")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [done.stderr.strip()]
    assert "no GPU is visible" in done.stderr and not (tmp_path / "m.keras").exists()
