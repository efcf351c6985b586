"""Checking the files of an index against what its manifest records.

Opening an index checks every file it reads (`check_files`): its size, and its modification
time. A rewrite that keeps a file's size changes its time; a file whose time differs is
hashed, and only a changed checksum is damage (a copy made without keeping times costs a
hash of each file per open, until the next `qa index` records the new times). Damage that
keeps the time too (failing disks) is what `qa index --check`, which hashes everything, is
for (qa.index.verify).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from ..errors import IndexCorruptError
from .files import regular_file, sha256_of
from .manifest import FOLDER, Manifest, rebuild_hint

_FILE = re.compile(r"[0-9A-Za-z_.-]{1,80}")


def split_file_key(key: str) -> tuple[str, str] | None:
    """'seg-x/texts.bin' -> ('seg-x', 'texts.bin'); None for anything that could leave the
    index folder or name something qa never writes."""
    folder, sep, name = key.partition("/")
    if not sep or not FOLDER.fullmatch(folder) or not _FILE.fullmatch(name) or name in (".", ".."):
        return None
    return folder, name


def check_files(index_dir: Path, manifest: Manifest, folders: set[str],
                skip: frozenset[str] = frozenset()) -> dict[str, int]:
    """Check that every file the manifest records for `folders` is a plain file of the
    recorded size and modification time, or else of the recorded checksum. File names in
    `skip` are left to their part (the dense files: a missing or damaged one means BM25-only
    search with the reason, not an unusable index; see `file_changed`).

    Returns:
        The modification times of files whose time was not the recorded one (or was not
        recorded) and whose checksum matched: what the next manifest records.

    Raises:
        IndexCorruptError: a file is missing, not a plain file, or has another size or
            other contents.
    """
    verified: dict[str, int] = {}
    for key, size in manifest.files.items():
        parts = split_file_key(key)
        if parts is None:
            raise IndexCorruptError(
                f"The index manifest in {index_dir}/ names a file outside the index ({key!r}). "
                f"{rebuild_hint(index_dir)}")
        folder, name = parts
        if folder not in folders or name in skip:
            continue
        path = index_dir / folder / name
        try:
            actual: int | None = regular_file(path)
        except OSError:
            actual = None
        if actual != size:
            what = "is missing or not a plain file" if actual is None \
                else f"has {actual} bytes, expected {size}"
            raise IndexCorruptError(
                f"The index file {path} {what} (truncated or modified). {rebuild_hint(index_dir)}")
        changed = file_changed(manifest, key, path)
        if changed is None:
            raise IndexCorruptError(
                f"The index file {path} has changed since it was written (same size, other "
                f"contents). {rebuild_hint(index_dir)}")
        if changed:
            verified[key] = changed
    return verified


def file_changed(manifest: Manifest, key: str, path: Path) -> int | None:
    """0 when file `key` (at `path`, a plain file of the recorded size) has the modification
    time the manifest records; else its time if its checksum is the recorded one (or none is
    recorded); None when its contents changed or it cannot be read."""
    try:
        mtime = os.lstat(path).st_mtime_ns
        if manifest.stamps.get(key) == mtime:
            return 0
        expected = manifest.checksums.get(key)
        if expected is not None and sha256_of(path) != expected:
            return None
    except OSError:
        return None
    return mtime or 1
