"""``cnn-desktop train``: a new model, a design (--design) or a model trained further (--continue, with
the user's examples: --with-examples), recorded in the run history, with text or JSON-lines progress.
"""

from __future__ import annotations

import sys

from cnn_desktop import config
from cnn_desktop.cli.common import (EXIT_OK, CliError, chosen_model_path, format_seconds,
                                    import_tensorflow_quietly, open_data, open_model)
from cnn_desktop.cli.examples import open_examples


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
            eta = format_seconds(event.eta_seconds)
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
        continued_path = chosen_model_path(args)
        continued, card = open_model(continued_path)
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
        mixed_precision=args.mixed_precision,
    )
    progress = JsonLinesProgress(sys.stdout, args.log_every) if args.progress == "json" else _TextProgress(sys.stderr)
    if args.progress == "text":
        print(f"Training on {devices.description}", file=sys.stderr, flush=True)
    if recorder is not None:
        recorder.wrap(progress)
    data = open_data(args)
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

    with open_examples() as store:
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
