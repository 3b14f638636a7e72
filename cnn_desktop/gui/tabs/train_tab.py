"""The Train tab: train the network on Fashion-MNIST and see how it learns, then what it gets wrong.

The form on the left makes a core ``TrainingConfig``; a ``TrainingRun`` fits the
model in a worker thread and reports progress as signals. At every epoch end
the app's model (what Classify and Inspect use) becomes an inference copy with
that epoch's weights, so the other tabs follow the training without ever
touching the model being fitted. When the run ends, its model is evaluated on
the official test set in another worker: test accuracy and loss, the confusion
matrix (click a cell to see its images) and the hardest test examples.
"""

from __future__ import annotations

import datetime as _dt
import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QSettings, Qt, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QSplitter,
    QStyle,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from cnn_desktop import config
from cnn_desktop.core.model import PRESET_NAMES, PRESETS
from cnn_desktop.core.training import TrainingConfig, TrainingConfigError
from cnn_desktop.gui.widgets.confusion_matrix import ConfusionMatrix
from cnn_desktop.gui.widgets.example_gallery import ExampleGallery
from cnn_desktop.gui.state.image_state import ImageSource
from cnn_desktop.gui.widgets.messages import show_error, show_info, show_warning
from cnn_desktop.gui.widgets.training_charts import TrainingCharts
from cnn_desktop.gui.concurrency.training_run import TrainingRun
from cnn_desktop.gui.concurrency.task_runner import TaskRunner

log = logging.getLogger(__name__)

SETTINGS_GROUP = "train"
HARDEST_COUNT = 60
VALIDATION_LABELS = {"test": "Official test set (10,000 images)", "split": "10% of the training images"}
LOG_LINES = 300
# The form's first preset: trains to ~92% in minutes on a CPU (the bundled model's "improved" takes an hour).
FORM_DEFAULT_PRESET = "fast"
DEFAULT_PATIENCE = 3
MESSAGE_ICONS = {"information": QStyle.StandardPixmap.SP_MessageBoxInformation,
                 "warning": QStyle.StandardPixmap.SP_MessageBoxWarning,
                 "critical": QStyle.StandardPixmap.SP_MessageBoxCritical}


def format_duration(seconds: float) -> str:
    """2:31, or 1:02:03 past an hour; an ellipsis while unknown."""
    if not math.isfinite(seconds) or seconds < 0:
        return "…"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def progress_text(epoch: int, epochs: int, step: int, steps: int, images_per_second: float, eta_seconds: float) -> str:
    return (f"Epoch {epoch}/{epochs} · step {step:,}/{steps:,} · {images_per_second:,.0f} img/s · "
            f"ETA {format_duration(eta_seconds)}")


def inference_copy(model, weights=None):
    """A separate model object with the same architecture and ``weights`` (default: ``model``'s).

    The app classifies and inspects with such a copy, so no Keras model is ever used by two threads.
    """
    import keras

    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights() if weights is None else weights)
    return copy


@dataclass
class _ModelInUse:
    """What ModelState held before a training, to give it back if the training diverges."""

    model: object
    card: dict
    path: Path | None
    modified: bool
    classifier: object
    feature_extractor: object

    @classmethod
    def of(cls, model_state) -> "_ModelInUse":
        return cls(model_state.model, dict(model_state.card), model_state.path, model_state.modified,
                   model_state.classifier, model_state.feature_extractor)

    def restore(self, model_state) -> None:
        model_state.set_model(self.model, self.card, self.path, modified=self.modified, classifier=self.classifier,
                              feature_extractor=self.feature_extractor)


class TrainTab(QWidget):
    trainingStarted = Signal()
    trainingFinished = Signal(object)  # TrainingResult
    trainingFailed = Signal(str)
    evaluationFinished = Signal(object)  # core.evaluation.Evaluation of the trained model on the test set

    def __init__(self, model_state, image_state, data_state, parent=None):
        super().__init__(parent)
        self.model_state, self.image_state, self.data_state = model_state, image_state, data_state
        self.training_run: TrainingRun | None = None  # the run in progress
        self.evaluation = None  # the latest test-set evaluation shown
        self._test_data = None  # the dataset whose test images that evaluation is about
        self._evaluated_data = None  # the dataset the evaluation in progress uses
        # Runs that have reported their result and evaluations in progress: their threads are
        # waited for on closing, and they are deleted when their threads have ended.
        self._background: set[QObject] = set()
        self._closing = False
        self._form_valid = False
        self._run_config: TrainingConfig | None = None
        self._outcome = ""  # what the last training came to, for the message line
        self._message_icons: dict[QLabel, QLabel] = {}
        self._generation = 0  # which training the results on screen belong to
        self._before: _ModelInUse | None = None
        self._continue_source = None  # the model a "continue" run started from
        self._snapshot_model = None  # the inference copy the app uses while this run trains
        self._trained_model = None  # the inference copy handed to the app at the end of the run
        self._batches_seen = 0
        self._steps_per_epoch = 1

        self._build_form()
        self._build_results()
        left = QWidget(self)
        left_layout = QVBoxLayout(left)
        left_layout.addWidget(self._settings_box)
        left_layout.addLayout(self._buttons)
        for label in (self.form_error, self.message, self.data_message):
            left_layout.addWidget(label.parentWidget())
        left_layout.addWidget(QLabel("Log", left))
        left_layout.addWidget(self.log_view, 1)
        scroll = QScrollArea(self)
        scroll.setWidget(left)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(left.sizeHint().width() + scroll.verticalScrollBar().sizeHint().width())

        right = QSplitter(Qt.Orientation.Vertical, self)
        top = QWidget(right)
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(self.progress)
        top_layout.addWidget(self.charts, 1)
        right.addWidget(top)
        right.addWidget(self._results)
        right.setStretchFactor(0, 1)
        right.setStretchFactor(1, 1)

        layout = QHBoxLayout(self)
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(scroll)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 1)
        splitter.setCollapsible(0, False)
        layout.addWidget(splitter)

        self.data_state.loaded.connect(self._update_controls)
        self.data_state.failed.connect(self._update_controls)
        self.data_state.loadingChanged.connect(self._update_controls)
        self.model_state.modelChanged.connect(self._update_controls)
        self._restore_settings()
        self._validate_form()
        self._update_controls()

    # ------------------------------------------------------------------ building
    def _build_form(self) -> None:
        self.preset_combo = QComboBox(self)
        for name in PRESET_NAMES:
            self.preset_combo.addItem(name, name)
            self.preset_combo.setItemData(self.preset_combo.count() - 1, PRESETS[name].description,
                                          Qt.ItemDataRole.ToolTipRole)
        self.preset_combo.currentIndexChanged.connect(self._on_preset_changed)

        self.epochs_spin = QSpinBox(self)
        self.epochs_spin.setRange(1, 1000)
        self.epochs_spin.setToolTip("How many times the training goes through all its images")
        self.batch_spin = QSpinBox(self)
        self.batch_spin.setRange(1, 8192)
        self.batch_spin.setToolTip("Images per optimiser step")
        self.learning_rate_edit = QLineEdit(self)
        self.learning_rate_edit.setToolTip("Adam's step size (the peak of the schedule for the fast and "
                                           "improved presets): above 0, at most 10")
        self.limit_spin = QSpinBox(self)
        self.limit_spin.setRange(0, config.TRAIN_SIZE)
        self.limit_spin.setSingleStep(1000)
        self.limit_spin.setGroupSeparatorShown(True)
        self.limit_spin.setSpecialValueText(f"all {config.TRAIN_SIZE:,}")
        self.limit_spin.setToolTip("Train on only the first N training images (quicker runs)")
        self.validation_combo = QComboBox(self)
        for key, label in VALIDATION_LABELS.items():
            self.validation_combo.addItem(label, key)
        self.validation_combo.setToolTip("The images the validation loss and accuracy are measured on after "
                                         "every epoch")
        self.early_stopping_check = QCheckBox("Early stopping", self)
        self.early_stopping_check.setToolTip("Stop when the validation loss has not improved for a number of "
                                             "epochs, and keep the best epoch's weights")
        self.patience_spin = QSpinBox(self)
        self.patience_spin.setRange(1, 100)
        self.patience_spin.setSuffix(" epochs")
        self.patience_spin.setToolTip("Epochs without improvement before stopping")
        self.continue_check = QCheckBox("Continue from current weights", self)
        self.continue_check.setToolTip("Keep training the model in use (its architecture and weights) with this "
                                       "preset's recipe, instead of starting from a fresh network")
        for signal in (self.preset_combo.currentIndexChanged, self.epochs_spin.valueChanged,
                       self.batch_spin.valueChanged, self.learning_rate_edit.textChanged,
                       self.limit_spin.valueChanged, self.validation_combo.currentIndexChanged,
                       self.early_stopping_check.toggled, self.patience_spin.valueChanged,
                       self.continue_check.toggled):
            signal.connect(self._validate_form)

        form = QFormLayout()
        form.addRow("&Preset:", self.preset_combo)
        form.addRow("&Epochs:", self.epochs_spin)
        form.addRow("&Batch size:", self.batch_spin)
        form.addRow("&Learning rate:", self.learning_rate_edit)
        form.addRow("Training &images:", self.limit_spin)
        form.addRow("&Validation:", self.validation_combo)
        stopping = QHBoxLayout()
        stopping.addWidget(self.early_stopping_check)
        stopping.addWidget(self.patience_spin)
        form.addRow(stopping)
        form.addRow(self.continue_check)
        self._settings_box = QGroupBox("Training settings", self)
        self._settings_box.setLayout(form)

        self.start_button = QPushButton("&Start training", self)
        self.start_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_MediaPlay))
        self.start_button.clicked.connect(self._on_start_clicked)
        self.stop_button = QPushButton("S&top", self)
        self.stop_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_MediaStop))
        self.stop_button.setToolTip("Stop after the batch in progress and keep the weights learned so far")
        self.stop_button.clicked.connect(self.stop_training)
        self.save_button = QPushButton("Save model &as…", self)
        self.save_button.setToolTip("Save the model in use to a .keras file with its model card")
        self.save_button.clicked.connect(self.save_model_as)
        self.load_button = QPushButton("&Load model…", self)
        self.load_button.setToolTip("Use a .keras model file")
        self.load_button.clicked.connect(self._load_model)
        self._buttons = QVBoxLayout()
        for pair in ((self.start_button, self.stop_button), (self.save_button, self.load_button)):
            row = QHBoxLayout()
            for button in pair:
                row.addWidget(button)
            self._buttons.addLayout(row)

        self.form_error = self._message_label()
        self.message = self._message_label()
        self.data_message = self._message_label()
        self.log_view = QPlainTextEdit(self)
        self.log_view.setReadOnly(True)
        self.log_view.setMaximumBlockCount(LOG_LINES)
        self.log_view.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.log_view.setMinimumHeight(80)

    def _message_label(self) -> QLabel:
        """An inline message line: the platform's icon for its kind, then wrapped text. Returns the text label."""
        row = QWidget(self)
        icon = QLabel(row)
        icon.setAlignment(Qt.AlignmentFlag.AlignTop)
        label = QLabel(row)
        label.setWordWrap(True)
        label.setTextFormat(Qt.TextFormat.PlainText)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Minimum)
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(icon)
        layout.addWidget(label, 1)
        row.hide()
        self._message_icons[label] = icon
        return label

    def _build_results(self) -> None:
        self.progress = QProgressBar(self)
        self.progress.setTextVisible(True)
        self.progress.setFormat("Not training")
        self.progress.setValue(0)
        self.charts = TrainingCharts(self)

        self._results = QWidget(self)
        self.test_summary = QLabel("Test-set results appear here after a training.", self._results)
        self.test_summary.setWordWrap(True)
        self.confusion_matrix = ConfusionMatrix(self._results)
        self.confusion_matrix.setToolTip("Rows: the true class; columns: what the model said")
        self.confusion_matrix.cellClicked.connect(self._show_cell)
        self.cell_gallery = ExampleGallery("Click a cell of the confusion matrix to see its test images.",
                                           self._results)
        self.hardest_gallery = ExampleGallery("The test images the model got wrong most confidently.", self._results)
        for gallery in (self.cell_gallery, self.hardest_gallery):
            gallery.exampleClicked.connect(self._send_to_classify)
        self.galleries = QTabWidget(self._results)
        self.galleries.setDocumentMode(True)
        self.galleries.addTab(self.cell_gallery, "Selected cell")
        self.galleries.addTab(self.hardest_gallery, "Hardest examples")
        lower = QSplitter(Qt.Orientation.Horizontal, self._results)
        lower.addWidget(self.confusion_matrix)
        lower.addWidget(self.galleries)
        lower.setStretchFactor(0, 0)  # the matrix at its size hint; the images get the rest
        lower.setStretchFactor(1, 1)
        layout = QVBoxLayout(self._results)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.test_summary)
        layout.addWidget(lower, 1)

    # ------------------------------------------------------------------ the form
    @Slot(int)
    def _on_preset_changed(self, index: int) -> None:
        """A preset brings its own recipe: fill in its epochs, batch size and learning rate."""
        name = self.preset_combo.itemData(index)
        if name not in PRESETS:
            return
        preset = PRESETS[name]
        self.preset_combo.setToolTip(preset.description)
        self.epochs_spin.setValue(preset.epochs)
        self.batch_spin.setValue(preset.batch_size)
        self.learning_rate_edit.setText(f"{preset.learning_rate:g}")

    def form_config(self) -> TrainingConfig:
        """The config the form describes, resolved and validated; raises TrainingConfigError."""
        text = self.learning_rate_edit.text().strip().replace(",", ".")
        try:
            learning_rate = float(text)
        except ValueError:
            raise TrainingConfigError(f"learning rate must be a number above 0 and at most 10, not {text!r}") from None
        limit = self.limit_spin.value()
        return TrainingConfig(
            preset=self.preset_combo.currentData(),
            epochs=self.epochs_spin.value(),
            batch_size=self.batch_spin.value(),
            learning_rate=learning_rate,
            validation=self.validation_combo.currentData(),
            limit=limit if limit > 0 else None,
            early_stopping_patience=self.patience_spin.value() if self.early_stopping_check.isChecked() else None,
            continue_training=self.continue_check.isChecked(),
        ).resolved()

    @Slot()
    def _validate_form(self) -> bool:
        """Check the form as it is edited; a refusal is shown under the buttons and Start is disabled."""
        try:
            self.form_config()
        except TrainingConfigError as exc:
            self._show(self.form_error, _capitalise(str(exc)) + ".", "warning")
            valid = False
        else:
            self._hide(self.form_error)
            valid = True
        self._form_valid = valid
        self.patience_spin.setEnabled(self.early_stopping_check.isChecked() and not self.is_training())
        self._update_controls()
        return valid

    @Slot()
    def _update_controls(self) -> None:
        training = self.is_training()
        data_ready = self.data_state.dataset is not None
        if data_ready:
            self._hide(self.data_message)
        elif self.data_state.error:
            self._show(self.data_message, f"Training needs the Fashion-MNIST dataset: {self.data_state.error}",
                       "critical")
        else:
            self._show(self.data_message, "Loading the Fashion-MNIST dataset…", "information")
        self._settings_box.setEnabled(not training)
        self.continue_check.setEnabled(not training and self.model_state.model is not None)
        if self.model_state.model is None and self.continue_check.isChecked():
            self.continue_check.setChecked(False)
        self.patience_spin.setEnabled(self.early_stopping_check.isChecked() and not training)
        self.start_button.setEnabled(not training and data_ready and self._form_valid)
        self.stop_button.setEnabled(training and not self.training_run.session.cancelled)
        self.load_button.setEnabled(not training)
        self.save_button.setEnabled(self.model_state.model is not None)

    def _show(self, label: QLabel, text: str, kind: str = "information") -> None:
        """Show an inline message of a kind (information, warning, critical) with the platform's icon for it."""
        size = self.style().pixelMetric(QStyle.PixelMetric.PM_SmallIconSize)
        self._message_icons[label].setPixmap(self.style().standardIcon(MESSAGE_ICONS[kind]).pixmap(size, size))
        label.setText(text)
        label.setAccessibleDescription(kind)
        label.parentWidget().show()

    @staticmethod
    def _hide(label: QLabel) -> None:
        label.parentWidget().hide()

    # ------------------------------------------------------------------ settings
    def _settings(self) -> QSettings:
        store = QSettings()
        store.beginGroup(SETTINGS_GROUP)
        return store

    def _restore_settings(self) -> None:
        """The last training's settings; a missing or damaged value falls back to the preset's default."""
        store = self._settings()
        preset = store.value("preset", FORM_DEFAULT_PRESET)
        index = self.preset_combo.findData(preset if isinstance(preset, str) and preset in PRESETS
                                           else FORM_DEFAULT_PRESET)
        self.preset_combo.setCurrentIndex(index)
        self._on_preset_changed(index)  # fill the defaults even when the index did not change
        self.patience_spin.setValue(DEFAULT_PATIENCE)
        for key, spin in (("epochs", self.epochs_spin), ("batch_size", self.batch_spin),
                          ("patience", self.patience_spin), ("limit", self.limit_spin)):
            value = _stored_int(store.value(key))
            if value is not None and spin.minimum() <= value <= spin.maximum():
                spin.setValue(value)
        learning_rate = _stored_float(store.value("learning_rate"))
        if learning_rate is not None and 0 < learning_rate <= 10:
            self.learning_rate_edit.setText(f"{learning_rate:g}")
        validation = store.value("validation", "test")
        index = self.validation_combo.findData(validation) if isinstance(validation, str) else -1
        self.validation_combo.setCurrentIndex(max(index, 0))
        self.early_stopping_check.setChecked(_stored_bool(store.value("early_stopping"), default=False))

    def save_settings(self) -> None:
        store = self._settings()
        store.setValue("preset", self.preset_combo.currentData())
        store.setValue("epochs", self.epochs_spin.value())
        store.setValue("batch_size", self.batch_spin.value())
        store.setValue("limit", self.limit_spin.value())
        store.setValue("validation", self.validation_combo.currentData())
        store.setValue("early_stopping", self.early_stopping_check.isChecked())
        store.setValue("patience", self.patience_spin.value())
        learning_rate = _stored_float(self.learning_rate_edit.text().strip().replace(",", "."))
        if learning_rate is not None and 0 < learning_rate <= 10:
            store.setValue("learning_rate", learning_rate)

    # ------------------------------------------------------------------ training
    def is_training(self) -> bool:
        """A training is under way: its run exists and its thread has not ended (after a stop_and_wait() it has)."""
        return self.training_run is not None and self.training_run.is_running()

    @Slot()
    def _on_start_clicked(self) -> None:
        self.start_training()

    def start_training(self, training_config: TrainingConfig | None = None) -> bool:
        """Start a training with ``training_config`` (None: the form's). Returns whether it started."""
        if self.is_training() or self._closing:
            return False
        dataset = self.data_state.dataset
        if dataset is None:
            self._update_controls()
            return False
        try:
            if training_config is None:
                training_config = self.form_config()
            resolved = training_config.resolved()
        except TrainingConfigError as exc:
            self._show(self.form_error, _capitalise(str(exc)) + ".", "warning")
            return False
        self._hide(self.form_error)
        train_model = None
        self._continue_source = None
        if resolved.continue_training:
            if self.model_state.model is None:
                self._show(self.form_error, "There is no model to continue from: untick “Continue from current "
                           "weights” to train a fresh one.", "warning")
                return False
            self._continue_source = self.model_state.model
            train_model = inference_copy(self._continue_source)  # the worker's own copy, never the app's model
        run = TrainingRun(resolved, data=dataset, model=train_model, parent=self)
        run.started.connect(self._on_started)
        run.batchProgress.connect(self._on_batch)
        run.epochEnded.connect(self._on_epoch_end)
        run.finished.connect(self._on_finished)
        run.failed.connect(self._on_failed)
        run.done.connect(self._on_run_done)

        self.save_settings()
        self._generation += 1
        self.training_run = run
        self._run_config = resolved
        self._before = _ModelInUse.of(self.model_state)
        self._snapshot_model = None
        self._batches_seen = 0
        self._steps_per_epoch = 1
        self._clear_results()
        self.charts.reset()
        self._hide(self.message)
        self.progress.setRange(0, 0)  # busy until the session knows its steps
        self.progress.setFormat("Preparing the data and the model…")
        self._log(f"Training the {resolved.preset} preset: {resolved.epochs} epochs, batch {resolved.batch_size}, "
                  f"learning rate {resolved.learning_rate:g}"
                  + (", continuing from the model in use" if resolved.continue_training else ""))
        run.start()
        self._update_controls()
        self.trainingStarted.emit()
        return True

    @Slot()
    def stop_training(self) -> None:
        """Stop after the batch in progress; the weights learned so far are kept."""
        if self.training_run is None:
            return
        self.training_run.cancel()
        self.progress.setFormat("Stopping after this batch…")
        self._update_controls()

    def stop_and_wait(self) -> None:
        """The window is closing: stop the training and any evaluation, and wait for their threads."""
        self._closing = True
        self.save_settings()
        workers = ([self.training_run] if self.training_run is not None else []) + list(self._background)
        for worker in workers:
            if not worker.stop_and_wait():
                log.error("%s did not end in time", type(worker).__name__)

    @Slot(object)
    def _on_started(self, event) -> None:
        if self._closing:
            return
        self._steps_per_epoch = max(event.steps_per_epoch, 1)
        self.progress.setRange(0, event.epochs * event.steps_per_epoch)
        self.progress.setValue(0)
        self.progress.setFormat(f"Epoch 1/{event.epochs} · starting…")
        self.charts.set_planned_epochs(event.epochs)
        self._log(f"{event.train_size:,} training images, {event.validation_size:,} validation images, "
                  f"{event.steps_per_epoch:,} steps per epoch")

    @Slot(object)
    def _on_batch(self, event) -> None:
        if self._closing:
            return
        self._batches_seen += 1
        self.charts.add_batch(event.epoch, event.step, event.steps, event.loss, event.accuracy)
        self.progress.setValue(min(event.global_step, self.progress.maximum()))
        if not self.training_run or not self.training_run.session.cancelled:
            self.progress.setFormat(progress_text(event.epoch, event.epochs, event.step, event.steps,
                                                  event.images_per_second, event.eta_seconds))

    @Slot(object)
    def _on_epoch_end(self, event) -> None:
        if self._closing:
            return
        partial = event.global_step % self._steps_per_epoch != 0
        self.charts.add_epoch(event.loss, event.accuracy, event.val_loss, event.val_accuracy,
                              x=event.global_step / self._steps_per_epoch)
        self._log(f"Epoch {event.epoch}/{event.epochs}{' (stopped part-way)' if partial else ''}: "
                  f"loss {event.loss:.4f}, accuracy {event.accuracy:.2%} · validation loss {event.val_loss:.4f}, "
                  f"accuracy {event.val_accuracy:.2%} · {event.seconds:.1f} s, {event.images_per_second:,.0f} img/s")
        self._use_snapshot(event.weights)

    def _use_snapshot(self, weights) -> None:
        """Let Classify and Inspect use this epoch's weights, in an inference copy of the model."""
        try:
            if self._snapshot_model is None:
                self._snapshot_model = self._new_inference_model(weights)
                self.model_state.set_model(self._snapshot_model, self._card(), None, modified=True)
            elif self.model_state.model is self._snapshot_model:
                self.model_state.set_weights(weights)
        except Exception:  # a failed preview must not end the training
            log.exception("could not show the epoch's weights in the other tabs")

    def _new_inference_model(self, weights):
        """A fresh object of the architecture being trained, built in the GUI thread, holding ``weights``."""
        if self._continue_source is not None:
            return inference_copy(self._continue_source, weights)
        from cnn_desktop.core.model import build_model

        model = build_model(self._run_config.preset, compile=False)
        model.set_weights(weights)
        return model

    def _card(self, result=None, evaluation=None) -> dict:
        from cnn_desktop.core.model_io import make_card

        run_config = self._run_config
        preset = run_config.preset
        if self._continue_source is not None and self._before is not None:
            preset = self._before.card.get("preset") or getattr(self._continue_source, "name", preset)
        epochs = result.epochs_completed if result is not None else None
        dataset = self.data_state.dataset
        return make_card(
            preset=preset, epochs=epochs, batch_size=run_config.batch_size, learning_rate=run_config.learning_rate,
            test_accuracy=None if evaluation is None else evaluation.accuracy,
            test_loss=None if evaluation is None else evaluation.loss,
            training_seconds=None if result is None else round(result.seconds, 1),
            dataset_checksum=getattr(dataset, "checksum", None),
            parameters=None if self._snapshot_model is None else int(self._snapshot_model.count_params()),
            name=f"{preset}, trained here" if result is None else
            f"{preset}, {epochs} epoch{'s' if epochs != 1 else ''}",
            status="training" if result is None else result.status,
            train_images=run_config.limit or config.TRAIN_SIZE,
            validation=run_config.validation,
            continued=run_config.continue_training,
        )

    def _run_ended(self) -> None:
        """The run has reported its result: no longer training, though its thread may take a moment to end."""
        if self.training_run is not None:
            self._background.add(self.training_run)
            self.training_run = None
        self._update_controls()

    @Slot(object)
    def _on_finished(self, result) -> None:
        if self._closing:
            return
        self._run_ended()
        self.progress.setRange(0, 1)
        self.progress.setValue(1 if result.status == "completed" else 0)
        summary = (f"{result.status.replace('_', ' ').capitalize()} · {result.epochs_completed} epoch"
                   f"{'s' if result.epochs_completed != 1 else ''} in {format_duration(result.seconds)} · "
                   f"{result.images_per_second:,.0f} img/s")
        self.progress.setFormat(summary)
        self._log(result.message or summary)
        self.charts.flush()
        if result.status == "diverged":
            self._give_back_model_in_use()
            self._show(self.message, f"{result.message} The model in use is unchanged.", "warning")
        elif not result.usable or self._batches_seen == 0:
            self._give_back_model_in_use()
            self._show(self.message, "Stopped before the first training step; the model in use is unchanged.",
                       "information")
        else:
            self._hand_over(result)
        self.trainingFinished.emit(result)

    def _give_back_model_in_use(self) -> None:
        """Undo the epoch snapshots: the app keeps the model it had before this training."""
        if self._snapshot_model is not None and self.model_state.model is self._snapshot_model:
            if self._before is not None and self._before.model is not None:
                self._before.restore(self.model_state)
        self._snapshot_model = None

    def _hand_over(self, result) -> None:
        """The trained weights become the app's model (unsaved), then are evaluated on the test set."""
        try:
            model = self._snapshot_model
            if model is None:
                model = inference_copy(result.model)
                self._snapshot_model = model
            else:
                model.set_weights(result.model.get_weights())
            card = self._card(result)
            self.model_state.set_model(model, card, None, modified=True)
        except Exception as exc:  # e.g. out of memory: say so, keep the tab usable
            log.exception("could not use the trained model")
            self._show(self.message, f"The trained model could not be used: {exc}", "critical")
            return
        self._trained_model = model
        text = {"completed": "Training complete.", "cancelled": "Training stopped; the weights learned so far are kept.",
                "early_stopped": result.message}.get(result.status, result.message)
        self._outcome = (f"{text} The model in use is now “{self.model_state.name}”: save it with "
                         "“Save model as…” to keep it.")
        self._show(self.message, f"{self._outcome} Evaluating it on the test set…", "information")
        self._evaluate(result.model)

    @Slot(str, str)
    def _on_failed(self, message: str, details: str) -> None:
        if self._closing:
            return
        self._run_ended()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("Training failed")
        self._log(f"Training failed: {message}")
        self._give_back_model_in_use()
        self._show(self.message, f"Training failed: {message}", "critical")
        show_error(self, "Training failed", f"The training stopped with an error:\n{message}", details)
        self.trainingFailed.emit(message)

    @Slot()
    def _on_run_done(self) -> None:
        """The run's thread has ended: forget and delete the run."""
        run = self.sender()
        if run is self.training_run:  # ended without a result (should not happen, but never stay "training")
            self.training_run = None
        self._background.discard(run)
        run.deleteLater()
        self._update_controls()

    # ------------------------------------------------------------------ evaluation
    def _evaluate(self, model) -> None:
        """Evaluate the trained model (no longer used by its training thread) on the official test set."""
        from cnn_desktop.core.evaluation import evaluate

        dataset = self.data_state.dataset
        if dataset is None:
            return
        runner = TaskRunner(evaluate, model, dataset.test_images, dataset.test_labels, name="evaluation", parent=self)
        runner.setProperty("generation", self._generation)
        self._evaluated_data = dataset
        runner.finished.connect(self._on_evaluated)
        runner.failed.connect(self._on_evaluation_failed)
        runner.done.connect(self._on_evaluation_done)
        self._background.add(runner)
        runner.start()

    @Slot(object)
    def _on_evaluated(self, evaluation) -> None:
        if self._closing or self.sender().property("generation") != self._generation:
            return  # a newer training has started: these results describe a model no longer in use
        self.show_evaluation(evaluation, self._evaluated_data)
        if self.model_state.model is self._trained_model and self._trained_model is not None:
            # The card is saved with the model; the test numbers belong in it.
            self.model_state.card.update(test_accuracy=evaluation.accuracy, test_loss=evaluation.loss)
        self._show(self.message, f"{self._outcome} Test accuracy: {evaluation.accuracy:.2%}.", "information")
        self.evaluationFinished.emit(evaluation)

    def show_evaluation(self, evaluation, dataset=None) -> None:
        """Show test accuracy and loss, the confusion matrix, per-class accuracy and the hardest examples.

        ``dataset`` holds the test images evaluated (default: the app's dataset).
        """
        dataset = dataset if dataset is not None else self.data_state.dataset
        self.evaluation, self._test_data = evaluation, dataset
        accuracy = evaluation.per_class_accuracy
        worst = int(np.argmin(accuracy))
        self.test_summary.setText(
            f"<b>Test set ({evaluation.n:,} images): accuracy {evaluation.accuracy:.2%}, loss {evaluation.loss:.4f}.</b> "
            f"Hardest class: {config.CLASS_NAMES[worst]} ({accuracy[worst]:.1%}). "
            "Click a cell of the matrix to see its images; click an image to classify it.")
        self.confusion_matrix.set_matrix(evaluation.confusion)
        self.cell_gallery.clear()
        confidences = evaluation.probabilities.max(axis=1)
        self.hardest_gallery.show_examples(
            evaluation.hardest(HARDEST_COUNT), dataset.test_images, dataset.test_labels,
            predictions=evaluation.predictions, confidences=confidences,
            title=f"The {HARDEST_COUNT} test images the model got wrong most confidently.")

    @Slot(str, str)
    def _on_evaluation_failed(self, message: str, details: str) -> None:
        if self._closing or self.sender().property("generation") != self._generation:
            return
        self._show(self.message, f"The test-set evaluation failed: {message}", "critical")
        show_error(self, "Evaluation failed", f"The test-set evaluation failed:\n{message}", details)

    @Slot()
    def _on_evaluation_done(self) -> None:
        runner = self.sender()
        runner.stop_and_wait()  # returns at once: makes sure the thread has really ended before deletion
        self._background.discard(runner)
        runner.deleteLater()

    def _clear_results(self) -> None:
        self.evaluation = self._test_data = None
        self.test_summary.setText("Test-set results appear here after the training.")
        self.confusion_matrix.clear()
        self.cell_gallery.clear()
        self.hardest_gallery.clear()

    @Slot(int, int)
    def _show_cell(self, true_class: int, predicted_class: int) -> None:
        if self.evaluation is None:
            return
        dataset = self._test_data
        indices = self.evaluation.indices_for_cell(true_class, predicted_class)
        self.cell_gallery.show_examples(
            indices, dataset.test_images, dataset.test_labels, predictions=self.evaluation.predictions,
            confidences=self.evaluation.probabilities.max(axis=1),
            title=self.confusion_matrix.describe(true_class, predicted_class) + ".")
        self.galleries.setCurrentWidget(self.cell_gallery)

    @Slot(int)
    def _send_to_classify(self, index: int) -> None:
        dataset = self._test_data
        if dataset is None:
            return
        image = dataset.test_images[index].astype(np.float32) / 255.0
        self.image_state.set_image(image, ImageSource("dataset", f"test #{index}", int(dataset.test_labels[index])))
        self.image_state.showRequested.emit("classify")

    # ------------------------------------------------------------------ model files
    @Slot()
    def save_model_as(self) -> None:
        model = self.model_state.model
        if model is None:
            show_info(self, "Save Model", "There is no model to save yet: train one or load one first.")
            return
        stem = (self.model_state.card.get("preset") or "model") + _dt.datetime.now().strftime("-%Y%m%d-%H%M")
        start = self.model_state.path if self.model_state.path and not self.model_state.modified else None
        start = start or config.user_models_dir() / f"{stem}.keras"
        Path(start).parent.mkdir(parents=True, exist_ok=True)
        path, _ = QFileDialog.getSaveFileName(self, "Save Model As", str(start), "Keras models (*.keras)")
        if not path:
            return
        path = Path(path)
        if path.suffix != ".keras":
            path = path.with_name(path.name + ".keras")
        try:
            self.save_model_to(path)
        except Exception as exc:  # ModelFileError, OSError, Keras errors: the user gets the reason
            show_warning(self, "Model not saved", f"Could not save the model to {path}:\n{exc}")

    def save_model_to(self, path: Path | str) -> Path:
        """Save the model in use with its card (test accuracy and loss included when known)."""
        from cnn_desktop.core.model_io import make_card, save_model

        path = Path(path)
        model, old_card = self.model_state.model, dict(self.model_state.card)
        old_card.pop("path", None)
        card = make_card(**{"preset": old_card.pop("preset", None) or getattr(model, "name", "model"),
                            **old_card, "name": path.stem})
        card["saved"] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
        save_model(model, path, card)
        self.model_state.set_model(model, card, path, modified=False, classifier=self.model_state.classifier,
                                   feature_extractor=self.model_state.feature_extractor)
        self._show(self.message, f"Saved the model to {path}.", "information")
        return path

    @Slot()
    def _load_model(self) -> None:
        loader = getattr(self.window(), "load_model_dialog", None)
        if loader is None:
            show_info(self, "Load Model", "Use File ▸ Load Model in the main window.")
            return
        loader()

    def _log(self, line: str) -> None:
        self.log_view.appendPlainText(line)
        log.info("train tab: %s", line)


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


def _stored_int(value) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


def _stored_float(value) -> float | None:
    try:
        number = float(str(value))
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _stored_bool(value, default: bool) -> bool:
    if isinstance(value, bool):
        return value
    if str(value).lower() in ("true", "1", "yes"):
        return True
    if str(value).lower() in ("false", "0", "no"):
        return False
    return default
