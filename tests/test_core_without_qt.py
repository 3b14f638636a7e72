"""The core runs with Qt (PySide6, shiboken6, pyqtgraph) impossible to import."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap


def test_core_imports_and_classifies_with_qt_blocked(quick_model_path):
    script = textwrap.dedent(f"""
        import importlib.abc, sys

        class BlockQt(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ("PySide6", "shiboken6", "pyqtgraph", "PyQt5", "PyQt6"):
                    raise ImportError(f"Qt is blocked in this test: {{name}}")
                return None

        sys.meta_path.insert(0, BlockQt())
        import cnn_desktop.cli
        from cnn_desktop.core import (dataset, design, evaluation, inference, model, model_io, preprocessing,
                                       run_recorder, run_store, training)
        import numpy as np
        loaded, card = model_io.load_model({str(quick_model_path)!r})
        prediction = inference.Classifier(loaded).classify(np.zeros((28, 28), np.float32))
        maps = inference.FeatureExtractor(loaded).feature_maps(np.ones((28, 28), np.float32))
        data = dataset.load_dataset()
        result = training.TrainingSession(training.TrainingConfig(epochs=1, limit=200), data=data).run()
        assert result.status == "completed"
        assert not any(m.split(".")[0] in ("PySide6", "shiboken6", "pyqtgraph") for m in sys.modules)
        print("core ok", prediction.label, len(maps))
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert result.returncode == 0, result.stderr[-3000:]
    assert "core ok" in result.stdout


def test_the_block_really_blocks():
    result = subprocess.run([sys.executable, "-c", textwrap.dedent("""
        import importlib.abc, sys
        class BlockQt(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] == "PySide6":
                    raise ImportError("blocked")
        sys.meta_path.insert(0, BlockQt())
        import cnn_desktop.gui.main_window
    """)], capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and "blocked" in result.stderr
