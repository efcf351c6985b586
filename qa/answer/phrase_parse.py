"""The answer phrase of an answer, chosen by its place in the sentence's parse.

The index gives each cited sentence its phrases of the asked kind (`qa.answer.phrase`:
entities and noun phrases found at build time), ranked by characters: near the question's
words, with them around. The parse says more: "Who founded the bakery?" is answered by the
subject of "founded", "When did the strike end?" by a date hanging from "ended", "What did
she die of?" by the object of "of", "Which show was she on?" by what stands beside "show" in
the tree, not in the text. At question time the cited sentences that hold phrases (one to
three) are parsed (`qa.answer.answer_type.parse_sentence`, the question-time pipeline), and every
phrase of theirs is described (`FEATURES`) by

- its characters: its nearness to the question's words, whether the asked noun heads it,
  its label, its length, whether it came first by characters; and its sentence's rank and
  probability among the cited ones;
- its place in the parse: how near its head stands, in dependency steps, to each of the
  question's words (by stem) and to the word the question's wh-phrase hangs from (`Slot`);
  whether it fills the wh-phrase's slot for that word (the subject of the matching verb, its
  object or passive subject, the object of the same preposition, a date or place hanging
  from it, either side of "is" for "What is X?"); and its own relation (subject, object,
  object of a preposition).

The phrase with the highest weighted sum (`WEIGHTS`, a conditional logit fitted on the dev
splits by bench/fit_phrase.py) is chosen. The parse may then extend it to a longer phrase
that holds it (`extensions`): the noun phrase of its head with its prepositional phrases
("a shortage" → "a shortage of spare parts"), its conjuncts or appositions ("X and Y"), or
the noun phrase it modifies; at most MAX_TOKENS tokens and never across a clause. A second
conditional logit (`EXTENSION_WEIGHTS`, fitted to choose the shortest phrase that holds the
answer) scores each extension against the phrase itself, which scores 0: a longer phrase is
chosen only when it scores above it. Offsets stay the article's: an extension is the parse's
span of the cited sentence, shifted by the sentence's start.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from ..text import STOPWORDS, stem
from ..types import ENTITY_LABELS
from .answer_type import AnswerType, parse, parse_sentence
from .phrase import Found, label_weight

if TYPE_CHECKING:  # spaCy costs ~0.5 s to import: the parse is qa.corpus.nlp's
    from spacy.tokens import Span, Token

# Dependency relations by the role they give a phrase in its clause.
_SUBJECT = frozenset({"nsubj", "csubj", "expl"})
_PASSIVE_SUBJECT = frozenset({"nsubjpass", "csubjpass"})
_OBJECT = frozenset({"dobj", "dative", "oprd", "attr", "acomp"})
_ADJUNCT = frozenset({"npadvmod", "advmod", "tmod"})
# Relations through which a phrase's head stands for the phrase it is part of ("the
# company's founder, Jane Doe", "Doe and Roe", "Acme Corp").
_THROUGH = frozenset({"appos", "conj", "compound", "poss", "nmod", "nummod", "amod", "cc"})
# Relations inside a wh-phrase: "which" (det) city, "how" (advmod) "many" (amod) people.
_IN_WH_PHRASE = frozenset({"det", "poss", "advmod", "amod", "compound", "nummod"})
_WH_TAGS = frozenset({"WP", "WP$", "WDT", "WRB"})
_ADVERBS = frozenset({"when", "where", "why"})  # a wh-phrase of one word
_QUESTION_WORDS = frozenset("what which who whom whose when where why how".split())


@dataclass(frozen=True)
class Slot:
    """Where a question's answer stands, read from the question's parse.

    Attributes:
        role: "agent" (the active subject: "Who founded X?"), "patient" (the object, or a
            passive subject: "What did X found?", "What was founded?"), "prep" (the object of
            a preposition: "What did she die of?", "In which city…?"), "adjunct" ("When…?",
            "Where…?"), "attribute" ("What is X?"), or "" when the parse does not say.
        prep: the preposition for "prep".
        anchor: the stem of the word the wh-phrase hangs from (its verb, or the noun of "the
            capital of what"), or None.
        words: the stems of the question's content words.
    """

    role: str
    prep: str | None
    anchor: str | None
    words: frozenset[str]


@lru_cache(maxsize=256)
def slot_of(question: str) -> Slot:
    """The question's slot (`Slot`), from its parse (read once per question: the phrases and
    their extensions both need it)."""
    doc = parse(question)
    words = frozenset(stem(t.lower_) for t in doc
                      if t.is_alpha and t.lower_ not in STOPWORDS
                      and t.lower_ not in _QUESTION_WORDS)
    wh = next((t for t in doc if t.tag_ in _WH_TAGS), None)
    if wh is None:
        return Slot("", None, None, words)
    node = wh
    # "which city", "how many people", "whose car": the wh-phrase is headed by its noun
    while node.dep_ in _IN_WH_PHRASE and node.head.i != node.i and wh.lower_ not in _ADVERBS \
            and node.head.pos_ not in ("VERB", "AUX"):
        node = node.head
    dep, head = node.dep_, node.head
    prep = None
    # A preposition left at the end ("What did she die of?", "Which show was she on?")
    stranded = next((t for t in doc if t.dep_ == "prep" and not any(
        c.dep_ in ("pobj", "pcomp") for c in t.children)), None)
    if dep in ("pobj", "pcomp") and head.dep_ == "prep":  # "On which mission…?"
        prep, head, role = head.lower_, head.head, "prep"
    elif stranded is not None and dep in _SUBJECT | _OBJECT:
        prep, head, role = stranded.lower_, stranded.head, "prep"
    elif dep in _SUBJECT and any(c.dep_ in _SUBJECT and c.i != node.i for c in head.children):
        role = "patient"  # "Which ship did the crew find?" read with two subjects
    elif dep in _SUBJECT:
        role = "agent"
    elif dep in _PASSIVE_SUBJECT or dep == "dobj":
        role = "patient"
    elif dep in ("attr", "acomp", "oprd"):
        role = "attribute"
    elif wh.lower_ in ("when", "where") or dep in _ADJUNCT:
        role = "adjunct"
    else:
        role = ""
    # "What is X?", "Who was X?": the copula, like any common word, says nothing
    anchor = None if head.i == node.i or head.lower_ in STOPWORDS else stem(head.lower_)
    return Slot(role, prep, anchor, words)


@dataclass(frozen=True)
class Cited:
    """A cited sentence that holds answer phrases: `text[start:end]` (article text and
    offsets), its phrases best first by characters (`phrase.candidates`), and the answer
    model's probability for it."""

    text: str
    start: int
    end: int
    found: Sequence[Found]
    probability: float


#: What describes a phrase, in `WEIGHTS`' order: its characters (`Found`'s fields; the
#: log of its length in words; first of its sentence by characters), its sentence (the
#: most probable cited one; its probability over that one's), and its place in the parse
#: (`_parsed`).
FEATURES = ("number_first", "nearness", "headed", "label", "length", "first", "first_sentence",
            "probability", "tree_words", "tree_anchor", "fills", "adjunct",
            "argument", "subject", "object", "prep_object")
#: The weight of each feature (a conditional logit over the phrases of an answer's cited
#: sentences, fitted on the dev splits by bench/fit_phrase.py).
WEIGHTS = {"number_first": 0.794, "nearness": 1.498, "headed": 2.180, "label": 1.260,
           "length": 0.923, "first": 0.251, "first_sentence": 0.346, "probability": 2.242,
           "tree_words": 3.425, "tree_anchor": 1.077, "fills": 0.685, "adjunct": 1.297,
           "argument": 1.074, "subject": -0.729, "object": -0.923, "prep_object": -0.554}
# The longest extension of a phrase, in tokens: a phrase, never a clause.
MAX_TOKENS = 10
# Path length over which nearness in the tree fades.
_TREE_STEPS = 2.0


def described(cited: Sequence[Cited], question: str,
              asked: AnswerType) -> list[tuple[int, Found, list[float]]]:
    """Every answer phrase of the cited sentences with its features (`FEATURES`): (which
    sentence, the phrase, features)."""
    if not cited:
        return []
    slot = slot_of(question)
    top = max(cited[0].probability, 1e-9)
    out = []
    for n, c in enumerate(cited):
        doc = parse_sentence(c.text[c.start:c.end])
        matching = [t for t in doc if t.is_alpha and stem(t.lower_) in slot.words]
        for k, f in enumerate(c.found):
            span = doc.char_span(f.start - c.start, f.end - c.start, alignment_mode="expand")
            characters = [float(asked.kind == "number" and n == 0 and k == 0),
                          f.nearness, float(f.headed), label_weight(f.label),
                          math.log1p(len(span)) if span is not None else 0.0, float(k == 0),
                          float(n == 0), c.probability / top]
            out.append((n, f, characters + _parsed(span, slot, matching)))
    return out


def best(cited: Sequence[Cited], question: str, asked: AnswerType) -> tuple[int, Found] | None:
    """The answer phrase of an answer, of all the phrases of its cited sentences (see the
    module docstring), or the longer phrase of the parse that holds it when that scores
    better (`extensions`): (which sentence, the phrase), or None when they hold none."""
    weights = [WEIGHTS[name] for name in FEATURES]
    scored = [(sum(w * x for w, x in zip(weights, features)), -n, -f.start, n, f)
              for n, f, features in described(cited, question, asked)]
    if not scored:
        return None
    *_, n, f = max(scored, key=lambda s: s[:3])
    extend = [EXTENSION_WEIGHTS[name] for name in EXTENSION_FEATURES]
    wider = [(sum(w * x for w, x in zip(extend, features)), -(e.end - e.start), e)
             for e, features in extensions(cited[n], f, question, asked)]
    if wider and (top := max(wider, key=lambda s: s[:2]))[0] > 0:
        f = top[2]  # the phrase itself scores 0
    return n, f


#: What describes a longer phrase of the parse holding the chosen one (`_extensions`): that
#: it is one; how it extends it (with a prepositional phrase, with conjuncts or appositions,
#: to the noun phrase the chosen one modifies); the log of the words it adds; the share of
#: those the question has; whether the noun the question asks for is among them; the chosen
#: phrase's own label (an entity?) and the log of its length.
EXTENSION_FEATURES = ("extended", "with_prep", "coordinated", "modified", "added",
                      "asked_added", "asked_noun", "entity", "phrase_length")
#: Their weights (a conditional logit over the chosen phrase and its extensions, fitted on
#: the dev splits by bench/fit_phrase.py to choose the shortest that holds the answer).
EXTENSION_WEIGHTS = {"extended": -0.436, "with_prep": 1.256, "coordinated": 0.922,
                     "modified": 0.871, "added": -0.178, "asked_added": -1.793,
                     "asked_noun": -0.263, "entity": -0.995, "phrase_length": -0.276}


def extensions(cited: Cited, found: Found, question: str,
               asked: AnswerType) -> list[tuple[Found, list[float]]]:
    """The longer phrases of the parse that hold a phrase of a cited sentence
    (`_extensions`), each with its features (`EXTENSION_FEATURES`), at the article's
    offsets."""
    doc = parse_sentence(cited.text[cited.start:cited.end])
    span = doc.char_span(found.start - cited.start, found.end - cited.start,
                         alignment_mode="expand")
    if span is None:
        return []
    words = slot_of(question).words
    out = []
    for wider, kinds in _extensions(span):
        start, end = cited.start + wider.start_char, cited.start + wider.end_char
        if (start, end) == (found.start, found.end):
            continue
        added = [stem(t.lower_) for t in wider if t.is_alpha and t.lower_ not in STOPWORDS
                 and not span.start <= t.i < span.end]
        share = sum(w in words for w in added) / len(added) if added else 0.0
        out.append((Found(start, end, found.label, found.nearness, found.context, found.headed),
                    [1.0, *(float(k in kinds) for k in _KINDS),
                     math.log1p(len(wider) - len(span)), share,
                     float(asked.head is not None and asked.head in added),
                     float(found.label in ENTITY_LABELS), math.log1p(len(span))]))
    return out


def _parsed(span: Span | None, slot: Slot, matching: Sequence[Token]) -> list[float]:
    """The parse's features of a phrase (`FEATURES` from "tree_words"): how near its head
    stands in the tree to each of the question's words (the mean over the question's words,
    0 for one the sentence lacks) and to the word the wh-phrase hangs from; whether it fills
    the question's slot (also as the object of a preposition for "When/Where…?" and the
    prepositional slots, as an argument for "What is…?"); its own relation to the word it
    hangs from."""
    if span is None or len(span) == 0:
        return [0.0] * 8
    head = span.root
    nearest: dict[str, int] = {}
    for t in matching:
        if not span.start <= t.i < span.end:
            key = stem(t.lower_)
            nearest[key] = min(nearest.get(key, 1 << 30), _steps(head, t))
    tree_words = sum(_near(s) for s in nearest.values()) / max(1, len(slot.words))
    anchor = _near(nearest[slot.anchor]) if slot.anchor in nearest else 0.0
    _, dep = _clause_head(head)
    subject = dep in ("nsubj", "nsubjpass")
    obj = dep in ("dobj", "attr", "oprd")
    prep = dep.startswith("prep:")
    return [tree_words, anchor, float(_fills(head, slot)),
            float(prep and slot.role in ("adjunct", "prep")),
            float((subject or obj) and slot.role == "attribute"),
            float(subject), float(obj), float(prep)]


def _near(steps: int) -> float:
    return math.exp(-(steps - 1) / _TREE_STEPS)


def _clause_head(token: Token) -> tuple[Token, str]:
    """The word a phrase headed by `token` hangs from, and how: (verb or noun, relation),
    looking through appositions, conjuncts and compounds, and through a preposition
    ("prep:of")."""
    dep = token.dep_
    while dep in _THROUGH and token.head.i != token.i:
        token = token.head
        dep = token.dep_
    head = token.head
    if dep == "pobj" and head.dep_ in ("prep", "agent") and head.head.i != head.i:
        word = head.lower_
        return head.head, ("agent" if head.dep_ == "agent" or word == "by" else "prep:" + word)
    return head, dep


def _fills(head: Token, slot: Slot) -> bool:
    """Whether a phrase headed by `head` fills the question's slot for one of its words."""
    if not slot.role:
        return False
    anchor, dep = _clause_head(head)
    if anchor.i == head.i or not (anchor.is_alpha and stem(anchor.lower_) in slot.words):
        return False
    passive = any(c.dep_ in ("auxpass", "nsubjpass") for c in anchor.children)
    if slot.role == "agent":
        return dep in _SUBJECT and not passive or dep == "agent"
    if slot.role == "patient":
        return dep in _OBJECT or dep in _PASSIVE_SUBJECT or (dep in _SUBJECT and passive)
    if slot.role == "prep":
        return dep == f"prep:{slot.prep}"
    if slot.role == "adjunct":
        return dep.startswith("prep:") or dep in _ADJUNCT
    if slot.role == "attribute":
        return dep in ("attr", "appos") or dep in _SUBJECT
    return False


def _steps(a: Token, b: Token) -> int:
    """The length of the dependency path between two tokens of one sentence."""
    up_a = [a, *a.ancestors]
    depth = {t.i: n for n, t in enumerate(up_a)}
    for n, t in enumerate([b, *b.ancestors]):
        if t.i in depth:
            return depth[t.i] + n
    return len(up_a) + n + 1  # different sentences of the parse: no path


# What a noun's phrase holds beside it: its modifiers (always), the prepositional phrases
# after it ("the Port of Elmport"), its conjuncts and appositions ("X and Y", "X, the mayor").
_MODIFIERS = frozenset({"det", "amod", "compound", "nummod", "poss", "nmod", "quantmod",
                        "case", "predet", "advmod", "npadvmod"})
_COORDINATED = frozenset({"conj", "cc", "appos", "preconj"})
# Relations by which a phrase's head modifies a larger noun phrase ("Elmish" in "the Elmish
# forces", "42" in "42 stores", "Elm" in "the Elm–Ash border").
_MODIFYING = frozenset({"compound", "amod", "nummod", "nmod", "poss", "quantmod"})
_EDGES = frozenset({"PUNCT", "CCONJ"})
_KINDS = ("with_prep", "coordinated", "modified")


def _extensions(span: Span) -> list[tuple[Span, frozenset[str]]]:
    """The longer phrases of the parse that hold `span` (a phrase of the index), and how
    they extend it (`_KINDS`): the noun phrase of its head with its modifiers, with its
    prepositional phrases, with its conjuncts and appositions, and the same for the noun
    phrase its head modifies or is a conjunct of; each at most MAX_TOKENS tokens, without a
    clause (a relative clause, a verb's complement), trimmed of punctuation and conjunctions
    at its edges."""
    heads = [(span.root, frozenset[str]())]
    top = span.root
    while top.dep_ == "conj" and top.head.i != top.i:
        top = top.head
    if top.i != span.root.i:
        heads.append((top, frozenset({"coordinated"})))
    if top.dep_ in _MODIFYING and top.head.i != top.i and top.head.pos_ in ("NOUN", "PROPN"):
        heads.append((top.head, frozenset({"modified"})))
    out: list[tuple[Span, frozenset[str]]] = []
    for head, how in heads:
        for extra, more in ((frozenset(), how), (frozenset({"prep"}), how | {"with_prep"}),
                            (_COORDINATED, how | {"coordinated"}),
                            (_COORDINATED | {"prep"}, how | {"with_prep", "coordinated"})):
            wider = _noun_phrase(head, _MODIFIERS | extra)
            if wider is not None and wider.start <= span.start and span.end <= wider.end \
                    and len(wider) > len(span) and all(wider != o for o, _ in out):
                out.append((wider, more))
    return out


def _noun_phrase(head: Token, kept: frozenset[str]) -> Span | None:
    """The span of `head` with the subtrees of its children whose relation is in `kept`, or
    None when it would hold anything else (a clause) or be longer than MAX_TOKENS."""
    inside = {head.i}
    for child in head.children:
        if child.dep_ in kept:
            inside.update(t.i for t in child.subtree)
    lo, hi = min(inside), max(inside) + 1
    doc = head.doc
    while lo < head.i and doc[lo].pos_ in _EDGES:
        lo += 1
    while hi - 1 > head.i and doc[hi - 1].pos_ in _EDGES:
        hi -= 1
    if hi - lo > MAX_TOKENS or any(i not in inside and doc[i].pos_ != "PUNCT"
                                   for i in range(lo, hi)):
        return None
    if any(doc[i].pos_ in ("VERB", "AUX") and doc[i].dep_ not in ("amod", "compound")
           for i in range(lo, hi)):
        return None  # "the decision made by X": a clause, though a short one
    return doc[lo:hi]
