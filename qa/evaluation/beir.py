"""Retrieval quality on a BEIR folder: nDCG@10, Recall@100 and MRR@10 per retrieval mode.

`evaluate_beir` builds (or reuses) an index of the folder's corpus in the evaluation's own
folder and scores each mode at the *document* level, so the figures compare with published
BEIR numbers: a document's rank is the rank of its best chunk.
"""

from __future__ import annotations

import csv
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from qa.errors import QAError, QueryError
from qa.evaluation.folders import (
    check_eval_corpus_dir,
    check_eval_index,
    corpus_beside,
    default_eval_index,
    prepare_eval_corpus,
)
from qa.evaluation.metrics import documents_from_chunks, mean, mrr_at_k, ndcg_at_k, recall_at_k
from qa.evaluation.qasets import read_jsonl_records
from qa.types import JSONObject

if TYPE_CHECKING:
    from qa.embed.embedder import Embedder

#: The retrieval modes `qa eval --beir` scores, in table order.
BEIR_MODES: tuple[str, ...] = ("hybrid", "dense", "bm25")


#: How many chunks to ask for per query before collapsing them to documents. Recall@100
#: needs at least 100 distinct documents; SciFact averages under two chunks per document,
#: so 1000 chunks leaves a wide margin. `rank_documents` widens the search when it is not.
CHUNK_DEPTH = 1000


Qrels = dict[str, dict[str, int]]


@dataclass(frozen=True)
class BeirDataset:
    """A BEIR folder, restricted to the queries judged in one split."""

    name: str
    folder: Path
    split: str
    corpus_path: Path
    documents: int  # lines in corpus.jsonl
    queries: dict[str, str]  # query id -> text, only the queries with judgements in `split`
    qrels: Qrels  # query id -> {document id -> relevance}


def load_beir(folder: str | os.PathLike[str], split: str = "test") -> BeirDataset:
    """Read a BEIR-format folder: `corpus.jsonl`, `queries.jsonl`, `qrels/<split>.tsv`.

    The corpus is only counted here (it is indexed by `build_index`, which reads it itself).

    Args:
        folder: the dataset folder.
        split: the qrels file to score against (`test`, `dev`, `train`).

    Returns:
        The dataset with the judged queries of `split`.

    Raises:
        QAError: a file is missing or a line cannot be read; the message names the file.
    """
    root = Path(folder).expanduser()
    corpus_path = root / "corpus.jsonl"
    queries_path = root / "queries.jsonl"
    qrels_path = root / "qrels" / f"{split}.tsv"
    for path in (corpus_path, queries_path, qrels_path):
        if not path.is_file():
            raise QAError(
                f"{path} is missing: a BEIR folder holds corpus.jsonl, queries.jsonl and "
                f"qrels/<split>.tsv. Check the folder and --split."
            )

    documents = 0
    with corpus_path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                documents += 1

    qrels = _read_qrels(qrels_path)
    queries: dict[str, str] = {}
    for number, record in read_jsonl_records(queries_path):
        query_id = str(record.get("_id", record.get("id", "")))
        if not query_id:
            raise QAError(f"{queries_path}:{number}: a query without `_id`. Fix the line.")
        if query_id in qrels:
            queries[query_id] = str(record.get("text", ""))
    missing = sorted(set(qrels) - set(queries))
    if missing:
        raise QAError(
            f"{qrels_path} judges {len(missing)} queries not in {queries_path} "
            f"(first: {missing[0]}). Check that the files belong together."
        )
    return BeirDataset(
        name=root.resolve().name,
        folder=root,
        split=split,
        corpus_path=corpus_path,
        documents=documents,
        queries=queries,
        qrels=qrels,
    )


def _read_qrels(path: Path) -> Qrels:
    qrels: Qrels = {}
    with path.open(encoding="utf-8", newline="") as handle:
        rows = csv.reader(handle, delimiter="\t")
        for number, row in enumerate(rows, start=1):
            if not row or not "".join(row).strip():
                continue
            if number == 1 and row[0].strip().lower() in {"query-id", "query_id", "qid"}:
                continue  # the header line BEIR writes
            if len(row) < 3:
                raise QAError(
                    f"{path}:{number}: expected `query-id<TAB>corpus-id<TAB>score`. Fix the line."
                )
            try:
                relevance = int(float(row[2]))
            except ValueError as err:
                raise QAError(f"{path}:{number}: score {row[2]!r} is not a number.") from err
            qrels.setdefault(row[0].strip(), {})[row[1].strip()] = relevance
    return qrels


def beir_doc_id(article_id: str) -> str:
    """The BEIR document id of an article built from the eval corpus file.

    The ingester names `.jsonl` records `<file-slug>/<_id>`; the slug of `corpus.jsonl` has no
    `/`, so everything after the first `/` is the BEIR id (which may itself hold a `/`).
    """
    return article_id.split("/", 1)[1] if "/" in article_id else article_id


@dataclass(frozen=True)
class ModeScores:
    """The document-level scores of one retrieval mode, averaged over the split's queries."""

    mode: str
    ndcg_at_10: float
    recall_at_100: float
    mrr_at_10: float
    queries: int
    seconds: float  # wall time of the searches (not the build)

    def as_json(self) -> dict[str, float | int]:
        """The metric keys published BEIR tables use (`ndcg@10`...), plus count and time."""
        return {
            "ndcg@10": round(self.ndcg_at_10, 5),
            "recall@100": round(self.recall_at_100, 5),
            "mrr@10": round(self.mrr_at_10, 5),
            "queries": self.queries,
            "seconds": round(self.seconds, 2),
        }


@dataclass(frozen=True)
class BeirReport:
    """What `evaluate_beir` measured."""

    dataset: str
    split: str
    documents: int
    queries: int
    chunks: int
    index: str
    build_seconds: float
    embedded_chunks: int  # chunks embedded by this run's build (0 when the index was reused)
    modes: tuple[ModeScores, ...] = field(default_factory=tuple)

    def as_json(self) -> JSONObject:
        """`{"<mode>": {"ndcg@10": .., "recall@100": .., "mrr@10": ..}, ..., "dataset": {..}}`."""
        out: JSONObject = {scores.mode: scores.as_json() for scores in self.modes}
        out["dataset"] = {
            "name": self.dataset,
            "split": self.split,
            "documents": self.documents,
            "queries": self.queries,
            "chunks": self.chunks,
            "index": self.index,
            "build_seconds": round(self.build_seconds, 2),
            "embedded_chunks": self.embedded_chunks,
        }
        return out

    def table(self) -> str:
        """A plain-text table: one row per mode."""
        lines = [
            f"{self.dataset} ({self.split}): {self.documents} documents, {self.queries} queries, "
            f"{self.chunks} chunks; document-level scores (best chunk per document)",
            "",
            f"{'mode':<8} {'nDCG@10':>8} {'Recall@100':>11} {'MRR@10':>8} {'seconds':>8}",
        ]
        for s in self.modes:
            lines.append(
                f"{s.mode:<8} {s.ndcg_at_10:>8.4f} {s.recall_at_100:>11.4f} "
                f"{s.mrr_at_10:>8.4f} {s.seconds:>8.1f}"
            )
        return "\n".join(lines)


SearchFn = Callable[[str, int, str], list[str]]


def rank_documents(
    search: SearchFn, query: str, mode: str, *, depth: int = CHUNK_DEPTH, need: int = 100
) -> list[str]:
    """Rank BEIR documents for one query by their best chunk.

    Args:
        search: `(query, k, mode) -> article ids of the hits, best first`.
        query: the query text.
        mode: the retrieval mode.
        depth: chunks to ask for first.
        need: documents wanted; when `depth` chunks hold fewer distinct documents and the
            index had more to give, the search is repeated deeper (long documents, many chunks).

    Returns:
        BEIR document ids, best first, each once.
    """
    while True:
        article_ids = search(query, depth, mode)
        documents = documents_from_chunks(article_ids)
        if len(documents) >= need or len(article_ids) < depth:
            return [beir_doc_id(a) for a in documents]
        depth *= 4


def evaluate_beir(
    folder: str | os.PathLike[str],
    *,
    split: str = "test",
    modes: Sequence[str] = BEIR_MODES,
    index: str | os.PathLike[str] | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    embedder: Embedder | None = None,
) -> BeirReport:
    """Build (or reuse) an index of a BEIR folder and score each mode at the document level.

    Args:
        folder: the BEIR dataset folder.
        split: which `qrels/<split>.tsv` to score against.
        modes: any of "hybrid", "dense", "bm25".
        index: where to keep the index; default `~/.cache/qa/eval/<name>/index`. Its corpus
            folder is `<index>.corpus` beside it. A folder holding anything but this
            evaluation's own index (or a corpus folder holding other files) is refused.
        progress: `callable(stage, done, total)`; stages are the build's ("read", "embed",
            "write") and then one per mode ("search:<mode>").
        embedder: passed to `build_index` and `Retriever.open` (tests use a fake one).

    Returns:
        One `ModeScores` per mode, in the order asked.

    Raises:
        QAError: a bad folder, an unknown mode, a refused `index`, or what the build raises.
    """
    # The retrieval core imports numpy/faiss; keep `import qa.evaluation` cheap for the CLI.
    from qa import Retriever, build_index

    unknown = [m for m in modes if m not in BEIR_MODES]
    if unknown:
        raise QAError(f"Unknown mode {unknown[0]!r}: choose from {', '.join(BEIR_MODES)}.")
    dataset = load_beir(folder, split)
    default = default_eval_index(dataset.name)
    index_dir = Path(index).expanduser() if index else default
    corpus_dir = corpus_beside(index_dir)
    if index:  # the user's folder: refused unless it is this evaluation's own
        check_eval_index(index_dir, corpus_dir, default)
        check_eval_corpus_dir(corpus_dir, index_dir, default)
    prepare_eval_corpus(dataset.corpus_path, corpus_dir)

    started = time.perf_counter()
    report = build_index(
        corpus=str(corpus_dir), index=str(index_dir), full=False, progress=progress,
        embedder=embedder,
    )
    build_seconds = time.perf_counter() - started

    retriever = Retriever.open(str(index_dir), embedder=embedder)

    def search(query: str, k: int, mode: str) -> list[str]:
        return [hit.article_id for hit in retriever.search(query, k=k, mode=mode)]

    results = []
    for mode in modes:
        results.append(_score_mode(dataset, search, mode, progress))
    return BeirReport(
        dataset=dataset.name,
        split=split,
        documents=dataset.documents,
        queries=len(dataset.queries),
        chunks=retriever.stats.chunks,
        index=str(index_dir),
        build_seconds=build_seconds,
        embedded_chunks=report.embedded_chunks,
        modes=tuple(results),
    )


def _score_mode(
    dataset: BeirDataset,
    search: SearchFn,
    mode: str,
    progress: Callable[[str, int, int], None] | None,
) -> ModeScores:
    ndcg, recall, mrr = [], [], []
    started = time.perf_counter()
    total = len(dataset.queries)
    for done, (query_id, text) in enumerate(dataset.queries.items(), start=1):
        try:
            ranked = rank_documents(search, text, mode)
        except QueryError:
            ranked = []  # an all-stop-word query retrieves nothing; it still counts, as 0
        judged = dataset.qrels[query_id]
        ndcg.append(ndcg_at_k(ranked, judged, 10))
        recall.append(recall_at_k(ranked, judged, 100))
        mrr.append(mrr_at_k(ranked, judged, 10))
        if progress is not None:
            progress(f"search:{mode}", done, total)
    return ModeScores(
        mode=mode,
        ndcg_at_10=mean(ndcg),
        recall_at_100=mean(recall),
        mrr_at_10=mean(mrr),
        queries=total,
        seconds=time.perf_counter() - started,
    )
