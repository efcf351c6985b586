"""Reading files that must be regular files.

A path qa reads may name a FIFO (reading it waits for a writer that never comes), a device
(`/dev/zero` never ends), or a link to one. Every file qa reads from a path it was given or
found — the settings file, articles, `file://` feeds, the model's files — is opened without
blocking, checked to be a regular file on the open descriptor (so the check and the read are
of the same file), and read up to a limit.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

NOT_REGULAR = "not a regular file"


class NotRegularFileError(OSError):
    """The path is a FIFO, a socket, a device or a folder."""


class FileTooLargeError(OSError):
    """The file holds more bytes than the caller reads."""


def open_regular(path: str | os.PathLike[str], *, follow_links: bool = True) -> int:
    """An open read-only descriptor of `path`, which must be a regular file.

    Args:
        follow_links: False refuses a symlink as the last part of the path (ELOOP).

    Raises:
        NotRegularFileError: a FIFO, socket, device or folder (never waited on).
        OSError: it cannot be opened (missing, permission, a link when not followed).
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    if not follow_links:
        flags |= os.O_NOFOLLOW
    fd = os.open(path, flags)
    try:
        mode = os.fstat(fd).st_mode
    except BaseException:
        os.close(fd)
        raise
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise NotRegularFileError(errno.EINVAL, NOT_REGULAR, str(path))
    return fd


def read_regular(path: str | os.PathLike[str], *, limit: int | None = None,
                 follow_links: bool = True) -> bytes:
    """The bytes of regular file `path`, at most `limit` of them.

    Raises:
        NotRegularFileError: see `open_regular`.
        FileTooLargeError: the file holds more than `limit` bytes.
        OSError: it cannot be opened or read.
    """
    fd = open_regular(path, follow_links=follow_links)
    with os.fdopen(fd, "rb") as fh:
        data = fh.read() if limit is None else fh.read(limit + 1)
    if limit is not None and len(data) > limit:
        raise FileTooLargeError(errno.EFBIG, f"larger than {limit} bytes", str(path))
    return data


def is_regular(path: str | os.PathLike[str]) -> bool:
    """Whether `path` itself (not a link's target) is a regular file."""
    try:
        return stat.S_ISREG(os.lstat(Path(path)).st_mode)
    except OSError:
        return False
