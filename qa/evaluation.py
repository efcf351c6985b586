"""Quality figures: BEIR retrieval metrics and dev-set answer checks.

Two evaluations, both headless (no `textual`, nothing heavy at import time):

- `evaluate_beir` builds (or reuses) an index of a BEIR folder and scores each retrieval mode
  with nDCG@10, Recall@100 and MRR@10 at the *document* level, so the figures compare with
  published BEIR numbers: a document's rank is the rank of its best chunk.
- `evaluate_qa` runs questions with expected answer strings through the assistant and reports
  how often the answer is in the retrieved passages, how often it is inside the cited
  sentences, and how precise and complete abstention is.

The metric functions follow `pytrec_eval` (what BEIR reports): nDCG uses gain = graded
relevance and discount log2(rank + 1); the ideal ranking is the judged documents sorted by
relevance; documents judged 0 count as not relevant for recall and MRR.
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
import shutil
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
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
    """Where `qa eval --beir` keeps the index of a dataset: `~/.cache/qa/eval/<name>/index`."""
    base = os.environ.get("QA_EVAL_CACHE") or Path.home() / ".cache" / "qa" / "eval"
    return Path(base).expanduser() / dataset.name / "index"


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
            folder is `<index>.corpus` beside it.
        progress: `callable(stage, done, total)`; stages are the build's ("read", "embed",
            "write") and then one per mode ("search:<mode>").
        embedder: passed to `build_index` and `Retriever.open` (tests use a fake one).

    Returns:
        One `ModeScores` per mode, in the order asked.

    Raises:
        QAError: a bad folder, an unknown mode, or what the build raises.
    """
    # The retrieval core imports numpy/faiss; keep `import qa.evaluation` cheap for the CLI.
    from qa import Retriever, build_index

    unknown = [m for m in modes if m not in BEIR_MODES]
    if unknown:
        raise QAError(f"Unknown mode {unknown[0]!r}: choose from {', '.join(BEIR_MODES)}.")
    dataset = load_beir(folder, split)
    index_dir = Path(index).expanduser() if index else default_eval_index(dataset)
    corpus_dir = prepare_eval_corpus(dataset, index_dir.with_name(index_dir.name + ".corpus"))

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
# Dev-set QA evaluation
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QAExample:
    """One dev-set line: a question, the strings a right answer contains, and whether the
    corpus can answer it at all."""

    question: str
    answers: tuple[str, ...]
    answerable: bool


@dataclass(frozen=True)
class QAOutcome:
    """What happened to one dev-set question."""

    question: str
    answerable: bool
    abstained: bool
    in_passages: bool  # an expected answer is in the top-k retrieved passages
    in_citations: bool  # an expected answer is inside the cited sentences


@dataclass(frozen=True)
class QAReport:
    """Dev-set figures. Rates are over the answerable questions; abstention treats
    "abstained" as the positive class and "not answerable" as the truth."""

    file: str
    k: int
    questions: int
    answerable: int
    answer_in_top_k: float | None
    answer_in_citations: float | None
    abstention_precision: float | None  # None when the assistant never abstained
    abstention_recall: float | None  # None when every question is answerable
    outcomes: tuple[QAOutcome, ...] = ()

    def as_json(self) -> dict[str, Any]:
        """The figures and the per-question outcomes."""
        return {
            "file": self.file,
            "k": self.k,
            "questions": self.questions,
            "answerable": self.answerable,
            f"answer_in_top_{self.k}": _round(self.answer_in_top_k),
            "answer_in_citations": _round(self.answer_in_citations),
            "abstention_precision": _round(self.abstention_precision),
            "abstention_recall": _round(self.abstention_recall),
            "outcomes": [o.__dict__ for o in self.outcomes],
        }

    def table(self) -> str:
        """A plain-text table of the four figures."""

        def show(value: float | None) -> str:
            return "n/a" if value is None else f"{value:.3f}"

        unanswerable = self.questions - self.answerable
        rows = [
            (f"answer in top-{self.k} passages", show(self.answer_in_top_k),
             f"of {self.answerable} answerable"),
            ("answer inside cited sentences", show(self.answer_in_citations),
             f"of {self.answerable} answerable"),
            ("abstention precision", show(self.abstention_precision),
             f"of {sum(o.abstained for o in self.outcomes)} abstentions"),
            ("abstention recall", show(self.abstention_recall),
             f"of {unanswerable} unanswerable"),
        ]
        lines = [f"{self.file}: {self.questions} questions", ""]
        lines += [f"{name:<32} {value:>6}  {note}" for name, value, note in rows]
        return "\n".join(lines)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def load_qa_examples(path: str | os.PathLike[str]) -> list[QAExample]:
    """Read a dev set: JSONL lines `{"question": .., "answers": [..], "answerable": bool}`.

    `answerable` defaults to "has at least one expected answer".

    Raises:
        QAError: the file is missing, or a line has no question.
    """
    file = Path(path).expanduser()
    if not file.is_file():
        raise QAError(f"{file} is missing: pass a dev set with `qa eval --qa FILE.jsonl`.")
    examples = []
    for number, record in _read_jsonl(file):
        question = str(record.get("question", "")).strip()
        if not question:
            raise QAError(f"{file}:{number}: a line without `question`. Fix the line.")
        answers = record.get("answers") or []
        if isinstance(answers, str):
            answers = [answers]
        answers = tuple(str(a) for a in answers if str(a).strip())
        answerable = bool(record.get("answerable", bool(answers)))
        examples.append(QAExample(question, answers, answerable))
    return examples


def _normalise(text: str) -> str:
    # Case and spacing differences (line breaks inside a cited sentence, curly quotes) should
    # not decide whether an answer "is there".
    text = text.replace("\u2019", "'").replace("\u2018", "'")
    text = text.replace("\u201c", '"').replace("\u201d", '"')
    return re.sub(r"\s+", " ", text).strip().casefold()


def contains_answer(text: str, answers: Iterable[str]) -> bool:
    """True when any expected answer occurs in `text`, ignoring case and whitespace runs."""
    haystack = _normalise(text)
    return any(_normalise(a) and _normalise(a) in haystack for a in answers)


def evaluate_qa(
    path: str | os.PathLike[str],
    *,
    index: str | os.PathLike[str] = "index",
    k: int = 5,
    assistant: Any = None,
    retriever: Any = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> QAReport:
    """Run a dev set through the assistant and score answers and abstentions.

    Each question is asked on its own (no conversation history), so a follow-up in the file
    is scored as the stand-alone question it is written as.

    Args:
        path: the dev-set JSONL file.
        index: the index to open when `assistant`/`retriever` are not given.
        k: passages to check for "answer in top-k" (the assistant chooses its own depth).
        assistant: an object with `ask(question) -> Answer` (default: `qa.Assistant` on `index`).
        retriever: an object with `search(question, k=k) -> list[Hit]` (default: the
            assistant's retriever, or one opened on `index`).
        progress: `callable("ask", done, total)`.

    Returns:
        The figures and each question's outcome.
    """
    examples = load_qa_examples(path)
    if retriever is None:
        from qa import Retriever

        retriever = getattr(assistant, "retriever", None) or Retriever.open(str(index))
    if assistant is None:
        from qa.answer import Assistant

        assistant = _make_assistant(Assistant, retriever)

    from qa.errors import QueryError

    outcomes = []
    for done, example in enumerate(examples, start=1):
        try:
            hits = retriever.search(example.question, k=k)
        except QueryError:
            hits = []
        passages = "\n".join(hit.text for hit in hits[:k])
        answer = assistant.ask(example.question)
        cited = "\n".join(c.text for c in answer.citations)
        outcomes.append(
            QAOutcome(
                question=example.question,
                answerable=example.answerable,
                abstained=bool(answer.abstained),
                in_passages=contains_answer(passages, example.answers),
                in_citations=(not answer.abstained) and contains_answer(cited, example.answers),
            )
        )
        if progress is not None:
            progress("ask", done, len(examples))
    return summarise_qa(str(path), k, outcomes)


def _make_assistant(assistant_cls: Any, retriever: Any) -> Any:
    """Construct the assistant over an open retriever (its constructor takes the retriever)."""
    return assistant_cls(retriever)


def summarise_qa(file: str, k: int, outcomes: Sequence[QAOutcome]) -> QAReport:
    """Turn per-question outcomes into the four dev-set figures.

    Answer rates are over answerable questions with at least one expected string (an
    abstention on one counts as a miss). Abstention: positive = abstained, truth = not
    answerable; precision is None without abstentions, recall None without unanswerables.
    """
    answerable = [o for o in outcomes if o.answerable]
    abstained = [o for o in outcomes if o.abstained]
    unanswerable = [o for o in outcomes if not o.answerable]
    true_abstentions = sum(1 for o in abstained if not o.answerable)

    def rate(flags: list[bool]) -> float | None:
        return sum(flags) / len(flags) if flags else None

    return QAReport(
        file=file,
        k=k,
        questions=len(outcomes),
        answerable=len(answerable),
        answer_in_top_k=rate([o.in_passages for o in answerable]),
        answer_in_citations=rate([o.in_citations for o in answerable]),
        abstention_precision=true_abstentions / len(abstained) if abstained else None,
        abstention_recall=true_abstentions / len(unanswerable) if unanswerable else None,
        outcomes=tuple(outcomes),
    )
