"""Windowed builds (PyInstaller with console=False on Windows/macOS, pythonw) have no stdout or stderr:
``sys.stdout is None``. The command line and the self-test must still run there: logging, printed
results and the training progress must not crash.

Each case runs the real cli.main in a fresh interpreter whose sys.stdout and sys.stderr are None.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cnn_desktop import config

ROOT = Path(__file__).resolve().parent.parent
WINDOWLESS_MAIN = (
    "import sys; sys.stdout = None; sys.stderr = None\n"
    "from cnn_desktop.cli import main\n"
    "raise SystemExit(main(sys.argv[1:]))\n"
)


def run_windowless(args: list[str], home: Path, timeout: float = 300, *, windowless: bool = True,
                   **extra_env) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if not key.startswith("XDG_")}
    env.update(HOME=str(home), XDG_DATA_HOME=str(home / "data"), XDG_CONFIG_HOME=str(home / "config"),
               XDG_CACHE_HOME=str(home / "cache"), QT_QPA_PLATFORM="offscreen", TF_CPP_MIN_LOG_LEVEL="2",
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])), **extra_env)
    main = WINDOWLESS_MAIN if windowless else WINDOWLESS_MAIN.replace("sys.stdout = None; sys.stderr = None", "")
    return subprocess.run([sys.executable, "-c", main, *args], cwd=home, env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_summary_runs_without_stdout_or_stderr(tmp_path):
    result = run_windowless(["summary"], tmp_path)
    assert result.returncode == 0, result.stderr
    # Nothing reached the real file descriptors through Python (C++ logs from TensorFlow may).
    assert result.stdout == ""


def test_help_and_usage_errors_without_stdout_or_stderr(tmp_path):
    assert run_windowless(["--help"], tmp_path).returncode == 0
    assert run_windowless(["train", "--epochs", "0"], tmp_path).returncode == 2


def test_runtime_error_is_reported_by_exit_code_without_stderr(tmp_path, quick_model_path):
    missing = tmp_path / "missing.png"
    result = run_windowless(["classify", str(missing), "--model", str(quick_model_path)], tmp_path)
    assert result.returncode == 1, result.stderr


def test_classify_prints_nowhere_without_stdout(tmp_path, quick_model_path):
    sample = config.resources_dir() / "samples" / "sneaker.png"
    result = run_windowless(["classify", "--json", str(sample), "--model", str(quick_model_path)], tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""


@pytest.mark.slow
def test_training_progress_without_stderr(tmp_path):
    """The text progress (and Keras) must not write to a missing stderr; the model is still saved."""
    out = tmp_path / "windowless.keras"
    result = run_windowless(["train", "--limit", "300", "--epochs", "1", "--out", str(out)], tmp_path)
    assert result.returncode == 0, result.stderr
    assert out.is_file() and out.with_name("windowless.card.json").is_file()


def test_self_test_without_stdout_or_stderr(tmp_path, default_model_path):
    """The GUI path too: Qt offscreen, the bundled model, the log file; exit 0 with nowhere to print."""
    result = run_windowless(["--self-test"], tmp_path)
    assert result.returncode == 0, result.stderr
    # With nowhere to print, the log file in the user's data directory is where the run is recorded.
    log_files = list((tmp_path / "data").rglob("cnn-desktop.log"))
    assert log_files and "window shown" in log_files[0].read_text(encoding="utf-8")


def test_startup_probe_stamps_the_window_and_the_first_prediction(tmp_path, default_model_path):
    """benchmarks/run.py times startup with CNN_DESKTOP_STARTUP_PROBE: the app stamps both moments on stderr
    (CLOCK_MONOTONIC, in order) and closes itself; without stderr it still exits cleanly."""
    result = run_windowless([], tmp_path, 120, windowless=False, CNN_DESKTOP_STARTUP_PROBE="1")
    assert result.returncode == 0, result.stderr
    stamps = dict(re.findall(r"^(window_shown|model_ready) (\d+\.\d+)$", result.stderr, re.MULTILINE))
    assert set(stamps) == {"window_shown", "model_ready"}, result.stderr
    assert float(stamps["window_shown"]) <= float(stamps["model_ready"])
    assert run_windowless([], tmp_path, 120, CNN_DESKTOP_STARTUP_PROBE="1").returncode == 0
