"""The argument parser: the global options and every command's options, in the order ``--help`` lists them.

The commands themselves live in the family modules (train, models, runs, examples); this module only
describes their arguments, with the argument types from common.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from cnn_desktop import __version__
from cnn_desktop.cli.common import class_index, positive_float, positive_int, seed


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
    train.add_argument("--epochs", type=positive_int, help="default: the preset's")
    train.add_argument("--batch-size", type=positive_int, help="default: the preset's")
    train.add_argument("--learning-rate", type=positive_float, help="default: the preset's")
    train.add_argument("--limit", type=positive_int, help="train on the first N training images only")
    train.add_argument("--validation", choices=("test", "split"), default="test",
                       help="validate on the official test set (default) or a 10%% split of the training set")
    train.add_argument("--early-stopping", type=positive_int, metavar="PATIENCE",
                       help="stop after PATIENCE epochs without a better validation loss; keep the best weights")
    train.add_argument("--seed", type=seed, default=0, help="random seed (default 0)")
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
    train.add_argument("--mixed-precision", action="store_true",
                       help="compute in bfloat16 with float32 weights: about twice as fast on CPUs with AMX or "
                            "AVX512-BF16; the saved model is float32 like any other")
    train.add_argument("--progress", choices=("text", "json"), default="text",
                       help="json: one JSON object per line on stdout (started, batch, epoch, saved), to follow "
                            "a headless run")
    train.add_argument("--log-every", type=positive_float, default=10.0, metavar="SECONDS",
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
    classify.add_argument("--top", type=positive_int, default=3, help="classes to list per file (default 3)")

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
    explain.add_argument("--class", dest="class_name", type=class_index, metavar="NAME",
                         help="the class to explain, by name ('Ankle boot', 'bag') or index 0-9 "
                              "(default: the predicted class)")
    explain.add_argument("--layer", metavar="NAME", help="gradcam only: the layer (default: the last convolution)")
    explain.add_argument("--variant", choices=EXPLAIN_CAM_VARIANTS,
                         help="gradcam only: hirescam (default: each map location weighed by its own gradient) "
                              "or the classic gradcam (each map weighed by its mean gradient)")
    explain.add_argument("--patch-size", type=positive_int, help="occlusion only: patch side in pixels (default 6)")
    explain.add_argument("--stride", type=positive_int, help="occlusion only: patch step in pixels (default 2)")
    explain.add_argument("--model", type=Path, dest="model_sub", metavar="PATH", help="default: the bundled model")
    explain.add_argument("--out", type=Path, metavar="PNG", help="write the image with the heat map over it")
    explain.add_argument("--json", action="store_true",
                         help="print the map (28x28 numbers) with the predicted and explained class as JSON")

    runs = commands.add_parser("runs", help="the run history: every recorded training",
                               description="The run history (set CNN_DESKTOP_DATA_HOME to use another folder).")
    runs_commands = runs.add_subparsers(dest="runs_command", metavar="ACTION", required=True)
    runs_list = runs_commands.add_parser("list", help="a table of all runs, newest first")
    runs_list.add_argument("--json", action="store_true", help="one JSON object per run")
    runs_show = _add_one_run_action(runs_commands, "show", "one run's details and per-epoch metrics")
    runs_show.add_argument("--json", action="store_true", help="the whole record as JSON")
    runs_import = runs_commands.add_parser(
        "import", help="add runs trained elsewhere (a headless server) from their models' cards")
    runs_import.add_argument("models", nargs="+", type=Path, metavar="MODEL.keras",
                             help="a model copied with its .card.json")
    runs_export = runs_commands.add_parser("export", help="write the runs (or their curves) as CSV")
    runs_export.add_argument("--csv", type=Path, required=True, metavar="FILE", help="the CSV file to write ('-': stdout)")
    runs_export.add_argument("--epochs", action="store_true", help="one row per run and epoch (the curves)")
    runs_export.add_argument("ids", nargs="*", type=positive_int, metavar="ID", help="only these runs (default: all)")
    _add_one_run_action(runs_commands, "rename", "give a run another name").add_argument(
        "name", metavar="NAME", help="the new name (spaces around it are dropped)")
    _add_one_run_action(runs_commands, "note", "write a note on a run (what you tried, what you saw)").add_argument(
        "text", metavar="TEXT", help="the note, replacing the run's note ('': no note)")
    runs_delete = _add_one_run_action(runs_commands, "delete", "forget a run and its TensorBoard files, after "
                                      "asking (with --with-model its model too)")
    runs_delete.add_argument("--with-model", action="store_true",
                             help="also delete the model file the run saved, and its card (never the bundled model)")
    runs_delete.add_argument("--yes", action="store_true",
                             help="do not ask (without a terminal, e.g. in a script, delete refuses unless --yes)")
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


def _add_one_run_action(runs_commands, name: str, help_text: str) -> argparse.ArgumentParser:
    """A ``runs`` action on one run: its parser, with the run's ID as the first argument."""
    action = runs_commands.add_parser(name, help=help_text)
    action.add_argument("run_id", type=positive_int, metavar="ID")
    return action


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
    delete.add_argument("ids", nargs="+", type=positive_int, metavar="ID")
    relabel = actions.add_parser("relabel", help="give an example another class")
    relabel.add_argument("example_id", type=positive_int, metavar="ID")
    relabel.add_argument("label", metavar="NAME")
