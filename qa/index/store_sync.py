"""Keeping a Milvus store in step with the generations an index folder publishes.

A build that keeps its search store in Milvus (`qa index --store milvus`) does, in order:

1. `StoreSync.open`: connect and make sure the collection exists. A store the previous
   manifest does not record (a migration, another address, a collection someone dropped) is
   *fresh*: it is emptied, and every live chunk is upserted, its stored vector reused.
2. `begin(ids)`: the ids this build upserts or removes go into a journal in the index folder
   (`store-sync.json`, fsynced), added to any left by a crashed build.
3. `upsert(...)`, then `acknowledged()`: every upsert returned and was flushed. Chunk ids are
   content-derived, so a repeated upsert rewrites a row with itself.
4. The caller publishes the manifest, which records the store.
5. `finish(published)`: ids of the journal that are not live in the published generation
   are deleted, and the journal removed.

A crash anywhere leaves the old manifest with every row it names (steps 1-3 add rows or
rewrite identical ones; a fresh store is not the live one), or the new one with every row
it names (step 4 follows step 3). What is left over are rows no reader returns (readers drop
ids that are not live in their generation); the journal names them and the next build into
the same store deletes them (step 5), so the store converges on the live chunks.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np

from ..regular_files import read_regular
from ..types import JSONObject
from .backend import MILVUS, StoreChunks, date_key
from .chunks import runs
from .files import write_json_atomic
from .index import Index
from .manifest import Manifest, StoreRecord
from .milvus import MilvusBackend, client_for, collection_name, is_local_file

JOURNAL = "store-sync.json"
BATCH = 2048  # chunks read from the index per upsert call when migrating

# text_of(title, chunk text) -> what lexical search indexes (the build's embedding input).
TextOf = Callable[[str, str], str]


def resolve_uri(uri: str) -> str:
    """A Milvus address as the manifest records it: a milvus-lite path resolved against the
    current directory (absolute, so `qa ask` finds it from anywhere); a server's as given."""
    uri = uri.strip()
    return str(Path(uri).expanduser().resolve()) if is_local_file(uri) else uri


def milvus_target(owner: str, uri: str) -> StoreRecord:
    """The store record of a Milvus target (`uri` resolved): one collection per index."""
    return StoreRecord(MILVUS, resolve_uri(uri), collection_name(owner))


def connect(uri: str) -> None:
    """Open the process's connection to `uri` now (raises StoreUnavailableError)."""
    client_for(uri)


class StoreSync:
    """One build's sync of a Milvus store (see the module docstring)."""

    def __init__(self, index_dir: Path, target: StoreRecord, store: MilvusBackend,
                 fresh: bool) -> None:
        self.index_dir = index_dir
        self.target = target
        self.store = store
        self.fresh = fresh

    @classmethod
    def open(cls, index_dir: Path, target: StoreRecord, dim: int,
             previous: Manifest | None) -> StoreSync:
        """Connect, and prepare the collection (`previous`: the live manifest, if any).

        Raises:
            StoreUnavailableError: pymilvus is missing or the store cannot be reached; nothing
                was written.
        """
        if target.uri is None or target.collection is None:
            raise ValueError("a Milvus target has an address and a collection")
        store = MilvusBackend(target.uri, target.collection)
        holds = previous is not None and previous.store == target and store.exists()
        if not holds:
            store.drop()  # not the live store: rows of an earlier sync may be stale
        store.create(dim)
        return cls(index_dir, target, store, fresh=not holds)

    # --- the journal ----------------------------------------------------------------------
    def _journal(self) -> list[JSONObject]:
        path = self.index_dir / JOURNAL
        try:
            entries = json.loads(read_regular(path, follow_links=False).decode("utf-8"))
        except (OSError, ValueError):
            return []
        return [e for e in entries if isinstance(e, dict) and isinstance(e.get("ids"), list)] \
            if isinstance(entries, list) else []

    def _pending(self) -> np.ndarray:
        mine = self.target.to_json()
        ids = [i for e in self._journal() if e.get("store") == mine for i in e["ids"]]
        return np.unique(np.asarray(ids, dtype=np.int64))

    def begin(self, ids: Iterable[np.ndarray]) -> None:
        """Record the ids this build will upsert or remove, before touching the store."""
        parts = [np.asarray(i, dtype=np.int64) for i in ids]
        mine = np.union1d(self._pending(), np.concatenate(parts) if parts else
                          np.zeros(0, np.int64))
        others = [e for e in self._journal() if e.get("store") != self.target.to_json()]
        write_json_atomic(self.index_dir / JOURNAL,
                          [*others, {"store": self.target.to_json(), "ids": mine.tolist()}])

    # --- upserts ----------------------------------------------------------------------------
    def upsert(self, chunks: StoreChunks) -> None:
        if len(chunks):
            self.store.upsert(chunks)

    def acknowledged(self) -> None:
        """Every upsert so far is durable in the store: the manifest may now name them."""
        self.store.flush()

    def compact(self) -> None:
        """Ask the store to compact the collection (merge segments, drop deleted rows)."""
        self.store.compact()

    def finish(self, published: Index) -> int:
        """Delete the journal's ids that are not live in `published`; returns how many."""
        pending = self._pending()
        stale = pending[~np.isin(pending, live_chunk_ids(published))]
        if len(stale):
            self.store.delete(stale)
            self.store.flush()
        others = [e for e in self._journal() if e.get("store") != self.target.to_json()]
        if others:
            write_json_atomic(self.index_dir / JOURNAL, others)
        else:
            with contextlib.suppress(FileNotFoundError):
                (self.index_dir / JOURNAL).unlink()
        return int(len(stale))


def check_store(index: Index) -> list[str]:
    """What a Milvus store lacks of a generation (`qa index --check`), one line each; empty
    when it holds every live chunk (rows it holds beyond them are harmless: readers drop
    them, and the next build deletes them).

    Raises:
        StoreUnavailableError: the store cannot be reached.
    """
    store = index.manifest.store
    if store.backend != MILVUS or store.uri is None or store.collection is None:
        return []
    backend = MilvusBackend(store.uri, store.collection)
    where = f"the Milvus store {store.uri} (collection {store.collection})"
    if not backend.exists():
        return [f"{where} does not exist; run `qa index` to fill it again"]
    live = live_chunk_ids(index)
    missing = len(live) - len(backend.present(live.tolist()))
    if missing:
        return [f"{where} lacks {missing} of the index's {len(live)} chunks; run "
                "`qa index --full` to upsert them again"]
    return []


def live_chunk_ids(index: Index) -> np.ndarray:
    """The ids of every live chunk of a generation (opened for search or not), sorted."""
    parts = []
    for s, seg in enumerate(index.segments):
        table = seg.chunks
        if not len(table):
            continue
        alive = index.position[s][np.asarray(table.article)] >= 0
        parts.append(np.asarray(table.ids)[alive])
    return np.unique(np.concatenate(parts)) if parts else np.zeros(0, np.int64)


def chunks_of(index: Index, articles: set[str], text_of: TextOf,
              batch: int = BATCH) -> Iterator[StoreChunks]:
    """The live chunks of `articles` as the index stores them, vectors included (a
    migration reuses them: nothing is embedded again), in batches."""
    for s, seg in enumerate(index.segments):
        table = seg.chunks
        records = seg.articles
        rows = [int(r) for r in index.live_rows(s) if records.ids[r] in articles]
        if not rows:
            continue
        vectors = seg.vectors()
        chunk_rows: list[int] = []
        for r in rows:
            lo, hi = table.rows_of_article(r)
            chunk_rows.extend(range(lo, hi))
        for at in range(0, len(chunk_rows), batch):
            take = np.asarray(chunk_rows[at : at + batch], dtype=np.int64)
            block = np.empty((len(take), int(vectors.shape[1])), np.float32)
            at_row = 0
            for lo, hi in runs(take):  # an article's chunks are contiguous: few reads
                vectors.read_into(block[at_row : at_row + hi - lo], lo)
                at_row += hi - lo
            art = np.asarray(table.article)[take]
            starts, ends = np.asarray(table.start)[take], np.asarray(table.end)[take]
            texts, last, text = [], -1, ""
            for a, lo, hi in zip(art.tolist(), starts.tolist(), ends.tolist()):
                if a != last:
                    last, text = a, seg.texts[a]
                texts.append(text_of(records.titles[a], text[lo:hi]))
            yield StoreChunks(
                ids=np.asarray(table.ids)[take], vectors=block, texts=texts,
                articles=[records.ids[a] for a in art.tolist()],
                dates=np.asarray([date_key(records.dates[a]) for a in art.tolist()], np.int64),
                starts=starts.astype(np.int64), ends=ends.astype(np.int64))
