"""Explanations in the window: the bundled model, the real dataset, real widgets (offscreen), real threads.

The overlay appears for every method over the network input and the picture; a click on a probability bar
explains that class; occlusion shows partial maps before it completes; a new image, a new model and new
weights re-run it; the work never runs on the GUI thread; the Inspect tab shows what a filter looks for.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPoint, Qt

from cnn_desktop import config
from cnn_desktop.core.explain import (GRADCAM, INTEGRATED_GRADIENTS, METHOD_DESCRIPTIONS, METHOD_TITLES, METHODS,
                                      OCCLUSION, SMOOTHGRAD)
from cnn_desktop.gui.state.data_state import DataState
from cnn_desktop.gui.state.image_state import ImageState
from cnn_desktop.gui.state.model_state import ModelState
from photo_composites import composite  # tests/: pictures of items on photo-like backgrounds

BAG, ANKLE_BOOT = config.CLASS_NAMES.index("Bag"), config.CLASS_NAMES.index("Ankle boot")
TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def bundled_model(default_model_path):
    from cnn_desktop.core.model_io import load_model

    return load_model(default_model_path)


@pytest.fixture(scope="module")
def loaded_dataset(dataset):
    return dataset


def make_states(qtbot, model_and_card, dataset):
    model_state, image_state, data_state = ModelState(), ImageState(), DataState()
    model_state.set_model(*model_and_card)
    data_state.dataset = dataset  # the dataset fixture is already loaded
    return model_state, image_state, data_state


@pytest.fixture
def classify(qtbot, bundled_model, loaded_dataset):
    from cnn_desktop.gui.tabs.classify_tab import ClassifyTab

    states = make_states(qtbot, bundled_model, loaded_dataset)
    tab = ClassifyTab(*states)
    for state in states:
        state.setParent(tab)
    qtbot.addWidget(tab)
    tab.resize(1300, 820)
    tab.show()
    qtbot.waitExposed(tab)
    yield tab
    tab.stop_and_wait()


def first_test_image_of(dataset, label: int) -> int:
    return int(np.flatnonzero(dataset.test_labels == label)[0])


def wait_for_explanation(qtbot, state, check=lambda explained: True):
    """Wait for a complete explanation of the current image that passes ``check``; return it."""
    def ready() -> bool:
        explained = state.explained
        return (explained is not None and explained.explanation.complete and not state.running
                and explained.image is state.image_state.image and check(explained))

    qtbot.waitUntil(ready, timeout=TIMEOUT_MS)
    return state.explained


def choose_method(panel, method: str) -> None:
    panel.method_choice.setCurrentIndex(panel.method_choice.findData(method))


def click_bar(qtbot, bars, index: int) -> None:
    row_height = bars.height() / len(bars.class_names)
    qtbot.mouseClick(bars, Qt.MouseButton.LeftButton, pos=QPoint(bars.width() // 2, int((index + 0.5) * row_height)))


def test_every_method_draws_its_map_over_the_input_and_the_picture_off_the_gui_thread(qtbot, classify, dataset):
    state, panel = classify.explanation_state, classify.explanation_panel
    classify.show_test_image(first_test_image_of(dataset, BAG))
    gui_thread = threading.get_ident()
    for method in METHODS:
        choose_method(panel, method)
        explained = wait_for_explanation(qtbot, state, lambda e, m=method: e.explanation.method == m)
        explanation = explained.explanation
        assert explained.thread_id != gui_thread  # the task ran in a worker
        assert explanation.predicted_name == "Bag" and explanation.class_index == BAG
        # Occlusion stays pale when no one patch matters much (a confident bag): its scale says by how much.
        strongest = explanation.scale / 0.05 if method == OCCLUSION else 1.0
        assert explanation.heatmap.shape == (28, 28) and np.abs(explanation.heatmap).max() >= 0.5 * min(1, strongest)
        assert panel.shows_overlay
        assert "red" in panel.legend.text.text() and "Bag" in panel.legend.text.text()
        assert panel.legend.signed == (method in (SMOOTHGRAD, INTEGRATED_GRADIENTS))
        assert panel.description.text() and METHOD_DESCRIPTIONS[method].startswith(panel.description.text())
        # The layer picker belongs to Grad-CAM, patch and stride to occlusion.
        assert panel.layer_choice.isVisible() == (method == GRADCAM)
        assert panel.patch_spin.isVisible() == (method == OCCLUSION)
    # What is painted: the picture with red where the map is high (Grad-CAM over the 28x28 input).
    choose_method(panel, GRADCAM)
    explained = wait_for_explanation(qtbot, state, lambda e: e.explanation.method == GRADCAM)
    painted = panel.input_view.grab().toImage()
    hot_row, hot_col = np.unravel_index(np.argmax(explained.explanation.heatmap), (28, 28))
    scale = painted.width() / 28
    colour = painted.pixelColor(int((hot_col + 0.5) * scale), int((hot_row + 0.5) * scale))
    assert colour.red() > colour.blue() + 40


def test_opacity_redraws_without_recomputing(qtbot, classify, dataset):
    state, panel = classify.explanation_state, classify.explanation_panel
    classify.show_test_image(first_test_image_of(dataset, BAG))
    wait_for_explanation(qtbot, state)
    count = state.compute_count
    faint = panel.input_view.grab().toImage()
    panel.opacity_slider.setValue(100)
    assert state.opacity == 1.0
    strong = panel.input_view.grab().toImage()
    assert strong != faint
    qtbot.wait(300)
    assert state.compute_count == count and not state.running


def test_clicking_a_probability_bar_explains_that_class(qtbot, classify, dataset):
    state, panel, bars = classify.explanation_state, classify.explanation_panel, classify.probability_bars
    classify.show_test_image(first_test_image_of(dataset, BAG))
    predicted = wait_for_explanation(qtbot, state)
    assert predicted.explanation.class_index == BAG and bars.marked_index == BAG
    assert not panel.predicted_button.isEnabled()

    click_bar(qtbot, bars, ANKLE_BOOT)  # "why not Ankle boot?"
    other = wait_for_explanation(qtbot, state, lambda e: e.explanation.class_index == ANKLE_BOOT)
    assert other.explanation.predicted_name == "Bag"
    assert bars.marked_index == ANKLE_BOOT
    assert "Ankle boot" in panel.class_label.text() and "predicted Bag" in panel.class_label.text()
    assert not np.allclose(other.explanation.heatmap, predicted.explanation.heatmap)

    qtbot.mouseClick(panel.predicted_button, Qt.MouseButton.LeftButton)
    back = wait_for_explanation(qtbot, state, lambda e: e.explanation.class_index == BAG)
    assert np.allclose(back.explanation.heatmap, predicted.explanation.heatmap, atol=1e-5)
    assert bars.marked_index == BAG


def test_occlusion_fills_in_progressively_before_it_completes(qtbot, classify, dataset):
    state, panel = classify.explanation_state, classify.explanation_panel
    classify.show_test_image(first_test_image_of(dataset, ANKLE_BOOT))
    wait_for_explanation(qtbot, state)
    seen: list[tuple[str, bool, int]] = []  # (what, complete, rows done)
    state.progressChanged.connect(lambda done, total: seen.append(("progress", done == total, done)))
    state.explanationChanged.connect(
        lambda: state.explained is not None and seen.append(
            ("map", state.explained.explanation.complete, int(np.count_nonzero(state.explained.explanation.heatmap)))))
    panel.patch_spin.setValue(4)
    panel.stride_spin.setValue(1)  # 25 rows of 25 patches
    choose_method(panel, OCCLUSION)
    done = wait_for_explanation(qtbot, state, lambda e: e.explanation.method == OCCLUSION
                                and e.explanation.options == {"patch_size": 4, "stride": 1})
    partial_maps = [entry for entry in seen if entry[0] == "map" and not entry[1]]
    first_complete = next(i for i, entry in enumerate(seen) if entry[0] == "map" and entry[1])
    assert partial_maps and seen.index(partial_maps[0]) < first_complete
    assert any(entry[0] == "progress" and not entry[1] for entry in seen[:first_complete])
    assert done.explanation.complete and not panel.progress.isVisible()


def test_a_new_image_re_runs_for_dataset_image_photo_and_drawing(qtbot, classify, dataset, tmp_path):
    from test_canvas import draw_stroke  # same folder: the one way the tests draw with the mouse

    state, panel = classify.explanation_state, classify.explanation_panel
    classify.show_test_image(first_test_image_of(dataset, BAG))
    first = wait_for_explanation(qtbot, state)
    assert first.picture is None and first.explanation.predicted_name == "Bag"

    # An opened photo: the map is laid over the photo where the network saw the item.
    picture, _truth = composite(dataset.test_images[first_test_image_of(dataset, ANKLE_BOOT)], "wood", seed=2)
    path = tmp_path / "boot on wood.jpg"
    Image.fromarray(picture).save(path, quality=92)
    assert classify.open_image_file(path)
    photo = wait_for_explanation(qtbot, state, lambda e: e is not first)
    assert photo.prepared is not None and photo.picture.shape[:2] == picture.shape[:2]
    assert photo.explanation.predicted_name == "Ankle boot"
    assert panel.shows_overlay and panel.picture_caption.text() == "your picture"

    # A drawing: strokes re-run it (throttled), over the canvas.
    classify.show_canvas()
    classify.canvas.set_brush_size(30)
    draw_stroke(qtbot, classify.canvas, [(110, 40), (170, 40)])
    draw_stroke(qtbot, classify.canvas, [(115, 40), (110, 150), (105, 250)])
    draw_stroke(qtbot, classify.canvas, [(165, 40), (170, 150), (175, 250)])
    drawing = wait_for_explanation(qtbot, state, lambda e: e.picture is not None and e.picture.ndim == 2)
    assert drawing.prepared is not None and panel.shows_overlay
    assert state.image_state.source.kind == "canvas"


def test_new_weights_and_a_new_model_re_run_it(qtbot, classify, dataset, quick_model_path):
    from cnn_desktop.core.model_io import load_model

    state, panel, model_state = classify.explanation_state, classify.explanation_panel, classify.model_state
    classify.show_test_image(first_test_image_of(dataset, BAG))
    before = wait_for_explanation(qtbot, state)
    bundled_layers = state.layers
    assert before.explanation.layer.startswith(bundled_layers[-1])

    count = state.compute_count
    weights = model_state.model.get_weights()
    model_state.set_weights([w * 0.5 if w.ndim > 1 else w for w in weights])  # a training's snapshot
    qtbot.waitUntil(lambda: state.compute_count > count, timeout=TIMEOUT_MS)
    after = wait_for_explanation(qtbot, state)
    assert not np.allclose(after.explanation.probabilities, before.explanation.probabilities)
    model_state.set_weights(weights)

    model, card = load_model(quick_model_path)  # another model (a file loaded, or a training handed over)
    model_state.set_model(model, card, quick_model_path)
    assert state.layers and state.layers != bundled_layers  # rebuilt from the new model
    other = wait_for_explanation(qtbot, state, lambda e: e.explanation.layer is not None
                                 and e.explanation.layer.split("/")[0] in [layer.name for layer in model.layers])
    assert panel.layer_choice.count() == len(state.layers) + 1
    # An earlier convolution picked in the layer list is used.
    panel.layer_choice.setCurrentIndex(panel.layer_choice.findData(state.layers[0]))
    earlier = wait_for_explanation(qtbot, state, lambda e: e.explanation.layer.startswith(state.layers[0]))
    assert earlier is not other


def test_nothing_is_computed_while_no_view_is_shown(qtbot, classify, dataset):
    state = classify.explanation_state
    classify.show_test_image(first_test_image_of(dataset, BAG))
    wait_for_explanation(qtbot, state)
    classify.hide()
    count = state.compute_count
    classify.show_test_image(first_test_image_of(dataset, ANKLE_BOOT))
    qtbot.wait(400)
    assert state.compute_count == count and not state.running
    classify.show()
    explained = wait_for_explanation(qtbot, state)
    assert explained.explanation.predicted_name == "Ankle boot"


@pytest.fixture
def inspect(qtbot, bundled_model, loaded_dataset):
    from cnn_desktop.gui.tabs.inspect_tab import InspectTab

    states = make_states(qtbot, bundled_model, loaded_dataset)
    tab = InspectTab(*states)
    for state in states:
        state.setParent(tab)
    qtbot.addWidget(tab)
    tab.resize(1300, 820)
    tab.show()
    qtbot.waitExposed(tab)
    yield tab
    tab.stop_and_wait()


def test_inspect_shows_the_explanation_and_what_a_chosen_filter_looks_for(qtbot, inspect, dataset):
    inspect.image_state.set_dataset_image(dataset, "test", first_test_image_of(dataset, BAG))
    inspect.pages.setCurrentWidget(inspect.explanation_panel)
    explained = wait_for_explanation(qtbot, inspect.explanation_state)
    assert explained.explanation.predicted_name == "Bag" and inspect.explanation_panel.shows_overlay
    # "How it works" explains each method in plain words, beside the overlays.
    paragraphs = [label.text() for label in inspect.how_it_works.method_explanations]
    assert [text.split("</b>")[0] for text in paragraphs] == [f"<b>{METHOD_TITLES[m]}." for m in METHODS]

    state, view = inspect.filter_pattern_state, inspect.filter_patterns
    inspect.pages.setCurrentWidget(view)
    layer = state.layers[-1]  # the last convolution: its filters respond to whole parts of items
    view.layer_choice.setCurrentIndex(view.layer_choice.findData(layer))
    view.filter_spin.setValue(3)
    qtbot.waitUntil(lambda: state.pattern is not None and state.top_images is not None
                    and view.shown_top_count == state.k, timeout=TIMEOUT_MS)
    pattern, top = state.pattern, state.top_images
    assert (pattern.layer, pattern.filter_index) == (layer, 3) and (top.layer, top.filter_index) == (layer, 3)
    assert state.pattern_thread_id != threading.get_ident()
    assert pattern.image.shape == (28, 28) and pattern.image.std() > 0.01
    assert np.all(np.diff(top.activations) <= 0)  # most exciting first
    assert pattern.activation > top.activations[0]  # made up to excite it: more than any test image does
    assert "more than any test image" in view.top_caption.text()
    assert view.pattern_label.pixmap() is not None and not view.pattern_label.pixmap().isNull()
    assert f"Filter #3 of {layer}" in view.pattern_caption.text()
    # A convolution selected in the layer list, then a filter clicked among its learned filters, is shown here.
    inspect.layer_list.select_layer(state.layers[1])
    assert (state.layer, state.filter_index) == (state.layers[1], 0)
    inspect.layer_list.select_layer(layer)
    inspect.filters.grid.mapClicked.emit(5, 0, 0)
    assert (state.layer, state.filter_index) == (layer, 5)
    qtbot.waitUntil(lambda: state.pattern is not None and state.pattern.filter_index == 5, timeout=TIMEOUT_MS)


def test_closing_the_window_ends_the_work_in_progress_and_showing_it_again_recomputes(qtbot, classify, dataset):
    from cnn_desktop.gui.concurrency.task_runner import TaskRunner

    state, panel = classify.explanation_state, classify.explanation_panel
    classify.show_test_image(first_test_image_of(dataset, BAG))
    wait_for_explanation(qtbot, state)
    panel.patch_spin.setValue(2)
    panel.stride_spin.setValue(1)  # 27 rows of 27 patches: still running when the window closes
    choose_method(panel, OCCLUSION)
    qtbot.waitUntil(lambda: state.running, timeout=TIMEOUT_MS)
    classify.close()  # a thread still running when its QThread is deleted would abort the program
    assert not state.running
    runners = state.findChildren(TaskRunner)
    assert runners and not any(runner.is_running() for runner in runners)
    classify.show()
    explained = wait_for_explanation(qtbot, state, lambda e: e.explanation.method == OCCLUSION)
    assert explained.explanation.options == {"patch_size": 2, "stride": 1}
