"""What one question reads of one index generation: articles, their phrases and quotes, the
speakers, sentence vectors and how rare the question's words are, each kept in caches that
belong to that generation (a changed article keeps its id but not its text)."""

from __future__ import annotations

import bisect
import datetime as _dt
import math
import threading
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

import numpy as np

from ..corpus.quotes import person_names, speaker_matches
from ..search.retriever import Retriever
from ..text import folded_term_set, term_set
from ..types import ANY_DATE, Article, DateRange, Hit, Phrase, Quote

#: Entries kept in each cache of a generation.
CACHE_ENTRIES = 2048
#: Articles whose terms are kept: an article's term sets take ~10x its text (~26 KB for a
#: news article), and a question reads ~20 articles.
TERMS_CACHE_ENTRIES = 256
#: A who-said-what question reads at most this many of the speaker's quotes beyond what the
#: search found: those in the chunks that best match the question.
SPEAKER_QUOTES_MAX = 50


@dataclass(frozen=True)
class Rarity:
    """How often the corpus uses the question's words (`Retriever.document_frequencies`)."""

    document_frequency: dict[str, int]
    chunks: int

    def unknown_share(self, words: Sequence[str]) -> float:
        """The share of `words`, weighted by rarity, that the corpus never uses."""
        words = list(dict.fromkeys(words))
        if not words:
            return 0.0
        n = max(self.chunks, 1)
        weight = {w: math.log((n + 1) / (self.document_frequency.get(w, 0) + 0.5)) for w in words}
        total = sum(weight.values()) or 1.0
        return sum(weight[w] for w in words if not self.document_frequency.get(w)) / total


@dataclass(frozen=True)
class ArticleTerms:
    """An article's BM25 terms (its title's and text's), its title's alone, and its terms with
    accents folded (what a question's names are looked for in: `qa.answer.mentions`)."""

    terms: frozenset[str]
    title: frozenset[str]
    folded: frozenset[str]

    @classmethod
    def of(cls, article: Article) -> ArticleTerms:
        title = term_set(article.title)
        held = title | term_set(article.text)
        whole = f"{article.title}\n{article.text}"
        return cls(held, title, held if whole.isascii() else folded_term_set(whole))


K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Bounded(dict[K, V]):
    """A dict that forgets its oldest entries beyond `limit` (insertion order)."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def __setitem__(self, key: K, value: V) -> None:
        super().__setitem__(key, value)
        while len(self) > self.limit:
            try:
                del self[next(iter(self))]
            except (KeyError, RuntimeError, StopIteration):  # another thread evicted it
                break


@dataclass
class Caches:
    """One generation's caches, shared by the questions that read it."""

    # chunk id -> sentence start -> vector
    vectors: Bounded[int, dict[int, np.ndarray]] = field(
        default_factory=lambda: Bounded(CACHE_ENTRIES))
    articles: Bounded[str, Article] = field(default_factory=lambda: Bounded(CACHE_ENTRIES))
    phrases: Bounded[str, tuple[list[Phrase], list[int]]] = field(
        default_factory=lambda: Bounded(CACHE_ENTRIES))
    # an article's quotes ("article", id), a speaker's ("speaker", name, query, dates)
    quotes: Bounded[tuple[str | None, ...], list[Quote]] = field(
        default_factory=lambda: Bounded(CACHE_ENTRIES))
    # the index's speakers (key None), the names a speaker's words match (key: the words)
    names: Bounded[str | None, list[str]] = field(default_factory=lambda: Bounded(CACHE_ENTRIES))
    # article id -> its terms: the features and the name check read each article once
    terms: Bounded[str, ArticleTerms] = field(
        default_factory=lambda: Bounded(TERMS_CACHE_ENTRIES))


class Generations:
    """The caches of the last two generations an assistant read."""

    def __init__(self) -> None:
        self._by_generation: Bounded[object, Caches] = Bounded(2)
        self._lock = threading.Lock()

    def of(self, generation: object) -> Caches:
        with self._lock:
            caches = self._by_generation.get(generation)
            if caches is None:
                caches = self._by_generation[generation] = Caches()
            return caches


class SentenceAt(Protocol):
    """A sentence of a chunk, where it stands: what a candidate sentence offers the vectors."""

    article: Article
    start: int
    end: int
    chunk_id: int
    chunk_start: int
    chunk_end: int


class Evidence:
    """One generation of the index, as the answer path reads it (see the module docstring).

    Args:
        retriever: a retriever pinned to one generation (`Retriever.pinned`).
        caches: that generation's caches.
    """

    def __init__(self, retriever: Retriever, caches: Caches) -> None:
        self.retriever = retriever
        self.caches = caches

    @property
    def generation(self) -> str | None:
        return self.retriever.manifest.data

    def article(self, article_id: str) -> Article:
        cache = self.caches.articles
        if article_id not in cache:
            cache[article_id] = self.retriever.article(article_id)
        return cache[article_id]

    def article_terms(self, article: Article) -> ArticleTerms:
        """An article's terms (`ArticleTerms`), made once per generation."""
        found = self.caches.terms.get(article.id)
        if found is None:
            found = self.caches.terms[article.id] = ArticleTerms.of(article)
        return found

    def phrases(self, article_id: str) -> tuple[list[Phrase], list[int]]:
        """The article's phrases in text order, and their starts (for `bisect`)."""
        cache = self.caches.phrases
        if article_id not in cache:
            found = self.retriever.phrases_of(article_id)
            cache[article_id] = (found, [p.start for p in found])
        return cache[article_id]

    def role_at(self, article_id: str, start: int, end: int) -> str | None:
        """The label of a sentence that is never an answer (a question, the headline, a
        fragment), when [start, end) is one; else None."""
        phrases, starts = self.phrases(article_id)
        i = bisect.bisect_left(starts, start)
        while i < len(phrases) and phrases[i].start == start:
            if phrases[i].end == end and phrases[i].label in ("QUESTION", "HEADLINE", "FRAGMENT"):
                return phrases[i].label
            i += 1
        return None

    def reference_day(self) -> _dt.date:
        """The day relative dates in a question count from (`Retriever.reference_day`)."""
        return self.retriever.reference_day()

    # --- quotes and speakers --------------------------------------------------------------
    def quotes_in(self, article_id: str) -> list[Quote]:
        key = ("article", article_id)
        if key not in self.caches.quotes:
            self.caches.quotes[key] = list(self.retriever.quotes_in(article_id))
        return self.caches.quotes[key]

    def speaker_quotes(self, speaker: str, *, query: str | None = None,
                       dates: DateRange = ANY_DATE) -> list[Quote]:
        """The quotes of every indexed name that `speaker` matches; with a `query`, only the
        SPEAKER_QUOTES_MAX whose chunks best match it, within the dates."""
        key = ("speaker", speaker, query, dates.since, dates.until)
        if key not in self.caches.quotes:
            names = self.speaker_names(speaker)
            if not names:
                found: list[Quote] = []
            elif query is None:
                found = list(self.retriever.quotes_by(names))
            else:
                found = list(self.retriever.quotes_by(
                    names, query=query, limit=SPEAKER_QUOTES_MAX, dates=dates))
            self.caches.quotes[key] = found
        return self.caches.quotes[key]

    def known_names(self, hits: Sequence[Hit]) -> list[str]:
        """The index's speakers and the people the retrieved articles name: what `is_person`
        needs to tell a person's surname from a place."""
        if None not in self.caches.names:
            self.caches.names[None] = list(self.retriever.speakers())
        names = list(self.caches.names[None])
        for article_id in dict.fromkeys(h.article_id for h in hits):
            names.extend(person_names(self.article(article_id).text))
        return names

    def speaker_names(self, speaker: str) -> list[str]:
        if speaker not in self.caches.names:
            self.caches.names[speaker] = [n for n in self.retriever.speakers()
                                          if speaker_matches(speaker, n)]
        return self.caches.names[speaker]

    def speaker_at(self, article_id: str, start: int, end: int) -> str | None:
        """Who speaks in [start, end) of an article, when a quote of theirs is there."""
        for q in self.quotes_in(article_id):
            if q.sentence[0] < end and q.sentence[1] > start:
                return q.speaker
        return None

    # --- vectors and word counts ----------------------------------------------------------
    def sentence_vectors(self, candidates: Sequence[SentenceAt]) -> np.ndarray:
        """Each candidate sentence's vector: the index's, made at build time
        (qa.index.sentences), read once per generation. A chunk the index holds no vector for
        has its sentences' vectors made here as the build makes them (pooled from its pass),
        once per generation."""
        cache = self.caches.vectors  # chunk id -> {sentence start: vector}
        for chunk in dict.fromkeys(c.chunk_id for c in candidates):
            if chunk not in cache:
                stored = self.retriever.sentence_vectors(chunk)
                cache[chunk] = {} if stored is None else {
                    start: v for (start, _), v in zip(*stored) if v.any()}
        missing: dict[int, list[SentenceAt]] = {}
        for c in candidates:
            if c.start not in cache.get(c.chunk_id, {}):
                missing.setdefault(c.chunk_id, []).append(c)
        for chunk, wanted in missing.items():
            first = wanted[0]
            spans = list(dict.fromkeys((c.start, c.end) for c in wanted))
            vectors = self.retriever.chunk_sentence_vectors(
                first.article.title, first.article.text[first.chunk_start:first.chunk_end],
                first.chunk_start, spans)
            by_start = cache.setdefault(chunk, {})
            for (start, _), v in zip(spans, vectors):
                by_start[start] = np.asarray(v, np.float32)
        return np.stack([cache[c.chunk_id][c.start] for c in candidates])

    def vector(self, chunk_id: int, start: int) -> np.ndarray | None:
        """A sentence vector already read or computed, or None."""
        return self.caches.vectors.get(chunk_id, {}).get(start)

    def rarity(self, words: Sequence[str]) -> Rarity | None:
        """How often the corpus uses each of `words` (None when the retriever cannot say)."""
        words = list(dict.fromkeys(words))
        try:
            counts, chunks = self.retriever.document_frequencies(words)
        except (AttributeError, NotImplementedError):
            return None
        return Rarity(dict(zip(words, counts)), chunks)
