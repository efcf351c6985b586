"""What one article names, from its parse: the people and organisations (spaCy's PERSON
and ORG entities) with the longest name the article gives each, the subject of each sentence,
the roles names come with ("Interior Minister Ada Okafor"), and whom a pronoun means.

`qa.corpus.quotes.speakers` reads a cue's subject against these.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from .names import TITLES, is_title, name_kind
from .orgnames import ORG_MAX_WORDS, aliases, bodies_named, of_place

if TYPE_CHECKING:
    from spacy.tokens import Token

    from qa.corpus.nlp import ParsedArticle

PERSON, ORG = "PERSON", "ORG"
# Entity labels of places and peoples: alone, they are no speaker. (A building speaks for
# what it houses: "the palace said", labelled FAC, is an organisation.)
PLACES = frozenset({"GPE", "NORP", "LOC"})
# Longer entities are the recogniser's run-ons, not names.
MAX_WORDS = {PERSON: 5, ORG: ORG_MAX_WORDS}
# How many sentences back "he"/"she" (a person) or "it"/"they" (an organisation) may refer.
_REACH = {PERSON: 4, ORG: 3}
# How many sentences back "the court" may mean the last court named as a subject, or named
# at all.
_NAMED_REACH = 8
_ANY_NAMED_REACH = 2
_SUBJECT_DEPS = frozenset({"nsubj", "nsubjpass"})
# The shortest word of a name that may be written with one letter changed.
_MIN_SPELT = 5
# An organisation written by its initials: "FEB", "EFB".
_ACRONYM = re.compile(r"[A-Z]{2,7}")
UNNAMED = frozenset("a an one another some any no every each either neither".split())
# Words that make a different role of the same noun: a deputy governor is not the governor.
_RANKS = frozenset("deputy vice assistant acting former associate interim co".split())
_MAIN, _SUBJECT, _OTHER = 2, 1, 0  # how likely a mention is what a later pronoun means
@lru_cache(maxsize=16384)
def fold(word: str) -> str:
    """A word without case or accents, so "Ozturk" is "Öztürk"."""
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@dataclass(frozen=True)
class Speaker:
    """A resolved speaker: its name as the article gives it in full, and what it is."""

    name: str
    kind: str  # PERSON or ORG


@dataclass(frozen=True)
class _Mention:
    start: int  # article offset
    sentence: int  # the number of its sentence in the article
    speaker: Speaker
    rank: int  # _MAIN: subject of a main clause; _SUBJECT: of another clause; else _OTHER
    root: Token | None = None  # the entity's head word


@lru_cache(maxsize=16384)
def _key_words(name: str, label: str) -> tuple[str, ...]:
    """A name's words as `full` compares them: cleaned, without case or accents."""
    return tuple(fold(w) for w in clean(name.split(), label))


@lru_cache(maxsize=16384)
def _folded(name: str) -> frozenset[str]:
    return frozenset(fold(w) for w in name.split())


def clean(words: list[str], label: str) -> list[str]:
    """An entity's words without a leading determiner or title, or a possessive ending."""
    if "(" in " ".join(words):  # "World Health Organization (WHO)": the name before
        words = " ".join(words).split("(")[0].split()
    while words and (words[0].lower() in ("the", "a", "an") or (
            label == PERSON and words[0].lower().rstrip(".") in TITLES) or (
            label == ORG and len(words) > 1 and words[0].isalpha() and words[0].islower()
            and words[1][:1].isupper())):
        words = words[1:]  # ("the official ACME": a name starts with a capital)
    while words and words[-1].lower() in ("and", "of", "the", "&", "or", ","):
        words = words[:-1]  # "the Grand Masters and": a run-on
    if words:
        last = words[-1]
        for ending in ("'s", "’s", "'", "’"):
            if last.endswith(ending):
                words = [*words[:-1], last[: -len(ending)]]
                break
    return [w for w in words if w]


def _rank_of(tok: Token) -> int:
    if tok.dep_ not in _SUBJECT_DEPS:
        if tok.dep_ == "appos" and tok.head.dep_ in _SUBJECT_DEPS:
            tok = tok.head
        else:
            return _OTHER
    verb = tok.head
    while verb.dep_ == "conj" and verb.head.i != verb.i:
        verb = verb.head
    return _MAIN if verb.dep_ == "ROOT" else _SUBJECT


class Mentions:
    """The people and organisations one article names, and whom its pronouns and roles mean."""

    def __init__(self, parsed: ParsedArticle, quoted: QuotedText,
                 sentence_starts: list[int]) -> None:
        """Args: the article's parse, its quotations, and where each of the parse's
        sentences starts (article offsets, in order)."""
        self.quoted = quoted
        self._sentence_starts = sentence_starts
        # the distinct names of each kind holding a word (dicts as ordered sets)
        self._by_word: dict[str, dict[str, dict[str, None]]] = {PERSON: {}, ORG: {}}
        self._full: dict[tuple[str, str], str] = {}
        self._roles: dict[str, dict[tuple[str, str], list[_Mention]]] | None = None
        self._mid_names: set[int] = set()
        self._place_words: set[int] = set()
        mentions: list[_Mention] = []
        self._counts: dict[str, int] = {}  # how often each name is written out
        self._first_at: dict[str, int] = {}  # where each name is first written
        self._pieces = parsed.pieces
        self._alone: dict[str, int] | None = None  # where each proper noun first stands alone
        ents = [(offset, doc, doc.ents) for offset, doc in parsed.pieces]
        self._offsets = {id(doc): offset for offset, doc in parsed.pieces}
        places = {e.text.lower() for _, _, es in ents for e in es if e.label_ in PLACES}
        others: list[_Mention] = []  # one-word names labelled a place or a work
        for offset, doc, es in ents:
            for ent in es:
                label = ent.label_
                if "\n" in ent.text:
                    continue
                if label not in (PERSON, ORG):
                    if len(ent) == 1 and ent.root.tag_ == "NNP" \
                            and not quoted.inside(offset + ent.start_char):
                        others.append(_Mention(offset + ent.start_char,
                                               self.sentence_of(offset + ent.start_char),
                                               Speaker(ent.text, PERSON), _rank_of(ent.root),
                                               ent.root))
                    continue
                if label == PERSON:
                    # "Leading Ada Okafor …", "Freedonia Ada Okafor": a verb or a place the
                    # recogniser ran into is no part of the name
                    # (only words before the last: a surname the article also gives a
                    # place, or that the recogniser once labelled one, is still a name)
                    last = ent.end - 1 if ent[-1].tag_ in ("NNP", "NNPS") else ent.end
                    first = next((t.i for t in ent[:-1] if t.tag_ in ("NNP", "NNPS")
                                  and t.lower_ not in places), last)
                    ent = doc[first: ent.end]
                    if not len(ent):
                        continue
                if label == ORG:
                    ent = doc[ent.start: of_place(doc, ent.end)]
                if len(ent) > 2 and ent.end < len(doc) and doc[ent.end].text == ":":
                    ent = doc[ent.start: ent.end - 1]  # "Ada Okafor Image: …", a caption's label
                start = offset + ent.start_char
                if quoted.inside(start):
                    continue
                words = clean(ent.text.split(), label)
                if not words or len(words) > MAX_WORDS[label]:
                    continue
                name = " ".join(words)
                root = ent.root
                if label == ORG and _titled_person(name, root):
                    label = PERSON
                mentions.append(_Mention(start, self.sentence_of(start), Speaker(name, label),
                                         _rank_of(root), root))
                for w in words:
                    self._by_word[label].setdefault(fold(w), {})[name] = None
                self._counts[name] = self._counts.get(name, 0) + 1
                self._first_at[name] = min(start, self._first_at.get(name, start))
        self._aliases = aliases(parsed.pieces, quoted)
        for name in bodies_named(parsed.pieces, quoted):
            # (only for the names a noun means: "the fire service" is the Elm Fire Service)
            for w in _key_words(name, ORG):
                self._by_word[ORG].setdefault(w, {}).setdefault(name, None)
        # A one-word name that is a word of a person's ("Okafor" where "Ada Okafor" is named)
        # is that person, whatever the recogniser labelled it: it reads some surnames as
        # companies, places or works.
        mentions = [m if m.speaker.kind == PERSON or " " in m.speaker.name
                    or not self.names_person(m.speaker.name)
                    else _Mention(m.start, m.sentence, Speaker(m.speaker.name, PERSON), m.rank,
                                  m.root)
                    for m in mentions]
        mentions += [m for m in others if self.names_person(m.speaker.name)]
        self.mentions = sorted(mentions, key=lambda m: m.start)
        self._starts = [m.start for m in self.mentions]
        # Where the first organisation is named, and where a second, other one is.
        orgs = [m for m in self.mentions if m.speaker.kind == ORG]
        first = self.full(orgs[0].speaker.name, ORG) if orgs else None
        second = next((m.start for m in orgs if self.full(m.speaker.name, ORG) != first), None)
        self._first_org = (first, orgs[0].start if orgs else 0, second)
        self._subjects: dict[int, list[_Mention]] = {}  # by sentence: subjects and speakers
        for m in self.mentions:
            if m.rank != _OTHER:
                self._subjects.setdefault(m.sentence, []).append(
                    _Mention(m.start, m.sentence, Speaker(self.full(m.speaker.name,
                                                                    m.speaker.kind),
                                                          m.speaker.kind), m.rank))

    def note_words(self, names: set[int], places: set[int]) -> None:
        """Words (their string ids) the parse reads as proper nouns mid-sentence, and words
        it labels a place anywhere: a sentence's first word is a name when the article
        writes it as one elsewhere and never as a place."""
        self._mid_names |= names
        self._place_words |= places

    def sentence_of(self, at: int) -> int:
        return bisect.bisect_right(self._sentence_starts, at) - 1

    def add_subject(self, tok: Token, offset: int) -> None:
        """A proper noun subject the entity recogniser missed ("Okafor said"), for the
        pronouns after it: kept when the article names that person in full."""
        at = offset + tok.idx
        if tok.ent_type_ in (PERSON, ORG) or self.quoted.inside(at):
            return
        name = self.full(tok.text, PERSON)
        if name != tok.text or tok.tag_ == "NNP":
            sentence = self.sentence_of(at)
            self._subjects.setdefault(sentence, []).append(
                _Mention(at, sentence, Speaker(name, PERSON), _rank_of(tok)))

    # ----------------------------------------------------------------------------------------
    # Names

    def full(self, name: str, kind: str) -> str:
        """The longest name of that kind in the article that holds every word of `name`
        ("Okafor", "Ms Okafor" → "Ada Okafor"); `name` itself when none does. A surname the
        article writes on its own means first the names given before it does so; of names as
        long, the one written out most often, then the first named ("Okafor" is "Ada
        Okafor", named throughout, not "Ben Okafor", her son, named once)."""
        known = self._full.get((name, kind))
        if known is not None:
            return known
        if kind == ORG and name in self._aliases:
            self._full[(name, kind)] = self._aliases[name]
            return self._aliases[name]
        if kind == ORG and _ACRONYM.fullmatch(name):
            expanded = self._expansion(name)
            if expanded:
                self._full[(name, kind)] = expanded
                return expanded
        words = _key_words(name, kind)
        best, best_key = name, (0, len(name.split()), 0, 0)
        # A short name written on its own means someone named in full before it ("Ada Okafor
        # died … Okafor once said …", not "his wife Bea Okafor", named after)
        fulls = self._by_word[kind].get(words[0], {}) if words else {}
        alone_at = self._first_alone(name) if kind == PERSON and len(words) == 1 \
            and sum(f != name for f in fulls) > 1 else -1  # (only where it could be either)
        for order, full in enumerate(fulls):
            before = int(0 <= self._first_at.get(full, alone_at) < alone_at)
            key = (before, len(full.split()), self._counts.get(full, 0), -order)
            have = _folded(full)
            if key > best_key and set(words) <= have and not (
                    kind == ORG and any(is_title(w) for w in have - set(words))):
                best, best_key = full, key  # ("the Coast Guard" is not its commandant)
        if best == name and kind == PERSON and len(words) == 1:
            best = self._spelt_otherwise(words[0]) or name
        self._full[(name, kind)] = best
        return best

    def _first_alone(self, word: str) -> int:
        """Where the article first writes `word` as a proper noun of its own, outside
        quotations (not a word of a longer name); -1 when it never does."""
        from spacy.attrs import ORTH, TAG

        if self._alone is None:
            self._alone = {}
        found = self._alone.get(word)
        if found is not None:
            return found
        found = -1
        for offset, doc in self._pieces:
            if word not in doc.vocab.strings or not len(doc):
                continue
            strings = doc.vocab.strings
            orth, tags = doc.to_array([ORTH, TAG]).T
            proper = (tags == strings["NNP"]) | (tags == strings["NNPS"])
            alone = (orth == strings[word]) & (tags == strings["NNP"])
            alone[1:] &= ~proper[:-1]
            alone[:-1] &= ~proper[1:]
            at = next((offset + doc[i].idx for i in np.flatnonzero(alone).tolist()
                       if not self.quoted.inside(offset + doc[i].idx)), -1)
            if at >= 0:
                found = at
                break
        self._alone[word] = found
        return found

    def _expansion(self, acronym: str) -> str | None:
        """The one organisation the article names in full with the initials of its capitalised
        words spelling `acronym` ("Federation of Example Builders" for "FEB")."""
        found = {full for names in self._by_word[ORG].values() for full in names
                 if "".join(w[0] for w in full.split() if w[:1].isupper()) == acronym
                 and len(full.split()) > 1}
        return found.pop() if len(found) == 1 else None

    def _spelt_otherwise(self, word: str) -> str | None:
        """The one person the article names in full with a word one letter off `word` (past
        its first, in a word of five letters or more): a name transliterated two ways ("Ada
        Okafar" … "Okafor said")."""
        if len(word) < _MIN_SPELT:
            return None
        found = {full for other, names in self._by_word[PERSON].items()
                 if len(other) == len(word) and other[0] == word[0]
                 and sum(a != b for a, b in zip(other, word)) == 1
                 for full in names if len(full.split()) > 1}
        return found.pop() if len(found) == 1 else None

    def names_person(self, name: str) -> bool:
        """Whether the article names a person with every word of `name`."""
        words = _key_words(name, PERSON)
        return bool(words) and (self.full(name, PERSON) != name or any(
            set(words) <= _folded(full)
            for full in self._by_word[PERSON].get(words[0], ())))

    def _entity_at(self, tok: Token) -> tuple[str, str] | None:
        """The entity a token is part of: (label, its words without determiners and titles)."""
        label = tok.ent_type_
        if not label:
            return None
        doc = tok.doc
        a = tok.i
        while a > 0 and doc[a].ent_iob_ == "I":
            a -= 1
        b = tok.i + 1
        while b < len(doc) and doc[b].ent_iob_ == "I":
            b += 1
        if label == ORG:
            b = of_place(doc, b)
        if label == ORG and b + 1 < len(doc) and doc[b].lower_ == "of" \
                and doc[b + 1].tag_ in ("NNP", "NNPS") and not doc[b + 1].ent_type_:
            # "the Party of Working People", where the recogniser stopped at "of"
            c = b + 1
            while c < len(doc) and doc[c].tag_ in ("NNP", "NNPS") and not doc[c].ent_type_:
                c += 1
            b = c
        text = doc[a:b].text
        words = clean(text.split(), label)
        if not words or len(words) > MAX_WORDS.get(label, 8) or "\n" in text:
            return None
        return label, " ".join(words)

    # ----------------------------------------------------------------------------------------
    # Subjects

    def _named_in_apposition(self, tok: Token,
                             kinds: tuple[str, ...] = (PERSON,)) -> Speaker | None:
        """"the minister, Ada Okafor," / "the minister Ada Okafor" / "Acme, its chief
        executive, Ada Okafor,": the person (or organisation) named beside a noun."""
        nouns = [tok, *(c for c in tok.children if c.dep_ == "conj" and c.tag_ == "NN")]
        for kind in kinds:  # a person first: "Acme's director, Ada Okafor" is Ada Okafor
            for child in tok.children:  # "the co-author and fellow Ada Okafor"
                if child.dep_ == "conj" and child.ent_type_ == kind and child.tag_ == "NNP":
                    ent = self._entity_at(child)
                    if ent is not None:
                        return Speaker(self.full(ent[1], kind), kind)
            for noun in nouns:  # (and "an expert and former official, Ada Okafor,")
                for child in noun.children:
                    if child.dep_ in ("appos", "compound") and child.i > noun.i:
                        for t in child.subtree if child.dep_ == "appos" else (child,):
                            # (a name inside quoted words is what was said, not who said it)
                            ent = self._entity_at(t) if t.ent_type_ == kind and not \
                                self.quoted.inside(self._offsets[id(t.doc)] + t.idx) else None
                            if ent is not None:
                                return Speaker(self.full(ent[1], kind), kind)
        if PERSON in kinds:
            # "The manager of Acme and director of Elm Partners, Ada Okafor, said": the parse
            # hangs the name from the role's last noun; it closes the whole phrase
            last = max(t.i for t in tok.subtree if not t.is_punct)
            for t in tok.subtree:
                if t.dep_ == "appos" and t.ent_type_ == PERSON and t.head.i != tok.i \
                        and t.right_edge.i == last \
                        and not self.quoted.inside(self._offsets[id(t.doc)] + t.idx):
                    ent = self._entity_at(t)
                    if ent is not None:
                        return Speaker(self.full(ent[1], PERSON), PERSON)
        return None

    def _by_role(self, tok: Token, at: int, kind: str = PERSON) -> Speaker | None:
        """The person (or organisation) the article names with this role: the last one
        before `at`, else the first after."""
        if self._roles is None:  # read once, on the first role asked for
            self._roles = {PERSON: {}, ORG: {}}
            for m in self.mentions:
                if m.root is not None:
                    for role in _roles(m.root, m.speaker.kind):
                        self._roles[m.speaker.kind].setdefault(role, []).append(m)
        named = self._roles[kind].get((tok.lower_, _rank_word(tok)))
        if not named:
            return None
        k = bisect.bisect_left(named, at, key=lambda m: m.start)
        m = named[k - 1] if k > 0 else named[0]
        return Speaker(self.full(m.speaker.name, kind), kind)

    def _only_organisation(self, at: int) -> Speaker | None:
        """The organisation named before `at`, if the article has named only one."""
        name, first_at, second_at = self._first_org
        if name is None or at <= first_at or (second_at is not None and second_at < at):
            return None
        return Speaker(name, ORG)

    def recent_named(self, noun: str, at: int) -> Speaker | None:
        """The organisation named last before `at`, within a few sentences, whose name holds
        `noun`: what "the court" or "the ministry" means."""
        here, key = self.sentence_of(at), fold(noun)
        for sentence in range(here, max(here - _NAMED_REACH, -1) - 1, -1):
            # a speaker heard before, named by a phrase ("the Elm campaign said … The
            # campaign added"), or a subject
            heard = [m for m in self._subjects.get(sentence, ()) if m.start < at
                     and m.speaker.kind == ORG and key in _key_words(m.speaker.name, ORG)]
            if heard:
                return max(heard, key=lambda m: m.start).speaker
        other: _Mention | None = None
        for k in range(bisect.bisect_left(self._starts, at) - 1, -1, -1):
            m = self.mentions[k]
            if here - m.sentence > _NAMED_REACH:
                break
            if m.speaker.kind == ORG and key in _key_words(m.speaker.name, ORG):
                if m.rank != _OTHER:  # a subject: "The Court of Appeal heard …", not "… than
                    return Speaker(self.full(m.speaker.name, ORG), ORG)  # the High Court"
                if here - m.sentence <= _ANY_NAMED_REACH:
                    other = other or m
        return Speaker(self.full(other.speaker.name, ORG), ORG) if other else None

    def person_in_line(self, start: int, end: int) -> Speaker | None:
        """The last person named between `start` and `end` (a caption line)."""
        lo = bisect.bisect_left(self._starts, start)
        hi = bisect.bisect_left(self._starts, end)
        for m in reversed(self.mentions[lo:hi]):
            if m.speaker.kind == PERSON:
                return Speaker(self.full(m.speaker.name, PERSON), PERSON)
        return None

    # ----------------------------------------------------------------------------------------
    # Pronouns

    def heard(self, speaker: Speaker, at: int) -> None:
        """Note a speaker attributed at `at`: the subject of its sentence, for the pronouns
        that follow."""
        sentence = self.sentence_of(at)
        self._subjects.setdefault(sentence, []).append(_Mention(at, sentence, speaker, _MAIN))

    def note_unnamed(self, tok: Token, offset: int, group: bool = False) -> None:
        """A main clause's subject that is a person without a name ("One of the victims
        decided …"), or people (`group`: "Researchers found …"): a pronoun after it ("she",
        "they") means them."""
        head = tok.head
        while head.dep_ == "conj" and head.head.i != head.i:
            head = head.head
        if head.dep_ == "ROOT" and tok.ent_type_ not in (PERSON, ORG) \
                and not self.quoted.inside(offset + tok.idx) \
                and self._named_in_apposition(tok) is None:
            self.unnamed(offset + tok.idx, ORG if group else PERSON)

    def unnamed(self, at: int, kind: str = PERSON) -> None:
        """Note a person (or people, as ORG: whom "they" means) who speak at `at` without a
        name ("a witness said"): "he" in the sentences after means them, not someone named
        before."""
        sentence = self.sentence_of(at)
        self._subjects.setdefault(sentence, []).append(
            _Mention(at, sentence, Speaker("", kind), _MAIN))

    def recent(self, kind: str, at: int, reach: int | None = None) -> Speaker | None:
        """Whom "he"/"she" (a person) or "it"/"they" (an organisation) at `at` refers to: a
        subject of that kind earlier in the sentence, else the subject of the nearest
        sentence before that has one (its main clause's first), else the last of that kind
        named in this or the previous sentence."""
        here = self.sentence_of(at)
        reach = _REACH[kind] if reach is None else reach
        for sentence in range(here, max(here - reach, -1) - 1, -1):
            found = [m for m in self._subjects.get(sentence, ())
                     if m.speaker.kind == kind and m.start < at]
            if found:
                top = max(m.rank for m in found)
                best = sorted((m for m in found if m.rank == top), key=lambda m: m.start)
                pick = best[-1] if sentence == here else best[0]
                return pick.speaker if pick.speaker.name else None
        for k in range(bisect.bisect_left(self._starts, at) - 1, -1, -1):
            m = self.mentions[k]
            if here - m.sentence > 1:
                break
            if m.speaker.kind == kind:
                return Speaker(self.full(m.speaker.name, kind), kind)
        return None


def _titled_person(name: str, root: Token) -> bool:
    """A name the recogniser labelled an organisation that is shaped as a person's and has a
    person's title in apposition ("Ada Okafor, the government commissioner for …", "a
    spokesperson, Ada Okafor,"): a person."""
    return name_kind(name) == "person" and (any(
        c.dep_ == "appos" and c.i > root.i and c.tag_ == "NN" and is_title(c.lower_)
        for c in root.children) or (  # ("the company's spokesperson, Ada Okafor,")
        root.dep_ == "appos" and root.head.i < root.i and root.head.tag_ == "NN"
        and is_title(root.head.lower_)))


def determiner(tok: Token) -> str:
    for child in tok.children:
        if child.dep_ in ("det", "poss") and child.i < tok.i:
            return child.lower_
    return ""


def _rank_word(tok: Token) -> str:
    """"deputy" for "the deputy governor", "vice" for "Vice President": "" for none."""
    for child in tok.children:
        if child.i < tok.i and child.lower_ in _RANKS:
            return child.lower_
    return ""


def _roles(root: Token, kind: str) -> frozenset[tuple[str, str]]:
    """The roles attached to a name, with their rank words: "Interior Minister Ada Okafor",
    "Okafor, the interior minister", "the minister, Ada Okafor", "Deputy Governor Ada Okafor";
    for an organisation, the noun beside it: "Acme, the company", "the network Acme"."""
    def fits(t: Token) -> bool:
        return is_title(t.lower_) if kind == PERSON else t.tag_ == "NN" and t.lower_.isalpha()

    out = set()
    if kind == PERSON:
        # the compounds before the name, and theirs: "Deputy Interior Minister Ada Okafor"
        left, todo = [], [c for c in root.children if c.dep_ == "compound" and c.i < root.i]
        while todo:
            t = todo.pop()
            left.append(t)
            todo.extend(c for c in t.children if c.i < t.i and c.dep_ in ("compound", "amod"))
        ranks = [t.lower_ for t in left if t.lower_ in _RANKS]
        for t in left:
            if t.dep_ == "compound" and fits(t) and t.lower_ not in _RANKS:
                out.add((t.lower_, ranks[0] if ranks else ""))
    for child in root.children:
        if child.dep_ == "appos" and fits(child):
            out.add((child.lower_, _rank_word(child)))
    if root.dep_ in ("appos", "compound") and fits(root.head):
        out.add((root.head.lower_, _rank_word(root.head)))
    return frozenset(out)


class QuotedText:
    """The spans inside quotation marks, to tell a word of the narration from a quoted one."""

    def __init__(self, spans: list[tuple[int, int]]) -> None:
        self.spans = spans
        self._starts = [s for s, _ in spans]

    def inside(self, at: int) -> bool:
        return self.at(at) >= 0

    def at(self, at: int) -> int:
        """The index of the span holding `at`, or -1."""
        k = bisect.bisect_right(self._starts, at) - 1
        return k if k >= 0 and self.spans[k][0] <= at < self.spans[k][1] else -1
