"""The drawing canvas, driven with real mouse and tablet events on a real (offscreen) widget."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QPointingDevice, QTabletEvent
from PySide6.QtWidgets import QApplication

from cnn_desktop.gui.widgets.canvas import (INK, LOGICAL_SIZE, MIN_DISPLAY_SIZE, UNDO_DEPTH, Canvas, Tool,
                                            connected_region)


def widget_point(canvas, x: float, y: float) -> QPoint:
    """Where the pointer goes to draw at (x, y) in drawing units, at the canvas's current display size."""
    return canvas.to_widget(QPointF(x, y)).toPoint()


def draw_stroke(qtbot, canvas, points, button=Qt.MouseButton.LeftButton) -> None:
    """Press at the first point, move through the others, release at the last (drawing units, 0-280)."""
    points = [widget_point(canvas, *point) for point in points]
    qtbot.mousePress(canvas, button, pos=points[0])
    for point in points[1:]:
        qtbot.mouseMove(canvas, point)
    qtbot.mouseRelease(canvas, button, pos=points[-1])


def ink_count(canvas) -> int:
    return int((canvas.pixels() > 127).sum())


def ink_at(canvas, x: float, y: float) -> int:
    """The pixel value under logical point (x, y)."""
    scale = canvas.pixel_scale
    return int(canvas.pixels()[int(y * scale), int(x * scale)])


@pytest.fixture
def canvas(qtbot):
    widget = Canvas()
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def test_canvas_is_black_with_a_backing_store_denser_than_its_drawing_units(canvas):
    assert canvas.sizeHint().width() == canvas.sizeHint().height() == LOGICAL_SIZE
    assert canvas.minimumWidth() == canvas.minimumHeight() == MIN_DISPLAY_SIZE  # it grows, never shrinks away
    pixels = canvas.pixels()
    assert pixels.shape[0] == pixels.shape[1] >= 2 * LOGICAL_SIZE
    assert canvas.is_blank()
    assert not canvas.can_undo() and not canvas.can_redo()


def test_mouse_stroke_draws_white_ink_where_the_pointer_went(qtbot, canvas):
    with qtbot.waitSignal(canvas.changed):
        draw_stroke(qtbot, canvas, [(40, 140), (140, 140), (240, 140)])
    assert ink_at(canvas, 40, 140) == INK
    assert ink_at(canvas, 140, 140) == INK
    assert ink_at(canvas, 200, 140) == INK  # between move events: a continuous line, not dots
    assert ink_at(canvas, 140, 60) == 0
    assert ink_at(canvas, 140, 220) == 0
    assert canvas.can_undo()


def test_changed_is_emitted_during_a_stroke_not_only_at_its_end(qtbot, canvas):
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=widget_point(canvas, 50, 50))
    with qtbot.waitSignal(canvas.changed):
        qtbot.mouseMove(canvas, widget_point(canvas, 150, 150))
    assert ink_at(canvas, 100, 100) == INK  # drawn before the button is released
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=widget_point(canvas, 150, 150))


@pytest.mark.parametrize("size", [(560, 400), (300, 700)])
def test_a_larger_canvas_shows_a_centred_square_and_strokes_land_under_the_pointer(qtbot, canvas, size):
    width, height = size
    canvas.resize(width, height)
    qtbot.waitUntil(lambda: canvas.size().width() == width and canvas.size().height() == height)
    side = min(width, height)
    square = canvas.drawing_rect()
    assert (square.width(), square.height()) == (side, side)
    assert (square.left(), square.top()) == ((width - side) / 2, (height - side) / 2)
    assert canvas.pixels().shape[0] >= 2 * LOGICAL_SIZE  # the drawing keeps its resolution

    # Real mouse events at widget pixels; the ink must be where those pixels are in the drawing.
    left, top = square.left(), square.top()
    start, end = QPoint(round(left + 0.2 * side), round(top + 0.5 * side)), \
        QPoint(round(left + 0.8 * side), round(top + 0.5 * side))
    canvas.set_brush_size(10)
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(canvas, end)
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=end)
    for fraction in (0.2, 0.5, 0.8):
        assert ink_at(canvas, fraction * LOGICAL_SIZE, 0.5 * LOGICAL_SIZE) == INK, fraction
    assert ink_at(canvas, 0.5 * LOGICAL_SIZE, 0.3 * LOGICAL_SIZE) == 0
    assert ink_at(canvas, 0.1 * LOGICAL_SIZE, 0.5 * LOGICAL_SIZE) == 0
    # The brush is 10 drawing units wide at any display size: 10 units x the store's pixels per unit.
    column = canvas.pixels()[:, int(0.5 * LOGICAL_SIZE * canvas.pixel_scale)]
    assert abs((column > 127).sum() - 10 * canvas.pixel_scale) <= 2 * canvas.pixel_scale

    # A press in the margin beside (or above) the square draws nothing.
    before = canvas.pixels()
    margin = QPoint(2, 2) if left >= 4 or top >= 4 else None
    if margin is not None:
        qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=margin)
        qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=margin)
        assert np.array_equal(canvas.pixels(), before)


def test_brush_size_sets_the_stroke_width(qtbot, canvas):
    canvas.set_brush_size(4)
    draw_stroke(qtbot, canvas, [(40, 70), (240, 70)])
    thin = ink_count(canvas)
    canvas.set_brush_size(24)
    draw_stroke(qtbot, canvas, [(40, 200), (240, 200)])
    thick = ink_count(canvas) - thin
    assert thick > 4 * thin


def test_undo_redo_and_clear(qtbot, canvas):
    draw_stroke(qtbot, canvas, [(40, 60), (240, 60)])
    after_first = canvas.pixels()
    draw_stroke(qtbot, canvas, [(140, 20), (140, 260)])
    after_second = canvas.pixels()
    assert ink_count(canvas) > int((after_first > 127).sum())

    canvas.undo()
    assert np.array_equal(canvas.pixels(), after_first)
    assert canvas.can_redo()
    canvas.redo()
    assert np.array_equal(canvas.pixels(), after_second)
    assert not canvas.can_redo()

    with qtbot.waitSignal(canvas.changed):
        canvas.clear()
    assert canvas.is_blank()
    canvas.undo()  # a clear can be undone
    assert np.array_equal(canvas.pixels(), after_second)
    canvas.undo()
    canvas.undo()
    assert canvas.is_blank()
    assert not canvas.can_undo()

    # A new stroke after undoing drops the redo history.
    draw_stroke(qtbot, canvas, [(60, 200), (200, 200)])
    assert not canvas.can_redo()


def test_undo_history_is_limited(qtbot, canvas):
    canvas.set_brush_size(2)
    for step in range(UNDO_DEPTH + 5):
        y = 5 + step * 5
        draw_stroke(qtbot, canvas, [(20, y), (260, y)])
    undone = 0
    while canvas.can_undo():
        canvas.undo()
        undone += 1
    assert undone == UNDO_DEPTH
    assert not canvas.is_blank()  # the oldest strokes are beyond the history


def test_eraser_tool_and_right_button_erase(qtbot, canvas):
    canvas.set_brush_size(20)
    draw_stroke(qtbot, canvas, [(40, 100), (240, 100)])
    draw_stroke(qtbot, canvas, [(40, 200), (240, 200)])
    canvas.set_tool(Tool.ERASER)
    draw_stroke(qtbot, canvas, [(140, 60), (140, 140)])
    assert ink_at(canvas, 140, 100) == 0
    assert ink_at(canvas, 60, 100) == INK
    canvas.set_tool(Tool.BRUSH)
    draw_stroke(qtbot, canvas, [(100, 160), (100, 240)], button=Qt.MouseButton.RightButton)
    assert ink_at(canvas, 100, 200) == 0
    assert ink_at(canvas, 200, 200) == INK


def test_fill_turns_a_closed_outline_into_a_silhouette(qtbot, canvas):
    canvas.set_brush_size(6)
    left, top, right, bottom = 60, 60, 220, 200
    draw_stroke(qtbot, canvas, [(left, top), (right, top), (right, bottom), (left, bottom), (left, top)])
    outline = ink_count(canvas)
    area = (right - left) * (bottom - top) * canvas.pixel_scale ** 2
    assert outline < 0.25 * area
    assert ink_at(canvas, 140, 130) == 0

    canvas.set_tool(Tool.FILL)
    with qtbot.waitSignal(canvas.changed):
        qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=widget_point(canvas, 140, 130))
    filled = ink_count(canvas)
    assert filled > 0.95 * area
    assert ink_at(canvas, 140, 130) == INK
    assert ink_at(canvas, 30, 30) == 0  # the outside stays black
    assert ink_at(canvas, 250, 250) == 0

    canvas.undo()
    assert ink_count(canvas) == outline


def test_fill_leaves_no_grey_seam_inside_a_slanted_outline(qtbot, canvas):
    canvas.set_brush_size(6)
    centre, radius = 140, 100
    diamond = [(centre, centre - radius), (centre + radius, centre), (centre, centre + radius),
               (centre - radius, centre), (centre, centre - radius)]
    draw_stroke(qtbot, canvas, diamond)
    canvas.set_tool(Tool.FILL)
    qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=widget_point(canvas, centre, centre))
    scale = canvas.pixel_scale
    rows, cols = np.indices(canvas.pixels().shape) / scale
    inside = np.abs(rows - centre) + np.abs(cols - centre) <= radius  # up to the outline's middle
    # The anti-aliased inner edge of a slanted stroke is grey; the fill must cover it too.
    assert canvas.pixels()[inside].min() == INK


def test_fill_on_ink_changes_nothing(qtbot, canvas):
    canvas.set_brush_size(20)
    draw_stroke(qtbot, canvas, [(40, 140), (240, 140)])
    before = canvas.pixels()
    canvas.set_tool(Tool.FILL)
    qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=widget_point(canvas, 140, 140))
    assert np.array_equal(canvas.pixels(), before)
    canvas.undo()
    assert canvas.is_blank()  # no empty undo step was recorded for the no-op fill


def _tablet_stroke(canvas, points, pressure: float) -> None:
    device = QPointingDevice.primaryPointingDevice()
    kinds = [QEvent.Type.TabletPress] + [QEvent.Type.TabletMove] * (len(points) - 2) + [QEvent.Type.TabletRelease]
    for kind, point in zip(kinds, points):
        position = canvas.to_widget(QPointF(*point))
        buttons = Qt.MouseButton.NoButton if kind == QEvent.Type.TabletRelease else Qt.MouseButton.LeftButton
        event = QTabletEvent(kind, device, position, canvas.mapToGlobal(position), pressure, 0, 0, 0, 0, 0,
                             Qt.KeyboardModifier.NoModifier, Qt.MouseButton.LeftButton, buttons)
        QApplication.sendEvent(canvas, event)
        assert event.isAccepted()


def test_pen_pressure_sets_the_stroke_width(canvas):
    canvas.set_brush_size(30)
    _tablet_stroke(canvas, [(40, 70), (140, 70), (240, 70)], pressure=0.1)
    light = ink_count(canvas)
    _tablet_stroke(canvas, [(40, 200), (140, 200), (240, 200)], pressure=1.0)
    firm = ink_count(canvas) - light
    assert light > 0
    assert firm > 2.5 * light


def test_connected_region_follows_four_neighbours_only():
    region = np.ones((7, 7), dtype=bool)
    region[1, 1:6] = region[5, 1:6] = region[1:6, 1] = region[1:6, 5] = False  # a closed ring
    inside = connected_region(region, 3, 3)
    assert inside.sum() == 9 and inside[2:5, 2:5].all()
    outside = connected_region(region, 0, 0)
    assert outside.sum() == 49 - 16 - 9

    diagonal = np.eye(5, dtype=bool) | np.eye(5, k=1, dtype=bool)  # a staircase: 4-connected
    assert connected_region(diagonal, 0, 0).sum() == diagonal.sum()
    gaps = np.eye(5, dtype=bool)  # touching only at corners: not connected
    assert connected_region(gaps, 0, 0).sum() == 1
    assert not connected_region(region, 1, 1).any()  # clicking on the border fills nothing
