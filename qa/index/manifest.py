"""`manifest.json`: the one file readers follow. Written last, replaced atomically.

It names the generation's own folder (`data`: global BM25 statistics, deletions, article
order) and the live segments, and records the format version, model, tokenizer, counts, and
the size, SHA-256 and modification time of every file it names (`files`, `checksums`,
`stamps`, keyed `folder/name`).

Opening an index checks every file it reads against that record (`check_files`): its size,
and its modification time. A rewrite that keeps a file's size changes its time; a file
whose time differs is hashed, and only a changed checksum is damage (a copy made without
keeping times costs a hash of each file per open, until the next `qa index` records the new
times). Damage that keeps the time too (failing disks) is what `qa index --check`, which
hashes everything, is for.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from ..errors import (
    IndexCorruptError,
    IndexMismatchError,
    IndexMissingError,
    IndexOwnershipError,
)
from .files import regular_file, sha256_of, write_json_atomic

# A change of the layout bumps this; an index of another version must be rebuilt.
# 4: a phrases part in every segment (entities, noun phrases, sentence roles).
# 5: BM25 postings hold (term frequency, chunk length) pair codes instead of frequencies.
FORMAT_VERSION = 5
MANIFEST = "manifest.json"
MANIFEST_TMP = re.compile(r"\.manifest\.json\.[0-9a-f]{8}\.tmp")

SEGMENT_PREFIX = "seg-"
GENERATION_PREFIX = "gen-"
TRAINED_PREFIX = "ivf-"
_FOLDER = re.compile(r"(seg|gen|ivf)-[0-9A-Za-z-]{1,80}")
_FILE = re.compile(r"[0-9A-Za-z_.-]{1,80}")


def rebuild_hint(index_dir: Path) -> str:
    return f"Run `qa index --full --index {index_dir}` to rebuild the index."


def read_manifest(index_dir: Path) -> dict[str, Any]:
    """Read and check `manifest.json`.

    Raises:
        IndexMissingError: no index has been built in this folder.
        IndexCorruptError: the manifest is unreadable or malformed.
        IndexMismatchError: the index was written by another format version.
    """
    path = index_dir / MANIFEST
    if not index_dir.is_dir() or not (path.exists() or path.is_symlink()):
        raise IndexMissingError(
            f"No index in {index_dir}/. Run `qa index --index {index_dir}` to build it "
            "from your corpus folder (default corpus/)."
        )
    try:
        regular_file(path)  # a FIFO would block the read forever; a link may lead anywhere
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise IndexCorruptError(
            f"The index manifest {path} is damaged ({exc}). {rebuild_hint(index_dir)}"
        ) from exc
    if not isinstance(manifest, dict):
        raise IndexCorruptError(f"The index manifest {path} is not a manifest. "
                                f"{rebuild_hint(index_dir)}")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise IndexMismatchError(
            f"The index in {index_dir}/ has format version {version!r}; this qa reads version "
            f"{FORMAT_VERSION}. Run `qa index --full --index {index_dir}` to rebuild it."
        )
    kinds = {"data": str, "segments": list, "model": dict, "counts": dict, "files": dict,
             "tokenizer": dict, "bm25": dict}
    missing = [k for k in kinds if k not in manifest]
    if missing:
        raise IndexCorruptError(
            f"The index manifest {path} lacks {', '.join(missing)}. {rebuild_hint(index_dir)}")
    # An edited manifest must fail here, not as an AttributeError deep in a search.
    wrong = [k for k, kind in kinds.items() if not isinstance(manifest[k], kind)]
    if not wrong:
        wrong = _malformed_fields(manifest)
    if wrong:
        raise IndexCorruptError(
            f"The index manifest {path} has a malformed {', '.join(wrong)}. "
            f"{rebuild_hint(index_dir)}")
    return manifest


def _malformed_fields(m: dict[str, Any]) -> list[str]:
    wrong = []
    if not isinstance(m["model"].get("name"), str):
        wrong.append("model name")
    if not (_FOLDER.fullmatch(m["data"]) and m["data"].startswith(GENERATION_PREFIX)):
        wrong.append("data folder name")
    names = set()
    for seg in m["segments"]:
        ok = (isinstance(seg, dict) and isinstance(seg.get("name"), str)
              and _FOLDER.fullmatch(seg["name"]) is not None
              and seg["name"].startswith(SEGMENT_PREFIX) and seg["name"] not in names
              and all(_count(seg.get(k)) for k in ("articles", "chunks", "deleted_chunks"))
              and isinstance(seg.get("dense"), dict))
        if not ok:
            wrong.append("segment list")
            break
        names.add(seg["name"])
    stats = m["bm25"]
    if not (all(_count(stats.get(k)) for k in ("docs", "total_length", "terms"))
            and isinstance(stats.get("average_idf"), (int, float))):
        wrong.append("bm25 statistics")
    if not all(isinstance(k, str) and _count(v) for k, v in m["files"].items()):
        wrong.append("file list")
    return wrong


# Counts in a manifest above this are not counts (2**40: a trillion chunks).
_MAX_COUNT = 1 << 40


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < _MAX_COUNT


def split_file_key(key: str) -> tuple[str, str] | None:
    """'seg-x/texts.bin' -> ('seg-x', 'texts.bin'); None for anything that could leave the
    index folder or name something qa never writes."""
    folder, sep, name = key.partition("/")
    if not sep or not _FOLDER.fullmatch(folder) or not _FILE.fullmatch(name) or name in (".", ".."):
        return None
    return folder, name


def check_files(index_dir: Path, manifest: dict[str, Any], folders: set[str],
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
    for key, size in manifest["files"].items():
        parts = split_file_key(str(key))
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


def file_changed(manifest: dict[str, Any], key: str, path: Path) -> int | None:
    """0 when file `key` (at `path`, a plain file of the recorded size) has the modification
    time the manifest records; else its time if its checksum is the recorded one (or none is
    recorded); None when its contents changed or it cannot be read."""
    stamps, sums = manifest.get("stamps"), manifest.get("checksums")
    try:
        mtime = os.lstat(path).st_mtime_ns
        if isinstance(stamps, dict) and stamps.get(key) == mtime:
            return 0
        expected = sums.get(key) if isinstance(sums, dict) else None
        if isinstance(expected, str) and sha256_of(path) != expected:
            return None
    except OSError:
        return None
    return mtime or 1


def check_model(index_dir: Path, manifest: dict[str, Any], model: str | None) -> None:
    """Raise IndexMismatchError when the index was built with another embedding model."""
    built = (manifest.get("model") or {}).get("name")
    if model is not None and built is not None and built != model:
        raise IndexMismatchError(
            f"The index in {index_dir}/ was built with the model {built!r}, not {model!r}. "
            f"Run `qa index --full --index {index_dir}` to rebuild it with {model!r}, "
            f"or unset QA_MODEL to use {built!r}."
        )


def recorded_corpus(index_dir: Path) -> str | None:
    """The corpus folder an index says it was built from (any format version); None when
    the folder holds no readable manifest."""
    path = index_dir / MANIFEST
    try:
        regular_file(path)
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return None
    corpus = manifest.get("corpus") if isinstance(manifest, dict) else None
    return corpus if isinstance(corpus, str) and corpus else None


def refuse_foreign_manifest(index_dir: Path) -> None:
    """Raise IndexOwnershipError when a folder stands where the manifest goes (a build would
    fail only at its end, naming its temporary file)."""
    path = index_dir / MANIFEST
    if path.is_dir() and not path.is_symlink():
        raise IndexOwnershipError(
            f"{path} is a folder, where qa keeps the index's manifest, and qa deletes nothing "
            f"it did not make. Move it out of {index_dir}/, then run `qa index` again.")


def write_manifest(index_dir: Path, manifest: dict[str, Any]) -> None:
    """Replace the manifest atomically (the last step of every build)."""
    write_json_atomic(index_dir / MANIFEST, manifest)
