"""Extractive answers: the path of a question from its words to cited sentences.

1. read the question (`qa.answer.question`): follow-up, dates, speaker, the kind of answer;
2. search (`Retriever.search`) and gather candidate sentences (`qa.answer.candidates`): the
   sentences of the chunks found, and for a who-said-what question the sentences holding
   that speaker's quotes; with the answer phrases each holds;
3. describe and score them (`qa.answer.features`, `qa.answer.scoring`): P(this sentence
   answers) per sentence, and the calibrated confidence that the answer is right;
4. abstain below the fitted threshold, else compose (`qa.answer.compose`).

Every citation is a span of the stored article text: `article.text[start:end] == text`.
The answer reads one index generation from its first search to its last citation.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from dataclasses import replace
from typing import NamedTuple

import numpy as np

from ..corpus import nlp
from ..corpus.quotes import is_person, speaker_matches
from ..errors import ModelUnavailableError, QueryError
from ..search.retriever import Found, Retriever
from ..text import terms
from ..types import ANY_DATE, Answer, DateRange, Mode, Quote, SearchMode
from .answer_type import Name
from .candidates import Candidate, gather
from .compose import OTHER_VIEW_SHARE, Composer, without_overlaps
from .conversation import Turn
from .evidence import Evidence, Generations
from .features import Asked, describe
from .mentions import unmentioned
from .question import Question, read_question
from .scoring import load_model

#: Chunks searched per question.
SEARCH_K = 8
#: The note on answers from an index whose phrases and quotes another version of qa's NLP
#: pass made: they still answer, with what that version found.
STALE_PIPELINE = ("This index's phrases and quotes were made by another version of qa; "
                  "run `qa index` to make them again with this one.")


class Assistant:
    """Answers questions from a `Retriever` with cited sentences.

    Args:
        retriever: an open `qa.Retriever`.
        max_sentences: at most this many sentences in an answer.
        abstain_threshold: answer only when the confidence reaches this; default: the
            threshold fitted with the model (`qa/answer/model.json`).
        k: chunks retrieved per question.
    """

    def __init__(self, retriever: Retriever, *, max_sentences: int = 4,
                 abstain_threshold: float | None = None, k: int = SEARCH_K) -> None:
        self.retriever = retriever
        self.max_sentences = max(1, min(int(max_sentences), 8))
        self.abstain_threshold = abstain_threshold
        self.k = k
        self._generations = Generations()

    # ------------------------------------------------------------------ public API
    def ask(self, question: str, history: Sequence[Turn] = (), *, dates: DateRange = ANY_DATE,
            mode: SearchMode = "auto", question_dates: bool = True) -> Answer:
        """Answer one question, from one index generation throughout.

        Args:
            question: the question as typed.
            history: earlier turns, oldest first: question strings or earlier `Answer`s.
            dates: the publication dates to search (`qa.dates.read_range`); when open, dates
                written in the question ("in December 2021", "last week") are used.
            mode: "auto", "hybrid" or "bm25" (lexical scoring only, never loads the model).
            question_dates: read dates written in the question as a publication-date filter.
                When that filter leaves nothing that answers, the question is asked again
                without it (a date is often about the event), and a note says so; not for a
                period counted back from today ("last week"), which is about the news.

        Returns:
            An `Answer`; `abstained` is set when the evidence is weak, with the closest
            passages as citations; `confidence` is P(the answer is right), `answer` the
            phrase that answers when the question asks for a kind of thing.

        Raises:
            QueryError: the question is empty, has no searchable words, or bad dates.
        """
        return self._ask(self._evidence(), question, history, dates=dates, mode=mode,
                         question_dates=question_dates)

    def quotes(self, speaker: str, *, dates: DateRange = ANY_DATE) -> list[Quote]:
        """The quotes of one speaker (by full name or surname), in publication order."""
        evidence = self._evidence()
        found = [q for q in evidence.speaker_quotes(speaker)
                 if dates.contains(evidence.article(q.article_id).date)]
        return sorted(found, key=lambda q: (evidence.article(q.article_id).date or "9999",
                                            q.start))

    def candidates_for(self, question: str, history: Sequence[Turn] = (), *,
                       mode: SearchMode = "auto") -> Described:
        """The candidate sentences a question gets, described (`Candidate.features`), before
        any model scores them; whether scoring is lexical; the names of the question that
        no article found mentions. What `bench/fit_answerer.py` fits the model on; also a
        way to see why an answer was chosen."""
        evidence = self._evidence()
        q = read_question(question, history, reference=evidence.reference_day())
        found = self._search(evidence, q.search, q.dates, mode)
        candidates = gather(q, found.hits, evidence)
        lexical, _ = self._lexical(evidence, mode)
        self._describe(evidence, q, candidates, lexical, found.query_vector)
        return Described(candidates, lexical, _unmentioned(evidence, q, candidates))

    # ------------------------------------------------------------------ one generation
    def _evidence(self) -> Evidence:
        """The retriever's current generation, with that generation's caches."""
        retriever = self.retriever
        pinned = retriever.pinned()
        return Evidence(pinned, self._generations.of(pinned.manifest.data))

    def _ask(self, evidence: Evidence, text: str, history: Sequence[Turn], *, dates: DateRange,
             mode: SearchMode, question_dates: bool) -> Answer:
        reference = evidence.reference_day()
        q = read_question(text, history, dates=dates, reference=reference,
                          question_dates=question_dates)
        notes = list(q.notes)
        if evidence.retriever.manifest.nlp != nlp.PIPELINE:
            notes.append(STALE_PIPELINE)
        composer = Composer(evidence, self.max_sentences)
        if q.about_previous_answer:
            previous = self._previous_answer(list(history))
            if previous is not None and previous.citations:
                return self._when_answer(evidence, composer, text, q, previous, notes)
        if q.recent_dates:
            whence = "today" if reference == _dt.date.today() else "the newest article"
            notes.append(f"“{q.date_words}” counts back from {whence}, {reference.isoformat()}.")
        found = self._search(evidence, q.search, q.dates, mode)
        hits = found.hits
        lexical, reason = self._lexical(evidence, mode)
        result_mode: Mode = "bm25" if lexical else "hybrid"
        if not hits and q.dates.bounded:
            nearest = _nearest_dates(evidence, q.dates)
            if not (q.dates.from_question and not q.recent_dates):
                # A range the user set, or "last week": answering from other dates would
                # answer another question.
                notes.append(f"No article was published {q.dates.text()}; {nearest}. "
                             + _WIDER_RANGE["question" if q.dates.from_question else "caller"])
                return composer.compose(text, q, [], True, result_mode, reason, notes, 0.0)
            # "What happened there in 2014?": the date is about the event, not the article.
            notes.append(f"No article was published {q.dates.text()} ({nearest}); "
                         "searched all articles instead.")
            q = replace(q, dates=ANY_DATE)
            found = self._search(evidence, q.search, q.dates, mode)
            hits = found.hits
        candidates = gather(q, hits, evidence)
        if q.moving_on is not None:  # "What did he say next?": not what was cited already
            fresh = [c for c in candidates
                     if q.moving_on.allows(c.article.id, c.article.date, c.start, c.end)]
            if candidates and not fresh:
                notes.append("The articles found say nothing more on this than what this "
                             "conversation has already cited.")
                return composer.compose(text, q, [], True, result_mode, reason, notes, 0.0)
            candidates = fresh
        try:
            self._describe(evidence, q, candidates, lexical, found.query_vector)
        except ModelUnavailableError as exc:
            lexical, reason = True, f"model could not be loaded: {exc}"
            self._describe(evidence, q, candidates, lexical, None)
        model = load_model("lexical" if lexical else "hybrid")
        ranked = model.rank(candidates)
        confidence = model.confidence(ranked)
        threshold = self.abstain_threshold if self.abstain_threshold is not None \
            else model.threshold
        result_mode = "bm25" if lexical else "hybrid"
        if reason and lexical:
            notes.append("Scored by wording only (BM25)." if mode == "bm25"
                         else f"Scored by wording only (BM25): {reason}.")
        person = q.speaker if q.speaker and is_person(q.speaker, evidence.known_names(hits)) \
            else None
        abstain_note = None
        if person:
            # "What did X tell Y?": words attributed to someone else (Y's own, naming X) are
            # not X's, however close they read.
            ranked = [c for c in ranked if not c.speaker or speaker_matches(person, c.speaker)]
            if not evidence.speaker_names(person):
                abstain_note = f"No quotes attributed to {person} were found in the articles."
            elif not any(c.speaker and speaker_matches(person, c.speaker) for c in ranked):
                abstain_note = f"No quotes by {person} on this were found in the articles."
        missing = _unmentioned(evidence, q, candidates)
        if missing:
            # The articles found are about something else: no sentence of theirs answers.
            confidence = 0.0
            notes.append("No article found mentions "
                         + " or ".join(f"“{n.text}”" for n in missing) + ".")
        weak = not ranked or confidence < threshold or bool(missing)
        if weak and q.dates.from_question and q.dates.bounded and not q.recent_dates:
            wider = self.ask(text, history, mode=mode, question_dates=False)
            if not wider.abstained:
                note = (f"No article published {q.dates.text()} answers this; "
                        "answered from all articles (the date may be about the event).")
                return replace(wider, notes=(note, *wider.notes))
        if weak or abstain_note:
            if abstain_note:
                notes.append(abstain_note)
            closest = composer.distinct(ranked, 3)
            if closest:
                notes.append("The sources listed are the closest passages; they do not "
                             "answer the question.")
            return composer.compose(text, q, closest, True, result_mode, reason, notes,
                                    confidence)
        if person:
            own = [c for c in ranked if c.speaker and speaker_matches(person, c.speaker)]
            if own and own[0].probability >= ranked[0].probability * OTHER_VIEW_SHARE:
                ranked = own  # a who-said-what question is answered with the speaker's words
        chosen = composer.choose(ranked, model)
        if not q.speaker:
            chosen = composer.add_other_side(chosen, ranked, notes)
        chosen = without_overlaps([composer.whole_quote(c) for c in chosen])
        return composer.compose(text, q, chosen, False, result_mode, reason, notes, confidence)

    # ------------------------------------------------------------------ the steps
    def _lexical(self, evidence: Evidence, mode: SearchMode) -> tuple[bool, str | None]:
        if mode == "bm25":
            return True, "BM25 mode was asked for"
        retriever = evidence.retriever
        if retriever.mode == "bm25":
            return True, retriever.fallback_reason or "retriever is in BM25 mode"
        return False, None

    def _search(self, evidence: Evidence, query: str, dates: DateRange,
                mode: SearchMode) -> Found:
        return evidence.retriever.find(query, k=self.k, dates=dates, mode=mode)

    def _describe(self, evidence: Evidence, q: Question, candidates: list[Candidate],
                  lexical: bool, qvec: np.ndarray | None) -> None:
        """Fill the candidates' features. `qvec`: the query's vector from the search (None:
        the search did not embed it; then it is embedded here, and raises
        ModelUnavailableError when the model cannot load)."""
        vectors = None
        if lexical or not candidates:
            qvec = None
        else:
            if qvec is None:
                qvec = evidence.retriever.encode([q.search])[0]
            vectors = evidence.sentence_vectors(candidates)
        t = q.answer_type
        asked = Asked(search=q.search, terms=tuple(q.terms), speaker=q.speaker, typed=t.typed,
                      has_kind=t.kind is not None, entities=t.entities,
                      names=tuple(terms(" ".join(n.text for n in t.names))))
        rarity = evidence.rarity([*q.terms, *asked.names])
        describe(asked, candidates, qvec, vectors, rarity, evidence.article_terms)

    # ------------------------------------------------------------------ "When was that?"
    def _previous_answer(self, history: list[Turn]) -> Answer | None:
        if not history:
            return None
        last = history[-1]
        if isinstance(last, Answer):
            return last
        try:
            return self.ask(str(last), history[:-1])
        except QueryError:
            return None

    def _when_answer(self, evidence: Evidence, composer: Composer, asked: str, q: Question,
                     previous: Answer, notes: list[str]) -> Answer:
        """Date the previous answer: its sources' publication dates and the dates and times
        the articles give near it."""
        chosen: list[Candidate] = []
        for cit in previous.citations[:2]:
            article = evidence.article(cit.article_id)
            spans: list[tuple[int, int]] = []
            cstart, cend, cid = cit.chunk_start, cit.chunk_end, -1
            for chunk in evidence.retriever.chunks_of(cit.article_id):
                if chunk.start <= cit.start < chunk.end:
                    spans, cstart, cend, cid = list(chunk.sentences), chunk.start, chunk.end, chunk.id
                    break
            phrases, _ = evidence.phrases(article.id)
            dated = [(p.start, p.end) for p in phrases if p.label in ("DATE", "TIME")]

            def has_date(span: tuple[int, int], dated: list[tuple[int, int]] = dated) -> bool:
                return any(span[0] <= s and e <= span[1] for s, e in dated)

            # The cited sentence if it gives a date or time, else the nearest one in its chunk.
            pick = (cit.start, cit.end)
            timed = [sp for sp in spans if has_date(sp)]
            if not has_date(pick) and timed:
                pick = min(timed, key=lambda sp: abs(sp[0] - cit.start))
            cand = Candidate(article, pick[0], pick[1], cid, cstart, cend, 0, 1.0,
                             evidence.speaker_at(article.id, *pick), probability=cit.score)
            if all(d.key != cand.key for d in chosen):
                chosen.append(cand)
        dates = sorted({c.article.date for c in chosen if c.article.date})
        if dates:
            notes.append("Published " + " and ".join(dates) + "; the passages below say when.")
        else:
            notes.append("The articles carry no publication date.")
        q = replace(q, dates=ANY_DATE)
        return replace(composer.compose(asked, q, chosen, False, previous.mode, None, notes,
                                        previous.confidence or 0.0),
                       fallback_reason=previous.fallback_reason)


class Described(NamedTuple):
    """A question's candidates before scoring (`Assistant.candidates_for`)."""

    candidates: list[Candidate]
    lexical: bool
    unmentioned: list[Name]


def _unmentioned(evidence: Evidence, q: Question, candidates: Sequence[Candidate]) -> list[Name]:
    """The question's names that none of the candidates' articles mentions."""
    if not candidates or not q.answer_type.names:
        return []
    articles = {c.article.id: c.article for c in candidates}
    return unmentioned(q.answer_type.names,
                       (evidence.article_terms(a).folded for a in articles.values()))


# What to do when a range holds no article, by who set it.
_WIDER_RANGE = {
    "question": "Ask again with other dates, or set relative_dates = \"newest-article\" in "
                "the settings file (`qa config --example`) to count from the newest article.",
    "caller": "Widen or drop the date filter (--since/--until, or /since off in the chat).",
}


def _nearest_dates(evidence: Evidence, dates: DateRange) -> str:
    """The article dates nearest an empty range, in words."""
    before, after = evidence.retriever.dates_near(dates)
    if before and after:
        return f"the nearest articles are from {before} and {after}"
    if before:
        return f"the newest article before it is from {before}"
    if after:
        return f"the oldest article after it is from {after}"
    return "no article has a date in or near it"
