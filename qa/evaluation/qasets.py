"""Question sets: a JSONL of questions, or SQuAD 2.0's own JSON, restricted to a split.

A `.jsonl` set has one question a line (`question`, `answers`, `kind`, `split`, `history`,
`article`, `id`) and is about a corpus folder given separately. A SQuAD 2.0 file brings its
own articles (one per paragraph); its questions are split into dev and test by article
title, as a split file names them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from qa.errors import QAError
from qa.types import JSONObject

#: What a question is, for scoring: the corpus answers it; it is on the corpus's topic but no
#: article answers it; or it is about something else altogether.
QA_KINDS: tuple[str, ...] = ("answerable", "unanswerable", "off_topic")

#: `--split` values: tune on dev, report test (issue 11); "all" is every question.
QA_SPLITS: tuple[str, ...] = ("dev", "test", "all")


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
        split_file: SQuAD only: the JSON naming each split's article titles
            (`{"dev": [titles], "test": [titles]}`); needed for a split other than "all".
            Without it, SQuAD questions carry no split.

    Returns:
        The questions of `split`, in file order.

    Raises:
        QAError: the file is missing or malformed, the split is unknown or empty, or a SQuAD
            split is asked for without a readable `split_file`.
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
        split_of = _squad_splits(file, split, Path(split_file) if split_file else None)
        return _load_squad(file, squad, split, split_of, split_file)
    examples = [e for e in _jsonl_examples(file) if split == "all" or e.split == split]
    if not examples:
        raise QAError(f"{file} has no question in split {split!r}: each line names its split "
                      "(\"split\": \"dev\" or \"test\"). Use --split all, or add the field.")
    return QuestionSet(path=file, format="jsonl", split=split, examples=tuple(examples))


def load_qa_examples(
    path: str | os.PathLike[str], split: str = "all", *,
    split_file: str | os.PathLike[str] | None = None,
) -> list[QAExample]:
    """The questions of a set (see `load_question_set`), every split by default."""
    return list(load_question_set(path, split, split_file=split_file).examples)


def _squad_document(text: str) -> JSONObject | None:
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
    for number, record in read_jsonl_records(file):
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


def _squad_splits(file: Path, split: str, split_file: Path | None) -> dict[str, str]:
    """Article title -> "dev" or "test", as `split_file` names them; {} when there is no
    (readable) split file and every question is asked anyway (split "all").

    The split is data the caller passes (`qa eval --split-file`): qa's own SQuAD subset is
    split in bench/sets/squad2-split.json, which the library never reads by itself.
    """
    if split_file is None:
        if split != "all":
            raise QAError(
                f"{file} is SQuAD 2.0, whose questions are split into dev and test by article: "
                "pass the file naming each split's article titles with --split-file FILE "
                "(JSON: {\"dev\": [titles], \"test\": [titles]}; qa's SQuAD subset has "
                "bench/sets/squad2-split.json), or use --split all.")
        return {}
    try:
        named = json.loads(split_file.read_text(encoding="utf-8"))
        return {title: name for name in ("dev", "test") for title in named[name]}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        if split != "all":  # every question can still be asked, without their splits
            raise QAError(f"The SQuAD split file {split_file} cannot be read ({exc}): it names "
                          "the article titles of \"dev\" and \"test\". Use --split all."
                          ) from exc
        return {}


def _load_squad(
    file: Path, doc: JSONObject, split: str, split_of: dict[str, str],
    split_file: str | os.PathLike[str] | None,
) -> QuestionSet:
    """SQuAD 2.0: each paragraph is an article (`<title>#<paragraph number>`, from 1); a
    question with `is_impossible` is "unanswerable", the others "answerable" with their
    answers' texts. Each question's split is its article title's in `split_of`."""
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
        where = f" of {split_file}" if split_file else ""
        raise QAError(f"No article of {file} is in split {split!r}{where}. "
                      "Use --split all, or name the file's titles there.")
    return QuestionSet(path=file, format="squad", split=split, examples=tuple(chosen),
                       articles=tuple(articles))


def read_jsonl_records(path: Path) -> Iterable[tuple[int, JSONObject]]:
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
