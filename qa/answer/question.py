"""Reading a question: one typed value with everything the answerer needs to know about it.

A question is read once, before anything is searched: the follow-up it may be (resolved
against the history, `qa.conversation`), the publication dates it names (`qa.dates`), the
person whose words it asks for (`qa.corpus.quotes.find_speaker`), and the kind of answer it wants
(`qa.answer.answer_type`: a person, a time, a place, a number, a reason, a role for "Who is
X?", a noun phrase).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..corpus.nlp import NLPUnavailableError
from ..corpus.quotes import find_speaker
from ..dates import dates_in_question
from ..errors import QueryError
from ..text import terms
from ..types import ANY_DATE, DateRange
from .answer_type import AnswerType, answer_type
from .conversation import (
    MovingOn,
    Turn,
    moving_on,
    refers_to_previous_answer,
    resolve_followup,
    without_moving_on,
)

#: Longer questions are cut at a word boundary (a pasted article is not a question).
MAX_QUESTION_CHARS = 1000
#: Earlier turns read for a follow-up.
HISTORY_TURNS = 6

@dataclass(frozen=True)
class Question:
    """A question as the answerer reads it.

    Attributes:
        asked: what was typed, spaces folded and cut to MAX_QUESTION_CHARS.
        resolved: the question standing on its own (a follow-up's pronouns replaced).
        search: what is searched: `resolved` without the date phrase it names.
        dates: the publication dates searched, from the caller or (`from_question`) from the
            question's own words.
        date_words: those words ("last week", "in February 2022"), or None.
        recent_dates: they count back from the reference day ("last week", "yesterday"):
            about when articles appeared, so never widened to all articles.
        speaker: whose words a who-said-what question asks for, or None.
        answer_type: the kind of phrase that answers it, from its parse.
        about_previous_answer: "When was that?" and the like: a question about the last answer.
        moving_on: for "What did he say next?", "What else?": what it may not cite again.
        notes: what the reader should know about how the question was read.
    """

    asked: str
    resolved: str
    search: str
    dates: DateRange = ANY_DATE
    date_words: str | None = None
    recent_dates: bool = False
    speaker: str | None = None
    answer_type: AnswerType = field(default_factory=AnswerType)
    about_previous_answer: bool = False
    moving_on: MovingOn | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def terms(self) -> list[str]:
        """The searched words as BM25 terms (stemmed, stop-words removed)."""
        return terms(self.search)


def read_question(text: str, history: Sequence[Turn] = (), *, dates: DateRange = ANY_DATE,
                  reference: _dt.date | None = None, question_dates: bool = True) -> Question:
    """Read a question (see `Question`).

    Args:
        text: the question as typed.
        history: earlier turns, oldest first (question strings or `Answer`s).
        dates: a date filter given by the caller (`qa.dates.read_range`); when bounded it
            wins over dates in the question.
        reference: the day relative dates count from (`Retriever.reference_day`; default
            today).
        question_dates: read dates written in the question as a publication-date filter.

    Raises:
        QueryError: the question is empty or has no words to search for; its dates are
            outside the years qa can search.
    """
    if not isinstance(text, str) or not text.strip():
        raise QueryError("The question is empty. Ask something about the articles, "
                         "for example “Who leads the union?”.")
    notes: list[str] = []
    asked = " ".join(text.split())
    if len(asked) > MAX_QUESTION_CHARS:
        cut = asked.rfind(" ", 0, MAX_QUESTION_CHARS)
        asked = asked[: cut if cut > 0 else MAX_QUESTION_CHARS]
        notes.append(f"The question was shortened to its first {len(asked)} characters.")
    turns = list(history)[-HISTORY_TURNS:]
    resolved = resolve_followup(asked, turns)
    about_previous = bool(turns) and refers_to_previous_answer(asked)
    search, words, recent = resolved, None, False
    written = dates_in_question(resolved, reference) if question_dates else None
    if written is not None:
        search = written.question  # the date words would skew the search either way
        if not dates.bounded:
            dates, words, recent = written.dates, written.words, written.recent
    moves_on = moving_on(asked, turns)
    if moves_on is not None and terms(without_moving_on(search)):
        search = without_moving_on(search)
    if dates.since and dates.until and dates.since > dates.until:
        raise QueryError(f"The date range is empty: {dates.since} is after {dates.until}. "
                         "Swap the two dates, or drop one.")
    if not terms(search) and not about_previous:
        raise QueryError("The question has no words to search for (only common words or "
                         "punctuation). Name a person, place or event from the articles.")
    try:
        asked_for = answer_type(search)
    except NLPUnavailableError as exc:
        asked_for = AnswerType()
        notes.append(f"The question was read without its parse: {exc}")
    return Question(asked=asked, resolved=resolved, search=search, dates=dates,
                    date_words=words, recent_dates=recent, speaker=find_speaker(search),
                    answer_type=asked_for, about_previous_answer=about_previous,
                    moving_on=moves_on, notes=tuple(notes))
