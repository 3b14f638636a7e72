"""``cnn-desktop runs list|show|import|export``: the run history (every recorded training) as a table, one
run's details, runs imported from models' cards, and CSV.
"""

from __future__ import annotations

import json
import sys

from cnn_desktop import config
from cnn_desktop.cli.common import EXIT_OK, CliError, format_optional, format_seconds


def _open_run_store():
    """The run history, or CliError."""
    from cnn_desktop.core.run_store import RunStore, RunStoreError

    try:
        return RunStore()
    except RunStoreError as exc:
        raise CliError(str(exc)) from None


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
              f"{run.epochs_done:>6} {format_optional(run.final_val_accuracy, '.4f'):>7} "
              f"{format_optional(run.test_accuracy, '.4f'):>8} {format_optional(run.parameters, ',d'):>10} "
              f"{format_seconds(run.duration_seconds) if run.duration_seconds is not None else '-':>8}")


def _print_run(run) -> None:
    from cnn_desktop.core.design import DesignError, analyze, design_from_dict

    hyper = run.hyperparameters
    lines = [
        f"Run {run.id}: {run.name}",
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
