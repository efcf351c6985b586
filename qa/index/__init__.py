"""The on-disk index: one `Index` with parts, in segments, published by generations.

    index/
      .qa-index        the index's id: qa builds only into a folder that has it (or an
                       empty one) and deletes only folders that carry it
      manifest.json    written last, replaced atomically: format version, model, tokenizer,
                       the generation folder and the live segments, every file's size and
                       SHA-256 (qa.index.manifest)
      gen-*/           one generation's own files: corpus-level BM25 statistics, each
                       segment's deleted chunks, the live articles in corpus order
      seg-*/           immutable segments: texts, chunks + sentence spans, BM25 postings,
                       vectors (+ IVF lists), quotes (qa.index.segment)
      ivf-*/           a trained IVF quantizer shared by the segments of a large index
      onnx-*/          the query model (qa.embed.embedder)
      .lock            held while a build runs
      store-sync.json  chunk ids a Milvus store has yet to drop, while a sync is unfinished
                       (qa.index.store_sync; the manifest records the store itself)
      .tmp-*/          a build in progress, or the remains of a killed one

Readers: `Index.open(path)` (qa.index.index). Builds: `IndexWriter` (qa.index.writer), under
`build_lock`, publishing with a manifest swap; `collect_garbage` removes what no manifest
names. Nothing outside this package names a file of the index.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import QAError
from .backend import LOCAL, store_of
from .files import sha256_of
from .generations import TMP_PREFIX, build_lock, collect_garbage, folders_of, new_tmp_dir
from .index import Index, QuoteRows
from .manifest import (
    FORMAT_VERSION,
    GENERATION_PREFIX,
    MANIFEST,
    SEGMENT_PREFIX,
    check_model,
    read_manifest,
    recorded_corpus,
    refuse_foreign_manifest,
    split_file_key,
)
from .ownership import GENERATION_MARKER, OWNER_MARKER, claim_index_dir, index_id, is_marked, mark_generation
from .segment import Segment, SegmentData
from .writer import IndexWriter


def verify(index_dir: Path) -> list[str]:
    """Check every file of the live generation against the manifest's checksums (`qa index
    --check`), then what checksums cannot see: that the parts fit together and agree with
    the manifest's counts, and that a Milvus store holds every live chunk. Returns what is
    wrong, one line each; empty when all is well.

    Raises:
        IndexMissingError, IndexCorruptError, IndexMismatchError: as `read_manifest`.
        StoreUnavailableError: the index's Milvus store cannot be reached.
    """
    manifest = read_manifest(index_dir)
    sums = manifest.get("checksums")
    if not isinstance(sums, dict) or not sums:
        return [f"{index_dir}/{MANIFEST} records no checksums"]
    problems: list[str] = []
    for key, expected in sorted(sums.items()):
        parts = split_file_key(str(key))
        if parts is None:
            problems.append(f"{index_dir}/{MANIFEST} names a file outside the index ({key!r})")
            continue
        path = index_dir / parts[0] / parts[1]
        try:
            got = sha256_of(path) if path.is_file() and not path.is_symlink() else None
        except OSError:
            got = None
        if got is None:
            problems.append(f"{path} is missing")
        elif got != expected:
            problems.append(f"{path} has changed since it was written")
    if problems:
        return problems
    try:  # the manifest itself has no checksum: do its counts describe these files?
        index = Index.from_manifest(index_dir, manifest, for_search=True)
    except QAError as exc:
        return [str(exc)]
    counts = manifest.get("counts") if isinstance(manifest.get("counts"), dict) else {}
    for key, actual in (("articles", index.n_articles), ("chunks", index.n_chunks),
                        ("segments", len(index.segments))):
        if counts.get(key) != actual:
            problems.append(f"{index_dir}/{MANIFEST} counts {counts.get(key)!r} {key}; the "
                            f"index holds {actual}")
    if not problems and store_of(manifest)["backend"] != LOCAL:
        # The files are whole: does the search store hold every live chunk? (It may hold
        # more: rows a killed build left, which readers drop and the next build deletes.)
        from .store_sync import check_store

        problems.extend(check_store(Index.from_manifest(index_dir, manifest, for_search=False)))
    return problems


__all__ = [
    "FORMAT_VERSION", "GENERATION_MARKER", "GENERATION_PREFIX", "MANIFEST", "OWNER_MARKER",
    "SEGMENT_PREFIX", "TMP_PREFIX", "Index", "IndexWriter", "QuoteRows", "Segment",
    "SegmentData", "build_lock", "check_model", "claim_index_dir", "collect_garbage",
    "folders_of", "index_id", "is_marked", "mark_generation", "new_tmp_dir", "read_manifest",
    "recorded_corpus", "refuse_foreign_manifest", "verify",
]
