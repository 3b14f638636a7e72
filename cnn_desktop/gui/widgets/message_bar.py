"""An inline message: the platform's icon for its kind, wrapped selectable text, optionally a dismiss button.

The app tells the user things in place with this bar instead of a dialog to
dismiss (which would block the event loop): invalid settings, what a training
came to, a picture that cannot be used.
"""

from __future__ import annotations

import re

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QFrame, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QStyle, QToolButton,
                               QVBoxLayout, QWidget)

# A run of text without a break longer than this (a hostile path) is shortened in the middle when shown: a label
# cannot wrap inside it, so it would make the bar, and the whole window, as wide as the run.
LONGEST_UNBROKEN = 100
_UNBROKEN_RUN = re.compile(r"\S{%d,}" % (LONGEST_UNBROKEN + 1))


def shorten_unbroken_runs(text: str) -> str:
    half = LONGEST_UNBROKEN // 2
    return _UNBROKEN_RUN.sub(lambda run: run[0][:half - 1] + "…" + run[0][-half:], text)


ICONS = {"information": QStyle.StandardPixmap.SP_MessageBoxInformation,
         "warning": QStyle.StandardPixmap.SP_MessageBoxWarning,
         "critical": QStyle.StandardPixmap.SP_MessageBoxCritical}


class MessageBar(QFrame):
    """Hidden until ``show_message(text, kind)``; ``clear()`` (or the dismiss button) hides it again.

    ``show_message(..., action=(label, callback))`` adds a button offering the way out (e.g. "Choose another
    folder…"); it is gone with the next message.
    """

    dismissed = Signal()

    def __init__(self, parent: QWidget | None = None, *, dismissable: bool = False, framed: bool = False,
                 accessible_name: str = ""):
        super().__init__(parent)
        if framed:
            self.setFrameShape(QFrame.Shape.StyledPanel)
        self._kind = ""
        self._text = ""
        self._icon = QLabel(self)
        self._icon.setAlignment(Qt.AlignmentFlag.AlignTop)
        self._label = QLabel(self)
        self._label.setWordWrap(True)
        self._label.setTextFormat(Qt.TextFormat.PlainText)
        self._label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Minimum)
        if accessible_name:
            self._label.setAccessibleName(accessible_name)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4) if framed else layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._icon, 0, Qt.AlignmentFlag.AlignTop)
        self.action_button = QPushButton(self)
        self.action_button.hide()
        self.action_button.clicked.connect(self._run_action)
        self._action = None
        text_column = QVBoxLayout()  # the button under the text: a long label never squeezes the text
        text_column.setContentsMargins(0, 0, 0, 0)
        text_column.addWidget(self._label)
        text_column.addWidget(self.action_button, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addLayout(text_column, 1)
        if dismissable:
            dismiss = QToolButton(self)
            dismiss.setText("✕")
            dismiss.setAutoRaise(True)
            dismiss.setToolTip("Dismiss this message")
            dismiss.clicked.connect(self._dismiss)
            layout.addWidget(dismiss, 0, Qt.AlignmentFlag.AlignTop)
        self.hide()

    def show_message(self, text: str, kind: str = "information", action=None) -> None:
        """Show ``text`` with the icon of ``kind``: "information", "warning" or "critical";
        ``action``: an optional (button label, callback) pair."""
        self._action = action[1] if action else None
        self.action_button.setText(action[0] if action else "")
        self.action_button.setVisible(bool(action))
        size = self.style().pixelMetric(QStyle.PixelMetric.PM_SmallIconSize)
        self._icon.setPixmap(self.style().standardIcon(ICONS[kind]).pixmap(size, size))
        self._text = text
        shown = shorten_unbroken_runs(text)
        self._label.setText(shown)
        self._label.setToolTip(text if shown != text else "")
        self._label.setAccessibleDescription(kind)
        self._kind = kind
        self.show()

    def clear(self) -> None:
        self._action = None
        self.action_button.hide()
        self._label.clear()
        self._kind = ""
        self.hide()

    def text(self) -> str:
        """The message in full (what is shown may have long paths shortened)."""
        return self._text if self._kind else ""

    @property
    def kind(self) -> str:
        """The kind of the message shown; empty when none is."""
        return self._kind

    def _run_action(self) -> None:
        action = self._action
        self.clear()  # the way out was taken; what it leads to may show a message of its own
        if action is not None:
            action()

    def _dismiss(self) -> None:
        self.clear()
        self.dismissed.emit()
