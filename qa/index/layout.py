"""Where each file of an index lies, by what it holds: the names for tools and tests.

Each part module owns its file names (qa.index.texts, chunks, bm25, dense, quotes, phrases,
genfolder); this module gives every file a stable handle, `part.role`, so that nothing
outside the package writes a file name of the index:

    part_path(index_dir, "chunks.ids")          # the live generation's first segment
    part_path(index_dir, "dense.vectors", segment=1)
    part_path(index_dir, "statistics.df")       # the generation folder
    manifest_path(index_dir)
"""

from __future__ import annotations

from pathlib import Path

from . import bm25, chunks, dense, genfolder, phrases, quotes, sentences, texts
from .generations import LOCK
from .manifest import MANIFEST, read_manifest
from .ownership import GENERATION_MARKER, OWNER_MARKER


def _named(part: str, roles: tuple[str, ...], files: tuple[str, ...]) -> dict[str, str]:
    if len(roles) != len(files):
        raise AssertionError(f"the roles of the {part} part do not match its files")
    return {f"{part}.{role}": name for role, name in zip(roles, files)}


#: The files of a segment, by `part.role`.
SEGMENT_FILES: dict[str, str] = {
    **_named("texts", ("records", "texts", "offsets"), texts.FILES),
    **_named("chunks", ("ids", "article", "ordinal", "start", "end", "sent_spans", "sent_ptr"),
             chunks.FILES),
    **_named("bm25", ("terms", "indptr", "docs", "codes", "pairs", "doclen"), bm25.POSTINGS_FILES),
    **_named("dense", ("vectors", "ivf"), dense.FILES),
    **_named("quotes", ("article", "spans", "speaker", "cue", "names"), quotes.FILES),
    **_named("phrases", ("article", "spans", "label"), phrases.FILES),
    **_named("sentences", ("vectors",), sentences.FILES),
}
#: The files of a generation folder, by `part.role`.
GENERATION_FILES: dict[str, str] = {
    **_named("statistics", ("terms", "df"), bm25.STATS_FILES),
    "deletions.ids": genfolder.DELETED_FILE,
    "order.rows": genfolder.ORDER_FILE,
}
#: The file of a trained IVF quantizer's folder (ivf-*).
TRAINED_FILE = dense.TRAINED_FILE
#: Files of the index folder itself.
INDEX_FILES = {"manifest": MANIFEST, "lock": LOCK, "owner": OWNER_MARKER}
#: The marker in every folder qa makes inside an index (segments, generations, quantizers).
FOLDER_MARKER = GENERATION_MARKER


def file_name(handle: str) -> str:
    """The file name of a handle ("chunks.ids" -> its name in a segment). KeyError if unknown."""
    found = SEGMENT_FILES.get(handle) or GENERATION_FILES.get(handle) \
        or INDEX_FILES.get(handle)
    if found is None:
        raise KeyError(handle)
    return found


def manifest_path(index_dir: Path) -> Path:
    return index_dir / MANIFEST


def segment_folders(index_dir: Path) -> list[Path]:
    """The live generation's segment folders, in manifest order."""
    return [index_dir / e.name for e in read_manifest(index_dir).segments]


def generation_folder(index_dir: Path) -> Path:
    """The live generation's own folder (gen-*)."""
    return index_dir / read_manifest(index_dir).data


def part_path(index_dir: Path, handle: str, *, segment: int = 0) -> Path:
    """Where a file of the live generation lies: a segment's (`segment`: its place in the
    manifest) or the generation folder's, or the index folder's own (see `file_name`)."""
    if handle in SEGMENT_FILES:
        return segment_folders(index_dir)[segment] / SEGMENT_FILES[handle]
    if handle in GENERATION_FILES:
        return generation_folder(index_dir) / GENERATION_FILES[handle]
    return index_dir / file_name(handle)


def file_key(path: Path) -> str:
    """A file's key in the manifest's `files`, `checksums` and `stamps`: folder/name."""
    return f"{path.parent.name}/{path.name}"
