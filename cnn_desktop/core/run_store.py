"""The run history: every training's settings, curves and results in an embedded SQLite database.

One file, ``runs.sqlite3``, in the runs folder (``<app data>/cnn-desktop/runs``, beside the models
folder; ``CNN_DESKTOP_DATA_HOME`` moves the whole app-data base, e.g. for tests). Each run also
gets a folder ``run-NNNNN`` there for its TensorBoard event files, so
``tensorboard --logdir <runs folder>`` shows every run.

Several processes may write at once (the app and the command line): the database is in WAL
mode, every write is one short transaction, and a writer waits up to ``BUSY_TIMEOUT_SECONDS``
for another. A run still marked ``running`` whose process is gone (killed, crashed, power cut)
is marked ``interrupted`` the next time any process opens the store; what it had recorded stays.

Every failure of the database (damaged file, locked too long, disk full, newer schema) is a
``RunStoreError`` whose message can be shown as it is.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import math
import os
import platform
import shutil
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path

from cnn_desktop import __version__, config
# DATA_HOME_ENV_VAR stays importable from here (the tests and the run-history callers use it).
from cnn_desktop.core.sqlite_database import DATA_HOME_ENV_VAR, SqliteDatabase, app_data_dir  # noqa: F401
from cnn_desktop.core.sqlite_database import now_iso as _now_iso

log = logging.getLogger(__name__)

DATABASE_NAME = "runs.sqlite3"
BUSY_TIMEOUT_SECONDS = 10.0
# A running run recorded on another host (a shared folder) counts as dead when its heartbeat is this old.
STALE_HEARTBEAT_SECONDS = 600.0
HEARTBEAT_INTERVAL_SECONDS = 30.0

RUNNING, FINISHED, STOPPED, FAILED, INTERRUPTED = "running", "finished", "stopped", "failed", "interrupted"
RUN_STATUSES = (RUNNING, FINISHED, STOPPED, FAILED, INTERRUPTED)

# Each entry upgrades the schema by one version; a new database runs them all. Never edit a
# released entry: add one.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (  # version 1
        """CREATE TABLE runs (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            name TEXT NOT NULL,
            status TEXT NOT NULL,
            started_at TEXT NOT NULL,
            ended_at TEXT,
            design_json TEXT,
            hyperparameters_json TEXT NOT NULL DEFAULT '{}',
            seed INTEGER,
            duration_seconds REAL,
            images_per_second REAL,
            test_accuracy REAL,
            test_loss REAL,
            model_path TEXT)""",
        """CREATE TABLE epochs (
            run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            epoch INTEGER NOT NULL,
            loss REAL, accuracy REAL, val_loss REAL, val_accuracy REAL, seconds REAL,
            PRIMARY KEY (run_id, epoch))""",
    ),
    (  # version 2: notes, machine, confusion matrix, model card, liveness, learning rate per epoch
        "ALTER TABLE runs ADD COLUMN note TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE runs ADD COLUMN message TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE runs ADD COLUMN machine_json TEXT",
        "ALTER TABLE runs ADD COLUMN parameters INTEGER",
        "ALTER TABLE runs ADD COLUMN macs_per_image INTEGER",
        "ALTER TABLE runs ADD COLUMN confusion_json TEXT",
        "ALTER TABLE runs ADD COLUMN card_json TEXT",
        "ALTER TABLE runs ADD COLUMN pid INTEGER",
        "ALTER TABLE runs ADD COLUMN host TEXT",
        "ALTER TABLE runs ADD COLUMN process_start TEXT",
        "ALTER TABLE runs ADD COLUMN heartbeat_at REAL",
        "ALTER TABLE epochs ADD COLUMN learning_rate REAL",
        "ALTER TABLE epochs ADD COLUMN images_per_second REAL",
        "CREATE INDEX runs_by_status ON runs(status)",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)


class RunStoreError(RuntimeError):
    """The run history cannot be read or written; the message says why and what to do."""


def default_runs_dir() -> Path:
    """``$CNN_DESKTOP_DATA_HOME/runs`` if set, else ``runs`` beside the user's models folder."""
    return app_data_dir("runs")


def _process_start(pid: int) -> str | None:
    """When process ``pid`` started (Linux: clock ticks since boot), to tell it from a later one with its pid."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            fields = handle.read().rsplit(b")", 1)[1].split()
        return fields[19].decode()  # field 22 of the file; fields[0] is field 3
    except (OSError, IndexError):
        return None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    except OSError:
        return False
    return True


def machine_description() -> dict:
    """What ran the training, for comparing speeds between runs."""
    import sys

    tensorflow = sys.modules.get("tensorflow")
    return {
        "host": socket.gethostname(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "tensorflow": getattr(tensorflow, "__version__", None),
        "cnn_desktop": __version__,
    }


def _json_or_none(value):
    return None if value is None else json.dumps(value)


def _finite_or_none(value):
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


@dataclass(frozen=True)
class EpochRecord:
    epoch: int
    loss: float | None
    accuracy: float | None
    val_loss: float | None
    val_accuracy: float | None
    learning_rate: float | None
    seconds: float | None
    images_per_second: float | None


EPOCH_FIELDS = ("epoch", "loss", "accuracy", "val_loss", "val_accuracy", "learning_rate", "seconds",
                "images_per_second")


@dataclass(frozen=True)
class Run:
    id: int
    name: str
    note: str
    status: str
    message: str
    started_at: str
    ended_at: str | None
    duration_seconds: float | None
    design: dict | None  # core.design.Design.to_dict()
    hyperparameters: dict
    seed: int | None
    machine: dict | None
    parameters: int | None
    macs_per_image: int | None
    images_per_second: float | None
    test_accuracy: float | None
    test_loss: float | None
    confusion: list | None  # 10x10 counts, rows true classes
    model_path: str | None
    card: dict | None
    tensorboard_dir: Path
    epochs: tuple[EpochRecord, ...] = field(default=())

    @property
    def epochs_done(self) -> int:
        return len(self.epochs)

    @property
    def final_val_accuracy(self) -> float | None:
        return self.epochs[-1].val_accuracy if self.epochs else None


# The columns of the runs table in the order ``runs export --csv`` writes them.
RUN_TABLE_FIELDS = ("id", "name", "status", "started_at", "ended_at", "duration_seconds", "preset", "design_name",
                    "epochs", "batch_size", "learning_rate", "seed", "parameters", "macs_per_image",
                    "images_per_second", "final_val_accuracy", "test_accuracy", "test_loss", "model_path", "note")


def run_table_row(run: Run) -> dict:
    """One flat row per run (what the Runs table and the CSV export show)."""
    hyper = run.hyperparameters or {}
    return {
        "id": run.id, "name": run.name, "status": run.status, "started_at": run.started_at,
        "ended_at": run.ended_at, "duration_seconds": run.duration_seconds, "preset": hyper.get("preset"),
        "design_name": (run.design or {}).get("name"), "epochs": run.epochs_done,
        "batch_size": hyper.get("batch_size"), "learning_rate": hyper.get("learning_rate"), "seed": run.seed,
        "parameters": run.parameters, "macs_per_image": run.macs_per_image,
        "images_per_second": run.images_per_second, "final_val_accuracy": run.final_val_accuracy,
        "test_accuracy": run.test_accuracy, "test_loss": run.test_loss, "model_path": run.model_path,
        "note": run.note,
    }


class RunStore(SqliteDatabase):
    """The run history database. Thread-safe (one connection, one lock); open one per process or thread."""

    MIGRATIONS = MIGRATIONS
    ERROR = RunStoreError
    WHAT = "the run history"

    def __init__(self, runs_dir: Path | str | None = None, *, timeout: float = BUSY_TIMEOUT_SECONDS):
        self.runs_dir = Path(runs_dir) if runs_dir is not None else default_runs_dir()
        self._host = socket.gethostname()
        try:
            self.runs_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RunStoreError(f"cannot create the runs folder {self.runs_dir}: {exc.strerror or exc}") from None
        self._open(self.runs_dir / DATABASE_NAME, timeout, pragmas=("PRAGMA foreign_keys = ON",))
        try:
            self.mark_interrupted_runs()
        except BaseException:
            self.close()
            raise

    # -- writing ----------------------------------------------------------------------------
    def run_dir(self, run_id: int) -> Path:
        """The run's own folder (TensorBoard event files)."""
        return self.runs_dir / f"run-{int(run_id):05d}"

    def start_run(self, *, name: str, hyperparameters: dict, design: dict | None = None, seed: int | None = None,
                  machine: dict | None = None, parameters: int | None = None,
                  macs_per_image: int | None = None) -> int:
        """A new run in state ``running``, owned by this process; returns its id."""
        pid = os.getpid()
        with self._transaction() as connection:
            cursor = connection.execute(
                "INSERT INTO runs (name, status, started_at, design_json, hyperparameters_json, seed, machine_json,"
                " parameters, macs_per_image, pid, host, process_start, heartbeat_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (str(name)[:200], RUNNING, _now_iso(), _json_or_none(design), json.dumps(hyperparameters), seed,
                 _json_or_none(machine if machine is not None else machine_description()), parameters,
                 macs_per_image, pid, self._host, _process_start(pid), time.time()))
            return int(cursor.lastrowid)

    def add_epoch(self, run_id: int, epoch: int, *, loss=None, accuracy=None, val_loss=None, val_accuracy=None,
                  learning_rate=None, seconds=None, images_per_second=None) -> None:
        values = [_finite_or_none(v) for v in (loss, accuracy, val_loss, val_accuracy, learning_rate, seconds,
                                                images_per_second)]
        with self._transaction() as connection:
            connection.execute(
                "INSERT OR REPLACE INTO epochs (run_id, epoch, loss, accuracy, val_loss, val_accuracy, learning_rate,"
                " seconds, images_per_second) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", (run_id, int(epoch), *values))
            connection.execute("UPDATE runs SET heartbeat_at = ? WHERE id = ?", (time.time(), run_id))

    def heartbeat(self, run_id: int) -> None:
        with self._transaction() as connection:
            connection.execute("UPDATE runs SET heartbeat_at = ? WHERE id = ?", (time.time(), run_id))

    def finish_run(self, run_id: int, status: str, *, message: str = "", duration_seconds: float | None = None,
                   images_per_second: float | None = None) -> None:
        if status not in RUN_STATUSES or status == RUNNING:
            raise ValueError(f"a run ends as one of {RUN_STATUSES[1:]}, not {status!r}")
        with self._transaction() as connection:
            connection.execute(
                "UPDATE runs SET status = ?, message = ?, ended_at = ?,"
                " duration_seconds = COALESCE(?, duration_seconds),"
                " images_per_second = COALESCE(?, images_per_second), heartbeat_at = ? WHERE id = ?",
                (status, message, _now_iso(), _finite_or_none(duration_seconds), _finite_or_none(images_per_second),
                 time.time(), run_id))

    def set_test_results(self, run_id: int, *, accuracy: float, loss: float, confusion=None) -> None:
        confusion = None if confusion is None else [[int(c) for c in row] for row in confusion]
        with self._transaction() as connection:
            connection.execute("UPDATE runs SET test_accuracy = ?, test_loss = ?, confusion_json = ? WHERE id = ?",
                               (_finite_or_none(accuracy), _finite_or_none(loss), _json_or_none(confusion), run_id))

    def set_model(self, run_id: int, model_path: Path | str, card: dict | None = None) -> None:
        with self._transaction() as connection:
            connection.execute("UPDATE runs SET model_path = ?, card_json = ? WHERE id = ?",
                               (str(model_path), _json_or_none(card), run_id))

    def rename_run(self, run_id: int, name: str) -> None:
        self._update_text(run_id, "name", name, 200)

    def set_note(self, run_id: int, note: str) -> None:
        self._update_text(run_id, "note", note, 10_000)

    def _update_text(self, run_id: int, column: str, text: str, limit: int) -> None:
        if not isinstance(text, str) or len(text) > limit:
            raise ValueError(f"the {column} must be text of at most {limit:,} characters")
        with self._transaction() as connection:
            if connection.execute(f"UPDATE runs SET {column} = ? WHERE id = ?", (text, run_id)).rowcount == 0:
                raise KeyError(run_id)

    def delete_run(self, run_id: int, *, delete_model: bool = False) -> None:
        """Forget a run and remove its folder; with ``delete_model`` also its model file and card, unless
        ``model_kept_reason`` says the model must stay (then it does)."""
        from cnn_desktop.core.model_io import card_path

        run = self.get_run(run_id)
        removable = delete_model and run.model_path and self.model_kept_reason(run) is None
        with self._transaction() as connection:
            connection.execute("DELETE FROM epochs WHERE run_id = ?", (run_id,))
            connection.execute("DELETE FROM runs WHERE id = ?", (run_id,))
        shutil.rmtree(self.run_dir(run_id), ignore_errors=True)
        if removable:
            for path in (Path(run.model_path), card_path(run.model_path)):
                path.unlink(missing_ok=True)

    def model_kept_reason(self, run: Run) -> str | None:
        """Why deleting ``run`` must leave its model file, in words: the bundled model, a model another run
        recorded too (``runs import`` records any file), a folder; None when it may go with the run."""
        if not run.model_path:
            return None
        model = Path(run.model_path)
        if _same_file(model, config.default_model_path()):
            return "it is the bundled model"
        if model.is_dir() and not model.is_symlink():
            return "it is a folder, not a model file"
        sharing = [other.id for other in self.list_runs()
                   if other.id != run.id and other.model_path and _same_file(Path(other.model_path), model)]
        return f"run {sharing[-1]} recorded it too" if sharing else None

    def mark_interrupted_runs(self) -> list[int]:
        """Runs left ``running`` by a process that is gone become ``interrupted``; returns their ids."""
        candidates = self._read("SELECT id, pid, host, process_start, heartbeat_at, started_at FROM runs"
                                " WHERE status = ?", (RUNNING,))
        dead = [row for row in candidates if not self._owner_alive(*row[1:5])]
        if not dead:
            return []
        with self._transaction() as connection:
            for run_id, _pid, _host, _start, heartbeat_at, started_at in dead:
                ended = (_dt.datetime.fromtimestamp(heartbeat_at, _dt.timezone.utc).isoformat(timespec="seconds")
                         if heartbeat_at else None)
                duration = None
                if heartbeat_at:
                    try:
                        duration = max(0.0, heartbeat_at - _dt.datetime.fromisoformat(started_at).timestamp())
                    except ValueError:
                        pass
                connection.execute(
                    "UPDATE runs SET status = ?, ended_at = ?, duration_seconds = ?, message = ?"
                    " WHERE id = ? AND status = ?",
                    (INTERRUPTED, ended, duration, "The training process ended before the run finished "
                     "(crash, kill or power cut); the epochs it recorded are kept.", run_id, RUNNING))
        ids = [row[0] for row in dead]
        log.info("runs %s were left running by processes that are gone: marked interrupted", ids)
        return ids

    def _owner_alive(self, pid, host, process_start, heartbeat_at) -> bool:
        if pid is None:  # written before liveness was recorded (schema 1): only the heartbeat can tell
            return False
        if host == self._host:
            if not _pid_alive(pid):
                return False
            current = _process_start(pid)
            return process_start is None or current is None or current == process_start
        return heartbeat_at is not None and time.time() - heartbeat_at < STALE_HEARTBEAT_SECONDS

    # -- reading ----------------------------------------------------------------------------
    _RUN_COLUMNS = ("id, name, note, status, message, started_at, ended_at, duration_seconds, design_json,"
                    " hyperparameters_json, seed, machine_json, parameters, macs_per_image, images_per_second,"
                    " test_accuracy, test_loss, confusion_json, model_path, card_json")

    def _run_from_row(self, row, epochs=()) -> Run:
        (run_id, name, note, status, message, started, ended, duration, design, hyper, seed, machine, parameters,
         macs, rate, test_accuracy, test_loss, confusion, model_path, card) = row

        def decode(text):
            if text is None:
                return None
            try:
                return json.loads(text)
            except ValueError:
                return None

        return Run(
            id=run_id, name=name, note=note, status=status, message=message, started_at=started, ended_at=ended,
            duration_seconds=duration, design=decode(design), hyperparameters=decode(hyper) or {}, seed=seed,
            machine=decode(machine), parameters=parameters, macs_per_image=macs, images_per_second=rate,
            test_accuracy=test_accuracy, test_loss=test_loss, confusion=decode(confusion), model_path=model_path,
            card=decode(card), tensorboard_dir=self.run_dir(run_id), epochs=tuple(epochs),
        )

    def epochs(self, run_id: int) -> list[EpochRecord]:
        rows = self._read(f"SELECT {', '.join(EPOCH_FIELDS)} FROM epochs WHERE run_id = ? ORDER BY epoch", (run_id,))
        return [EpochRecord(*row) for row in rows]

    def get_run(self, run_id: int) -> Run:
        rows = self._read(f"SELECT {self._RUN_COLUMNS} FROM runs WHERE id = ?", (run_id,))
        if not rows:
            raise KeyError(run_id)
        return self._run_from_row(rows[0], self.epochs(run_id))

    def list_runs(self) -> list[Run]:
        """Every run, newest first, with its epochs."""
        runs = self._read(f"SELECT {self._RUN_COLUMNS} FROM runs ORDER BY id DESC")
        epochs: dict[int, list[EpochRecord]] = {}
        for row in self._read(f"SELECT run_id, {', '.join(EPOCH_FIELDS)} FROM epochs ORDER BY run_id, epoch"):
            epochs.setdefault(row[0], []).append(EpochRecord(*row[1:]))
        return [self._run_from_row(row, epochs.get(row[0], ())) for row in runs]

    def measured_throughput(self, limit: int = 20):
        """This machine's training speed from its recent finished runs, as a ``design.Throughput`` (or None).

        Uses the median multiply-adds per second of the last ``limit`` runs on this host, so one
        run slowed down by other work does not set the estimate.
        """
        from cnn_desktop.core.design import Throughput

        rows = self._read(
            "SELECT images_per_second, macs_per_image, machine_json FROM runs WHERE status IN (?, ?)"
            " AND images_per_second > 0 AND macs_per_image > 0 ORDER BY id DESC LIMIT ?",
            (FINISHED, STOPPED, limit * 4))
        rates = []
        for rate, macs, machine in rows:
            try:
                host = json.loads(machine or "{}").get("host")
            except ValueError:
                host = None
            if host == self._host:
                rates.append((rate * macs, rate, macs))
        if not rates:
            return None
        _, rate, macs = sorted(rates[:limit])[len(rates[:limit]) // 2]
        return Throughput(images_per_second=rate, macs_per_image=macs)


# ----------------------------------------------------------------------------------------------
# CSV export (the command line's `runs export` and the Runs view's export write the same files)
EPOCH_TABLE_FIELDS = ("run_id", "run_name", *EPOCH_FIELDS)


def _csv_cell(value):
    """Text that a spreadsheet would run as a formula (=, +, -, @ first) is written with a leading quote."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


def runs_csv(runs) -> str:
    """One row per run (``RUN_TABLE_FIELDS``)."""
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(RUN_TABLE_FIELDS)
    for run in runs:
        row = run_table_row(run)
        writer.writerow([_csv_cell(row[name]) for name in RUN_TABLE_FIELDS])
    return buffer.getvalue()


def epochs_csv(runs) -> str:
    """The curves: one row per run and epoch (``EPOCH_TABLE_FIELDS``)."""
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(EPOCH_TABLE_FIELDS)
    for run in runs:
        for epoch in run.epochs:
            writer.writerow([run.id, _csv_cell(run.name), *(_csv_cell(getattr(epoch, name)) for name in EPOCH_FIELDS)])
    return buffer.getvalue()


# ----------------------------------------------------------------------------------------------
# Comparing runs (the Runs view's diff and chart legend, `runs diff` could use the same)
# Hyper-parameters that describe how a run was made (sizes of the data it saw are derived from them).
COMPARED_SETTINGS = ("preset", "epochs", "batch_size", "learning_rate", "schedule", "augment", "validation",
                     "validation_split", "limit", "early_stopping_patience", "continue_training")


def _layer_text(layer: dict) -> str:
    options = ", ".join(f"{key}={value}" for key, value in layer.items() if key not in ("type", "name"))
    return f"{layer.get('type')}({options})"


def run_settings(run: Run) -> dict[str, object]:
    """A run's settings as flat, comparable name -> value pairs: recipe, seed, then the design layer by layer."""
    hyper = run.hyperparameters or {}
    settings: dict[str, object] = {name: hyper.get(name) for name in COMPARED_SETTINGS if name in hyper}
    settings["seed"] = run.seed
    design = run.design or {}
    settings["design"] = design.get("name")
    layers = design.get("layers") or []
    for position, layer in enumerate(layers, start=1):
        settings[f"layer {position}"] = _layer_text(layer) if isinstance(layer, dict) else str(layer)
    settings["parameters"] = run.parameters
    return settings


def diff_runs(first: Run, second: Run) -> list[tuple[str, object, object]]:
    """The settings that differ between two runs, in order: (name, first's value, second's value)."""
    a, b = run_settings(first), run_settings(second)
    names = list(a) + [name for name in b if name not in a]
    return [(name, a.get(name), b.get(name)) for name in names if a.get(name) != b.get(name)]


def differing_settings(runs) -> list[str]:
    """Names of the settings that are not the same in all of ``runs``."""
    settings = [run_settings(run) for run in runs]
    names: list[str] = []
    for one in settings:
        names.extend(name for name in one if name not in names)
    return [name for name in names if len({repr(one.get(name)) for one in settings}) > 1]


def legend_labels(runs, *, most: int = 3) -> dict[int, str]:
    """A short label per run for an overlay chart: its id and the values that set it apart from the others."""
    differing = [name for name in differing_settings(runs) if name != "parameters"]
    labels = {}
    for run in runs:
        settings = run_settings(run)
        parts = [f"{name} {settings.get(name)}" for name in differing[:most]]
        if len(differing) > most:
            parts.append(f"+{len(differing) - most} more")
        labels[run.id] = f"#{run.id} {run.name}" + (f" ({', '.join(parts)})" if parts else "")
    return labels


def _same_file(first: Path, second: Path) -> bool:
    try:
        return os.path.samefile(first, second)
    except OSError:  # one of them is not there (any more)
        return os.path.realpath(first) == os.path.realpath(second)
