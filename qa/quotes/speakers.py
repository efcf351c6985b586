"""Who a subject names, from the article's parse: the person or organisation behind a name,
a pronoun, a role ("the minister"), a spokesperson ("an Acme spokeswoman") or a statement ("a
statement which read").

A speaker is a person or an organisation: spaCy's PERSON and ORG entities, or a proper noun
the entity recogniser missed that the article names in full. A country, a city or a
nationality standing alone (GPE, NORP, LOC) is no speaker; a body it owns is ("Freedonia's
foreign ministry"). Unnamed people ("an eyewitness", "officials") and groups ("X and Y") are
no speaker either.
"""

from __future__ import annotations

import bisect
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from .cues import ISSUING_VERBS, STATEMENT_NOUNS
from .names import PARTICLES, TITLES, is_body, is_title, name_kind, person_in

if TYPE_CHECKING:
    from spacy.tokens import Token

    from qa.nlp import ParsedArticle

PERSON, ORG = "PERSON", "ORG"
# Entity labels of places and peoples: alone, they are no speaker. (A building speaks for
# what it houses: "the Kremlin said", labelled FAC, is an organisation.)
PLACES = frozenset({"GPE", "NORP", "LOC"})
# Longer entities are the recogniser's run-ons, not names.
_MAX_WORDS = {PERSON: 5, ORG: 8}
# How many sentences back "he"/"she" (a person) or "it"/"they" (an organisation) may refer.
_REACH = {PERSON: 4, ORG: 3}
_SUBJECT_DEPS = frozenset({"nsubj", "nsubjpass"})
_UNNAMED = frozenset("a an one another some any".split())
# Words that make a different role of the same noun: a deputy governor is not the governor.
_RANKS = frozenset("deputy vice assistant acting former associate interim co".split())
_MAIN, _SUBJECT, _OTHER = 2, 1, 0  # how likely a mention is what a later pronoun means
# Roles that, after "the", stand for the person just named ("Okafor said … The official
# added"), and how many sentences back that person may be.
_ANAPHORIC_ROLES = frozenset("""
    official secretary diplomat spokesperson spokesman spokeswoman minister envoy ambassador
    president correspondent representative professor researcher scientist author governor
    mayor senator leader chairman chairwoman ceo coach manager
""".split())
_ANAPHORIC_REACH = 2
# Texts that "state" and "read" but have no author the article names: no speaker.
_DOCUMENTS = frozenset("""
    amendment amendments act law laws constitution article section clause bill treaty statute
    code charter regulation regulations rule rules
""".split())
_WORKS = frozenset({"LAW", "WORK_OF_ART", "PRODUCT", "EVENT"})
# Bodies of the state, which speak as such ("the emergencies ministry said").
_PUBLIC_BODIES = frozenset("""
    ministry department agency office police commission committee council court government
    service authority administration bureau army navy military
""".split())
# "the company said": nouns of an organisation the article may have named just once.
_COMPANY_NOUNS = frozenset("""
    company firm corporation business network broadcaster channel club team organisation
    organization charity foundation association union party airline carrier manufacturer
    maker retailer bank group publisher studio newspaper website site outlet agency
""".split())


@lru_cache(maxsize=16384)
def fold(word: str) -> str:
    """A word without case or accents, so "Erdogan" is "Erdoğan"."""
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
    root: "Token | None" = None  # the entity's head word


@lru_cache(maxsize=16384)
def _key_words(name: str, label: str) -> tuple[str, ...]:
    """A name's words as `full` compares them: cleaned, without case or accents."""
    return tuple(fold(w) for w in _clean(name.split(), label))


@lru_cache(maxsize=16384)
def _folded(name: str) -> frozenset[str]:
    return frozenset(fold(w) for w in name.split())


def _clean(words: list[str], label: str) -> list[str]:
    """An entity's words without a leading determiner or title, or a possessive ending."""
    if "(" in " ".join(words):  # "World Health Organization (WHO)": the name before
        words = " ".join(words).split("(")[0].split()
    while words and (words[0].lower() in ("the", "a", "an") or (
            label == PERSON and words[0].lower().rstrip(".") in TITLES)):
        words = words[1:]
    while words and words[-1].lower() in ("and", "of", "the", "&", "or", ","):
        words = words[:-1]  # "the Grand Masters and": a run-on
    if words:
        last = words[-1]
        for ending in ("'s", "’s", "'", "’"):
            if last.endswith(ending):
                words = [*words[:-1], last[: -len(ending)]]
                break
    return [w for w in words if w]


def _rank_of(tok: "Token") -> int:
    if tok.dep_ not in _SUBJECT_DEPS:
        if tok.dep_ == "appos" and tok.head.dep_ in _SUBJECT_DEPS:
            tok = tok.head
        else:
            return _OTHER
    verb = tok.head
    while verb.dep_ == "conj" and verb.head.i != verb.i:
        verb = verb.head
    return _MAIN if verb.dep_ == "ROOT" else _SUBJECT


class Speakers:
    """The people and organisations one article names, and who its subjects refer to."""

    def __init__(self, parsed: "ParsedArticle", quoted: "QuotedText",
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
        ents = [(offset, doc, doc.ents) for offset, doc in parsed.pieces]
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
                    first = next((t.i for t in ent if t.tag_ in ("NNP", "NNPS")
                                  and t.lower_ not in places), ent.end)
                    ent = doc[first: ent.end]
                    if not len(ent):
                        continue
                if len(ent) > 2 and ent.end < len(doc) and doc[ent.end].text == ":":
                    ent = doc[ent.start: ent.end - 1]  # "Ada Okafor Image: …", a caption's label
                start = offset + ent.start_char
                if quoted.inside(start):
                    continue
                words = _clean(ent.text.split(), label)
                if not words or len(words) > _MAX_WORDS[label]:
                    continue
                name = " ".join(words)
                root = ent.root
                mentions.append(_Mention(start, self.sentence_of(start), Speaker(name, label),
                                         _rank_of(root), root))
                for w in words:
                    self._by_word[label].setdefault(fold(w), {})[name] = None
                self._counts[name] = self._counts.get(name, 0) + 1
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

    def add_subject(self, tok: "Token", offset: int) -> None:
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
        ("Okafor", "Ms Okafor" → "Ada Okafor"); `name` itself when none does. Of names as
        long, the one written out most often, then the first named ("Okafor" is "Ada
        Okafor", named throughout, not "Ben Okafor", her son, named once)."""
        known = self._full.get((name, kind))
        if known is not None:
            return known
        words = _key_words(name, kind)
        best, best_key = name, (len(name.split()), 0, 0)
        for order, full in enumerate(self._by_word[kind].get(words[0], ()) if words else ()):
            key = (len(full.split()), self._counts.get(full, 0), -order)
            have = _folded(full)
            if key > best_key and set(words) <= have and not (
                    kind == ORG and any(is_title(w) for w in have - set(words))):
                best, best_key = full, key  # ("the Coast Guard" is not its commandant)
        self._full[(name, kind)] = best
        return best

    def names_person(self, name: str) -> bool:
        """Whether the article names a person with every word of `name`."""
        words = _key_words(name, PERSON)
        return bool(words) and (self.full(name, PERSON) != name or any(
            set(words) <= _folded(full)
            for full in self._by_word[PERSON].get(words[0], ())))

    def _entity_at(self, tok: "Token") -> tuple[str, str] | None:
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
        if label == ORG and b + 1 < len(doc) and doc[b].lower_ == "of" \
                and doc[b + 1].tag_ in ("NNP", "NNPS") and not doc[b + 1].ent_type_:
            # "the Party of Working People", where the recogniser stopped at "of"
            c = b + 1
            while c < len(doc) and doc[c].tag_ in ("NNP", "NNPS") and not doc[c].ent_type_:
                c += 1
            b = c
        text = doc[a:b].text
        words = _clean(text.split(), label)
        if not words or len(words) > _MAX_WORDS.get(label, 8) or "\n" in text:
            return None
        return label, " ".join(words)

    # ----------------------------------------------------------------------------------------
    # Subjects

    def of_subject(self, tok: "Token", offset: int) -> Speaker | None:
        """The speaker a subject (its head token) names, or None."""
        at = offset + tok.idx
        if self.quoted.inside(at):
            return None
        low = tok.lower_
        if tok.tag_ == "PRP":
            if low in ("he", "she", "him", "her"):
                return self.recent(PERSON, at)
            if low in ("it", "they", "them"):
                return self.recent(ORG, at)
            return None  # "I", "we", "you": inside an interview, the speaker is not known
        if tok.tag_ in ("NN", "NNS"):
            # "one news site, Acme, claims", "an expert and former official, Ada Okafor,
            # said": the name given beside the noun
            named = self._named_in_apposition(tok, (PERSON, ORG))
            if named is not None:
                return named
        if tok.tag_ in ("NNP", "NNPS") and any(
                c.dep_ == "conj" and (c.tag_ in ("NNP", "NNPS", "PRP") or c.ent_type_)
                for c in tok.children):
            return None  # "X and Y said": a group ("X and a colleague of hers" is X)
        ent = self._entity_at(tok)
        if ent is not None:
            label, name = ent
            person = self.full(name, PERSON)
            if label == PERSON or (tok.tag_ in ("NNP", "NNPS") and self.names_person(name)):
                # (a word of a name the article gives a person, whatever its label here)
                return Speaker(person, PERSON)
            if label in (ORG, "FAC") or any(c.dep_ == "compound" and is_body(c.lower_)
                                              for c in tok.children):
                # "Acme Corp president Ada Okafor said", parsed with the company as subject;
                # "the news agency Elmtown", whatever its label
                named = self._named_in_apposition(tok)
                return named or Speaker(self.full(name, ORG), ORG)
            if label in PLACES:
                return None  # a country word standing alone
            if label in _WORKS:
                return None  # a law, a work, an event: no one's words
            ent = None  # (a number, a date: misread; the word is read as a proper noun)
        if low in _DOCUMENTS:
            return None  # "the 14th Amendment states": a text, no one's words
        if low in STATEMENT_NOUNS:
            return self._issuer(tok, offset)
        if tok.text[:1].isupper() and not ent:
            found = self._proper_name(tok)
            if found is not None:
                return found
        if low.startswith("spokes") or low in ("representative", "representatives"):
            return self._spokesperson(tok, offset)
        if is_title(low) and tok.tag_ in ("NN", "NNP"):
            return self._role(tok, at)
        if is_body(low):
            return self._body(tok, at)
        return None

    def _proper_name(self, tok: "Token") -> Speaker | None:
        """A proper noun the entity recogniser missed: the full name the article gives it,
        or the name it ends."""
        doc = tok.doc
        a = tok.i
        start = tok.sent.start
        while a > start and doc[a - 1].ent_type_ not in PLACES and (
                doc[a - 1].tag_ in ("NNP", "NNPS") and doc[a - 1].dep_ != "poss"
                or doc[a - 1].lower_ in PARTICLES and a - 1 > start
                and doc[a - 2].tag_ == "NNP"):
            a -= 1  # the words of the name before its last: "Erik ten Hag"
        written = [t.text for t in doc[a: tok.i + 1]]
        words = _clean(written, PERSON)
        if not words or len(words) > _MAX_WORDS[PERSON]:
            return None
        name = " ".join(words)
        full = self.full(name, PERSON)
        if full != name:
            return Speaker(full, PERSON)
        org = self.full(name, ORG)
        if org != name:
            return Speaker(org, ORG)
        # A name: capitalised mid-sentence, or after a title, or of two words or more, or
        # written as a name elsewhere in the article.
        if tok.tag_ in ("NNP", "NNPS") and (
                a > tok.sent.start or len(written) > 1
                or tok.lower in self._mid_names and tok.lower not in self._place_words) \
                and not any(is_body(w.lower()) or is_title(w.lower()) for w in words):
            return Speaker(name, PERSON)
        return None

    def _owner(self, tok: "Token", offset: int) -> Speaker | None:
        """The organisation a role or statement belongs to: "an Acme spokeswoman", "the
        company's spokesman", "a spokesman for the ministry", "a statement from Acme"."""
        for child in tok.children:
            if child.dep_ in ("compound", "poss", "nmod") and child.i < tok.i:
                owner = self._organisation(child, offset)
                if owner is not None:
                    return owner
        for child in tok.children:
            if child.dep_ == "prep" and child.lower_ in ("for", "of", "from", "at", "by"):
                for obj in child.children:
                    if obj.dep_ == "pobj":
                        owner = self._organisation(obj, offset)
                        if owner is not None:
                            return owner
        return None

    def _organisation(self, tok: "Token", offset: int) -> Speaker | None:
        ent = self._entity_at(tok)
        if ent is not None:
            return Speaker(self.full(ent[1], ORG), ORG) if ent[0] == ORG else None
        if tok.tag_ == "NNP":
            return Speaker(self.full(tok.text, ORG), ORG)
        if is_body(tok.lower_):
            return self._body(tok, offset + tok.idx)
        return None

    def _issuer(self, tok: "Token", offset: int) -> Speaker | None:
        """Who issued a statement: its owner ("a statement from Acme", "a tweet by Ada
        Okafor"), or the subject of "released a statement"."""
        owner = self._owner(tok, offset)
        if owner is not None:
            return owner
        for child in tok.children:
            if child.dep_ in ("prep", "agent") and child.lower_ in ("by", "from"):
                obj = next((c for c in child.children if c.dep_ == "pobj"), None)
                ent = self._entity_at(obj) if obj is not None else None
                if ent is not None and ent[0] == PERSON:
                    return Speaker(self.full(ent[1], PERSON), PERSON)
        head = tok.head
        if tok.dep_ == "dobj" and head.lower_ in ISSUING_VERBS:
            for child in head.children:
                if child.dep_ == "nsubj":
                    return self.of_subject(child, offset)
        return None

    def _spokesperson(self, tok: "Token", offset: int) -> Speaker | None:
        """A spokesperson speaks for an organisation, unless the article names them."""
        named = self._named_in_apposition(tok)
        if named is not None:
            return named
        owner = self._owner(tok, offset)
        if owner is not None:
            return owner
        if _determiner(tok) not in _UNNAMED:
            at = offset + tok.idx
            return self._by_role(tok, at) or self._by_role(tok, at, ORG)
        return None

    def _named_in_apposition(self, tok: "Token",
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
                            ent = self._entity_at(t) if t.ent_type_ == kind else None
                            if ent is not None:
                                return Speaker(self.full(ent[1], kind), kind)
        return None

    def _role(self, tok: "Token", at: int) -> Speaker | None:
        """"the minister said": the person the article names with that role."""
        named = self._named_in_apposition(tok) or self._named_after_role(tok)
        if named is not None:
            return named
        det = _determiner(tok)
        if det in _UNNAMED or not det:
            return None  # "a minister", "one official", "officials": unnamed
        found = self._by_role(tok, at)
        if found is None and det == "the" and tok.lower_ in _ANAPHORIC_ROLES:
            found = self.recent(PERSON, at, reach=_ANAPHORIC_REACH)
        return found or self._description(tok)

    def _named_after_role(self, tok: "Token") -> Speaker | None:
        """"First Minister of Freedonia Ada Okafor said": a title with a complement before the
        name, which the parse reads as the title's object. The name grammar of
        `qa.quotes.names` reads the phrase; only a name of two words or more is taken."""
        if tok.i + 1 >= len(tok.doc) or tok.doc[tok.i + 1].lower_ not in ("of", "for", "to"):
            return None
        phrase = tok.doc[tok.left_edge.i: tok.right_edge.i + 1]
        if len(phrase) > _MAX_WORDS[ORG] + 4 or "\n" in phrase.text:
            return None
        name = person_in(phrase.text)
        if name is None or name_kind(name) != "person":
            return None
        return Speaker(self.full(name, PERSON), PERSON)

    @staticmethod
    def _description(tok: "Token") -> Speaker | None:
        """A role that picks out one person, where the article gives no name: "the head of
        the ministry's investigators", "Freedonia's ambassador to Ruritania"."""
        owner = next((c for c in tok.children if c.dep_ == "poss"), None)
        if tok.tag_ not in ("NN", "NNP") or (_determiner(tok) != "the" and (
                owner is None or owner.tag_ not in ("NNP", "NNPS"))):
            return None
        words = []
        for t in tok.subtree:
            if t.i > tok.i and t.dep_ in ("appos", "relcl", "acl", "punct", "advcl"):
                break
            if words or t.dep_ != "det":
                words.append(t)
        text = tok.doc[words[0].i: words[-1].i + 1].text if words else ""
        if not text or "\n" in text or len(words) > _MAX_WORDS[ORG]:
            return None
        return Speaker(text, PERSON)

    def _by_role(self, tok: "Token", at: int, kind: str = PERSON) -> Speaker | None:
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

    def _body(self, tok: "Token", at: int) -> Speaker | None:
        """An organisation named by a common noun: the one the article names that shares its
        words ("Okafor's animal foundation" → "Ada Okafor Animal Foundation"), else its own
        words ("Freedonia's foreign ministry"); for a bare noun, the organisation of the
        article that holds the word ("police" → "Port Elm Police"), else, after "the", the
        one the article calls so ("the company" → "Acme, a software company"), else the only
        one it has named."""
        if tok.tag_ in ("NNS", "NNPS") and tok.lower_ != "police":
            return None  # "authorities", "officials": a group
        if _determiner(tok) in _UNNAMED:
            return None
        # A body of its own: named ("Freedonia's foreign ministry", "the Interior Ministry"), or
        # a public body of a kind ("the emergencies ministry"). "Local news", "the research
        # team" or "the party's website" are no one in particular.
        modifiers = [c for c in tok.children if c.i < tok.i and (
            c.dep_ in ("compound", "poss") and (c.tag_ in ("NNP", "NNPS") or c.ent_type_)
            or c.dep_ == "compound" and tok.lower_ in _PUBLIC_BODIES)]
        if modifiers:
            first = next(t for t in tok.subtree if t.dep_ != "det")
            span = tok.doc[first.i: tok.i + 1]
            if len(span) > _MAX_WORDS[ORG]:
                return None
            known = self._sharing([t.text for t in span])
            return Speaker(known or span.text, ORG)
        full = self.full(tok.text, ORG)
        if full != tok.text:
            return Speaker(full, ORG)
        if tok.lower_ == "police":
            return Speaker("police", ORG)  # the police of the place, which the article names
        if _determiner(tok) != "the":
            return None
        # "the company", "the network": the organisation the article calls so, or the only
        # one it has named
        found = self._by_role(tok, at, ORG)
        if found is None and tok.lower_ in _COMPANY_NOUNS:
            found = self._only_organisation(at)
        return found

    def _sharing(self, words: list[str]) -> str | None:
        """The article's organisation holding the last word and another one of `words`."""
        keys = {fold(_clean([w], ORG)[0]) for w in words if _clean([w], ORG)}
        head = fold(words[-1])
        best = None
        for name in self._by_word[ORG].get(head, ()):
            shared = keys & {fold(w) for w in name.split()}
            if len(shared) >= 2 and (best is None or len(name) > len(best)):
                best = name
        return self.full(best, ORG) if best else None

    def _only_organisation(self, at: int) -> Speaker | None:
        """The organisation named before `at`, if the article has named only one."""
        name, first_at, second_at = self._first_org
        if name is None or at <= first_at or (second_at is not None and second_at < at):
            return None
        return Speaker(name, ORG)

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

    def note_unnamed(self, tok: "Token", offset: int) -> None:
        """A main clause's subject that is a person without a name ("One of the victims
        decided …"): a pronoun after it means them."""
        head = tok.head
        while head.dep_ == "conj" and head.head.i != head.i:
            head = head.head
        if head.dep_ == "ROOT" and tok.ent_type_ not in (PERSON, ORG) \
                and not self.quoted.inside(offset + tok.idx) \
                and self._named_in_apposition(tok) is None:
            self.unnamed(offset + tok.idx)

    def unnamed(self, at: int) -> None:
        """Note a person who speaks at `at` without a name ("a witness said"): "he" in the
        sentences after means them, not someone named before."""
        sentence = self.sentence_of(at)
        self._subjects.setdefault(sentence, []).append(
            _Mention(at, sentence, Speaker("", PERSON), _MAIN))

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


def _determiner(tok: "Token") -> str:
    for child in tok.children:
        if child.dep_ in ("det", "poss") and child.i < tok.i:
            return child.lower_
    return ""


def _rank_word(tok: "Token") -> str:
    """"deputy" for "the deputy governor", "vice" for "Vice President": "" for none."""
    for child in tok.children:
        if child.i < tok.i and child.lower_ in _RANKS:
            return child.lower_
    return ""


def _roles(root: "Token", kind: str) -> frozenset[tuple[str, str]]:
    """The roles attached to a name, with their rank words: "Interior Minister Ada Okafor",
    "Okafor, the interior minister", "the minister, Ada Okafor", "Deputy Governor Ada Okafor";
    for an organisation, the noun beside it: "Acme, the company", "the network Acme"."""
    def fits(t: "Token") -> bool:
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
