"""Cues and quotations in an article's parse: the speech verbs, "according to"s and opening
"per"s of each piece, found from spaCy's token arrays, and the cue that governs each quotation.

A quotation belongs to the cue its words hang from in the parse ('X said "…"'), or whose
clause hangs from its words ('"…," said X'); where the parse leaves the quotation on its own,
to the cue right beside it ('X said on social media, "…"', '"…," Okafor said').
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from .cues import COURT_NOUNS, COURT_VERBS, SPEECH_VERBS, UNNAMED_PEOPLE, UNREAL_MODALS
from .names import is_title
from .speakers import PLACES, QuotedText, Speakers

if TYPE_CHECKING:
    from spacy.strings import StringStore
    from spacy.tokens import Doc, Token

# How many heads up from a quoted word, or from a cue, the parse is followed to link them.
_UP_STEPS = 5
_CUE_UP_STEPS = 4
# Heads a quotation is not spoken from: it names something inside a modifier.
_MODIFIERS = frozenset({"acl", "relcl", "appos", "advcl"})
# How many words after a quotation its cue may stand: '"…," the company's spokeswoman said'.
_AFTER_TOKENS = 6


#: A quotation mark of either kind (single marks are apostrophes as often as not).
MARKS = re.compile(r'[“”"]')
# A straight mark opens a quotation after a space or an opening bracket or dash, before a
# word; one not before a word closes.
_OPENS_AFTER = frozenset("([{—–-/")
_STARTS_WORD = frozenset("[('‘“…$£€#@¿¡")
_LONGEST_QUOTATION = 3000


@dataclass(eq=False)
class Quotation:
    """A pair of quotation marks in the article, and the cue that governs it, if any."""

    start: int  # the quotation marks included
    end: int
    cue: Cue | None = None
    distance: int = 1 << 30  # token distance to its cue


@dataclass(eq=False)
class Cue:
    """A speech verb or a preposition of attribution ("according to", "per"), and the
    quotations it governs."""

    tok: Token
    offset: int  # of its piece
    according: bool = False  # a preposition: its object is the speaker
    quotations: list[Quotation] = field(default_factory=list)

    @property
    def source(self) -> Token | None:
        """For a preposition, its object: "according to X", "per X"."""
        if not self.according:
            return None
        prep = self.tok.doc[self.tok.i + 1] if self.tok.lower_ == "according" else self.tok
        obj = next((c for c in prep.children if c.dep_ == "pobj"), None)
        if obj is not None and obj.ent_type_ in PLACES:
            # "According to Freedonia Senator Ada Okafor": the parse may take the place alone
            # as the object and hang the name from "according"
            named = next((c for c in self.tok.children if c.i > obj.i
                          and c.ent_type_ in ("PERSON", "ORG") and c.tag_ in ("NNP", "NNPS")),
                         None)
            return named or obj
        if obj is not None and obj.tag_ == "NN" and is_title(obj.lower_):
            # "According to the town's fire chief, Ada Okafor, the fire …": the parse may hang
            # the name from a comma; it is the role's
            doc, k = obj.doc, obj.right_edge.i + 1
            if k + 2 < len(doc) and doc[k].text == "," and doc[k + 1].ent_type_ == "PERSON" \
                    and doc[k + 1].ent_iob_ == "B":
                end = k + 1
                while end + 1 < len(doc) and doc[end + 1].ent_iob_ == "I":
                    end += 1
                if end + 1 < len(doc) and doc[end + 1].text == ",":
                    return doc[end]
        return obj

    @property
    def silent(self) -> bool:
        """A verb that says nothing was said: "did not say", "would say"."""
        if self.according:
            return False
        children = list(self.tok.children)
        return any(c.dep_ == "neg" or (c.dep_ == "aux" and c.lower_ in UNREAL_MODALS and not (
            # ("would later say": the future of a past, which did happen)
            c.lower_ == "would" and any(a.dep_ == "advmod" and a.lower_ == "later"
                                        for a in children))) for c in children)

    @property
    def at(self) -> int:
        """The cue's article offset."""
        return self.offset + self.tok.idx

    @property
    def text(self) -> str:
        """The cue as `Quote.cue` gives it: "said", "according to", "wrote on social media"."""
        if self.according:
            return "according to" if self.tok.lower_ == "according" else self.tok.lower_
        for child in self.tok.children:  # "wrote on social media"
            if child.dep_ == "prep" and child.lower_ == "on" and child.i == self.tok.i + 1:
                obj = next((c for c in child.children if c.dep_ == "pobj"), None)
                if obj is not None and obj.tag_ == "NNP" and obj.i == child.i + 1 \
                        and obj.ent_type_ not in ("DATE", "TIME"):
                    return f"{self.tok.text} on {obj.text}"
        return self.tok.text


def _member(values: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Which of `values` are in the sorted array `keys`."""
    at = np.minimum(np.searchsorted(keys, values), len(keys) - 1)
    return keys[at] == values


class _Keys:
    """The string-store ids of the words and labels the scan looks for."""

    def __init__(self, strings: StringStore) -> None:
        self.speech = np.sort(np.array([strings[w] for w in SPEECH_VERBS], dtype=np.uint64))
        self.court = np.sort(np.array([strings[w] for w in COURT_VERBS], dtype=np.uint64))
        self.verb_tags = np.sort(np.array([strings[t] for t in ("VB", "VBD", "VBG", "VBN",
                                                               "VBP", "VBZ")], dtype=np.uint64))
        self.according = strings["according"]
        self.to = strings["to"]
        self.per = strings["per"]
        self.prep = strings["prep"]
        self.nsubj = strings["nsubj"]
        self.noun_tags = np.sort(np.array([strings["NNP"], strings["NN"]], dtype=np.uint64))
        self.proper = strings["NNP"]
        self.plural = strings["NNS"]
        self.people = np.sort(np.array([strings[w] for w in UNNAMED_PEOPLE], dtype=np.uint64))
        self.places = np.sort(np.array([strings[t] for t in PLACES], dtype=np.uint64))


_KEYS: dict[int, _Keys] = {}


class Table:
    """One piece's tokens as spaCy's arrays: the scan for cues and sentences reads these
    rather than making a Python object of every token."""

    def __init__(self, doc: Doc, offset: int) -> None:
        from spacy.attrs import DEP, ENT_TYPE, IDX, IS_TITLE, LOWER, SENT_START, TAG

        self.doc, self.offset = doc, offset
        strings = doc.vocab.strings
        self.keys = _KEYS.get(id(strings)) or _KEYS.setdefault(id(strings), _Keys(strings))
        self.array = doc.to_array([LOWER, TAG, DEP, ENT_TYPE, IS_TITLE, SENT_START, IDX])
        starts = np.flatnonzero(self.array[:, 5] == 1).tolist() if len(doc) else []
        if len(doc) and (not starts or starts[0] != 0):
            starts.insert(0, 0)
        self.sentence_starts: list[int] = starts  # token indexes
        last = doc[-1] if len(doc) else None
        self.end = offset + (last.idx + len(last.text_with_ws) if last is not None else 0)
        self._chars: list[int] | None = None

    @property
    def token_chars(self) -> list[int]:
        """Where each token starts, in the piece (read on first use)."""
        if self._chars is None:
            self._chars = self.array[:, 6].tolist()
        return self._chars

    def sentence_chars(self) -> list[int]:
        idx = self.array[:, 6]
        return [self.offset + int(idx[i]) for i in self.sentence_starts]

    def sentence_of(self, i: int) -> tuple[int, int]:
        """The token range of the sentence holding token i."""
        k = bisect.bisect_right(self.sentence_starts, i) - 1
        end = self.sentence_starts[k + 1] if k + 1 < len(self.sentence_starts) else len(self.doc)
        return self.sentence_starts[k], end


def find_quotations(text: str) -> list[Quotation]:
    """The pairs of quotation marks, in one pass. Curly marks say which way they face;
    a straight mark is read from its neighbours, so one stray mark ('the 12" pipe') does not
    turn every later quotation of its line inside out. Straight pairs stay within a line."""
    out = []
    open_at, curly = -1, False
    for m in MARKS.finditer(text):
        i = m.start()
        if open_at >= 0 and (i - open_at > _LONGEST_QUOTATION
                             or not curly and text.find("\n", open_at, i) >= 0):
            open_at = -1  # never closed: not a quotation
        mark = text[i]
        if mark == "“":
            open_at, curly = i, True
            continue
        if mark == "”":
            if open_at >= 0 and text[open_at + 1: i].strip():
                out.append(Quotation(open_at, i + 1))
            open_at = -1
            continue
        before = text[i - 1] if i else " "
        after = text[i + 1] if i + 1 < len(text) else " "
        starts_word = after.isalnum() or after in _STARTS_WORD
        opening = (before.isspace() or before in _OPENS_AFTER) and starts_word
        closing = not starts_word
        if open_at >= 0 and (closing or not opening):
            if text[open_at + 1: i].strip():
                out.append(Quotation(open_at, i + 1))
            open_at = -1
        elif opening or not closing:
            open_at, curly = i, False
    return out


def scan_cues(table: Table, quoted: QuotedText, who: Speakers) -> list[Cue]:
    """The speech verbs and "according to"s of a piece, outside quotation marks (and, on the
    same pass, the proper-noun subjects the entity recogniser missed, for `who`)."""
    doc, offset, keys, a = table.doc, table.offset, table.keys, table.array
    lower = a[:, 0]
    out = []
    tagged = _member(a[:, 1], keys.verb_tags)
    verbs = _member(lower, keys.speech) & tagged
    for i in np.flatnonzero(_member(lower, keys.court) & tagged).tolist():
        verbs[i] = court_decides(doc[i])  # "the court found that …"
    according = lower == keys.according
    according[:-1] &= lower[1:] == keys.to
    according[-1:] = False
    per = (lower == keys.per) & (a[:, 2] == keys.prep)
    for i in np.flatnonzero(verbs | according | per).tolist():
        tok = doc[i]
        if per[i] and not _opens_clause(tok):
            continue  # "ten dollars per person"
        if not quoted.inside(offset + tok.idx):
            out.append(Cue(tok, offset, according=bool(according[i] or per[i])))
    names = (a[:, 2] == keys.nsubj) & _member(a[:, 1], keys.noun_tags) & (a[:, 3] == 0) \
        & (a[:, 4] == 1)
    for i in np.flatnonzero(names).tolist():
        who.add_subject(doc[i], offset)
    people = (a[:, 2] == keys.nsubj) & _member(lower, keys.people)
    for i in np.flatnonzero(people).tolist():
        who.note_unnamed(doc[i], offset)
    plural = (a[:, 2] == keys.nsubj) & (a[:, 1] == keys.plural) & (a[:, 3] == 0)
    for i in np.flatnonzero(plural).tolist():
        if is_title(doc[i].lower_):  # "researchers reported …": "they" after means them
            who.note_unnamed(doc[i], offset, group=True)
    places = _member(a[:, 3], keys.places)
    who.note_words(set(lower[(a[:, 1] == keys.proper) & (a[:, 5] != 1) & ~places].tolist()),
                   set(lower[places].tolist()))
    return out


def court_decides(tok: Token) -> bool:
    """Whether a verb of decision ("found", "ruled", "held") has a court or a judge as its
    subject ("the court found", "Judge Ada Okafor ruled"), its own or, for a participle or a
    second verb, its clause's ("the court ruled on Monday, finding that …")."""
    verb = tok
    for _ in range(2):
        subject = next((c for c in verb.children if c.dep_ == "nsubj"), None)
        if subject is not None:
            return subject.lower_ in COURT_NOUNS or any(
                c.dep_ == "compound" and c.lower_ in COURT_NOUNS for c in subject.children)
        if verb.dep_ not in ("conj", "advcl") or verb.head.i == verb.i:
            return False
        verb = verb.head
    return False


def _opens_clause(tok: Token) -> bool:
    """Whether a "per" is one of attribution: it opens its sentence or follows a comma, and
    hangs from a verb ("Per the ruling, the law stands"), not from a noun ("$5 per person")."""
    before = tok.doc[tok.i - 1] if tok.i > tok.sent.start else None
    return (before is None or before.text == ",") and tok.head.tag_.startswith("VB")


def link_quotations(table: Table, quotations: list[Quotation], cues: list[Cue]) -> None:
    """Give each quotation of the piece the cue that governs it in the parse, if any: the
    nearest cue its words hang from, or whose clause hangs from its words."""
    if not cues:
        return
    doc, offset = table.doc, table.offset
    by_token = {c.tok.i: c for c in cues if not c.silent}  # ("did not say" governs nothing)
    # "— which Y noted as a first —" names a thing: it governs only words that hang from it
    speaking = {i: c for i, c in by_token.items()
                if not any(t.dep_ == "dobj" and t.tag_ == "WDT" for t in c.tok.children)}
    cue_tokens = sorted(speaking)
    end_of_piece = table.end
    starts = [q.start for q in quotations]
    for k in range(bisect.bisect_left(starts, offset), len(quotations)):
        q = quotations[k]
        if q.start >= end_of_piece:
            break
        span = doc.char_span(q.start - offset, min(q.end, end_of_piece) - offset,
                             alignment_mode="expand")
        if span is None or len(span) == 0:
            continue
        lo, hi = span.start, span.end

        def consider(cue: Cue, q: Quotation = q, lo: int = lo, hi: int = hi) -> None:
            if cue.tok.i >= hi and any("\n" in t.text_with_ws for t in doc[hi - 1: cue.tok.i]):
                return  # a cue in a later paragraph is not this quotation's
            distance = lo - cue.tok.i if cue.tok.i < lo else cue.tok.i - hi + 1
            if distance < q.distance:
                q.cue, q.distance = cue, distance

        for tok in span:
            head = tok.head
            if tok.is_punct or lo <= head.i < hi or tok.dep_ in _MODIFIERS:
                continue  # ('to add the question, "…?"': the quotation names the question)
            for _ in range(_UP_STEPS):
                cue = by_token.get(head.i) or _governing(quotations, k, offset + head.idx)
                if cue is not None:
                    consider(cue)
                    break
                if head.head.i == head.i or head.dep_ in _MODIFIERS:
                    break  # 'a law, known as the "…", states': a name inside a modifier
                head = head.head
                if lo <= head.i < hi:
                    break
        first, last = table.sentence_of(lo)[0], table.sentence_of(hi - 1)[1]
        a = bisect.bisect_left(cue_tokens, first)
        b = bisect.bisect_left(cue_tokens, last)
        for i in cue_tokens[a:b]:
            if lo <= i < hi:
                continue
            head = doc[i]
            for _ in range(_CUE_UP_STEPS):
                if head.head.i == head.i:
                    break
                head = head.head
                if lo <= head.i < hi:
                    consider(speaking[i])
                    break
        if q.cue is None:
            _link_beside(doc, lo, hi, last, speaking, consider)
        if q.cue is not None:
            q.cue.quotations.append(q)


def _governing(quotations: list[Quotation], k: int, at: int) -> Cue | None:
    """The cue of an earlier quotation (before quotation k) holding article offset `at`: a
    quotation hanging from the words of another is said by the same speaker ('describing
    the "threat" as making it "impossible"')."""
    for q in reversed(quotations[max(0, k - 3): k]):
        if q.start <= at < q.end:
            return q.cue
    return None


def _link_beside(doc: Doc, lo: int, hi: int, last: int, by_token: dict[int, Cue],
                 consider: Callable[[Cue], None]) -> None:
    """Where the parse leaves a quotation on its own: the cue just before it ('X said on
    social media, "…"', even where the parse starts a sentence at the quotation), or just after
    it, with only its subject between ('"…," Okafor said'), before token `last` (the end of
    the quotation's sentence)."""
    k = lo - 1
    while k >= 0 and doc[k].is_space:
        k -= 1
    if k >= 0 and doc[k].text in (",", ":"):
        k -= 1
    if k >= 0 and doc[k].text not in (".", "!", "?"):
        head = doc[k]
        for _ in range(_CUE_UP_STEPS):
            cue = by_token.get(head.i)
            if cue is not None and cue.tok.i < lo:
                consider(cue)
                return
            if head.head.i == head.i:
                break
            head = head.head
    k = hi
    while k < last and (doc[k].is_space or doc[k].text in (",", ".")):
        k += 1
    for i in range(k, min(k + _AFTER_TOKENS, last)):
        cue = by_token.get(i)
        if cue is not None:
            if all(cue.tok.i in [a.i for a in doc[j].ancestors] for j in range(k, i)):
                consider(cue)
            return
