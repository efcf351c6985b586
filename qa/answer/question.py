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

from ..dates import dates_in_question, parse_date
from ..errors import QueryError
from ..corpus.nlp import NLPUnavailableError
from ..corpus.quotes import find_speaker
from ..text import terms
from .answer_type import AnswerType, answer_type
from .conversation import Turn, refers_to_previous_answer, resolve_followup

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
        since, until: the publication-date filter (ISO days), from the caller or the question.
        dates_from_question: the filter was read from the question's own words.
        speaker: whose words a who-said-what question asks for, or None.
        answer_type: the kind of phrase that answers it, from its parse.
        about_previous_answer: "When was that?" and the like: a question about the last answer.
        notes: what the reader should know about how the question was read.
    """

    asked: str
    resolved: str
    search: str
    since: str | None = None
    until: str | None = None
    dates_from_question: bool = False
    speaker: str | None = None
    answer_type: AnswerType = field(default_factory=AnswerType)
    about_previous_answer: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def terms(self) -> list[str]:
        """The searched words as BM25 terms (stemmed, stop-words removed)."""
        return terms(self.search)


def read_question(text: str, history: Sequence[Turn] = (), *, since: str | None = None,
                  until: str | None = None, today: _dt.date | None = None,
                  question_dates: bool = True) -> Question:
    """Read a question (see `Question`).

    Args:
        text: the question as typed.
        history: earlier turns, oldest first (question strings or `Answer`s).
        since, until: a date filter given by the caller; it wins over dates in the question.
        today: the corpus's "today" (its newest article's date), for a month with no year.
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
    q_since = q_until = None
    search = resolved
    if question_dates:
        q_since, q_until, search = dates_in_question(resolved, today=today)
    from_question = since is None and until is None and bool(q_since or q_until)
    if from_question:
        since, until = q_since, q_until
    since = parse_date(since, name="since")
    until = parse_date(until, name="until", end=True)
    if since and until and since > until:
        raise QueryError(f"The date range is empty: {since} is after {until}. "
                         "Swap the two dates, or drop one.")
    if not terms(search) and not about_previous:
        raise QueryError("The question has no words to search for (only common words or "
                         "punctuation). Name a person, place or event from the articles.")
    try:
        asked_for = answer_type(search)
    except NLPUnavailableError as exc:
        asked_for = AnswerType()
        notes.append(f"The question was read without its parse: {exc}")
    return Question(asked=asked, resolved=resolved, search=search, since=since, until=until,
                    dates_from_question=from_question, speaker=find_speaker(search),
                    answer_type=asked_for, about_previous_answer=about_previous,
                    notes=tuple(notes))
