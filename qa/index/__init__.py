"""The on-disk index: one `Index` with parts, in segments, published by generations.

    index/
      .qa-index        the index's id: qa builds only into a folder that has it (or an
                       empty one) and deletes only folders that carry it
      manifest.json    written last, replaced atomically: format version, model, tokenizer,
                       the generation folder and the live segments, every file's size and
                       SHA-256 (qa.index.manifest)
      gen-*/           one generation's own files: corpus-level BM25 statistics, each
                       segment's deleted chunks, the live articles in corpus order
                       (qa.index.genfolder)
      seg-*/           immutable segments: texts, chunks + sentence spans, BM25 postings,
                       vectors (+ IVF lists), quotes (qa.index.segment)
      ivf-*/           a trained IVF quantizer shared by the segments of a large index
      onnx-*/          the query model (qa.index.query_model)
      .lock            held while a build runs
      store-sync.json  chunk ids a Milvus store has yet to drop, while a sync is unfinished
                       (qa.index.store_sync; the manifest records the store itself)
      .tmp-*/          a build in progress, or the remains of a killed one

Readers: `Index.open(path)` (qa.index.index). Builds: `IndexWriter` (qa.index.writer), under
`build_lock`, publishing with a manifest swap; `collect_garbage` removes what no manifest
names. Nothing outside this package names a file of the index: tools and tests find one
by what it holds (qa.index.layout: `part_path(index_dir, "chunks.ids")`).
"""

from __future__ import annotations

from .files import sha256_of
from .generations import LOCK, TMP_PREFIX, build_lock, collect_garbage, new_tmp_dir
from .index import Index, QuoteRows
from .layout import (
    TRAINED_FILE,
    file_key,
    file_name,
    generation_folder,
    manifest_path,
    part_path,
    segment_folders,
)
from .manifest import (
    FORMAT_VERSION,
    GENERATION_PREFIX,
    LOCAL_STORE,
    MANIFEST,
    SEGMENT_PREFIX,
    TRAINED_PREFIX,
    BuildRecord,
    Counts,
    Manifest,
    ModelRecord,
    SegmentEntry,
    StoreRecord,
    check_model,
    read_manifest,
    recorded_corpus,
    refuse_foreign_manifest,
    write_manifest,
)
from .ownership import (
    GENERATION_MARKER,
    OWNER_MARKER,
    claim_index_dir,
    index_id,
    is_marked,
    mark_generation,
)
from .segment import Segment, SegmentData
from .verify import verify
from .writer import IndexWriter

__all__ = [
    "FORMAT_VERSION", "GENERATION_MARKER", "GENERATION_PREFIX", "LOCAL_STORE", "LOCK",
    "MANIFEST", "OWNER_MARKER", "SEGMENT_PREFIX", "TMP_PREFIX", "TRAINED_FILE", "TRAINED_PREFIX",
    "BuildRecord", "Counts", "Index", "IndexWriter", "Manifest", "ModelRecord", "QuoteRows",
    "Segment", "SegmentData", "SegmentEntry", "StoreRecord", "build_lock", "check_model",
    "claim_index_dir", "collect_garbage", "file_key", "file_name", "generation_folder",
    "index_id", "is_marked", "manifest_path", "mark_generation", "new_tmp_dir", "part_path",
    "read_manifest", "recorded_corpus", "refuse_foreign_manifest", "segment_folders",
    "sha256_of", "verify", "write_manifest",
]
