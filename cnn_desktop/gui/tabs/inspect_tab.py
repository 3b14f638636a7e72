"""The Inspect tab: what every layer makes of the current image.

Left: the image the network sees and the layer table. Centre: the selected
layer's feature maps (all channels) next to one map enlarged with its receptive
field; the learned filters; and a hands-on "how it works" page.

It follows the shared image live (drawing in Classify updates the maps), but
recomputes at most ~20 times a second and only while the tab is visible: a
change while hidden just marks the maps stale until the tab is shown.
"""

from __future__ import annotations

import logging

import numpy as np
from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QLabel, QPushButton, QSplitter, QTabWidget, QVBoxLayout, QWidget

from cnn_desktop import config
from cnn_desktop.core.convolution_demo import ConvolutionLayer, keras_convolution
from cnn_desktop.core.receptive_field import ReceptiveField, keras_layer_geometries, receptive_fields
from cnn_desktop.core.inference import LayerInfo
from cnn_desktop.gui.state.explanation_state import ExplanationState
from cnn_desktop.gui.state.filter_pattern_state import FilterPatternState
from cnn_desktop.gui.widgets.explanation_panel import ExplanationPanel
from cnn_desktop.gui.widgets.feature_map_grid import FeatureMapGrid
from cnn_desktop.gui.widgets.filter_pattern_view import FilterPatternView
from cnn_desktop.gui.widgets.filter_grid import FilterGrid
from cnn_desktop.gui.widgets.array_images import to_grey_qimage
from cnn_desktop.gui.widgets.how_it_works_panel import HowItWorksPanel
from cnn_desktop.gui.state.image_state import ImageSource
from cnn_desktop.gui.widgets.layer_list import LayerList
from cnn_desktop.gui.widgets.receptive_field_view import ReceptiveFieldView
from cnn_desktop.gui.throttle import Throttle

log = logging.getLogger(__name__)

REFRESH_INTERVAL_MS = 50  # coalesce image changes: at most ~20 recomputations per second
THUMBNAIL_SCALE = 5  # the 28×28 image drawn 140 px wide, pixels kept square and sharp
NO_IMAGE_HINT = ("No image yet. Draw something in the Classify tab (the maps here follow your strokes), "
                 "open a picture there, or pick a random test image.")


class InspectTab(QWidget):
    def __init__(self, model_state, image_state, data_state, parent=None):
        super().__init__(parent)
        self.model_state, self.image_state, self.data_state = model_state, image_state, data_state
        self._extractor = None
        self._maps: dict[str, np.ndarray] | None = None  # layer name -> (H, W, C) for the current image
        self._fields: dict[str, ReceptiveField] = {}
        self._first_convolution: ConvolutionLayer | None = None  # the conv layer that reads the image itself
        self._enlarged_channel = 0
        self._dirty = True
        self.compute_count = 0

        # ---- left column: the image and the layers
        self.thumbnail = QLabel()
        self.thumbnail.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.thumbnail.setMinimumSize(config.IMAGE_SIZE * THUMBNAIL_SCALE, config.IMAGE_SIZE * THUMBNAIL_SCALE)
        self.thumbnail.setToolTip("The 28×28 image the network sees")
        self.source_label = QLabel()
        self.source_label.setWordWrap(True)
        self.source_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hint_label = QLabel(NO_IMAGE_HINT)
        self.hint_label.setWordWrap(True)
        self.random_button = QPushButton("Pick a &random test image")
        self.random_button.clicked.connect(self.pick_random_test_image)
        self.layer_list = LayerList()
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        for widget in (self.thumbnail, self.source_label, self.hint_label, self.random_button):
            left_layout.addWidget(widget)
        left_layout.addWidget(QLabel("<b>Layers</b> (select one)"))
        left_layout.addWidget(self.layer_list, 1)

        # ---- centre: feature maps / filters / how it works
        self.maps_caption = QLabel()
        self.maps_caption.setWordWrap(True)
        self.feature_maps = FeatureMapGrid()
        self.receptive_field = ReceptiveFieldView()
        maps_column = QWidget()
        maps_layout = QVBoxLayout(maps_column)
        maps_layout.setContentsMargins(0, 0, 0, 0)
        maps_layout.addWidget(self.maps_caption)
        maps_layout.addWidget(self.feature_maps, 1)
        # The grid on top, the enlarged map with its explanation below: both get the full width.
        maps_page = QSplitter(Qt.Orientation.Vertical)
        maps_page.addWidget(maps_column)
        maps_page.addWidget(self.receptive_field)
        maps_page.setStretchFactor(0, 4)
        maps_page.setStretchFactor(1, 3)
        maps_page.setSizes([420, 320])
        self.filters = FilterGrid()
        self.how_it_works = HowItWorksPanel()
        self.pages = QTabWidget()
        self.pages.addTab(maps_page, "&Feature maps")
        self.pages.addTab(self.filters, "Fi&lters")
        self.pages.addTab(self.how_it_works, "&How it works")
        self.explanation_state = ExplanationState(model_state, image_state, self)
        self.explanation_panel = ExplanationPanel(self.explanation_state)
        self.pages.addTab(self.explanation_panel, "&Why?")
        self.pages.setTabToolTip(3, "Which parts of the image made the network choose its class (Grad-CAM, "
                                    "occlusion, SmoothGrad, integrated gradients)")
        self.filter_pattern_state = FilterPatternState(model_state, data_state, self)
        self.filter_patterns = FilterPatternView(self.filter_pattern_state)
        self.pages.addTab(self.filter_patterns, "What a filter look&s for")
        self.pages.setTabToolTip(4, "The input pattern that excites a filter most, and the test images that do")
        # A filter clicked among the filters, or a conv layer's feature map clicked, is the filter shown there.
        self.filters.grid.mapClicked.connect(self._choose_filter)
        self.feature_maps.mapClicked.connect(self._choose_filter)
        self.pages.setTabToolTip(0, "What each channel of the selected layer detects in the image")
        self.pages.setTabToolTip(1, "The learned 3×3 kernels of the selected convolution layer")
        self.pages.setTabToolTip(2, "Convolution, padding, pooling and flattening on small numbers you can edit")

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(self.pages)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([360, 840])
        QVBoxLayout(self).addWidget(splitter)

        self._refresh_throttle = Throttle(self.refresh, REFRESH_INTERVAL_MS, self)

        model_state.modelChanged.connect(self._on_model_changed)
        model_state.weightsChanged.connect(self._on_weights_changed)
        model_state.loadingChanged.connect(self._schedule_refresh)
        image_state.imageChanged.connect(self._on_image_changed)
        data_state.loaded.connect(self._update_random_button)
        data_state.failed.connect(self._update_random_button)
        data_state.loadingChanged.connect(self._update_random_button)
        self.layer_list.layerSelected.connect(self._on_layer_selected)
        self.feature_maps.mapClicked.connect(self._on_map_clicked)

        self._update_random_button()
        self._update_image_panel()
        if model_state.feature_extractor is not None:
            self._on_model_changed()

    # ------------------------------------------------------------------ the image
    @Slot()
    def pick_random_test_image(self) -> None:
        index = self.data_state.random_test_index()
        if index is not None:
            self.image_state.set_dataset_image(self.data_state.dataset, "test", index)

    @Slot()
    def _update_random_button(self, *_) -> None:
        ready = self.data_state.dataset is not None
        self.random_button.setEnabled(ready)
        if ready:
            self.random_button.setToolTip("Show the network a random image from the 10,000 test images")
        elif self.data_state.error:
            self.random_button.setToolTip(f"The dataset is not available: {self.data_state.error}")
        else:
            self.random_button.setToolTip("The dataset is still loading")

    def _update_image_panel(self) -> None:
        image = self.image_state.image
        self.hint_label.setVisible(image is None)
        if image is None:
            self.thumbnail.clear()
            self.thumbnail.setText("no image")
            self.source_label.setText(self.image_state.message)
            return
        picture = to_grey_qimage(image)
        size = picture.width()
        ratio = self.devicePixelRatioF()
        side = int(size * THUMBNAIL_SCALE * ratio)
        pixmap = QPixmap.fromImage(picture.scaled(side, side, Qt.AspectRatioMode.KeepAspectRatio,
                                                  Qt.TransformationMode.FastTransformation))
        pixmap.setDevicePixelRatio(ratio)
        self.thumbnail.setPixmap(pixmap)
        self.source_label.setText(self._source_text(self.image_state.source))

    @staticmethod
    def _source_text(source: ImageSource | None) -> str:
        if source is None:
            return "The current image"
        if source.kind == "dataset":
            label = "" if source.true_label is None else f": {config.CLASS_NAMES[source.true_label]}"
            return f"Dataset image {source.description}{label}"
        if source.kind == "canvas":
            return "Your drawing (from the Classify tab)"
        return f"{source.kind.capitalize()}: {source.description}"

    @Slot()
    def _on_image_changed(self) -> None:
        self._schedule_refresh()

    # ------------------------------------------------------------------ the model
    @Slot()
    def _on_model_changed(self) -> None:
        self._extractor = self.model_state.feature_extractor
        self._maps = None
        previous = self.layer_list.selected_layer()
        self._fields, self._first_convolution = {}, None
        if self._extractor is None:
            self.layer_list.set_layers([])
            self._schedule_refresh()
            return
        model = self.model_state.model
        try:
            self._fields = receptive_fields(keras_layer_geometries(model))
        except ValueError as exc:  # an architecture the receptive-field maths does not cover
            log.info("no receptive fields for this model: %s", exc)
        self._read_first_convolution()
        self.layer_list.set_layers(self._extractor.layers)
        names = [info.name for info in self._extractor.layers if info.has_feature_maps]
        preferred = [previous.name] if previous is not None else []
        preferred += self._extractor.conv_layer_names[:1] + names[:1]
        for name in preferred:
            if self.layer_list.select_layer(name):
                break
        self._schedule_refresh()

    def _read_first_convolution(self) -> None:
        """The weights of the convolution that reads the image directly (its multiply-adds can be written out)."""
        self._first_convolution = None
        model = self.model_state.model
        if model is None or not model.layers or type(model.layers[0]).__name__ != "Conv2D":
            return
        try:
            self._first_convolution = keras_convolution(model.layers[0])
        except ValueError as exc:
            log.info("first convolution not shown step by step: %s", exc)

    @Slot()
    def _on_weights_changed(self) -> None:
        self._read_first_convolution()
        self._show_filters(self.layer_list.selected_layer())
        self._schedule_refresh()

    # ------------------------------------------------------------------ recomputation
    @Slot()
    def _schedule_refresh(self, *_) -> None:
        self._dirty = True
        if self.isVisible():
            self._refresh_throttle.request()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._dirty:
            self._refresh_throttle.request()

    @Slot()
    def refresh(self) -> None:
        """Recompute every layer's maps for the current image and redraw (one forward pass, a few ms)."""
        self._dirty = False
        self._update_image_panel()
        image = self.image_state.image
        self._maps = None
        if self._extractor is None:
            self._show_without_maps("Loading the model…" if self.model_state.loading else
                                    "No model yet: train one in the Train tab or load one with File ▸ Load Model.")
            return
        if image is None:
            self._show_without_maps(NO_IMAGE_HINT)
            return
        try:
            self._maps = self._extractor.feature_maps(image)
        except ValueError as exc:  # e.g. an image of the wrong size
            log.warning("feature maps not computed: %s", exc)
            self._show_without_maps(f"The feature maps could not be computed: {exc}")
            return
        self.compute_count += 1
        self._show_maps()

    def _show_without_maps(self, message: str) -> None:
        self.maps_caption.setText("")
        self.feature_maps.show_message(message)
        self.receptive_field.clear(message)

    def _show_maps(self) -> None:
        layer = self.layer_list.selected_layer()
        if self._maps is None or layer is None or layer.name not in self._maps:
            return
        maps = self._maps[layer.name]
        height, width, channels = maps.shape
        self.maps_caption.setText(f"<b>{layer.name}</b> ({layer.type}): all {channels} feature maps of "
                                  f"{height}×{width} pixels. Hover to read a value; click a map to enlarge it "
                                  "and see where that pixel looks in the image.")
        self.feature_maps.set_maps(maps)
        self._enlarged_channel = min(self._enlarged_channel, channels - 1)
        self._enlarge(layer, self._enlarged_channel)

    def _enlarge(self, layer: LayerInfo, channel: int, pixel: tuple[int, int] | None = None) -> None:
        convolution = self._first_convolution
        if convolution is not None and convolution.name != layer.name:
            convolution = None
        self.feature_maps.select(channel)
        self.receptive_field.show_map(layer, channel, self._maps[layer.name][..., channel], self.image_state.image,
                                      self._fields.get(layer.name), convolution, pixel)

    # ------------------------------------------------------------------ selection
    @Slot(str)
    def _on_layer_selected(self, name: str) -> None:
        layer = self.layer_list.selected_layer()
        self._show_filters(layer)
        if name != self.filter_pattern_state.layer:
            self.filter_pattern_state.select(name, 0)  # a convolution picked here is the one looked into
        self._enlarged_channel = 0
        if self._maps is not None:
            self._show_maps()
        else:
            self._schedule_refresh()

    def _show_filters(self, layer: LayerInfo | None) -> None:
        if layer is None or self._extractor is None:
            self.filters.show_message("Select a convolution layer to see its filters.")
        elif layer.has_filters:
            self.filters.set_filters(layer.name, self._extractor.filters(layer.name))
        else:
            self.filters.show_message(f"{layer.name} is a {layer.type} layer: it has no filters of its own. "
                                      "Select a Conv2D layer to see its learned kernels.")

    @Slot(int, int, int)
    def _on_map_clicked(self, channel: int, row: int, col: int) -> None:
        layer = self.layer_list.selected_layer()
        if self._maps is None or layer is None:
            return
        self._enlarged_channel = channel
        self._enlarge(layer, channel, (row, col))

    @Slot(int, int, int)
    def _choose_filter(self, channel: int, *_pixel) -> None:
        layer = self.layer_list.selected_layer()
        if layer is not None:
            self.filter_pattern_state.select(layer.name, channel)

    def stop_and_wait(self) -> None:
        """Stop the pending refresh, the explanation and the filter pattern in progress."""
        self._refresh_throttle.cancel()
        self.explanation_state.stop_and_wait()
        self.filter_pattern_state.stop_and_wait()
