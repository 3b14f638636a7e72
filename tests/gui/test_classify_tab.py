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
from cnn_desktop.gui.widgets.canvas import LOGICAL_SIZE, Tool
from cnn_desktop.gui.tabs.classify_tab import LOADING_MODEL, NO_MODEL, NOTHING_TO_CLASSIFY, ClassifyTab
from cnn_desktop.gui.state.data_state import DataState
from cnn_desktop.gui.state.image_state import ImageSource, ImageState
from cnn_desktop.gui.state.model_state import ModelState
from cnn_desktop.gui.widgets.array_images import to_grey_qimage
from test_canvas import draw_stroke, widget_point  # same folder: the one way the tests draw with the mouse

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
    # Under the canvas, what draws best: one large item, filled with the bucket.
    hint = tab.source_label.text()
    assert "large" in hint and "filled" in hint and "Fill bucket" in hint
    assert not has_prediction(tab)
    assert setup.image_state.image is None


def test_drawing_classifies_live_while_the_stroke_goes_on(qtbot, setup):
    tab = setup.tab
    canvas = tab.canvas
    canvas.set_brush_size(30)
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=widget_point(canvas, 140, 40))
    for y in range(50, 250, 20):
        qtbot.mouseMove(canvas, widget_point(canvas, 140, y))
    # The button is still down: the result comes from the stroke in progress.
    qtbot.waitUntil(lambda: has_prediction(tab), timeout=WAIT_MS)
    assert setup.image_state.source.kind == "canvas"
    assert tab.network_input_view.image is not None
    assert tab.network_input_view.image.shape == (config.IMAGE_SIZE, config.IMAGE_SIZE)
    probabilities = tab.probability_bars.probabilities
    assert probabilities.sum() == pytest.approx(1.0, abs=1e-4)
    label = predicted_label(tab)
    assert tab.prediction_label.text().endswith(f"{label} – {probabilities.max():.0%}") or \
        tab.prediction_label.text().endswith(f"{label} ({probabilities.max():.0%})")
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=widget_point(canvas, 140, 250))

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
    qtbot.mouseClick(tab.canvas, Qt.MouseButton.LeftButton, pos=widget_point(tab.canvas, 140, 140))
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
    assert tab.picture_view.picture is not None and not tab.picture_view.picture.isNull()
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


def test_pasting_an_image_and_an_empty_clipboard(qtbot, setup, dataset, trouser_index, monkeypatch):
    """A pasted bitmap is a photo: the item is found by segmentation in a worker, not on the GUI thread."""
    import threading

    from cnn_desktop.gui.tabs import classify_tab as module

    threads = []
    real_prepare = module.prepare_pixels

    def recording_prepare(*args, **kwargs):
        threads.append(threading.current_thread())
        return real_prepare(*args, **kwargs)

    monkeypatch.setattr(module, "prepare_pixels", recording_prepare)
    tab = setup.tab
    clipboard = QGuiApplication.clipboard()
    picture = to_grey_qimage(255 - dataset.test_images[trouser_index]).scaled(
        140, 140, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
    clipboard.setImage(picture)
    tab.paste_image()
    qtbot.waitUntil(lambda: setup.image_state.source is not None and setup.image_state.source.kind == "clipboard",
                    timeout=WAIT_MS)
    assert threads and threading.main_thread() not in threads
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
    qtbot.waitUntil(lambda: "nothing to classify" in tab.error_message.lower(), timeout=WAIT_MS)
    assert "pasted picture" in tab.error_message and predicted_label(tab) == "Trouser"


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
    # ... so it says it is not sure (too little confidence: the figure is given), with dimmed bars.
    assert tab.prediction_label.text().startswith("Not sure") and tab.prediction_label.text().endswith("(10%)")
    assert tab.unsure and tab.probability_bars.dimmed

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


# ---------------------------------------------------------------------- issue 12: photos, honesty, the canvas
@pytest.fixture(scope="module")
def bundled_model(default_model_path):
    """The bundled model as the app loads it (in its worker function): with its card's calibration."""
    from cnn_desktop.gui.state.model_state import load_model_for_app

    return load_model_for_app(default_model_path)


@pytest.fixture
def bundled_setup(qtbot, bundled_model):
    setup = make_tab(qtbot)
    setup.model_state.use(*bundled_model)
    return setup


def wood_texture(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A brown, grainy, unevenly lit table top (RGB uint8): no plain background to threshold against."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    grain = np.sin(y / 6.0 + 3 * np.sin(x / 90.0)) * 0.5 + 0.5
    light = 0.75 + 0.25 * x / width  # brighter towards the window
    shade = (0.55 + 0.25 * grain + rng.normal(0, 0.04, (height, width))) * light
    brown = np.array([160, 105, 60], np.float32)
    return np.clip(shade[..., np.newaxis] * brown * 1.4, 0, 255).astype(np.uint8)


def item_on_wood(pixels: np.ndarray, colour=(40, 70, 140), box=(120, 60, 344, 284), size=(480, 360)):
    """A Fashion-MNIST item as coloured cloth on a wood table, enlarged into ``box`` = (left, top, right, bottom)."""
    left, top, right, bottom = box
    picture = wood_texture(size[1], size[0]).astype(np.float32)
    item = np.asarray(Image.fromarray(pixels).resize((right - left, bottom - top), Image.Resampling.BICUBIC),
                      np.float32) / 255.0
    cover = np.clip(item * 4, 0, 1)[..., np.newaxis]  # opaque wherever the item is
    cloth = np.array(colour, np.float32) * (0.6 + 0.4 * item[..., np.newaxis])
    region = picture[top:bottom, left:right]
    picture[top:bottom, left:right] = region * (1 - cover) + cloth * cover
    return picture.astype(np.uint8)


def outline_box(outlines) -> tuple[float, float, float, float]:
    points = np.concatenate(outlines)
    return points[:, 0].min(), points[:, 1].min(), points[:, 0].max(), points[:, 1].max()


def box_overlap(first, second) -> float:
    """Intersection over union of two (left, top, right, bottom) boxes."""
    width = min(first[2], second[2]) - max(first[0], second[0])
    height = min(first[3], second[3]) - max(first[1], second[1])
    inter = max(0.0, width) * max(0.0, height)
    area = lambda box: (box[2] - box[0]) * (box[3] - box[1])  # noqa: E731
    return inter / (area(first) + area(second) - inter)


def true_item_box(pixels: np.ndarray, box) -> tuple[float, float, float, float]:
    """Where the item's own pixels land in the composite."""
    left, top, right, bottom = box
    scale_x, scale_y = (right - left) / pixels.shape[1], (bottom - top) / pixels.shape[0]
    rows, cols = np.nonzero(pixels > 30)
    return (left + cols.min() * scale_x, top + rows.min() * scale_y,
            left + (cols.max() + 1) * scale_x, top + (rows.max() + 1) * scale_y)


def test_a_photo_shows_the_found_item_outlined_over_the_picture(qtbot, setup, tmp_path, dataset, trouser_index):
    from cnn_desktop.gui.tabs.classify_tab import OUTLINE_CAPTION
    from cnn_desktop.gui.widgets.picture_view import OUTLINE_COLOUR

    tab = setup.tab
    pixels = dataset.test_images[trouser_index]
    box = (120, 60, 344, 284)
    path = tmp_path / "trousers on the table.jpg"
    # Saved at twice the size: the outline comes in the file's own pixels, the view shows a reduced copy.
    Image.fromarray(item_on_wood(pixels, box=box)).resize((960, 720)).save(path, quality=88)
    assert tab.open_image_file(path)
    assert tab.input_stack.currentWidget() is tab.picture_view
    view = tab.picture_view
    assert view.has_outline
    assert setup.image_state.prepared.method == "segmentation"
    assert setup.image_state.prepared.picture_size == (960, 720)

    def expected(prepared) -> tuple:  # the item's box in the coordinates of the picture as it was handed over
        factor = prepared.picture_size[0] / 480
        return tuple(factor * value for value in true_item_box(pixels, box))

    assert box_overlap(outline_box(view.outlines), expected(setup.image_state.prepared)) > 0.8
    assert OUTLINE_CAPTION in tab.source_label.text()

    # The outline is drawn where the item is in the picture as shown, at any size of the view.
    for size in ((400, 300), (700, 640)):
        view.resize(*size)
        frame = view.grab().toImage()
        points = np.concatenate(view.outlines)[::7]
        on_line = 0
        for x, y in points:
            spot = view.to_widget(float(x), float(y)).toPoint()
            colours = [frame.pixelColor(spot.x() + dx, spot.y() + dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1)
                       if frame.rect().contains(spot.x() + dx, spot.y() + dy)]
            on_line += any(abs(c.red() - OUTLINE_COLOUR.red()) < 40 and abs(c.green() - OUTLINE_COLOUR.green()) < 40
                           and c.blue() < 90 for c in colours)
        assert on_line > 0.9 * len(points), size

    # A pasted copy of the same photo is found the same way (segmentation, not the drawing's threshold).
    QGuiApplication.clipboard().setImage(QImage(str(path)))
    tab.paste_image()
    qtbot.waitUntil(lambda: setup.image_state.source.kind == "clipboard", timeout=WAIT_MS)
    assert view.has_outline and setup.image_state.prepared.method == "segmentation"
    assert box_overlap(outline_box(view.outlines), expected(setup.image_state.prepared)) > 0.8

    # A drawing has no outline to show: the canvas itself is the picture.
    tab.show_canvas()
    assert tab.input_stack.currentWidget() is tab.canvas


def test_a_test_image_is_shown_sure_and_a_scribble_not_sure_with_the_drawing_hint(qtbot, bundled_setup, dataset):
    from cnn_desktop.core.inference import HINTS

    setup, tab = bundled_setup, bundled_setup.tab
    classifier = setup.model_state.classifier
    assert classifier.calibration.min_max_logit is not None  # the card's calibration is in use
    # A clear case: the test image among the first 200 the model is surest of (and right about).
    predictions = classifier.classify_batch(dataset.test_images[:200])
    index = max((i for i, p in enumerate(predictions) if p.index == dataset.test_labels[i]),
                key=lambda i: predictions[i].confidence)
    setup.image_state.set_dataset_image(dataset, "test", index)
    label = config.CLASS_NAMES[dataset.test_labels[index]]
    assert tab.prediction_label.text().startswith(f"{label} – ")
    assert not tab.unsure and not tab.probability_bars.dimmed

    # A scribble: thin zig-zag lines across the canvas, drawn with the mouse.
    tab.show_canvas()
    tab.brush_spin.setValue(4)
    rng = np.random.default_rng(1)
    draw_stroke(qtbot, tab.canvas, [tuple(point) for point in rng.integers(30, 250, size=(12, 2))])
    qtbot.waitUntil(lambda: setup.image_state.source.kind == "canvas" and has_prediction(tab), timeout=WAIT_MS)
    assert tab.unsure
    assert tab.prediction_label.text().startswith("Not sure – perhaps ")
    assert tab.probability_bars.dimmed
    hint = tab.unsure_bar.text()
    assert HINTS["fill_outline"] in hint and HINTS["one_item"] not in hint
    assert tab.unsure_bar.isVisible()


def test_an_unsure_photo_gets_the_photo_hints(qtbot, bundled_setup, tmp_path):
    from cnn_desktop.core.inference import HINTS

    tab = bundled_setup.tab
    paper = np.full((300, 400), 235, np.uint8)  # dark pen scribbles on light paper
    # (Seed 4's zig-zag reads as a sandal's straps to the shape-trained model, 98% sure: fair enough.)
    rng = np.random.default_rng(5)
    image = Image.fromarray(paper)
    from PIL import ImageDraw

    ImageDraw.Draw(image).line([tuple(point) for point in rng.integers(20, 280, size=(14, 2))], fill=30, width=3)
    path = tmp_path / "scribble.png"
    image.save(path)
    assert tab.open_image_file(path)
    assert tab.unsure and tab.prediction_label.text().startswith("Not sure")
    hint = tab.unsure_bar.text()
    assert HINTS["one_item"] in hint and HINTS["plain_background"] in hint and HINTS["fill_outline"] not in hint


def test_the_canvas_grows_with_the_window_and_strokes_land_under_the_pointer(qtbot, setup):
    tab, canvas = setup.tab, setup.tab.canvas
    sides = []
    smallest = tab.minimumSizeHint()
    for width, height in ((max(smallest.width(), 1100), max(smallest.height(), 680)), (1600, 1000)):
        tab.resize(width, height)
        qtbot.waitUntil(lambda: tab.width() == width and tab.height() == height)
        QApplication.processEvents()
        tab.clear_canvas()
        square = canvas.drawing_rect()
        assert square.width() == square.height() == min(canvas.width(), canvas.height())
        sides.append(square.width())
        # Real mouse events at widget pixels: a stroke across the middle third, at 30% of the height.
        y = round(square.top() + 0.3 * square.height())
        start, end = round(square.left() + square.width() / 3), round(square.left() + 2 * square.width() / 3)
        canvas.set_brush_size(8)
        qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=QPoint(start, y))
        qtbot.mouseMove(canvas, QPoint(end, y))
        qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=QPoint(end, y))
        store = canvas.pixels()
        scale = canvas.pixel_scale
        row = int(0.3 * LOGICAL_SIZE * scale)
        inked = np.flatnonzero(store[row] > 127) / scale  # drawing units along that row
        # The stroke spans 1/3 to 2/3 of the drawing, plus the brush's round ends (4 units each).
        assert abs(inked.min() - LOGICAL_SIZE / 3 + 4) < 3 and abs(inked.max() - 2 * LOGICAL_SIZE / 3 - 4) < 3
        assert not (store[int(0.6 * LOGICAL_SIZE * scale)] > 127).any()
    assert sides[0] >= 300 and sides[1] > 1.3 * sides[0]


def test_tab_goes_through_the_tools_in_visual_order(qtbot, setup):
    tab = setup.tab
    expected = [*tab.tool_buttons.values(), tab.brush_slider, tab.brush_spin, tab.undo_button, tab.redo_button,
                tab.clear_button, tab.draw_button, tab.open_button, tab.paste_button, tab.random_button,
                tab.inspect_button]
    assert [button.text() for button in expected[:3]] == ["&Brush", "&Eraser", "&Fill"]
    chain, widget = [], expected[0]
    while len(chain) < len(expected) - 1:
        widget = widget.nextInFocusChain()
        assert widget is not expected[0], "the focus chain came round without all the tools"
        if widget in expected:
            chain.append(widget)
    assert chain == expected[1:]

    # With real Tab presses (disabled buttons are passed over), after a stroke enables Undo.
    draw_trousers(qtbot, tab.canvas)
    qtbot.waitUntil(lambda: has_prediction(tab), timeout=WAIT_MS)
    tab.activateWindow()
    tab.tool_buttons[Tool.BRUSH].setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is tab.tool_buttons[Tool.BRUSH])
    visited = [QApplication.focusWidget()]
    for _ in range(len(expected) + 2):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        visited.append(QApplication.focusWidget())
    reached = [widget for widget in visited if widget in expected]
    enabled = [widget for widget in expected if widget.isEnabled()]
    first_round = reached[:reached.index(enabled[-1]) + 1]
    assert [expected.index(widget) for widget in first_round] == sorted(expected.index(w) for w in first_round)
    for widget in (tab.brush_slider, tab.undo_button, tab.clear_button, tab.open_button, tab.paste_button,
                   tab.inspect_button):
        assert widget in first_round, widget.text() if hasattr(widget, "text") else widget

    # The tools' keys, as their tooltips say.
    for key, tool in ((Qt.Key.Key_F, Tool.FILL), (Qt.Key.Key_E, Tool.ERASER), (Qt.Key.Key_B, Tool.BRUSH)):
        qtbot.keyClick(tab.clear_button, key)
        qtbot.waitUntil(lambda: tab.canvas.tool is tool)  # a shortcut "animates" the click: a moment later
        assert tab.tool_buttons[tool].isChecked()
