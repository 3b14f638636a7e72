"""The command line: ``cnn-desktop [train|evaluate|classify|summary] ...``.

Exit codes: 0 success, 2 usage error (argparse), 1 runtime error with a one-line
message on stderr and no traceback.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import sys
import tempfile
from pathlib import Path

from cnn_desktop import __version__, config

log = logging.getLogger(__name__)

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2
EXIT_BROKEN_PIPE = 128 + 13  # what a shell reports for a process ended by SIGPIPE


def one_line(text: object) -> str:
    """``text`` with control characters (a newline in a file name) shown escaped, so that one record stays
    one line and a file name cannot forge a line of output."""
    text = str(text)
    return text if text.isprintable() else "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


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


def _class_index(text: str) -> int:
    from cnn_desktop.core.explain import ExplainError, class_index_from_name

    try:
        return class_index_from_name(text)
    except ExplainError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (value > 0 and value < float("inf")):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not 0 <= value < 2**32:  # what NumPy and TensorFlow accept as a seed
        raise argparse.ArgumentTypeError(f"must be between 0 and {2**32 - 1}, got {value}")
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
    train.add_argument("--preset", choices=PRESET_NAMES,
                       help="default: seed (with --continue: the preset on the model's card)")
    train.add_argument("--epochs", type=_positive_int, help="default: the preset's")
    train.add_argument("--batch-size", type=_positive_int, help="default: the preset's")
    train.add_argument("--learning-rate", type=_positive_float, help="default: the preset's")
    train.add_argument("--limit", type=_positive_int, help="train on the first N training images only")
    train.add_argument("--validation", choices=("test", "split"), default="test",
                       help="validate on the official test set (default) or a 10%% split of the training set")
    train.add_argument("--early-stopping", type=_positive_int, metavar="PATIENCE",
                       help="stop after PATIENCE epochs without a better validation loss; keep the best weights")
    train.add_argument("--seed", type=_seed, default=0, help="random seed (default 0)")
    train.add_argument("--data-dir", type=Path, dest="data_dir_sub", help=argparse.SUPPRESS)
    train.add_argument("--out", type=Path, help="where to save the .keras model "
                       "(default: ~/.local/share/cnn-desktop/models/<preset>.keras)")
    train.add_argument("--design", type=Path, metavar="FILE",
                       help="train this network design (JSON) instead of the preset's network; "
                            "the preset still gives the recipe (epochs, batch size, learning rate, schedule)")
    train.add_argument("--no-record", action="store_true",
                       help="do not record this training in the run history")
    train.add_argument("--devices", default="auto", metavar="auto|cpu|gpu|all|N",
                       help="where to train: auto (a GPU if there is one), cpu, gpu, all devices or the first N "
                            "(two or more: tf.distribute.MirroredStrategy; the batch size is the global batch)")
    train.add_argument("--progress", choices=("text", "json"), default="text",
                       help="json: one JSON object per line on stdout (started, batch, epoch, saved), to follow "
                            "a headless run")
    train.add_argument("--log-every", type=_positive_float, default=10.0, metavar="SECONDS",
                       help="with --progress json: a batch line at most every SECONDS (default 10); epochs always")
    train.add_argument("--continue", dest="continue_training", action="store_true",
                       help="keep training the model given by --model (default: the bundled model) instead of "
                            "a new one; the preset defaults to the model card's")
    train.add_argument("--model", type=Path, dest="model_sub", metavar="PATH",
                       help="with --continue: the model to continue (default: the bundled model)")
    train.add_argument("--with-examples", action="store_true",
                       help="with --continue: teach the model your example collection (cnn-desktop examples): "
                            "the official training set mixed with your examples, gently, then accuracy before "
                            "and after on the official test set and on your held-out examples")

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

    from cnn_desktop.core.explain import CAM_VARIANTS as EXPLAIN_CAM_VARIANTS, METHODS as EXPLAIN_METHODS
    from cnn_desktop.core.export import FORMATS as EXPORT_FORMATS, QUANTIZE_CHOICES as EXPORT_QUANTIZE_CHOICES

    explain = commands.add_parser(
        "explain", help="which parts of an image made the model decide: a heat map as PNG or JSON",
        description="Explain the model's decision on one image file (prepared as `classify` prepares it): "
                    "a heat map over the 28x28 input, red where the evidence for the class lies. "
                    "See docs/explanations.md.")
    explain.add_argument("file", type=Path, metavar="FILE")
    explain.add_argument("--method", choices=EXPLAIN_METHODS, default=EXPLAIN_METHODS[0],
                         help="default: gradcam")
    explain.add_argument("--class", dest="class_name", type=_class_index, metavar="NAME",
                         help="the class to explain, by name ('Ankle boot', 'bag') or index 0-9 "
                              "(default: the predicted class)")
    explain.add_argument("--layer", metavar="NAME", help="gradcam only: the layer (default: the last convolution)")
    explain.add_argument("--variant", choices=EXPLAIN_CAM_VARIANTS,
                         help="gradcam only: hirescam (default: each map location weighed by its own gradient) "
                              "or the classic gradcam (each map weighed by its mean gradient)")
    explain.add_argument("--patch-size", type=_positive_int, help="occlusion only: patch side in pixels (default 6)")
    explain.add_argument("--stride", type=_positive_int, help="occlusion only: patch step in pixels (default 2)")
    explain.add_argument("--model", type=Path, dest="model_sub", metavar="PATH", help="default: the bundled model")
    explain.add_argument("--out", type=Path, metavar="PNG", help="write the image with the heat map over it")
    explain.add_argument("--json", action="store_true",
                         help="print the map (28x28 numbers) with the predicted and explained class as JSON")

    runs = commands.add_parser("runs", help="the run history: every recorded training",
                               description="The run history (set CNN_DESKTOP_DATA_HOME to use another folder).")
    runs_commands = runs.add_subparsers(dest="runs_command", metavar="ACTION", required=True)
    runs_list = runs_commands.add_parser("list", help="a table of all runs, newest first")
    runs_list.add_argument("--json", action="store_true", help="one JSON object per run")
    runs_show = runs_commands.add_parser("show", help="one run's details and per-epoch metrics")
    runs_show.add_argument("run_id", type=_positive_int, metavar="ID")
    runs_show.add_argument("--json", action="store_true", help="the whole record as JSON")
    runs_import = runs_commands.add_parser(
        "import", help="add runs trained elsewhere (a headless server) from their models' cards")
    runs_import.add_argument("models", nargs="+", type=Path, metavar="MODEL.keras",
                             help="a model copied with its .card.json")
    runs_export = runs_commands.add_parser("export", help="write the runs (or their curves) as CSV")
    runs_export.add_argument("--csv", type=Path, required=True, metavar="FILE", help="the CSV file to write ('-': stdout)")
    runs_export.add_argument("--epochs", action="store_true", help="one row per run and epoch (the curves)")
    runs_export.add_argument("ids", nargs="*", type=_positive_int, metavar="ID", help="only these runs (default: all)")
    commands.add_parser("devices", help="the devices TensorFlow sees here (what train --devices can use)")
    export = commands.add_parser(
        "export", help="export a model as TFLite, ONNX or a TensorFlow SavedModel, checked before it is written",
        description="Write the model in another format; the export is loaded back with its own runtime and "
                    "compared with the Keras model on 1,000 test images before it is kept.")
    export.add_argument("--format", required=True, choices=EXPORT_FORMATS, dest="export_format")
    export.add_argument("--quantize", choices=EXPORT_QUANTIZE_CHOICES,
                        help="tflite only: int8 weights and activations, calibrated on training images")
    export.add_argument("--model", type=Path, dest="model_sub", help="default: the bundled model")
    export.add_argument("--out", type=Path, help="default: beside the model (.tflite, .onnx or a _savedmodel folder)")
    export.add_argument("--data-dir", type=Path, dest="data_dir_sub", help=argparse.SUPPRESS)
    _add_examples_parser(commands)
    return parser


def _add_examples_parser(commands) -> None:
    examples = commands.add_parser(
        "examples", help="your own examples (corrected answers, your pictures) to teach the network",
        description="Your example collection (set CNN_DESKTOP_DATA_HOME to use another folder). Teach the "
                    "network with them: cnn-desktop train --continue --with-examples.")
    actions = examples.add_subparsers(dest="examples_command", metavar="ACTION", required=True)
    add = actions.add_parser("add", help="add picture files as examples of one class")
    add.add_argument("files", nargs="+", type=Path, metavar="FILE")
    add.add_argument("--label", required=True, metavar="NAME",
                     help="the class: a name ('ankle boot', 'Ankle_boot', 'sneakers') or a label number 0-9")
    listing = actions.add_parser("list", help="the examples, class by class, with counts")
    listing.add_argument("--json", action="store_true", help="one JSON object per example")
    imports = actions.add_parser("import", help="import a folder of class sub-folders, or an exported archive")
    imports.add_argument("source", type=Path, metavar="DIR_OR_ZIP")
    export = actions.add_parser("export", help="write the whole collection as one archive (zip) that imports back")
    export.add_argument("out", type=Path, metavar="FILE")
    delete = actions.add_parser("delete", help="delete examples by id")
    delete.add_argument("ids", nargs="+", type=_positive_int, metavar="ID")
    relabel = actions.add_parser("relabel", help="give an example another class")
    relabel.add_argument("example_id", type=_positive_int, metavar="ID")
    relabel.add_argument("label", metavar="NAME")


def _model_path(args) -> Path:
    return getattr(args, "model_sub", None) or args.model or config.default_model_path()


def _data_dir(args):
    return getattr(args, "data_dir_sub", None) or args.data_dir


def _load_model(path: Path):
    from cnn_desktop.core.model_io import ModelFileError, check_model_file, load_model

    try:
        check_model_file(path)  # a FIFO or /dev/zero is refused before TensorFlow's seconds of start-up
        import_tensorflow_quietly()
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
    from cnn_desktop.core.formatting import format_duration

    return format_duration(seconds, unknown="--:--")


def cmd_train(args) -> int:
    """Train, recording the run in the run history unless --no-record."""
    design = _load_design_arg(args)  # a design that cannot work is refused before anything starts
    recorder = None if args.no_record else _open_recorder()
    try:
        return _train(args, recorder, design)
    finally:
        if recorder is not None:
            recorder.close()


def _open_recorder():
    from cnn_desktop.core.run_recorder import RunRecorder

    return RunRecorder(warn=lambda text: print(f"cnn-desktop: warning: {text}", file=sys.stderr, flush=True))


def _load_design_arg(args):
    from cnn_desktop.core.design import DesignError, load_design, validate_design

    if args.design is None:
        return None
    try:
        design = load_design(args.design)
        validate_design(design)
    except DesignError as exc:
        raise CliError(f"{exc}" if str(args.design) in str(exc) else f"{args.design}: {exc}") from None
    return design


def _train(args, recorder, design) -> int:
    from cnn_desktop.core.design import model_name
    from cnn_desktop.core.evaluation import evaluate
    from cnn_desktop.core.model_card import training_card
    from cnn_desktop.core.model_io import save_model
    from cnn_desktop.core.training import TrainingConfig, TrainingConfigError, TrainingSession

    from cnn_desktop.core.model_io import ModelFileError, check_save_location

    continued = None
    if args.with_examples and not args.continue_training:
        raise CliError("--with-examples needs --continue: it teaches an existing model your examples")
    if args.continue_training:
        from cnn_desktop.core.examples import model_preset

        if design is not None:
            raise CliError("--continue keeps the model's own network; leave out --design")
        continued_path = _model_path(args)
        continued, card = _load_model(continued_path)
        args.preset = args.preset or model_preset(card)
        default_name = f"{continued_path.stem}-{'taught' if args.with_examples else 'continued'}"
    args.preset = args.preset or "seed"
    if not args.continue_training:
        default_name = args.preset if design is None else model_name(design)
    out = args.out or (config.user_models_dir() / f"{default_name}.keras")
    if out.suffix != ".keras":
        raise CliError(f"--out must end in .keras: {out}")
    try:
        check_save_location(out)  # before the training, which may take half an hour
    except ModelFileError as exc:
        raise CliError(f"cannot save the model to {out}: {exc}") from None
    import_tensorflow_quietly()
    from cnn_desktop.core.devices import DeviceError, resolve as resolve_devices
    from cnn_desktop.core.progress_log import JsonLinesProgress

    try:
        devices = resolve_devices(args.devices)  # refused before the data is loaded
    except DeviceError as exc:
        raise CliError(str(exc)) from None
    training_config = TrainingConfig(
        preset=args.preset, epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.learning_rate,
        validation=args.validation, limit=args.limit, seed=args.seed, early_stopping_patience=args.early_stopping,
        design=design, continue_training=args.continue_training, devices=args.devices,
    )
    progress = JsonLinesProgress(sys.stdout, args.log_every) if args.progress == "json" else _TextProgress(sys.stderr)
    if args.progress == "text":
        print(f"Training on {devices.description}", file=sys.stderr, flush=True)
    if recorder is not None:
        recorder.wrap(progress)
    data = _load_data(args)
    plan = _teaching_plan(args, data, continued) if args.with_examples else None
    if plan is not None:
        data, training_config = plan.data, plan.training_config
    try:
        session = TrainingSession(training_config, data=data, model=continued, listener=recorder or progress)
    except TrainingConfigError as exc:
        raise CliError(str(exc)) from None
    if recorder is not None and recorder.recording:
        print(f"Recording this run in {recorder.database_path} "
              f"(curves: tensorboard --logdir {recorder.database_path.parent})", file=sys.stderr, flush=True)
    try:
        result = session.run()
    except TrainingConfigError as exc:  # e.g. a batch smaller than the number of devices
        raise CliError(str(exc)) from None
    except KeyboardInterrupt:
        if recorder is not None:
            recorder.fail("Interrupted (Ctrl+C).", status="stopped")
        raise CliError("training interrupted; nothing was saved") from None
    if recorder is not None:
        recorder.finish(result)
    if result.status == "diverged" or not result.usable:
        raise CliError(result.message or "training produced no usable model; nothing was saved")
    test = evaluate(result.model, data.test_images, data.test_labels)
    if recorder is not None:
        recorder.record_test(test)
    card = training_card(result.config, result, evaluation=test, dataset_checksum=data.checksum, name=out.stem,
                         command="cnn-desktop " + " ".join(sys.argv[1:]),
                         run_id=None if recorder is None else recorder.run_id)
    try:
        save_model(result.model, out, card)
    except (OSError, ModelFileError) as exc:
        raise CliError(f"cannot save the model to {out}: {exc}") from None
    if recorder is not None:
        recorder.record_model(out, card)
        if recorder.recording and recorder.run_id is not None:
            print(f"Recorded as run {recorder.run_id} (cnn-desktop runs show {recorder.run_id})",
                  file=sys.stderr, flush=True)
    if args.progress == "json":
        progress.write({"event": "saved", "status": result.status, "message": result.message, "model": str(out),
                        "test_accuracy": test.accuracy, "test_loss": test.loss, "seconds": round(result.seconds, 3),
                        "run_id": None if recorder is None else recorder.run_id})
    else:
        print(f"{result.message} Test accuracy {test.accuracy:.4f}, loss {test.loss:.4f}, "
              f"{result.seconds:.0f} s. Saved {out}")
    if plan is not None:
        from cnn_desktop.core.examples import Accuracy

        measured = Accuracy(int((test.predictions == test.labels).sum()), test.n)  # the card's test, not again
        print("\n".join(plan.report(result.model, result.status, official_after=measured).lines()))
    return EXIT_OK


def _teaching_plan(args, data, model):
    """The fine-tune on the official training set mixed with the user's examples; measures 'before'."""
    import dataclasses

    from cnn_desktop.core.examples import ExampleStoreError, TeachingPlan

    with _open_examples() as store:
        images, labels = store.arrays()
    options = {"official_images": args.limit} if args.limit else {}
    try:
        plan = TeachingPlan(data, images, labels, preset=args.preset, seed=args.seed, **options)
    except ExampleStoreError as exc:
        raise CliError(str(exc)) from None
    overrides = {name: value for name, value in (("epochs", args.epochs), ("batch_size", args.batch_size),
                                                 ("learning_rate", args.learning_rate)) if value is not None}
    plan.training_config = dataclasses.replace(plan.training_config, **overrides)
    print(f"Teaching {len(plan.split.teach)} of your examples; {plan.split.description}. Measuring the model "
          f"before...", file=sys.stderr, flush=True)
    plan.measure_before(model)
    return plan


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


def cmd_devices(args) -> int:
    import_tensorflow_quietly()
    import tensorflow as tf

    from cnn_desktop.core.devices import describe_machine

    print(describe_machine())
    for device in tf.config.list_logical_devices():
        print(f"  {device.name} ({device.device_type})")
    return EXIT_OK


def cmd_export(args) -> int:
    from cnn_desktop.core.calibration import Calibration
    from cnn_desktop.core.export import (ExportError, check_and_representative_images, check_export_location,
                                         default_export_path, export_model)

    model_path = _model_path(args)
    out = args.out or default_export_path(model_path, args.export_format)
    try:
        check_export_location(out, args.export_format)  # before TensorFlow's seconds of start-up
    except ExportError as exc:
        raise CliError(str(exc)) from None
    model, card = _load_model(model_path)
    check_images, check_labels, representative = check_and_representative_images(_load_data(args))
    try:
        report = export_model(model, out, args.export_format, quantize=args.quantize, check_images=check_images,
                              check_labels=check_labels, representative_images=representative,
                              temperature=Calibration.from_card(card).temperature)
    except ExportError as exc:
        raise CliError(str(exc)) from None
    print(report.summary())
    return EXIT_OK


def cmd_classify(args) -> int:
    from cnn_desktop.core.calibration import load_calibration
    from cnn_desktop.core.inference import HINTS, Classifier, unsure_hints
    from cnn_desktop.core.preprocessing import ImageError, prepare_file

    model_path = _model_path(args)
    model, card = _load_model(model_path)
    classifier = Classifier(model, load_calibration(model_path, card))
    failures = 0
    for path in args.files:
        try:
            prepared = prepare_file(path)
        except ImageError as exc:
            failures += 1
            print(f"cnn-desktop: {one_line(path)}: {one_line(exc)}", file=sys.stderr)
            continue
        prediction = classifier.classify(prepared.image)
        hints = [HINTS[key] for key in unsure_hints("photo")] if prediction.unsure else []
        if args.json:
            print(json.dumps({"file": str(path), **prediction.to_dict(), "hints": hints}), flush=True)
        else:
            top = ", ".join(f"{label} {p:.1%}" for label, p in prediction.top_k(args.top))
            unsure = f" - unsure: {prediction.message} {' '.join(hints)}" if prediction.unsure else ""
            print(f"{one_line(path)}: {prediction.label} ({top}){unsure}", flush=True)
    return EXIT_ERROR if failures else EXIT_OK


def cmd_summary(args) -> int:
    import_tensorflow_quietly()
    from cnn_desktop.core.model import build_model, summary_text

    print(summary_text(build_model(args.preset)))
    return EXIT_OK


def cmd_explain(args) -> int:
    from cnn_desktop.core.explain import GRADCAM, OCCLUSION, ExplainError, explainer_for, render_explanation_png
    from cnn_desktop.core.model_io import atomic_write_bytes
    from cnn_desktop.core.preprocessing import ImageError, prepare_file

    if (args.layer or args.variant) and args.method != GRADCAM:
        raise CliError("--layer and --variant apply to --method gradcam only")
    if (args.patch_size or args.stride) and args.method != OCCLUSION:
        raise CliError("--patch-size and --stride apply to --method occlusion only")
    if args.out is not None and args.out.suffix.lower() != ".png":
        raise CliError(f"--out must end in .png: {args.out}")
    if args.out is not None and not args.out.parent.is_dir():
        raise CliError(f"cannot write {args.out}: folder {args.out.parent} does not exist")
    try:
        prepared = prepare_file(args.file)
    except ImageError as exc:
        raise CliError(f"{args.file}: {exc}") from None
    model, _card = _load_model(_model_path(args))
    options = {key: value for key, value in (("layer", args.layer), ("variant", args.variant),
                                             ("patch_size", args.patch_size), ("stride", args.stride))
               if value is not None}
    try:
        explanation = explainer_for(model).explain(prepared.image, args.method, args.class_name, **options)
    except ExplainError as exc:
        raise CliError(str(exc)) from None
    if args.out is not None:
        buffer = io.BytesIO()
        render_explanation_png(prepared.image, explanation).save(buffer, format="PNG")
        try:
            atomic_write_bytes(args.out, buffer.getvalue())
        except OSError as exc:
            raise CliError(f"cannot write {args.out}: {exc.strerror or exc}") from None
    if args.json:
        print(json.dumps({"file": str(args.file), **explanation.to_dict(),
                          **({"out": str(args.out)} if args.out is not None else {})}), flush=True)
    else:
        print(f"{args.file}: {explanation.method} explains {explanation.class_name} "
              f"({explanation.probabilities[explanation.class_index]:.1%}); predicted {explanation.predicted_name} "
              f"({explanation.probabilities[explanation.predicted_index]:.1%}). {explanation.legend()}"
              + (f". Saved {args.out}" if args.out is not None else ""), flush=True)
    return EXIT_OK


def cmd_gui(args) -> int:
    from cnn_desktop.gui.app import run_app

    return run_app(model_path=args.model, data_dir=args.data_dir, self_test=args.self_test)


def _open_run_store():
    from cnn_desktop.core.run_store import RunStore, RunStoreError

    try:
        return RunStore()
    except RunStoreError as exc:
        raise CliError(str(exc)) from None


def _format_optional(value, pattern: str, empty: str = "-") -> str:
    return empty if value is None else format(value, pattern)


def cmd_runs(args) -> int:
    from dataclasses import asdict

    from cnn_desktop.core.run_store import RunStoreError, epochs_csv, run_table_row, runs_csv

    with _open_run_store() as store:
        try:
            if args.runs_command == "list":
                runs = store.list_runs()
                if args.json:
                    for run in runs:
                        print(json.dumps(run_table_row(run)))
                else:
                    _print_runs_table(runs)
            elif args.runs_command == "show":
                try:
                    run = store.get_run(args.run_id)
                except KeyError:
                    raise CliError(f"there is no run {args.run_id} in {store.path}") from None
                if args.json:
                    print(json.dumps({**asdict(run), "tensorboard_dir": str(run.tensorboard_dir)}, indent=2))
                else:
                    _print_run(run)
            elif args.runs_command == "import":
                from cnn_desktop.core.run_import import RunImportError, import_run

                for model_path in args.models:
                    try:
                        run_id = import_run(store, model_path)
                    except RunImportError as exc:
                        raise CliError(str(exc)) from None
                    print(f"Imported {model_path} as run {run_id} (cnn-desktop runs show {run_id})")
            else:
                runs = store.list_runs()
                if args.ids:
                    missing = sorted(set(args.ids) - {run.id for run in runs})
                    if missing:
                        raise CliError(f"there is no run {missing[0]} in {store.path}")
                    runs = [run for run in runs if run.id in set(args.ids)]
                runs = sorted(runs, key=lambda run: run.id)
                text = epochs_csv(runs) if args.epochs else runs_csv(runs)
                if str(args.csv) == "-":
                    sys.stdout.write(text)
                else:
                    from cnn_desktop.core.model_io import atomic_write_bytes

                    try:
                        atomic_write_bytes(args.csv, text.encode())
                    except OSError as exc:
                        raise CliError(f"cannot write {args.csv}: {exc.strerror or exc}") from None
                    rows = text.count("\n") - 1
                    print(f"Wrote {rows} {'epoch rows' if args.epochs else 'runs'} to {args.csv}", file=sys.stderr)
        except RunStoreError as exc:
            raise CliError(str(exc)) from None
    return EXIT_OK


def _print_runs_table(runs) -> None:
    if not runs:
        print("No runs recorded yet (cnn-desktop train records every training).")
        return
    header = f"{'ID':>4}  {'NAME':<20} {'STATUS':<11} {'STARTED (UTC)':<19} {'EPOCHS':>6} {'VAL ACC':>7} " \
             f"{'TEST ACC':>8} {'PARAMS':>10} {'TIME':>8}"
    print(header)
    for run in runs:
        name = run.name if len(run.name) <= 20 else run.name[:19] + "…"
        print(f"{run.id:>4}  {name:<20} {run.status:<11} {run.started_at[:19].replace('T', ' '):<19} "
              f"{run.epochs_done:>6} {_format_optional(run.final_val_accuracy, '.4f'):>7} "
              f"{_format_optional(run.test_accuracy, '.4f'):>8} {_format_optional(run.parameters, ',d'):>10} "
              f"{_format_seconds(run.duration_seconds) if run.duration_seconds is not None else '-':>8}")


def _print_run(run) -> None:
    from cnn_desktop.core.design import DesignError, analyze, design_from_dict

    hyper = run.hyperparameters
    lines = [
        f"Run {run.id}: {run.name}",
        f"  status      {run.status}" + (f" ({run.message})" if run.message else ""),
        f"  started     {run.started_at}   ended {run.ended_at or '-'}   "
        f"duration {_format_optional(run.duration_seconds, '.1f')} s",
        f"  recipe      preset {hyper.get('preset')}, {hyper.get('epochs')} epochs, batch {hyper.get('batch_size')}, "
        f"learning rate {hyper.get('learning_rate')} ({hyper.get('schedule')}), seed {run.seed}, "
        f"validation {hyper.get('validation')}, limit {hyper.get('limit') or 'none'}",
        f"  network     {(run.design or {}).get('name', '-')}: {_format_optional(run.parameters, ',d')} parameters, "
        f"{_format_optional(run.macs_per_image, ',d')} multiply-adds per image",
        f"  speed       {_format_optional(run.images_per_second, ',.0f')} images/s on "
        f"{(run.machine or {}).get('host', '-')} ({(run.machine or {}).get('cpus', '?')} CPUs)",
        f"  test        accuracy {_format_optional(run.test_accuracy, '.4f')}, loss {_format_optional(run.test_loss, '.4f')}",
        f"  model       {run.model_path or '-'}",
        f"  tensorboard {run.tensorboard_dir}",
    ]
    if run.note:
        lines.append(f"  note        {run.note}")
    print("\n".join(lines))
    if run.design:
        try:
            analysis = analyze(design_from_dict(run.design))
        except DesignError:
            analysis = None
        if analysis is not None:
            print(f"\n  {'Layer (type)':<48} {'Output shape':<20} {'Param #':>10}")
            for row in analysis.rows:
                print(f"  {row.name + ' (' + row.type + ')':<48} {str(row.keras_output_shape):<20} {row.params:>10,}")
    print("\nEpoch   loss     acc      val_loss val_acc  lr         seconds")
    for epoch in run.epochs:
        print(f"{epoch.epoch:>5}   {_format_optional(epoch.loss, '.4f'):<8} {_format_optional(epoch.accuracy, '.4f'):<8} "
              f"{_format_optional(epoch.val_loss, '.4f'):<8} {_format_optional(epoch.val_accuracy, '.4f'):<8} "
              f"{_format_optional(epoch.learning_rate, '.3g'):<10} {_format_optional(epoch.seconds, '.1f')}")
    if not run.epochs:
        print("  (no epoch finished)")
    if run.confusion:
        print("\nConfusion matrix (rows: true class, columns: predicted)")
        for name, row in zip(config.CLASS_NAMES, run.confusion):
            print(f"  {name:<12}" + "".join(f"{count:>6}" for count in row))


def _open_examples():
    from cnn_desktop.core.examples import ExampleStore, ExampleStoreError

    try:
        return ExampleStore()
    except ExampleStoreError as exc:
        raise CliError(str(exc)) from None


def cmd_examples(args) -> int:
    from cnn_desktop.core.examples import ExampleStoreError, class_index_from_text
    from cnn_desktop.core.preprocessing import ImageError

    action = args.examples_command
    try:
        label = class_index_from_text(args.label) if action in ("add", "relabel") else None
    except ExampleStoreError as exc:
        raise CliError(str(exc)) from None
    with _open_examples() as store:
        try:
            if action == "add":
                failures = 0
                for path in args.files:
                    try:
                        example_id, added = store.add_file(label, path)
                    except ImageError as exc:
                        failures += 1
                        print(f"cnn-desktop: {one_line(path)}: {one_line(exc)}", file=sys.stderr)
                        continue
                    state = "added as" if added else "already in the collection as"
                    print(f"{one_line(path)}: {state} example {example_id} ({config.CLASS_NAMES[label]})")
                return EXIT_ERROR if failures else EXIT_OK
            if action == "list":
                _print_examples(store, as_json=args.json)
            elif action == "import":
                report = (store.import_folder(args.source) if args.source.is_dir()
                          else store.import_archive(args.source))
                for reason in report.skipped:
                    print(f"cnn-desktop: skipped {one_line(reason)}", file=sys.stderr)
                print(f"{one_line(args.source)}: {report.summary()}; the collection holds {len(store)}")
            elif action == "export":
                count = store.export_archive(args.out)
                print(f"Exported {count} examples to {one_line(args.out)}")
            elif action == "delete":
                for example_id in args.ids:
                    store.delete(example_id)
                print(f"Deleted {len(args.ids)} example{'s' if len(args.ids) != 1 else ''}")
            elif action == "relabel":
                store.relabel(args.example_id, label)
                print(f"Example {args.example_id} is now {config.CLASS_NAMES[label]}")
        except ExampleStoreError as exc:
            raise CliError(str(exc)) from None
        except KeyError as exc:
            raise CliError(f"there is no example {exc.args[0]}") from None
    return EXIT_OK


def _print_examples(store, *, as_json: bool) -> None:
    examples = store.examples()
    if as_json:
        for example in examples:
            print(json.dumps({"id": example.id, "label": example.label, "class": example.class_name,
                              "source": example.source, "original_name": example.original_name,
                              "created_at": example.created_at}))
        return
    counts = store.counts()
    print(f"{len(examples)} examples in {one_line(store.path)}")
    for label, name in enumerate(config.CLASS_NAMES):
        ids = [str(example.id) for example in examples if example.label == label]
        shown = ", ".join(ids[:20]) + (" ..." if len(ids) > 20 else "")
        print(f"  {name:<12} {counts[label]:>5}" + (f"  ids {shown}" if ids else ""))


COMMANDS = {"train": cmd_train, "evaluate": cmd_evaluate, "classify": cmd_classify, "summary": cmd_summary,
            "runs": cmd_runs, "explain": cmd_explain, "examples": cmd_examples, "export": cmd_export,
            "devices": cmd_devices}


def configure_logging(verbose: bool) -> None:
    # Windowed builds have no stderr at all; logging then goes only to the log file the app sets up.
    if sys.stderr is None:
        logging.basicConfig(level=logging.INFO, handlers=[logging.NullHandler()])
        return
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)


def quiet_tensorflow() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def import_tensorflow_quietly() -> None:
    """Import Keras (and TensorFlow) with file descriptor 2 pointed at a temporary file.

    TensorFlow's C++ start-up lines (absl's "All log messages before absl::InitializeLog() ..." and
    oneDNN's notice) are written before TF_CPP_MIN_LOG_LEVEL applies, and would come before the one-line
    error the README promises. They are shown after all if the import fails, and never hidden with
    --verbose (DEBUG logging).
    """
    if "keras" in sys.modules or sys.stderr is None or logging.getLogger().isEnabledFor(logging.DEBUG):
        import keras  # noqa: F401
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):
        import keras  # noqa: F401
        return
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import keras  # noqa: F401
        except BaseException:
            os.dup2(saved, 2)
            captured.seek(0)
            os.write(2, captured.read(64 * 1024))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


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


if __name__ == "__main__":
    sys.exit(main())
