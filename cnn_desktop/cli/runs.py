"""``cnn-desktop runs list|show|import|export|rename|note|delete``: the run history (every recorded training)
as a table, one run's details, runs imported from models' cards, CSV, and the changes the Runs tab makes (a
name, a note, deleting a run with or without its model file).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from cnn_desktop import config
from cnn_desktop.cli.common import EXIT_OK, CliError, format_optional, format_seconds, one_line


def _open_run_store():
    """The run history, or CliError."""
    from cnn_desktop.core.run_store import RunStore, RunStoreError

    try:
        return RunStore()
    except RunStoreError as exc:
        raise CliError(str(exc)) from None


def _no_run(store, run_id) -> CliError:
    return CliError(f"there is no run {run_id} in {store.path}")


def _find_run(store, run_id: int):
    """The run with this id, or CliError."""
    try:
        return store.get_run(run_id)
    except KeyError:
        raise _no_run(store, run_id) from None


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
                run = _find_run(store, args.run_id)
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
            elif args.runs_command in ("rename", "note"):
                _change_text(store, args)
            elif args.runs_command == "delete":
                return _delete(store, args)
            else:
                runs = store.list_runs()
                if args.ids:
                    missing = sorted(set(args.ids) - {run.id for run in runs})
                    if missing:
                        raise _no_run(store, missing[0])
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


def _change_text(store, args) -> None:
    """``rename`` (spaces around the name dropped, never empty, as the Runs tab takes it) or ``note`` ('' clears)."""
    if args.runs_command == "rename":
        what, text, change = "name", args.name.strip(), store.rename_run
        if not text:
            raise CliError("a run's name cannot be empty")
    else:
        what, text, change = "note", args.text, store.set_note
    try:
        change(args.run_id, text)
    except KeyError:
        raise _no_run(store, args.run_id) from None
    except UnicodeEncodeError:  # bytes that are not UTF-8 in the argument (surrogate escapes)
        raise CliError(f"the {what} is not UTF-8 text") from None
    except ValueError as exc:  # longer than the run history keeps
        raise CliError(str(exc)) from None
    if what == "name":
        print(f"Run {args.run_id} is now “{one_line(text)}”")
    else:
        print(f"{'Set' if text else 'Cleared'} the note of run {args.run_id}")


def _delete(store, args) -> int:
    """Forget a run (and its TensorBoard folder; with --with-model its model file and card), after asking."""
    from cnn_desktop.core.run_store import RUNNING

    run = _find_run(store, args.run_id)
    if run.status == RUNNING:  # opening the store marked the runs of dead processes interrupted: this one trains
        raise CliError(f"run {run.id} is still being trained; stop its training before deleting it")
    model = _model_to_delete(store, run) if args.with_model else None
    what = f"run {run.id} “{one_line(run.name)}”"
    if model is not None:
        what += f" and its model {one_line(model)} with its card"
    elif args.with_model:
        what += " (it recorded no model file)"
    if not args.yes:
        if sys.stdin is None or not sys.stdin.isatty():
            raise CliError(f"not deleting {what} without asking, and there is no terminal to ask on: add --yes")
        print(f"Delete {what}? [y/N] ", end="", file=sys.stderr, flush=True)
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            print("Nothing deleted.", file=sys.stderr)
            return EXIT_OK
    try:
        store.delete_run(run.id, delete_model=model is not None)
    except KeyError:  # deleted meanwhile (the app, another command)
        raise _no_run(store, run.id) from None
    except OSError as exc:  # the record is gone; the model file stayed
        raise CliError(f"deleted run {run.id}, but not its model {one_line(model)}: {exc.strerror or exc}") from None
    print(f"Deleted {what}")
    return EXIT_OK


def _model_to_delete(store, run) -> Path | None:
    """The model file that ``delete --with-model`` removes with its card, None if the run recorded none, or
    CliError for one that must stay (``RunStore.model_kept_reason``)."""
    if not run.model_path:
        return None
    reason = store.model_kept_reason(run)
    if reason:
        raise CliError(f"not deleting run {run.id}'s model {one_line(run.model_path)}: {reason} "
                       f"(leave out --with-model to delete only the run)")
    return Path(run.model_path)


def _print_runs_table(runs) -> None:
    if not runs:
        print("No runs recorded yet (cnn-desktop train records every training).")
        return
    header = f"{'ID':>4}  {'NAME':<20} {'STATUS':<11} {'STARTED (UTC)':<19} {'EPOCHS':>6} {'VAL ACC':>7} " \
             f"{'TEST ACC':>8} {'PARAMS':>10} {'TIME':>8}"
    print(header)
    for run in runs:
        name = one_line(run.name)  # a name with a newline (runs rename takes one) stays on its row
        name = name if len(name) <= 20 else name[:19] + "…"
        print(f"{run.id:>4}  {name:<20} {run.status:<11} {run.started_at[:19].replace('T', ' '):<19} "
              f"{run.epochs_done:>6} {format_optional(run.final_val_accuracy, '.4f'):>7} "
              f"{format_optional(run.test_accuracy, '.4f'):>8} {format_optional(run.parameters, ',d'):>10} "
              f"{format_seconds(run.duration_seconds) if run.duration_seconds is not None else '-':>8}")


def _print_run(run) -> None:
    from cnn_desktop.core.design import DesignError, analyze, design_from_dict

    hyper = run.hyperparameters
    lines = [
        f"Run {run.id}: {one_line(run.name)}",
        f"  status      {run.status}" + (f" ({run.message})" if run.message else ""),
        f"  started     {run.started_at}   ended {run.ended_at or '-'}   "
        f"duration {format_optional(run.duration_seconds, '.1f')} s",
        f"  recipe      preset {hyper.get('preset')}, {hyper.get('epochs')} epochs, batch {hyper.get('batch_size')}, "
        f"learning rate {hyper.get('learning_rate')} ({hyper.get('schedule')}), seed {run.seed}, "
        f"validation {hyper.get('validation')}, limit {hyper.get('limit') or 'none'}",
        f"  network     {(run.design or {}).get('name', '-')}: {format_optional(run.parameters, ',d')} parameters, "
        f"{format_optional(run.macs_per_image, ',d')} multiply-adds per image",
        f"  speed       {format_optional(run.images_per_second, ',.0f')} images/s on "
        f"{(run.machine or {}).get('host', '-')} ({(run.machine or {}).get('cpus', '?')} CPUs)",
        f"  test        accuracy {format_optional(run.test_accuracy, '.4f')}, loss {format_optional(run.test_loss, '.4f')}",
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
        print(f"{epoch.epoch:>5}   {format_optional(epoch.loss, '.4f'):<8} {format_optional(epoch.accuracy, '.4f'):<8} "
              f"{format_optional(epoch.val_loss, '.4f'):<8} {format_optional(epoch.val_accuracy, '.4f'):<8} "
              f"{format_optional(epoch.learning_rate, '.3g'):<10} {format_optional(epoch.seconds, '.1f')}")
    if not run.epochs:
        print("  (no epoch finished)")
    if run.confusion:
        print("\nConfusion matrix (rows: true class, columns: predicted)")
        for name, row in zip(config.CLASS_NAMES, run.confusion):
            print(f"  {name:<12}" + "".join(f"{count:>6}" for count in row))
