"""The base of a view whose state computes only while the view is on screen (explanations, filter patterns).

The state is duck-typed (``add_viewer``, ``remove_viewer``, ``stop_and_wait``): widgets know no state module.
"""

from __future__ import annotations

from PySide6.QtWidgets import QWidget


class OnDemandView(QWidget):
    """Tells ``self.state`` when it is shown and hidden; when the window closes, waits for the state's workers."""

    state: object  # set by the subclass before it is shown

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.state.add_viewer(self)

    def hideEvent(self, event) -> None:
        super().hideEvent(event)
        self.state.remove_viewer(self)
        if not self.window().isVisible():
            # The window closes (not a switch of tabs): its worker threads must end before it is deleted.
            self.state.stop_and_wait()
