"""What kind of thing answers a question, read from its parse.

"Who…?" wants a person or an organisation, "When…?" a date, "How many…?" a number, "Which
company…?" an organisation, "Why…?" a reason, "Who is X?" the role the articles give X.
The kinds are the entity labels of the NLP pipeline (`qa.types.ENTITY_LABELS`) that can
answer, so a candidate sentence can be asked whether it holds a phrase of that kind that
the question does not already contain.

A question whose words name no kind ("What did the mayor say about the strike?") has kind
None: any sentence may answer it, and no phrase is marked.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

from ..corpus import nlp
from ..text import stem

if TYPE_CHECKING:  # spaCy costs ~0.5 s to import: the parse is qa.corpus.nlp's
    from spacy.tokens import Doc, Token
    from threadpoolctl import ThreadpoolController

PERSON = frozenset({"PERSON", "ORG", "NORP"})
TIME = frozenset({"DATE", "TIME"})
PLACE = frozenset({"GPE", "LOC", "FAC"})
NUMBER = frozenset({"CARDINAL", "QUANTITY", "MONEY", "PERCENT"})
NOUN_PHRASE = frozenset({"NP"})

# The noun after "what"/"which" names the kind: "Which company…?" wants an ORG. The OntoNotes
# label that answers each category noun (compared by stem: "companies" counts too).
_CATEGORY = {
    "ORG": "company firm group organisation organization party team club agency union network "
           "airline bank university school institute body committee court council government "
           "ministry department newspaper outlet broadcaster channel manufacturer brand band",
    "PERSON": "person man woman player leader minister president candidate official judge "
              "author singer actor actress artist writer coach manager chief founder spokesman "
              "spokeswoman spokesperson politician senator governor mayor premier king queen "
              "prince princess ruler successor victim suspect winner champion driver pilot "
              "astronaut scientist doctor lawyer journalist director member captain",
    "NORP": "nationality religion",
    "GPE": "country city town state province region capital nation county district "
           "municipality village",
    "LOC": "continent island river mountain sea ocean lake area place location",
    "FAC": "airport building stadium bridge station prison hospital road",
    "LANGUAGE": "language",
    "LAW": "law act bill treaty amendment",
    "EVENT": "event war battle tournament championship festival election",
    "WORK_OF_ART": "book film movie song album series novel painting title",
    "PRODUCT": "product vehicle aircraft plane ship boat vessel train rocket phone device car "
               "model vaccine drug weapon missile",
    "DATE": "day date year month decade century season age",
    "TIME": "time hour",
    "MONEY": "price cost fine fee salary sum wage budget value worth",
    "PERCENT": "percentage percent rate share proportion",
    "QUANTITY": "distance height weight speed area magnitude length depth size temperature",
    "CARDINAL": "number amount total count",
}
_LABEL_OF_STEM = {stem(word): label for label, words in _CATEGORY.items()
                  for word in words.split()}
_KIND_OF_LABEL = {"PERSON": "person", "ORG": "organisation", "NORP": "organisation",
                  "GPE": "place", "LOC": "place", "FAC": "place", "DATE": "time", "TIME": "time",
                  "MONEY": "number", "PERCENT": "number", "QUANTITY": "number",
                  "CARDINAL": "number"}
# "What is the name of X?", "What kind of X?": the kind is X's.
_WRAPPERS = frozenset({"name", "names", "kind", "type", "sort"})
# A name asked for ("What was her birth name?", "the name of the boat") is a proper name.
NAMES = frozenset({"PERSON", "ORG", "GPE", "LOC", "FAC", "PRODUCT", "EVENT", "WORK_OF_ART",
                   "NORP", "LAW"})
_NAME_STEMS = frozenset({"name", "nicknam", "titl"})
# How many/much, how old/long/far: the adjective after "how" names the kind.
_HOW = {
    "many": NUMBER, "much": frozenset({"MONEY", "QUANTITY", "PERCENT", "CARDINAL"}),
    "old": frozenset({"DATE", "CARDINAL"}), "long": frozenset({"DATE", "TIME", "QUANTITY"}),
    "far": frozenset({"QUANTITY", "CARDINAL"}), "big": frozenset({"QUANTITY", "CARDINAL"}),
    "large": frozenset({"QUANTITY", "CARDINAL"}), "tall": frozenset({"QUANTITY"}),
    "high": frozenset({"QUANTITY", "CARDINAL", "MONEY"}), "deep": frozenset({"QUANTITY"}),
    "often": frozenset({"CARDINAL", "DATE"}), "fast": frozenset({"QUANTITY"}),
}


@dataclass(frozen=True)
class Name:
    """A proper name in a question: an entity of a naming label, or a run of proper nouns
    the pipeline gave no entity ("Harbour Cup"), without a leading article or a possessive.
    `person`: a person's name, which an article may give by surname alone."""

    text: str
    person: bool = False


# Entity labels that name something: an article that answers a question naming one of these
# names it too. NORP ("Ruritanian", "Elmish") and LANGUAGE are left out: an article says
# "Ruritania" or "in Elmland" as often as the adjective.
_NAMING = frozenset({"PERSON", "ORG", "GPE", "LOC", "FAC", "EVENT", "WORK_OF_ART",
                     "PRODUCT", "LAW"})


def names_of(doc: Doc) -> tuple[Name, ...]:
    """The proper names a parsed question mentions (see `Name`)."""
    out: list[Name] = []
    for ent in doc.ents:
        if ent.label_ in _NAMING:
            out.append(Name(_bare(ent), ent.label_ == "PERSON"))
    run: list[Token] = []
    for tok in [*doc, None]:
        if tok is not None and tok.pos_ == "PROPN" and not tok.ent_type_:
            run.append(tok)
            continue
        if run:
            out.append(Name(_bare(run)))
            run = []
    return tuple(n for n in dict.fromkeys(out) if n.text)


def _bare(tokens: Sequence[Token]) -> str:
    """A name's words without a leading article ("the Elm Bowl") or a possessive."""
    words = [t for t in tokens if t.tag_ != "POS"]
    while words and words[0].lower_ in ("the", "a", "an"):
        words = words[1:]
    text = "".join(t.text_with_ws for t in words).strip()
    for ending in ("'s", "’s"):
        text = text.removesuffix(ending)
    return text


@dataclass(frozen=True)
class AnswerType:
    """The kind of phrase that answers a question.

    Attributes:
        kind: "person", "time", "place", "number", "reason", "role" (for "Who is X?"),
            "thing" (a noun phrase: "What did X agree to support?"), or None.
        labels: the phrase labels that answer it (entity labels, or "NP").
        head: for "which/what X", X's stem; the phrase answering is often an X. For "how
            many X", X's stem: the number answering stands before an X.
        subject: for "Who is X?", X.
        entities: the question's own named entities (their text): what an answer phrase
            must not merely repeat, and what a sentence that answers should mention.
        subject_asked: the wh-word is the question's subject ("Who claimed the attack?"): in
            a sentence that answers, the answer comes before the question's verb ("A group
            claimed the attack"); otherwise after it ("She died of a stroke").
        names: the proper names the question mentions (`Name`): what the articles that
            answer it must mention too.
    """

    kind: str | None = None
    labels: frozenset[str] = frozenset()
    head: str | None = None
    subject: str | None = None
    entities: tuple[str, ...] = field(default_factory=tuple)
    subject_asked: bool = False
    names: tuple[Name, ...] = field(default_factory=tuple)

    @property
    def typed(self) -> bool:
        """The question names a kind of entity (not a reason, a role or any noun phrase)."""
        return bool(self.labels - NOUN_PHRASE)


_ONE_THREAD = threading.Lock()


@lru_cache(maxsize=1)
def _blas() -> ThreadpoolController:
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def parse(question: str) -> Doc:
    """The question's parse, on one BLAS thread: spaCy's matrices for one question are
    small, and several BLAS threads spend more time waiting for each other (and, on a busy
    machine, for a core) than multiplying (docs/benchmarks.md, "Warm answer: sentence vectors
    at index time"). The limit is the process's; the lock keeps two questions from undoing
    each other's."""
    with _ONE_THREAD, _blas().limit(limits=1, user_api="blas"):
        return nlp.parse_question(question)


def parse_sentence(text: str) -> Doc:
    """A cited sentence's parse, on one BLAS thread as `parse` (`qa.answer.phrase_parse`)."""
    with _ONE_THREAD, _blas().limit(limits=1, user_api="blas"):
        return nlp.parse_sentence(text)


def answer_type(question: str) -> AnswerType:
    """Read the kind of answer `question` asks for from its parse (`qa.corpus.nlp.parse_question`)."""
    doc = parse(question)
    entities = tuple(dict.fromkeys(e.text for e in doc.ents))
    names = names_of(doc)
    tokens = list(doc)
    if not tokens:
        return AnswerType(entities=entities, names=names)
    words = [t.lower_ for t in tokens]
    first = next((i for i, t in enumerate(tokens) if t.tag_ in ("WP", "WP$", "WDT", "WRB")), None)

    asks_subject = first is not None and (
        tokens[first].dep_ in ("nsubj", "nsubjpass")
        or (tokens[first].dep_ == "det" and tokens[first].head.dep_ in ("nsubj", "nsubjpass")))

    def of(kind: str | None, labels: frozenset[str], head: str | None = None,
           subject: str | None = None) -> AnswerType:
        return AnswerType(kind, labels, head, subject, entities, asks_subject, names)

    if "why" in words[:3] or _starts(words, ("for", "what", "reason")) \
            or _starts(words, ("what", "caused")) or _starts(words, ("what", "led", "to")):
        return of("reason", frozenset())
    if first is None:
        return of(None, frozenset())
    wh = tokens[first]
    w = wh.lower_
    if w == "how" and first + 1 < len(tokens):
        labels = _HOW.get(tokens[first + 1].lower_)
        # "How many stores…?": the number answering stands before a store
        counted = _common_noun(tokens[first + 2:first + 4]) \
            if tokens[first + 1].lower_ in ("many", "much") else None
        return of("number", labels, stem(counted.lower_) if counted is not None else None) \
            if labels else of(None, frozenset())
    if w == "when":
        return of("time", TIME)
    if w == "where":
        return of("place", PLACE)
    noun = _common_noun(tokens[first + 1:first + 5])
    if w in ("what", "which", "whose") and noun is not None and tokens[first + 1].tag_ != "VBZ" \
            and tokens[first + 1].lower_ not in ("is", "was", "are", "were", "did", "does",
                                                 "do", "has", "have", "had"):
        # "which city", "which Elmport district": whatever the small model made of "which"
        # ("det", or "pobj" of "In")
        return _category(noun, of)
    if w in ("who", "whom", "whose"):
        role_of = _who_is(doc, first)
        if role_of:
            return of("role", NOUN_PHRASE, subject=role_of)
        return of("person", PERSON)
    if w in ("what", "which") and words[-2 if words[-1] == "?" else -1] in ("called", "named"):
        return of("name", NAMES)  # "What is the artwork called?"
    if w in ("what", "which"):
        # "What is the capital of …?": the noun the copula asks about names the kind.
        rest = tokens[first + 1:]
        if rest and rest[0].lower_ in ("is", "was", "are", "were"):
            noun = _common_noun(rest[1:7])
            if noun is not None:
                return _category(noun, of)
        return of("thing", NOUN_PHRASE)
    return of(None, frozenset())


def _common_noun(tokens: Sequence[Token]) -> Token | None:
    """The first common noun among `tokens` (proper names and possessives skipped: "Eliud
    Kipchoge's time" -> "time")."""
    for t in tokens:
        if t.tag_ in ("NN", "NNS"):
            # "birth name": the compound's head names the kind
            return t.head if t.dep_ == "compound" and t.head.tag_ in ("NN", "NNS") else t
        if t.tag_ not in ("NNP", "NNPS", "POS", "JJ", "DT", "PRP$", "HYPH", "CD"):
            return None
    return None


def _unwrapped(noun: Token) -> Token:
    """The noun a wrapper noun stands for: "name of the airline" -> "airline"."""
    if noun.lower_ in _WRAPPERS:
        for child in noun.children:
            if child.dep_ == "prep" and child.lower_ == "of":
                obj = next((c for c in child.children if c.dep_ == "pobj"), None)
                if obj is not None:
                    return obj
    return noun


# of(kind, labels, head=None, subject=None) -> the question's AnswerType.
_Of = Callable[..., AnswerType]


def _category(noun: Token, of: _Of) -> AnswerType:
    """The answer type of "which/what <noun>" ("the name of <noun>": a proper name)."""
    inner = _unwrapped(noun)
    key = stem(inner.lower_)
    label = _LABEL_OF_STEM.get(key)
    named = stem(noun.lower_) in _NAME_STEMS
    if label is None and (named or key in _NAME_STEMS):
        return of("name", NAMES, key if inner is not noun else None)
    if label is None:
        return of("thing", NOUN_PHRASE, key)
    labels = {label}
    if label == "ORG":
        labels |= {"PERSON", "NORP"}  # "which group…?" is often answered by who leads it
    elif label == "GPE":
        labels |= {"LOC"}
    return of(_KIND_OF_LABEL.get(label, "thing"), frozenset(labels), key)


def _who_is(doc, first: int) -> str | None:  # type: ignore[no-untyped-def]
    """For "Who is/was X?" with X a name, X; else None ("Who is the spokesman?" asks for a
    person)."""
    tokens = list(doc)
    if first + 1 >= len(tokens) or tokens[first + 1].lower_ not in ("is", "was", "are", "were"):
        return None
    rest = [t for t in tokens[first + 2:] if not t.is_punct]
    if rest and all(t.ent_type_ == "PERSON" or t.tag_ in ("NNP", "NNPS") for t in rest):
        return " ".join(t.text for t in rest)
    return None


def _starts(words: list[str], prefix: tuple[str, ...]) -> bool:
    return tuple(words[: len(prefix)]) == prefix
