"""What every command shares: exit codes, the one-line error (CliError, one_line), argument types for the
parser, logging and the quiet TensorFlow import, loading the model and data a command names, and the
small formatters of durations and optional numbers.

The command modules import this one; it imports none of them.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import tempfile
from pathlib import Path

from cnn_desktop import config

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2
EXIT_BROKEN_PIPE = 128 + 13  # what a shell reports for a process ended by SIGPIPE


def one_line(text: object) -> str:
    """``text`` with control characters (a newline in a file name) shown escaped, so that one record stays
    one line and a file name cannot forge a line of output."""
    text = str(text)
    return text if text.isprintable() else "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


class CliError(Exception):
    """A runtime error reported as one line on stderr."""


# Argument types for the parser: a bad value is a usage error (exit 2) with argparse's message.

def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def class_index(text: str) -> int:
    from cnn_desktop.core.explain import ExplainError, class_index_from_name

    try:
        return class_index_from_name(text)
    except ExplainError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (value > 0 and value < float("inf")):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not 0 <= value < 2**32:  # what NumPy and TensorFlow accept as a seed
        raise argparse.ArgumentTypeError(f"must be between 0 and {2**32 - 1}, got {value}")
    return value


def configure_logging(verbose: bool) -> None:
    # Windowed builds have no stderr at all; logging then goes only to the log file the app sets up.
    if sys.stderr is None:
        logging.basicConfig(level=logging.INFO, handlers=[logging.NullHandler()])
        return
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)


def quiet_tensorflow() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _import_keras() -> None:
    importlib.import_module("keras")  # for its side effect: TensorFlow started, its start-up lines written


def import_tensorflow_quietly() -> None:
    """Import Keras (and TensorFlow) with file descriptor 2 pointed at a temporary file.

    TensorFlow's C++ start-up lines (absl's "All log messages before absl::InitializeLog() ..." and
    oneDNN's notice) are written before TF_CPP_MIN_LOG_LEVEL applies, and would come before the one-line
    error the README promises. They are shown after all if the import fails, and never hidden with
    --verbose (DEBUG logging).
    """
    if "keras" in sys.modules or sys.stderr is None or logging.getLogger().isEnabledFor(logging.DEBUG):
        _import_keras()
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):
        _import_keras()
        return
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            _import_keras()
        except BaseException:
            os.dup2(saved, 2)
            captured.seek(0)
            os.write(2, captured.read(64 * 1024))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def chosen_model_path(args) -> Path:
    """The command's --model, else the global --model, else the bundled model."""
    return getattr(args, "model_sub", None) or args.model or config.default_model_path()


def chosen_data_dir(args):
    """The command's --data-dir, else the global one (None: the default place)."""
    return getattr(args, "data_dir_sub", None) or args.data_dir


def open_model(path: Path):
    """(model, card) from a .keras file, or CliError."""
    from cnn_desktop.core.model_io import ModelFileError, check_model_file, load_model

    try:
        check_model_file(path)  # a FIFO or /dev/zero is refused before TensorFlow's seconds of start-up
        import_tensorflow_quietly()
        return load_model(path)
    except ModelFileError as exc:
        raise CliError(str(exc)) from None


def open_data(args):
    """The Fashion-MNIST data set from the command's data folder, or CliError."""
    from cnn_desktop.core.dataset import DatasetError, load_dataset

    try:
        return load_dataset(chosen_data_dir(args))
    except DatasetError as exc:
        raise CliError(str(exc)) from None


def format_seconds(seconds: float) -> str:
    from cnn_desktop.core.formatting import format_duration

    return format_duration(seconds, unknown="--:--")


def format_optional(value, pattern: str, empty: str = "-") -> str:
    return empty if value is None else format(value, pattern)
