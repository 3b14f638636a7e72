"""The commands that use one model or the machine: evaluate, classify, summary, explain, export, devices,
and gui (the desktop app, what runs without a command).
"""

from __future__ import annotations

import io
import json
import sys

from cnn_desktop.cli.common import (EXIT_ERROR, EXIT_OK, CliError, chosen_model_path, import_tensorflow_quietly,
                                    one_line, open_data, open_model)


def cmd_evaluate(args) -> int:
    from cnn_desktop.core.evaluation import evaluate

    model, _card = open_model(chosen_model_path(args))
    data = open_data(args)
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

    model_path = chosen_model_path(args)
    out = args.out or default_export_path(model_path, args.export_format)
    try:
        check_export_location(out, args.export_format)  # before TensorFlow's seconds of start-up
    except ExportError as exc:
        raise CliError(str(exc)) from None
    model, card = open_model(model_path)
    check_images, check_labels, representative = check_and_representative_images(open_data(args))
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

    model_path = chosen_model_path(args)
    model, card = open_model(model_path)
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
    from cnn_desktop.core.explain import GRADCAM, OCCLUSION, ExplainError, explainer_for
    from cnn_desktop.core.explanation_drawing import render_explanation_png
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
    model, _card = open_model(chosen_model_path(args))
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
