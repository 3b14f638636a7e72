"""Inspect tab (placeholder until the desktop-app issue fills it in)."""

from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget


class InspectTab(QWidget):
    def __init__(self, model_state, image_state, data_state, parent=None):
        super().__init__(parent)
        self.model_state, self.image_state, self.data_state = model_state, image_state, data_state
        QVBoxLayout(self).addWidget(QLabel("Inspect"))
