"""What the Dataset tab shows when Fashion-MNIST could not be loaded.

The message comes from the core (it names the missing or damaged file and says
how to get the data); the buttons retry from a folder the user picks, or let
Keras download the files. Retrying never raises: a new failure shows its
message here again.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import Slot
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from cnn_desktop.gui import settings as keys
from cnn_desktop.gui.settings import Settings
from cnn_desktop.gui.widgets.message_bar import MessageBar

log = logging.getLogger(__name__)


class DatasetMissingPanel(QWidget):
    def __init__(self, data_state, parent=None):
        super().__init__(parent)
        self.data_state = data_state
        self.retrying = False  # a load started from here is running: the tab keeps this panel up meanwhile

        self.title_label = QLabel("Fashion-MNIST is not available")
        title_font = QFont(self.title_label.font())
        title_font.setPointSizeF(title_font.pointSizeF() * 1.3)
        title_font.setBold(True)
        self.title_label.setFont(title_font)
        self.message_bar = MessageBar()  # plain text: paths may hold anything
        self.status_label = QLabel()
        self.status_label.setWordWrap(True)

        self.choose_button = QPushButton("Choose folder…")
        self.choose_button.setToolTip("Pick a folder that holds the four Fashion-MNIST idx files (.gz or plain)")
        self.choose_button.clicked.connect(self.choose_folder)
        self.download_button = QPushButton("Download")
        self.download_button.setToolTip("Let Keras download Fashion-MNIST from the internet (about 30 MB)")
        self.download_button.clicked.connect(self.download)

        buttons = QHBoxLayout()
        buttons.addWidget(self.choose_button)
        buttons.addWidget(self.download_button)
        buttons.addStretch(1)
        column = QVBoxLayout()
        column.addStretch(1)  # a little above the middle
        column.addWidget(self.title_label)
        column.addWidget(self.message_bar)
        column.addLayout(buttons)
        column.addWidget(self.status_label)
        column.addStretch(2)
        container = QWidget()
        container.setLayout(column)
        container.setMaximumWidth(720)
        outer = QHBoxLayout(self)
        outer.addStretch(1)
        outer.addWidget(container, 4)
        outer.addStretch(1)

        data_state.failed.connect(self._on_failed)
        data_state.loaded.connect(self._on_loaded)
        data_state.loadingChanged.connect(self._on_loading_changed)
        if data_state.error:
            self.message_bar.show_message(data_state.error, "critical")
        self._on_loading_changed(data_state.loading)

    @property
    def message(self) -> str:
        return self.message_bar.text()

    @Slot()
    def choose_folder(self) -> None:
        start = Settings().get_dir(keys.DATASET_LAST_FOLDER) or Path.home()
        folder = QFileDialog.getExistingDirectory(self, "Folder with the Fashion-MNIST files", str(start))
        if folder:
            self.load_from_folder(folder)

    @Slot(str)
    def load_from_folder(self, folder: str) -> None:
        """Try the four files in ``folder``; the outcome arrives as data_state.loaded or .failed."""
        if self.data_state.loading:
            return
        Settings().set(keys.DATASET_LAST_FOLDER, str(folder))
        log.info("loading Fashion-MNIST from the chosen folder %s", folder)
        self._start(f"Loading Fashion-MNIST from {folder}…")
        self.data_state.reload(data_dir=str(folder))

    @Slot()
    def download(self) -> None:
        """Look in the usual places again, then let Keras download the files."""
        if self.data_state.loading:
            return
        log.info("downloading Fashion-MNIST on the user's request")
        self._start("Downloading Fashion-MNIST (about 30 MB)…")
        self.data_state.reload(data_dir=None, allow_download=True)

    def _start(self, status: str) -> None:
        self.retrying = True
        self.status_label.setText(status)
        self._set_buttons_enabled(False)

    def _set_buttons_enabled(self, enabled: bool) -> None:
        self.choose_button.setEnabled(enabled)
        self.download_button.setEnabled(enabled)

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self.retrying = False
        self.message_bar.show_message(message, "critical")
        self.status_label.setText("")

    @Slot()
    def _on_loaded(self) -> None:
        self.retrying = False
        self.status_label.setText("")

    @Slot(bool)
    def _on_loading_changed(self, loading: bool) -> None:
        self._set_buttons_enabled(not loading)
