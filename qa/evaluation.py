"""Quality figures: BEIR retrieval metrics, and answers of qa beside a naive baseline.

Two evaluations, both headless (no `textual`, nothing heavy at import time):

- `evaluate_beir` builds (or reuses) an index of a BEIR folder and scores each retrieval mode
  with nDCG@10, Recall@100 and MRR@10 at the *document* level, so the figures compare with
  published BEIR numbers: a document's rank is the rank of its best chunk.
- `evaluate_qa` asks a question set (a `.jsonl` of questions, or SQuAD 2.0's JSON) of the
  assistant and of the naive baseline in `qa.baseline`, in the same run over the same index,
  and reports for each: answer inside the cited text, false and correct abstention per kind of
  question, cited sentences and characters per answer, latency; the answer-in-top-5-passages
  ceiling; and qa's abstention curve over confidence thresholds.

Each evaluation keeps its index in a folder of its own (a cache by default); an `--index`
folder that holds anything else is refused, never rebuilt (`check_eval_index`).

The metric functions follow `pytrec_eval` (what BEIR reports): nDCG uses gain = graded
relevance and discount log2(rank + 1); the ideal ranking is the judged documents sorted by
relevance; documents judged 0 count as not relevant for recall and MRR.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import os
import re
import shutil
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from qa.errors import QAError

#: The retrieval modes `qa eval --beir` scores, in table order.
BEIR_MODES: tuple[str, ...] = ("hybrid", "dense", "bm25")

#: How many chunks to ask for per query before collapsing them to documents. Recall@100
#: needs at least 100 distinct documents; SciFact averages under two chunks per document,
#: so 1000 chunks leaves a wide margin. `rank_documents` widens the search when it is not.
CHUNK_DEPTH = 1000

#: The name of the single file the BEIR corpus is exposed as inside the eval corpus folder.
#: Its stem becomes the article-id prefix (`corpus/<_id>`), which `beir_doc_id` strips.
CORPUS_FILE = "corpus.jsonl"

Qrels = dict[str, dict[str, int]]


# --------------------------------------------------------------------------------------------
# Metrics (one query at a time; `mean` over queries is left to the caller)
# --------------------------------------------------------------------------------------------


def ndcg_at_k(ranked: Sequence[str], judged: dict[str, int], k: int = 10) -> float:
    """Normalised discounted cumulative gain of one ranking, as `pytrec_eval`'s `ndcg_cut`.

    Args:
        ranked: document ids, best first (duplicates are the caller's bug: they count twice).
        judged: document id -> graded relevance for this query (0 = judged not relevant).
        k: cut-off.

    Returns:
        DCG@k / IDCG@k with gain = relevance and discount log2(rank + 1), rank from 1;
        0.0 when the query has no relevant document.
    """
    dcg = sum(
        judged.get(doc, 0) / math.log2(rank + 1) for rank, doc in enumerate(ranked[:k], start=1)
    )
    ideal = sorted((rel for rel in judged.values() if rel > 0), reverse=True)[:k]
    idcg = sum(rel / math.log2(rank + 1) for rank, rel in enumerate(ideal, start=1))
    return dcg / idcg if idcg > 0 else 0.0


def recall_at_k(ranked: Sequence[str], judged: dict[str, int], k: int = 100) -> float:
    """Share of the relevant documents (relevance > 0) found in the top k.

    Returns 0.0 when the query has no relevant document.
    """
    relevant = {doc for doc, rel in judged.items() if rel > 0}
    if not relevant:
        return 0.0
    return len(relevant.intersection(ranked[:k])) / len(relevant)


def mrr_at_k(ranked: Sequence[str], judged: dict[str, int], k: int = 10) -> float:
    """Reciprocal rank of the first relevant document in the top k, else 0.0."""
    for rank, doc in enumerate(ranked[:k], start=1):
        if judged.get(doc, 0) > 0:
            return 1.0 / rank
    return 0.0


def mean(values: Iterable[float]) -> float:
    """Arithmetic mean; 0.0 for no values (an empty split scores nothing, not NaN)."""
    values = list(values)
    return sum(values) / len(values) if values else 0.0


def documents_from_chunks(article_ids: Iterable[str]) -> list[str]:
    """Collapse a chunk ranking to a document ranking: each document at its best chunk's rank.

    Args:
        article_ids: the article id of each hit, best first.

    Returns:
        article ids in first-seen order, each once.
    """
    # dict keeps insertion order, so the first (best) chunk of each article fixes its place.
    return list(dict.fromkeys(article_ids))


# --------------------------------------------------------------------------------------------
# BEIR folders
# --------------------------------------------------------------------------------------------


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
    for number, record in _read_jsonl(queries_path):
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


def _read_jsonl(path: Path) -> Iterable[tuple[int, dict[str, Any]]]:
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise QAError(f"{path}:{number}: not JSON ({err.msg}). Fix the line.") from err
            if not isinstance(record, dict):
                raise QAError(f"{path}:{number}: expected a JSON object. Fix the line.")
            yield number, record


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


def default_eval_index(dataset: BeirDataset) -> Path:
    """Where `qa eval --beir` keeps the index of a dataset: `<cache>/<name>/index`, the cache
    being `eval_cache_root()` (`~/.cache/qa/eval` by default)."""
    return eval_cache_root() / dataset.name / "index"


def prepare_eval_corpus(dataset: BeirDataset, corpus_dir: Path) -> Path:
    """Expose the BEIR corpus file, alone, as a corpus folder `build_index` can read.

    The BEIR folder itself cannot be the corpus: `queries.jsonl` would be indexed as articles.
    The ingester never follows symbolic links, so the file is hard-linked where the file
    system allows (free, and it follows the dataset) and copied otherwise. An unchanged file
    is left alone, so a rebuild stays incremental.

    Returns:
        The corpus folder.
    """
    corpus_dir.mkdir(parents=True, exist_ok=True)
    target = corpus_dir / CORPUS_FILE
    source = dataset.corpus_path.resolve()
    if target.exists() and not target.is_symlink():
        if os.path.samefile(target, source) or _same_file_content(target, source):
            return corpus_dir
    if target.exists() or target.is_symlink():
        target.unlink()
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)
    return corpus_dir


def _same_file_content(a: Path, b: Path) -> bool:
    return a.stat().st_size == b.stat().st_size and a.read_bytes() == b.read_bytes()


# --------------------------------------------------------------------------------------------
# BEIR evaluation
# --------------------------------------------------------------------------------------------


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

    def as_json(self) -> dict[str, Any]:
        """`{"<mode>": {"ndcg@10": .., "recall@100": .., "mrr@10": ..}, ..., "dataset": {..}}`."""
        out: dict[str, Any] = {scores.mode: scores.as_json() for scores in self.modes}
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
    embedder: Any = None,
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
    default = default_eval_index(dataset)
    index_dir = Path(index).expanduser() if index else default
    corpus_dir = _corpus_beside(index_dir)
    if index:  # the user's folder: refused unless it is this evaluation's own
        check_eval_index(index_dir, corpus_dir, default)
        check_eval_corpus_dir(corpus_dir, index_dir, default)
    prepare_eval_corpus(dataset, corpus_dir)

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
    from qa.errors import QueryError

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


# --------------------------------------------------------------------------------------------
# Question sets: a JSONL of questions, or SQuAD 2.0's own JSON
# --------------------------------------------------------------------------------------------

#: What a question is, for scoring: the corpus answers it; it is on the corpus's topic but no
#: article answers it; or it is about something else altogether.
QA_KINDS: tuple[str, ...] = ("answerable", "unanswerable", "off_topic")

#: `--split` values: tune on dev, report test (issue 11); "all" is every question.
QA_SPLITS: tuple[str, ...] = ("dev", "test", "all")

#: The committed split of the SQuAD 2.0 subset by Wikipedia article (data, not code).
SQUAD_SPLIT_FILE = Path(__file__).resolve().parent.parent / "bench" / "sets" / "squad2-split.json"

#: The file the SQuAD paragraphs are written to inside the eval corpus folder; its stem is the
#: article-id prefix (`squad/Normans#1`).
SQUAD_CORPUS_FILE = "squad.jsonl"

#: Passages checked for "answer in the top-k retrieved passages", the ceiling of both systems.
CEILING_K = 5

#: An answer at this confidence or above is "sure" (`qa.answer.compose.certainty`).
SURE = 0.8
#: Confidence thresholds of the abstention curve: 0.00, 0.05, ..., 1.00.
CURVE_THRESHOLDS: tuple[float, ...] = tuple(round(0.05 * i, 2) for i in range(21))


@dataclass(frozen=True)
class QAExample:
    """One question of a set: the strings a right answer contains, and what kind it is."""

    question: str
    answers: tuple[str, ...]
    kind: str  # one of QA_KINDS
    id: str = ""
    history: tuple[str, ...] = ()  # earlier questions of the conversation, oldest first
    article: str | None = None  # the article it was written from, when the set says
    split: str | None = None  # "dev", "test", or None when the set does not say

    @property
    def answerable(self) -> bool:
        """The corpus answers it."""
        return self.kind == "answerable"


@dataclass(frozen=True)
class QuestionSet:
    """A question set read from disk, restricted to one split.

    `articles` is the set's own corpus (SQuAD: one record per paragraph, `.jsonl` corpus
    lines); None when the questions are about a corpus folder given separately.
    """

    path: Path
    format: str  # "jsonl" or "squad"
    split: str
    examples: tuple[QAExample, ...]
    articles: tuple[dict[str, str], ...] | None = None


def load_question_set(
    path: str | os.PathLike[str], split: str = "all", *,
    split_file: str | os.PathLike[str] | None = None,
) -> QuestionSet:
    """Read a question set: a `.jsonl` of questions, or SQuAD 2.0's JSON (told by content).

    Args:
        path: the file.
        split: "dev", "test" or "all".
        split_file: SQuAD only: the JSON naming each split's article titles (default
            `bench/sets/squad2-split.json`).

    Returns:
        The questions of `split`, in file order.

    Raises:
        QAError: the file is missing or malformed, the split is unknown, or it is empty.
    """
    file = Path(path).expanduser()
    if split not in QA_SPLITS:
        raise QAError(f"Unknown split {split!r}: choose from {', '.join(QA_SPLITS)}.")
    if not file.is_file():
        raise QAError(f"{file} is missing: pass a question set with `qa eval --qa FILE` "
                      "(a .jsonl of questions, or SQuAD 2.0's JSON).")
    text = file.read_text(encoding="utf-8")
    squad = _squad_document(text)
    if squad is not None:
        return _load_squad(file, squad, split, Path(split_file) if split_file else SQUAD_SPLIT_FILE)
    examples = [e for e in _jsonl_examples(file) if split == "all" or e.split == split]
    if not examples:
        raise QAError(f"{file} has no question in split {split!r}: each line names its split "
                      "(\"split\": \"dev\" or \"test\"). Use --split all, or add the field.")
    return QuestionSet(path=file, format="jsonl", split=split, examples=tuple(examples))


def load_qa_examples(path: str | os.PathLike[str], split: str = "all") -> list[QAExample]:
    """The questions of a set (see `load_question_set`), every split by default."""
    return list(load_question_set(path, split).examples)


def _squad_document(text: str) -> dict[str, Any] | None:
    # SQuAD is one JSON object with "data"; a one-line JSONL set parses as an object too,
    # but holds "question" instead.
    if not text.lstrip().startswith("{"):
        return None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError:
        return None
    return doc if isinstance(doc, dict) and isinstance(doc.get("data"), list) else None


def _jsonl_examples(file: Path) -> Iterable[QAExample]:
    for number, record in _read_jsonl(file):
        where = f"{file}:{number}"
        question = str(record.get("question", "")).strip()
        if not question:
            raise QAError(f"{where}: a line without `question`. Fix the line.")
        answers = record.get("answers") or []
        if isinstance(answers, str):
            answers = [answers]
        answers = tuple(str(a) for a in answers if str(a).strip())
        kind = record.get("kind")
        if kind is None:  # the older field, then "has an expected answer"
            kind = "answerable" if record.get("answerable", bool(answers)) else "unanswerable"
        if kind not in QA_KINDS:
            raise QAError(f"{where}: kind {kind!r} is not one of {', '.join(QA_KINDS)}.")
        split = record.get("split")
        if split is not None and split not in ("dev", "test"):
            raise QAError(f"{where}: split {split!r} is not \"dev\" or \"test\".")
        history = record.get("history") or []
        if isinstance(history, str) or not all(isinstance(h, str) for h in history):
            raise QAError(f"{where}: `history` must be a list of earlier questions.")
        yield QAExample(
            question=question, answers=answers, kind=kind,
            id=str(record.get("id") or f"{file.stem}:{number}"), history=tuple(history),
            article=_str_or_none(record.get("article")), split=split,
        )


def _str_or_none(value: object) -> str | None:
    return str(value) if value not in (None, "") else None


def _load_squad(file: Path, doc: dict[str, Any], split: str, split_file: Path) -> QuestionSet:
    """SQuAD 2.0: each paragraph is an article (`<title>#<paragraph number>`, from 1); a
    question with `is_impossible` is "unanswerable", the others "answerable" with their
    answers' texts. The split comes from `split_file`, by article title."""
    split_of: dict[str, str] = {}
    try:
        named = json.loads(split_file.read_text(encoding="utf-8"))
        split_of = {title: name for name in ("dev", "test") for title in named[name]}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        if split != "all":  # every question can still be asked, without their splits
            raise QAError(f"The SQuAD split file {split_file} cannot be read ({exc}): it names "
                          "the article titles of \"dev\" and \"test\". Use --split all."
                          ) from exc
    articles: list[dict[str, str]] = []
    examples: list[QAExample] = []
    try:
        for entry in doc["data"]:
            title = str(entry["title"])
            for number, paragraph in enumerate(entry["paragraphs"], start=1):
                article_id = f"{title}#{number}"
                articles.append({"id": article_id, "title": title.replace("_", " "),
                                 "text": str(paragraph["context"])})
                for qa in paragraph["qas"]:
                    impossible = bool(qa.get("is_impossible", False))
                    answers = () if impossible else tuple(dict.fromkeys(
                        str(a["text"]) for a in qa.get("answers", []) if str(a["text"]).strip()))
                    examples.append(QAExample(
                        question=str(qa["question"]).strip(), answers=answers,
                        kind="unanswerable" if impossible or not answers else "answerable",
                        id=str(qa.get("id", "")), article=article_id,
                        split=split_of.get(title),
                    ))
    except (KeyError, TypeError) as exc:
        raise QAError(f"{file} is not SQuAD 2.0 JSON (data[].title, paragraphs[].context, "
                      f"qas[]): missing {exc}.") from exc
    chosen = [e for e in examples if split == "all" or e.split == split]
    if not chosen:
        raise QAError(f"No article of {file} is in split {split!r} of {split_file}. "
                      "Use --split all, or name the file's titles there.")
    return QuestionSet(path=file, format="squad", split=split, examples=tuple(chosen),
                       articles=tuple(articles))


def write_squad_corpus(articles: Sequence[dict[str, str]], corpus_dir: Path) -> Path:
    """Write a set's own articles as one `.jsonl` corpus file in `corpus_dir`.

    An unchanged file is left alone (same bytes), so the index build stays incremental; a
    changed one is replaced atomically.

    Returns:
        The corpus folder.
    """
    corpus_dir.mkdir(parents=True, exist_ok=True)
    target = corpus_dir / SQUAD_CORPUS_FILE
    data = "".join(json.dumps(a, ensure_ascii=False) + "\n" for a in articles).encode("utf-8")
    if target.is_file() and not target.is_symlink() and target.read_bytes() == data:
        return corpus_dir
    tmp = corpus_dir / f".{SQUAD_CORPUS_FILE}.tmp"
    tmp.write_bytes(data)
    os.replace(tmp, target)
    return corpus_dir


# --------------------------------------------------------------------------------------------
# Where an evaluation keeps its index: its own folder, never the user's index
# --------------------------------------------------------------------------------------------


def eval_cache_root() -> Path:
    """`$QA_EVAL_CACHE`, else `$XDG_CACHE_HOME/qa/eval`, else `~/.cache/qa/eval`."""
    explicit = os.environ.get("QA_EVAL_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache).expanduser() / "qa" / "eval"


def default_qa_index(source: Path) -> Path:
    """Where `qa eval --qa` keeps the index of a corpus folder or a SQuAD file:
    `<cache>/<folder name or file stem>-<8 hex of its absolute path>/index`, so two `corpus/`
    folders get two indexes."""
    absolute = source.expanduser().resolve()
    digest = hashlib.sha256(str(absolute).encode("utf-8")).hexdigest()[:8]
    name = absolute.stem if absolute.is_file() else absolute.name
    return eval_cache_root() / f"{name}-{digest}" / "index"


def check_eval_index(index_dir: Path, corpus_dir: Path, default: Path) -> None:
    """Refuse an `--index` folder that is not this evaluation's own.

    An evaluation builds its index from its own corpus folder, so reusing a folder that holds
    anything else would rebuild (and lose) it. Accepted: a folder that does not exist, an empty
    one, or one holding an index whose manifest names `corpus_dir` as its corpus.

    Raises:
        QAError: naming the folder, what it holds, and `default`, the cache location to use.
    """
    if not index_dir.exists() and not index_dir.is_symlink():
        return
    if not index_dir.is_dir() or index_dir.is_symlink():
        why = "it is not a folder"
    else:
        entries = sorted(p.name for p in index_dir.iterdir())
        if not entries:
            return
        built_from = _manifest_corpus(index_dir)
        if built_from == str(corpus_dir.resolve()):
            return
        why = (f"it holds an index built from {built_from}/" if built_from
               else f"it holds other files ({', '.join(entries[:3])}"
                    f"{', ...' if len(entries) > 3 else ''})")
    raise QAError(
        f"--index {index_dir} is not an index of this evaluation's corpus {corpus_dir}/: {why}. "
        "`qa eval` keeps its index in a folder of its own and would rebuild this one, so it "
        f"leaves it alone. Leave out --index to use {default}, or pass a new or empty folder."
    )


def check_eval_corpus_dir(corpus_dir: Path, index_dir: Path, default: Path) -> None:
    """Refuse to write an evaluation's corpus into a folder that is not its own: one that
    exists with files in it, unless the index beside it was built from it.

    Raises:
        QAError: naming the folder and `default`, the cache location to use.
    """
    if not corpus_dir.exists() and not corpus_dir.is_symlink():
        return
    if corpus_dir.is_dir() and not corpus_dir.is_symlink():
        if not any(corpus_dir.iterdir()):
            return
        if _manifest_corpus(index_dir) == str(corpus_dir.resolve()):
            return
    raise QAError(
        f"{corpus_dir} is where `qa eval` would write the corpus of --index {index_dir}, but it "
        f"already holds files that are not its own. Leave out --index to use {default}, or "
        "pass a new or empty folder."
    )


def _manifest_corpus(index_dir: Path) -> str | None:
    """The corpus an index says it was built from; None when it holds no readable manifest."""
    from .index import recorded_corpus

    return recorded_corpus(index_dir)


# --------------------------------------------------------------------------------------------
# Scoring answers: qa and the baseline, side by side
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SystemOutcome:
    """What one system did with one question."""

    abstained: bool
    in_citations: bool  # not abstained, and an expected answer is inside the cited text
    cited: tuple[str, ...]  # the cited sentences, verbatim
    ms: float  # wall time of the answer
    confidence: float | None = None  # `Answer.confidence`, when the answer carries one
    phrase: str | None = None  # `Answer.answer.text`: the phrase marked as the answer
    phrase_holds_answer: bool = False  # that phrase contains an expected answer


@dataclass(frozen=True)
class QAOutcome:
    """What happened to one question, for both systems."""

    id: str
    question: str
    kind: str
    split: str | None
    article: str | None
    in_top_k: bool  # an expected answer is in the top CEILING_K retrieved passages
    qa: SystemOutcome
    baseline: SystemOutcome


@dataclass(frozen=True)
class SystemFigures:
    """One system's figures over a set. Rates are None when no question of the kind exists."""

    system: str
    answer_in_citations: float | None  # answerable; an abstention is a miss
    false_abstention: float | None  # answerable questions abstained on
    correct_abstention_unanswerable: float | None
    correct_abstention_off_topic: float | None
    answered: int  # questions (any kind) not abstained on
    cited_sentences: float | None  # mean per answered question
    cited_characters: float | None  # mean per answered question
    p50_ms: float | None
    # Of the answered questions, the share answered at confidence >= SURE whose cited text
    # holds no expected answer (or that had none to give): sure and wrong.
    sure_and_wrong: float | None = None
    # Of the answers whose citations hold an expected answer, the share whose answer phrase
    # holds one too.
    phrase_holds_answer: float | None = None


@dataclass(frozen=True)
class CurvePoint:
    """qa's abstention at one confidence threshold: it abstains iff confidence < threshold
    (or it abstained without a confidence, for another reason)."""

    threshold: float
    false_abstention: float | None  # over answerable
    correct_abstention: float | None  # over unanswerable and off-topic together
    correct_abstention_unanswerable: float | None
    correct_abstention_off_topic: float | None


@dataclass(frozen=True)
class ReliabilityBin:
    """Answers given at a confidence in [low, high) and the share of them that was right
    (their citations hold an expected answer)."""

    low: float
    high: float
    answers: int
    right: float | None


@dataclass(frozen=True)
class QAReport:
    """What `evaluate_qa` measured."""

    set: str
    format: str  # "jsonl" or "squad"
    split: str
    corpus: str
    index: str
    articles: int
    build_seconds: float
    questions: int
    kinds: dict[str, int]  # questions per kind
    k: int
    answer_in_top_k: float | None  # answerable: the ceiling of both systems
    qa: SystemFigures
    baseline: SystemFigures
    curve: tuple[CurvePoint, ...] | None  # None when answers carry no confidence
    outcomes: tuple[QAOutcome, ...] = ()
    reliability: tuple[ReliabilityBin, ...] | None = None  # qa's answers, by confidence

    def as_json(self) -> dict[str, Any]:
        """Every figure, the curve and each question's outcome (rates to four places)."""
        return _rounded(asdict(self))

    def table(self) -> str:
        """qa and the baseline side by side, then the abstention curve."""
        kinds = self.kinds
        head = (f"{Path(self.set).name} ({self.format}), split {self.split}: {self.questions} "
                f"questions, {kinds['answerable']} answerable, {kinds['unanswerable']} "
                f"unanswerable, {kinds['off_topic']} off-topic")
        lines = [
            head,
            f"corpus {self.corpus} ({self.articles} articles), index {self.index} "
            f"(build {self.build_seconds:.1f} s)",
            "",
            f"{'':<52}{'qa':>9}{'baseline':>10}",
        ]
        rows: list[tuple[str, str, str]] = [
            (f"answer inside cited text ({kinds['answerable']} answerable)",
             _rate(self.qa.answer_in_citations), _rate(self.baseline.answer_in_citations)),
            (f"false abstention ({kinds['answerable']} answerable)",
             _rate(self.qa.false_abstention), _rate(self.baseline.false_abstention)),
            (f"correct abstention ({kinds['unanswerable']} unanswerable)",
             _rate(self.qa.correct_abstention_unanswerable),
             _rate(self.baseline.correct_abstention_unanswerable)),
            (f"correct abstention ({kinds['off_topic']} off-topic)",
             _rate(self.qa.correct_abstention_off_topic),
             _rate(self.baseline.correct_abstention_off_topic)),
            ("answered questions", str(self.qa.answered), str(self.baseline.answered)),
            ("cited sentences per answered question",
             _num(self.qa.cited_sentences, 2), _num(self.baseline.cited_sentences, 2)),
            ("cited characters per answered question",
             _num(self.qa.cited_characters, 0), _num(self.baseline.cited_characters, 0)),
            ("p50 latency per question (ms)", _num(self.qa.p50_ms, 1),
             _num(self.baseline.p50_ms, 1)),
            (f"answered at confidence >= {SURE} and wrong (of answered)",
             _rate(self.qa.sure_and_wrong), _rate(self.baseline.sure_and_wrong)),
            ("answer phrase holds the answer (of right answers)",
             _rate(self.qa.phrase_holds_answer), _rate(self.baseline.phrase_holds_answer)),
        ]
        lines += [f"{name:<52}{a:>9}{b:>10}" for name, a, b in rows]
        lines += ["", f"answer in the top-{self.k} retrieved passages (ceiling of both): "
                      f"{_rate(self.answer_in_top_k)} of {kinds['answerable']} answerable"]
        if self.reliability:
            lines += ["", "reliability of qa's confidence (answers given):",
                      f"{'confidence':>12}  {'answers':>7}  {'right':>6}"]
            lines += [f"{b.low:>5.2f}-{b.high:<5.2f}  {b.answers:>7}  {_rate(b.right):>6}"
                      for b in self.reliability]
        lines.append("")
        if self.curve is None:
            lines.append("abstention curve: n/a (qa's answers carry no confidence)")
        else:
            lines += ["abstention curve (qa abstains iff confidence < threshold):",
                      f"{'threshold':>9}  {'false abst.':>11}  {'correct abst.':>13}  "
                      f"{'unanswerable':>12}  {'off-topic':>9}"]
            lines += [f"{p.threshold:>9.2f}  {_rate(p.false_abstention):>11}  "
                      f"{_rate(p.correct_abstention):>13}  "
                      f"{_rate(p.correct_abstention_unanswerable):>12}  "
                      f"{_rate(p.correct_abstention_off_topic):>9}" for p in self.curve]
        return "\n".join(lines)


def _rate(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _num(value: float | None, places: int) -> str:
    return "n/a" if value is None else f"{value:.{places}f}"


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_rounded(v) for v in value]
    return value


def contains_answer(text: str, answers: Iterable[str]) -> bool:
    """True when any expected answer occurs in `text`, ignoring case and whitespace runs."""
    haystack = _normalise(text)
    return any(_normalise(a) and _normalise(a) in haystack for a in answers)


def _normalise(text: str) -> str:
    # Case and spacing differences (line breaks inside a cited sentence, curly quotes) should
    # not decide whether an answer "is there".
    text = text.replace("\u2019", "'").replace("\u2018", "'")
    text = text.replace("\u201c", '"').replace("\u201d", '"')
    return re.sub(r"\s+", " ", text).strip().casefold()


def answer_confidence(answer: Any) -> float | None:
    """`answer.confidence` when it is a number (the field may not exist yet), else None."""
    value = getattr(answer, "confidence", None)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        return None
    return float(value)


def score_answer(answer: Any, example: QAExample, ms: float) -> SystemOutcome:
    """One system's outcome for one question; `answer` None means it could not be asked
    (`QueryError`: nothing searchable), which counts as an abstention."""
    if answer is None:
        return SystemOutcome(abstained=True, in_citations=False, cited=(), ms=ms)
    cited = tuple(c.text for c in answer.citations)
    abstained = bool(answer.abstained)
    phrase = getattr(getattr(answer, "answer", None), "text", None)
    return SystemOutcome(
        abstained=abstained,
        in_citations=(not abstained) and contains_answer("\n".join(cited), example.answers),
        cited=cited, ms=ms, confidence=answer_confidence(answer),
        phrase=phrase if not abstained else None,
        phrase_holds_answer=bool(phrase) and not abstained
        and contains_answer(phrase, example.answers),
    )


def _ask(system: Any, example: QAExample) -> SystemOutcome:
    from qa.errors import QueryError

    started = time.perf_counter()
    try:
        answer = system.ask(example.question, history=list(example.history))
    except QueryError:
        answer = None
    return score_answer(answer, example, round((time.perf_counter() - started) * 1000, 1))


def system_figures(system: str, outcomes: Sequence[QAOutcome]) -> SystemFigures:
    """The figures of one system ("qa" or "baseline") over per-question outcomes."""
    mine = [(o.kind, getattr(o, system)) for o in outcomes]
    by_kind = {kind: [s for k, s in mine if k == kind] for kind in QA_KINDS}
    answered = [s for _, s in mine if not s.abstained]

    def rate(flags: list[bool]) -> float | None:
        return sum(flags) / len(flags) if flags else None

    sure = [s for _, s in mine if not s.abstained and s.confidence is not None
            and s.confidence >= SURE]
    right_cited = [s for s in by_kind["answerable"] if s.in_citations]
    return SystemFigures(
        system=system,
        sure_and_wrong=(sum(not s.in_citations for s in sure) / len(answered)
                        if answered and any(s.confidence is not None for _, s in mine) else None),
        phrase_holds_answer=(rate([s.phrase_holds_answer for s in right_cited])
                             if any(s.phrase is not None for s in right_cited) else None),
        answer_in_citations=rate([s.in_citations for s in by_kind["answerable"]]),
        false_abstention=rate([s.abstained for s in by_kind["answerable"]]),
        correct_abstention_unanswerable=rate([s.abstained for s in by_kind["unanswerable"]]),
        correct_abstention_off_topic=rate([s.abstained for s in by_kind["off_topic"]]),
        answered=len(answered),
        cited_sentences=mean(len(s.cited) for s in answered) if answered else None,
        cited_characters=(mean(sum(len(c) for c in s.cited) for s in answered)
                          if answered else None),
        p50_ms=statistics.median(s.ms for _, s in mine) if mine else None,
    )


def abstention_curve(
    outcomes: Sequence[QAOutcome], thresholds: Sequence[float] = CURVE_THRESHOLDS
) -> tuple[CurvePoint, ...] | None:
    """qa's false and correct abstention if it abstained iff confidence < threshold.

    An answer that abstained without a confidence abstained for another reason (nothing
    retrieved, say) and abstains at every threshold; an answer with a confidence is taken to
    have abstained, or not, for its confidence alone.

    Returns:
        One point per threshold; None when no answer carries a confidence.
    """
    if all(o.qa.confidence is None for o in outcomes):
        return None

    def abstains(s: SystemOutcome, t: float) -> bool:
        return s.abstained if s.confidence is None else s.confidence < t

    def rate(kinds: tuple[str, ...], t: float) -> float | None:
        flags = [abstains(o.qa, t) for o in outcomes if o.kind in kinds]
        return sum(flags) / len(flags) if flags else None

    return tuple(
        CurvePoint(
            threshold=t,
            false_abstention=rate(("answerable",), t),
            correct_abstention=rate(("unanswerable", "off_topic"), t),
            correct_abstention_unanswerable=rate(("unanswerable",), t),
            correct_abstention_off_topic=rate(("off_topic",), t),
        )
        for t in thresholds
    )


def reliability(outcomes: Sequence[QAOutcome],
                bins: Sequence[float] = (0.0, 0.2, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0001)
                ) -> tuple[ReliabilityBin, ...] | None:
    """qa's answers (not abstentions) grouped by confidence, with the share right in each:
    whether a confidence means what it says. None when answers carry no confidence."""
    given = [o.qa for o in outcomes if not o.qa.abstained and o.qa.confidence is not None]
    if not given:
        return None
    out = []
    for low, high in zip(bins, bins[1:]):
        inside = [s for s in given if low <= s.confidence < high]  # type: ignore[operator]
        out.append(ReliabilityBin(round(low, 2), round(min(high, 1.0), 2), len(inside),
                                  sum(s.in_citations for s in inside) / len(inside)
                                  if inside else None))
    return tuple(out)


def summarise_qa(
    qset: QuestionSet, outcomes: Sequence[QAOutcome], *, corpus: str = "", index: str = "",
    articles: int = 0, build_seconds: float = 0.0, k: int = CEILING_K,
) -> QAReport:
    """Turn per-question outcomes into the report: both systems' figures and the curve."""
    answerable = [o for o in outcomes if o.kind == "answerable"]
    return QAReport(
        set=str(qset.path), format=qset.format, split=qset.split, corpus=corpus, index=index,
        articles=articles, build_seconds=build_seconds, questions=len(outcomes),
        kinds={kind: sum(o.kind == kind for o in outcomes) for kind in QA_KINDS},
        k=k,
        answer_in_top_k=(sum(o.in_top_k for o in answerable) / len(answerable)
                         if answerable else None),
        qa=system_figures("qa", outcomes),
        baseline=system_figures("baseline", outcomes),
        curve=abstention_curve(outcomes),
        outcomes=tuple(outcomes),
        reliability=reliability(outcomes),
    )


def evaluate_qa(
    path: str | os.PathLike[str],
    *,
    corpus: str | os.PathLike[str] | None = None,
    split: str = "all",
    index: str | os.PathLike[str] | None = None,
    limit: int | None = None,
    k: int = CEILING_K,
    split_file: str | os.PathLike[str] | None = None,
    retriever: Any = None,
    assistant: Any = None,
    baseline: Any = None,
    progress: Callable[[str, int, int], None] | None = None,
    embedder: Any = None,
) -> QAReport:
    """Ask a question set of qa and of the naive baseline (`qa.baseline`), and score both.

    The index is built (or reused) in the evaluation's own folder: for SQuAD, of its
    paragraphs, written as a `.jsonl` corpus beside the index; for a `.jsonl` set, of
    `corpus`. Each question is asked with its `history`.

    Args:
        path: a `.jsonl` question set or SQuAD 2.0 JSON.
        corpus: the articles a `.jsonl` set is about (default `corpus/`, or $QA_CORPUS);
            not allowed with SQuAD, which brings its own.
        split: "dev", "test" or "all".
        index: where to keep the index (default: `default_qa_index` in the cache). A folder
            holding anything but an index of this corpus is refused (`check_eval_index`).
        limit: ask only the first `limit` questions of the split.
        k: passages checked for "answer in the top-k retrieved passages".
        split_file: SQuAD's split by article (default `bench/sets/squad2-split.json`).
        retriever, assistant, baseline: already-open objects (tests); when `retriever` is
            given, nothing is built.
        progress: `callable(stage, done, total)`: the build's stages, then ("ask", done, total).
        embedder: passed to `build_index` and `Retriever.open` (tests use a fake one).

    Returns:
        Both systems' figures, the abstention curve and each question's outcome.

    Raises:
        QAError: a bad set or split, a refused --index, or what the build raises.
    """
    qset = load_question_set(path, split, split_file=split_file)
    examples = qset.examples[:limit] if limit is not None else qset.examples
    corpus_name = index_name = ""
    build_seconds = 0.0
    if retriever is None:
        from qa import Retriever, build_index

        corpus_dir, index_dir = _eval_folders(qset, corpus, index)
        if qset.articles is not None:
            write_squad_corpus(qset.articles, corpus_dir)
        started = time.perf_counter()
        build_index(corpus=str(corpus_dir), index=str(index_dir), full=False,
                    progress=progress, embedder=embedder)
        build_seconds = time.perf_counter() - started
        retriever = Retriever.open(str(index_dir), embedder=embedder)
        corpus_name, index_name = str(corpus_dir), str(index_dir)
    if assistant is None:
        from qa.answer import Assistant

        assistant = Assistant(retriever)
    if baseline is None:
        from qa.answer.baseline import BaselineAssistant

        baseline = BaselineAssistant(retriever)
    if hasattr(retriever, "warm_up"):
        retriever.warm_up()  # the model loads before the first question's clock starts

    from qa.errors import QueryError

    outcomes = []
    for done, example in enumerate(examples, start=1):
        try:
            hits = retriever.search(example.question, k=k)
        except QueryError:
            hits = []
        outcomes.append(QAOutcome(
            id=example.id, question=example.question, kind=example.kind, split=example.split,
            article=example.article,
            in_top_k=contains_answer("\n".join(h.text for h in hits[:k]), example.answers),
            qa=_ask(assistant, example), baseline=_ask(baseline, example),
        ))
        if progress is not None:
            progress("ask", done, len(examples))
    articles = len(retriever.articles()) if hasattr(retriever, "articles") else 0
    return summarise_qa(qset, outcomes, corpus=corpus_name, index=index_name,
                        articles=articles, build_seconds=build_seconds, k=k)


def _eval_folders(
    qset: QuestionSet, corpus: str | os.PathLike[str] | None,
    index: str | os.PathLike[str] | None,
) -> tuple[Path, Path]:
    """The corpus folder and the index folder of an evaluation, checked (nothing written)."""
    from qa import config

    if qset.articles is not None:
        if corpus is not None:
            raise QAError(f"{qset.path} is SQuAD, which brings its own articles (one per "
                          "paragraph): leave out --corpus.")
        default = default_qa_index(qset.path)
        index_dir = Path(index).expanduser() if index else default
        corpus_dir = _corpus_beside(index_dir)
        if index:
            check_eval_index(index_dir, corpus_dir, default)
            check_eval_corpus_dir(corpus_dir, index_dir, default)
        return corpus_dir, index_dir
    corpus_dir = config.corpus_path(corpus).expanduser()
    default = default_qa_index(corpus_dir)
    index_dir = Path(index).expanduser() if index else default
    if index:
        check_eval_index(index_dir, corpus_dir, default)
    return corpus_dir, index_dir


def _corpus_beside(index_dir: Path) -> Path:
    """`<index>.corpus`, the folder an evaluation writes its own corpus to."""
    absolute = index_dir.resolve()
    return absolute.with_name(absolute.name + ".corpus")
