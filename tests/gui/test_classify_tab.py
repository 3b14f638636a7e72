"""The Classify tab with a real trained model, real files and real mouse input (offscreen).

It uses the small model trained by the ``quick_model_path`` fixture (the
bundled resources/models/default.keras is still being trained).
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QGuiApplication, QImage
from PySide6.QtWidgets import QApplication

from cnn_desktop import config
from cnn_desktop.gui.widgets.canvas import Tool
from cnn_desktop.gui.tabs.classify_tab import LOADING_MODEL, NO_MODEL, NOTHING_TO_CLASSIFY, ClassifyTab
from cnn_desktop.gui.state.data_state import DataState
from cnn_desktop.gui.state.image_state import ImageSource, ImageState
from cnn_desktop.gui.state.model_state import ModelState
from cnn_desktop.gui.widgets.grey_image import to_grey_qimage
from test_canvas import draw_stroke  # same folder: the one way the tests draw with the mouse

TROUSER = config.CLASS_NAMES.index("Trouser")
WAIT_MS = 10_000


@pytest.fixture(scope="module")
def quick_model(quick_model_path):
    from cnn_desktop.core.model_io import load_model

    return load_model(quick_model_path)


@pytest.fixture(scope="module")
def trouser_index(dataset, quick_model):
    """A test-set trouser the quick model gets right with the most confidence: a clear case."""
    from cnn_desktop.core.inference import Classifier

    model, _card = quick_model
    candidates = np.flatnonzero(dataset.test_labels == TROUSER)[:200]
    probabilities = Classifier(model).probabilities(dataset.test_images[candidates])
    best = int(np.argmax(probabilities[:, TROUSER]))
    assert probabilities[best].argmax() == TROUSER
    return int(candidates[best])


def write_item_png(path, pixels: np.ndarray) -> None:
    """A dataset image as a photo-like file: dark item on white, enlarged, off centre."""
    item = Image.fromarray(255 - pixels).resize((168, 168), Image.Resampling.BILINEAR)
    picture = Image.new("L", (300, 240), 255)
    picture.paste(item, (20, 40))
    picture.save(path)


@pytest.fixture
def trouser_png(tmp_path, dataset, trouser_index):
    path = tmp_path / "trouser.png"
    write_item_png(path, dataset.test_images[trouser_index])
    return path


class Setup:
    def __init__(self, tab, model_state, image_state, data_state):
        self.tab, self.model_state, self.image_state, self.data_state = tab, model_state, image_state, data_state


def make_tab(qtbot, model=None) -> Setup:
    model_state, image_state, data_state = ModelState(), ImageState(), DataState()
    if model is not None:
        model_state.set_model(*model)
    tab = ClassifyTab(model_state, image_state, data_state)
    for state in (model_state, image_state, data_state):
        state.setParent(tab)  # live as long as the tab
    qtbot.addWidget(tab)
    tab.resize(1200, 760)
    tab.show()
    qtbot.waitExposed(tab)
    return Setup(tab, model_state, image_state, data_state)


@pytest.fixture
def setup(qtbot, quick_model):
    return make_tab(qtbot, quick_model)


def has_prediction(tab) -> bool:
    return tab.probability_bars.probabilities is not None


def predicted_label(tab) -> str:
    return config.CLASS_NAMES[tab.probability_bars.top_index]


def draw_trousers(qtbot, canvas) -> None:
    canvas.set_brush_size(30)
    draw_stroke(qtbot, canvas, [(110, 40), (170, 40)])
    draw_stroke(qtbot, canvas, [(115, 40), (110, 150), (105, 250)])
    draw_stroke(qtbot, canvas, [(165, 40), (170, 150), (175, 250)])


def test_a_blank_canvas_says_nothing_to_classify(setup):
    tab = setup.tab
    assert tab.input_stack.currentWidget() is tab.canvas
    assert tab.prediction_label.text() == NOTHING_TO_CLASSIFY
    assert not has_prediction(tab)
    assert setup.image_state.image is None


def test_drawing_classifies_live_while_the_stroke_goes_on(qtbot, setup):
    tab = setup.tab
    canvas = tab.canvas
    canvas.set_brush_size(30)
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=QPoint(140, 40))
    for y in range(50, 250, 20):
        qtbot.mouseMove(canvas, QPoint(140, y))
    # The button is still down: the result comes from the stroke in progress.
    qtbot.waitUntil(lambda: has_prediction(tab), timeout=WAIT_MS)
    assert setup.image_state.source.kind == "canvas"
    assert tab.network_input_view.image is not None
    assert tab.network_input_view.image.shape == (config.IMAGE_SIZE, config.IMAGE_SIZE)
    probabilities = tab.probability_bars.probabilities
    assert probabilities.sum() == pytest.approx(1.0, abs=1e-4)
    label = predicted_label(tab)
    assert tab.prediction_label.text() == f"{label} – {probabilities.max():.0%}"
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=QPoint(140, 250))

    # More strokes change the network input (the vertical line becomes a pair of legs).
    before = tab.network_input_view.image
    draw_trousers(qtbot, canvas)
    qtbot.waitUntil(lambda: not np.array_equal(tab.network_input_view.image, before), timeout=WAIT_MS)


def test_undo_redo_and_clear_through_the_tab(qtbot, setup):
    tab = setup.tab
    draw_trousers(qtbot, tab.canvas)
    qtbot.waitUntil(lambda: has_prediction(tab), timeout=WAIT_MS)
    drawn = tab.canvas.pixels()
    assert tab.undo_button.isEnabled() and not tab.redo_button.isEnabled()

    tab.clear_canvas()
    assert tab.canvas.is_blank()
    qtbot.waitUntil(lambda: tab.prediction_label.text() == NOTHING_TO_CLASSIFY, timeout=WAIT_MS)
    assert not has_prediction(tab)

    tab.undo()
    assert np.array_equal(tab.canvas.pixels(), drawn)
    qtbot.waitUntil(lambda: has_prediction(tab), timeout=WAIT_MS)
    assert tab.redo_button.isEnabled()

    tab.redo()
    assert tab.canvas.is_blank()
    qtbot.waitUntil(lambda: not has_prediction(tab), timeout=WAIT_MS)

    tab.undo()  # the last stroke of the three goes
    tab.undo()
    partial = tab.canvas.pixels()
    assert 0 < (partial > 127).sum() < (drawn > 127).sum()


def test_fill_tool_in_the_tab_fills_a_drawn_outline(qtbot, setup):
    tab = setup.tab
    tab.brush_spin.setValue(6)
    assert tab.canvas.brush_size == 6
    draw_stroke(qtbot, tab.canvas, [(80, 60), (200, 60), (200, 220), (80, 220), (80, 60)])
    outline = int((tab.canvas.pixels() > 127).sum())
    tab.tool_buttons[Tool.FILL].click()
    qtbot.mouseClick(tab.canvas, Qt.MouseButton.LeftButton, pos=QPoint(140, 140))
    filled = int((tab.canvas.pixels() > 127).sum())
    assert filled > 0.95 * 120 * 160 * tab.canvas.pixel_scale ** 2 > 4 * outline
    qtbot.waitUntil(lambda: has_prediction(tab), timeout=WAIT_MS)


def test_opening_a_png_of_a_trouser_classifies_it_as_one(qtbot, setup, trouser_png):
    tab = setup.tab
    assert not tab.draw_button.isEnabled()  # the canvas is shown already
    assert tab.open_image_file(trouser_png) is True
    assert predicted_label(tab) == "Trouser"
    assert tab.prediction_label.text().startswith("Trouser – ")
    assert tab.input_stack.currentWidget() is tab.picture_view
    assert not tab.picture_view.pixmap().isNull()
    assert setup.image_state.source.kind == "file"
    assert "trouser.png" in tab.source_label.text()
    assert tab.error_message == ""

    # Back to the (blank) drawing.
    assert tab.draw_button.isEnabled()
    tab.draw_button.click()
    assert tab.input_stack.currentWidget() is tab.canvas
    assert tab.prediction_label.text() == NOTHING_TO_CLASSIFY


def _bad_files(tmp_path, trouser_png):
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    text = tmp_path / "notes.png"
    text.write_text("this is not a picture\n", encoding="utf-8")
    truncated = tmp_path / "truncated.png"
    data = trouser_png.read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    folder = tmp_path / "folder.png"
    folder.mkdir()
    # Each with a word its message must contain, so the user learns what is wrong.
    return [(empty, "empty"), (text, "not an image"), (truncated, "truncated"), (folder, "folder"),
            (tmp_path / "missing.png", "does not exist")]


def test_bad_files_give_a_message_in_the_window_and_the_tab_stays_usable(qtbot, setup, tmp_path, trouser_png):
    tab = setup.tab
    assert tab.open_image_file(trouser_png)
    for bad, reason in _bad_files(tmp_path, trouser_png):
        assert tab.open_image_file(bad) is False, bad.name
        assert bad.name in tab.error_message
        assert reason in tab.error_message
        assert tab.error_bar.isVisible()
        # What was shown before stays: the trouser and its result.
        assert setup.image_state.source.description == "trouser.png"
        assert predicted_label(tab) == "Trouser"

    # Still usable: a good file next clears the message, and so does drawing.
    assert tab.open_image_file(trouser_png) is True
    assert tab.error_message == ""
    assert tab.open_image_file(tmp_path / "notes.png") is False
    tab.show_canvas()
    draw_trousers(qtbot, tab.canvas)
    assert tab.error_message == ""
    qtbot.waitUntil(lambda: setup.image_state.source.kind == "canvas" and has_prediction(tab), timeout=WAIT_MS)


def test_file_names_with_spaces_and_non_ascii_characters(qtbot, setup, tmp_path, trouser_png):
    folder = tmp_path / "Bilder – été 日本"
    folder.mkdir()
    path = folder / "my trousers ünïcødé 写真.png"
    path.write_bytes(trouser_png.read_bytes())
    assert setup.tab.open_image_file(str(path)) is True
    assert predicted_label(setup.tab) == "Trouser"
    assert path.name in setup.tab.source_label.text()


def test_dropping_a_file_on_the_tab_opens_it(qtbot, setup, tmp_path, trouser_png):
    tab = setup.tab
    path = tmp_path / "dropped trouser é.png"
    path.write_bytes(trouser_png.read_bytes())
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    assert tab.acceptDrops()
    enter = QDragEnterEvent(QPoint(20, 20), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(tab, enter)
    assert enter.isAccepted()
    drop = QDropEvent(QPointF(20, 20), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(tab, drop)
    # Decoded in a worker (issue 13: a huge picture must not freeze the window).
    qtbot.waitUntil(lambda: setup.image_state.source is not None
                    and setup.image_state.source.description == path.name, timeout=30_000)
    assert predicted_label(tab) == "Trouser"

    text = QMimeData()
    text.setText("just words")
    refused = QDragEnterEvent(QPoint(20, 20), Qt.DropAction.CopyAction, text, Qt.MouseButton.LeftButton,
                              Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(tab, refused)
    assert not refused.isAccepted()


def test_pasting_an_image_and_an_empty_clipboard(qtbot, setup, dataset, trouser_index):
    tab = setup.tab
    clipboard = QGuiApplication.clipboard()
    picture = to_grey_qimage(255 - dataset.test_images[trouser_index]).scaled(
        140, 140, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
    clipboard.setImage(picture)
    tab.paste_image()
    assert setup.image_state.source.kind == "clipboard"
    assert predicted_label(tab) == "Trouser"
    assert tab.error_message == ""

    clipboard.setText("no picture here")
    tab.paste_image()
    assert "clipboard holds no picture" in tab.error_message
    assert predicted_label(tab) == "Trouser"  # the pasted picture stays

    blank = QImage(64, 64, QImage.Format.Format_RGB32)
    blank.fill(Qt.GlobalColor.white)
    clipboard.setImage(blank)
    tab.paste_image()
    assert "nothing to classify" in tab.error_message.lower()


def test_random_test_image_needs_the_dataset_and_shows_the_true_class(qtbot, setup):
    tab = setup.tab
    assert not tab.random_button.isEnabled()
    assert "loading" in tab.random_button.toolTip()
    with qtbot.waitSignal(setup.data_state.loaded, timeout=60_000):
        setup.data_state.load()
    assert tab.random_button.isEnabled()

    dataset = setup.data_state.dataset
    for _ in range(3):
        qtbot.mouseClick(tab.random_button, Qt.MouseButton.LeftButton)
        source = setup.image_state.source
        assert source.kind == "dataset" and source.true_label is not None
        index = int(source.description.split("#")[1])
        assert source.true_label == dataset.test_labels[index]
        np.testing.assert_allclose(tab.network_input_view.image, dataset.test_images[index] / 255, atol=1e-6)
        truth = config.CLASS_NAMES[source.true_label]
        verdict = "correct" if tab.probability_bars.top_index == source.true_label else "wrong"
        assert tab.truth_label.text().startswith(f"True class: {truth}")
        assert verdict in tab.truth_label.text()
        assert tab.probability_bars.true_index == source.true_label


def test_images_chosen_elsewhere_are_shown_and_classified(qtbot, setup, dataset, trouser_index):
    setup.image_state.set_image(dataset.test_images[trouser_index] / 255,
                                ImageSource("dataset", f"test #{trouser_index}", true_label=TROUSER))
    tab = setup.tab
    assert tab.input_stack.currentWidget() is tab.picture_view
    assert predicted_label(tab) == "Trouser"
    assert "correct" in tab.truth_label.text()


def test_new_weights_and_a_new_model_reclassify_the_current_image(qtbot, setup, trouser_png, quick_model_path):
    from cnn_desktop.core.model_io import load_model

    tab = setup.tab
    model, card = load_model(quick_model_path)  # its own copy: the weights get replaced below
    setup.model_state.set_model(model, card, quick_model_path)
    assert tab.open_image_file(trouser_png)
    assert tab.probability_bars.probabilities.max() > 0.5

    blank_weights = [np.zeros_like(weights) for weights in model.get_weights()]
    with qtbot.waitSignal(setup.model_state.weightsChanged):
        setup.model_state.set_weights(blank_weights)
    # A network with all weights zero cannot tell the classes apart: ten times 10%.
    np.testing.assert_allclose(tab.probability_bars.probabilities, 0.1, atol=1e-6)
    assert tab.prediction_label.text().endswith("– 10%")

    with qtbot.waitSignal(setup.model_state.modelChanged):
        setup.model_state.set_model(*load_model(quick_model_path), quick_model_path)
    assert predicted_label(tab) == "Trouser"


def test_before_the_model_is_ready_it_says_so(qtbot, quick_model_path, trouser_png):
    setup = make_tab(qtbot)
    tab = setup.tab
    assert tab.prediction_label.text() == NO_MODEL
    with qtbot.waitSignal(setup.model_state.modelChanged, timeout=60_000):
        setup.model_state.load(quick_model_path)  # in a worker thread: the tab says so meanwhile
        assert setup.model_state.loading and tab.prediction_label.text() == LOADING_MODEL
        assert tab.open_image_file(trouser_png)  # the picture is prepared and shown already
        assert tab.network_input_view.image is not None
        assert tab.prediction_label.text() == LOADING_MODEL
        assert not has_prediction(tab)
    assert not setup.model_state.loading
    qtbot.waitUntil(lambda: has_prediction(tab))
    assert predicted_label(tab) == "Trouser"


def test_inspect_button_asks_for_the_inspect_tab(qtbot, setup, trouser_png):
    tab = setup.tab
    assert not tab.inspect_button.isEnabled()  # nothing drawn yet
    tab.open_image_file(trouser_png)
    assert tab.inspect_button.isEnabled()
    with qtbot.waitSignal(setup.tab.showTabRequested, check_params_cb=lambda name: name == "inspect"):
        qtbot.mouseClick(tab.inspect_button, Qt.MouseButton.LeftButton)


def test_buttons_have_tooltips_and_the_layout_fits_1200_by_800(qtbot, setup):
    tab = setup.tab
    for button in (tab.undo_button, tab.redo_button, tab.clear_button, tab.open_button, tab.paste_button,
                   tab.random_button, tab.inspect_button, tab.draw_button, *tab.tool_buttons.values()):
        assert button.toolTip(), button.text()
    # The window is 1200 x 800 with a menu bar, tab bar and status bar around this tab.
    minimum = tab.minimumSizeHint()
    assert minimum.width() <= 1200 and minimum.height() <= 700
    tab.resize(1200, 700)
    QApplication.processEvents()
    visible = [tab.canvas, tab.network_input_view, tab.probability_bars, tab.prediction_label, tab.random_button,
               tab.open_button, tab.brush_slider]
    for widget in visible:
        assert widget.isVisible()
        top_left = widget.mapTo(tab, QPoint(0, 0))
        assert tab.rect().contains(top_left) and tab.rect().contains(top_left + QPoint(widget.width() - 1,
                                                                                        widget.height() - 1))
        assert widget.width() >= widget.minimumSizeHint().width() or widget.minimumSizeHint().width() <= 0
    assert tab.probability_bars.height() >= tab.probability_bars.sizeHint().height()
