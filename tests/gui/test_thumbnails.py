"""The shared thumbnail model and delegate, in the Train tab's gallery and on their own, on real test images."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QListView

from cnn_desktop import config
from cnn_desktop.gui.widgets.example_gallery import PIXEL_SCALE, ExampleGallery
from cnn_desktop.gui.widgets.thumbnail_delegate import CELL_MARGIN, ThumbnailDelegate
from cnn_desktop.gui.widgets.thumbnail_model import (CaptionRole, ConfidenceRole, IndexRole, LabelRole,
                                                     PredictionRole, PredictionTextRole, ThumbnailModel)

SHOWN = [7, 3, 42, 1000]


def shown_gallery(qtbot, dataset) -> tuple[ExampleGallery, np.ndarray, np.ndarray]:
    gallery = ExampleGallery("hint")
    qtbot.addWidget(gallery)
    gallery.resize(600, 400)
    predictions = (dataset.test_labels.astype(np.int64) + 1) % config.NUM_CLASSES  # every one wrong
    predictions[3] = dataset.test_labels[3]  # but this one
    confidences = np.linspace(0.5, 1.0, len(dataset.test_labels))
    gallery.show_examples(SHOWN, dataset.test_images, dataset.test_labels, predictions=predictions,
                          confidences=confidences, title="Four images")
    gallery.show()
    qtbot.waitExposed(gallery)
    return gallery, predictions, confidences


def test_gallery_lists_the_images_with_what_the_model_said(qtbot, dataset):
    gallery, predictions, confidences = shown_gallery(qtbot, dataset)
    model = gallery.view.model()
    assert gallery.title.text() == "Four images"
    assert [model.data(model.index(row), IndexRole) for row in range(model.rowCount())] == SHOWN
    first = model.index(0)
    true_name, said = config.CLASS_NAMES[dataset.test_labels[7]], config.CLASS_NAMES[predictions[7]]
    assert model.data(first, LabelRole) == dataset.test_labels[7]
    assert model.data(first, PredictionRole) == predictions[7]
    assert model.data(first, ConfidenceRole) == confidences[7]
    assert model.data(first, PredictionTextRole) == f"→ {said} {confidences[7]:.0%}"
    assert model.data(first, Qt.ItemDataRole.DisplayRole) == f"{true_name}\n→ {said} {confidences[7]:.0%}"
    tooltip = model.data(first, Qt.ItemDataRole.ToolTipRole)
    assert tooltip.startswith(f"test #7: {true_name}") and f"({confidences[7]:.1%} sure, wrong)" in tooltip
    assert "(right)" not in tooltip and "right)" in model.data(model.index(1), Qt.ItemDataRole.ToolTipRole)

    gallery.clear()
    assert model.rowCount() == 0 and gallery.title.text() == "hint"


def test_gallery_thumbnails_are_sharp_and_enter_sends_the_image(qtbot, dataset):
    gallery, _predictions, _confidences = shown_gallery(qtbot, dataset)
    view = gallery.view
    shot = view.viewport().grab().toImage().convertToFormat(QImage.Format.Format_Grayscale8)
    size = config.IMAGE_SIZE * PIXEL_SCALE
    for row, number in enumerate(SHOWN[:2]):
        rect = view.visualRect(view.model().index(row))
        left, top = rect.x() + (rect.width() - size) // 2, rect.y() + CELL_MARGIN
        pixels = np.array([[shot.pixelColor(left + x, top + y).red() for x in range(size)] for y in range(size)])
        np.testing.assert_array_equal(pixels, np.kron(dataset.test_images[number], np.ones((PIXEL_SCALE,) * 2)))

    view.setFocus()
    view.setCurrentIndex(view.model().index(2))
    with qtbot.waitSignal(gallery.exampleClicked) as clicked:
        qtbot.keyClick(view, Qt.Key.Key_Return)
    assert clicked.args == [SHOWN[2]]


def test_model_with_captions_and_predictions_set_later(qtbot, dataset):
    """As a view of the user's own examples would use it: all images listed, captions, answers known later."""
    images, labels = dataset.test_images[:5], dataset.test_labels[:5]
    captions = [f"drawing {number}" for number in range(5)]
    model = ThumbnailModel()
    model.set_images(images, labels, source="example", captions=captions)
    view = QListView()
    qtbot.addWidget(view)
    view.setModel(model)
    view.setItemDelegate(ThumbnailDelegate(view))
    assert model.rowCount() == 5
    assert model.data(model.index(4), CaptionRole) == "drawing 4"
    assert model.data(model.index(4), PredictionRole) is None and model.data(model.index(4), PredictionTextRole) == ""
    assert model.data(model.index(4), Qt.ItemDataRole.ToolTipRole) == (
        f"example #4: {config.CLASS_NAMES[labels[4]]}\ndrawing 4")
    decoration = model.data(model.index(2), Qt.ItemDataRole.DecorationRole)
    assert (decoration.width(), decoration.height()) == (config.IMAGE_SIZE, config.IMAGE_SIZE)

    view.setCurrentIndex(model.index(3))
    with qtbot.assertNotEmitted(model.modelReset), qtbot.waitSignal(model.dataChanged) as changed:
        model.set_predictions(labels.copy())
    assert changed.args[0].row() == 0 and changed.args[1].row() == 4
    assert view.currentIndex().row() == 3  # no reset: the selection stays
    assert model.data(model.index(4), PredictionTextRole) == f"→ {config.CLASS_NAMES[labels[4]]}"
    assert "(right)" in model.data(model.index(4), Qt.ItemDataRole.ToolTipRole)
