"""The Qt-free core: data, models, training, preprocessing and inference.

Nothing under this package may import Qt; `tests/test_core_without_qt.py`
imports all of it with Qt blocked to keep it that way.
"""
