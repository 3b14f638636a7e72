""""Why did it say that?": the explanation map of the current image, over the 28x28 input and the picture.

A view of an ``ExplanationState`` (handed in; this module does not import the
state layer): its controls change the state's choices, and it redraws
whenever the state has a new explanation, partial ones included (occlusion
fills in row by row). Opacity only redraws; nothing is recomputed for it.
"""

from __future__ import annotations

import re

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (QComboBox, QGridLayout, QHBoxLayout, QLabel, QProgressBar, QPushButton, QSlider,
                               QSpinBox, QVBoxLayout)

from cnn_desktop import config
from cnn_desktop.core.explain import GRADCAM, METHOD_DESCRIPTIONS, METHOD_TITLES, METHODS, OCCLUSION
from cnn_desktop.core.explanation_drawing import frame_box, heat_rgba
from cnn_desktop.gui.widgets.colour_scale_legend import ColourScaleLegend
from cnn_desktop.gui.widgets.array_images import picture_qimage, to_grey_qimage
from cnn_desktop.gui.widgets.on_demand_view import OnDemandView
from cnn_desktop.gui.widgets.heatmap_overlay_view import HeatmapOverlayView

OVERLAY_SIDE = 140
LEGEND_MIN_WIDTH = 130
LAST_CONVOLUTION = ""  # layer combo data for "the last convolution" (the state's default)
CLICK_HINT = "Click a class in the probability bars to ask “why not that one?”."


def short_description(method: str, sentences: int = 1) -> str:
    """The first sentences of the method's plain explanation (the whole text is in the tooltip)."""
    parts = re.split(r"(?<=[.!?])\s+", METHOD_DESCRIPTIONS[method])
    return " ".join(parts[:sentences])


class ExplanationPanel(OnDemandView):
    def __init__(self, state, parent=None):
        super().__init__(parent)
        self.state = state
        self._shown: tuple = (None, None)  # the image and picture the views show, to convert each picture once
        self._bars = None  # the probability bars that choose the class, if connected

        self.method_choice = QComboBox(self)
        for method in METHODS:
            self.method_choice.addItem(METHOD_TITLES[method], method)
            self.method_choice.setItemData(self.method_choice.count() - 1, METHOD_DESCRIPTIONS[method],
                                           Qt.ItemDataRole.ToolTipRole)
        self.method_choice.setAccessibleName("Explanation method")
        self.layer_label = QLabel("La&yer:", self)
        self.layer_choice = QComboBox(self)
        self.layer_choice.setToolTip("The convolution whose feature maps Grad-CAM reads: the last one gives coarse "
                                     "areas, earlier ones finer detail")
        self.layer_label.setBuddy(self.layer_choice)
        for combo in (self.method_choice, self.layer_choice):
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.patch_label = QLabel("&Patch:", self)
        self.patch_spin = QSpinBox(self)
        self.patch_spin.setRange(1, config.IMAGE_SIZE)
        self.patch_spin.setSuffix(" px")
        self.patch_spin.setToolTip("The side of the square covered at a time (of the 28×28 input)")
        self.patch_label.setBuddy(self.patch_spin)
        self.stride_label = QLabel("&Stride:", self)
        self.stride_spin = QSpinBox(self)
        self.stride_spin.setRange(1, config.IMAGE_SIZE)
        self.stride_spin.setSuffix(" px")
        self.stride_spin.setToolTip("How far the square moves each time: smaller is smoother but slower")
        self.stride_label.setBuddy(self.stride_spin)
        method_label = QLabel("&Method:", self)
        method_label.setBuddy(self.method_choice)
        controls = QHBoxLayout()
        for widget in (method_label, self.method_choice, self.layer_label, self.layer_choice, self.patch_label,
                       self.patch_spin, self.stride_label, self.stride_spin):
            controls.addWidget(widget)
        controls.addStretch(1)

        self.class_label = QLabel(self)
        self.class_label.setAccessibleName("Explained class")
        self.class_label.setWordWrap(True)
        self.predicted_button = QPushButton("Explain the prediction", self)
        self.predicted_button.setToolTip("Go back to explaining the class the network predicted")
        self.predicted_button.clicked.connect(self._explain_prediction)
        class_row = QHBoxLayout()
        class_row.addWidget(self.class_label, 1)
        class_row.addWidget(self.predicted_button)

        self.input_view = HeatmapOverlayView("Explanation over the network input", OVERLAY_SIDE, crisp=True,
                                             parent=self)
        self.picture_view = HeatmapOverlayView("Explanation over your picture", OVERLAY_SIDE, parent=self)
        views = QGridLayout()
        views.addWidget(self.input_view, 0, 0)
        views.addWidget(self.picture_view, 0, 1)
        self.input_caption = QLabel("what the network saw (28 × 28)", self)
        self.picture_caption = QLabel("your picture", self)
        for column, caption in enumerate((self.input_caption, self.picture_caption)):
            caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
            caption.setWordWrap(True)
            caption.setFixedWidth(OVERLAY_SIDE)
            views.addWidget(caption, 1, column)

        self.opacity_slider = QSlider(Qt.Orientation.Horizontal, self)
        self.opacity_slider.setRange(0, 100)
        self.opacity_slider.setToolTip("How strongly the map covers the picture")
        self.opacity_slider.setAccessibleName("Overlay opacity")
        opacity_label = QLabel("&Opacity:", self)
        opacity_label.setBuddy(self.opacity_slider)
        self.progress = QProgressBar(self)
        self.progress.setFormat("%v of %m rows")
        self.progress.setMaximumWidth(160)
        self.progress.setVisible(False)
        self.status_label = QLabel(self)
        self.status_label.setAccessibleName("Explanation status")
        opacity_row = QHBoxLayout()
        opacity_row.addWidget(opacity_label)
        opacity_row.addWidget(self.opacity_slider, 1)
        opacity_row.addWidget(self.progress)
        opacity_row.addWidget(self.status_label)

        # Beside the pictures: what the colours mean; below them, what the method does (all of it in the tooltip).
        self.legend = ColourScaleLegend(self)
        self.legend.setMinimumWidth(LEGEND_MIN_WIDTH)
        side_column = QVBoxLayout()
        side_column.addWidget(self.legend)
        side_column.addStretch(1)
        views.addLayout(side_column, 0, 2, 2, 1)
        views.setColumnStretch(2, 1)
        self.description = QLabel(self)
        self.description.setWordWrap(True)
        self.description.setAccessibleName("What the method does")
        self.description.setTextFormat(Qt.TextFormat.PlainText)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(controls)
        layout.addLayout(class_row)
        layout.addLayout(views)
        layout.addLayout(opacity_row)
        layout.addWidget(self.description)

        # Bound methods, not lambdas holding ``self``: no reference cycles through the signal connections.
        self.method_choice.currentIndexChanged.connect(self._choose_method)
        self.layer_choice.currentIndexChanged.connect(self._choose_layer)
        self.patch_spin.valueChanged.connect(self._choose_occlusion)
        self.stride_spin.valueChanged.connect(self._choose_occlusion)
        self.opacity_slider.valueChanged.connect(self._choose_opacity)
        state.optionsChanged.connect(self._show_options)
        state.layersChanged.connect(self._show_layers)
        state.explanationChanged.connect(self._show_explanation)
        state.progressChanged.connect(self._show_progress)
        state.runningChanged.connect(self._show_running)
        self._show_layers()
        self._show_options()
        self._show_explanation()

    def connect_probability_bars(self, bars) -> None:
        """Clicking a class in ``bars`` explains that class; the bars mark the class explained."""
        self._bars = bars
        bars.classClicked.connect(self.state.set_class_index)
        self.state.explanationChanged.connect(self._mark_bars)
        self.state.optionsChanged.connect(self._mark_bars)
        self._mark_bars()

    @Slot()
    def _mark_bars(self) -> None:
        if self._bars is not None:
            self._bars.set_marked_index(self.state.explained_class)

    # ------------------------------------------------------------------ choices
    @Slot()
    def _explain_prediction(self) -> None:
        self.state.set_class_index(None)

    @Slot(int)
    def _choose_method(self, index: int) -> None:
        self.state.set_method(self.method_choice.itemData(index))

    @Slot(int)
    def _choose_layer(self, index: int) -> None:
        self.state.set_layer(self.layer_choice.itemData(index) or None)

    @Slot()
    def _choose_occlusion(self, *_value) -> None:
        self.state.set_occlusion(self.patch_spin.value(), self.stride_spin.value())

    @Slot(int)
    def _choose_opacity(self, value: int) -> None:
        self.state.set_opacity(value / 100)

    # ------------------------------------------------------------------ showing the state
    @Slot()
    def _show_layers(self) -> None:
        self.layer_choice.blockSignals(True)
        self.layer_choice.clear()
        layers = self.state.layers
        if layers:
            self.layer_choice.addItem(f"last ({layers[-1]})", LAST_CONVOLUTION)
            for name in layers:
                self.layer_choice.addItem(name, name)
        self.layer_choice.setCurrentIndex(max(0, self.layer_choice.findData(self.state.layer or LAST_CONVOLUTION)))
        self.layer_choice.blockSignals(False)

    @Slot()
    def _show_options(self) -> None:
        state = self.state
        for control, value in ((self.method_choice, self.method_choice.findData(state.method)),
                               (self.layer_choice, max(0, self.layer_choice.findData(state.layer or LAST_CONVOLUTION))),
                               (self.patch_spin, state.patch_size), (self.stride_spin, state.stride),
                               (self.opacity_slider, round(state.opacity * 100))):
            control.blockSignals(True)
            control.setCurrentIndex(value) if isinstance(control, QComboBox) else control.setValue(value)
            control.blockSignals(False)
        gradcam, occlusion = state.method == GRADCAM, state.method == OCCLUSION
        for widget in (self.layer_label, self.layer_choice):
            widget.setVisible(gradcam)
        for widget in (self.patch_label, self.patch_spin, self.stride_label, self.stride_spin):
            widget.setVisible(occlusion)
        self.method_choice.setToolTip(METHOD_DESCRIPTIONS[state.method])
        self.description.setText(short_description(state.method))
        self.description.setToolTip(METHOD_DESCRIPTIONS[state.method])
        self.predicted_button.setEnabled(state.class_index is not None)
        self._show_explanation()

    @Slot(bool)
    def _show_running(self, running: bool) -> None:
        if not running:
            self.progress.setVisible(False)
        self._show_status()

    @Slot(int, int)
    def _show_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, total)
        self.progress.setValue(done)
        self.progress.setVisible(done < total)

    def _show_status(self) -> None:
        explained = self.state.explained
        if self.state.running:
            self.status_label.setText("computing…")
        elif explained is not None:
            self.status_label.setText(f"{explained.seconds * 1000:.0f} ms")
        else:
            self.status_label.setText("")

    @Slot()
    def _show_explanation(self) -> None:
        explained = self.state.explained
        self._show_status()
        if explained is None:
            message = self.state.message or "No explanation yet"
            for view in (self.input_view, self.picture_view):
                view.set_picture(None)
                view.set_heat(None)
                view.set_message(message)
            self.class_label.setText(message)
            self.legend.set_legend(False, "")
            self._shown = (None, None)
            return
        explanation = explained.explanation
        self._show_pictures(explained)
        heat = heat_rgba(explanation.heatmap, explanation.signed, self.state.opacity)
        self.input_view.set_heat(heat)
        self.picture_view.set_heat(heat)
        chosen = "" if self.state.class_index is None else f" (the network predicted {explanation.predicted_name})"
        layer = f" on {explanation.layer}" if explanation.layer else ""
        partial = "" if explanation.complete else " – filling in…"
        self.class_label.setText(f"Why <b>{explanation.class_name}</b>?{chosen} "
                                 f"{METHOD_TITLES[explanation.method]}{layer}{partial}. {CLICK_HINT}")
        self.legend.set_legend(explanation.signed, explanation.legend())

    def _show_pictures(self, explained) -> None:
        if explained.image is self._shown[0] and explained.picture is self._shown[1]:
            return
        self._shown = (explained.image, explained.picture)
        self.input_view.set_picture(to_grey_qimage(explained.image))
        if explained.picture is None:  # a dataset image: the 28x28 image is the picture
            self.picture_view.set_picture(to_grey_qimage(explained.image), crisp=True)
            self.picture_caption.setText("the picture: a 28 × 28 dataset image")
            return
        picture = picture_qimage(explained.picture)
        frame = None
        if explained.prepared is not None:
            frame = frame_box(explained.prepared, (picture.width(), picture.height()))
        self.picture_view.set_picture(picture, frame, crisp=False)
        self.picture_caption.setText("your picture")

    @property
    def shows_overlay(self) -> bool:
        """Both views show a map over a picture."""
        return self.input_view.has_heat and self.picture_view.has_heat
