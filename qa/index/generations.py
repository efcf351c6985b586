"""Publishing builds safely: one lock, folders built beside the live ones and renamed into
place, the manifest swapped last, and clean-up of only what qa made.

A build writes each new folder (a segment, the generation folder, a trained IVF quantizer)
as `.tmp-*`, fsyncs its files, renames it to its final name, and only then replaces the
manifest. A crash at any point leaves the previous manifest and every folder it names
untouched; the next build removes the orphans (they carry this index's `.qa-generation`).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import shutil
import stat
import time
import uuid
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ..errors import BuildLockedError, IndexOwnershipError, QAError
from .files import fsync_dir, fsync_file
from .manifest import (
    GENERATION_PREFIX,
    MANIFEST_TMP,
    SEGMENT_PREFIX,
    TRAINED_PREFIX,
    read_manifest,
)
from .ownership import is_marked, mark_generation

LOCK = ".lock"
TMP_PREFIX = ".tmp-"
LEGACY_PREFIX = "data-"  # format 2's generation folders, removed once a newer build is live


@contextlib.contextmanager
def build_lock(index_dir: Path, *, wait: float = 0.0) -> Iterator[None]:
    """Hold the index's build lock. The OS releases it if the process dies (even kill -9).

    Raises:
        BuildLockedError: another build holds it (after waiting `wait` seconds).
    """
    index_dir.mkdir(parents=True, exist_ok=True)
    lock_path = index_dir / LOCK
    fd = _open_lock(lock_path)
    deadline = time.monotonic() + wait
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() >= deadline:
                    holder = _read_lock_holder(fd)
                    raise BuildLockedError(
                        f"Another build of {index_dir}/ is running{holder}. Wait for it to "
                        "finish, then run `qa index` again if you changed the corpus since."
                    ) from None
                time.sleep(0.1)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.close(fd)  # closing releases the flock


def _open_lock(path: Path) -> int:
    """The lock file, opened for writing its holder's pid: never through a link (the pid
    would be written into the link's target), and only qa's own plain file.

    Raises:
        IndexOwnershipError: `.lock` is a link, a folder, a pipe or a file with other names.
    """
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK
                     | getattr(os, "O_CLOEXEC", 0), 0o644)
    except OSError as exc:
        if exc.errno not in (errno.ELOOP, errno.EISDIR, errno.ENXIO):
            raise
        fd = -1
    st = os.fstat(fd) if fd >= 0 else None
    if st is None or not stat.S_ISREG(st.st_mode) or st.st_nlink != 1:
        if fd >= 0:
            os.close(fd)
        what = "a symbolic link" if path.is_symlink() else (
            "a file with other names (hard links)" if st is not None and stat.S_ISREG(st.st_mode)
            else "not a regular file")
        raise IndexOwnershipError(
            f"{path} is {what}, not qa's lock file, so qa will not write into it. Remove it "
            f"(qa makes a new one), then run `qa index` again.")
    return fd


def _read_lock_holder(fd: int) -> str:
    try:
        pid = os.pread(fd, 32, 0).decode().strip()
    except OSError:
        return ""
    return f" (process {pid})" if pid.isdigit() else ""


def new_tmp_dir(index_dir: Path, owner: str) -> Path:
    """A fresh folder for something being built, beside the live ones, marked as qa's."""
    path = index_dir / f"{TMP_PREFIX}{uuid.uuid4().hex[:12]}"
    path.mkdir(parents=True)
    try:
        mark_generation(path, owner)
    except BaseException:  # disk full: an unmarked folder could never be cleaned up later
        shutil.rmtree(path, ignore_errors=True)
        raise
    return path


def place(index_dir: Path, tmp_dir: Path, prefix: str) -> str:
    """Make a complete folder durable and give it its final name (`prefix` + a unique
    stamp); returns that name. Nothing names it yet: the manifest does, when swapped."""
    files = list(tmp_dir.iterdir())
    # Concurrently: the file system commits them together (one by one, ~4 ms each here).
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(fsync_file, files))
    fsync_dir(tmp_dir)  # the folder's own entries, before a manifest can name it
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    final = index_dir / f"{prefix}{stamp}-{uuid.uuid4().hex[:8]}"
    os.rename(tmp_dir, final)
    fsync_dir(index_dir)
    return final.name


def collect_garbage(index_dir: Path, owner: str, *, keep: Iterable[str] = ()) -> None:
    """Remove leftovers of killed builds, and folders no manifest names any more.

    Call only while holding the build lock of an index folder qa owns (`claim_index_dir`).
    Only folders marked with this index's id are deleted (never one reached through a link),
    and only manifest temporaries with the exact name `write_json_atomic` gives them. The
    folders the live manifest names stay, and so do those in `keep` (the previous
    manifest's, for readers that opened it just before the swap).
    """
    live: set[str] = set()
    with contextlib.suppress(QAError):
        live = read_manifest(index_dir).folders
    kept = live | set(keep)
    for entry in index_dir.iterdir():
        name = entry.name
        leftover = name.startswith(TMP_PREFIX) or (
            name.startswith((".onnx-", "onnx-")) and ".tmp-" in name)
        stale = name.startswith((SEGMENT_PREFIX, GENERATION_PREFIX, TRAINED_PREFIX,
                                 LEGACY_PREFIX)) and name not in kept
        if (leftover or stale) and is_marked(entry, owner):
            shutil.rmtree(entry, ignore_errors=True)
        elif MANIFEST_TMP.fullmatch(name) and entry.is_file() and not entry.is_symlink():
            with contextlib.suppress(OSError):
                entry.unlink()
