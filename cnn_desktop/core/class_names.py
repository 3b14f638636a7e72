"""Reading a class from what a person types: a label number or a name, leniently."""

from __future__ import annotations

import functools

import numpy as np

from cnn_desktop import config


def _name_key(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


@functools.cache
def _class_keys() -> dict[str, int]:
    """Every accepted spelling's key -> label: the whole name, each part of a 'T-shirt/top', plurals."""
    keys: dict[str, int] = {}
    for index, name in enumerate(config.CLASS_NAMES):
        for part in {name, *name.split("/")}:
            key = _name_key(part)
            keys.setdefault(key, index)
            keys.setdefault(key + "s", index)
    return keys


def class_index_from_text(text: str | int, error: type[Exception] = ValueError) -> int:
    """A class by label number (0-9) or by name, leniently: 'ankle boot', 'Ankle_boot', 'ankle-boot',
    'ANKLE BOOTS', 't-shirt', 'top' all work. Raises ``error`` with a message naming the choices."""
    if isinstance(text, (int, np.integer)):
        index = int(text)
    else:
        stripped = str(text).strip()
        index = int(stripped) if stripped.isdigit() and len(stripped) <= 2 else _class_keys().get(_name_key(stripped), -1)
    if not 0 <= index < config.NUM_CLASSES:
        raise error(f"unknown class {str(text)[:80]!r}; use one of {', '.join(config.CLASS_NAMES)} "
                    f"or a label number 0-{config.NUM_CLASSES - 1}")
    return index
