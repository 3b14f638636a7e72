"""The Train tab's form: preset, epochs, batch size, learning rate, images, validation, early stopping, continue,
mixed precision.

It makes a core ``TrainingConfig`` (``training_config()``, validated by the
core) and remembers the last one in the app's settings; ``changed`` is sent on
every edit so that the tab can say at once what is wrong.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
import sys

from PySide6.QtWidgets import (QCheckBox, QComboBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit,
                               QSpinBox)

from cnn_desktop import config
from cnn_desktop.core import devices as devices_module
from cnn_desktop.core.model import PRESET_NAMES, PRESETS
from cnn_desktop.core.training import TrainingConfig, TrainingConfigError
from cnn_desktop.gui.settings import TRAIN_GROUP, Settings

VALIDATION_LABELS = {"test": "Official test set (10,000 images)", "split": "10% of the training images"}
DEVICE_LABELS = {"auto": "Automatic (a GPU if there is one)", "cpu": "CPU", "gpu": "GPU",
                 "all": "All devices (MirroredStrategy)"}
# The form's first preset: trains to ~92% in minutes on a CPU (the bundled model's recipe takes about an hour).
FORM_DEFAULT_PRESET = "fast"
DEFAULT_PATIENCE = 3


class TrainingSettingsForm(QGroupBox):
    changed = Signal()  # any field was edited

    def __init__(self, parent=None):
        super().__init__("Training settings", parent)
        self.preset_combo = QComboBox(self)
        for name in PRESET_NAMES:
            self.preset_combo.addItem(name, name)
            self.preset_combo.setItemData(self.preset_combo.count() - 1, PRESETS[name].description,
                                          Qt.ItemDataRole.ToolTipRole)
        self.preset_combo.currentIndexChanged.connect(self._fill_in_recipe)

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
        self.device_combo = QComboBox(self)
        for key, label in DEVICE_LABELS.items():
            self.device_combo.addItem(label, key)
        self.device_combo.setToolTip("Where the training runs; with several devices each batch is split between "
                                     "them (the batch size stays the whole batch, the learning rate unchanged)")
        # Until TensorFlow has looked (refresh_devices), the CPU is all that is known.
        self.device_label = QLabel(f"CPU, {devices_module.cpu_cores()} cores", self)
        self.device_label.setToolTip("The devices TensorFlow sees on this machine")
        self._devices_known = False
        self.continue_check = QCheckBox("Continue from current weights", self)
        self.continue_check.setToolTip("Keep training the model in use (its architecture and weights) with this "
                                       "preset's recipe, instead of starting from a fresh network")
        self.mixed_precision_check = QCheckBox("Mixed precision (bfloat16)", self)
        self.mixed_precision_check.setToolTip(
            "Compute in bfloat16 while the weights stay float32: about twice as fast on CPUs with AMX or "
            "AVX512-BF16, slower on others. The trained model is float32 like any other. A new network only: "
            "continuing keeps the model's own arithmetic.")
        self.continue_check.toggled.connect(self._continue_toggled)
        for signal in (self.preset_combo.currentIndexChanged, self.epochs_spin.valueChanged,
                       self.batch_spin.valueChanged, self.learning_rate_edit.textChanged,
                       self.limit_spin.valueChanged, self.validation_combo.currentIndexChanged,
                       self.early_stopping_check.toggled, self.patience_spin.valueChanged,
                       self.continue_check.toggled, self.device_combo.currentIndexChanged,
                       self.mixed_precision_check.toggled):
            signal.connect(self.changed)

        form = QFormLayout(self)
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
        form.addRow(self.mixed_precision_check)
        form.addRow("Machine:", self.device_label)
        form.addRow("&Devices:", self.device_combo)
        self.restore_settings()

    def set_training(self, training: bool, can_continue: bool) -> None:
        """Lock the form while a run trains; "continue" needs a model in use (``can_continue``)."""
        self.setEnabled(not training)
        self.continue_check.setEnabled(not training and can_continue)
        if not can_continue and self.continue_check.isChecked():
            self.continue_check.setChecked(False)
        self.patience_spin.setEnabled(self.early_stopping_check.isChecked() and not training)

    @Slot(bool)
    def _continue_toggled(self, continuing: bool) -> None:
        """Mixed precision builds a new network: it has no meaning when the model in use trains on."""
        self.mixed_precision_check.setEnabled(not continuing)

    @Slot(int)
    def _fill_in_recipe(self, index: int) -> None:
        """A preset brings its own recipe: fill in its epochs, batch size and learning rate."""
        name = self.preset_combo.itemData(index)
        if name not in PRESETS:
            return
        preset = PRESETS[name]
        self.preset_combo.setToolTip(preset.description)
        self.epochs_spin.setValue(preset.epochs)
        self.batch_spin.setValue(preset.batch_size)
        self.learning_rate_edit.setText(f"{preset.learning_rate:g}")

    def training_config(self) -> TrainingConfig:
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
            devices=self.device_combo.currentData(),
            mixed_precision=self.mixed_precision_check.isChecked() and not self.continue_check.isChecked(),
        ).resolved()

    def refresh_devices(self) -> None:
        """Show what TensorFlow sees ("CPU, 2 cores" / "GPU: name"), once it is loaded (never imported here:
        that takes seconds, and the GUI thread must not wait); the GPU choice needs a GPU."""
        if self._devices_known or "tensorflow" not in sys.modules:
            return
        self._devices_known = True
        self.device_label.setText(devices_module.describe_machine())
        has_gpu = bool(devices_module.gpu_names())
        item = self.device_combo.model().item(self.device_combo.findData("gpu"))
        item.setEnabled(has_gpu)
        if not has_gpu and self.device_combo.currentData() == "gpu":
            self.device_combo.setCurrentIndex(self.device_combo.findData("auto"))

    def restore_settings(self) -> None:
        """The last training's settings; a missing or damaged value falls back to the preset's default."""
        store = Settings()
        index = self.preset_combo.findData(store.get_str(f"{TRAIN_GROUP}/preset", FORM_DEFAULT_PRESET, PRESETS))
        self.preset_combo.setCurrentIndex(index)
        self._fill_in_recipe(index)  # fill the defaults even when the index did not change
        self.patience_spin.setValue(DEFAULT_PATIENCE)
        for key, spin in (("epochs", self.epochs_spin), ("batch_size", self.batch_spin),
                          ("patience", self.patience_spin), ("limit", self.limit_spin)):
            spin.setValue(store.get_int(f"{TRAIN_GROUP}/{key}", spin.value(), spin.minimum(), spin.maximum()))
        learning_rate = store.get_float(f"{TRAIN_GROUP}/learning_rate", None)
        if learning_rate is not None and _valid_learning_rate(learning_rate):
            self.learning_rate_edit.setText(f"{learning_rate:g}")
        validation = store.get_str(f"{TRAIN_GROUP}/validation", "test", VALIDATION_LABELS)
        self.validation_combo.setCurrentIndex(max(self.validation_combo.findData(validation), 0))
        self.early_stopping_check.setChecked(store.get_bool(f"{TRAIN_GROUP}/early_stopping", False))
        self.mixed_precision_check.setChecked(store.get_bool(f"{TRAIN_GROUP}/mixed_precision", False))
        device = store.get_str(f"{TRAIN_GROUP}/devices", "auto", DEVICE_LABELS)
        self.device_combo.setCurrentIndex(max(self.device_combo.findData(device), 0))

    def save_settings(self) -> None:
        store = Settings()
        for key, value in (("preset", self.preset_combo.currentData()), ("epochs", self.epochs_spin.value()),
                           ("batch_size", self.batch_spin.value()), ("limit", self.limit_spin.value()),
                           ("validation", self.validation_combo.currentData()),
                           ("early_stopping", self.early_stopping_check.isChecked()),
                           ("patience", self.patience_spin.value()),
                           ("mixed_precision", self.mixed_precision_check.isChecked()),
                           ("devices", self.device_combo.currentData())):
            store.set(f"{TRAIN_GROUP}/{key}", value)
        try:
            learning_rate = float(self.learning_rate_edit.text().strip().replace(",", "."))
        except ValueError:
            return
        if _valid_learning_rate(learning_rate):
            store.set(f"{TRAIN_GROUP}/learning_rate", learning_rate)


def _valid_learning_rate(learning_rate: float) -> bool:
    """Whether the core accepts this learning rate (its bounds are defined there only)."""
    try:
        TrainingConfig(learning_rate=learning_rate).resolved()
    except TrainingConfigError:
        return False
    return True
