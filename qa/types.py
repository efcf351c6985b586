"""The few nouns of qa: articles, chunks, hits, citations and answers.

All are frozen dataclasses so they can be shared across threads and turned into JSON with
`dataclasses.asdict`. Offsets (`start`, `end`) are character offsets into the article's
stored text (`Article.text`): `article.text[start:end] == text` always holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

Span = tuple[int, int]


@dataclass(frozen=True)
class Article:
    """One news article as stored in the index.

    `text` is the article body after boilerplate removal; every offset in qa points into it.
    `date` is ISO `YYYY-MM-DD` or None when it could not be recovered.
    """

    id: str
    title: str
    date: str | None
    source: str  # outlet name, or the site's host, or "" when unknown
    url: str | None
    path: str  # path of the file it came from, relative to the corpus folder
    text: str
    hash: str  # sha256 over text and metadata: changes when anything indexed changes


@dataclass(frozen=True)
class Chunk:
    """A few consecutive sentences of one article."""

    id: int  # int64, stable for the same article content and position
    article_id: str
    ordinal: int  # position of the chunk within its article
    start: int
    end: int
    text: str
    sentences: tuple[Span, ...]  # article offsets of the sentences inside the chunk


#: spaCy's entity labels (OntoNotes 5), as `qa.corpus.nlp` finds them.
ENTITY_LABELS = (
    "PERSON", "NORP", "FAC", "ORG", "GPE", "LOC", "PRODUCT", "EVENT", "WORK_OF_ART", "LAW",
    "LANGUAGE", "DATE", "TIME", "PERCENT", "MONEY", "QUANTITY", "ORDINAL", "CARDINAL",
)
NOUN_PHRASE = "NP"
#: Sentences that are never answers: questions, the headline repeated in the text, and
#: fragments without a finite verb (bylines, captions, credits, datelines, navigation).
SENTENCE_ROLES = ("QUESTION", "HEADLINE", "FRAGMENT")
#: Every label a `Phrase` can have. A stored phrase's label is its position here, so this
#: order is part of the index format (`qa.index.phrases`).
PHRASE_LABELS = (*ENTITY_LABELS, NOUN_PHRASE, *SENTENCE_ROLES)


@dataclass(frozen=True)
class Phrase:
    """A labelled span of an article found by the NLP pipeline at index time (`qa.corpus.nlp`):
    `article.text[start:end]` is it; `label` is one of `PHRASE_LABELS`."""

    start: int
    end: int
    label: str


@dataclass(frozen=True)
class Skipped:
    """An input that was not indexed, and why."""

    path: str
    reason: str


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk, best first in a result list."""

    chunk_id: int
    article_id: str
    title: str
    date: str | None
    source: str
    url: str | None
    text: str
    start: int
    end: int
    score: float
    via: str  # "dense", "bm25" or "both"
    rank: int = 0
    sentences: tuple[Span, ...] = ()


@dataclass(frozen=True)
class DateRange:
    """A publication-date filter: inclusive ISO days (None: open on that side).

    Read from what a user wrote by `qa.dates` (the one parser: `read_range` for --since and
    --until, `dates_in_question` for a question's own words); `from_question` says which. An
    article without a date is outside every bounded range. It lives here, beside `Answer` which
    carries it, because the types are the layer below `qa.dates`.
    """

    since: str | None = None
    until: str | None = None
    from_question: bool = False

    @property
    def bounded(self) -> bool:
        """Whether the range filters anything (a bound on either side)."""
        return self.since is not None or self.until is not None

    def contains(self, date: str | None) -> bool:
        """Whether an article published on `date` (ISO; None: undated) is inside."""
        if not self.bounded:
            return True
        if date is None:
            return False
        return (self.since is None or date >= self.since) and \
            (self.until is None or date <= self.until)

    def text(self) -> str:
        """The range in words: "from 2022-02-01 to 2022-02-28", "on or after 2013-01-01"."""
        if self.since and self.until:
            return f"from {self.since} to {self.until}" if self.since != self.until \
                else f"on {self.since}"
        if self.since:
            return f"on or after {self.since}"
        if self.until:
            return f"on or before {self.until}"
        return "at any date"


ANY_DATE = DateRange()


@dataclass(frozen=True)
class Citation:
    """One cited sentence: `article_text[start:end] == text`."""

    n: int
    article_id: str
    title: str
    date: str | None
    source: str
    url: str | None
    text: str  # the cited sentence, verbatim
    start: int
    end: int
    score: float
    chunk_text: str  # the passage around it
    chunk_start: int
    chunk_end: int
    speaker: str | None = None  # who said it, when the sentence is an attributed quote


@dataclass(frozen=True)
class AnswerPhrase:
    """The phrase that answers, inside citation `n`: `article.text[start:end] == text`."""

    text: str
    start: int
    end: int
    article_id: str
    n: int  # the citation it lies in
    label: str  # what kind of phrase it is: an entity label, "NP", "REASON", or QUOTE


#: The answer phrase's label when it is a speaker's words ("What did X say …?"): a quotation
#: or reported clause found at index time (`Quote`).
QUOTE = "QUOTE"


#: A decoded JSON object (a manifest, a server's reply, a JSON line, a record on disk): where
#: untyped data enters qa, read field by field into the types of this module.
JSONObject: TypeAlias = dict[str, Any]

#: How a search ranked: both lists fused, the vectors alone, or BM25 alone.
Mode = Literal["hybrid", "dense", "bm25"]
#: What a caller may ask for: "auto" is hybrid, or BM25 when the query model cannot load.
SearchMode = Literal["auto", "hybrid", "dense", "bm25"]
SEARCH_MODES: tuple[SearchMode, ...] = ("auto", "hybrid", "dense", "bm25")


@dataclass(frozen=True)
class Fallback:
    """Why searches answer from BM25 alone: `code` for programs ("model": the query model
    cannot load; "dense": the index's dense part is missing or damaged), `message` for people
    (it names what to run)."""

    code: Literal["model", "dense"]
    message: str


@dataclass(frozen=True)
class Answer:
    """An extractive answer: verbatim sentences with `[n]` markers, and their citations."""

    question: str
    resolved_question: str
    text: str
    citations: tuple[Citation, ...]
    abstained: bool
    # "hybrid", or "bm25" (asked for, or a fallback: `fallback_reason` says why); "quotes": the
    # chat's /quotes listing, which searches nothing.
    mode: Mode | Literal["quotes"]
    fallback_reason: str | None = None
    date_range: DateRange = ANY_DATE  # the publication dates searched, and where they came from
    notes: tuple[str, ...] = field(default_factory=tuple)
    # P(the answer is right), calibrated on dev splits (qa.answer.scoring): of answers given at
    # 0.8, about 8 in 10 are right. qa abstains below the fitted threshold. None when no model
    # scored it.
    confidence: float | None = None
    generation: str | None = None  # the index generation every citation comes from
    answer: AnswerPhrase | None = None  # the phrase that answers, when the question asks for a kind
    certainty: str | None = None  # the confidence in words: "sure", "likely" or "unsure"


@dataclass(frozen=True)
class Quote:
    """An attributed quotation found at index time.

    `text` is what was said as the article gives it (`article_text[start:end] == text`): a
    quotation with its quotation marks, or a reported clause ("the talks had failed"), which
    has marks only around the words it quotes; `sentence` is the article span of the
    sentence(s) carrying it, which is what answers cite.
    """

    article_id: str
    speaker: str
    text: str
    start: int
    end: int
    sentence: Span
    cue: str = ""  # the attribution verb or phrase: "said", "wrote in a statement", "according to"


@dataclass(frozen=True)
class BuildReport:
    """What `build_index` did."""

    index: str
    added: tuple[str, ...]
    changed: tuple[str, ...]
    removed: tuple[str, ...]
    unchanged: tuple[str, ...]
    skipped: tuple[Skipped, ...]
    articles: int
    chunks: int
    embedded_chunks: int  # chunks embedded by this build (the rest were reused)
    seconds: float
    full: bool
    up_to_date: bool = False  # nothing changed: the live index was kept as it was
    notes: tuple[str, ...] = ()  # things the user should know (e.g. a step that was skipped)


@dataclass(frozen=True)
class IndexStats:
    """What the status line and `qa index` show about a loaded index."""

    articles: int
    chunks: int
    model: str
    dim: int
    built_at: str
    format_version: int
    dense: bool  # the index has a dense part
    store: str = "local"  # where its chunks are ranked: "local" (the folder) or "milvus"
