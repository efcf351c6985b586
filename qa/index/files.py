"""Writing and checking the files of an index: fsync, atomic JSON, plain-file checks, checksums."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import stat
import uuid
from pathlib import Path
from typing import Any


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


def write_json_atomic(path: Path, payload: Any) -> None:
    """Write JSON beside `path`, fsync it, then rename over `path`."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    text = json.dumps(payload, ensure_ascii=False)  # the C encoder; indent=2 is pure Python
    if len(text) < 100_000:  # small manifests stay readable
        text = json.dumps(payload, ensure_ascii=False, indent=2)
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
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
