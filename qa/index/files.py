"""Writing and checking the files of an index: fsync, atomic JSON, plain-file checks, checksums.

Every file qa writes in an index is new: `create` opens it with O_EXCL | O_NOFOLLOW, so a
link or a file someone put where qa writes (into its folder, with the name qa is about to
use) is refused instead of written through.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import stat
import tokenize
import uuid
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:  # numpy loads when an array is written
    import numpy

# What reading a damaged file of an index raises, from the standard library and numpy (an
# .npy header is parsed by Python's tokenizer: a broken one raises TokenError or
# SyntaxError). Readers turn these into IndexCorruptError naming the command that repairs it.
READ_ERRORS: tuple[type[BaseException], ...] = (
    OSError, ValueError, KeyError, TypeError, EOFError, RecursionError, IndexError,
    OverflowError, SyntaxError, tokenize.TokenError)
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


def create(path: Path, mode: str = "wb", *, encoding: str | None = None) -> IO[Any]:
    """Open `path` for writing as a new file: never through a link, never over a file that
    is already there (FileExistsError)."""
    return open(path, mode, encoding=encoding,  # noqa: SIM115 (the caller closes it)
                opener=lambda name, _flags: os.open(name, _NEW_FILE, 0o644))


def save_npy(path: Path, array: numpy.ndarray) -> None:
    """`np.save` into a new file (see `create`), without pickles."""
    import numpy as np

    with create(path) as fh:
        np.save(fh, array, allow_pickle=False)


def write_new_text(path: Path, text: str) -> None:
    """UTF-8 text into a new file (see `create`)."""
    with create(path, "w", encoding="utf-8") as fh:
        fh.write(text)


def fsync_dir(path: Path) -> None:
    """Make a rename inside `path` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_file(path: Path) -> None:
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


def write_json_atomic(path: Path, payload: object) -> None:
    """Write JSON beside `path`, fsync it, then rename over `path`.

    Raises:
        IsADirectoryError: `path` is a folder (named, not the temporary file).
        OSError: the write failed; the temporary file is removed.
    """
    if os.path.isdir(path) and not os.path.islink(path):
        raise IsADirectoryError(errno.EISDIR, "a folder is where qa writes this file", str(path))
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    text = json.dumps(payload, ensure_ascii=False)  # the C encoder; indent=2 is pure Python
    if len(text) < 100_000:  # small manifests stay readable
        text = json.dumps(payload, ensure_ascii=False, indent=2)
    try:
        with create(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    fsync_dir(path.parent)


def regular_file(path: Path) -> int:
    """The size of `path`, a plain file inside its folder. Raises OSError for a link (it
    may lead out of the index), a FIFO or a device (reading one may block forever)."""
    st = os.lstat(path)
    if not stat.S_ISREG(st.st_mode):
        raise OSError(errno.EINVAL, "not a plain file", str(path))
    return st.st_size


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def file_checksums(folder: Path, prefix: str = "") -> dict[str, str]:
    """SHA-256 of every file in `folder` (names prefixed with `prefix`), for the manifest:
    `verify` compares them, so damage that keeps a file's size is found too."""
    return {prefix + f.name: sha256_of(f) for f in sorted(folder.iterdir()) if f.is_file()}


def file_sizes(folder: Path, prefix: str = "") -> dict[str, int]:
    """{prefix + name: size} of every file in `folder`."""
    return {prefix + f.name: f.stat().st_size for f in sorted(folder.iterdir()) if f.is_file()}


def file_stamps(folder: Path, prefix: str = "") -> dict[str, int]:
    """{prefix + name: modification time in ns} of every file in `folder`: a rewrite of a
    file, even one that keeps its size, changes its stamp (qa.index.filecheck.check_files)."""
    return {prefix + f.name: f.stat().st_mtime_ns for f in sorted(folder.iterdir())
            if f.is_file()}
