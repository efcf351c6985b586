"""Follow-up questions: read a question in the light of the turns before it.

After "Who is Ada Okafor?", "What did she say about the alliance?" means "What did Ada Okafor
say about the alliance?"; "When was that?" asks about the previous answer. The resolved question is shown
to the user, so the rewriting is plain string substitution a reader can check.

A follow-up that moves on ("What did he say next?", "What else?", "Anything more?") must not
cite again what the conversation already cited (`moving_on`); "next", "then" and "later" also
keep to what comes after the previous answer, in its articles and in time.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from qa.types import Answer

__all__ = ["resolve_followup", "refers_to_previous_answer", "previous_entity", "Turn",
           "MovingOn", "moving_on", "without_moving_on"]

Turn = str | Answer

_QUESTION_WORDS = {
    "who", "what", "when", "where", "why", "how", "which", "did", "does", "do", "is", "are",
    "was", "were", "has", "have", "can", "could", "should", "would", "will", "tell", "and",
    "but", "so", "the", "a", "an", "in", "on", "at", "about", "according", "list", "show",
}
_NAME = re.compile(r"\b[A-Z][\w’'.-]*(?:\s+(?:of\s+)?[A-Z][\w’'.-]*)*")
_PERSON_PRONOUNS = re.compile(r"\b(he|she|him|her|his|hers)\b", re.IGNORECASE)
_PLURAL_PRONOUNS = re.compile(r"\b(they|them|their)\b", re.IGNORECASE)
_THING_PRONOUNS = re.compile(r"\b(it|that|this)\b", re.IGNORECASE)
_WHEN_THAT = re.compile(
    r"^\s*(?:and\s+)?(?:when|what date|what day)\s+(?:was|is|did|were)\s+(?:that|this|it)"
    r"(?:\s+(?:said|written|published|stated|happen(?:ed)?|reported))?\s*\??\s*$",
    re.IGNORECASE,
)
_BARE_THAT = re.compile(
    r"^\s*(?:(?:and\s+)?(?:why|where|who said that|says who|source)\??|what about (?:that|it)\??|"
    r"(?:why|where|how) (?:was|is|did) (?:that|it|this)(?: happen| said)?\s*\??)\s*$",
    re.IGNORECASE,
)


def _question_of(turn: Turn) -> str:
    return turn.resolved_question if isinstance(turn, Answer) else str(turn)


def previous_entity(history: Sequence[Turn]) -> str | None:
    """The most recent named entity (person first) asked about in earlier turns."""
    from ..corpus.quotes import find_speaker

    for turn in reversed(list(history)):
        q = _question_of(turn)
        speaker = find_speaker(q)
        if speaker:
            return speaker
        names = [
            m.group(0) for m in _NAME.finditer(q)
            if m.group(0).split()[0].lower() not in _QUESTION_WORDS or len(m.group(0).split()) > 1
        ]
        cleaned = []
        for n in names:
            words = n.split()
            while words and words[0].lower() in _QUESTION_WORDS:
                words = words[1:]
            if words:
                cleaned.append(" ".join(words).rstrip("?.!,"))
        if cleaned:
            # Prefer a multi-word name ("Jane Doe") over a place ("Springfield").
            cleaned.sort(key=lambda n: -len(n.split()))
            return cleaned[0]
        if isinstance(turn, Answer):
            for c in turn.citations:
                if c.speaker:
                    return c.speaker
    return None


def refers_to_previous_answer(question: str) -> bool:
    """True for "When was that?" and similar questions about the previous answer itself."""
    return bool(_WHEN_THAT.match(question) or _BARE_THAT.match(question))


def resolve_followup(question: str, history: Sequence[Turn] = ()) -> str:
    """Rewrite a follow-up question so it stands on its own.

    Args:
        question: the new question.
        history: earlier turns, oldest first: question strings or `Answer` objects.

    Returns:
        The question with pronouns replaced by the entity of the previous turns ("What did
        Ada Okafor say about the alliance?"), or, for "When was that?", the question tied to the
        previous one ("When was that? (re: What did Okafor say about the meeting?)").
        The question unchanged when there is no history or nothing to resolve.
    """
    q = question.strip()
    if not history or not q:
        return q
    prev_q = _question_of(history[-1]).strip()
    if refers_to_previous_answer(q):
        return f"{q.rstrip('?').rstrip()}? (re: {prev_q})"
    entity = previous_entity(history)
    if not entity:
        return q
    if _PERSON_PRONOUNS.search(q):
        from ..corpus.quotes import is_person, person_in

        # "Why did Ben Carter end his campaign?": "his" is Carter's, whoever the previous
        # question was about. A pronoun is replaced only when the question names no person of
        # its own (after its first word, which is capitalised anyway).
        named = person_in(q.split(" ", 1)[1] if " " in q else "")
        if named and is_person(named, ()):  # a full name; one word could be a place
            return q

        def person(m: re.Match[str]) -> str:
            w = m.group(1).lower()
            return entity + "’s" if w in ("his", "hers") else entity
        # "her" is ambiguous (object or possessive); both read fine as the name.
        return _PERSON_PRONOUNS.sub(person, q, count=2)
    if _PLURAL_PRONOUNS.search(q):
        return _PLURAL_PRONOUNS.sub(
            lambda m: entity + "’s" if m.group(1).lower() == "their" else entity, q, count=2
        )
    # "What else did it say?" / "What about the treaty?" keep the topic of the previous question.
    if re.match(r"^\s*(?:and\s+)?what about\b", q, re.IGNORECASE):
        return f"{q.rstrip('?')} ({entity})?"
    return q


# "What else", "also", "more" (not "more than"), "another", "further": something not said yet.
_MORE = re.compile(r"\b(?:else|also|another|further|besides|more(?!\s+than\b))\b", re.IGNORECASE)
# "next", "then", "later", "after that", "afterwards": what came after the previous answer.
_NEXT = re.compile(r"\b(?:next|then|later|after\s+that|afterwards|subsequently)\b", re.IGNORECASE)


@dataclass(frozen=True)
class MovingOn:
    """What a follow-up that moves on may cite.

    Attributes:
        cited: every span the conversation's answers cited, as (article id, start, end).
        forward: only what comes after the previous answer ("next", "then", "later").
        newest: the newest publication date the previous answer cited (ISO), or None.
        ends: for each article the previous answer cited, where its last citation ends.
    """

    cited: tuple[tuple[str, int, int], ...]
    forward: bool = False
    newest: str | None = None
    ends: tuple[tuple[str, int], ...] = ()

    def allows(self, article_id: str, date: str | None, start: int, end: int) -> bool:
        """Whether a sentence is new to the conversation (and, for "next", comes after the
        previous answer: later in an article it cited, or in an article no older)."""
        if any(a == article_id and s < end and start < e for a, s, e in self.cited):
            return False
        if not self.forward:
            return True
        ends = dict(self.ends)
        if article_id in ends:
            return start >= ends[article_id]
        return date is None or self.newest is None or date >= self.newest


def moving_on(question: str, history: Sequence[Turn]) -> MovingOn | None:
    """How a follow-up that asks for more ("next", "else", "also", "more") keeps off what
    the conversation already cited; None for any other question, or without earlier answers."""
    answers = [t for t in history if isinstance(t, Answer)]
    if not answers or not (_MORE.search(question) or _NEXT.search(question)):
        return None
    cited = tuple((c.article_id, c.start, c.end) for a in answers if not a.abstained
                  for c in a.citations)
    previous = next((a for a in reversed(answers) if not a.abstained and a.citations), None)
    if not cited or previous is None:
        return None
    ends: dict[str, int] = {}
    for c in previous.citations:
        ends[c.article_id] = max(ends.get(c.article_id, 0), c.end)
    dates = [c.date for c in previous.citations if c.date]
    return MovingOn(cited, forward=bool(_NEXT.search(question)),
                    newest=max(dates) if dates else None, ends=tuple(ends.items()))


def without_moving_on(question: str) -> str:
    """The question less the words that ask to move on ("What did X say next?" searches as
    "What did X say?"): they name no part of the answer, and would only skew the search."""
    out = _NEXT.sub(" ", _MORE.sub(" ", question))
    out = re.sub(r"\s+([?.!,])", r"\1", out)
    return re.sub(r"\s{2,}", " ", out).strip()
