"""File ▸ Export in the real window: the export runs in a worker, checked on real test images; the result
(agreement, size) or the one-line reason appears in the window's message bar."""

from __future__ import annotations

import pytest

EXPORT_TIMEOUT_MS = 180_000


@pytest.mark.slow
def test_export_from_the_file_menu_reports_agreement_and_size(qtbot, main_window, tmp_path):
    window = main_window
    file_menu = window.menuBar().actions()[0].menu()
    assert window.export_menu.menuAction() in file_menu.actions()
    assert [action.text() for action in window.export_menu.actions()] == [
        "&TFLite (LiteRT)…", "TFLite, &int8 quantised…", "&ONNX…", "TensorFlow &SavedModel (a folder)…"]
    dialog = window.export_menu.ask_destination("onnx", None, "ONNX models (*.onnx)")
    assert dialog.isVisible() and dialog.selectedFiles()[0].endswith(".onnx")
    dialog.reject()

    out = tmp_path / "from-the-menu.tflite"
    with qtbot.waitSignal(window.export_state.finished, timeout=EXPORT_TIMEOUT_MS) as finished:
        assert window.export_menu.export_to(out, "tflite", "int8")
        assert not window.export_menu.isEnabled()  # one export at a time
    report = finished.args[0]
    assert out.is_file() and report.quantize == "int8"
    assert window.message_bar.kind == "information"
    assert "agreement" in window.message_bar.text() and "MB" in window.message_bar.text()
    assert "points" in window.message_bar.text()  # int8: the accuracy change
    assert window.export_menu.isEnabled()


def test_export_to_a_hostile_place_says_why_in_one_line(qtbot, main_window, tmp_path):
    window = main_window
    folder = tmp_path / "a-folder.onnx"
    folder.mkdir()
    assert not window.export_menu.export_to(folder, "onnx")
    assert window.message_bar.kind == "warning" and "is a directory" in window.message_bar.text()
    assert "\n" not in window.message_bar.text()
    assert not window.export_menu.export_to(tmp_path / "missing" / "m.onnx", "onnx")
    assert "does not exist" in window.message_bar.text()
    assert list(folder.iterdir()) == []
