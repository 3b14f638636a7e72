"""The Inspect tab with a real trained model, the real dataset and real widgets (offscreen), driven by mouse and keys.

Uses the ``quick_model_path`` fixture (a seed model trained briefly) so the tests do not depend on the
bundled model being present.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import QAbstractItemView, QApplication

from cnn_desktop.core.convolution_demo import format_number
from cnn_desktop.gui.state.data_state import DataState
from cnn_desktop.gui.state.image_state import ImageSource, ImageState
from cnn_desktop.gui.state.model_state import ModelState


@pytest.fixture(scope="module")
def quick_model(quick_model_path):
    from cnn_desktop.core.model_io import load_model

    return load_model(quick_model_path)


@pytest.fixture
def states(qtbot, quick_model, quick_model_path):
    model, card = quick_model
    model_state, image_state, data_state = ModelState(), ImageState(), DataState()
    model_state.set_model(model, card, quick_model_path)
    with qtbot.waitSignal(data_state.loaded, timeout=60_000):
        data_state.load()
    yield model_state, image_state, data_state
    data_state.stop_and_wait()


@pytest.fixture
def tab(qtbot, states):
    from cnn_desktop.gui.tabs.inspect_tab import InspectTab

    widget = InspectTab(*states)
    qtbot.addWidget(widget)
    widget.resize(1200, 800)
    widget.show()
    qtbot.waitExposed(widget)
    yield widget
    widget.stop_and_wait()


def show_test_image(image_state, dataset, index: int) -> np.ndarray:
    image = dataset.test_images[index].astype(np.float32) / 255.0
    image_state.set_image(image, ImageSource("dataset", f"test #{index}", int(dataset.test_labels[index])))
    return image


def click_layer(qtbot, tab, name: str) -> None:
    table = tab.layer_list
    item = table.item(table.row_of(name), 0)
    table.scrollToItem(item)
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=table.visualItemRect(item).center())


def click_scene(qtbot, graphics_view, scene_point) -> None:
    """Click where ``scene_point()`` is on screen, once layout and painting have settled.

    pyqtgraph applies a new view range when it next paints; a user only ever clicks on a painted view.
    """
    last = []

    def settled() -> bool:
        last.append(graphics_view.mapFromScene(scene_point()))
        return len(last) > 1 and last[-1] == last[-2]

    qtbot.waitUntil(settled)
    qtbot.mouseClick(graphics_view.viewport(), Qt.MouseButton.LeftButton, pos=last[-1])


def tile_point(grid, channel: int, row: int, col: int) -> QPointF:
    """Scene position of the centre of one pixel of one tile, where the grid's tile layout draws it."""
    top, left = grid.tile_layout.origin(channel)
    return grid.image.mapToScene(QPointF(left + col + 0.5, top + row + 0.5))


def map_point(view, row: int, col: int) -> QPointF:
    """Scene position of the centre of one pixel of the receptive-field view's enlarged map."""
    return view.map_image.mapToScene(QPointF(col + 0.5, row + 0.5))


def tile_labels(grid) -> list[str]:
    """The labels drawn over the tiles, in the order they were drawn (what the user reads)."""
    return [item.toPlainText() for item in grid.plot.items if isinstance(item, pg.TextItem)]


def explanation_text(view) -> str:
    """The receptive-field view's explanation as the user reads it (without markup)."""
    document = QTextDocument()
    document.setHtml(view.explanation.text())
    return document.toPlainText()


def wait_for_maps(qtbot, tab, count: int) -> None:
    qtbot.waitUntil(lambda: tab.compute_count >= count, timeout=10_000)


def test_without_an_image_it_offers_a_random_test_image(qtbot, tab, states):
    _, image_state, data_state = states
    assert image_state.image is None
    assert tab.hint_label.isVisible() and "Classify" in tab.hint_label.text()
    assert tab.random_button.isEnabled()
    qtbot.mouseClick(tab.random_button, Qt.MouseButton.LeftButton)
    assert image_state.image is not None and image_state.source.kind == "dataset"
    index = int(image_state.source.description.split("#")[1])
    np.testing.assert_allclose(image_state.image, data_state.dataset.test_images[index] / 255.0, atol=1e-6)
    wait_for_maps(qtbot, tab, 1)
    assert not tab.hint_label.isVisible()
    assert tab.feature_maps.channel_count == 32
    assert "Dataset image test #" in tab.source_label.text()


def test_without_a_model_or_dataset_it_says_so(qtbot):
    from cnn_desktop.gui.tabs.inspect_tab import InspectTab

    model_state, image_state, data_state = ModelState(), ImageState(), DataState()
    widget = InspectTab(model_state, image_state, data_state)
    qtbot.addWidget(widget)
    widget.show()
    image_state.set_image(np.zeros((28, 28), np.float32), ImageSource("canvas", "drawing"))
    qtbot.waitUntil(lambda: "No model yet" in widget.feature_maps.message_label.text())
    assert widget.feature_maps.message_label.isVisible()
    assert not widget.random_button.isEnabled()
    assert "loading" in widget.random_button.toolTip()
    data_state.error = "no Fashion-MNIST files found"
    data_state.failed.emit(data_state.error)
    assert "no Fashion-MNIST files found" in widget.random_button.toolTip()
    assert widget.source_label.text() == "Your drawing (from the Classify tab)"


def test_every_channel_of_every_map_layer_is_shown(qtbot, tab, states):
    model_state, image_state, data_state = states
    image = show_test_image(image_state, data_state.dataset, 0)
    wait_for_maps(qtbot, tab, 1)
    expected = model_state.feature_extractor.feature_maps(image)
    map_layers = [info for info in tab.layer_list.layers if info.has_feature_maps]
    assert {info.type for info in map_layers} == {"Conv2D", "MaxPooling2D"}
    assert len(map_layers) == 5
    for info in map_layers:
        click_layer(qtbot, tab, info.name)
        assert tab.layer_list.selected_layer().name == info.name
        grid = tab.feature_maps
        channels = info.output_shape[-1]
        assert grid.channel_count == channels
        assert tile_labels(grid) == [f"#{i}" for i in range(channels)]
        # Every channel is really drawn: each tile of the tiled image holds that channel's map.
        tiled = grid.image.image
        for channel in range(channels):
            top, left = grid.tile_layout.origin(channel)
            tile = tiled[top:top + info.output_shape[1], left:left + info.output_shape[2]]
            np.testing.assert_allclose(tile, expected[info.name][..., channel], rtol=1e-5, atol=1e-6)
        low, high = grid.color_bar.levels()
        assert low == pytest.approx(float(expected[info.name].min()))
        assert high == pytest.approx(float(expected[info.name].max()))


def test_layer_table_lists_all_layers_with_a_total(qtbot, tab, states):
    model_state = states[0]
    table = tab.layer_list
    assert table.rowCount() == len(model_state.model.layers) + 1
    last = table.rowCount() - 1
    assert table.item(last, 0).text() == "Total"
    assert table.item(last, 3).text() == f"{model_state.model.count_params():,}" == "257,162"
    assert table.item(table.row_of("conv2d"), 2).text() == "28×28×32"
    click_layer(qtbot, tab, "max_pooling2d")
    click_layer(qtbot, tab, "dense")  # a vector: not selectable, the maps stay on the pooling layer
    assert tab.layer_list.selected_layer().name == "max_pooling2d"


def test_maps_follow_the_image_coalesced_and_only_while_visible(qtbot, tab, states):
    model_state, image_state, data_state = states
    dataset = data_state.dataset
    show_test_image(image_state, dataset, 0)
    wait_for_maps(qtbot, tab, 1)
    before = tab.feature_maps.maps.copy()

    # Five changes within one turn of the event loop (fast drawing) give one recomputation, for the last image.
    for index in range(1, 6):
        last = show_test_image(image_state, dataset, index)
    wait_for_maps(qtbot, tab, 2)
    QApplication.processEvents()
    assert tab.compute_count == 2
    assert not np.allclose(tab.feature_maps.maps, before)
    np.testing.assert_allclose(tab.feature_maps.maps, model_state.feature_extractor.feature_maps(last)["conv2d"],
                               rtol=1e-5, atol=1e-6)

    # Hidden: nothing is computed; shown again: the maps catch up with the image.
    tab.hide()
    hidden_image = show_test_image(image_state, dataset, 7)
    QApplication.processEvents()
    assert tab.compute_count == 2
    tab.show()
    wait_for_maps(qtbot, tab, 3)
    np.testing.assert_allclose(tab.feature_maps.maps,
                               model_state.feature_extractor.feature_maps(hidden_image)["conv2d"], rtol=1e-5,
                               atol=1e-6)


def test_filter_grid_shows_the_learned_kernels(qtbot, tab, states):
    model_state, image_state, data_state = states
    show_test_image(image_state, data_state.dataset, 0)
    tab.pages.setCurrentWidget(tab.filters)
    click_layer(qtbot, tab, "conv2d")
    kernel = np.asarray(model_state.model.get_layer("conv2d").kernel)
    assert kernel.shape == (3, 3, 1, 32)
    filters = tab.filters
    assert filters.filter_count == 32
    assert tile_labels(filters.grid) == [f"#{i}" for i in range(32)]
    np.testing.assert_allclose(filters.grid.maps, kernel[:, :, 0, :])
    assert not filters.channel_choice.isVisible()
    low, high = filters.grid.color_bar.levels()
    assert low == pytest.approx(-high) and high == pytest.approx(float(np.abs(kernel).max()))

    click_layer(qtbot, tab, "conv2d_1")
    deeper = np.asarray(model_state.model.get_layer("conv2d_1").kernel)
    assert filters.filter_count == 64 and filters.channel_choice.isVisible()
    np.testing.assert_allclose(filters.grid.maps, deeper.mean(axis=2), rtol=1e-6)
    assert "average" in filters.description.text()
    filters.channel_choice.setCurrentIndex(filters.channel_choice.findData(3))
    np.testing.assert_allclose(filters.grid.maps, deeper[:, :, 3, :])
    assert "input channel #3" in filters.description.text()

    click_layer(qtbot, tab, "max_pooling2d")
    assert filters.filter_count == 0 and "no filters" in filters.description.text()


def test_clicking_a_first_layer_pixel_writes_out_its_multiply_add(qtbot, tab, states):
    model_state, image_state, data_state = states
    image = show_test_image(image_state, data_state.dataset, 3)
    wait_for_maps(qtbot, tab, 1)
    click_layer(qtbot, tab, "conv2d")
    maps = model_state.feature_extractor.feature_maps(image)["conv2d"]
    # Pick a map and pixel where the pre-activation sum is positive, so ReLU does not hide a wrong sum.
    row, col, channel = (int(i) for i in np.unravel_index(np.argmax(maps[5:22, 5:22, :]), (17, 17, 32)))
    row, col = row + 5, col + 5
    click_scene(qtbot, tab.feature_maps.view, lambda: tile_point(tab.feature_maps, channel, row, col))

    view = tab.receptive_field
    assert view.pixel == (row, col)
    assert view.rectangle == (row - 1, col - 1, row + 1, col + 1)
    step = view.step
    np.testing.assert_array_equal(step.patch[..., 0], image[row - 1:row + 2, col - 1:col + 2])
    kernel = np.asarray(model_state.model.get_layer("conv2d").kernel)[..., channel]
    np.testing.assert_array_equal(step.kernel, kernel)
    assert step.bias == pytest.approx(float(np.asarray(model_state.model.get_layer("conv2d").bias)[channel]))
    assert view.output_value == pytest.approx(float(maps[row, col, channel]), abs=1e-5)
    assert step.value == pytest.approx(float(maps[row, col, channel]), abs=1e-5)
    text = explanation_text(view)
    assert format_number(float(maps[row, col, channel]), 4) in text and "relu" in text
    assert f"map #{channel}" in view.title.text()

    # The value under the cursor, in the enlarged map and in the grid.
    qtbot.mouseMove(view.view.viewport(), view.view.mapFromScene(map_point(view, row, col)))
    qtbot.waitUntil(lambda: f"row {row}, column {col}" in view.hover_label.text())
    assert view.hover_label.text().endswith(format_number(float(maps[row, col, channel]), 4))
    grid = tab.feature_maps
    qtbot.mouseMove(grid.view.viewport(), grid.view.mapFromScene(tile_point(grid, channel, row, col)))
    qtbot.waitUntil(lambda: f"map #{channel}, row {row}, column {col}" in grid.hover_label.text())
    assert grid.hover_label.text().endswith(format_number(float(maps[row, col, channel]), 4))

    # A corner pixel of the enlarged map: its patch reaches into the zero padding.
    click_scene(qtbot, view.view, lambda: map_point(view, 0, 0))
    assert view.pixel == (0, 0)
    assert np.all(view.step.patch[0, :, 0] == 0) and np.all(view.step.patch[:, 0, 0] == 0)
    assert view.output_value == pytest.approx(float(maps[0, 0, channel]), abs=1e-5)
    assert "zero" in explanation_text(view)


def test_deeper_layers_show_their_receptive_field_size(qtbot, tab, states):
    _, image_state, data_state = states
    show_test_image(image_state, data_state.dataset, 3)
    wait_for_maps(qtbot, tab, 1)
    click_layer(qtbot, tab, "conv2d_1")
    grid = tab.feature_maps
    click_scene(qtbot, grid.view, lambda: tile_point(grid, 10, 0, 0))
    view = tab.receptive_field
    assert view.pixel == (0, 0) and view.step is None
    assert view.rectangle == (-3, -3, 4, 4)
    assert "8×8 input pixels" in explanation_text(view)
    click_layer(qtbot, tab, "conv2d_2")
    click_scene(qtbot, grid.view, lambda: tile_point(grid, 63, 6, 6))
    assert view.rectangle[2] - view.rectangle[0] + 1 == 18


def test_new_weights_and_a_new_model_are_followed(qtbot, tab, states, quick_model):
    from cnn_desktop.core.model import build_model

    model_state, image_state, data_state = states
    image = show_test_image(image_state, data_state.dataset, 0)
    wait_for_maps(qtbot, tab, 1)
    before = tab.feature_maps.maps.copy()
    original = model_state.model.get_weights()
    try:
        model_state.set_weights([w * 1.5 for w in original])
        qtbot.waitUntil(lambda: not np.allclose(tab.feature_maps.maps, before), timeout=10_000)
        np.testing.assert_allclose(tab.filters.grid.maps,
                                   np.asarray(model_state.model.get_layer("conv2d").kernel)[:, :, 0, :])
    finally:
        model_state.model.set_weights(original)

    model_state.set_model(build_model("improved", compile=False), {"preset": "improved"})
    assert [info.name for info in tab.layer_list.layers][:3] == ["conv1a", "conv1a_bn", "conv1a_relu"]
    assert tab.layer_list.selected_layer().name == "conv1a"
    wait_for_maps(qtbot, tab, 3)
    click_layer(qtbot, tab, "conv1a_relu")  # a 4-D activation layer has maps too
    np.testing.assert_allclose(tab.feature_maps.maps,
                               model_state.feature_extractor.feature_maps(image)["conv1a_relu"], rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------- how it works
@pytest.fixture
def panel(qtbot):
    from cnn_desktop.gui.widgets.how_it_works_panel import HowItWorksPanel

    widget = HowItWorksPanel()
    qtbot.addWidget(widget)
    widget.resize(900, 700)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def type_into(qtbot, table, row: int, col: int, text: str) -> None:
    """Edit a cell as a user does: open its editor, type over the old number, press Enter."""
    from PySide6.QtWidgets import QLineEdit

    table.setCurrentCell(row, col)
    table.editItem(table.item(row, col))
    editors = [child for child in table.viewport().findChildren(QLineEdit) if child.isVisible()]
    assert len(editors) == 1 and editors[0].text() == table.item(row, col).text()
    editor = editors[0]
    editor.selectAll()
    if text.isascii():
        qtbot.keyClicks(editor, text)
    else:  # QTest can only type ASCII; an input method delivers '−' like this
        editor.insert(text)
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    # The delegate commits the text and closes the editor in a queued call.
    qtbot.waitUntil(lambda: table.state() != QAbstractItemView.State.EditingState)


def cells(table) -> list[list[str]]:
    return [[table.item(r, c).text() for c in range(table.columnCount())] for r in range(table.rowCount())]


def test_convolution_by_hand_and_live_edits(qtbot, panel):
    # Defaults: a bright band over a dark one, and a horizontal-edge kernel.
    assert cells(panel.valid_output) == [["27", "24"], ["27", "27"]]
    assert "= 27" in panel.valid_explanation.text()

    type_into(qtbot, panel.conv_input, 0, 0, "5")  # 9 -> 5 under the kernel's top-left weight 1
    assert panel.conv_input.item(0, 0).text() == "5"
    assert cells(panel.valid_output) == [["23", "24"], ["27", "27"]]

    type_into(qtbot, panel.kernel, 1, 1, "1")  # centre weight 0 -> 1 adds the input under the centre
    # centres: (1,1)=9, (1,2)=7, (2,1)=1, (2,2)=3
    assert cells(panel.valid_output) == [["32", "31"], ["28", "30"]]

    # The selected output cell's multiply-add, written out.
    panel.valid_output.setCurrentCell(1, 0)
    text = panel.valid_explanation.text()
    assert "8×1 + 9×2 + 7×1 + 2×0 + 1×1 + 3×0 + 1×(−1) + 2×(−2) + 1×(−1) = 28" in text

    panel.bias.setValue(-0.5)
    assert cells(panel.valid_output) == [["31.5", "30.5"], ["27.5", "29.5"]]

    # 'same' padding: 4x4 output; the corner sees the zero border.
    # same[0,0] = kernel rows 1-2 over input rows 0-1, cols -1..1: centre 1*5... see below
    same = panel.same_output.matrix()
    assert same.shape == (4, 4)
    # row 0 of the kernel lies on zeros; row 1 (0, 1, 0) sees input row 0: (0, 5, 8) -> 5;
    # row 2 (-1, -2, -1) sees input row 1: (0, 8, 9) -> -25; plus bias -0.5
    assert same[0, 0] == pytest.approx(5 - 25 - 0.5)
    np.testing.assert_allclose(same[1:3, 1:3], panel.valid_output.matrix())
    assert cells(panel.padded_input)[0] == ["0"] * 6 and cells(panel.padded_input)[1][1] == "5"


def test_text_that_is_not_a_number_is_refused_with_a_message(qtbot, panel):
    type_into(qtbot, panel.conv_input, 2, 2, "abc")
    assert panel.conv_input.item(2, 2).text() == "3"
    assert panel.message.isVisible() and "not a number" in panel.message.text()
    assert cells(panel.valid_output) == [["27", "24"], ["27", "27"]]
    type_into(qtbot, panel.conv_input, 2, 2, "−1")  # a typographic minus is a number too
    assert panel.conv_input.matrix()[2, 2] == -1
    assert not panel.message.isVisible()


def test_pooling_and_flatten_by_hand(qtbot, panel):
    assert cells(panel.max_output) == [["6", "2"], ["3", "8"]]
    assert cells(panel.average_output) == [["3.5", "1"], ["1.5", "5.5"]]
    type_into(qtbot, panel.pool_input, 3, 3, "0")  # window (7, 5, 2, 0)
    assert cells(panel.max_output) == [["6", "2"], ["3", "7"]]
    assert cells(panel.average_output) == [["3.5", "1"], ["1.5", "3.5"]]
    panel.max_output.setCurrentCell(1, 1)
    assert "max(7, 5, 2, 0) = 7" in panel.pool_explanation.text()
    assert "(7 + 5 + 2 + 0) / 4 = 3.5" in panel.pool_explanation.text()
    assert cells(panel.flat_output) == [["3", "1", "0", "2", "4", "6", "1", "1", "0", "2", "7", "5", "1", "3", "2",
                                         "0"]]
    qtbot.mouseClick(panel.use_feature_map, Qt.MouseButton.LeftButton)
    np.testing.assert_array_equal(panel.pool_input.matrix(), panel.same_output.matrix())
    same = panel.same_output.matrix()
    np.testing.assert_array_equal(panel.max_output.matrix(), same.reshape(2, 2, 2, 2).max(axis=(1, 3)))
