"""The command line: ``cnn-desktop [train|evaluate|classify|summary] ...``.

Exit codes: 0 success, 2 usage error (argparse), 1 runtime error with a one-line
message on stderr and no traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from cnn_desktop import __version__, config

log = logging.getLogger(__name__)

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


class CliError(Exception):
    """A runtime error reported as one line on stderr."""


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (value > 0 and value < float("inf")):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    from cnn_desktop.core.model import PRESET_NAMES, PRESETS

    parser = argparse.ArgumentParser(
        prog="cnn-desktop",
        description="Draw, classify, train and inspect a Fashion-MNIST convolutional network. "
                    "Without a command, opens the desktop app.",
    )
    parser.add_argument("--version", action="version", version=f"cnn-desktop {__version__}")
    parser.add_argument("--verbose", "-v", action="store_true", help="log more detail to stderr")
    parser.add_argument("--model", type=Path, help="model file (.keras) to open in the app")
    parser.add_argument("--data-dir", type=Path, help="directory holding the Fashion-MNIST idx files")
    parser.add_argument("--self-test", action="store_true",
                        help="start the app offscreen, classify a built-in sample and exit (0 = passed)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    presets_help = "; ".join(f"{name}: {preset.description}" for name, preset in PRESETS.items())
    train = commands.add_parser("train", help="train a model and save it with its model card",
                                description=f"Train a model. Presets - {presets_help}")
    train.add_argument("--preset", choices=PRESET_NAMES, default="seed")
    train.add_argument("--epochs", type=_positive_int, help="default: the preset's")
    train.add_argument("--batch-size", type=_positive_int, help="default: the preset's")
    train.add_argument("--learning-rate", type=_positive_float, help="default: the preset's")
    train.add_argument("--limit", type=_positive_int, help="train on the first N training images only")
    train.add_argument("--validation", choices=("test", "split"), default="test",
                       help="validate on the official test set (default) or a 10%% split of the training set")
    train.add_argument("--early-stopping", type=_positive_int, metavar="PATIENCE",
                       help="stop after PATIENCE epochs without a better validation loss; keep the best weights")
    train.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    train.add_argument("--data-dir", type=Path, dest="data_dir_sub", help=argparse.SUPPRESS)
    train.add_argument("--out", type=Path, help="where to save the .keras model "
                       "(default: ~/.local/share/cnn-desktop/models/<preset>.keras)")

    evaluate = commands.add_parser("evaluate", help="accuracy and loss on the 10,000 official test images")
    evaluate.add_argument("--model", type=Path, dest="model_sub", help="default: the bundled model")
    evaluate.add_argument("--data-dir", type=Path, dest="data_dir_sub", help=argparse.SUPPRESS)
    evaluate.add_argument("--json", action="store_true", help='print {"accuracy": ..., "loss": ..., "n": ...}')

    classify = commands.add_parser("classify", help="classify image files")
    classify.add_argument("files", nargs="+", type=Path, metavar="FILE")
    classify.add_argument("--model", type=Path, dest="model_sub", help="default: the bundled model")
    classify.add_argument("--json", action="store_true", help="print one JSON object per file")
    classify.add_argument("--top", type=_positive_int, default=3, help="classes to list per file (default 3)")

    summary = commands.add_parser("summary", help="print the Keras summary of a preset's model")
    summary.add_argument("--preset", choices=PRESET_NAMES, default="seed")
    return parser


def _model_path(args) -> Path:
    return getattr(args, "model_sub", None) or args.model or config.default_model_path()


def _data_dir(args):
    return getattr(args, "data_dir_sub", None) or args.data_dir


def _load_model(path: Path):
    from cnn_desktop.core.model_io import ModelFileError, load_model

    try:
        return load_model(path)
    except ModelFileError as exc:
        raise CliError(str(exc)) from None


def _load_data(args):
    from cnn_desktop.core.dataset import DatasetError, load_dataset

    try:
        return load_dataset(_data_dir(args))
    except DatasetError as exc:
        raise CliError(str(exc)) from None


class _TextProgress:
    """A one-line text progress bar on stderr (or plain epoch lines when stderr is not a terminal)."""

    def __init__(self, stream):
        self.stream = stream
        self.interactive = bool(stream) and hasattr(stream, "isatty") and stream.isatty()

    def __call__(self, event) -> None:
        from cnn_desktop.core.training import BatchProgress, EpochEnd, TrainingStarted

        if self.stream is None:
            return
        if isinstance(event, TrainingStarted):
            print(f"Training preset {event.config.preset}: {event.epochs} epochs x {event.steps_per_epoch} steps, "
                  f"{event.train_size:,} training / {event.validation_size:,} validation images",
                  file=self.stream, flush=True)
        elif isinstance(event, BatchProgress) and self.interactive:
            width = 30
            filled = int(width * event.step / event.steps)
            eta = _format_seconds(event.eta_seconds)
            self.stream.write(
                f"\rEpoch {event.epoch}/{event.epochs} [{'=' * filled}{'.' * (width - filled)}] "
                f"{event.step}/{event.steps} loss {event.loss:.4f} acc {event.accuracy:.4f} "
                f"{event.images_per_second:,.0f} img/s ETA {eta}   ")
            self.stream.flush()
        elif isinstance(event, EpochEnd):
            prefix = "\r" if self.interactive else ""
            print(f"{prefix}Epoch {event.epoch}/{event.epochs}: loss {event.loss:.4f} acc {event.accuracy:.4f} "
                  f"val_loss {event.val_loss:.4f} val_acc {event.val_accuracy:.4f} "
                  f"({event.seconds:.1f} s, {event.images_per_second:,.0f} img/s)" + " " * 20,
                  file=self.stream, flush=True)


def _format_seconds(seconds: float) -> str:
    if seconds != seconds or seconds == float("inf"):
        return "--:--"
    seconds = int(round(seconds))
    return f"{seconds // 60:d}:{seconds % 60:02d}" if seconds < 3600 else f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def cmd_train(args) -> int:
    from cnn_desktop.core.evaluation import evaluate
    from cnn_desktop.core.model_io import make_card, save_model
    from cnn_desktop.core.training import TrainingConfig, TrainingConfigError, TrainingSession

    out = args.out or (config.user_models_dir() / f"{args.preset}.keras")
    if out.suffix != ".keras":
        raise CliError(f"--out must end in .keras: {out}")
    training_config = TrainingConfig(
        preset=args.preset, epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.learning_rate,
        validation=args.validation, limit=args.limit, seed=args.seed, early_stopping_patience=args.early_stopping,
    )
    try:
        session = TrainingSession(training_config, data=_load_data(args), listener=_TextProgress(sys.stderr))
    except TrainingConfigError as exc:
        raise CliError(str(exc)) from None
    data = session._data
    try:
        result = session.run()
    except KeyboardInterrupt:
        raise CliError("training interrupted; nothing was saved") from None
    if result.status == "diverged" or not result.usable:
        raise CliError(result.message or "training produced no usable model; nothing was saved")
    test = evaluate(result.model, data.test_images, data.test_labels)
    cfg = result.config
    card = make_card(
        preset=cfg.preset, epochs=result.epochs_completed, batch_size=cfg.batch_size,
        learning_rate=cfg.learning_rate, test_accuracy=round(test.accuracy, 6), test_loss=round(test.loss, 6),
        training_seconds=round(result.seconds, 1), dataset_checksum=data.checksum,
        parameters=int(result.model.count_params()), name=out.stem,
        status=result.status, best_epoch=result.best_epoch, limit=cfg.limit, seed=cfg.seed,
        validation=cfg.validation, early_stopping_patience=cfg.early_stopping_patience,
        images_per_second=round(result.images_per_second, 1),
        history={key: [round(v, 6) for v in values] for key, values in result.history.items()},
        command="cnn-desktop " + " ".join(sys.argv[1:]),
    )
    try:
        save_model(result.model, out, card)
    except OSError as exc:
        raise CliError(f"cannot save the model to {out}: {exc}") from None
    print(f"{result.message} Test accuracy {test.accuracy:.4f}, loss {test.loss:.4f}, "
          f"{result.seconds:.0f} s. Saved {out}")
    return EXIT_OK


def cmd_evaluate(args) -> int:
    from cnn_desktop.core.evaluation import evaluate

    model, _card = _load_model(_model_path(args))
    data = _load_data(args)
    result = evaluate(model, data.test_images, data.test_labels)
    if args.json:
        print(json.dumps(result.to_dict()))
    else:
        print(f"Test accuracy {result.accuracy:.4f}, loss {result.loss:.4f} on {result.n:,} images")
    return EXIT_OK


def cmd_classify(args) -> int:
    from cnn_desktop.core.inference import Classifier
    from cnn_desktop.core.preprocessing import ImageError, prepare_file

    model, _card = _load_model(_model_path(args))
    classifier = Classifier(model)
    failures = 0
    for path in args.files:
        try:
            prepared = prepare_file(path)
        except ImageError as exc:
            failures += 1
            print(f"cnn-desktop: {path}: {exc}", file=sys.stderr)
            continue
        prediction = classifier.classify(prepared.image)
        if args.json:
            print(json.dumps({"file": str(path), **prediction.to_dict()}), flush=True)
        else:
            top = ", ".join(f"{label} {p:.1%}" for label, p in prediction.top_k(args.top))
            print(f"{path}: {prediction.label} ({top})", flush=True)
    return EXIT_ERROR if failures else EXIT_OK


def cmd_summary(args) -> int:
    from cnn_desktop.core.model import build_model, summary_text

    print(summary_text(build_model(args.preset)))
    return EXIT_OK


def cmd_gui(args) -> int:
    from cnn_desktop.gui.app import run_app

    return run_app(model_path=args.model, data_dir=args.data_dir, self_test=args.self_test)


COMMANDS = {"train": cmd_train, "evaluate": cmd_evaluate, "classify": cmd_classify, "summary": cmd_summary}


def configure_logging(verbose: bool) -> None:
    # Windowed builds have no stderr at all; logging then goes only to the log file the app sets up.
    if sys.stderr is None:
        logging.basicConfig(level=logging.INFO, handlers=[logging.NullHandler()])
        return
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)


def quiet_tensorflow() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


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
        print(f"cnn-desktop: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("cnn-desktop: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # last resort: one line, details in the log
        log.debug("unexpected error", exc_info=True)
        print(f"cnn-desktop: error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
