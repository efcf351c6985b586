"""`MilvusBackend`: an index's search store in a Milvus collection.

One client (`pymilvus.MilvusClient(uri)`) reaches a standalone or distributed Milvus
(`http://milvus.internal:19530`) or milvus-lite, a local file (`./x.db`: pymilvus serves it
from a gRPC server it starts inside this process, on a free 127.0.0.1 port).

The collection holds one row per chunk: the chunk id as INT64 primary key (content-derived,
so a repeated upsert replaces a row with itself), the L2-normalised vector (FLOAT_VECTOR,
inner product), the text lexical search reads (VARCHAR with an analyzer) and the
SPARSE_FLOAT_VECTOR Milvus's own BM25 function fills from it, the article id, the article's
date as an INT64 YYYYMMDD key (0: undated) for range filters, and the chunk's offsets. Texts,
chunks and quotes stay in the index folder: answers and citations read them from there.

Milvus's BM25 is not rank-bm25's (its own analyzer and statistics); fusion normalises each
list, so only the order within the list matters. milvus-lite returns BM25 scores negated
(best first, most negative); a server returns them positive. BM25 is never negative, so
the absolute value is the score either way (pinned in tests/test_store_backends.py).

pymilvus is the optional extra `qa[scale]`: it is imported on first use.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, ParamSpec, TypeVar

import numpy as np

from ..errors import StoreUnavailableError
from ..types import JSONObject

if TYPE_CHECKING:
    from pymilvus import MilvusClient
from .backend import MILVUS, DateKeys, Ranked, StoreChunks

INSTALL_HINT = "pip install 'qa[scale]'"
BATCH = 1000  # rows per upsert: ~3 MB of protobuf, well under gRPC's message limit
TEXT_BYTES = 65535  # VARCHAR's largest max_length, in UTF-8 bytes

_P = ParamSpec("_P")
_T = TypeVar("_T")
ARTICLE_BYTES = 4096

_clients: dict[str, MilvusClient] = {}
_clients_lock = threading.Lock()
_loaded: set[tuple[str, str]] = set()  # collections this process has made searchable


def is_local_file(uri: str) -> bool:
    """Whether `uri` names a milvus-lite file rather than a server address."""
    return "://" not in uri and not uri.startswith("unix:")


def collection_name(index_id: str) -> str:
    """The default collection of an index: one per index folder, so several indexes can
    share a cluster (Milvus names: letters, digits and underscores)."""
    return f"qa_{index_id}"


def _pymilvus() -> ModuleType:
    try:
        import pymilvus
    except ImportError as exc:
        raise StoreUnavailableError(
            "A Milvus search store needs pymilvus, which is not installed. "
            f"Run `{INSTALL_HINT}`, or keep the index's store local: "
            "`qa index --store local`.") from exc
    module: ModuleType = pymilvus
    return module


def client_for(uri: str) -> MilvusClient:
    """The process's client for `uri` (a milvus-lite file is served once per process)."""
    with _clients_lock:
        client = _clients.get(uri)
        if client is None:
            pymilvus = _pymilvus()
            try:
                client = pymilvus.MilvusClient(uri=uri, timeout=30)
            except Exception as exc:  # MilvusException, grpc errors, a locked lite file
                raise _unreachable(uri, exc) from exc
            _clients[uri] = client
        return client


def _detail(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


def _unreachable(uri: str, exc: BaseException) -> StoreUnavailableError:
    what = "open the milvus-lite file" if is_local_file(uri) else "reach Milvus at"
    return StoreUnavailableError(
        f"Cannot {what} {uri} ({_detail(exc)}). Check that the address is right and Milvus "
        "is running (a milvus-lite file can be open in one process at a time), then run the "
        "command again.")


def _failed(uri: str, exc: BaseException) -> StoreUnavailableError:
    return StoreUnavailableError(
        f"The Milvus store at {uri} failed a request ({_detail(exc)}). Check that Milvus is "
        "running and reachable, then run the command again; `qa index --full` rebuilds "
        "the store if it lost data.")


def forget_client(uri: str) -> None:
    """Close and drop the process's client for `uri` (tests; a milvus-lite file is then
    free for another process)."""
    with _clients_lock:
        client = _clients.pop(uri, None)
        for key in [k for k in _loaded if k[0] == uri]:
            _loaded.discard(key)
    if client is not None:
        try:
            client.close()
        finally:
            if is_local_file(uri):
                from milvus_lite.server_manager import server_manager_instance

                server_manager_instance.release_server(uri)


class MilvusBackend:
    """A Milvus collection as an index's search store (see the module docstring)."""

    name = MILVUS

    def __init__(self, uri: str, collection: str) -> None:
        self.uri = uri
        self.collection = collection
        self._client = client_for(uri)

    def _call(self, method: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
        """`method` (one of the client's) called, its failures as StoreUnavailableError."""
        try:
            return method(*args, **kwargs)
        except StoreUnavailableError:
            raise
        except Exception as exc:  # pymilvus raises MilvusException and grpc's RpcError
            raise _failed(self.uri, exc) from exc

    def _ensure_loaded(self) -> None:
        """Load the collection for searching: a Milvus that restarted (or a milvus-lite
        file opened again) holds it released."""
        key = (self.uri, self.collection)
        if key in _loaded:
            return
        state = str(self._call(self._client.get_load_state, self.collection).get("state", ""))
        if not state.endswith("Loaded"):
            self._call(self._client.load_collection, self.collection)
        _loaded.add(key)

    # --- the collection ---------------------------------------------------------------------
    def exists(self) -> bool:
        return bool(self._call(self._client.has_collection, self.collection))

    def create(self, dim: int) -> None:
        """Create the collection for vectors of width `dim` unless it exists.

        Raises:
            StoreUnavailableError: it exists with vectors of another width.
        """
        if self.exists():
            found = self._dim()
            if found not in (None, dim):
                raise StoreUnavailableError(
                    f"The Milvus collection {self.collection} at {self.uri} holds vectors of "
                    f"{found} dimensions, not {dim}. Drop it, or build into another Milvus "
                    "(--milvus-uri).")
            return
        pymilvus = _pymilvus()
        DataType, Function, FunctionType = (pymilvus.DataType, pymilvus.Function,
                                            pymilvus.FunctionType)
        schema = pymilvus.MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
        schema.add_field("text", DataType.VARCHAR, max_length=TEXT_BYTES, enable_analyzer=True)
        schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
        schema.add_field("article", DataType.VARCHAR, max_length=ARTICLE_BYTES)
        schema.add_field("date", DataType.INT64)
        schema.add_field("start", DataType.INT64)
        schema.add_field("end", DataType.INT64)
        schema.add_function(Function(name="text_bm25", function_type=FunctionType.BM25,
                                     input_field_names=["text"],
                                     output_field_names=["sparse"]))
        params = self._client.prepare_index_params()
        # Inner product on normalised vectors is the cosine, as in the local FAISS index;
        # AUTOINDEX lets a cluster pick its ANN index (milvus-lite scans exactly).
        params.add_index("vector", index_type="AUTOINDEX", metric_type="IP")
        params.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
        # Strong: a search sees every upsert acknowledged before it, so a manifest published
        # after the upserts never names chunks a search cannot find yet.
        self._call(self._client.create_collection, self.collection, schema=schema,
                   index_params=params, consistency_level="Strong")

    def _dim(self) -> int | None:
        info = self._call(self._client.describe_collection, self.collection)
        for field in info.get("fields", []):
            if field.get("name") == "vector":
                dim = (field.get("params") or {}).get("dim")
                return int(dim) if dim is not None else None
        return None

    def drop(self) -> None:
        """Drop the collection (its rows are stale: a store no manifest records)."""
        _loaded.discard((self.uri, self.collection))
        if self.exists():
            self._call(self._client.drop_collection, self.collection)

    def count(self) -> int:
        """Rows in the collection (with Strong consistency: every acknowledged upsert)."""
        self._ensure_loaded()
        rows = self._call(self._client.query, self.collection, filter="",
                          output_fields=["count(*)"])
        return int(rows[0]["count(*)"]) if rows else 0

    def present(self, ids: Sequence[int]) -> np.ndarray:
        """Which of `ids` the collection holds (sorted, unique)."""
        self._ensure_loaded()
        found: list[int] = []
        ids = [int(i) for i in ids]
        for at in range(0, len(ids), BATCH):
            rows = self._call(self._client.query, self.collection, ids=ids[at : at + BATCH],
                              output_fields=["id"])
            found.extend(int(r["id"]) for r in rows)
        return np.unique(np.asarray(found, dtype=np.int64))

    # --- StoreBackend -----------------------------------------------------------------------
    def upsert(self, chunks: StoreChunks) -> None:
        for rows in _rows(chunks):
            self._call(self._client.upsert, self.collection, rows)

    def delete(self, ids: np.ndarray) -> None:
        keys = [int(i) for i in np.asarray(ids, dtype=np.int64)]
        for at in range(0, len(keys), BATCH):
            self._call(self._client.delete, self.collection, ids=keys[at : at + BATCH])

    def flush(self) -> None:
        self._call(self._client.flush, self.collection)

    def compact(self) -> None:
        """Start a compaction of the collection (a server merges segments and drops deleted
        rows in the background; milvus-lite has nothing to do)."""
        self._call(self._client.compact, self.collection)

    def close(self) -> None:
        return None  # the client is the process's, shared by every generation read

    def dense_search(self, query: np.ndarray, depth: int,
                     dates: DateKeys | None = None) -> Ranked:
        vector = np.asarray(query, dtype=np.float32).reshape(-1).tolist()
        hits = self._search([vector], "vector", "IP", depth, dates)
        return _ranked(hits, lambda d: d)

    def lexical_search(self, text: str, terms: Sequence[str], depth: int,
                       dates: DateKeys | None = None) -> Ranked:
        hits = self._search([text], "sparse", "BM25", depth, dates)
        return _ranked(hits, abs)  # milvus-lite negates BM25; a server does not

    def _search(self, data: list[list[float]] | list[str], field: str, metric: str, depth: int,
                dates: DateKeys | None) -> list[JSONObject]:
        self._ensure_loaded()
        found = self._call(self._client.search, self.collection, data=data, anns_field=field,
                           limit=max(1, min(depth, 16384)), filter=_date_filter(dates),
                           search_params={"metric_type": metric}, output_fields=["id"])
        return list(found[0]) if found else []


def _date_filter(dates: DateKeys | None) -> str:
    if dates is None:
        return ""
    parts = ["date > 0"]
    if dates.lo:
        parts.append(f"date >= {int(dates.lo)}")
    if dates.hi:
        parts.append(f"date <= {int(dates.hi)}")
    return " and ".join(parts)


def _ranked(hits: list[JSONObject], score: Callable[[float], float]) -> Ranked:
    ids = np.asarray([int(h["id"]) for h in hits], dtype=np.int64)
    scores = np.asarray([float(score(h["distance"])) for h in hits], dtype=np.float64)
    # Best first, ties by lower chunk id (as the local store orders them).
    order = np.lexsort((ids, -scores))
    return Ranked(ids[order], scores[order])


def _clip(text: str, limit: int) -> str:
    data = text.encode("utf-8")
    return text if len(data) <= limit else data[:limit].decode("utf-8", "ignore")


def _rows(chunks: StoreChunks) -> Iterator[list[JSONObject]]:
    vectors = np.asarray(chunks.vectors, dtype=np.float32)
    for at in range(0, len(chunks), BATCH):
        yield [{"id": int(chunks.ids[i]), "vector": vectors[i].tolist(),
                "text": _clip(chunks.texts[i], TEXT_BYTES),
                "article": _clip(chunks.articles[i], ARTICLE_BYTES),
                "date": int(chunks.dates[i]), "start": int(chunks.starts[i]),
                "end": int(chunks.ends[i])}
               for i in range(at, min(at + BATCH, len(chunks)))]
