"""Analysing new articles at build time: the NLP pipeline's phrases and the quotes found from
its parse, for every new or changed article, once.

The parse costs about a quarter of the CPU of embedding the same text. A large build parses in
worker processes started with the embedding, at a lower priority: they take what CPU the
embedder leaves idle, then every core once it is done (`Analysis.start`). A small update
parses here, where starting processes and loading spaCy again would cost more than the parse.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

from ..corpus import nlp
from ..corpus.quotes import extract_quotes
from ..types import Article, Phrase, Quote, Span

#: Below this many characters of new text the parse runs in the building process.
BACKGROUND_CHARS = 150_000
#: Articles per task sent to the workers.
TASK_ARTICLES = 16
#: How much lower the workers' priority is than the build's (os.nice).
WORKER_NICENESS = 10

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ArticleAnalysis:
    """What the build keeps of one article's parse."""

    phrases: tuple[Phrase, ...]
    quotes: tuple[Quote, ...]


def analyse_articles(articles: Sequence[Article],
                     sentences: Sequence[Sequence[Span]]) -> list[ArticleAnalysis]:
    """Parse each article and keep its phrases and quotes.

    Args:
        articles: the articles.
        sentences: each article's sentence spans (`qa.corpus.chunking`), once each, in order.

    Raises:
        NLPUnavailableError: the pipeline cannot be loaded.
    """
    out = []
    for article, spans, parsed in zip(articles, sentences,
                                      nlp.parse_texts([a.text for a in articles])):
        phrases = nlp.phrases_of(parsed, article.title, spans, article.text)
        try:
            quotes = extract_quotes(article, list(spans), parsed)
        except Exception:  # a quote finder bug must never cost the user their index
            quotes = []
        out.append(ArticleAnalysis(tuple(phrases), tuple(quotes)))
    return out


def _background_worker() -> None:
    """A worker parses on one thread, below the build's priority: the embedder comes first."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    with contextlib.suppress(OSError):
        os.nice(WORKER_NICENESS)


class Analysis:
    """The analysis of a build's new articles, in a background process or here."""

    def __init__(self, articles: Sequence[Article], sentences: Sequence[Sequence[Span]]) -> None:
        self.articles = list(articles)
        self.sentences = [list(s) for s in sentences]
        self._pool: ProcessPoolExecutor | None = None
        self._futures: list[Future[list[ArticleAnalysis]]] = []

    @classmethod
    def start(cls, articles: Sequence[Article],
              sentences: Sequence[Sequence[Span]]) -> Analysis:
        """Begin analysing: in a background process when there is enough text to pay for it."""
        job = cls(articles, sentences)
        if sum(len(a.text) for a in job.articles) >= BACKGROUND_CHARS:
            # spawn, not fork: the builder may hold threads (the embedder's) that fork would
            # copy mid-operation.
            workers = max(1, min(os.cpu_count() or 1, 4))
            job._pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                            initializer=_background_worker)
            for lo in range(0, len(job.articles), TASK_ARTICLES):
                hi = lo + TASK_ARTICLES
                job._futures.append(job._pool.submit(analyse_articles, job.articles[lo:hi],
                                                     job.sentences[lo:hi]))
        return job

    def results(self, progress: Progress | None = None) -> list[ArticleAnalysis]:
        """Every article's analysis, in order (waiting for the background process).

        Raises:
            NLPUnavailableError: the pipeline cannot be loaded.
        """
        total = len(self.articles)
        if self._pool is None:
            return self._here(progress)
        out: list[ArticleAnalysis] = []
        try:
            for future in self._futures:
                out.extend(future.result())
                if progress:
                    progress(len(out), total)
        except BrokenProcessPool:  # the process died (killed, out of memory): parse here
            return self._here(progress)
        finally:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None
        return out

    def _here(self, progress: Progress | None) -> list[ArticleAnalysis]:
        out: list[ArticleAnalysis] = []
        for lo in range(0, len(self.articles), TASK_ARTICLES):
            hi = lo + TASK_ARTICLES
            out.extend(analyse_articles(self.articles[lo:hi], self.sentences[lo:hi]))
            if progress:
                progress(len(out), len(self.articles))
        return out

    def close(self) -> None:
        """Stop the background process, if any (a build that failed before `results`)."""
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None
