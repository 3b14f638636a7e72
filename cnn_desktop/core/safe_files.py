"""Opening the files a user names, with bounded size and without hanging.

A path the user gives may be anything: a FIFO (an ``open()`` for reading waits for
a writer forever), ``/dev/zero`` or another device (endless, and ``st_size`` 0),
a directory, a symbolic link loop. Every file the program reads goes through
:func:`check_regular_file` (a ``stat`` that names what is wrong in one line) and
:func:`open_regular_file` (an open that cannot block, then a check of what was
really opened, so a file swapped after the check is still caught), and is read
with a size limit.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import BinaryIO


class UnsafeFileError(ValueError):
    """The path cannot be read as a plain file of a sensible size; the message says why, in one line."""


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a plain file"


def _describe_os_error(path: Path, exc: OSError, label: str | None = None) -> str:
    shown = label or str(path)
    if exc.errno == errno.ELOOP:
        return f"{shown} is a symbolic link loop"
    if exc.errno == errno.ENOENT:
        if os.path.lexists(path):
            return f"{shown} is a broken symbolic link (its target does not exist)"
        return f"{shown} does not exist"
    if exc.errno == errno.ENOTDIR:
        return f"{shown} does not exist (a part of the path is not a folder)"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"{shown} cannot be read: permission denied"
    if exc.errno == errno.ENAMETOOLONG:
        return f"{shown}: the file name is too long"
    return f"{shown} cannot be read: {exc.strerror or exc}"


def _check_stat(shown: str, info: os.stat_result, max_bytes: int | None) -> None:
    if not stat.S_ISREG(info.st_mode):
        kind = _kind(info.st_mode)
        if kind == "a directory":
            raise UnsafeFileError(f"{shown} is a directory, not a file")
        raise UnsafeFileError(f"{shown} is not a regular file but {kind}")
    if max_bytes is not None and info.st_size > max_bytes:
        raise UnsafeFileError(
            f"{shown} is too large ({info.st_size:,} bytes; the limit is {max_bytes:,})")


def check_regular_file(path: Path | str, max_bytes: int | None = None, *, label: str | None = None
                       ) -> os.stat_result:
    """``stat`` the path (following links); raise UnsafeFileError unless it is a regular file within the size
    limit. Messages start with ``label`` (default: the path)."""
    path = Path(path)
    try:
        info = os.stat(path)
    except OSError as exc:
        raise UnsafeFileError(_describe_os_error(path, exc, label)) from None
    except ValueError:  # an embedded NUL character
        raise UnsafeFileError(f"{label or repr(str(path))} is not a valid file name") from None
    _check_stat(label or str(path), info, max_bytes)
    return info


def _nonblocking_opener(name: str, flags: int) -> int:
    # O_NONBLOCK: opening a FIFO returns at once instead of waiting for a writer (it is refused just
    # after, by fstat); on a regular file the flag changes nothing. O_NOCTTY: a terminal device never
    # becomes the controlling terminal.
    return os.open(name, flags | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))


def open_regular_file(path: Path | str, max_bytes: int | None = None) -> BinaryIO:
    """Open a regular file for binary reading without ever blocking; the caller closes it.

    The check is repeated on the opened descriptor, so a path swapped for a FIFO or a device between
    the check and the open is still refused.
    """
    path = Path(path)
    check_regular_file(path, max_bytes)
    try:
        handle = open(path, "rb", opener=_nonblocking_opener)  # noqa: SIM115 - returned to the caller
    except OSError as exc:
        raise UnsafeFileError(_describe_os_error(path, exc)) from None
    try:
        _check_stat(str(path), os.fstat(handle.fileno()), max_bytes)
    except BaseException:
        handle.close()
        raise
    return handle


def read_bounded(handle: BinaryIO, max_bytes: int, what: str) -> bytes:
    """Read the rest of ``handle``, refusing more than ``max_bytes`` (it reads at most one byte more)."""
    data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise UnsafeFileError(f"{what} is larger than the limit of {max_bytes:,} bytes")
    return data


def read_regular_file(path: Path | str, max_bytes: int) -> bytes:
    """The whole content of a regular file of at most ``max_bytes`` bytes (it may grow while being read)."""
    with open_regular_file(path, max_bytes) as handle:
        return read_bounded(handle, max_bytes, str(path))
