"""Application state: QObjects without widgets that hold what the tabs show and emit a signal on every change."""
