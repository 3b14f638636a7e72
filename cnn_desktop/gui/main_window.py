"""The main window: four tabs (Classify, Train, Inspect, Dataset), menus, status bar, settings."""

from __future__ import annotations

import datetime as _dt
import logging
import time
from pathlib import Path

from PySide6.QtCore import Slot
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import QFileDialog, QLabel, QMainWindow, QMessageBox, QTabWidget

from cnn_desktop import __version__, config
from cnn_desktop.gui import settings as keys
from cnn_desktop.gui.settings import open_settings
from cnn_desktop.gui.state.data_state import DataState
from cnn_desktop.gui.state.image_state import ImageState
from cnn_desktop.gui.state.model_state import ModelState
from cnn_desktop.gui.state.design_state import DesignState
from cnn_desktop.gui.state.runs_state import RunsState
from cnn_desktop.gui.state.training_controller import TrainingController
from cnn_desktop.gui.widgets.messages import show_info, show_warning

log = logging.getLogger(__name__)

class MainWindow(QMainWindow):
    def __init__(self, model_path: Path | str | None = None, data_dir=None, parent=None):
        super().__init__(parent)
        self._started = time.perf_counter()
        self.settings = open_settings()
        self.model_state = ModelState(self)
        self.image_state = ImageState(self)
        self.data_state = DataState(data_dir, self)
        self.training_controller = TrainingController(self.model_state, self.data_state, self)
        self.runs_state = RunsState(parent=self)  # the run history (default folder; CNN_DESKTOP_DATA_HOME moves it)
        self.runs_state.connect_controller(self.training_controller)
        self.design_state = DesignState(self.runs_state, self)
        self._requested_model_path = Path(model_path) if model_path else None

        from cnn_desktop.gui.tabs.classify_tab import ClassifyTab
        from cnn_desktop.gui.tabs.dataset_tab import DatasetTab
        from cnn_desktop.gui.tabs.inspect_tab import InspectTab
        from cnn_desktop.gui.tabs.design_tab import DesignTab
        from cnn_desktop.gui.tabs.runs_tab import RunsTab
        from cnn_desktop.gui.tabs.train_tab import TrainTab

        self.tabs = QTabWidget(self)
        self.tabs.setDocumentMode(True)
        self.classify_tab = ClassifyTab(self.model_state, self.image_state, self.data_state, self)
        self.train_tab = TrainTab(self.training_controller, self.model_state, self.image_state, self.data_state,
                                  self)
        self.inspect_tab = InspectTab(self.model_state, self.image_state, self.data_state, self)
        self.dataset_tab = DatasetTab(self.model_state, self.image_state, self.data_state, self)
        self.tabs.addTab(self.classify_tab, "&Classify")
        self.tabs.addTab(self.train_tab, "&Train")
        self.tabs.addTab(self.inspect_tab, "&Inspect")
        self.tabs.addTab(self.dataset_tab, "&Dataset")
        self.tabs.setTabToolTip(0, "Draw or open an image and see what the network thinks it is")
        self.tabs.setTabToolTip(1, "Train the network on Fashion-MNIST and see how it learns")
        self.tabs.setTabToolTip(2, "See the feature maps and filters of every layer for the current image")
        self.tabs.setTabToolTip(3, "Browse the Fashion-MNIST images by class")
        self.design_tab = DesignTab(self.design_state, self.training_controller, self.data_state, self)
        self.runs_tab = RunsTab(self.runs_state, self.model_state, self.training_controller, self)
        self.tabs.insertTab(self.tabs.indexOf(self.train_tab) + 1, self.design_tab, "D&esign")
        self.tabs.insertTab(self.tabs.indexOf(self.design_tab) + 1, self.runs_tab, "&Runs")
        self.tabs.setTabToolTip(self.tabs.indexOf(self.design_tab),
                                "Design your own network layer by layer and train it")
        self.tabs.setTabToolTip(self.tabs.indexOf(self.runs_tab),
                                "Every training recorded: compare runs, reuse their models")
        self.design_tab.trainRequested.connect(self._train_design)
        self.runs_state.refresh()
        self.setCentralWidget(self.tabs)

        self._status_model = QLabel("Loading TensorFlow and the model…")
        self.statusBar().addPermanentWidget(self._status_model)
        self._build_menus()

        for changed in (self.model_state.modelChanged, self.model_state.weightsChanged, self.model_state.cardChanged):
            changed.connect(self._update_title)
        self.model_state.loaded.connect(self._on_model_loaded)
        self.model_state.loadFailed.connect(self._on_model_failed)
        self.model_state.saved.connect(self._on_model_saved)
        self.model_state.saveFailed.connect(self._on_save_failed)
        self.train_tab.loadRequested.connect(self.load_model_dialog)
        self.train_tab.saveRequested.connect(self.save_model_dialog)
        for tab in (self.classify_tab, self.train_tab, self.dataset_tab):
            tab.showTabRequested.connect(self.show_tab)
        self._update_title()
        self._restore_settings()

    # ------------------------------------------------------------------ menus
    def _action(self, text, slot, shortcut=None, tip=None) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(shortcut)
        if tip:
            action.setStatusTip(tip)
            action.setToolTip(tip)
        action.triggered.connect(slot)
        return action

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self.open_action = self._action("&Open Image…", self.classify_tab.open_image_dialog, QKeySequence.StandardKey.Open,
                                        "Open a picture to classify")
        self.paste_action = self._action("&Paste Image", self.classify_tab.paste_image, QKeySequence.StandardKey.Paste,
                                         "Classify the picture on the clipboard")
        self.load_model_action = self._action("&Load Model…", self.load_model_dialog, "Ctrl+L",
                                              "Use a .keras model file")
        self.save_model_action = self._action("&Save Model As…", self.save_model_dialog, QKeySequence.StandardKey.Save,
                                              "Save the model in use to a .keras file with its model card")
        self.quit_action = self._action("&Quit", self.close, QKeySequence.StandardKey.Quit, "Quit cnn-desktop")
        self.quit_action.setShortcut(QKeySequence("Ctrl+Q"))
        for action in (self.open_action, self.paste_action, None, self.load_model_action, self.save_model_action,
                       None, self.quit_action):
            file_menu.addSeparator() if action is None else file_menu.addAction(action)

        edit_menu = self.menuBar().addMenu("&Edit")
        self.undo_action = self._action("&Undo", self.classify_tab.undo, QKeySequence.StandardKey.Undo,
                                        "Undo the last stroke on the canvas")
        self.redo_action = self._action("&Redo", self.classify_tab.redo, QKeySequence("Ctrl+Shift+Z"),
                                        "Redo the stroke undone last")
        self.clear_action = self._action("&Clear Canvas", self.classify_tab.clear_canvas, "Ctrl+Backspace",
                                         "Wipe the drawing canvas")
        for action in (self.undo_action, self.redo_action, self.clear_action):
            edit_menu.addAction(action)

        view_menu = self.menuBar().addMenu("&View")
        for index in range(self.tabs.count()):
            action = self._action(self.tabs.tabText(index).replace("&", ""),
                                  lambda checked=False, i=index: self.tabs.setCurrentIndex(i), f"Ctrl+{index + 1}")
            view_menu.addAction(action)

        help_menu = self.menuBar().addMenu("&Help")
        help_menu.addAction(self._action("&About cnn-desktop", self.show_about))
        help_menu.addAction(self._action("Where is the &log file?", self.show_log_location))

    # ------------------------------------------------------------------ model loading
    def start_loading(self) -> None:
        """Start the background work the window needs; the window is already visible."""
        path = self._requested_model_path
        if path is None:
            path = self.settings.get_file(keys.LAST_MODEL) or config.default_model_path()
        self.load_model(path)
        self.data_state.load()

    def load_model(self, path: Path) -> None:
        """Load a model file in the background; the model in use stays until the new one is ready."""
        self._status_model.setText(f"Loading model {Path(path).name}…")
        self.model_state.load(path)

    @Slot(object)
    def _on_model_loaded(self, path: Path) -> None:
        if path != config.default_model_path():
            self.settings.set(keys.LAST_MODEL, str(path))
        accuracy = self.model_state.card.get("test_accuracy")
        extra = f", test accuracy {accuracy:.2%}" if isinstance(accuracy, (int, float)) else ""
        self.statusBar().showMessage(
            f"Model {self.model_state.name} ready{extra} ({time.perf_counter() - self._started:.1f} s)", 8000)

    @Slot(str, str)
    def _on_model_failed(self, message: str, details: str) -> None:
        self._update_title()
        if self.model_state.ready:
            self.statusBar().showMessage(f"Model not loaded; still using {self.model_state.name}", 10000)
            show_warning(self, "Model not loaded", f"{message}\n\nThe model in use stays {self.model_state.name}.",
                         details)
        else:
            self.statusBar().showMessage(f"No model: {message}")
            show_warning(self, "Model not loaded",
                         f"{message}\n\nTrain a model in the Train tab, or load one with File ▸ Load Model.", details)

    @Slot()
    def load_model_dialog(self) -> None:
        start = self.settings.get_file(keys.LAST_MODEL) or config.user_models_dir()
        path, _ = QFileDialog.getOpenFileName(self, "Load Model", str(start), "Keras models (*.keras);;All files (*)")
        if path:
            if self.training_controller.is_training:
                show_info(self, "Training in progress", "Stop the training before loading another model.")
                return
            self.load_model(Path(path))

    @Slot()
    def save_model_dialog(self) -> None:
        """File ▸ Save Model As: ask for a file name, then save the model in use there in the background."""
        if self.model_state.model is None:
            show_info(self, "Save Model", "There is no model to save yet: train one or load one first.")
            return
        stem = (self.model_state.preset or "model") + _dt.datetime.now().strftime("-%Y%m%d-%H%M")
        start = self.model_state.path if self.model_state.path and not self.model_state.modified else None
        start = start or config.user_models_dir() / f"{stem}.keras"
        Path(start).parent.mkdir(parents=True, exist_ok=True)
        path, _ = QFileDialog.getSaveFileName(self, "Save Model As", str(start), "Keras models (*.keras)")
        if not path:
            return
        path = Path(path)
        if path.suffix != ".keras":
            path = path.with_name(path.name + ".keras")
        self._status_model.setText(f"Saving model to {path.name}…")
        self.model_state.save(path)

    @Slot(object)
    def _on_model_saved(self, path: Path) -> None:
        self._update_title()
        self.statusBar().showMessage(f"Saved the model to {path}", 8000)

    @Slot(str, str)
    def _on_save_failed(self, message: str, details: str) -> None:
        self._update_title()
        show_warning(self, "Model not saved", f"Could not save the model:\n{message}", details)

    # ------------------------------------------------------------------ misc
    @Slot(str)
    def show_tab(self, name: str) -> None:
        tab = {"classify": self.classify_tab, "train": self.train_tab, "inspect": self.inspect_tab,
               "dataset": self.dataset_tab, "design": self.design_tab, "runs": self.runs_tab}.get(name)
        if tab is not None:
            self.tabs.setCurrentWidget(tab)

    @Slot(object)
    def _train_design(self, design) -> None:
        """The Design tab's "Train this design": the Train tab trains it with its recipe, and is shown."""
        if self.train_tab.train_design(design):
            self.show_tab("train")

    @Slot()
    def _update_title(self) -> None:
        name = self.model_state.name if self.model_state.model is not None else "loading…"
        self.setWindowTitle(f"{name} — cnn-desktop")
        self.setWindowModified(False)
        if self.model_state.model is not None:
            self._status_model.setText(f"Model: {self.model_state.name}")

    @Slot()
    def show_about(self) -> None:
        QMessageBox.about(
            self, "About cnn-desktop",
            f"<h3>cnn-desktop {__version__}</h3>"
            "<p>Draw a clothing item or open a photo and see what a convolutional network makes of it; "
            "train the network yourself and look inside it, layer by layer.</p>"
            "<p>Data: Fashion-MNIST (Zalando Research), 70,000 28×28 images in 10 classes.<br>"
            "Built with TensorFlow/Keras, Qt for Python (PySide6) and pyqtgraph.</p>",
        )

    @Slot()
    def show_log_location(self) -> None:
        from cnn_desktop.gui.launch import log_file_path

        show_info(self, "Log file", f"cnn-desktop writes its log to\n{log_file_path()}")

    def _restore_settings(self) -> None:
        geometry = self.settings.get_bytes(keys.WINDOW_GEOMETRY)
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(1200, 800)
        state = self.settings.get_bytes(keys.WINDOW_STATE)
        if state is not None:
            self.restoreState(state)
        self.tabs.setCurrentIndex(self.settings.get_int(keys.WINDOW_TAB, 0, 0, self.tabs.count() - 1))

    def closeEvent(self, event: QCloseEvent) -> None:
        """Stop training and background work, wait for their threads, then save the window settings."""
        self.training_controller.stop_and_wait()
        for tab in (self.train_tab, self.classify_tab, self.inspect_tab, self.dataset_tab, self.design_tab,
                    self.runs_tab):
            tab.stop_and_wait()
        self.runs_state.close()
        self.model_state.stop_and_wait()
        self.data_state.stop_and_wait()
        self.settings.set(keys.WINDOW_GEOMETRY, self.saveGeometry())
        self.settings.set(keys.WINDOW_STATE, self.saveState())
        self.settings.set(keys.WINDOW_TAB, self.tabs.currentIndex())
        self.settings.sync()
        event.accept()
