"""What qa owns: the `.qa-index` marker of an index folder and the `.qa-generation` marker of
every folder qa makes inside it. qa deletes nothing it cannot prove it wrote."""

from __future__ import annotations

import json
import os
import re
import stat
import uuid
from pathlib import Path

from ..errors import IndexOwnershipError
from .files import fsync_dir, write_new_text

OWNER_MARKER = ".qa-index"
GENERATION_MARKER = ".qa-generation"


def claim_index_dir(index_dir: Path, corpus_dir: Path | None = None) -> str:
    """Make `index_dir` an index folder of qa's, or prove that it already is one; return its id.

    qa writes `.qa-index` (the index's id) when it creates the folder, and builds only into a
    folder that has it, or into a new or empty one. Everything it later deletes carries that
    id, so a folder of the user's passed as `--index` never loses a file.

    Raises:
        IndexOwnershipError: the folder holds files and no marker, or it is the corpus
            folder, inside it, or holds it.
    """
    if corpus_dir is not None:
        _refuse_overlap(index_dir, corpus_dir)
    found = index_id(index_dir)
    if found is not None:
        return found
    if index_dir.exists() and not index_dir.is_dir():
        raise IndexOwnershipError(
            f"{index_dir} is a file, not a folder. Pass an index folder: "
            f"`qa index --index DIR` (a new folder is made for it).")
    if index_dir.is_dir():
        others = sorted(p.name for p in index_dir.iterdir())
        if others:
            shown = ", ".join(others[:5]) + (", …" if len(others) > 5 else "")
            raise IndexOwnershipError(
                f"{index_dir}/ already holds files that qa did not create ({shown}), so qa "
                "will not build an index there: it never deletes or rewrites files it cannot "
                "prove are its own. Pass a new or empty folder: `qa index --index NEW_DIR`.")
    index_dir.mkdir(parents=True, exist_ok=True)
    new_id = uuid.uuid4().hex
    marker = index_dir / OWNER_MARKER
    try:
        fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    except FileExistsError:  # another build claimed it a moment ago
        claimed = index_id(index_dir)
        if claimed is None:
            raise IndexOwnershipError(
                f"{marker} is not qa's marker. Pass a new or empty folder: "
                "`qa index --index NEW_DIR`.") from None
        return claimed
    try:
        os.write(fd, (json.dumps({"qa_index": new_id}) + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    fsync_dir(index_dir)
    return new_id


def index_id(index_dir: Path) -> str | None:
    """The id in `index_dir/.qa-index`, or None when there is no valid marker."""
    marker = index_dir / OWNER_MARKER
    try:
        if not stat.S_ISREG(os.lstat(marker).st_mode):
            return None
        doc = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    value = doc.get("qa_index") if isinstance(doc, dict) else None
    return value if isinstance(value, str) and re.fullmatch(r"[0-9a-f]{32}", value) else None


def mark_generation(folder: Path, owner: str) -> None:
    """Write the index's id into a folder qa just made inside it (a segment, a generation, a
    build in progress, a model copy): what `collect_garbage` checks before deleting it."""
    if not is_marked(folder, owner):
        write_new_text(folder / GENERATION_MARKER, owner + "\n")


def is_marked(folder: Path, owner: str) -> bool:
    """Whether `folder` is a real folder (not a link) that qa made for index `owner`."""
    try:
        if not stat.S_ISDIR(os.lstat(folder).st_mode):
            return False
        marker = folder / GENERATION_MARKER
        if not stat.S_ISREG(os.lstat(marker).st_mode):
            return False
        return marker.read_text(encoding="utf-8").strip() == owner
    except (OSError, UnicodeDecodeError):
        return False


def _refuse_overlap(index_dir: Path, corpus_dir: Path) -> None:
    index_abs, corpus_abs = index_dir.resolve(), corpus_dir.resolve()
    if index_abs == corpus_abs:
        where = "is the corpus folder"
    elif corpus_abs in index_abs.parents:
        where = "is inside the corpus folder"
    elif index_abs in corpus_abs.parents:
        where = "holds the corpus folder"
    else:
        return
    raise IndexOwnershipError(
        f"The index folder {index_dir}/ {where} {corpus_dir}/: the index would be read as "
        "articles, or its clean-up would touch your articles. Keep them apart, e.g. "
        f"`qa index --corpus {corpus_dir} --index index`.")
