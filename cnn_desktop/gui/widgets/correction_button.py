"""“Wrong? It is a …”: a button whose menu lists the ten classes; choosing one reports it in one click.

What happens with the choice (the current input kept as one of the user's examples) is the owner's
business: the widget only says which class the user picked.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QToolButton

from cnn_desktop import config


class CorrectionButton(QToolButton):
    labelChosen = Signal(int)  # the class the user says the current image shows

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setText("Wrong? It is a …")
        self.setToolTip("Keep this image, with the class you choose, as one of your examples "
                        "(to teach the network in “My examples”)")
        self.setAccessibleName("Wrong? It is a …")
        self.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self)
        self.class_actions: list[QAction] = []
        for label, name in enumerate(config.CLASS_NAMES):
            action = menu.addAction(name)
            action.triggered.connect(lambda _checked=False, chosen=label: self.labelChosen.emit(chosen))
            self.class_actions.append(action)
        self.setMenu(menu)
