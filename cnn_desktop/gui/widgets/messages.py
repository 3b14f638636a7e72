"""Telling the user something went wrong, without blocking the event loop.

``QMessageBox.warning()`` runs a nested event loop until dismissed; these
window-modal boxes are opened with ``open()`` instead, so background work,
signals and tests keep running while the message is on screen. Every message
is logged too, so that the log file has what a bug report needs.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

log = logging.getLogger(__name__)


def show_message(parent: QWidget | None, title: str, text: str, *, details: str = "",
                 icon: QMessageBox.Icon = QMessageBox.Icon.Warning) -> QMessageBox:
    level = logging.ERROR if icon == QMessageBox.Icon.Critical else logging.WARNING
    if icon == QMessageBox.Icon.Information:
        level = logging.INFO
    log.log(level, "%s: %s", title, text)
    if details:  # tracebacks go to the log file (INFO and up), not the terminal (WARNING and up)
        log.info("%s, details:\n%s", title, details)
    box = QMessageBox(icon, title, text, QMessageBox.StandardButton.Ok, parent)
    box.setObjectName("cnnDesktopMessage")
    if details:
        box.setDetailedText(details)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.setWindowModality(Qt.WindowModality.WindowModal)
    box.open()
    return box


def show_error(parent: QWidget | None, title: str, text: str, details: str = "") -> QMessageBox:
    return show_message(parent, title, text, details=details, icon=QMessageBox.Icon.Critical)


def show_warning(parent: QWidget | None, title: str, text: str, details: str = "") -> QMessageBox:
    return show_message(parent, title, text, details=details, icon=QMessageBox.Icon.Warning)


def show_info(parent: QWidget | None, title: str, text: str) -> QMessageBox:
    return show_message(parent, title, text, icon=QMessageBox.Icon.Information)


def open_messages(parent: QWidget) -> list[QMessageBox]:
    """The message boxes currently open over ``parent`` (for tests and for closing the window)."""
    return [box for box in parent.findChildren(QMessageBox, "cnnDesktopMessage") if box.isVisible()]
