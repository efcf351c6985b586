"""The live generation an update builds on: whether it can be kept, and its articles.

Only the embedding model, its runtime, the chunking and the NLP pipeline decide what can be
kept: with other tokenizer settings the chunks and vectors are still good and only the BM25
counts are redone (qa.build.builder).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..corpus import nlp
from ..errors import IndexCorruptError, IndexMismatchError, IndexMissingError
from ..index import Index
from ..types import Article
from .parts import CHUNKING

# torch, fp32 ONNX (cosine 1.0) and OpenVINO (bf16: cosine >= 0.9999; tested) give the same
# vectors for retrieval purposes: their builds mix freely. int8 is a backend of its own.
EQUIVALENT_BACKENDS = frozenset({"torch", "onnx", "openvino"})


def load_previous(index_dir: Path, model: str, backend: str = "torch"
                  ) -> tuple[Index | None, str]:
    """The live generation to build on, or (None, why a full build is needed).

    Opening reads the article records and checks every file's size; the parts an update
    does not touch are never read.
    """
    try:
        index = Index.open(index_dir, for_search=False)
    except IndexMissingError:
        return None, "there is no previous index"
    except (IndexCorruptError, IndexMismatchError) as exc:
        return None, f"the previous index is unusable ({exc})"
    manifest = index.manifest
    previous = manifest.embedding_backend or "torch"
    if manifest.chunking != CHUNKING:
        return None, "the chunking settings changed"
    if manifest.nlp != nlp.PIPELINE:
        return None, "the NLP pipeline changed"
    if manifest.model.name != model:
        return None, f"the model changed to {model}"
    if previous != backend and not {previous, backend} <= EQUIVALENT_BACKENDS:
        return None, f"the embedding backend changed to {backend}"
    if any(not seg.layout for seg in index.segments):
        return None, "the previous index has no vectors"
    if index.dense_error:  # damaged vectors: embed everything again
        return None, f"the previous index's {index.dense_error}"
    return index, ""


class KnownArticle:
    """An unchanged article as the index holds it, for `load_corpus(known=...)` and the diff:
    only what they read (id, hash, path). Materialising a full `Article` for each of the
    150k articles of a 1M-chunk index cost most of an update; an article that must be built
    again becomes one in `PreviousFiles.with_its_text`."""

    __slots__ = ("id", "hash", "path", "where")
    text = ""

    def __init__(self, id: str, hash: str, path: str, where: tuple[int, int]) -> None:
        self.id, self.hash, self.path, self.where = id, hash, path, where


class PreviousFiles:
    """The live articles of the previous build: by id (for the diff) and by source file,
    for `load_corpus(known=...)`: a file whose size and mtime are unchanged is taken from the
    index instead of parsed again. Files that had unreadable parts last time are always
    re-read (to report them again)."""

    def __init__(self, prev: Index) -> None:
        self._prev = prev
        self.live: dict[str, tuple[int, int, str]] = {}  # article id -> (segment, row, hash)
        self._rows: dict[str, list[tuple[int, int]]] = {}
        for s, seg in enumerate(prev.segments):
            table = seg.articles
            rows = prev.live_rows(s).tolist()
            ids, hashes = table.ids, table.hashes
            self.live.update((ids[r], (s, r, hashes[r])) for r in rows)
            paths, keys = table.paths, table.file_keys
            for r in rows:
                path = paths[r]
                if keys[r] and path is not None:
                    self._rows.setdefault(path, []).append((s, r))
        self._reread = {p.split(":")[0] for p in prev.manifest.skipped_paths}

    def get(self, rel: str) -> tuple[tuple[int, ...], Sequence[KnownArticle]] | None:
        rows = self._rows.get(rel)
        if not rows or rel in self._reread:
            return None
        segments = self._prev.segments
        s0, r0 = rows[0]
        key = tuple(segments[s0].articles.file_keys[r0])
        found = []
        for s, r in rows:
            table = segments[s].articles
            found.append(KnownArticle(table.ids[r], table.hashes[r], rel, (s, r)))
        return key, found

    def with_its_text(self, art: Article | KnownArticle) -> Article:
        """A full `Article` with its text, for one that came from here without it."""
        if not isinstance(art, KnownArticle):
            return art
        s, row = art.where
        seg = self._prev.segments[s]
        m = seg.articles[row]
        return Article(id=m["id"], title=m["title"], date=m.get("date"),
                       source=m.get("source") or "", url=m.get("url"), path=m["path"],
                       text=seg.texts[row], hash=m["hash"])
