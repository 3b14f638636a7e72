"""When the app was launched and where it logs: what the window, the self-test and the app's start share.

Kept apart from ``app`` so that nothing the app starts has to import ``app`` back (no import cycle).
"""

from __future__ import annotations

import logging
import logging.handlers
import time
from pathlib import Path

from cnn_desktop import config

log = logging.getLogger(__name__)
LAUNCH_TIME = time.perf_counter()
_log_file_problem = ""  # why the log file could not be opened (empty: it is written, or not tried yet)


def log_file_path() -> Path:
    from PySide6.QtCore import QStandardPaths

    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppLocalDataLocation)
    return Path(base or Path.home() / ".local" / "share" / config.APP_NAME) / "logs" / "cnn-desktop.log"


def log_file_problem() -> str:
    """Why the log file cannot be written (e.g. "permission denied"); empty when it is being written."""
    return _log_file_problem


def setup_file_logging() -> Path | None:
    """Errors (and info) go to a rotating log file in the platform's standard location.

    When it cannot be opened (read-only data folder) the log stays on stderr and ``log_file_problem`` says why.
    """
    global _log_file_problem
    path = log_file_path()
    root = logging.getLogger()
    if any(getattr(h, "_cnn_desktop_file", False) for h in root.handlers):
        return path
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(path, maxBytes=1_000_000, backupCount=3, encoding="utf-8")
    except OSError as exc:
        _log_file_problem = (exc.strerror or str(exc)).lower()
        log.warning("cannot write the log file %s: %s", path, exc)
        return None
    _log_file_problem = ""
    handler._cnn_desktop_file = True
    handler.setLevel(logging.INFO)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s"))
    root.addHandler(handler)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
        for other in root.handlers:  # keep the terminal as quiet as before
            if other is not handler and other.level == logging.NOTSET:
                other.setLevel(logging.WARNING)
    return path
