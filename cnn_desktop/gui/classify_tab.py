"""Classify tab (placeholder until the desktop-app issue fills it in)."""

from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget


class ClassifyTab(QWidget):
    def __init__(self, model_state, image_state, data_state, parent=None):
        super().__init__(parent)
        self.model_state, self.image_state, self.data_state = model_state, image_state, data_state
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Classify"))

    def open_image_dialog(self): ...
    def paste_image(self): ...
    def undo(self): ...
    def redo(self): ...
    def clear_canvas(self): ...
