"""The answer phrase: inside a sentence, the span of the kind the question asks for.

"When did the strike end?" → in "The bakers ended their strike on Thursday after nine
days." the phrase is "Thursday". The candidates are the phrases the NLP pipeline found in the
sentence at index time (`qa.types.Phrase`: entities and noun phrases) of the asked kind
(`qa.answer.answer_type.AnswerType`) that the question does not already contain; the best is
the one nearest the question's own words in the sentence. A reason is the clause after
"because", "due to" and their kin; a role ("Who is X?") the title or apposition beside X.

Offsets are the article's: `article.text[start:end]` is the phrase, as for citations.
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..text import terms
from ..types import ENTITY_LABELS, NOUN_PHRASE, Phrase
from .answer_type import AnswerType

# Distance (characters) over which nearness to the question's words fades.
NEAR_CHARS = 60.0
# Words that introduce the reason for something.
_REASON = re.compile(r"\b(?:because(?: of)?|due to|owing to|as a result of|thanks to|"
                     r"in order to|so that|after|following|amid|citing|for fear of)\b", re.I)
_CLAUSE_END = re.compile(r"[,;:.!?]\s|[;:.!?]$|\s[—–]\s")
# Words of a question that say nothing about where its answer stands in a sentence.
_NOT_CONTEXT = frozenset("the a an what which who whom whose when where why how did does do is "
                         "was were are be been has have had will would can could".split())
_WORD = re.compile(r"[\w’'-]+")
# Words beside a name that are not part of it: "Ms Okafor", "the Okafor family".
_NOT_NAME_WORDS = frozenset("the a an mr mrs ms dr miss sir family 's ’s".split())
# A name's "of" part: "Henry III of Castile", "William of Montreuil".
_OF_NAME = re.compile(r" of (?:[A-Z][\w’'-]+)(?: [A-Z][\w’'-]+)?")
# How much a phrase's label counts in its favour beside its nearness: a nationality or a
# people ("Ruritanian", "Elmish") is more often a modifier than the one who did something.
_LABEL_WEIGHT = {"NORP": 0.0}
_PRONOUN_PHRASES = frozenset("i you he she it we they me him her us them this that these those "
                             "who what which whom whose there here one".split())


@dataclass(frozen=True)
class Found:
    """A phrase of the asked kind in one sentence: how near the question's words it is (1.0:
    next to them; towards 0 far away or with none of them in the sentence), the share of the
    words just around it that the question uses ("died of" before "a stroke" for "What did
    she die of?"), and whether it is headed by the noun the question asks for."""

    start: int
    end: int
    label: str
    nearness: float
    context: float = 0.0
    headed: bool = False


def in_sentence(phrases: Sequence[Phrase], starts: Sequence[int], start: int,
                end: int) -> list[Phrase]:
    """The phrases lying inside [start, end) (`starts`: the phrases' starts, sorted)."""
    lo = bisect.bisect_left(starts, start)
    hi = bisect.bisect_left(starts, end)
    return [p for p in phrases[lo:hi] if p.end <= end]


def candidates(text: str, start: int, end: int, phrases: Sequence[Phrase], asked: AnswerType,
               question: str) -> list[Found]:
    """The phrases of the asked kind in `text[start:end]` (a sentence) that the question does
    not contain, nearest the question's words first.

    Args:
        text: the article text.
        start, end: the sentence's span.
        phrases: the phrases inside that span (`in_sentence`).
        asked: the question's answer type.
        question: the question as searched.
    """
    if asked.kind is None:
        return []
    spans: list[tuple[int, int, str]] = []
    counted: set[tuple[int, int]] = set()
    if asked.kind == "reason":
        for m in _REASON.finditer(text, start, end):
            close = _CLAUSE_END.search(text, m.end(), end)
            stop = close.start() if close else end
            stop = len(text[m.start():stop].rstrip(" .,;:\"'”’)")) + m.start()
            if stop - m.end() > 3:
                spans.append((m.start(), stop, "REASON"))
    elif asked.kind == "role":
        spans = _roles(text, start, end, phrases, asked.subject or "")
    else:
        wanted = asked.labels
        for p in phrases:
            if p.label in wanted and (p.label != NOUN_PHRASE or _content(text[p.start:p.end])):
                stop = _of_place(text, p.end, end) if p.label == "PERSON" else p.end
                spans.append((p.start, stop, p.label))
        if asked.head and asked.kind == "number":
            # "How many stores…?": the number counting stores ("301 stores, two depots")
            counted = {(s, e) for s, e, _ in spans if _counts(text, e, end, asked.head)}
        if asked.head and NOUN_PHRASE in wanted:
            # "Which vaccine…?": a noun phrase headed by the asked noun is the best answer.
            heads = [(s, e, "HEAD") for s, e, _ in spans if _head_of(text[s:e]) == asked.head]
            spans = heads + spans
    if not spans:
        return []
    asked_text = _folded(question)
    asked_terms = set(terms(question))
    asked_words = {w for w in _WORD.findall(asked_text) if w not in _NOT_CONTEXT}
    asked_words |= asked_terms
    anchors = [m.start() + start for m in re.finditer(r"\w+", text[start:end])
               if (t := terms(m.group(0))) and t[0] in asked_terms]
    out: list[Found] = []
    seen: set[tuple[int, int]] = set()
    for s, e, label in spans:
        words = terms(text[s:e])
        if (s, e) in seen or not text[s:e].strip():
            continue
        seen.add((s, e))
        if _folded(text[s:e]) in asked_text or (words and sum(w in asked_terms for w in words)
                                                 * 2 > len(words)):
            continue  # the question already says it
        if anchors:
            distance = min(min(abs(a - s), abs(a - e)) for a in anchors)
            nearness = math.exp(-distance / NEAR_CHARS)
        else:
            nearness = 0.0
        if any(_names(entity, text[s:e]) for entity in asked.entities):
            continue  # a phrase naming what the question names is not its answer
        context = _context(text, start, end, s, e, asked_words, asked.subject_asked)
        headed = label == "HEAD"
        out.append(Found(s, e, "NP" if headed else label, nearness,
                         1.0 if (s, e) in counted else context, headed))
    out.sort(key=lambda f: (-score(f), f.start))
    return out


def score(found: Found) -> float:
    """How likely a phrase is the answer by its characters: the phrase the question's own
    words stand around, then the nearest, entities first."""
    return found.context + 0.5 * found.nearness + found.headed + label_weight(found.label)


def label_weight(label: str) -> float:
    """How much a phrase's label counts in its favour: an entity more than a noun phrase."""
    return _LABEL_WEIGHT.get(label, 0.25 * (label in ENTITY_LABELS))


def _counts(text: str, stop: int, end: int, noun: str) -> bool:
    """Whether the words right after a number (up to two) end with the counted noun."""
    words = _WORD.findall(text[stop:min(end, stop + 40)])[:2]
    return any((t := terms(w)) and t[0] == noun for w in words)


def _of_place(text: str, stop: int, end: int) -> int:
    """Where a person's name ends with what it is "of": "Aldric I" + " of Elmshire"."""
    m = _OF_NAME.match(text, stop, end)
    return m.end() if m else stop


def _context(text: str, lo: int, hi: int, s: int, e: int, asked: set[str],
             verb_follows: bool) -> float:
    """How much the three words on the answer's side of [s, e) in the sentence [lo, hi) are
    the question's own: those after it when the question asks for its subject ("X claimed
    responsibility"), else those before it ("died of X"); the other side counts half."""
    before = _WORD.findall(text[max(lo, s - 40):s].casefold())[-3:]
    after = _WORD.findall(text[e:min(hi, e + 40)].casefold())[:3]

    def share(words: list[str]) -> float:
        return sum(1 for w in words if w in asked or (t := terms(w)) and t[0] in asked) / 3.0

    near, far = (after, before) if verb_follows else (before, after)
    return min(1.0, share(near) + 0.5 * share(far))


def _names(entity: str, phrase: str) -> bool:
    """Whether a phrase names a question entity (the whole of it, or its last word)."""
    e, p = entity.casefold(), phrase.casefold()
    if e in p:
        return True
    # ("Ms Okafor" names "Ada Okafor"; "Bea Okafor", her mother, does not)
    words = [w for w in _WORD.findall(p) if w not in _NOT_NAME_WORDS]
    named = {re.sub(r"['’]s?$", "", w) for w in _WORD.findall(e)}
    return len(e.split()) > 1 and bool(words) and set(words) <= named


def best(text: str, start: int, end: int, phrases: Sequence[Phrase], asked: AnswerType,
         question: str) -> Found | None:
    """The answer phrase of one sentence (see `candidates`), or None."""
    found = candidates(text, start, end, phrases, asked, question)
    return found[0] if found else None


def _roles(text: str, start: int, end: int, phrases: Sequence[Phrase],
           subject: str) -> list[tuple[int, int, str]]:
    """For "Who is X?": the title before X in X's noun phrase ("Foreign Minister X" -> "Foreign
    Minister"), or the noun phrase after "X, " ("X, a spokesman for …" -> "a spokesman")."""
    names = [subject] + ([subject.split()[-1]] if len(subject.split()) > 1 else [])
    out: list[tuple[int, int, str]] = []
    sentence = text[start:end]
    for name in names:
        for m in re.finditer(re.escape(name), sentence):
            at, stop = start + m.start(), start + m.end()
            for p in phrases:
                if p.label != NOUN_PHRASE:
                    continue
                if p.start < at and p.end >= stop and _content(text[p.start:at]):
                    title_end = p.start + len(text[p.start:at].rstrip(" ,"))
                    out.append((p.start, title_end, NOUN_PHRASE))
                elif 0 < p.start - stop <= 3 and text[stop:p.start].strip() == ",":
                    out.append((p.start, p.end, NOUN_PHRASE))
        if out:
            break
    return out


def _content(phrase: str) -> bool:
    """A noun phrase that says something: not a lone pronoun or wh-word."""
    words = phrase.casefold().split()
    return bool(words) and not (len(words) == 1 and words[0] in _PRONOUN_PHRASES)


def _head_of(phrase: str) -> str | None:
    found = terms(phrase)
    return found[-1] if found else None


def _folded(text: str) -> str:
    return " ".join(text.casefold().replace("’", "'").split())


# A phrase that opens a quotation runs on to the mark that closes it when the mark is at most
# this many characters past the phrase's end ('a "smash' → 'a "smash and grab"'); one that
# closes a quotation runs back as far to the mark that opens it.
QUOTED_RUN_CHARS = 120


def paired_quotes(text: str, start: int, end: int, lo: int, hi: int) -> tuple[int, int]:
    """A phrase's span with its quotation marks paired, inside its sentence `text[lo:hi]`.

    The parse's noun phrases can stop inside a quotation ('called it a "smash and grab"' gives
    'a "smash'): a phrase with a mark it does not close runs on to the closing mark (or back
    to the opening one), within the sentence and QUOTED_RUN_CHARS; failing that, a mark
    left alone at the phrase's edge is dropped ('"disease' → 'disease').
    """
    inside = text[start:end]
    curly = inside.count("“") - inside.count("”")
    straight = inside.count('"') % 2
    if curly > 0 or straight and text.count('"', lo, start) % 2 == 0:  # it opens one
        mark = "”" if curly > 0 else '"'
        close = text.find(mark, end, min(hi, end + QUOTED_RUN_CHARS))
        if close != -1:
            return start, close + 1
    elif curly < 0 or straight:  # it closes one opened before it
        mark = "“" if curly < 0 else '"'
        opened = text.rfind(mark, max(lo, start - QUOTED_RUN_CHARS), start)
        if opened != -1:
            return opened, end
    if curly or straight:
        while start < end and text[start] in '"“”':
            start += 1
        while end > start and text[end - 1] in '"“”':
            end -= 1
    return start, end
