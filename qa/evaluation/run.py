"""Ask a question set of qa and of the naive baseline in the same run, and score both.

`evaluate_qa` builds (or reuses) the evaluation's index, asks each question of both systems
with its history, and scores each answer (`score_answer`): is an expected answer inside the
cited text, did it abstain, how sure was it.
"""

from __future__ import annotations

import math
import os
import re
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Protocol

from qa.errors import QueryError
from qa.evaluation.folders import eval_folders, write_squad_corpus
from qa.evaluation.qasets import QAExample, load_question_set
from qa.evaluation.report import CEILING_K, QAOutcome, QAReport, SystemOutcome, summarise_qa
from qa.types import Answer

if TYPE_CHECKING:
    from qa.embed.embedder import Embedder
    from qa.search.retriever import Retriever


class Asker(Protocol):
    """What the evaluation asks: qa's `Assistant` and the naive `BaselineAssistant` alike."""

    def ask(self, question: str, history: Sequence[str] = ...) -> Answer: ...


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


def answer_confidence(answer: Answer) -> float | None:
    """`answer.confidence` when it is a finite number, else None."""
    value = answer.confidence
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        return None
    return float(value)


def score_answer(answer: Answer | None, example: QAExample, ms: float) -> SystemOutcome:
    """One system's outcome for one question; `answer` None means it could not be asked
    (`QueryError`: nothing searchable), which counts as an abstention."""
    if answer is None:
        return SystemOutcome(abstained=True, in_citations=False, cited=(), ms=ms)
    cited = tuple(c.text for c in answer.citations)
    abstained = bool(answer.abstained)
    phrase = answer.answer.text if answer.answer is not None else None
    return SystemOutcome(
        abstained=abstained,
        in_citations=(not abstained) and contains_answer("\n".join(cited), example.answers),
        cited=cited, ms=ms, confidence=answer_confidence(answer),
        phrase=phrase if not abstained else None,
        phrase_holds_answer=bool(phrase) and not abstained
        and contains_answer(phrase, example.answers),
    )


def _ask(system: Asker, example: QAExample) -> SystemOutcome:
    started = time.perf_counter()
    try:
        answer = system.ask(example.question, history=list(example.history))
    except QueryError:
        answer = None
    return score_answer(answer, example, round((time.perf_counter() - started) * 1000, 1))


def evaluate_qa(
    path: str | os.PathLike[str],
    *,
    corpus: str | os.PathLike[str] | None = None,
    split: str = "all",
    index: str | os.PathLike[str] | None = None,
    limit: int | None = None,
    k: int = CEILING_K,
    split_file: str | os.PathLike[str] | None = None,
    retriever: Retriever | None = None,
    assistant: Asker | None = None,
    baseline: Asker | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    embedder: Embedder | None = None,
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
        split_file: SQuAD's split by article (`qa eval --split-file`): a JSON file naming
            the article titles of "dev" and "test"; needed for a split other than "all".
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

        corpus_dir, index_dir = eval_folders(qset, corpus, index)
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
    retriever.warm_up()  # the model loads before the first question's clock starts

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
    articles = len(retriever.articles())
    return summarise_qa(qset, outcomes, corpus=corpus_name, index=index_name,
                        articles=articles, build_seconds=build_seconds, k=k)
