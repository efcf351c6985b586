"""Composing an answer from ranked candidates: which sentences are cited, in what order, the
answer phrase inside them, and the text shown.

The best sentence is cited; the next best too when the best is not sure, and the sentence
right after the best when it is even less sure (adjacent sentences become one span); a
quotation is cited whole; when every cited quote speaks for one side, the best quote from
another side is added if it comes close. Citations are in publication order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Literal

import numpy as np

from ..corpus.quotes import speaker_matches
from ..types import QUOTE, Answer, AnswerPhrase, Citation, Mode
from . import phrase_parse
from .answer_type import AnswerType
from .candidates import Candidate
from .evidence import Evidence
from .phrase import paired_quotes
from .question import Question
from .scoring import AnswerModel

NO_ANSWER = "The articles don't say."
# Two sentences sharing this share of their words (Jaccard), or this cosine, are one.
DUPLICATE_JACCARD = 0.6
DUPLICATE_COSINE = 0.92
# A quotation that runs over several sentences is cited whole, up to this many characters.
MAX_QUOTE_CHARS = 700
# A speaker's own words, or another side's view, are cited when their probability is at least
# this share of the best sentence's (a rule of composition, not fitted).
OTHER_VIEW_SHARE = 0.6
# How a confidence reads in words: at least the first bar "sure", the second "likely".
SURE, LIKELY = 0.8, 0.5
_SIDE_LABELS = ("ORG", "GPE", "NORP")


def certainty(confidence: float | None) -> str | None:
    """The confidence of an answer in words: "sure", "likely" or "unsure"."""
    if confidence is None:
        return None
    return "sure" if confidence >= SURE else "likely" if confidence >= LIKELY else "unsure"


class Composer:
    """Chooses and lays out the cited sentences of one answer.

    Args:
        evidence: the generation the answer reads.
        max_sentences: at most this many citations.
    """

    def __init__(self, evidence: Evidence, max_sentences: int) -> None:
        self.evidence = evidence
        self.max_sentences = max_sentences

    def choose(self, ranked: list[Candidate], model: AnswerModel) -> list[Candidate]:
        """The best sentence, then the next ones in rank order while they come close to it
        (`AnswerModel.share`), up to `most` sentences and `budget` characters; a sentence
        that repeats a chosen one is passed over. Adjacent sentences become one span."""
        chosen = picked(ranked, model, min(model.most, self.max_sentences),
                        lambda c, d: self.near_duplicate(c, d))
        return joined(chosen)

    def distinct(self, ranked: list[Candidate], limit: int) -> list[Candidate]:
        """The best `limit` candidates, near-duplicates left out."""
        chosen: list[Candidate] = []
        for c in ranked:
            if len(chosen) >= limit:
                break
            if not any(self.near_duplicate(c, d) for d in chosen):
                chosen.append(c)
        return chosen

    def near_duplicate(self, a: Candidate, b: Candidate) -> bool:
        if a.key == b.key:
            return True
        ta, tb = set(a.terms), set(b.terms)
        if ta and tb and len(ta & tb) / len(ta | tb) >= DUPLICATE_JACCARD:
            return True
        va, vb = self.evidence.vector(a.chunk_id, a.start), self.evidence.vector(b.chunk_id, b.start)
        return va is not None and vb is not None and float(np.dot(va, vb)) >= DUPLICATE_COSINE

    # --- sides ------------------------------------------------------------------------------
    def add_other_side(self, chosen: list[Candidate], ranked: list[Candidate],
                       notes: list[str]) -> list[Candidate]:
        """When every cited quote speaks for one side, add the best quote from another side,
        if it comes close. A side is the organisation, place or group the article names
        with the speaker ("the union's leader X", "X, a spokeswoman for the club")."""
        sides = {s for s in (self.side(c) for c in chosen if c.speaker) if s}
        keys = {side_key(side) for side in sides}
        if len(keys) > 1:
            notes.append("The sources speak for different sides: " + ", ".join(sorted(sides)) + ".")
        if len(keys) != 1 or len(chosen) >= self.max_sentences:
            return chosen
        bar = chosen[0].probability * OTHER_VIEW_SHARE
        for c in ranked:
            if c.probability < bar:
                break
            side = self.side(c) if c.speaker else None
            if side and side_key(side) not in keys \
                    and not any(self.near_duplicate(c, d) for d in chosen):
                notes.append(f"Both sides: {next(iter(sides))} and {side}.")
                return chosen + [c]
        return chosen

    def side(self, c: Candidate) -> str | None:
        """The organisation, place or group the article attaches to the speaker, or None."""
        if not c.speaker:
            return None
        phrases, _ = self.evidence.phrases(c.article.id)
        return affiliation(c.article.text, phrases, c.speaker)

    # --- quotations -------------------------------------------------------------------------
    def whole_quote(self, c: Candidate) -> Candidate:
        """Widen a sentence to the whole quotation it is part of (same chunk, not too long):
        "…he wrote on social media." alone leaves out what he wrote."""
        for quote in self.evidence.quotes_in(c.article.id):
            s, e = quote.sentence
            if not (s < c.end and e > c.start):
                continue
            s, e = min(s, c.start), max(e, c.end)
            if (s, e) != (c.start, c.end) and c.chunk_start <= s and e <= c.chunk_end \
                    and e - s <= MAX_QUOTE_CHARS:
                return replace(c, start=s, end=e)
        return c

    # --- the answer -------------------------------------------------------------------------
    def compose(self, asked: str, q: Question, chosen: Sequence[Candidate], abstained: bool,
                mode: Mode | Literal["quotes"], reason: str | None, notes: list[str],
                confidence: float) -> Answer:
        """The `Answer`: citations in publication order, each sentence once, and the answer
        phrase of the best cited sentence that holds one."""
        best_first = list(chosen)
        if not abstained:
            # Publication order, so the reader can follow the story.
            chosen = sorted(chosen, key=lambda c: (c.article.date or "9999", c.article.id, c.start))
        citations = tuple(citation(i + 1, c) for i, c in enumerate(chosen))
        if abstained:
            phrase = None
        elif q.speaker and not q.answer_type.typed:
            # "What did X say …?": what answers is X's words, not a noun phrase near them
            phrase = self.quoted(best_first, citations, q.speaker)
        else:
            phrase = answer_phrase(best_first, citations, q.search, q.answer_type)
        if abstained:
            text = NO_ANSWER
        else:
            text = answer_text(citations)
        return Answer(
            question=asked, resolved_question=q.resolved, text=text, citations=citations,
            abstained=abstained, mode=mode, fallback_reason=reason if mode == "bm25" else None,
            date_range=q.dates, notes=tuple(notes), confidence=round(confidence, 4),
            generation=self.evidence.generation, answer=phrase,
            certainty=None if abstained else certainty(confidence),
        )

    def quoted(self, best_first: Sequence[Candidate], citations: Sequence[Citation],
               speaker: str) -> AnswerPhrase | None:
        """The speaker's words (a quotation or reported clause found at index time) in the
        best cited sentence that holds some, as the answer phrase; None when no cited
        sentence quotes them."""
        for c in best_first:
            cit = _citation_of(c, citations)
            if cit is None:
                continue
            for quote in self.evidence.quotes_in(c.article.id):
                if cit.start <= quote.start and quote.end <= cit.end \
                        and speaker_matches(speaker, quote.speaker):
                    return AnswerPhrase(text=c.article.text[quote.start:quote.end],
                                        start=quote.start, end=quote.end,
                                        article_id=cit.article_id, n=cit.n, label=QUOTE)
        return None


def _citation_of(c: Candidate, citations: Sequence[Citation]) -> Citation | None:
    """The citation whose span holds a candidate's sentence."""
    return next((cit for cit in citations if cit.article_id == c.article.id
                 and cit.start <= c.start and c.end <= cit.end), None)


def picked(ranked: Sequence[Candidate], model: AnswerModel, most: int,
           same: Callable[[Candidate, Candidate], bool] | None = None) -> list[Candidate]:
    """The candidates an answer cites (see `Composer.choose`), best first."""
    best = ranked[0]
    chosen, chars = [best], len(best.text)
    for c in ranked[1:]:
        if len(chosen) >= most or c.probability < model.share * best.probability:
            break
        if chars + len(c.text) > model.budget or (same and any(same(c, d) for d in chosen)):
            continue
        chosen.append(c)
        chars += len(c.text)
    return chosen


def citation(n: int, c: Candidate) -> Citation:
    a = c.article
    return Citation(
        n=n, article_id=a.id, title=a.title, date=a.date, source=a.source, url=a.url,
        text=a.text[c.start:c.end], start=c.start, end=c.end,
        score=round(c.probability, 4), chunk_text=a.text[c.chunk_start:c.chunk_end],
        chunk_start=c.chunk_start, chunk_end=c.chunk_end, speaker=c.speaker,
    )


def answer_phrase(best_first: Sequence[Candidate], citations: Sequence[Citation],
                  question: str, asked: AnswerType) -> AnswerPhrase | None:
    """The phrase that answers, of all the phrases of the cited sentences, chosen by their
    place in the sentence's parse beside their characters (`phrase_parse.best`); it lies
    inside its citation's span (`article.text[start:end] == text`)."""
    held: list[tuple[Candidate, Citation]] = []
    for c in best_first:
        cit = _citation_of(c, citations)
        if cit is not None and c.found:
            held.append((c, cit))
    chosen = phrase_parse.best([phrase_parse.Cited(c.article.text, c.start, c.end, c.found,
                                                   c.probability) for c, _ in held], question,
                                asked)
    if chosen is None:
        return None
    n, found = chosen
    c, cit = held[n]
    start, end = paired_quotes(c.article.text, found.start, found.end, cit.start, cit.end)
    return AnswerPhrase(text=c.article.text[start:end], start=start, end=end,
                        article_id=cit.article_id, n=cit.n, label=found.label)


def affiliation(text: str, phrases: Sequence, speaker: str) -> str | None:  # type: ignore[type-arg]
    """What an article attaches to a speaker at first mention: an organisation, place or group
    (an entity found at index time) in the speaker's own noun phrase before the name ("the
    Harbour Union's leader X"), else in the words right after it ("X, a spokeswoman for the
    Harbour Union, said"). None when the article names no such thing."""
    for name in (speaker, speaker.split()[-1]):
        at = text.find(name)
        if at < 0:
            continue
        stop = at + len(name)
        for p in phrases:  # the noun phrase holding the name, then entities inside it
            if p.label == "NP" and p.start <= at and p.end >= stop:
                inside = [e for e in phrases if e.label in _SIDE_LABELS and p.start <= e.start
                          and e.end <= at]
                if inside:
                    return _bare(text[inside[-1].start:inside[-1].end])
                # An organisation the model did not tag: the capitalised words that open the
                # phrase ("Riverton captain X"), before its title.
                words = text[p.start:at].split()
                lead = []
                for word in words:
                    if not word[:1].isupper():
                        break
                    lead.append(word)
                if 0 < len(lead) < len(words):
                    return _bare(" ".join(lead))
        clause = text[stop:stop + 120]
        cut = min((i for i in (clause.find(" said"), clause.find(". ")) if i >= 0),
                  default=len(clause))
        after = [e for e in phrases if e.label in _SIDE_LABELS and stop <= e.start
                 and e.end <= stop + cut and text[stop:e.start].lstrip().startswith(",")]
        if after:
            return _bare(text[after[0].start:after[0].end])
    return None


def _bare(name: str) -> str:
    """An affiliation without its article: "the Harbour Union" -> "Harbour Union"."""
    return name[4:] if name[:4].casefold() == "the " else name


def side_key(affiliation: str) -> str:
    """What an affiliation stands for, as a comparable key: its first word, case-folded and
    without a possessive ("Riverton" and "Riverton Supporters Trust" are one side)."""
    word = affiliation.split()[0] if affiliation.split() else affiliation
    for ending in ("’s", "'s"):
        word = word.removesuffix(ending)
    return word.strip(",.").casefold()


def joined(chosen: list[Candidate]) -> list[Candidate]:
    """Sentences that follow one another in an article become one citation span."""
    out: list[Candidate] = []
    for c in sorted(chosen, key=lambda c: (c.article.id, c.start)):
        last = out[-1] if out else None
        if last is not None and last.article.id == c.article.id and c.start >= last.end \
                and not last.article.text[last.end:c.start].strip():
            better, other = (last, c) if last.probability >= c.probability else (c, last)
            out[-1] = replace(last, end=c.end, next_end=c.next_end,
                              chunk_start=min(last.chunk_start, c.chunk_start),
                              chunk_end=max(last.chunk_end, c.chunk_end),
                              probability=better.probability, found=better.found + other.found)
        else:
            out.append(c)
    return sorted(out, key=lambda c: -c.probability)


def without_overlaps(chosen: list[Candidate]) -> list[Candidate]:
    """Drop a citation that overlaps a better one (two sentences of one widened quote)."""
    kept: list[Candidate] = []
    for c in chosen:
        if not any(c.article.id == d.article.id and c.start < d.end and d.start < c.end
                   for d in kept):
            kept.append(c)
    return kept


def shown_sentence(cit: Citation, phrase: AnswerPhrase | None = None,
                   marks: tuple[str, str] = ("", "")) -> str:
    """A cited sentence as shown: its whitespace folded, the answer phrase between `marks`
    when it lies in this citation."""
    if phrase is None or phrase.n != cit.n or not marks[0] \
            or not (cit.start <= phrase.start < phrase.end <= cit.end):
        return " ".join(cit.text.split())
    a, b = phrase.start - cit.start, phrase.end - cit.start
    before, inside, after = cit.text[:a], cit.text[a:b], cit.text[b:]
    folded = [" ".join(part.split()) for part in (before, inside, after)]
    head = folded[0] + (" " if folded[0] and before[-1:].isspace() else "")
    tail = (" " if folded[2] and after[:1].isspace() else "") + folded[2]
    return f"{head}{marks[0]}{folded[1]}{marks[1]}{tail}"


def answer_text(citations: Sequence[Citation], phrase: AnswerPhrase | None = None,
                marks: tuple[str, str] = ("", "")) -> str:
    """The answer's text: each cited sentence with its `[n]`, a date line when the date
    changes, and the speaker when the sentence does not name them."""
    parts: list[str] = []
    current_date: str | None = None
    for cit in citations:
        if cit.date and cit.date != current_date:
            parts.append(f"(as of {cit.date})")
            current_date = cit.date
        sentence = shown_sentence(cit, phrase, marks)
        if cit.speaker and cit.speaker.split()[-1] not in cit.text:
            sentence = f"{cit.speaker}: {sentence}"
        parts.append(f"{sentence} [{cit.n}]")
    return " ".join(parts)


def phrase_in_text(answer: Answer) -> tuple[int, int] | None:
    """Where the answer phrase stands in `answer.text` (for a view that styles it), or None."""
    if answer.answer is None or answer.abstained:
        return None
    marks = ("\ue000", "\ue001")
    marked = answer_text(answer.citations, answer.answer, marks)
    if marked.replace(marks[0], "").replace(marks[1], "") != answer.text or marks[0] not in marked:
        return None
    start = marked.index(marks[0])
    return start, marked.index(marks[1]) - 1


def format_answer(answer: Answer, marks: tuple[str, str] = ("", "")) -> str:
    """Plain text for the terminal: the answer, how sure qa is, how the question was read,
    and the sources. The answer phrase is put between `marks` (the CLI gives bold on a
    terminal).

    Article text is printed as it is (never interpreted as markup); the CLI passes it through
    `qa.text.terminal_safe` before adding the marks.
    """
    phrase = answer.answer
    lines = [answer.text if answer.abstained or not marks[0]
             else answer_text(answer.citations, phrase, marks)]
    if answer.certainty and not answer.abstained:
        lines.append(f"({answer.certainty}"
                     + (f"; the answer: the words quoted in [{phrase.n}]" if phrase is not None
                        and phrase.label == QUOTE else
                        f"; the answer: {marks[0]}{' '.join(phrase.text.split())}{marks[1]}"
                        if phrase is not None else "") + ")")
    if answer.resolved_question.strip() != answer.question.strip():
        lines.append(f"(Read as: {answer.resolved_question})")
    if answer.date_range.bounded:
        lines.append(f"(Dates: articles published {answer.date_range.text()}"
                     f"{', as the question asks' if answer.date_range.from_question else ''})")
    for note in answer.notes:
        lines.append(f"Note: {note}")
    if answer.citations:
        lines.append("")
        lines.append("Closest passages (not an answer):" if answer.abstained else "Sources:")
        for c in answer.citations:
            meta = " · ".join(x for x in (c.date or "undated", c.source) if x)
            lines.append(f"[{c.n}] {c.title} ({meta})")
            who = f"{c.speaker}: " if c.speaker else ""
            lines.append(f"    {who}{shown_sentence(c, phrase, marks)}")
            if c.url:
                lines.append(f"    {c.url}")
    if answer.mode == "bm25" and answer.fallback_reason:
        lines.append(f"(Lexical search only: {answer.fallback_reason})")
    return "\n".join(lines)
