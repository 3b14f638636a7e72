"""The plumbing shared by the app's embedded SQLite databases (the run history, the example collection).

One file per database, in WAL mode so that the app and the command line can use it at once; every write
is one short transaction taken at once (``BEGIN IMMEDIATE``) so writers queue and never deadlock; the
schema is versioned with ``PRAGMA user_version`` and upgraded by a list of migrations, one entry per
version (never edit a released entry: add one). Every SQLite failure becomes the subclass's error type
with a message that names the file and says what to do.
"""

from __future__ import annotations

import datetime as _dt
import logging
import os
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger(__name__)

DATA_HOME_ENV_VAR = "CNN_DESKTOP_DATA_HOME"  # moves the whole app-data base (tests, a portable setup)


def app_data_dir(name: str) -> Path:
    """``$CNN_DESKTOP_DATA_HOME/<name>`` if set, else ``<name>`` beside the user's models folder."""
    from cnn_desktop import config

    base = os.environ.get(DATA_HOME_ENV_VAR)
    return Path(base) / name if base else config.user_models_dir().parent / name


def now_iso() -> str:
    """The time now in UTC, to the second, as databases here record it."""
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


class SqliteDatabase:
    """Base of a database class. Subclasses set the class attributes, then call ``_open`` in ``__init__``."""

    MIGRATIONS: tuple[tuple[str, ...], ...] = ()
    ERROR: type[Exception] = RuntimeError  # what every failure is raised as
    WHAT = "the database"  # how messages name it ("the run history")
    DAMAGED_ADVICE = "move the file aside and a new one will be started"

    path: Path

    def _open(self, path: Path, timeout: float, *, synchronous: str = "NORMAL", pragmas: tuple[str, ...] = (),
              check_integrity: bool = False) -> None:
        """Connect, switch to WAL, refuse a damaged file (``check_integrity``) and bring the schema up to date."""
        self.path, self._timeout, self._lock = Path(path), timeout, threading.Lock()
        if self.path.exists() and not self.path.is_file():  # a folder or a FIFO (reading one would hang)
            raise self.ERROR(f"{self.WHAT} {self.path} is not a file; {self.DAMAGED_ADVICE}")
        try:
            self._connection = sqlite3.connect(self.path, timeout=timeout, isolation_level=None,
                                               check_same_thread=False)
        except sqlite3.Error as exc:
            raise self._error(exc) from None
        try:
            with self._guard():
                self._connection.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
                for pragma in pragmas:
                    self._connection.execute(pragma)
                self._enable_wal()
                self._connection.execute(f"PRAGMA synchronous = {synchronous}")
                if check_integrity:
                    self._check_integrity()
                self._migrate()
        except BaseException:
            self._connection.close()
            raise

    def _damaged(self, detail: str) -> Exception:
        return self.ERROR(f"{self.WHAT} {self.path} is damaged ({detail}); {self.DAMAGED_ADVICE}")

    def _error(self, exc: sqlite3.Error) -> Exception:
        text = str(exc)
        if "locked" in text or "busy" in text:
            return self.ERROR(f"{self.WHAT} {self.path} is locked by another program (waited {self._timeout:g} s); "
                              f"try again when it has finished")
        if isinstance(exc, sqlite3.DatabaseError) and any(
                word in text for word in ("not a database", "malformed", "corrupt", "disk image")):
            return self._damaged(text)
        return self.ERROR(f"{self.WHAT} {self.path} cannot be used: {text}")

    @contextmanager
    def _guard(self):
        try:
            yield
        except sqlite3.Error as exc:
            raise self._error(exc) from None

    @contextmanager
    def _transaction(self):
        """One short write transaction, taken at once (BEGIN IMMEDIATE) so writers queue, never deadlock."""
        with self._lock, self._guard():
            connection = self._connection
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")

    def _read(self, sql: str, parameters=()):
        with self._lock, self._guard():
            return self._connection.execute(sql, parameters).fetchall()

    def _enable_wal(self) -> None:
        """Switch a new database to WAL mode (it stays so); retried, because SQLite answers "locked" at once,
        without waiting, when two processes switch the same new file at the same moment."""
        deadline = time.monotonic() + self._timeout
        while True:
            try:
                mode = self._connection.execute("PRAGMA journal_mode").fetchone()[0]
                if mode.lower() != "wal":
                    mode = self._connection.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                if mode.lower() != "wal":
                    log.warning("%s %s is in %s mode, not WAL", self.WHAT, self.path, mode)
                return
            except sqlite3.OperationalError as exc:
                if not ("locked" in str(exc) or "busy" in str(exc)) or time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    def _check_integrity(self) -> None:
        """Refuse a damaged file at once, with a message, rather than failing later on some page."""
        rows = self._connection.execute("PRAGMA quick_check").fetchall()
        if [row[0] for row in rows] != ["ok"]:
            raise self._damaged("; ".join(str(row[0]) for row in rows[:3]))

    def _migrate(self) -> None:
        connection, latest = self._connection, len(self.MIGRATIONS)
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        if version > latest:
            raise self.ERROR(f"{self.WHAT} {self.path} was written by a newer cnn-desktop (schema {version}; "
                             f"this version reads up to {latest})")
        if version == latest:
            return
        connection.execute("BEGIN IMMEDIATE")
        try:
            version = connection.execute("PRAGMA user_version").fetchone()[0]  # another process may have won
            for number in range(version + 1, latest + 1):
                for statement in self.MIGRATIONS[number - 1]:
                    connection.execute(statement)
                connection.execute(f"PRAGMA user_version = {number}")
                log.info("%s %s migrated to schema %d", self.WHAT, self.path, number)
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")

    def schema_version(self) -> int:
        return self._read("PRAGMA user_version")[0][0]

    def close(self) -> None:
        with self._lock:
            self._connection.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
