"""The command line: ``cnn-desktop [train|evaluate|classify|summary|explain|export|devices|runs|examples] ...``.

Exit codes: 0 success, 2 usage error (argparse), 1 runtime error with a one-line
message on stderr and no traceback.

The package, one module per family of commands:
- common: exit codes, CliError and one_line, argument types, logging, the quiet TensorFlow import, loading the
  model and data a command names; imported by the others, importing none of them
- parser: build_parser, every command's arguments
- train: train (with its progress display and the teaching of the user's examples)
- models: evaluate, classify, summary, explain, export, devices and gui (no command: the desktop app)
- runs: runs list|show|rename|note|delete|import|export (the run history)
- examples: examples add|list|import|export|delete|relabel (the user's example collection)
This module holds main (dispatch and the one-line error handling) and COMMANDS.
"""

from __future__ import annotations

import logging
import os
import sys

from cnn_desktop.cli.common import (EXIT_BROKEN_PIPE, EXIT_ERROR, EXIT_OK, EXIT_USAGE, CliError, configure_logging,
                                    import_tensorflow_quietly, one_line, quiet_tensorflow)
from cnn_desktop.cli.examples import cmd_examples
from cnn_desktop.cli.models import (cmd_classify, cmd_devices, cmd_evaluate, cmd_explain, cmd_export, cmd_gui,
                                    cmd_summary)
from cnn_desktop.cli.parser import build_parser
from cnn_desktop.cli.runs import cmd_runs
from cnn_desktop.cli.train import cmd_train

__all__ = [
    "COMMANDS", "EXIT_BROKEN_PIPE", "EXIT_ERROR", "EXIT_OK", "EXIT_USAGE", "CliError", "build_parser",
    "cmd_classify", "cmd_devices", "cmd_evaluate", "cmd_examples", "cmd_explain", "cmd_export", "cmd_gui",
    "cmd_runs", "cmd_summary", "cmd_train", "configure_logging", "import_tensorflow_quietly", "main", "one_line",
    "quiet_tensorflow",
]

log = logging.getLogger(__name__)

COMMANDS = {"train": cmd_train, "evaluate": cmd_evaluate, "classify": cmd_classify, "summary": cmd_summary,
            "runs": cmd_runs, "explain": cmd_explain, "examples": cmd_examples, "export": cmd_export,
            "devices": cmd_devices}


def main(argv: list[str] | None = None) -> int:
    quiet_tensorflow()
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(args.verbose)
    try:
        if args.command is None:
            return cmd_gui(args)
        return COMMANDS[args.command](args)
    except CliError as exc:
        print(f"cnn-desktop: error: {one_line(exc)}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("cnn-desktop: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader of our output went away (`classify ... | head -1`): stop quietly like any filter.
        # stdout now points at /dev/null so that Python's final flush does not complain either.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
        except (OSError, ValueError, AttributeError):
            pass
        return EXIT_BROKEN_PIPE
    except Exception as exc:  # last resort: one line, details in the log
        log.debug("unexpected error", exc_info=True)
        print(f"cnn-desktop: error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_ERROR
