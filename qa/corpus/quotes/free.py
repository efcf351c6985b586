"""Quotations no cue governs: the continuation of the quote before them, a quotation after
a colon that ends its speaker's sentence ('Ada Okafor disagreed: "…"', 'Acme issued a
statement: "…"'), a caption's quotation, and words quoted in the first person in a sentence
about someone. Any other is narration (titles, scare quotes, names).
"""

from __future__ import annotations

import bisect
import re
from typing import TYPE_CHECKING, Protocol

from .cues import COURT_VERBS, SPEECH_VERBS, STATEMENT_NOUNS
from .names import names_something
from .scan import Quotation, Table, court_decides
from .speakers import PERSON, Speaker, Speakers, subject_of

if TYPE_CHECKING:
    from qa.types import Quote


class Emitted(Protocol):
    """The quotes found so far (`extract.Emitted`): the last one, and a span given once."""

    last: Quote | None

    def add(self, start: int, end: int, speaker: Speaker, cue: str) -> bool:
        """Give [start, end) to `speaker`, unless part of it is given already."""
        ...

_BLANK_TO_LINE_END = re.compile(r"[^\S\n]*\n")
# Words of someone speaking of themselves.
_FIRST_PERSON = re.compile(r"\b(?:I|I'm|I've|I'd|I'll|my|me|myself)\b")
# A caption line under a quotation: the speaker's name with a role, and no sentence.
_CAPTION_WORDS = 6
# How far back a quotation looks for the start of its line or the quote it continues.
_LOOK_BACK = 1000


def free_quotation(q: Quotation, text: str, who: Speakers, emitted: Emitted,
                    tables: list[Table]) -> None:
    """A quotation no cue governs: the continuation of the quote before it in the same
    paragraph, a quotation a person's sentence introduces with a colon, or a caption's
    quotation; otherwise narration."""
    prev = emitted.last
    # (every look back is bounded: a text with no line breaks is read in linear time)
    line_start = text.rfind("\n", max(0, q.start - _LOOK_BACK), q.start) + 1 \
        or max(0, q.start - _LOOK_BACK)
    k = q.start
    while k > line_start and text[k - 1] in " \t\u00a0":
        k -= 1
    # It opens a sentence: at the start of its line, or after a full stop ('…," said X. "…')
    opens = k <= line_start or text[k - 1] in ".!?" or (
        text[k - 1] in "\"”" and k - 2 >= line_start and text[k - 2] in ".!?")
    if prev is not None and opens and 0 <= q.start - prev.end <= _LOOK_BACK \
            and "\n" not in text[prev.end: q.start]:
        emitted.add(q.start, q.end, Speaker(prev.speaker, PERSON), "continued")
        return
    colon = _colon_before(text, q.start)
    if colon >= 0:
        found = _colon_speaker(colon, tables, who)
        if found is not None and emitted.add(q.start, q.end, found[0], found[1]):
            who.heard(found[0], q.start)
        return
    if not text[line_start: q.start].strip():
        speaker = _caption(text, q.end, who)
        if speaker is not None and emitted.add(q.start, q.end, speaker, "caption"):
            who.heard(speaker, q.start)
        return
    speaker = _first_person(q, text, tables, who)
    if speaker is not None:
        emitted.add(q.start, q.end, speaker, "")


def _first_person(q: Quotation, text: str, tables: list[Table], who: Speakers) -> Speaker | None:
    """The person a sentence is about, for words it quotes in the first person with no cue:
    'Ada Okafor chooses "to play the ones I loved as a child"'. Not a title ("I Remember Elm Street")."""
    words = text[q.start + 1: q.end - 1]
    if not _FIRST_PERSON.search(words) or names_something(words):
        return None
    k = bisect.bisect_right([t.offset for t in tables], q.start) - 1
    if k < 0:
        return None
    table = tables[k]
    i = bisect.bisect_right(table.token_chars, q.start - table.offset) - 1
    if i < 0:
        return None
    root = table.doc[i].sent.root
    subject = subject_of(root)
    if subject is None or who.quoted.inside(table.offset + subject.idx):
        return None
    speaker = who.of_subject(subject, table.offset)
    return speaker if speaker is not None and speaker.kind == PERSON else None


def _colon_before(text: str, at: int) -> int:
    """Where the colon that introduces a quotation at `at` is, or -1: 'X disagreed: "…"', on
    the same line or at the end of the line before."""
    k = at
    while k > 0 and at - k < _LOOK_BACK and text[k - 1].isspace():
        k -= 1
    return k - 1 if k > 0 and text[k - 1] == ":" and text.count("\n", k, at) <= 2 else -1


def _colon_speaker(colon: int, tables: list[Table], who: Speakers) -> tuple[Speaker, str] | None:
    """The person whose sentence ends with the colon before a quotation, and its verb: 'Ada
    Okafor disagreed with the findings: "…"'; or the organisation, where the sentence says it
    spoke or issued a statement. A document or a study introducing a quotation ("the report
    outlined:") is no speaker."""
    k = bisect.bisect_right([t.offset for t in tables], colon) - 1
    if k < 0:
        return None
    table = tables[k]
    i = bisect.bisect_right(table.token_chars,
                            colon - table.offset) - 1
    if i < 0:
        return None
    lo = table.sentence_of(i)[0]
    doc = table.doc
    # the verb of the words before the colon: the one whose head is not among them
    root = next((doc[j] for j in range(lo, i) if doc[j].tag_.startswith("VB")
                 and not lo <= doc[j].head.i < i or doc[j].head.i == j), None)
    if root is None or not root.tag_.startswith("VB"):
        return None
    subject = subject_of(root)
    # 'X issued the following statement from Y: "…"': the statement's issuer
    statement = next((c for c in root.children if c.dep_ == "dobj"
                      and c.lower_ in STATEMENT_NOUNS), None)
    speaker = who.of_subject(statement, table.offset) if statement is not None else None
    if speaker is None:
        speaker = who.of_subject(subject, table.offset) if subject is not None else None
    if speaker is None:
        return None
    if speaker.kind != PERSON and (subject is None or subject.lower_ in STATEMENT_NOUNS or not (
            root.lower_ in SPEECH_VERBS or root.lower_ in COURT_VERBS and court_decides(root)
            or any(doc[j].lower_ in STATEMENT_NOUNS for j in range(lo, i)))):
        # an organisation whose sentence says it spoke: 'In a statement, Acme defended the
        # move: "…"', 'Acme issued a statement: "…"'; a text is none ("the report outlined:")
        return None
    return speaker, root.text


def _caption(text: str, pos: int, who: Speakers) -> Speaker | None:
    """Quotations set on their own lines, with the speaker's name on a line below them."""
    if not _BLANK_TO_LINE_END.match(text, pos):
        return None
    start = text.find("\n", pos) + 1
    for _ in range(4):  # the next lines, one at a time: never a scan of the rest
        end = text.find("\n", start)
        end = len(text) if end < 0 else end
        line = text[start:end].strip()
        if line and line[0] not in "\"“":
            if len(line.split()) > _CAPTION_WORDS or line[-1] in ".!?,;:":
                return None
            return who.person_in_line(start, end)
        if end >= len(text):
            return None
        start = end + 1
    return None
