"""The main window: four tabs (Classify, Train, Inspect, Dataset), menus, status bar, settings."""

from __future__ import annotations

import datetime as _dt
import logging
import os
import time
from pathlib import Path

from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import QFileDialog, QLabel, QMainWindow, QMessageBox, QTabWidget, QVBoxLayout, QWidget

from cnn_desktop import __version__, config
from cnn_desktop.gui import settings as keys
from cnn_desktop.gui.export_menu import ExportMenu
from cnn_desktop.gui.settings import open_settings
from cnn_desktop.gui.state.export_state import ExportState
from cnn_desktop.gui.state.data_state import DataState
from cnn_desktop.gui.state.image_state import ImageState
from cnn_desktop.gui.state.model_state import ModelState
from cnn_desktop.gui.state.design_state import DesignState
from cnn_desktop.gui.state.runs_state import RunsState
from cnn_desktop.gui.state.training_controller import TrainingController
from cnn_desktop.gui.widgets.message_bar import MessageBar
from cnn_desktop.gui.widgets.messages import show_info, show_warning

log = logging.getLogger(__name__)

MODEL_FILTER = "Keras models (*.keras)"
USE_STOPPED_MODEL = "Use the stopped model"

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
        self.export_state = ExportState(self.model_state, self.data_state, self)  # File ▸ Export
        self._requested_model_path = Path(model_path) if model_path else None
        self._loading_path: Path | None = None  # the model file asked for last
        self._fallback_reason = ""  # why the model asked for at start was not used (shown once the bundled one is)
        self._close_confirmed = False  # the user answered the close question (or nothing needed asking)
        self._close_after_save = False  # "Save" was the answer: close once the model is saved
        self.close_question: QMessageBox | None = None  # the open close question, if any

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
        self._add_examples_tab()
        self.message_bar = MessageBar(self, dismissable=True, framed=True, accessible_name="Window message")
        central = QWidget(self)
        central_layout = QVBoxLayout(central)
        central_layout.setContentsMargins(0, 0, 0, 0)
        central_layout.setSpacing(0)
        central_layout.addWidget(self.message_bar)
        central_layout.addWidget(self.tabs, 1)
        self.setCentralWidget(central)
        # No fixed minimum size: the layout keeps the window at least as large as its tabs' minimum sizes
        # (the Train form, the Classify canvas), whatever tabs are added (tests/gui/test_lost_work.py checks).

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
        self.export_menu = ExportMenu(self, self.export_state, self.message_bar)
        file_menu.insertMenu(file_menu.actions()[file_menu.actions().index(self.save_model_action) + 1],
                             self.export_menu)

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
            remembered = self.settings.get_str(keys.LAST_MODEL, "")
            path = Path(remembered) if remembered else config.default_model_path()
        self._load_at_start(path)
        self.data_state.load()

    def _load_at_start(self, path: Path) -> None:
        """Load ``path``; should it be unusable (gone, damaged, a FIFO…), the bundled model is used instead."""
        from cnn_desktop.core.model_io import ModelFileError, check_model_file

        try:
            check_model_file(path)  # never blocks: a FIFO or device is refused here, not in the loader
        except ModelFileError as exc:
            if Path(path) != config.default_model_path():
                self._fall_back_to_bundled_model(Path(path), str(exc))
                return
        self.load_model(path)

    def _fall_back_to_bundled_model(self, unusable: Path, reason: str) -> None:
        log.warning("model %s not usable (%s); using the bundled model", unusable, reason)
        self._fallback_reason = reason.rstrip(".")
        if self.settings.get_str(keys.LAST_MODEL, "") == str(unusable):
            self.settings.remove(keys.LAST_MODEL)  # not tried again at the next start
        self.load_model(config.default_model_path())

    def load_model(self, path: Path) -> None:
        """Load a model file in the background; the model in use stays until the new one is ready."""
        self._status_model.setText(f"Loading model {Path(path).name}…")
        self._loading_path = Path(path)
        self.model_state.load(path)

    @Slot(object)
    def _on_model_loaded(self, path: Path) -> None:
        if path != config.default_model_path():
            self.settings.set(keys.LAST_MODEL, str(path))
        if self._fallback_reason:
            self.message_bar.show_message(
                f"The model could not be used: {self._fallback_reason}. Using the bundled model instead.",
                "warning")
            self._fallback_reason = ""
        accuracy = self.model_state.card.get("test_accuracy")
        extra = f", test accuracy {accuracy:.2%}" if isinstance(accuracy, (int, float)) else ""
        self.statusBar().showMessage(
            f"Model {self.model_state.name} ready{extra} ({time.perf_counter() - self._started:.1f} s)", 8000)

    @Slot(str, str)
    def _on_model_failed(self, message: str, details: str) -> None:
        self._update_title()
        bundled = config.default_model_path()
        if not self.model_state.ready and not self._fallback_reason and self._loading_path != bundled \
                and bundled.is_file():
            self._fall_back_to_bundled_model(self._loading_path, message)  # never stay without a model
            return
        self._fallback_reason = ""
        if self.model_state.ready:
            self.statusBar().showMessage(f"Model not loaded; still using {self.model_state.name}", 10000)
            show_warning(self, "Model not loaded", f"{message}\n\nThe model in use stays {self.model_state.name}.",
                         details)
        else:
            self.statusBar().showMessage(f"No model: {message}")
            show_warning(self, "Model not loaded",
                         f"{message}\n\nTrain a model in the Train tab, or load one with File ▸ Load Model.", details)

    def _open_file_dialog(self, title: str, start: Path, file_filter: str, *, save: bool, chosen) -> QFileDialog:
        """A window-modal file dialog opened without a nested event loop; ``chosen(path)`` when accepted."""
        dialog = QFileDialog(self, title, str(start), file_filter)
        dialog.setObjectName("saveModelDialog" if save else "loadModelDialog")
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        if save:
            dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
            dialog.setDefaultSuffix("keras")
            dialog.selectFile(str(start))
        else:
            dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.fileSelected.connect(lambda path: chosen(Path(path)))
        dialog.open()
        return dialog

    @Slot()
    def load_model_dialog(self) -> None:
        if self.training_controller.is_training:
            show_info(self, "Training in progress", "Stop the training before loading another model.")
            return
        last = self.settings.get_file(keys.LAST_MODEL)
        start = last.parent if last else usable_folder(config.user_models_dir())
        self._open_file_dialog("Load Model", start, MODEL_FILTER + ";;All files (*)", save=False,
                               chosen=self._load_chosen_model)

    def _load_chosen_model(self, path: Path) -> None:
        if self.training_controller.is_training:
            show_info(self, "Training in progress", "Stop the training before loading another model.")
            return
        self.load_model(path)

    @Slot()
    def save_model_dialog(self) -> QFileDialog | None:
        """File ▸ Save Model As: ask for a file name, then save the model in use there in the background.

        The dialog opens in the models folder, or, when that cannot be created (read-only data folder), in the
        home or working folder: there is always somewhere to choose."""
        if self.model_state.model is None:
            self._close_after_save = False
            show_info(self, "Save Model", "There is no model to save yet: train one or load one first.")
            return None
        stem = (self.model_state.preset or "model") + _dt.datetime.now().strftime("-%Y%m%d-%H%M")
        current = self.model_state.path if not self.model_state.modified else None
        if current is not None and _writable_folder(current.parent):
            start = current
        else:
            start = usable_folder(config.user_models_dir()) / f"{stem}.keras"
        dialog = self._open_file_dialog("Save Model As", start, MODEL_FILTER, save=True,
                                        chosen=self.save_model_to)
        dialog.rejected.connect(self._save_dialog_cancelled)
        return dialog

    @Slot()
    def _save_dialog_cancelled(self) -> None:
        self._close_after_save = False  # "Save" then Cancel in the dialog: the window stays open

    def save_model_to(self, path: Path) -> None:
        """Check ``path`` at once (folder writable, not a directory…), then save there in the background."""
        from cnn_desktop.core.model_io import ModelFileError, check_save_location

        path = Path(path)
        if path.suffix != ".keras":
            path = path.with_name(path.name + ".keras")
        try:
            check_save_location(path)
        except ModelFileError as exc:
            self._on_save_failed(str(exc), "")
            return
        self._status_model.setText(f"Saving model to {path.name}…")
        self.model_state.save(path)

    @Slot(object)
    def _on_model_saved(self, path: Path) -> None:
        self._update_title()
        self.statusBar().showMessage(f"Saved the model to {path}", 8000)
        if self.message_bar.kind == "critical":
            self.message_bar.clear()  # the save failure it showed is settled
        if self._close_after_save:
            self._close_after_save = False
            self._close_confirmed = True
            self.close()

    @Slot(str, str)
    def _on_save_failed(self, message: str, details: str) -> None:
        """Every save failure is shown in the window with the way out; the model stays in use, unsaved."""
        self._close_after_save = False
        self._update_title()
        log.warning("model not saved: %s%s", message, f"\n{details}" if details else "")
        self.statusBar().showMessage("Model not saved", 8000)
        self.message_bar.show_message(
            f"The model was not saved: {message}. It is still in use, unsaved.", "critical",
            action=("Choose another folder…", self.save_model_dialog))

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
        if self.model_state.model is not None:
            name = self.model_state.name
        else:
            name = "loading…" if self.model_state.loading else "no model"
        self.setWindowTitle(f"{name} — cnn-desktop")
        self.setWindowModified(False)
        if self.model_state.model is not None:
            self._status_model.setText(f"Model: {self.model_state.name}")
        elif not self.model_state.loading:
            self._status_model.setText("No model")  # never "Loading model …" once nothing is loading

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
        from cnn_desktop.gui.launch import log_file_problem, log_file_path

        problem = log_file_problem()
        if problem:
            show_info(self, "Log file", f"The log file {log_file_path()} cannot be written ({problem}).\n\n"
                                        "cnn-desktop logs to the terminal (stderr) only, warnings and errors.")
        else:
            show_info(self, "Log file", f"cnn-desktop writes its log to\n{log_file_path()}")

    def _restore_settings(self) -> None:
        geometry = self.settings.get_bytes(keys.WINDOW_GEOMETRY)
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(1200, 800)
        state = self.settings.get_bytes(keys.WINDOW_STATE)
        if state is not None:
            self.restoreState(state)
        self.tabs.setCurrentIndex(self.settings.get_int(keys.WINDOW_TAB, 0, 0, self.tabs.count() - 1))

    # ------------------------------------------------------------------ closing
    def close_without_asking(self) -> bool:
        """Close whatever is running or unsaved (Ctrl+C in the terminal, the self-test)."""
        self._close_confirmed = True
        return self.close()

    def _close_needs_asking(self) -> bool:
        controller = self.training_controller
        return controller.is_training or controller.has_unsaved_model or controller.pending_result is not None

    def _ask_before_closing(self) -> None:
        """The close question: window-modal, opened without a nested event loop; Cancel keeps the window."""
        if self.close_question is not None:
            self.close_question.raise_()
            return
        box = QMessageBox(QMessageBox.Icon.Question, "Quit cnn-desktop", "", QMessageBox.StandardButton.NoButton,
                          self)
        box.setObjectName("closeQuestion")
        stop_button = use_button = None  # the question's own buttons, besides the standard ones
        if self.training_controller.is_training:
            box.setText("A training is running.")
            box.setInformativeText("Stop it and close? The model it is training will be lost.")
            stop_button = box.addButton("Stop and close", QMessageBox.ButtonRole.DestructiveRole)
            box.addButton(QMessageBox.StandardButton.Cancel)
            box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        elif self.training_controller.pending_result is not None and not self.training_controller.has_unsaved_model:
            # A stopped run's model, neither used nor dropped yet: closing would throw it away unasked.
            result = self.training_controller.pending_result
            box.setText(f"The stopped training's model ({result.epochs_completed} epoch"
                        f"{'s' if result.epochs_completed != 1 else ''}) is neither used nor saved.")
            box.setInformativeText("Use it (then save it with File ▸ Save Model As…), or close without it?")
            use_button = box.addButton(USE_STOPPED_MODEL, QMessageBox.ButtonRole.AcceptRole)
            box.addButton(QMessageBox.StandardButton.Discard)
            box.addButton(QMessageBox.StandardButton.Cancel)
            box.setDefaultButton(use_button)
        else:
            box.setText(f"The model “{self.model_state.name}” was trained here and is not saved.")
            box.setInformativeText("Save it before closing?")
            box.setStandardButtons(QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
                                   | QMessageBox.StandardButton.Cancel)
            box.setDefaultButton(QMessageBox.StandardButton.Save)
        box.setEscapeButton(QMessageBox.StandardButton.Cancel)
        box.setWindowModality(Qt.WindowModality.WindowModal)
        box.finished.connect(lambda _result: self._on_close_answered(box, stop_button, use_button))
        self.close_question = box
        box.open()

    def _on_close_answered(self, box: QMessageBox, stop_button, use_button) -> None:
        self.close_question = None
        clicked = box.clickedButton()
        role = box.standardButton(clicked) if clicked is not None else QMessageBox.StandardButton.Cancel
        box.deleteLater()
        if clicked is not None and clicked is use_button:
            log.info("not closing: the stopped training's model is put to use")
            self.training_controller.adopt_result()
            return  # the window stays: the model is now in use and unsaved
        if clicked is not None and clicked is stop_button:
            log.info("closing: the training in progress is stopped and dropped")
            self._close_confirmed = True
        elif role == QMessageBox.StandardButton.Discard:
            log.info("closing: the unsaved trained model (or a stopped run's) is discarded")
            self._close_confirmed = True
        elif role == QMessageBox.StandardButton.Save:
            self._close_after_save = True
            self.save_model_dialog()  # closes once saved; a failure or Cancel keeps the window open
            return
        else:
            return  # Cancel (or Escape): keep the window open
        self.close()

    def _add_examples_tab(self) -> None:
        """My examples (issue 17), and the Classify tab's “Wrong? It is a …” that fills it."""
        from cnn_desktop.gui.state.examples_state import ExamplesState
        from cnn_desktop.gui.tabs.examples_tab import ExamplesTab

        self.examples_state = ExamplesState(self.training_controller, self.model_state, self.data_state, parent=self)
        self.examples_tab = ExamplesTab(self.examples_state, self.training_controller, self)
        self.tabs.insertTab(self.tabs.indexOf(self.runs_tab) + 1, self.examples_tab, "&My examples")
        self.tabs.setTabToolTip(self.tabs.indexOf(self.examples_tab),
                                "Your own examples: keep corrected answers, import pictures, teach the network")
        correction = self.classify_tab.correction_button
        correction.labelChosen.connect(self._keep_as_example)
        self.image_state.imageChanged.connect(lambda: correction.setEnabled(self.image_state.image is not None))
        correction.setEnabled(self.image_state.image is not None)

    def _keep_as_example(self, label: int) -> None:
        """“Wrong? It is a …” in Classify: the current input kept with its class; said where the user looks."""
        self.message_bar.show_message(*self.examples_state.add_current(self.image_state, label))

    def closeEvent(self, event: QCloseEvent) -> None:
        """Ask when a training or an unsaved trained model would be lost; then stop training and background
        work, wait for their threads and save the window settings."""
        if not self._close_confirmed and self._close_needs_asking():
            event.ignore()
            self._ask_before_closing()
            return
        self.training_controller.stop_and_wait()
        for tab in (self.train_tab, self.classify_tab, self.inspect_tab, self.dataset_tab, self.design_tab,
                    self.runs_tab):
            tab.stop_and_wait()
        self.runs_state.close()
        self.export_state.stop_and_wait()
        self.examples_state.stop_and_wait()
        self.model_state.stop_and_wait()
        self.data_state.stop_and_wait()
        self.settings.set(keys.WINDOW_GEOMETRY, self.saveGeometry())
        self.settings.set(keys.WINDOW_STATE, self.saveState())
        self.settings.set(keys.WINDOW_TAB, self.tabs.currentIndex())
        self.settings.sync()
        event.accept()


def _writable_folder(folder: Path) -> bool:
    return folder.is_dir() and os.access(folder, os.W_OK | os.X_OK)


def usable_folder(preferred: Path) -> Path:
    """``preferred`` (created when missing) if it can be written; else the home folder, else the working folder."""
    try:
        preferred.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        log.info("cannot create %s (%s); offering another folder", preferred, exc)
    for folder in (preferred, Path.home(), Path.cwd()):
        if _writable_folder(folder):
            return folder
    return Path.cwd()
