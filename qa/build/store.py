"""A build's search store: which one it keeps the index in, and syncing a Milvus store
before the manifest names what it holds (qa.index.store_sync)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..embed.chunk_input import embedding_input
from ..errors import QAError, StoreUnavailableError
from ..index import LOCAL_STORE, Index, IndexWriter, Manifest, StoreRecord, read_manifest
from ..index.backend import BACKENDS as STORE_BACKENDS
from ..index.backend import LOCAL, MILVUS
from ..index.store_sync import StoreSync, chunks_of, connect, live_chunk_ids, resolve_uri
from .parts import Part, store_chunks


def moved_home(live_before: Manifest | None, target: StoreRecord) -> list[str]:
    """A note when an index leaves its Milvus store for the folder: the collection stays."""
    before = live_before.store if live_before is not None else LOCAL_STORE
    if before.backend != MILVUS or target.backend != LOCAL:
        return []
    return [f"search store: back in the index folder; the Milvus collection "
            f"{before.collection} at {before.uri} is left as it was (drop it "
            f"there when nothing else reads it)"]


def store_uri(index_dir: Path, store: str | None, milvus_uri: str | None) -> str | None:
    """The Milvus address this build syncs (None: the local store), checked reachable: the
    store asked for, else the index's own, else the local one."""
    recorded = LOCAL_STORE
    with contextlib.suppress(QAError):
        recorded = read_manifest(index_dir).store
    store = store or recorded.backend
    if store not in STORE_BACKENDS:
        raise QAError(f"Unknown store backend {store!r}; use one of {', '.join(STORE_BACKENDS)}.")
    if store == LOCAL:
        return None
    uri = milvus_uri or (recorded.uri if recorded.backend == MILVUS else None)
    if not uri:
        raise QAError("A Milvus store needs its address: add `--milvus-uri http://HOST:19530` "
                      "(a Milvus server) or `--milvus-uri ./qa.db` (a milvus-lite file), or "
                      "set milvus_uri in the settings file.")
    uri = resolve_uri(uri)
    with unchanged_on_failure(index_dir):
        connect(uri)
    return uri


@contextlib.contextmanager
def unchanged_on_failure(index_dir: Path) -> Iterator[None]:
    try:
        yield
    except StoreUnavailableError as exc:
        raise StoreUnavailableError(f"{exc} The index in {index_dir}/ is unchanged.") from exc


def sync_before_publish(sync: StoreSync, parts: list[Part], writer: IndexWriter,
                        prev: Index | None, live_before: Manifest | None,
                        kept: list[str], *, rewrite: bool = False) -> list[str]:
    """Upsert this build's chunks into the Milvus store before the manifest names them
    (qa.index.store_sync); a store new to this index also gets every unchanged chunk, its
    stored vector reused, and so does one being rewritten (`rewrite`, `qa index --optimize`:
    milvus-lite keeps BM25 statistics per segment and each update adds one, so its lexical
    ranking drifts from a fresh build's until every row is in one segment again; see
    docs/reliability.md). Returns a note for the build report."""
    new_ids = np.concatenate([np.asarray(p.chunk_ids, np.int64) for p in parts]) if parts \
        else np.zeros(0, np.int64)
    removed = [*writer.removed_ids]
    if prev is None and live_before is not None and not sync.fresh:
        # A full rebuild: whatever was live before and is not rebuilt goes.
        with contextlib.suppress(QAError):
            removed.append(live_chunk_ids(Index.from_manifest(
                writer.index_dir, live_before, for_search=False)))
    gone = np.setdiff1d(np.concatenate(removed) if removed else np.zeros(0, np.int64), new_ids)
    sync.begin([new_ids, gone])
    sync.upsert(store_chunks(parts))
    carried = 0
    if (sync.fresh or rewrite) and prev is not None and kept:
        for batch in chunks_of(prev, set(kept), embedding_input):
            sync.upsert(batch)
            carried += len(batch)
    sync.acknowledged()
    where = f"Milvus at {sync.target.uri} (collection {sync.target.collection})"
    if carried:
        return [f"search store: {where}; {carried} indexed chunks copied with their vectors "
                f"(not embedded again), {len(new_ids)} new ones upserted"]
    return [f"search store: {where}; {len(new_ids)} chunks upserted, {len(gone)} removed"]
