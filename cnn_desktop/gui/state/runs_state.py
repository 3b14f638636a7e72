"""The run history as the app sees it: the core ``RunStore``, its runs, and what went wrong with it.

The Runs view and the network editor are views of this object. It opens the
database when first asked (``refresh()``), re-reads the runs whenever the
training controller says a run changed, and keeps the reason when the database
cannot be used (damaged, locked, a newer schema): the view shows that reason,
and training goes on without recording (the recorder says so itself).
Reading the history is a few small SQL queries, quick enough for the GUI
thread; opening waits at most ``OPEN_TIMEOUT_SECONDS`` for a lock.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot

from cnn_desktop.core.run_store import Run, RunStore, RunStoreError

log = logging.getLogger(__name__)

# The view waits this long for a database another process holds (the recorder, in its worker, waits longer).
OPEN_TIMEOUT_SECONDS = 2.0


class RunsState(QObject):
    changed = Signal()  # runs (or error) changed: redraw
    failed = Signal(str)  # the run history cannot be used: the message says why and what to do

    def __init__(self, runs_dir: Path | str | None = None, parent=None):
        super().__init__(parent)
        self._runs_dir = runs_dir
        self._store: RunStore | None = None
        self._runs: list[Run] = []
        self._error = ""

    @property
    def runs(self) -> list[Run]:
        """Every recorded run, newest first (empty when the history cannot be read)."""
        return list(self._runs)

    @property
    def error(self) -> str:
        """Why the run history cannot be used; empty when it can."""
        return self._error

    @property
    def runs_dir(self) -> Path | None:
        return self._store.runs_dir if self._store is not None else None

    def connect_controller(self, controller) -> None:
        """Re-read the history whenever a training writes to it, and record into the same folder."""
        controller.runs_dir = self._runs_dir
        controller.runRecorded.connect(self.refresh)

    def _open(self) -> RunStore:
        if self._store is None:
            self._store = RunStore(self._runs_dir, timeout=OPEN_TIMEOUT_SECONDS)
        return self._store

    def _fail(self, exc: RunStoreError) -> None:
        self._error = str(exc)
        log.warning("run history: %s", exc)
        self.failed.emit(self._error)
        self.changed.emit()

    @Slot()
    def refresh(self) -> bool:
        """Re-read every run; False (and ``error`` set) when the history cannot be read."""
        try:
            self._runs = self._open().list_runs()
        except RunStoreError as exc:
            self._runs = []
            self._close()  # a damaged file moved aside is picked up by the next refresh
            self._fail(exc)
            return False
        self._error = ""
        self.changed.emit()
        return True

    def get_run(self, run_id: int) -> Run | None:
        return next((run for run in self._runs if run.id == run_id), None)

    def measured_throughput(self):
        """This machine's measured training speed (core ``Throughput``) from recorded runs, or None."""
        try:
            return self._open().measured_throughput()
        except RunStoreError as exc:
            log.info("no measured throughput: %s", exc)
            return None

    # ------------------------------------------------------------------ changes
    def _change(self, action, *args, **kwargs) -> bool:
        try:
            action(self._open(), *args, **kwargs)
        except RunStoreError as exc:
            self._fail(exc)
            return False
        except KeyError:  # deleted meanwhile, e.g. by the command line
            self.failed.emit(f"Run #{args[0]} is no longer in the run history.")
            self.refresh()
            return False
        except ValueError as exc:  # a name or note too long
            self.failed.emit(f"The run history was not changed: {exc}.")
            self.refresh()
            return False
        return self.refresh()

    def rename_run(self, run_id: int, name: str) -> bool:
        return self._change(RunStore.rename_run, run_id, name)

    def set_note(self, run_id: int, note: str) -> bool:
        return self._change(RunStore.set_note, run_id, note)

    def delete_run(self, run_id: int) -> bool:
        """Forget the run and delete its folder, model file and card."""
        return self._change(RunStore.delete_run, run_id, delete_model=True)

    def _close(self) -> None:
        store, self._store = self._store, None
        if store is not None:
            try:
                store.close()
            except Exception:  # noqa: BLE001 - closing a damaged database must not fail the refresh
                log.exception("closing the run history failed")

    def close(self) -> None:
        self._close()
