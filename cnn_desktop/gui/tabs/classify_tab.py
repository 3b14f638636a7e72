"""The Classify tab: draw, open, paste or drop a picture and see what the network makes of it.

Left: the input (the drawing canvas, or the picture that was opened, with the
outline of the item found in it) with its tools; it grows with the window.
Middle: the 28x28 image the network saw. Right: the answer and the ten class
probabilities (calibrated), or "Not sure" with what to do about it when the
network does not recognise the input.

Every picture goes the same way: core preprocessing -> ``image_state`` (so the
Inspect tab follows along) -> ``model_state.classifier``. The tab shows whatever
``image_state`` holds, including images chosen in other tabs, and classifies
it again whenever the model or its weights change (e.g. during a training).

The three columns' layouts are ``input_column``, ``network_column`` and ``result_column``.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from PySide6.QtCore import QMimeData, QSize, QStandardPaths, Qt, Signal, Slot
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent, QFont, QGuiApplication, QImage, QPixmap
from PySide6.QtWidgets import (QApplication, QButtonGroup, QFileDialog, QGroupBox, QHBoxLayout, QLabel,
                               QPushButton, QSizePolicy, QSlider, QSpinBox, QStackedWidget, QStyle, QToolButton,
                               QVBoxLayout, QWidget)

from cnn_desktop import config
from cnn_desktop.core.inference import HINTS, Prediction, unsure_hints
from cnn_desktop.core.preprocessing import (PHOTO_SIZE, SUPPORTED_SUFFIXES, EmptyImageError, ImageError,
                                            PreparedImage, prepare_pixels, read_picture_file)
from cnn_desktop.gui.widgets.canvas import BRUSH_SIZE_RANGE, LOGICAL_SIZE, Canvas, Tool
from cnn_desktop.gui.widgets.correction_button import CorrectionButton
from cnn_desktop.gui.state.explanation_state import ExplanationState
from cnn_desktop.gui.state.image_state import ImageSource, dataset_image
from cnn_desktop.gui.widgets.explanation_panel import ExplanationPanel
from cnn_desktop.gui.widgets.message_bar import MessageBar
from cnn_desktop.gui.widgets.array_images import picture_qimage, qimage_to_rgba, to_grey_qimage
from cnn_desktop.gui.widgets.network_input_view import NetworkInputView
from cnn_desktop.gui.widgets.picture_view import PictureView
from cnn_desktop.gui.widgets.probability_bars import ProbabilityBars
from cnn_desktop.gui import settings as keys
from cnn_desktop.gui.settings import Settings
from cnn_desktop.gui.throttle import Throttle
from cnn_desktop.gui.concurrency.latest_task import LatestTask

log = logging.getLogger(__name__)

# Live classification while drawing: at most this often (a single-shot timer coalesces the strokes in between).
CLASSIFY_INTERVAL_MS = 50
CANVAS_SOURCE = ImageSource("canvas", "your drawing")
NOTHING_TO_CLASSIFY = "Nothing to classify – draw something"
LOADING_MODEL = "Loading model…"
NO_MODEL = "No model – load one (File ▸ Load Model) or train one in the Train tab"
# What draws best, for a first-time user: the network learned from solid items filling the frame.
DRAWING_HINT = ("Draw one item, large and filled: draw its outline, then click inside it with the Fill bucket. "
                "Or open, drop or paste a photo of one item.")
OUTLINE_CAPTION = "the yellow line marks the item the network sees"
NOT_SURE = "Not sure"
# Hints (keys of core HINTS) for an unsure answer, by the kind of image source.
HINT_SOURCE = {"canvas": "drawing", "file": "photo", "clipboard": "photo", "drop": "photo"}
FILE_FILTER = ("Images (" + " ".join(f"*{suffix}" for suffix in SUPPORTED_SUFFIXES) + ");;All files (*)")


def open_picture_file(path: Path) -> tuple[PreparedImage, np.ndarray]:
    """The network input and the picture to show (RGBA), from one decoding of the file (upright, reduced in
    size). Raises ImageError with a message for the user.
    """
    prepared, picture = read_picture_file(path)
    return prepared, picture.rgba()


# What a worker hands the tab: the network input, the picture to show and where it came from.
OpenedPicture = tuple[PreparedImage, np.ndarray, ImageSource]


def open_picture_for_tab(path: Path) -> OpenedPicture:
    """``open_picture_file`` (in a worker or not) with any failure as an ImageError that names the file."""
    try:
        return (*open_picture_file(path), ImageSource("file", path.name))
    except ImageError:
        raise
    except Exception as exc:  # a picture must never bring the window down
        log.exception("unexpected error opening %s", path)
        raise ImageError(f"“{path.name}” cannot be used: {exc}") from exc


def prepare_pasted_picture(picture: np.ndarray, source: ImageSource) -> OpenedPicture:
    """A pasted or dropped bitmap (RGBA) as a photo: the item is found by segmentation (in a worker)."""
    try:
        return prepare_pixels(picture, photo=True), picture, source
    except ImageError as exc:
        raise ImageError(f"The {source.description}: {exc}") from exc


def unsure_headline(prediction: Prediction) -> str:
    """No confident headline for an unsure answer: the best guess is only named (the bars are dimmed).

    Its probability is given only when low confidence is the reason: for an input unlike the training
    images a high softmax probability means nothing, and "Not sure – perhaps Bag (98%)" would contradict itself.
    """
    guess = f"{NOT_SURE} – perhaps {prediction.label}"
    return f"{guess} ({prediction.confidence:.0%})" if prediction.reason == "low_confidence" else guess


def hint_text(prediction: Prediction, source: ImageSource | None) -> str:
    """Why the network is unsure and what the user can do about it, for this kind of source."""
    kind = HINT_SOURCE.get(source.kind) if source is not None else None
    hints = [HINTS[key] for key in unsure_hints(kind)] if kind else []
    return " ".join([prediction.message, *hints]).strip()


class ClassifyTab(QWidget):
    showTabRequested = Signal(str)  # ask the window to show a tab ("classify" or "inspect") for the image

    def __init__(self, model_state, image_state, data_state, parent=None, explanation_state=None):
        super().__init__(parent)
        self.model_state, self.image_state, self.data_state = model_state, image_state, data_state
        # Why the network says what it says (shared with the Inspect tab when the window hands one in).
        self._owns_explanation_state = explanation_state is None
        self.explanation_state = explanation_state or ExplanationState(model_state, image_state, self)

        self._classify_throttle = Throttle(self.classify_canvas, CLASSIFY_INTERVAL_MS, self)
        # Files chosen in the dialog or dropped are decoded, and pasted bitmaps segmented, in a worker: a huge
        # picture takes seconds (issue 13).
        self._picture_task = LatestTask("picture-decoder", self)
        self._picture_task.finished.connect(self._show_opened_picture)
        self._picture_task.failed.connect(lambda message, _details: self.show_error(message))

        self._build_ui()
        self.setAcceptDrops(True)

        self.canvas.changed.connect(self._on_canvas_changed)
        self.canvas.historyChanged.connect(self._update_history_buttons)
        self.image_state.imageChanged.connect(self._on_image_changed)
        self.model_state.modelChanged.connect(self.refresh_prediction)
        self.model_state.weightsChanged.connect(self.refresh_prediction)
        self.model_state.loadingChanged.connect(self.refresh_prediction)
        self.data_state.loaded.connect(self._update_random_button)
        self.data_state.failed.connect(self._update_random_button)
        self.data_state.loadingChanged.connect(self._update_random_button)

        self._update_random_button()
        self.classify_canvas()  # the blank canvas: "nothing to classify"

    # ------------------------------------------------------------------ layout
    def _button(self, text: str, tip: str, slot, icon: QStyle.StandardPixmap | None = None) -> QPushButton:
        button = QPushButton(text, self)
        button.setToolTip(tip)
        if icon is not None:
            button.setIcon(self.style().standardIcon(icon))
        button.clicked.connect(slot)
        return button

    def _build_ui(self) -> None:
        layout = QHBoxLayout(self)
        # The input grows most with the window (a larger canvas draws better); the answer takes the rest.
        layout.addWidget(self._build_input_group(), 3)
        layout.addWidget(self._build_network_input_group(), 0)
        layout.addWidget(self._build_prediction_group(), 2)
        self._set_tab_order()

    def _build_input_group(self) -> QGroupBox:
        group = QGroupBox("Your image", self)
        column = self.input_column = QVBoxLayout(group)

        self.canvas = Canvas(group)
        self.picture_view = PictureView(group)
        self.input_stack = QStackedWidget(group)
        self.input_stack.addWidget(self.canvas)
        self.input_stack.addWidget(self.picture_view)
        self.input_stack.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        column.addWidget(self.input_stack, 1)

        self.source_label = QLabel(group)
        self.source_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.source_label.setWordWrap(True)
        # Room for two lines, so the tools below do not jump when the caption changes.
        self.source_label.setMinimumHeight(2 * self.source_label.fontMetrics().lineSpacing())
        column.addWidget(self.source_label)

        # Drawing tools: one of brush / eraser / fill, and the brush size.
        tools = QHBoxLayout()
        self.tool_buttons: dict[Tool, QToolButton] = {}
        self._tool_group = QButtonGroup(self)
        for tool, text, key, tip in (
                (Tool.BRUSH, "&Brush", "B", "Draw in white, like the dataset's items (B); pen pressure sets the width"),
                (Tool.ERASER, "&Eraser", "E", "Erase to black (E); the right mouse button erases, too"),
                (Tool.FILL, "&Fill", "F", "Fill the dark area you click with white (F): "
                                          "turns a closed outline into a solid silhouette")):
            button = QToolButton(group)
            button.setText(text)
            button.setCheckable(True)
            button.setToolTip(tip)
            button.setShortcut(key)  # the key its tooltip names (in place of an Alt+letter mnemonic)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            button.clicked.connect(lambda checked=False, chosen=tool: self.set_tool(chosen))
            self._tool_group.addButton(button)
            self.tool_buttons[tool] = button
            tools.addWidget(button)
        self.tool_buttons[self.canvas.tool].setChecked(True)
        tools.addSpacing(8)
        size_label = QLabel("Size:", group)
        tools.addWidget(size_label)
        self.brush_slider = QSlider(Qt.Orientation.Horizontal, group)
        self.brush_spin = QSpinBox(group)
        for control in (self.brush_slider, self.brush_spin):
            control.setRange(*BRUSH_SIZE_RANGE)
            control.setValue(round(self.canvas.brush_size))
            control.setToolTip(f"Brush and eraser width: the canvas is {LOGICAL_SIZE} wide "
                               "at any size on screen")
        self.brush_spin.setSuffix(" px")
        size_label.setBuddy(self.brush_spin)
        self.brush_slider.valueChanged.connect(self.brush_spin.setValue)
        self.brush_spin.valueChanged.connect(self.brush_slider.setValue)
        self.brush_spin.valueChanged.connect(self.canvas.set_brush_size)
        tools.addWidget(self.brush_slider, 1)
        tools.addWidget(self.brush_spin)
        column.addLayout(tools)

        edits = QHBoxLayout()
        self.undo_button = self._button("Undo", "Undo the last stroke, fill or clear (Ctrl+Z)", self.undo,
                                        QStyle.StandardPixmap.SP_ArrowBack)
        self.redo_button = self._button("Redo", "Redo what was undone last (Ctrl+Shift+Z)", self.redo,
                                        QStyle.StandardPixmap.SP_ArrowForward)
        self.clear_button = self._button("Clear", "Wipe the canvas (Ctrl+Backspace); undo brings it back",
                                         self.clear_canvas, QStyle.StandardPixmap.SP_DialogDiscardButton)
        self.undo_button.setEnabled(False)
        self.redo_button.setEnabled(False)
        self.draw_button = self._button("Back to drawing", "Show the drawing canvas again in place of the picture",
                                        self.show_canvas)
        self.draw_button.setEnabled(False)
        self.input_stack.currentChanged.connect(
            lambda index: self.draw_button.setEnabled(self.input_stack.widget(index) is not self.canvas))
        for button in (self.undo_button, self.redo_button, self.clear_button, self.draw_button):
            edits.addWidget(button)
        column.addLayout(edits)

        sources = QHBoxLayout()
        self.open_button = self._button(
            "Open…", "Open a picture file (PNG, JPEG, …) to classify (Ctrl+O); you can also drop files here",
            self.open_image_dialog, QStyle.StandardPixmap.SP_DialogOpenButton)
        self.paste_button = self._button("Paste", "Classify the picture on the clipboard (Ctrl+V)", self.paste_image)
        self.random_button = self._button("Random test image", "", self.show_random_test_image)
        for button in (self.open_button, self.paste_button, self.random_button):
            sources.addWidget(button)
        column.addLayout(sources)

        column.addWidget(self._build_error_bar(group))
        return group

    def _build_error_bar(self, parent: QWidget) -> MessageBar:
        """An inline message for pictures that cannot be used: no dialog to dismiss, the tab stays usable."""
        self.error_bar = MessageBar(parent, dismissable=True, framed=True, accessible_name="Error message")
        return self.error_bar

    def _set_tab_order(self) -> None:
        """Tab goes through the tools in the order they are seen: left to right, top to bottom."""
        chain = [*self.tool_buttons.values(), self.brush_slider, self.brush_spin, self.undo_button,
                 self.redo_button, self.clear_button, self.draw_button, self.open_button, self.paste_button,
                 self.random_button, self.inspect_button]
        for first, second in zip(chain, chain[1:]):
            QWidget.setTabOrder(first, second)

    def _build_network_input_group(self) -> QGroupBox:
        group = QGroupBox("What the network sees", self)
        column = self.network_column = QVBoxLayout(group)
        self.network_input_view = NetworkInputView(group)
        column.addWidget(self.network_input_view)
        caption = QLabel(f"{config.IMAGE_SIZE} × {config.IMAGE_SIZE} pixels, cropped and centred "
                         "like the training images", group)
        caption.setWordWrap(True)
        caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        caption.setMaximumWidth(self.network_input_view.sizeHint().width() + 40)
        column.addWidget(caption)
        self.inspect_button = self._button(
            "Inspect this image ▸", "See the feature maps every layer computes for this image (Inspect tab)",
            self.inspect_current_image)
        column.addWidget(self.inspect_button)
        column.addStretch(1)
        return group

    def _build_prediction_group(self) -> QGroupBox:
        group = QGroupBox("What the network thinks", self)
        column = self.result_column = QVBoxLayout(group)
        self.prediction_label = QLabel(group)
        font = QFont(self.prediction_label.font())
        font.setPointSizeF(font.pointSizeF() * 1.8 if font.pointSizeF() > 0 else 18)
        font.setBold(True)
        self.prediction_label.setFont(font)
        self.prediction_label.setWordWrap(True)
        self.prediction_label.setAccessibleName("Prediction")
        self.prediction_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # Why the network is unsure and what to do about it; hidden while it is sure.
        self.unsure_bar = MessageBar(group, framed=True, accessible_name="Why the network is unsure")
        self.truth_label = QLabel(group)
        self.truth_label.setWordWrap(True)
        self.probability_bars = ProbabilityBars(parent=group)
        column.addWidget(self.prediction_label)
        column.addWidget(self.unsure_bar)
        column.addWidget(self.truth_label)
        column.addSpacing(8)
        column.addWidget(self.probability_bars)
        self.correction_button = CorrectionButton(group)  # what it stores is wired by the window (My examples)
        column.addWidget(self.correction_button)
        explanation_group = QGroupBox("Why? What in the picture made it say so", group)
        self.explanation_panel = ExplanationPanel(self.explanation_state, explanation_group)
        self.explanation_panel.connect_probability_bars(self.probability_bars)
        QVBoxLayout(explanation_group).addWidget(self.explanation_panel)
        column.addWidget(explanation_group)
        column.addStretch(1)
        return group

    def sizeHint(self) -> QSize:
        return QSize(1100, 640)

    @property
    def unsure(self) -> bool:
        """Whether the answer shown is "not sure"."""
        return self.unsure_bar.isVisibleTo(self)

    # ------------------------------------------------------------------ drawing
    @Slot()
    def undo(self) -> None:
        self.show_canvas()
        self.canvas.undo()

    @Slot()
    def redo(self) -> None:
        self.show_canvas()
        self.canvas.redo()

    @Slot()
    def clear_canvas(self) -> None:
        self.show_canvas()
        self.canvas.clear()

    def set_tool(self, tool: Tool) -> None:
        self.canvas.set_tool(tool)
        self.tool_buttons[Tool(tool)].setChecked(True)
        self.show_canvas()

    @Slot()
    def _update_history_buttons(self) -> None:
        self.undo_button.setEnabled(self.canvas.can_undo())
        self.redo_button.setEnabled(self.canvas.can_redo())

    @Slot()
    def show_canvas(self) -> None:
        """Show the drawing again (after a picture) and classify it."""
        if self.input_stack.currentWidget() is not self.canvas:
            self.input_stack.setCurrentWidget(self.canvas)
            self.classify_canvas()

    @Slot()
    def _on_canvas_changed(self) -> None:
        self.clear_error()
        self._classify_throttle.request()

    @Slot()
    def classify_canvas(self) -> None:
        """Canvas pixels -> the 28x28 input -> image_state (which updates the results)."""
        self._classify_throttle.cancel()
        pixels = self.canvas.pixels()
        try:
            prepared = prepare_pixels(pixels)
        except EmptyImageError:
            self.image_state.set_image(None, CANVAS_SOURCE, NOTHING_TO_CLASSIFY)
            return
        except ImageError as exc:
            self.image_state.set_image(None, CANVAS_SOURCE, str(exc))
            return
        self.image_state.set_image(prepared.image, CANVAS_SOURCE, picture=pixels, prepared=prepared)

    # ------------------------------------------------------------------ pictures
    @Slot()
    def open_image_dialog(self) -> None:
        store = Settings()
        start = store.get_dir(keys.CLASSIFY_LAST_DIR) or QStandardPaths.writableLocation(
            QStandardPaths.StandardLocation.PicturesLocation)
        path, _ = QFileDialog.getOpenFileName(self, "Open Image", str(start), FILE_FILTER)
        if path:
            store.set(keys.CLASSIFY_LAST_DIR, str(Path(path).parent))
            self.open_image_file_in_background(path)

    def open_image_file_in_background(self, path: Path | str) -> None:
        """Classify the picture in ``path`` once a worker has decoded it; the window stays responsive
        meanwhile and only the newest file counts. On failure say why in the tab and keep what was shown."""
        self._picture_task.start(open_picture_for_tab, Path(path))

    def open_image_file(self, path: Path | str) -> bool:
        """Classify the picture in ``path`` now (decoded in this thread); on failure say why in the tab and
        keep what was shown."""
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            opened = open_picture_for_tab(Path(path))
        except ImageError as exc:
            self.show_error(str(exc))
            return False
        finally:
            QApplication.restoreOverrideCursor()
        self._show_opened_picture(opened)
        return True

    @Slot(object)
    def _show_opened_picture(self, opened: OpenedPicture) -> None:
        prepared, picture, source = opened
        log.info("classifying the %s", source.description)
        self._show_picture(prepared, picture, source)

    def open_qimage(self, image: QImage, source: ImageSource) -> bool:
        """Classify a picture from the clipboard or a drop once a worker has found the item in it; False
        (and the reason shown) when there is no picture."""
        if image is None or image.isNull():
            self.show_error(f"The {source.kind} holds no picture that can be read")
            return False
        if max(image.width(), image.height()) > PHOTO_SIZE:  # as the core does for files: less work
            image = image.scaled(PHOTO_SIZE, PHOTO_SIZE, Qt.AspectRatioMode.KeepAspectRatio,
                                 Qt.TransformationMode.SmoothTransformation)
        self._picture_task.start(prepare_pasted_picture, qimage_to_rgba(image), source)
        return True

    @Slot()
    def paste_image(self) -> None:
        mime = QGuiApplication.clipboard().mimeData()
        if mime is None or not (_local_files(mime) or mime.hasImage()):
            self.show_error("The clipboard holds no picture. Copy an image or an image file, then paste.")
            return
        self.open_mime_data(mime, "clipboard")

    def open_mime_data(self, mime: QMimeData, kind: str) -> bool:
        """A pasted or dropped picture: the first local file, else the image data."""
        files = _local_files(mime)
        if files:
            self.open_image_file_in_background(files[0])
            return True
        if mime.hasImage():
            data = mime.imageData()
            image = data.toImage() if isinstance(data, QPixmap) else QImage(data) if data is not None else QImage()
            return self.open_qimage(image, ImageSource(kind, f"{'pasted' if kind == 'clipboard' else 'dropped'} picture"))
        return False

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if _local_files(event.mimeData()) or event.mimeData().hasImage():
            event.acceptProposedAction()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if _local_files(event.mimeData()) or event.mimeData().hasImage():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        event.acceptProposedAction()
        self.open_mime_data(event.mimeData(), "drop")

    def _show_picture(self, prepared: PreparedImage, picture: np.ndarray, source: ImageSource) -> None:
        """Make a photo's 28x28 version the current image; the picture view then shows it with its outline."""
        self.clear_error()
        self.image_state.set_image(prepared.image, source, picture=picture, prepared=prepared)

    def _display_picture(self) -> None:
        """Show the current image's picture with the found item outlined, or the 28x28 image itself."""
        picture, prepared = self.image_state.picture, self.image_state.prepared
        if picture is None:  # a dataset image (here or from another tab): its own square pixels
            self.picture_view.set_picture(to_grey_qimage(self.image_state.image), crisp=True)
        else:
            image = picture_qimage(picture)
            outlines = prepared.outlines if prepared is not None else ()
            size = prepared.picture_size if prepared is not None else None
            self.picture_view.set_picture(image, outlines, size)
        self.input_stack.setCurrentWidget(self.picture_view)

    # ------------------------------------------------------------------ test images
    @Slot()
    def _update_random_button(self) -> None:
        if self.data_state.dataset is not None:
            self.random_button.setEnabled(True)
            self.random_button.setToolTip("Classify a random image from the 10,000 Fashion-MNIST test images "
                                          "and see whether the network gets it right")
        else:
            self.random_button.setEnabled(False)
            why = (f"The dataset is not available: {self.data_state.error}" if self.data_state.error
                   else "The dataset is still loading…")
            self.random_button.setToolTip(why)

    @Slot()
    def show_random_test_image(self) -> None:
        index = self.data_state.random_test_index()
        if index is not None:
            self.show_test_image(index)

    def show_test_image(self, index: int) -> None:
        self.clear_error()
        self.image_state.set_image(*dataset_image(self.data_state.dataset, "test", index))

    # ------------------------------------------------------------------ results
    @Slot()
    def inspect_current_image(self) -> None:
        self.showTabRequested.emit("inspect")

    @Slot()
    def _on_image_changed(self) -> None:
        image, source = self.image_state.image, self.image_state.source
        self.network_input_view.set_image(image)
        if source is not None and source.kind == "canvas":
            self.input_stack.setCurrentWidget(self.canvas)  # the canvas itself is the picture
        elif source is not None and image is not None:
            self._display_picture()
        self.source_label.setText(self._describe_source(source))
        self.inspect_button.setEnabled(image is not None)
        self.refresh_prediction()

    def _describe_source(self, source: ImageSource | None) -> str:
        if source is None or source.kind == "canvas":
            return DRAWING_HINT
        if source.kind == "dataset":
            return f"Fashion-MNIST {source.description}"
        if self.picture_view.has_outline and self.input_stack.currentWidget() is self.picture_view:
            return f"{source.description}: {OUTLINE_CAPTION}"
        return source.description

    @Slot()
    def refresh_prediction(self) -> None:
        """Classify the current image with the current model and show the result."""
        image, source = self.image_state.image, self.image_state.source
        true_label = source.true_label if source is not None else None
        self.truth_label.setText("" if true_label is None else f"True class: {config.CLASS_NAMES[true_label]}")
        self.unsure_bar.clear()
        if not self.model_state.ready:
            self.prediction_label.setText(LOADING_MODEL if self.model_state.loading else NO_MODEL)
            self.probability_bars.set_probabilities(None)
            return
        if image is None:
            self.prediction_label.setText(self.image_state.message or NOTHING_TO_CLASSIFY)
            self.probability_bars.set_probabilities(None)
            return
        try:
            prediction = self.model_state.classifier.classify(image)
        except Exception as exc:  # a model that does not fit the input must not crash the window
            log.exception("classification failed")
            self.prediction_label.setText(f"Classification failed: {exc}")
            self.probability_bars.set_probabilities(None)
            return
        if prediction.unsure:
            self.prediction_label.setText(unsure_headline(prediction))
            self.unsure_bar.show_message(hint_text(prediction, source), "information")
        else:
            self.prediction_label.setText(f"{prediction.label} – {prediction.confidence:.0%}")
        self.probability_bars.set_probabilities(prediction.probabilities, true_label, dimmed=prediction.unsure)
        if true_label is not None:
            verdict = "✓ correct" if prediction.index == true_label else "✗ wrong"
            self.truth_label.setText(f"True class: {config.CLASS_NAMES[true_label]} – {verdict}")

    # ------------------------------------------------------------------ messages
    def show_error(self, message: str) -> None:
        log.info("picture not used: %s", message)
        self.error_bar.show_message(message, "warning")

    @Slot()
    def clear_error(self) -> None:
        self.error_bar.clear()

    @property
    def error_message(self) -> str:
        return self.error_bar.text() if self.error_bar.isVisibleTo(self) else ""

    def stop_and_wait(self) -> None:
        """Stop the pending live classification, the decoding of a picture file and the explanation."""
        self._classify_throttle.cancel()
        self._picture_task.stop_and_wait()
        if self._owns_explanation_state:
            self.explanation_state.stop_and_wait()


def _local_files(mime: QMimeData | None) -> list[str]:
    if mime is None or not mime.hasUrls():
        return []
    return [url.toLocalFile() for url in mime.urls() if url.isLocalFile()]
