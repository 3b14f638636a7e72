"""The Train tab: train the network on Fashion-MNIST and see how it learns, then what it gets wrong.

A view of the app's ``TrainingController``: the form on the left makes a core
``TrainingConfig`` and starts the controller's run; the progress bar, the live
charts and the log follow the run's signals; the test-set results of the
trained model (confusion matrix, hardest examples) follow its evaluation.
"""

from __future__ import annotations

import dataclasses
import logging

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from cnn_desktop.core.formatting import format_duration
from cnn_desktop.core.training import TrainingConfig, TrainingConfigError
from cnn_desktop.gui.widgets.message_bar import MessageBar
from cnn_desktop.gui.widgets.messages import show_error
from cnn_desktop.gui.widgets.test_results_panel import TestResultsPanel
from cnn_desktop.gui.widgets.training_charts import TrainingCharts
from cnn_desktop.gui.widgets.training_settings_form import TrainingSettingsForm

log = logging.getLogger(__name__)

LOG_LINES = 300


def progress_text(epoch: int, epochs: int, step: int, steps: int, images_per_second: float, eta_seconds: float) -> str:
    return (f"Epoch {epoch}/{epochs} · step {step:,}/{steps:,} · {images_per_second:,.0f} img/s · "
            f"ETA {format_duration(eta_seconds)}")


class TrainTab(QWidget):
    loadRequested = Signal()  # the Load model button: the window's File ▸ Load Model
    saveRequested = Signal()  # the Save model button: the window's File ▸ Save Model As
    showTabRequested = Signal(str)  # ask the window to show a tab ("classify") for the image sent there

    def __init__(self, controller, model_state, image_state, data_state, parent=None):
        super().__init__(parent)
        self.controller = controller
        self.model_state, self.image_state, self.data_state = model_state, image_state, data_state
        self._form_valid = False
        self._steps_per_epoch = 1

        self._build_form()
        self.progress = QProgressBar(self)
        self.progress.setTextVisible(True)
        self.progress.setFormat("Not training")
        self.progress.setValue(0)
        self.charts = TrainingCharts(self)
        self.results = TestResultsPanel(self)
        self.results.exampleClicked.connect(self._send_to_classify)

        left = QWidget(self)
        left_layout = QVBoxLayout(left)
        left_layout.addWidget(self.form)
        left_layout.addLayout(self._buttons)
        for bar in (self.form_error, self.message, self.data_message):
            left_layout.addWidget(bar)
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
        right.addWidget(self.results)
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
        self.model_state.loadingChanged.connect(self._update_controls)
        self.model_state.saved.connect(lambda path: self.message.show_message(f"Saved the model to {path}.",
                                                                              "information"))
        controller.started.connect(self._on_started)
        controller.prepared.connect(self._on_prepared)
        controller.progress.connect(self._on_batch)
        controller.epochEnded.connect(self._on_epoch_end)
        controller.message.connect(self._log)
        controller.finished.connect(self._on_finished)
        controller.failed.connect(self._on_failed)
        controller.notice.connect(self.message.show_message)
        controller.resultAwaitingDecision.connect(self._offer_result)
        controller.evaluated.connect(lambda evaluation: self.results.show_evaluation(
            evaluation, controller.evaluated_dataset))
        controller.evaluationFailed.connect(lambda message, details: show_error(
            self, "Evaluation failed", f"The test-set evaluation failed:\n{message}", details))
        controller.busyChanged.connect(self._update_controls)
        self._validate_form()
        self._update_controls()

    # ------------------------------------------------------------------ building
    def _build_form(self) -> None:
        self.form = TrainingSettingsForm(self)
        self.form.changed.connect(self._validate_form)

        self.start_button = QPushButton("&Start training", self)
        self.start_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_MediaPlay))
        self.start_button.clicked.connect(self._on_start_clicked)
        self.stop_button = QPushButton("S&top", self)
        self.stop_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_MediaStop))
        self.stop_button.setToolTip("Stop after the batch in progress and keep the weights learned so far")
        self.stop_button.clicked.connect(self.stop_training)
        self.save_button = QPushButton("Save model &as…", self)
        self.save_button.setToolTip("Save the model in use to a .keras file with its model card")
        self.save_button.clicked.connect(self.saveRequested)
        self.load_button = QPushButton("&Load model…", self)
        self.load_button.setToolTip("Use a .keras model file")
        self.load_button.clicked.connect(self.loadRequested)
        self._buttons = QVBoxLayout()
        for pair in ((self.start_button, self.stop_button), (self.save_button, self.load_button)):
            row = QHBoxLayout()
            for button in pair:
                row.addWidget(button)
            self._buttons.addLayout(row)

        self.form_error = MessageBar(self)
        self.message = MessageBar(self)
        self.data_message = MessageBar(self)
        self.log_view = QPlainTextEdit(self)
        self.log_view.setReadOnly(True)
        self.log_view.setMaximumBlockCount(LOG_LINES)
        self.log_view.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.log_view.setMinimumHeight(80)

    # ------------------------------------------------------------------ the form
    @Slot()
    def _validate_form(self) -> bool:
        """Check the form as it is edited; a refusal is shown under the buttons and Start is disabled."""
        try:
            self.form.training_config()
        except TrainingConfigError as exc:
            self.form_error.show_message(_capitalise(str(exc)) + ".", "warning")
            valid = False
        else:
            self.form_error.clear()
            valid = True
        self._form_valid = valid
        self._update_controls()
        return valid

    @Slot()
    def _update_controls(self) -> None:
        training = self.is_training()
        data_ready = self.data_state.dataset is not None
        if data_ready:
            self.data_message.clear()
        elif self.data_state.error:
            self.data_message.show_message(f"Training needs the Fashion-MNIST dataset: {self.data_state.error}",
                                           "critical")
        else:
            self.data_message.show_message("Loading the Fashion-MNIST dataset…", "information")
        self.form.set_training(training, can_continue=self.model_state.model is not None)
        self.form.refresh_devices()  # once TensorFlow is loaded (with the first model)
        # Not while a model file loads: it would replace the run's epoch snapshots, and Stop could not give it back.
        self.start_button.setEnabled(not training and data_ready and self._form_valid and not self.model_state.loading)
        self.stop_button.setEnabled(training and not self.controller.is_stopping)
        self.load_button.setEnabled(not training)
        self.save_button.setEnabled(self.model_state.model is not None)

    # ------------------------------------------------------------------ training
    def is_training(self) -> bool:
        return self.controller.is_training

    @Slot()
    def _on_start_clicked(self) -> None:
        self.start_training()

    def start_training(self, training_config: TrainingConfig | None = None) -> bool:
        """Start a training with ``training_config`` (None: the form's). Returns whether it started."""
        try:
            if training_config is None:
                training_config = self.form.training_config()
            started = self.controller.start(training_config)
        except TrainingConfigError as exc:
            self.form_error.show_message(_capitalise(str(exc)) + ".", "warning")
            return False
        self._update_controls()
        return started

    def train_design(self, design) -> bool:
        """Train a network design (the Design tab's) with the form's recipe; a fresh network, never continued."""
        try:
            training_config = dataclasses.replace(self.form.training_config(), design=design,
                                                  continue_training=False)
        except TrainingConfigError as exc:
            self.form_error.show_message(_capitalise(str(exc)) + ".", "warning")
            return False
        return self.start_training(training_config)

    @Slot()
    def stop_training(self) -> None:
        """Stop after the batch in progress; the weights learned so far are kept."""
        if self.is_training():
            self.controller.stop()
            self.progress.setFormat("Stopping after this batch…")

    @Slot(object)
    def _on_started(self, resolved) -> None:
        self.form.save_settings()
        self.form_error.clear()
        self.message.clear()
        self._steps_per_epoch = 1
        self.results.clear("Test-set results appear here after the training.")
        self.charts.reset()
        self.progress.setRange(0, 0)  # busy until the session knows its steps
        self.progress.setFormat("Preparing the data and the model…")
        network = (f"the design “{resolved.design.name}” with the {resolved.preset} recipe"
                   if resolved.design is not None else f"the {resolved.preset} preset")
        self._log(f"Training {network}: {resolved.epochs} epochs, batch {resolved.batch_size}, "
                  f"learning rate {resolved.learning_rate:g}"
                  + (", continuing from the model in use" if resolved.continue_training else ""))

    @Slot(object)
    def _on_prepared(self, event) -> None:
        self._steps_per_epoch = max(event.steps_per_epoch, 1)
        self.progress.setRange(0, event.epochs * event.steps_per_epoch)
        self.progress.setValue(0)
        self.progress.setFormat(f"Epoch 1/{event.epochs} · starting…")
        self.charts.set_planned_epochs(event.epochs)
        self._log(f"{event.train_size:,} training images, {event.validation_size:,} validation images, "
                  f"{event.steps_per_epoch:,} steps per epoch")

    @Slot(object)
    def _on_batch(self, event) -> None:
        self.charts.add_batch(event.epoch, event.step, event.steps, event.loss, event.accuracy)
        self.progress.setValue(min(event.global_step, self.progress.maximum()))
        if not self.controller.is_stopping:
            self.progress.setFormat(progress_text(event.epoch, event.epochs, event.step, event.steps,
                                                  event.images_per_second, event.eta_seconds))

    @Slot(object)
    def _on_epoch_end(self, event) -> None:
        partial = event.global_step % self._steps_per_epoch != 0
        self.charts.add_epoch(event.loss, event.accuracy, event.val_loss, event.val_accuracy,
                              x=event.global_step / self._steps_per_epoch)
        self._log(f"Epoch {event.epoch}/{event.epochs}{' (stopped part-way)' if partial else ''}: "
                  f"loss {event.loss:.4f}, accuracy {event.accuracy:.2%} · validation loss {event.val_loss:.4f}, "
                  f"accuracy {event.val_accuracy:.2%} · {event.seconds:.1f} s, {event.images_per_second:,.0f} img/s")

    @Slot(object)
    def _on_finished(self, result) -> None:
        self.progress.setRange(0, 1)
        self.progress.setValue(1 if result.status == "completed" else 0)
        summary = (f"{result.status.replace('_', ' ').capitalize()} · {result.epochs_completed} epoch"
                   f"{'s' if result.epochs_completed != 1 else ''} in {format_duration(result.seconds)} · "
                   f"{result.images_per_second:,.0f} img/s")
        self.progress.setFormat(summary)
        self._log(result.message or summary)
        self.charts.flush()

    @Slot(object)
    def _offer_result(self, result) -> None:
        """A stopped (or not automatically adopted) run: the model in use stays; offer the run's model."""
        label = "Use the stopped model" if result.status == "cancelled" else "Use the trained model"
        label += f" ({stopped_model_summary(result)})"
        self.message.show_message(
            f"Training {'stopped' if result.status == 'cancelled' else 'ended'}; the model in use is still "
            f"“{self.model_state.name}”.", "information", action=(label, self.controller.adopt_result))

    @Slot(str, str)
    def _on_failed(self, message: str, details: str) -> None:
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("Training failed")
        self._log(f"Training failed: {message}")
        show_error(self, "Training failed", f"The training stopped with an error:\n{message}", details)

    def stop_and_wait(self) -> None:
        """The window is closing: remember the form."""
        self.form.save_settings()

    @Slot(int)
    def _send_to_classify(self, index: int) -> None:
        dataset = self.results.dataset
        if dataset is None:
            return
        self.image_state.set_dataset_image(dataset, "test", index)
        self.showTabRequested.emit("classify")

    def _log(self, line: str) -> None:
        self.log_view.appendPlainText(line)
        log.info("train tab: %s", line)


def stopped_model_summary(result) -> str:
    """E.g. "2 epochs, val acc 84.1%": what a run's model is worth, for the button that adopts it."""
    epochs = result.epochs_completed
    text = "part of an epoch" if epochs == 0 else f"{epochs} epoch{'s' if epochs != 1 else ''}"
    accuracy = result.val_accuracy
    if accuracy is not None and accuracy == accuracy:  # NaN: say nothing rather than "nan%"
        text += f", val acc {accuracy:.1%}"
    return text


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]
