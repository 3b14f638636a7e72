"""The run history: real SQLite files, real subprocesses (two writers, a killed training), the real CLI."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from cnn_desktop import config
from cnn_desktop.core.run_recorder import RunRecorder
from cnn_desktop.core.run_store import (
    DATA_HOME_ENV_VAR, DATABASE_NAME, EPOCH_TABLE_FIELDS, FINISHED, INTERRUPTED, RUN_TABLE_FIELDS, RUNNING,
    SCHEMA_VERSION, RunStore, RunStoreError, default_runs_dir,
)

ROOT = Path(__file__).resolve().parent.parent

# A small network the tests train quickly: 2,000 images in about a second.
SMALL_DESIGN = {
    "format": "cnn-desktop-design", "version": 1, "name": "small test net",
    "layers": [{"type": "Conv2D", "filters": 8, "kernel_size": 3, "strides": 2},
               {"type": "MaxPooling2D", "pool_size": 2}, {"type": "Flatten"}, {"type": "Dense", "units": 32}],
}


def run_python(code: str, env_home: Path, timeout=120):
    env = {**os.environ, DATA_HOME_ENV_VAR: str(env_home), "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout, env=env,
                          cwd=ROOT)


def cli(home: Path, *args, timeout=300, stdin=subprocess.DEVNULL):
    env = {**os.environ, DATA_HOME_ENV_VAR: str(home), "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run([sys.executable, "-m", "cnn_desktop", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env=env, stdin=stdin, cwd=ROOT)


def integrity(path: Path) -> str:
    with sqlite3.connect(path) as connection:
        return connection.execute("PRAGMA integrity_check").fetchone()[0]


def record_fake_free_run(store: RunStore, epochs: int = 2) -> int:
    """A run written through the store's API (no training needed for bookkeeping tests)."""
    run_id = store.start_run(name="bookkeeping", hyperparameters={"preset": "seed", "epochs": epochs}, seed=1)
    for epoch in range(1, epochs + 1):
        store.add_epoch(run_id, epoch, loss=1.0 / epoch, accuracy=0.5, val_loss=1.1 / epoch, val_accuracy=0.4,
                        learning_rate=1e-3, seconds=1.5, images_per_second=1000.0)
    store.finish_run(run_id, FINISHED, message="done", duration_seconds=3.0, images_per_second=1000.0)
    return run_id


def test_default_folder_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(DATA_HOME_ENV_VAR, str(tmp_path / "home"))
    assert default_runs_dir() == tmp_path / "home" / "runs"
    monkeypatch.delenv(DATA_HOME_ENV_VAR)
    from cnn_desktop import config

    assert default_runs_dir() == config.user_models_dir().parent / "runs"


def test_a_new_store_is_in_wal_mode_at_the_current_schema(tmp_path):
    with RunStore(tmp_path) as store:
        assert store.schema_version() == SCHEMA_VERSION
        run_id = record_fake_free_run(store)
        store.rename_run(run_id, "renamed")
        store.set_note(run_id, "a note")
        run = store.get_run(run_id)
    with sqlite3.connect(tmp_path / DATABASE_NAME) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert (run.name, run.note, run.status, run.epochs_done) == ("renamed", "a note", FINISHED, 2)
    assert run.machine["cpus"] == os.cpu_count()
    with RunStore(tmp_path) as store, pytest.raises(KeyError):
        store.get_run(run_id + 1)


# The schema as version 1 of cnn-desktop wrote it (written out here on purpose: the test must not
# take it from the code under test).
VERSION_1_SCHEMA = """
CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, status TEXT NOT NULL,
    started_at TEXT NOT NULL, ended_at TEXT, design_json TEXT, hyperparameters_json TEXT NOT NULL DEFAULT '{}',
    seed INTEGER, duration_seconds REAL, images_per_second REAL, test_accuracy REAL, test_loss REAL, model_path TEXT);
CREATE TABLE epochs (run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE, epoch INTEGER NOT NULL,
    loss REAL, accuracy REAL, val_loss REAL, val_accuracy REAL, seconds REAL, PRIMARY KEY (run_id, epoch));
INSERT INTO runs (name, status, started_at, ended_at, hyperparameters_json, seed, test_accuracy, model_path)
    VALUES ('old finished run', 'finished', '2026-01-01T10:00:00+00:00', '2026-01-01T10:05:00+00:00',
            '{"preset": "seed", "epochs": 2}', 7, 0.91, '/models/old.keras');
INSERT INTO epochs VALUES (1, 1, 0.5, 0.8, 0.45, 0.85, 120.0), (1, 2, 0.3, 0.9, 0.35, 0.88, 118.0);
INSERT INTO runs (name, status, started_at, hyperparameters_json) VALUES
    ('old run that never ended', 'running', '2026-01-02T10:00:00+00:00', '{}');
PRAGMA user_version = 1;
"""


def test_a_version_1_database_is_migrated_and_keeps_its_runs(tmp_path):
    with sqlite3.connect(tmp_path / DATABASE_NAME) as connection:
        connection.executescript(VERSION_1_SCHEMA)
    with RunStore(tmp_path) as store:
        assert store.schema_version() == SCHEMA_VERSION
        old = store.get_run(1)
        assert (old.name, old.status, old.seed, old.test_accuracy, old.note) == ("old finished run", FINISHED, 7,
                                                                                 0.91, "")
        assert [(e.epoch, e.val_accuracy, e.learning_rate) for e in old.epochs] == [(1, 0.85, None), (2, 0.88, None)]
        assert store.get_run(2).status == INTERRUPTED  # no process can still be writing a version-1 run
        new_id = record_fake_free_run(store)
        store.set_note(new_id, "written after the migration")
        assert [run.id for run in store.list_runs()] == [new_id, 2, 1]
    with RunStore(tmp_path) as again:  # opening a migrated database again changes nothing
        assert again.schema_version() == SCHEMA_VERSION and len(again.list_runs()) == 3


def test_a_database_from_a_newer_version_is_refused(tmp_path):
    with sqlite3.connect(tmp_path / DATABASE_NAME) as connection:
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(RunStoreError, match="newer cnn-desktop"):
        RunStore(tmp_path)


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_damaged_database_gives_a_clear_message(tmp_path, damage):
    path = tmp_path / DATABASE_NAME
    if damage == "garbage":
        path.write_bytes(b"this is not an SQLite database\n" * 500)
    else:
        with RunStore(tmp_path) as store:
            for _ in range(30):
                record_fake_free_run(store, epochs=20)
        for leftover in tmp_path.glob(DATABASE_NAME + "-*"):
            leftover.unlink()
        data = path.read_bytes()
        path.write_bytes(data[:100] + b"\xff" * 4000 + data[4100:len(data) // 2])
    before = path.read_bytes()
    with pytest.raises(RunStoreError) as caught:
        store = RunStore(tmp_path)
        store.list_runs()
    message = str(caught.value)
    assert str(path) in message and "damaged" in message and "move the file aside" in message
    assert path.read_bytes() == before  # nothing overwritten: the user may still rescue it


@pytest.mark.parametrize("kind", ["folder", "fifo"])
def test_a_database_path_that_is_not_a_file_is_refused_at_once(tmp_path, kind):
    path = tmp_path / DATABASE_NAME
    path.mkdir() if kind == "folder" else os.mkfifo(path)
    with pytest.raises(RunStoreError, match="is not a file"):
        RunStore(tmp_path)


def test_training_goes_on_unrecorded_when_the_database_is_damaged(tmp_path, dataset):
    from cnn_desktop.core.training import EpochEnd, TrainingConfig, TrainingSession

    (tmp_path / DATABASE_NAME).write_bytes(b"\x00garbage" * 1000)
    warnings, events = [], []
    recorder = RunRecorder(events.append, runs_dir=tmp_path, warn=warnings.append)
    assert not recorder.recording
    result = TrainingSession(TrainingConfig(epochs=1, limit=300, validation="split"), data=dataset,
                             listener=recorder).run()
    recorder.finish(result)
    recorder.close()
    assert result.status == "completed"
    assert any(isinstance(event, EpochEnd) for event in events)  # the wrapped listener saw everything
    assert len(warnings) == 1
    assert "damaged" in warnings[0] and "not recorded" in warnings[0]


def test_a_locked_database_gives_a_clear_message_and_training_goes_on(tmp_path, dataset):
    from cnn_desktop.core.training import TrainingConfig, TrainingSession

    with RunStore(tmp_path) as store:
        record_fake_free_run(store)
    locker = sqlite3.connect(tmp_path / DATABASE_NAME, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    try:
        store = RunStore(tmp_path, timeout=0.3)  # reading still works in WAL mode
        assert len(store.list_runs()) == 1
        with pytest.raises(RunStoreError, match="locked by another program"):
            store.start_run(name="blocked", hyperparameters={})
        warnings = []
        recorder = RunRecorder(store=store, warn=warnings.append)
        result = TrainingSession(TrainingConfig(epochs=1, limit=200, validation="split"), data=dataset,
                                 listener=recorder).run()
        recorder.finish(result)
        assert result.status == "completed"
        assert len(warnings) == 1 and "locked" in warnings[0] and "not recorded" in warnings[0]
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    assert len(store.list_runs()) == 1
    store.close()


def test_a_run_left_running_by_a_dead_process_is_marked_interrupted(tmp_path):
    result = run_python(textwrap.dedent(f"""
        from cnn_desktop.core.run_store import RunStore
        store = RunStore({str(tmp_path)!r})
        run_id = store.start_run(name="dies", hyperparameters={{}})
        store.add_epoch(run_id, 1, loss=0.5, val_loss=0.6)
        print(run_id)
        # exits without finishing the run
    """), tmp_path)
    assert result.returncode == 0, result.stderr
    dead_id = int(result.stdout)
    with RunStore(tmp_path) as mine:
        mine_id = mine.start_run(name="alive", hyperparameters={})
        with RunStore(tmp_path) as other_view:
            assert other_view.get_run(dead_id).status == INTERRUPTED
            assert other_view.get_run(dead_id).epochs_done == 1
            assert other_view.get_run(mine_id).status == RUNNING  # this process is alive


def test_two_processes_record_at_the_same_time(tmp_path):
    runs_per_process, epochs = 60, 8
    script = textwrap.dedent(f"""
        import sys, time
        from cnn_desktop.core.run_store import RunStore
        from pathlib import Path
        store = RunStore({str(tmp_path)!r})
        Path({str(tmp_path)!r}, "ready-" + sys.argv[1]).touch()
        deadline = time.monotonic() + 30
        while len(list(Path({str(tmp_path)!r}).glob("ready-*"))) < 2:  # both start writing at the same moment
            assert time.monotonic() < deadline, "the other writer never started"
            time.sleep(0.001)
        started = time.time()
        for number in range({runs_per_process}):
            run_id = store.start_run(name=f"{{sys.argv[1]}} {{number}}", hyperparameters={{"writer": sys.argv[1]}})
            for epoch in range(1, {epochs} + 1):
                store.add_epoch(run_id, epoch, loss=1 / epoch, accuracy=0.1 * epoch)
                store.heartbeat(run_id)
                time.sleep(0.001)  # a training writes between batches, not back to back
            store.finish_run(run_id, "finished")
        print(started, time.time())
        store.close()
    """)
    env = {**os.environ, DATA_HOME_ENV_VAR: str(tmp_path)}
    writers = [subprocess.Popen([sys.executable, "-c", script, name], cwd=ROOT, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for name in ("a", "b")]
    outputs = [writer.communicate(timeout=120) for writer in writers]
    assert [writer.returncode for writer in writers] == [0, 0], outputs
    with RunStore(tmp_path) as store:
        runs = store.list_runs()
    assert len(runs) == 2 * runs_per_process
    assert {run.hyperparameters["writer"] for run in runs} == {"a", "b"}
    assert all(run.status == FINISHED and run.epochs_done == epochs for run in runs)
    (start_a, end_a), (start_b, end_b) = (map(float, out.split()) for out, _ in outputs)
    assert start_b < end_a and start_a < end_b, "the writers did not write at the same time; the test proved nothing"
    assert sorted(run.id for run in runs) == list(range(1, 2 * runs_per_process + 1))
    assert integrity(tmp_path / DATABASE_NAME) == "ok"


def test_a_training_killed_mid_run_leaves_an_interrupted_run_and_a_readable_database(tmp_path):
    design = tmp_path / "small.json"
    design.write_text(json.dumps(SMALL_DESIGN))
    home = tmp_path / "home"
    env = {**os.environ, DATA_HOME_ENV_VAR: str(home), "TF_CPP_MIN_LOG_LEVEL": "3"}
    process = subprocess.Popen(
        [sys.executable, "-m", "cnn_desktop", "train", "--design", design, "--epochs", "200", "--limit", "2000",
         "--validation", "split", "--out", tmp_path / "never.keras"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    database = home / "runs" / DATABASE_NAME
    deadline = time.monotonic() + 180
    epochs_seen = 0
    try:
        while time.monotonic() < deadline and process.poll() is None:
            if database.exists():
                try:
                    with sqlite3.connect(database, timeout=5) as connection:
                        epochs_seen = connection.execute("SELECT COUNT(*) FROM epochs").fetchone()[0]
                except sqlite3.OperationalError:  # tables not created yet
                    epochs_seen = 0
            if epochs_seen >= 2:
                break
            time.sleep(0.2)
        assert process.poll() is None, process.stderr.read()
        assert epochs_seen >= 2, "the training recorded no epochs in time"
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        process.stderr.close()
    assert process.returncode == -signal.SIGKILL
    assert integrity(database) == "ok"
    with RunStore(home / "runs") as store:
        (run,) = store.list_runs()
    assert run.status == INTERRUPTED and "ended before the run finished" in run.message
    assert run.epochs_done >= 2 and run.design["name"] == "small test net"
    assert run.duration_seconds is not None and run.duration_seconds >= 0
    listing = cli(home, "runs", "list")
    assert listing.returncode == 0 and "interrupted" in listing.stdout


def test_cli_train_records_the_run_and_runs_list_show_export(tmp_path):
    design = tmp_path / "small.json"
    design.write_text(json.dumps(SMALL_DESIGN))
    home = tmp_path / "home"
    model = tmp_path / "small.keras"
    trained = cli(home, "train", "--design", design, "--epochs", "2", "--limit", "2000", "--validation", "split",
                  "--learning-rate", "0.003", "--out", model)
    assert trained.returncode == 0, trained.stderr
    database = home / "runs" / DATABASE_NAME
    assert f"Recording this run in {database}" in trained.stderr
    assert "Recorded as run 1" in trained.stderr

    with RunStore(home / "runs") as store:
        run = store.get_run(1)
    assert run.status == FINISHED and run.epochs_done == 2 and run.design["name"] == "small test net"
    assert run.hyperparameters["learning_rate"] == 0.003 and run.hyperparameters["limit"] == 2000
    assert run.model_path == str(model.resolve()) and run.card["run_id"] == 1
    assert run.test_accuracy > 0.5 and sum(map(sum, run.confusion)) == 10_000
    assert run.parameters == run.card["parameters"]
    assert all(epoch.learning_rate == pytest.approx(0.003) for epoch in run.epochs)

    # TensorBoard event files beside the record, with the same numbers.
    import tensorflow as tf

    scalars = {}
    for part in ("train", "validation"):
        for events_file in (run.tensorboard_dir / part).glob("events.out.tfevents.*"):
            for event in tf.compat.v1.train.summary_iterator(str(events_file)):
                for value in event.summary.value:
                    assert value.metadata.plugin_data.plugin_name == "scalars"
                    scalars[(part, value.tag, event.step)] = float(tf.make_ndarray(value.tensor))
    assert scalars[("validation", "epoch_accuracy", 2)] == pytest.approx(run.epochs[1].val_accuracy)
    assert scalars[("train", "epoch_loss", 1)] == pytest.approx(run.epochs[0].loss)

    listing = cli(home, "runs", "list")
    assert listing.returncode == 0, listing.stderr
    header, row = listing.stdout.splitlines()
    assert header.split()[:3] == ["ID", "NAME", "STATUS"]
    assert row.split()[0] == "1" and "small test net" in row and "finished" in row
    assert f"{run.test_accuracy:.4f}" in row

    shown = cli(home, "runs", "show", "1")
    assert shown.returncode == 0, shown.stderr
    assert "Run 1: small test net" in shown.stdout and "logits (Dense)" in shown.stdout
    assert f"{run.epochs[1].val_accuracy:.4f}" in shown.stdout and "Ankle boot" in shown.stdout
    as_json = json.loads(cli(home, "runs", "show", "1", "--json").stdout)
    assert as_json["epochs"][1]["val_accuracy"] == run.epochs[1].val_accuracy

    table = tmp_path / "runs.csv"
    exported = cli(home, "runs", "export", "--csv", table)
    assert exported.returncode == 0, exported.stderr
    rows = list(csv.DictReader(io.StringIO(table.read_text())))
    assert tuple(rows[0]) == RUN_TABLE_FIELDS and len(rows) == 1
    assert float(rows[0]["test_accuracy"]) == pytest.approx(run.test_accuracy) and rows[0]["epochs"] == "2"
    curves = cli(home, "runs", "export", "--csv", "-", "--epochs")
    curve_rows = list(csv.DictReader(io.StringIO(curves.stdout)))
    assert tuple(curve_rows[0]) == EPOCH_TABLE_FIELDS and [r["epoch"] for r in curve_rows] == ["1", "2"]
    assert float(curve_rows[1]["val_loss"]) == pytest.approx(run.epochs[1].val_loss)

    missing = cli(home, "runs", "show", "42")
    assert missing.returncode == 1 and "there is no run 42" in missing.stderr and "Traceback" not in missing.stderr


def test_cli_refuses_a_bad_design_before_training(tmp_path):
    design = tmp_path / "bad.json"
    design.write_text(json.dumps({**SMALL_DESIGN, "layers": [{"type": "MaxPooling2D", "pool_size": 2}] * 5
                                  + [{"type": "Flatten"}]}))
    result = cli(tmp_path / "home", "train", "--design", design, "--no-record")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "after layer 5 the image would be 0×0 pixels" in result.stderr and str(design) in result.stderr
    assert not (tmp_path / "home" / "runs").exists()  # --no-record: the run history is not even created


def test_delete_forgets_the_run_and_its_files(tmp_path):
    with RunStore(tmp_path) as store:
        keep, drop = record_fake_free_run(store), record_fake_free_run(store)
        model = tmp_path / "m.keras"
        model.write_bytes(b"model")
        (tmp_path / "m.card.json").write_text("{}")
        store.set_model(drop, model, {"name": "m"})
        store.run_dir(drop).mkdir()
        (store.run_dir(drop) / "events").write_bytes(b"x")
        store.delete_run(drop, delete_model=True)
        assert [run.id for run in store.list_runs()] == [keep]
        assert not store.run_dir(drop).exists() and not model.exists() and not (tmp_path / "m.card.json").exists()
        assert store.epochs(drop) == []


def record_runs_on_the_bundled_and_a_shared_model(store, shared: Path) -> tuple[int, int, int]:
    """Three runs: one recorded the bundled model, two recorded ``shared`` (written here)."""
    shared.write_bytes(b"model")
    on_bundled, first, second = (record_fake_free_run(store) for _ in range(3))
    store.set_model(on_bundled, config.default_model_path())
    store.set_model(first, shared)
    store.set_model(second, shared)
    return on_bundled, first, second


def test_deleting_a_run_with_its_model_keeps_the_bundled_model_and_a_shared_one(tmp_path):
    """What the Runs tab's delete does (delete_model=True): a model that must stay stays, the run goes."""
    bundled = config.default_model_path()
    bundled_bytes = bundled.read_bytes()
    shared = tmp_path / "shared.keras"
    with RunStore(tmp_path / "runs") as store:
        on_bundled, first, second = record_runs_on_the_bundled_and_a_shared_model(store, shared)
        assert store.model_kept_reason(store.get_run(on_bundled)) == "it is the bundled model"
        assert store.model_kept_reason(store.get_run(first)) == f"run {second} recorded it too"
        store.delete_run(on_bundled, delete_model=True)
        store.delete_run(first, delete_model=True)
        assert bundled.read_bytes() == bundled_bytes and shared.exists()
        assert [run.id for run in store.list_runs()] == [second]
        assert store.model_kept_reason(store.get_run(second)) is None  # the last run to record it
        store.delete_run(second, delete_model=True)
        assert not shared.exists() and store.list_runs() == []


def test_measured_throughput_comes_from_this_machines_runs(tmp_path):
    with RunStore(tmp_path) as store:
        assert store.measured_throughput() is None
        for rate in (900.0, 1000.0, 5000.0):
            run_id = store.start_run(name="r", hyperparameters={}, macs_per_image=2_000_000)
            store.finish_run(run_id, FINISHED, images_per_second=rate)
        throughput = store.measured_throughput()
    assert throughput.images_per_second == 1000.0 and throughput.macs_per_image == 2_000_000  # the median


def test_diff_and_legend_name_what_differs(tmp_path):
    from cnn_desktop.core.design import design_from_preset
    from cnn_desktop.core.run_store import diff_runs, differing_settings, legend_labels

    seed_design = design_from_preset("seed").to_dict()
    fast_design = design_from_preset("fast").to_dict()
    recipe = {"preset": "seed", "epochs": 10, "batch_size": 32, "learning_rate": 0.001, "schedule": "constant"}
    with RunStore(tmp_path) as store:
        first = store.start_run(name="seed", hyperparameters=recipe, design=seed_design, seed=0)
        second = store.start_run(name="wider", hyperparameters={**recipe, "learning_rate": 0.003},
                                 design=fast_design, seed=0)
        third = store.start_run(name="seed again", hyperparameters=recipe, design=seed_design, seed=1)
        runs = [store.get_run(first), store.get_run(second), store.get_run(third)]
    assert diff_runs(runs[0], runs[2]) == [("seed", 0, 1)]
    differences = dict((name, (a, b)) for name, a, b in diff_runs(runs[0], runs[1]))
    assert differences["learning_rate"] == (0.001, 0.003)
    assert differences["design"] == ("seed", "fast")
    assert "units=64" in differences["layer 7"][0] and "units=128" in differences["layer 7"][1]
    assert set(differences) == {"learning_rate", "design", "layer 7"}  # parameters are not stored for these runs
    assert differing_settings(runs) == ["learning_rate", "seed", "design", "layer 7"]
    labels = legend_labels(runs)
    assert labels[second] == "#2 wider (learning_rate 0.003, seed 0, design fast, +1 more)"
    assert legend_labels(runs[:1]) == {first: "#1 seed"}


def test_cli_runs_on_a_damaged_database_is_one_clear_line(tmp_path):
    runs = tmp_path / "runs"
    runs.mkdir()
    (runs / DATABASE_NAME).write_bytes(b"garbage" * 100)
    result = cli(tmp_path, "runs", "list")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "damaged" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def assert_one_error_line(result, text: str) -> None:
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("cnn-desktop: error: ")
    assert text in result.stderr, result.stderr


def test_cli_runs_rename_and_note_as_the_store_takes_them(tmp_path):
    with RunStore(tmp_path / "runs") as store:
        first, second = record_fake_free_run(store), record_fake_free_run(store)

    renamed = cli(tmp_path, "runs", "rename", first, "  lr 3e-3  ")
    assert renamed.returncode == 0 and renamed.stdout == f"Run {first} is now “lr 3e-3”\n", renamed.stderr
    assert f"Run {first}: lr 3e-3\n" in cli(tmp_path, "runs", "show", first).stdout
    noted = cli(tmp_path, "runs", "note", first, "tried a higher learning rate")
    assert noted.returncode == 0, noted.stderr
    assert "  note        tried a higher learning rate" in cli(tmp_path, "runs", "show", first).stdout
    assert cli(tmp_path, "runs", "note", first, "").returncode == 0
    assert "  note " not in cli(tmp_path, "runs", "show", first).stdout

    # The store's limits (200 characters of name, 10,000 of note) are one line each; nothing changes.
    assert_one_error_line(cli(tmp_path, "runs", "rename", second, "x" * 201), "at most 200 characters")
    assert_one_error_line(cli(tmp_path, "runs", "note", second, "x" * 10_001), "at most 10,000 characters")
    assert_one_error_line(cli(tmp_path, "runs", "rename", second, " \t "), "name cannot be empty")
    assert cli(tmp_path, "runs", "rename", second, "y" * 200).returncode == 0
    # A newline is kept as the store keeps it; the table and the messages show it escaped, one row per run.
    multi = cli(tmp_path, "runs", "rename", first, "two\nlines")
    assert multi.returncode == 0 and multi.stdout == f"Run {first} is now “two\\nlines”\n"
    with RunStore(tmp_path / "runs") as store:
        assert store.get_run(first).name == "two\nlines" and store.get_run(first).note == ""
        assert store.get_run(second).name == "y" * 200 and store.get_run(second).note == ""
    listing = cli(tmp_path, "runs", "list").stdout.splitlines()
    assert len(listing) == 3 and "two\\nlines" in listing[2] and f"Run {first}: two\\nlines" in \
        cli(tmp_path, "runs", "show", first).stdout

    for action in (("rename", 42, "x"), ("note", 42, "x"), ("delete", 42, "--yes")):
        assert_one_error_line(cli(tmp_path, "runs", *action), f"there is no run 42 in {tmp_path / 'runs'}")


def test_cli_runs_delete_asks_or_needs_yes_and_with_model_removes_only_its_files(tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    with RunStore(tmp_path / "runs") as store:
        keep, drop, bare = (record_fake_free_run(store) for _ in range(3))
        for run_id, stem in ((keep, "keep"), (drop, "drop")):
            (models / f"{stem}.keras").write_bytes(b"model")
            (models / f"{stem}.card.json").write_text("{}")
            store.set_model(run_id, models / f"{stem}.keras", {"name": stem})
        (models / "drop.keras.bak").write_bytes(b"not the run's")
        store.run_dir(drop).mkdir()
        (store.run_dir(drop) / "events").write_bytes(b"x")
        store.rename_run(drop, "to go")

    # No terminal on stdin (a script, CI): refused without --yes, nothing deleted.
    refused = cli(tmp_path, "runs", "delete", drop, "--with-model")
    assert_one_error_line(refused, f"not deleting run {drop} “to go” and its model {models / 'drop.keras'}")
    assert "add --yes" in refused.stderr and (models / "drop.keras").exists()
    assert str(drop) in cli(tmp_path, "runs", "list").stdout

    deleted = cli(tmp_path, "runs", "delete", drop, "--with-model", "--yes")
    assert deleted.returncode == 0, deleted.stderr
    assert deleted.stdout.startswith(f"Deleted run {drop} “to go” and its model")
    remaining = [line.split()[0] for line in cli(tmp_path, "runs", "list").stdout.splitlines()[1:]]
    assert remaining == [str(bare), str(keep)]
    assert sorted(path.name for path in models.iterdir()) == ["drop.keras.bak", "keep.card.json", "keep.keras"]
    assert not (tmp_path / "runs" / f"run-{drop:05d}").exists()

    # Without --with-model the model stays; a run with no model is deleted with --with-model all the same.
    assert cli(tmp_path, "runs", "delete", keep, "--yes").returncode == 0
    assert (models / "keep.keras").exists() and (models / "keep.card.json").exists()
    assert cli(tmp_path, "runs", "delete", bare, "--with-model", "--yes").returncode == 0
    assert cli(tmp_path, "runs", "list").stdout.startswith("No runs recorded yet")


def test_cli_runs_delete_never_removes_the_bundled_model_a_shared_one_or_a_training_run(tmp_path):
    bundled = config.default_model_path()
    bundled_was_there = bundled.exists()
    shared = tmp_path / "shared.keras"
    with RunStore(tmp_path / "runs") as store:
        on_bundled, first, second = record_runs_on_the_bundled_and_a_shared_model(store, shared)
        training = store.start_run(name="training", hyperparameters={})  # owned by this (live) process
    assert_one_error_line(cli(tmp_path, "runs", "delete", on_bundled, "--with-model", "--yes"),
                          "it is the bundled model (leave out --with-model to delete only the run)")
    assert_one_error_line(cli(tmp_path, "runs", "delete", first, "--with-model", "--yes"),
                          f"run {second} recorded it too")
    assert_one_error_line(cli(tmp_path, "runs", "delete", training, "--yes"), f"run {training} is still being trained")
    with RunStore(tmp_path / "runs") as store:
        assert len(store.list_runs()) == 4
    assert shared.exists() and bundled.exists() == bundled_was_there


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
@pytest.mark.parametrize("answer, deleted", [("n\n", False), ("\n", False), ("y\n", True)])
def test_cli_runs_delete_on_a_terminal_asks_first(tmp_path, answer, deleted):
    with RunStore(tmp_path / "runs") as store:
        run_id = record_fake_free_run(store)
    controller, terminal = os.openpty()
    try:
        os.write(controller, answer.encode())  # typed ahead; the command reads it from its terminal
        result = cli(tmp_path, "runs", "delete", run_id, stdin=terminal, timeout=120)
    finally:
        os.close(terminal)
        os.close(controller)
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith(f"Delete run {run_id} “bookkeeping”? [y/N] ")
    assert ("Nothing deleted." in result.stderr) is not deleted
    with RunStore(tmp_path / "runs") as store:
        assert [run.id for run in store.list_runs()] == ([] if deleted else [run_id])
