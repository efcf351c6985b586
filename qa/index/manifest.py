"""`manifest.json`: the one file readers follow. Written last, replaced atomically.

It names the generation's own folder (`data`: global BM25 statistics, deletions, article
order) and the live segments, and records the format version, model, tokenizer, counts, and
the size, SHA-256 and modification time of every file it names (`files`, `checksums`,
`stamps`, keyed `folder/name`).

In memory it is a `Manifest`, frozen and typed; this module is the only one that reads or
writes its JSON (`read_manifest`, `write_manifest`) and the only one that checks it: an
edited manifest fails here, with the command that repairs it, not deep in a search.
Checking the files it records is qa.index.filecheck's.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import IndexCorruptError, IndexMismatchError, IndexMissingError, IndexOwnershipError
from ..types import JSONObject
from .backend import BACKENDS, LOCAL, MILVUS
from .files import regular_file, write_json_atomic

# A change of the layout bumps this; an index of another version must be rebuilt.
# 4: a phrases part in every segment (entities, noun phrases, sentence roles).
# 5: a sentence vectors part in every segment (qa.index.sentences).
# 6: BM25 postings hold (term frequency, chunk length) pair codes instead of frequencies
#    (bm25_pair.npy, bm25_pairs.npy in place of bm25_tf.npy).
# 7: sentence vectors pooled from their chunk's pass (qa.embed.pooling), and the query
#    model's export with the token_embeddings output (qa.embed.onnx, format 2).
FORMAT_VERSION = 7
MANIFEST = "manifest.json"
MANIFEST_TMP = re.compile(r"\.manifest\.json\.[0-9a-f]{8}\.tmp")

SEGMENT_PREFIX = "seg-"
GENERATION_PREFIX = "gen-"
TRAINED_PREFIX = "ivf-"
FOLDER = re.compile(r"(seg|gen|ivf)-[0-9A-Za-z-]{1,80}")

# Counts in a manifest above this are not counts (2**40: a trillion chunks).
_MAX_COUNT = 1 << 40


@dataclass(frozen=True)
class ModelRecord:
    """The embedding model an index was built with; an index opens only with the same."""

    name: str
    dim: int | None = None  # vector width (None, or 0: not recorded)
    normalized: bool | None = None

    def to_json(self) -> JSONObject:
        out: JSONObject = {"name": self.name}
        if self.dim is not None:
            out["dim"] = self.dim
        if self.normalized is not None:
            out["normalized"] = self.normalized
        return out


@dataclass(frozen=True)
class StoreRecord:
    """Where searches rank chunks: the folder's own parts ("local"), or a Milvus collection."""

    backend: str = LOCAL
    uri: str | None = None  # Milvus only: a server address, or a milvus-lite file (absolute)
    collection: str | None = None  # Milvus only

    def to_json(self) -> dict[str, str]:
        out = {"backend": self.backend}
        if self.uri is not None:
            out["uri"] = self.uri
        if self.collection is not None:
            out["collection"] = self.collection
        return out


LOCAL_STORE = StoreRecord()


@dataclass(frozen=True)
class SegmentEntry:
    """One live segment as the manifest lists it (qa.index.segment)."""

    name: str
    articles: int
    chunks: int
    deleted_chunks: int  # the generation's deletions in it, not the segment's own
    dense: JSONObject  # its dense layout (qa.index.dense); empty: no dense part

    def same_segment(self, other: SegmentEntry) -> bool:
        """Whether two entries describe the same segment (its deletions may differ: they
        are the generation's, not the segment's)."""
        return (self.name, self.articles, self.chunks, self.dense) == \
            (other.name, other.articles, other.chunks, other.dense)

    def to_json(self) -> JSONObject:
        return {"name": self.name, "articles": self.articles, "chunks": self.chunks,
                "deleted_chunks": self.deleted_chunks, "dense": self.dense}


@dataclass(frozen=True)
class Counts:
    """What the index holds, as its build counted it (None: not recorded). `qa index
    --check` compares them with the parts."""

    articles: int | None = None
    chunks: int | None = None
    segments: int | None = None
    vocab: int | None = None
    skipped: int | None = None  # files of the corpus that could not be read

    def to_json(self) -> dict[str, int]:
        pairs = (("skipped", self.skipped), ("articles", self.articles), ("chunks", self.chunks),
                 ("segments", self.segments), ("vocab", self.vocab))
        return {k: v for k, v in pairs if v is not None}


@dataclass(frozen=True)
class BuildRecord:
    """What a build records beside what the index writer computes (qa.build.builder)."""

    corpus: str  # the corpus folder, absolute
    model: ModelRecord
    embedding_backend: str  # the runtime that embedded (qa.embed.embedder.backend_of)
    executor: JSONObject  # informational: where the chunks were embedded
    tokenizer: JSONObject  # qa.text.TOKENIZER: other settings recount BM25
    chunking: JSONObject  # other settings rebuild everything
    nlp: JSONObject  # the NLP pipeline (qa.corpus.nlp.PIPELINE): another rebuilds
    embedding_input: str  # informational
    bm25: JSONObject  # the scoring model and its parameters
    skipped: int  # how many files or records of the corpus could not be read
    skipped_paths: tuple[str, ...]  # re-read by the next build, to report them again
    versions: JSONObject  # informational: qa, FAISS, rank-bm25
    store: StoreRecord


@dataclass(frozen=True)
class Manifest:
    """A published generation, as `manifest.json` records it (see the module docstring)."""

    format_version: int
    data: str  # the generation folder (gen-*)
    segments: tuple[SegmentEntry, ...]
    model: ModelRecord
    tokenizer: JSONObject
    bm25: JSONObject  # the scoring model, and the corpus statistics' summary
    counts: Counts
    files: dict[str, int]  # folder/name -> size
    checksums: dict[str, str] = field(default_factory=dict)  # folder/name -> SHA-256
    stamps: dict[str, int] = field(default_factory=dict)  # folder/name -> mtime (ns)
    dense: JSONObject = field(default_factory=dict)  # the index's current dense layout
    store: StoreRecord = LOCAL_STORE
    built_at: str = ""
    corpus: str | None = None
    embedding_backend: str | None = None
    executor: JSONObject = field(default_factory=dict)
    chunking: JSONObject | None = None
    nlp: JSONObject | None = None
    embedding_input: str | None = None
    skipped_paths: tuple[str, ...] = ()
    versions: JSONObject = field(default_factory=dict)

    @property
    def folders(self) -> set[str]:
        """The folders it names: its generation folder, segments and trained quantizers."""
        names: set[object] = {self.data}
        for seg in self.segments:
            names.add(seg.name)
            names.add(seg.dense.get("trained"))
        names.add(self.dense.get("trained"))
        return {n for n in names if isinstance(n, str)}

    def to_json(self) -> JSONObject:
        out: JSONObject = {"format_version": self.format_version, "built_at": self.built_at}
        optional = (("corpus", self.corpus), ("model", self.model.to_json()),
                    ("embedding_backend", self.embedding_backend),
                    ("executor", self.executor), ("tokenizer", self.tokenizer),
                    ("chunking", self.chunking), ("nlp", self.nlp),
                    ("embedding_input", self.embedding_input), ("bm25", self.bm25),
                    ("counts", self.counts.to_json()),
                    ("skipped_paths", list(self.skipped_paths)), ("versions", self.versions),
                    ("store", self.store.to_json()))
        out.update((k, v) for k, v in optional if v is not None)
        out.update(data=self.data, segments=[s.to_json() for s in self.segments],
                   dense=self.dense, files=self.files, checksums=self.checksums,
                   stamps=self.stamps)
        return out

    @classmethod
    def from_json(cls, raw: object, path: Path) -> Manifest:
        """Check and type what `path` (a manifest) held.

        Raises:
            IndexCorruptError: it is not a manifest, lacks a field or has a malformed one.
            IndexMismatchError: it was written by another format version.
        """
        index_dir = path.parent
        if not isinstance(raw, dict):
            raise IndexCorruptError(f"The index manifest {path} is not a manifest. "
                                    f"{rebuild_hint(index_dir)}")
        version = raw.get("format_version")
        if version != FORMAT_VERSION:
            raise IndexMismatchError(
                f"The index in {index_dir}/ has format version {version!r}; this qa reads "
                f"version {FORMAT_VERSION}. Run `qa index --full --index {index_dir}` to "
                "rebuild it.")
        missing = [k for k in _KINDS if k not in raw]
        if missing:
            raise IndexCorruptError(f"The index manifest {path} lacks {', '.join(missing)}. "
                                    f"{rebuild_hint(index_dir)}")
        wrong = [k for k, kind in _KINDS.items() if not isinstance(raw[k], kind)]
        if not wrong:
            wrong = _malformed_fields(raw)
        if wrong:
            raise IndexCorruptError(f"The index manifest {path} has a malformed "
                                    f"{', '.join(wrong)}. {rebuild_hint(index_dir)}")
        return cls._typed(raw)

    @classmethod
    def _typed(cls, m: JSONObject) -> Manifest:
        """The fields of a checked manifest (`_malformed_fields` found nothing wrong)."""
        model, counts, store = m["model"], m["counts"], m.get("store")
        corpus = m.get("corpus")
        skipped = m.get("skipped_paths")
        return cls(
            format_version=int(m["format_version"]), data=m["data"],
            segments=tuple(SegmentEntry(name=e["name"], articles=e["articles"],
                                        chunks=e["chunks"], deleted_chunks=e["deleted_chunks"],
                                        dense=e["dense"]) for e in m["segments"]),
            model=ModelRecord(model["name"], _int_or_none(model.get("dim")),
                              model.get("normalized") if isinstance(model.get("normalized"),
                                                                    bool) else None),
            tokenizer=m["tokenizer"], bm25=m["bm25"],
            counts=Counts(**{k: _int_or_none(counts.get(k))
                             for k in ("articles", "chunks", "segments", "vocab", "skipped")}),
            files=m["files"],
            # Either is only a record of files already checked by size: an entry of another
            # kind is one not recorded (the file is hashed, or `--check` skips it).
            checksums={k: v for k, v in _dict_or_empty(m.get("checksums")).items()
                       if isinstance(v, str)},
            stamps={k: v for k, v in _dict_or_empty(m.get("stamps")).items() if _is_int(v)},
            dense=_dict_or_empty(m.get("dense")),
            store=_store_of(store) if isinstance(store, dict) else LOCAL_STORE,
            built_at=str(m.get("built_at") or ""),
            corpus=corpus if isinstance(corpus, str) and corpus else None,
            embedding_backend=_str_or_none(m.get("embedding_backend")),
            executor=_dict_or_empty(m.get("executor")),
            chunking=m.get("chunking") if isinstance(m.get("chunking"), dict) else None,
            nlp=m.get("nlp") if isinstance(m.get("nlp"), dict) else None,
            embedding_input=_str_or_none(m.get("embedding_input")),
            skipped_paths=tuple(str(p) for p in skipped) if isinstance(skipped, list) else (),
            versions=_dict_or_empty(m.get("versions")),
        )


_KINDS: dict[str, type] = {"data": str, "segments": list, "model": dict, "counts": dict,
                           "files": dict, "tokenizer": dict, "bm25": dict}


def rebuild_hint(index_dir: Path) -> str:
    return f"Run `qa index --full --index {index_dir}` to rebuild the index."


def read_manifest(index_dir: Path) -> Manifest:
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
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise IndexCorruptError(
            f"The index manifest {path} is damaged ({exc}). {rebuild_hint(index_dir)}"
        ) from exc
    return Manifest.from_json(raw, path)


def write_manifest(index_dir: Path, manifest: Manifest) -> None:
    """Replace the manifest atomically (the last step of every build)."""
    write_json_atomic(index_dir / MANIFEST, manifest.to_json())


def _malformed_fields(m: JSONObject) -> list[str]:
    wrong = []
    if not isinstance(m["model"].get("name"), str):
        wrong.append("model name")
    if not (FOLDER.fullmatch(m["data"]) and m["data"].startswith(GENERATION_PREFIX)):
        wrong.append("data folder name")
    names = set()
    for seg in m["segments"]:
        ok = (isinstance(seg, dict) and isinstance(seg.get("name"), str)
              and FOLDER.fullmatch(seg["name"]) is not None
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
    store = m.get("store")
    if isinstance(store, dict) and store.get("backend") == MILVUS \
            and not all(k in store for k in ("uri", "collection")):
        wrong.append("search store")
    return wrong


def _count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < _MAX_COUNT


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _dict_or_empty(value: object) -> JSONObject:
    return value if isinstance(value, dict) else {}


def _store_of(store: JSONObject) -> StoreRecord:
    """The store a manifest records (the local one for a backend qa does not know)."""
    if store.get("backend") not in BACKENDS:
        return LOCAL_STORE
    uri, collection = store.get("uri"), store.get("collection")
    return StoreRecord(str(store["backend"]), None if uri is None else str(uri),
                       None if collection is None else str(collection))


def check_model(index_dir: Path, manifest: Manifest, model: str | None) -> None:
    """Raise IndexMismatchError when the index was built with another embedding model."""
    built = manifest.model.name
    if model is not None and built != model:
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
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return None
    corpus = raw.get("corpus") if isinstance(raw, dict) else None
    return corpus if isinstance(corpus, str) and corpus else None


def refuse_foreign_manifest(index_dir: Path) -> None:
    """Raise IndexOwnershipError when a folder stands where the manifest goes (a build would
    fail only at its end, naming its temporary file)."""
    path = index_dir / MANIFEST
    if path.is_dir() and not path.is_symlink():
        raise IndexOwnershipError(
            f"{path} is a folder, where qa keeps the index's manifest, and qa deletes nothing "
            f"it did not make. Move it out of {index_dir}/, then run `qa index` again.")
