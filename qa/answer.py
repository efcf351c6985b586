"""Extractive answers: the path of a question from its words to cited sentences.

1. read the question (`qa.question.read_question`): follow-up, dates, speaker, answer shape;
2. search (`Retriever.search`) and gather candidate sentences (`qa.candidates`): the sentences
   of the chunks found, and for a who-said-what question the sentences holding that
   speaker's quotes;
3. score them (`qa.scoring`): a calibrated P(this sentence answers) per sentence, and
   P(the articles answer) for the question — the answer's `confidence`;
4. abstain below the fitted threshold, else compose: the best sentence, the next one too when
   it comes close (one span when the two are adjacent), a quotation cited whole, another
   speaker's view when all cited words come from one side, in publication order.

Every citation is a span of the stored article text: `article.text[start:end] == text`.
The answer reads one index generation from its first search to its last citation.
"""

from __future__ import annotations

import copy
import datetime as _dt
import re
import threading
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from .candidates import _ROLE_NOUNS, Candidate, Rarity, describe
from .conversation import Turn
from .errors import ModelUnavailableError, QueryError
from .question import MAX_QUESTION_CHARS, Question, read_question
from .quotes import is_person, person_names, speaker_matches
from .retrieval import Retriever
from .scoring import AnswerModel, load_model
from .text import terms
from .types import Answer, Article, Citation, Hit, Quote

__all__ = ["Assistant", "format_answer", "NO_ANSWER", "MAX_QUESTION_CHARS"]

NO_ANSWER = "The articles don't say."
# Chunks searched per question.
SEARCH_K = 8
# Two sentences sharing this share of their words (Jaccard), or this cosine, are one.
DUPLICATE_JACCARD = 0.6
DUPLICATE_COSINE = 0.92
# A quotation that runs over several sentences is cited whole, up to this many characters.
MAX_QUOTE_CHARS = 700
# A who-said-what question reads at most this many of the speaker's quotes beyond what the
# search found: those in the chunks that best match the question.
SPEAKER_QUOTES_MAX = 50
# A speaker's own words, or another side's view, are cited when their probability is at least
# this share of the best sentence's (a rule of composition, not fitted).
OTHER_VIEW_SHARE = 0.6
# Entries kept in each of the assistant's caches (sentence vectors by chunk, articles, quotes).
CACHE_ENTRIES = 2048
# Words of a role or title before a name: "Foreign Ministry spokesperson Zhao Lijian".
_AFFILIATION_BEFORE = re.compile(r"((?:[A-Z][\w’'.&-]*\s+){1,5})(?:[a-z][\w-]*\s+){0,3}$")
_AFFILIATION_AFTER = re.compile(
    r"^\s*,\s*(?:an?|the)?\s*[^,.;]{0,40}?\b(?:of|for|at|from)\s+(?:the\s+)?"
    r"((?:[A-Z][\w’'.&-]*\s*){1,5})")


class _Bounded(dict):  # type: ignore[type-arg]
    """A dict that forgets its oldest entries beyond `limit` (insertion order)."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def __setitem__(self, key: Any, value: Any) -> None:
        super().__setitem__(key, value)
        while len(self) > self.limit:
            try:
                del self[next(iter(self))]
            except (KeyError, RuntimeError, StopIteration):  # another thread evicted it
                break


class Assistant:
    """Answers questions from a `Retriever` with cited sentences.

    Args:
        retriever: an open `qa.Retriever`.
        max_sentences: at most this many sentences in an answer.
        abstain_threshold: answer only when the confidence (P(the articles answer)) reaches
            this; default: the threshold fitted with the model (`qa/answer_model.json`).
        k: chunks retrieved per question.
    """

    def __init__(self, retriever: Retriever, *, max_sentences: int = 4,
                 abstain_threshold: float | None = None, k: int = SEARCH_K) -> None:
        self.retriever = retriever
        self.max_sentences = max(1, min(int(max_sentences), 8))
        self.abstain_threshold = abstain_threshold
        self.k = k
        # One set of caches per index generation (a changed article keeps its id but not its
        # text, vectors or quotes), the last two kept; each bounded.
        self._generations: dict[Any, tuple[dict, dict, dict]] = _Bounded(2)
        self._generations_lock = threading.Lock()
        self._vectors: dict[int, dict[int, np.ndarray]] = {}  # chunk id -> start -> vector
        self._articles: dict[str, Article] = {}
        self._quotes_by_key: dict[Any, Any] = {}
        self._pinned = False

    # ------------------------------------------------------------------ public API
    def ask(self, question: str, history: Sequence[Turn] = (), *, since: str | None = None,
            until: str | None = None, mode: str = "auto", question_dates: bool = True) -> Answer:
        """Answer one question, from one index generation throughout.

        Args:
            question: the question as typed.
            history: earlier turns, oldest first: question strings or earlier `Answer`s.
            since, until: inclusive ISO publication-date filter; when omitted, dates written in
                the question ("in December 2021") are used.
            mode: "auto", "hybrid" or "bm25" (lexical scoring only, never loads the model).
            question_dates: read dates written in the question as a publication-date filter.
                When that filter leaves nothing that answers, the question is asked again
                without it (a date is often about the event), and a note says so.

        Returns:
            An `Answer`; `abstained` is set when the evidence is weak, with the closest
            passages as citations; `confidence` is P(the articles answer).

        Raises:
            QueryError: the question is empty, has no searchable words, or bad dates.
        """
        return self._pinned_view()._ask(question, history, since=since, until=until, mode=mode,
                                        question_dates=question_dates)

    def quotes(self, speaker: str, *, since: str | None = None,
               until: str | None = None) -> list[Quote]:
        """The quotes of one speaker (by full name or surname), in publication order."""
        if not self._pinned:
            return self._pinned_view().quotes(speaker, since=since, until=until)
        found = self._speaker_quotes(speaker)
        found = [q for q in found if _in_range(self._article(q.article_id).date, since, until)]
        return sorted(found, key=lambda q: (self._article(q.article_id).date or "9999", q.start))

    def candidates_for(self, question: str, history: Sequence[Turn] = (), *,
                       mode: str = "auto") -> tuple[list[Candidate], bool]:
        """The candidate sentences a question gets, described (`Candidate.features`), before
        any model scores them, and whether scoring is lexical. What `bench/fit_answerer.py`
        fits the model on; also a way to see why an answer was chosen."""
        view = self._pinned_view()
        q = read_question(question, history, today=view._corpus_today())
        candidates = view._candidates(q, view._search(q.search, q.since, q.until, mode))
        lexical, _ = view._lexical(mode)
        qvec = None if lexical or not candidates else view.retriever.encode([q.search])[0]
        vectors = view._sentence_vectors(candidates) if qvec is not None else None
        describe(q.search, q.terms, q.kind, q.subject, q.speaker, candidates, qvec, vectors,
                 view._rarity(q))
        return candidates, lexical

    # ------------------------------------------------------------------ one generation
    def _pinned_view(self) -> "Assistant":
        """This assistant reading the retriever's current generation only, with that
        generation's caches."""
        if self._pinned:
            return self
        retriever = self.retriever
        pinned = retriever.pinned() if hasattr(retriever, "pinned") else retriever
        generation = (getattr(pinned, "manifest", None) or {}).get("data")
        with self._generations_lock:
            caches = self._generations.get(generation)
            if caches is None:
                caches = (_Bounded(CACHE_ENTRIES), _Bounded(CACHE_ENTRIES), _Bounded(CACHE_ENTRIES))
                self._generations[generation] = caches
        view = copy.copy(self)
        view.retriever, view._pinned = pinned, True
        view._vectors, view._articles, view._quotes_by_key = caches
        return view

    def _ask(self, text: str, history: Sequence[Turn], *, since: str | None, until: str | None,
             mode: str, question_dates: bool) -> Answer:
        q = read_question(text, history, since=since, until=until, today=self._corpus_today(),
                          question_dates=question_dates)
        notes = list(q.notes)
        if q.about_previous_answer:
            previous = self._previous_answer(list(history))
            if previous is not None and previous.citations:
                return self._when_answer(text, q, previous, notes)
        if q.dates_from_question:
            notes.append(f"Searching articles published {_range_text(q.since, q.until)}, "
                         "as the question asks.")
        hits = self._search(q.search, q.since, q.until, mode)
        if not hits and q.dates_from_question:
            # "What did Freedonia annex in 2014?": the date is about the event, not the article.
            notes.append(f"No article was published {_range_text(q.since, q.until)}; "
                         "searched all articles instead.")
            q = replace(q, since=None, until=None)
            hits = self._search(q.search, None, None, mode)
        lexical, reason = self._lexical(mode)
        candidates = self._candidates(q, hits)
        qvec = None
        if not lexical and candidates:
            try:
                qvec = self.retriever.encode([q.search])[0]
            except ModelUnavailableError as exc:
                lexical, reason = True, f"model could not be loaded: {exc}"
        model = load_model("lexical" if lexical else "hybrid")
        ranked = self._rank(q, candidates, qvec, model)
        confidence = model.confidence(ranked)
        threshold = self.abstain_threshold if self.abstain_threshold is not None \
            else model.threshold
        result_mode = "bm25" if lexical else "hybrid"
        if reason and lexical:
            notes.append("Scored by wording only (BM25)." if mode == "bm25"
                         else f"Scored by wording only (BM25): {reason}.")
        person = q.speaker if q.speaker and is_person(q.speaker, self._known_names(hits)) \
            else None
        abstain_note = None
        if person:
            # "What did Blinken tell Wang Yi?": words attributed to someone else (Wang Yi's
            # own, naming Blinken) are not Blinken's, however close they read.
            ranked = [c for c in ranked if not c.speaker or speaker_matches(person, c.speaker)]
            if not self._speaker_names(person):
                abstain_note = f"No quotes attributed to {person} were found in the articles."
            elif not any(c.speaker and speaker_matches(person, c.speaker) for c in ranked):
                abstain_note = f"No quotes by {person} on this were found in the articles."
        weak = not ranked or confidence < threshold
        if weak and q.dates_from_question and (q.since or q.until):
            wider = self.ask(text, history, mode=mode, question_dates=False)
            if not wider.abstained:
                note = (f"No article published {_range_text(q.since, q.until)} answers this; "
                        "answered from all articles (the date may be about the event).")
                return replace(wider, notes=(note, *wider.notes))
        if weak or abstain_note:
            if abstain_note:
                notes.append(abstain_note)
            notes.append("The sources listed are the closest passages; they do not answer "
                         "the question.")
            return self._compose(text, q, self._distinct(ranked, 3), True, result_mode, reason,
                                 notes, confidence)
        if person:
            own = [c for c in ranked if c.speaker and speaker_matches(person, c.speaker)]
            if own and own[0].probability >= ranked[0].probability * OTHER_VIEW_SHARE:
                ranked = own  # a who-said-what question is answered with the speaker's words
        chosen = self._choose(ranked, model)
        if not q.speaker:
            chosen = self._add_other_side(chosen, ranked, model, notes)
        chosen = _without_overlaps([self._whole_quote(c) for c in chosen])
        return self._compose(text, q, chosen, False, result_mode, reason, notes, confidence)

    # ------------------------------------------------------------------ retrieval
    def _lexical(self, mode: str) -> tuple[bool, str | None]:
        if mode == "bm25":
            return True, "BM25 mode was asked for"
        if getattr(self.retriever, "mode", "hybrid") == "bm25":
            return True, getattr(self.retriever, "fallback_reason", None) or "retriever is in BM25 mode"
        return False, None

    def _search(self, query: str, since: str | None, until: str | None, mode: str) -> list[Hit]:
        return list(self.retriever.search(query, k=self.k, since=since, until=until, mode=mode))

    def _article(self, article_id: str) -> Article:
        if article_id not in self._articles:
            self._articles[article_id] = self.retriever.article(article_id)
        return self._articles[article_id]

    def _corpus_today(self) -> _dt.date | None:
        """The newest article's date: a month with no year means its last occurrence in the
        articles' time, not in the reader's (a 2022 corpus read in 2026)."""
        latest = getattr(self.retriever, "latest_date", None)
        try:
            return _dt.date.fromisoformat(latest) if isinstance(latest, str) else None
        except ValueError:
            return None

    def _quotes_in(self, article_id: str) -> list[Quote]:
        key = ("article", article_id)
        if key not in self._quotes_by_key:
            self._quotes_by_key[key] = list(self.retriever.quotes_in(article_id))
        return self._quotes_by_key[key]

    def _speaker_quotes(self, speaker: str, *, query: str | None = None,
                        since: str | None = None, until: str | None = None) -> list[Quote]:
        """The quotes of every indexed name that `speaker` matches; with a `query`, only the
        SPEAKER_QUOTES_MAX whose chunks best match it, within the dates."""
        key = ("speaker", speaker, query, since, until)
        if key not in self._quotes_by_key:
            names = self._speaker_names(speaker)
            if not names:
                found: list[Quote] = []
            elif query is None:
                found = list(self.retriever.quotes_by(names))
            else:
                found = list(self.retriever.quotes_by(
                    names, query=query, limit=SPEAKER_QUOTES_MAX, since=since, until=until))
            self._quotes_by_key[key] = found
        return self._quotes_by_key[key]

    def _known_names(self, hits: list[Hit]) -> list[str]:
        """The index's speakers and the people the retrieved articles name: what `is_person`
        needs to tell "Kritenbrink" and "Varga" (people) from "Freedonia" (a body)."""
        key = ("speakers",)
        if key not in self._quotes_by_key:
            self._quotes_by_key[key] = list(self.retriever.speakers())
        names = list(self._quotes_by_key[key])
        for article_id in dict.fromkeys(h.article_id for h in hits):
            names.extend(person_names(self._article(article_id).text))
        return names

    def _speaker_names(self, speaker: str) -> list[str]:
        key = ("names", speaker)
        if key not in self._quotes_by_key:
            self._quotes_by_key[key] = [n for n in self.retriever.speakers()
                                        if speaker_matches(speaker, n)]
        return self._quotes_by_key[key]

    def _speaker_at(self, article_id: str, start: int, end: int) -> str | None:
        for q in self._quotes_in(article_id):
            if q.sentence[0] < end and q.sentence[1] > start:
                return q.speaker
        return None

    # ------------------------------------------------------------------ candidates
    def _candidates(self, q: Question, hits: list[Hit]) -> list[Candidate]:
        """The sentences of the chunks found, then (who-said-what) the speaker's quotes."""
        seen: set[tuple[str, int]] = set()
        out: list[Candidate] = []
        top = max((h.score for h in hits), default=1.0) or 1.0

        def add(article: Article, spans: Sequence[tuple[int, int]], chunk_id: int, cstart: int,
                cend: int, rank: int, score: float) -> None:
            for i, (s, e) in enumerate(spans):
                if (article.id, s) in seen or not article.text[s:e].strip():
                    continue
                seen.add((article.id, s))
                nxt = spans[i + 1][1] if i + 1 < len(spans) else None
                prev = spans[i - 1][0] if i > 0 else None
                c = Candidate(article, s, e, chunk_id, cstart, cend, rank, score,
                              self._speaker_at(article.id, s, e), nxt, prev)
                # A quote rarely names its speaker in its own sentence ("…," he said), but
                # it is theirs: the name counts as present.
                c.terms = terms(c.text + (" " + c.speaker if c.speaker else ""))
                out.append(c)

        for rank, hit in enumerate(hits):
            article = self._article(hit.article_id)
            add(article, hit.sentences or [(hit.start, hit.end)], hit.chunk_id, hit.start,
                hit.end, rank, hit.score / top)
        if q.speaker:
            # The speaker's own sentences compete even when retrieval ranked them low.
            for quote in self._speaker_quotes(q.speaker, query=q.search, since=q.since,
                                              until=q.until):
                article = self._article(quote.article_id)
                if not _in_range(article.date, q.since, q.until):
                    continue
                for chunk in self.retriever.chunks_of(quote.article_id):
                    if chunk.start <= quote.sentence[0] < chunk.end:
                        spans = [sp for sp in chunk.sentences
                                 if sp[0] < quote.sentence[1] and sp[1] > quote.sentence[0]]
                        add(article, spans, chunk.id, chunk.start, chunk.end, len(hits), 0.0)
                        break
        return out

    def _rank(self, q: Question, candidates: list[Candidate], qvec: np.ndarray | None,
              model: AnswerModel) -> list[Candidate]:
        vectors = self._sentence_vectors(candidates) if qvec is not None else None
        describe(q.search, q.terms, q.kind, q.subject, q.speaker, candidates, qvec, vectors,
                 self._rarity(q))
        return model.rank(candidates)

    def _rarity(self, q: Question) -> Rarity | None:
        from .candidates import question_names

        words = list(dict.fromkeys([*q.terms, *question_names(q.search)]))
        try:
            counts, chunks = self.retriever.document_frequencies(words)
        except (AttributeError, NotImplementedError):
            return None
        return Rarity(dict(zip(words, counts)), chunks)

    def _sentence_vectors(self, candidates: list[Candidate]) -> np.ndarray:
        """Each candidate's vector, embedded once per chunk and generation (cached)."""
        got = [self._vectors.get(c.chunk_id, {}).get(c.start) for c in candidates]
        missing = [i for i, v in enumerate(got) if v is None]
        if missing:
            vecs = np.asarray(self.retriever.encode([candidates[i].text for i in missing]),
                              dtype=np.float32)
            for i, v in zip(missing, vecs):
                got[i] = v
                c = candidates[i]
                by_start = self._vectors.get(c.chunk_id)
                if by_start is None:
                    by_start = self._vectors[c.chunk_id] = {}
                by_start[c.start] = v
        return np.stack(got)  # type: ignore[arg-type]

    # ------------------------------------------------------------------ composing
    def _choose(self, ranked: list[Candidate], model: AnswerModel) -> list[Candidate]:
        """The best sentence; the next best when the best is not sure; the sentence right
        after the best too when it is even less sure. Adjacent sentences become one span."""
        best = ranked[0]
        wanted = min(model.citations(best.probability), self.max_sentences)
        chosen = [best]
        if wanted >= 2:
            for c in ranked[1:]:
                if not any(self._near_duplicate(c, d) for d in chosen):
                    chosen.append(c)
                    break
        if wanted >= 3 and best.next_end is not None:
            after = next((c for c in ranked if c.article.id == best.article.id
                          and c.previous_start == best.start and c.end == best.next_end), None)
            if after is not None and all(after.key != d.key for d in chosen):
                chosen.append(after)
        return _joined(chosen)

    def _distinct(self, ranked: list[Candidate], limit: int) -> list[Candidate]:
        chosen: list[Candidate] = []
        for c in ranked:
            if len(chosen) >= limit:
                break
            if not any(self._near_duplicate(c, d) for d in chosen):
                chosen.append(c)
        return chosen

    def _near_duplicate(self, a: Candidate, b: Candidate) -> bool:
        if a.key == b.key:
            return True
        ta, tb = set(a.terms), set(b.terms)
        if ta and tb and len(ta & tb) / len(ta | tb) >= DUPLICATE_JACCARD:
            return True
        va = self._vectors.get(a.chunk_id, {}).get(a.start)
        vb = self._vectors.get(b.chunk_id, {}).get(b.start)
        return va is not None and vb is not None and float(np.dot(va, vb)) >= DUPLICATE_COSINE

    def _add_other_side(self, chosen: list[Candidate], ranked: list[Candidate],
                        model: AnswerModel, notes: list[str]) -> list[Candidate]:
        """When every cited quote speaks for one side, add the best quote from another side,
        if it comes close. A side is what the article attaches to the speaker (an
        organisation, a country: "Foreign Ministry spokesperson Zhao Lijian")."""
        sides = {self._side(c) for c in chosen if c.speaker} - {None}
        keys = {_side_key(side) for side in sides}  # type: ignore[arg-type]
        if len(keys) > 1:
            notes.append("The sources speak for different sides: " + ", ".join(sorted(sides)) + ".")
        if len(keys) != 1 or len(chosen) >= self.max_sentences:
            return chosen
        bar = chosen[0].probability * OTHER_VIEW_SHARE
        for c in ranked:
            if c.probability < bar:
                break
            side = self._side(c) if c.speaker else None
            if side and not any(_same_side(side, s) for s in sides) \
                    and not any(self._near_duplicate(c, d) for d in chosen):
                notes.append(f"Both sides: {next(iter(sides))} and {side}.")
                return chosen + [c]
        return chosen

    def _side(self, c: Candidate) -> str | None:
        """The organisation or country the article attaches to the speaker, or None."""
        if not c.speaker:
            return None
        found = affiliation(c.article.text, c.speaker)
        return found if found and _side_key(found) else None

    def _whole_quote(self, c: Candidate) -> Candidate:
        """Widen a sentence to the whole quotation it is part of (same chunk, not too long):
        "…he wrote on Twitter." alone leaves out what he wrote."""
        for quote in self._quotes_in(c.article.id):
            s, e = quote.sentence
            if not (s < c.end and e > c.start):
                continue
            s, e = min(s, c.start), max(e, c.end)
            if (s, e) != (c.start, c.end) and c.chunk_start <= s and e <= c.chunk_end \
                    and e - s <= MAX_QUOTE_CHARS:
                return replace(c, start=s, end=e)
        return c

    def _compose(self, asked: str, q: Question, chosen: list[Candidate], abstained: bool,
                 mode: str, reason: str | None, notes: list[str], confidence: float) -> Answer:
        if not abstained:
            # Publication order, so the reader can follow the story.
            chosen = sorted(chosen, key=lambda c: (c.article.date or "9999", c.article.id, c.start))
        citations = tuple(self._citation(i + 1, c) for i, c in enumerate(chosen))
        if abstained:
            text = NO_ANSWER
        else:
            parts: list[str] = []
            current_date: str | None = None
            for cit in citations:
                if cit.date and cit.date != current_date:
                    parts.append(f"(as of {cit.date})")
                    current_date = cit.date
                sentence = " ".join(cit.text.split())
                if cit.speaker and cit.speaker.split()[-1] not in cit.text:
                    sentence = f"{cit.speaker}: {sentence}"
                parts.append(f"{sentence} [{cit.n}]")
            text = " ".join(parts)
        return Answer(
            question=asked, resolved_question=q.resolved, text=text, citations=citations,
            abstained=abstained, mode=mode, fallback_reason=reason if mode == "bm25" else None,
            since=q.since, until=q.until, notes=tuple(notes), confidence=round(confidence, 4),
            generation=(getattr(self.retriever, "manifest", None) or {}).get("data"),
        )

    def _citation(self, n: int, c: Candidate) -> Citation:
        a = c.article
        return Citation(
            n=n, article_id=a.id, title=a.title, date=a.date, source=a.source, url=a.url,
            text=a.text[c.start:c.end], start=c.start, end=c.end,
            score=round(c.probability, 4), chunk_text=a.text[c.chunk_start:c.chunk_end],
            chunk_start=c.chunk_start, chunk_end=c.chunk_end, speaker=c.speaker,
        )

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

    def _when_answer(self, asked: str, q: Question, previous: Answer,
                     notes: list[str]) -> Answer:
        """Date the previous answer: its sources' publication dates and time words near it."""
        from .candidates import has_shape

        chosen: list[Candidate] = []
        for cit in previous.citations[:2]:
            article = self._article(cit.article_id)
            spans: list[tuple[int, int]] = []
            cstart, cend, cid = cit.chunk_start, cit.chunk_end, -1
            for chunk in self.retriever.chunks_of(cit.article_id):
                if chunk.start <= cit.start < chunk.end:
                    spans, cstart, cend, cid = list(chunk.sentences), chunk.start, chunk.end, chunk.id
                    break
            # The cited sentence if it has a time word, else the nearest one in its chunk.
            timed = [sp for sp in spans if has_shape("time", None, article.text[sp[0]:sp[1]])]
            pick = (cit.start, cit.end)
            if not has_shape("time", None, cit.text) and timed:
                pick = min(timed, key=lambda sp: abs(sp[0] - cit.start))
            cand = Candidate(article, pick[0], pick[1], cid, cstart, cend, 0, 1.0,
                             self._speaker_at(article.id, *pick), probability=cit.score)
            if all(d.key != cand.key for d in chosen):
                chosen.append(cand)
        dates = sorted({c.article.date for c in chosen if c.article.date})
        if dates:
            notes.append("Published " + " and ".join(dates) + "; the passages below say when.")
        else:
            notes.append("The articles carry no publication date.")
        q = replace(q, since=None, until=None)
        return replace(self._compose(asked, q, chosen, False, previous.mode, None, notes,
                                     previous.confidence or 0.0),
                       fallback_reason=previous.fallback_reason)


def affiliation(text: str, speaker: str) -> str | None:
    """What an article attaches to a speaker at first mention: the capitalised words of the
    title before the name ("Foreign Ministry spokesperson Zhao Lijian" -> "Foreign
    Ministry"), else of the phrase after it ("Ned Price, a spokesman for the State
    Department" -> "State Department"). None when the article names no such thing."""
    for name in (speaker, speaker.split()[-1]):
        at = text.find(name)
        if at < 0:
            continue
        line_start = max(text.rfind(".", 0, at), text.rfind("\n", 0, at), at - 80) + 1
        m = _AFFILIATION_BEFORE.search(text[line_start:at])
        if m:
            words = [w for w in m.group(1).split() if w not in speaker.split()]
            if words and not (len(words) == 1 and words[0] in ("The", "A", "An")):
                return " ".join(words).strip(" ,")
        m = _AFFILIATION_AFTER.match(text[at + len(name): at + len(name) + 120])
        if m:
            return m.group(1).strip(" ,")
    return None


# Words of a title that say what a person is, not whom they speak for.
_NOT_A_SIDE = re.compile(
    rf"^(?:{_ROLE_NOUNS}|senior|top|deputy|former|acting|foreign|vice|assistant|special|"
    r"interim|the|a|an|monday|tuesday|wednesday|thursday|friday|saturday|sunday|january|"
    r"february|march|april|may|june|july|august|september|october|november|december)$", re.I)


def _side_key(affiliation: str) -> str | None:
    """What an affiliation stands for, as a comparable key: its first word that is not a
    role or a modifier, by stem ("Northland Foreign Minister" and "Northland's envoy": "nort")."""
    for word in affiliation.split():
        word = word.strip(",.’'s")
        if len(word) > 1 and not _NOT_A_SIDE.match(word):
            return word[:4].casefold()
    return None


def _same_side(a: str, b: str) -> bool:
    """Whether two affiliations speak for the same side ("Northland President" and "Southland
    President" do not)."""
    ka, kb = _side_key(a), _side_key(b)
    return ka is not None and ka == kb


def _joined(chosen: list[Candidate]) -> list[Candidate]:
    """Sentences that follow one another in an article become one citation span."""
    out: list[Candidate] = []
    for c in sorted(chosen, key=lambda c: (c.article.id, c.start)):
        last = out[-1] if out else None
        if last is not None and last.article.id == c.article.id and c.start >= last.end \
                and not last.article.text[last.end:c.start].strip():
            out[-1] = replace(last, end=c.end, next_end=c.next_end,
                              chunk_start=min(last.chunk_start, c.chunk_start),
                              chunk_end=max(last.chunk_end, c.chunk_end),
                              probability=max(last.probability, c.probability))
        else:
            out.append(c)
    return sorted(out, key=lambda c: -c.probability)


def _without_overlaps(chosen: list[Candidate]) -> list[Candidate]:
    """Drop a citation that overlaps a better one (two sentences of one widened quote)."""
    kept: list[Candidate] = []
    for c in chosen:
        if not any(c.article.id == d.article.id and c.start < d.end and d.start < c.end
                   for d in kept):
            kept.append(c)
    return kept


def _in_range(date: str | None, since: str | None, until: str | None) -> bool:
    if since is None and until is None:
        return True
    if date is None:
        return False
    return (since is None or date >= since) and (until is None or date <= until)


def _range_text(since: str | None, until: str | None) -> str:
    if since and until:
        return f"from {since} to {until}" if since != until else f"on {since}"
    if since:
        return f"on or after {since}"
    return f"on or before {until}"


def format_answer(answer: Answer) -> str:
    """Plain text for the terminal: the answer, how the question was read, and the sources.

    Article text is printed as it is (never interpreted as markup); the CLI passes it through
    `qa.text.terminal_safe`.
    """
    lines = [answer.text]
    if answer.resolved_question.strip() != answer.question.strip():
        lines.append(f"(Read as: {answer.resolved_question})")
    for note in answer.notes:
        lines.append(f"Note: {note}")
    if answer.citations:
        lines.append("")
        lines.append("Closest passages (not an answer):" if answer.abstained else "Sources:")
        for c in answer.citations:
            meta = " · ".join(x for x in (c.date or "undated", c.source) if x)
            lines.append(f"[{c.n}] {c.title} ({meta})")
            who = f"{c.speaker}: " if c.speaker else ""
            sentence = " ".join(c.text.split())
            if not sentence.startswith(("“", '"', "‘", "'")):
                sentence = f"“{sentence}”"  # a sentence that opens a quote has its own marks
            lines.append(f"    {who}{sentence}")
            if c.url:
                lines.append(f"    {c.url}")
    if answer.mode == "bm25" and answer.fallback_reason:
        lines.append(f"(Lexical search only: {answer.fallback_reason})")
    return "\n".join(lines)
