"""``cnn-desktop examples add|list|import|export|delete|relabel``: the user's example collection (corrected
answers, their own pictures) that ``train --continue --with-examples`` teaches the network.
"""

from __future__ import annotations

import json
import sys

from cnn_desktop import config
from cnn_desktop.cli.common import EXIT_ERROR, EXIT_OK, CliError, one_line


def open_examples():
    """The example collection (also what train --with-examples teaches), or CliError."""
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
    with open_examples() as store:
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
