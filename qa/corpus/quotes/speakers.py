"""Who a subject names, from the article's parse: the person or organisation behind a name,
a pronoun, a role ("the minister"), a spokesperson ("an Acme spokeswoman") or a text ("a
statement which read", "the decree signed by X", "figures reported by X").

A speaker is a person or an organisation: spaCy's PERSON and ORG entities, or a proper noun
the entity recogniser missed that the article names in full. A country, a city or a
nationality standing alone (GPE, NORP, LOC) is no speaker; a body it owns is ("Freedonia's
foreign ministry"). Unnamed people ("an eyewitness", "officials") and groups ("X and Y") are
no speaker either.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .cues import CLAUSE_VERBS, ISSUING_VERBS, OWNED_ROLES, STATEMENT_NOUNS, UNNAMED_PEOPLE
from .mentions import (
    MAX_WORDS,
    ORG,
    PERSON,
    PLACES,
    UNNAMED,
    Mentions,
    QuotedText,
    Speaker,
    clean,
    determiner,
    fold,
)
from .names import PARTICLES, is_body, is_title, name_kind, person_in

if TYPE_CHECKING:
    from spacy.tokens import Token

__all__ = ["ORG", "PERSON", "PLACES", "QuotedText", "Speaker", "Speakers", "subject_of"]

# Roles that, after "the", stand for the person just named ("Okafor said … The official
# added"), and how many sentences back that person may be.
_ANAPHORIC_ROLES = frozenset("""
    official secretary diplomat spokesperson spokesman spokeswoman minister envoy ambassador
    president correspondent representative professor researcher scientist author governor
    mayor senator leader chairman chairwoman ceo coach manager
""".split())
_ANAPHORIC_REACH = 2
# How many sentences back "the report" looks for the report it means, and the texts that
# are issued so (not a website, which is the outlet's own).
_TEXT_REACH = 2
_ISSUED_TEXTS = frozenset("""
    report reports statement statements study survey poll letter decree proclamation ruling
    judgment judgement summary release announcement analysis
""".split())
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


def _issuing_agent(tok: Token) -> Token | None:
    """Who a text was issued, said or reported by, as the participle after it gives them:
    "the decree signed by the leader", "numbers reported by Acme". A person is no text ("a
    woman reported missing by her family")."""
    if is_title(tok.lower_) or tok.lower_ in UNNAMED_PEOPLE:
        return None
    for child in tok.children:
        if child.dep_ == "acl" and child.tag_ == "VBN" and (
                child.lower_ in ISSUING_VERBS or child.lower_ in CLAUSE_VERBS):
            agent = next((c for c in child.children if c.dep_ == "agent"), None)
            if agent is not None:
                return next((c for c in agent.children if c.dep_ == "pobj"), None)
    return None


def subject_of(verb: Token) -> Token | None:
    """A verb's subject; of two ("Freedonia's president Ada Okafor said", parsed as two
    subjects), the one that is a name."""
    subjects = [c for c in verb.children if c.dep_ == "nsubj"]
    if len(subjects) > 1:
        named = [c for c in subjects if c.ent_type_ in (PERSON, ORG)]
        return (named or subjects)[-1]
    return subjects[0] if subjects else None


def _of_someone(tok: Token) -> bool:
    """Whether a plural noun is people of someone's: "his supporters", "her aides"."""
    return any(c.dep_ == "poss" for c in tok.children)


def _earlier_text(tok: Token) -> Token | None:
    """The same text noun, written without "the" in the sentences just before ("a report
    from Acme" for "The report said"): the text "the" points back to."""
    doc = tok.doc
    lo = tok.sent.start
    for _ in range(_TEXT_REACH):
        if lo == 0:
            break
        lo = doc[lo - 1].sent.start
    key = tok.lower_.rstrip("s")
    for t in reversed(doc[lo: tok.i]):
        if t.lower_.rstrip("s") == key and t.tag_ in ("NN", "NNS") and determiner(t) != "the":
            return t
    return None


def _titled(tok: Token) -> bool:
    """Whether a name is written after a capitalised "The" inside a sentence ("Next, The
    Elm Sound reported"), as the titles of publications are."""
    k = tok.i
    while k > tok.sent.start and tok.doc[k - 1].ent_iob_ == "I" and tok.doc[k].ent_iob_ == "I":
        k -= 1
    the = tok.doc[k - 1] if k > tok.sent.start else None
    return the is not None and the.text == "The" and the.i > tok.sent.start \
        and not tok.doc[the.i - 1].is_sent_start and tok.doc[the.i - 1].text not in ('"', "“", "\n")


def _one_entity(a: Token, b: Token) -> bool:
    """Whether two tokens are words of one entity ("Court" and "Oak" in "the Court of Elm and
    Oak")."""
    lo, hi = sorted((a.i, b.i))
    return bool(a.ent_type_) and all(t.ent_iob_ == "I" for t in a.doc[lo + 1: hi + 1])


def _of_a_name(tok: Token) -> Token | None:
    """The proper noun a body noun is "of": "the government of Freedonia" → "Freedonia"."""
    for child in tok.children:
        if child.dep_ == "prep" and child.lower_ == "of" and child.i == tok.i + 1:
            obj = next((c for c in child.children if c.dep_ == "pobj"), None)
            if obj is not None and obj.tag_ in ("NNP", "NNPS") and not any(
                    c.dep_ in ("conj", "prep") for c in obj.children):
                return obj
    return None


class Speakers(Mentions):
    """Who the subjects of one article's attributions name."""

    def of_subject(self, tok: Token, offset: int) -> Speaker | None:
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
            agent = _issuing_agent(tok)
            if agent is not None:  # "the decree signed by X", "figures reported by X": X
                return self.of_subject(agent, offset)
        if tok.tag_ in ("NNP", "NNPS") and any(
                c.dep_ == "conj" and (c.tag_ in ("NNP", "NNPS", "PRP") or c.ent_type_
                                      or c.tag_ == "NNS" and _of_someone(c))
                and not _one_entity(tok, c) for c in tok.children):
            return None  # "X and Y said", "X and his supporters said": a group ("X and a
            # colleague of hers" is X; "the Court of Elm and Oak" is one name)
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
            if label == "LOC" and _titled(tok):
                # "Next, The Elm Sound reported": a place's name written as a title is a
                # publication's (a sea or a region says nothing)
                return Speaker(f"The {name}", ORG)
            if label in PLACES:
                # "a Freedonian, Ada Okafor, said": the person named beside the word; alone,
                # a country word
                return self._named_in_apposition(tok)
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
        if low in OWNED_ROLES and tok.tag_ == "NN" and determiner(tok) in UNNAMED:
            owner = self._named_owner(tok, offset)  # "an official from Acme": Acme
            if owner is not None:
                return owner
        if is_title(low) and tok.tag_ in ("NN", "NNP"):
            return self._role(tok, at)
        if is_body(low):
            return self._body(tok, at)
        return None

    def _proper_name(self, tok: Token) -> Speaker | None:
        """A proper noun the entity recogniser missed: the full name the article gives it,
        or the name it ends."""
        doc = tok.doc
        a = tok.i
        start = tok.sent.start
        while a > start and doc[a - 1].ent_type_ not in PLACES and (
                doc[a - 1].tag_ in ("NNP", "NNPS") and doc[a - 1].dep_ != "poss"
                or doc[a - 1].lower_ in PARTICLES and a - 1 > start
                and doc[a - 2].tag_ == "NNP"):
            a -= 1  # the words of the name before its last: "Ada ten Elm"
        written = [t.text for t in doc[a: tok.i + 1]]
        words = clean(written, PERSON)
        if not words or len(words) > MAX_WORDS[PERSON]:
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

    def _owner(self, tok: Token, offset: int) -> Speaker | None:
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

    def _named_owner(self, tok: Token, offset: int) -> Speaker | None:
        """The organisation a role belongs to, where the article names it ("an official from
        Acme", "an Elm Courier reporter"); a body of a kind ("a police official") is none."""
        for child in tok.children:
            obj = child if child.dep_ == "compound" and child.i < tok.i else next(
                (c for c in child.children if c.dep_ == "pobj"), None) \
                if child.dep_ == "prep" and child.lower_ in ("from", "of", "at", "with") else None
            if obj is not None and (obj.ent_type_ == ORG or obj.tag_ == "NNP"
                                    and not obj.ent_type_):
                return self._organisation(obj, offset)
        return None

    def _organisation(self, tok: Token, offset: int) -> Speaker | None:
        ent = self._entity_at(tok)
        if ent is not None:
            return Speaker(self.full(ent[1], ORG), ORG) if ent[0] == ORG else None
        if tok.tag_ == "NNP":
            return Speaker(self.full(tok.text, ORG), ORG)
        if is_body(tok.lower_):
            return self._body(tok, offset + tok.idx)
        return None

    def _issuer(self, tok: Token, offset: int) -> Speaker | None:
        """Who issued a statement: its owner ("a statement from Acme", "a tweet by Ada
        Okafor"), or the subject of "released a statement"; for "the report", the issuer of
        the report named just before."""
        for child in tok.children:  # "Ada Okafor's statement": a person's, by their full name
            if child.dep_ == "poss" and child.tag_ == "NNP" and child.ent_type_ not in PLACES \
                    and (child.ent_type_ == PERSON or self.names_person(child.text)):
                return Speaker(self.full(child.text, PERSON), PERSON)
        owner = self._owner(tok, offset)
        if owner is not None:
            return owner
        for child in tok.children:
            if child.dep_ == "poss" and child.tag_ == "PRP$":  # "her memoirs", "its website"
                if child.lower_ in ("his", "her"):
                    return self.recent(PERSON, offset + child.idx)
                if child.lower_ in ("its", "their"):
                    return self.recent(ORG, offset + child.idx)
        for child in tok.children:
            if child.dep_ in ("prep", "agent") and child.lower_ in ("by", "from"):
                obj = next((c for c in child.children if c.dep_ == "pobj"), None)
                if obj is not None and (obj.lower_ in STATEMENT_NOUNS or any(
                        c.dep_ == "compound" and c.lower_ in STATEMENT_NOUNS
                        for c in obj.children)):
                    # "excerpts from Ada Okafor's book": the text's owner
                    owner = next((c for c in obj.children if c.dep_ == "poss"
                                  and c.ent_type_ in (PERSON, ORG)), None)
                    if owner is not None:
                        return self.of_subject(owner, offset)
                    continue  # (the text's title is no one: "excerpts from the book Dawn")
                ent = self._entity_at(obj) if obj is not None else None
                if ent is not None and ent[0] == PERSON:
                    return Speaker(self.full(ent[1], PERSON), PERSON)
                if obj is not None and obj.tag_ == "NN" and is_title(obj.lower_):
                    role = self._role(obj, offset + obj.idx)  # "a statement from the king"
                    if role is not None:
                        return role
        head = tok.head
        if tok.dep_ == "dobj" and head.lower_ in ISSUING_VERBS:
            for child in head.children:
                if child.dep_ == "nsubj":
                    return self.of_subject(child, offset)
        if determiner(tok) == "the" and tok.lower_ in _ISSUED_TEXTS:
            # "… a report from Acme … The report said": Acme's
            earlier = _earlier_text(tok)
            if earlier is not None:
                return self._issuer(earlier, offset)
        return None

    def _spokesperson(self, tok: Token, offset: int) -> Speaker | None:
        """A spokesperson speaks for an organisation, unless the article names them."""
        named = self._named_in_apposition(tok)
        if named is not None:
            return named
        owner = self._owner(tok, offset)
        if owner is not None:
            return owner
        if determiner(tok) not in UNNAMED:
            at = offset + tok.idx
            return self._by_role(tok, at) or self._by_role(tok, at, ORG)
        return None

    def _role(self, tok: Token, at: int) -> Speaker | None:
        """"the minister said": the person the article names with that role."""
        named = self._named_in_apposition(tok) or self._named_after_role(tok)
        if named is not None:
            return named
        det = determiner(tok)
        if det in UNNAMED or not det:
            return None  # "a minister", "one official", "officials": unnamed
        found = self._by_role(tok, at)
        if found is None and det == "the" and tok.lower_ in _ANAPHORIC_ROLES:
            found = self.recent(PERSON, at, reach=_ANAPHORIC_REACH)
        return found or self._description(tok)

    def _named_after_role(self, tok: Token) -> Speaker | None:
        """"First Minister of Freedonia Ada Okafor said": a title with a complement before the
        name, which the parse reads as the title's object. The name grammar of
        `qa.corpus.quotes.names` reads the phrase; only a name of two words or more is taken."""
        if tok.i + 1 >= len(tok.doc) or tok.doc[tok.i + 1].lower_ not in ("of", "for", "to"):
            return None
        phrase = tok.doc[tok.left_edge.i: tok.right_edge.i + 1]
        if len(phrase) > MAX_WORDS[ORG] + 4 or "\n" in phrase.text:
            return None
        name = person_in(phrase.text)
        if name is None or name_kind(name) != "person":
            return None
        return Speaker(self.full(name, PERSON), PERSON)

    @staticmethod
    def _description(tok: Token) -> Speaker | None:
        """A role that picks out one person, where the article gives no name: "the head of
        the ministry's investigators", "Freedonia's ambassador to Ruritania". Past an owner's
        owner, a description too long is the owner's own: "the Acme Group's Widget
        Division's chief safety officer" → "Widget Division's chief safety officer"."""
        owner = next((c for c in tok.children if c.dep_ == "poss"), None)
        if tok.tag_ not in ("NN", "NNP") or (determiner(tok) != "the" and (
                owner is None or owner.tag_ not in ("NNP", "NNPS"))):
            return None
        words: list[Token] = []
        # (a clause after the noun is no part of it, from its first word: "the official who …")
        end = min([c.left_edge.i for c in tok.children if c.i > tok.i
                   and c.dep_ in ("appos", "relcl", "acl", "advcl")], default=tok.right_edge.i + 1)
        for t in tok.subtree:
            if t.i >= end or t.i > tok.i and t.dep_ in ("appos", "relcl", "acl", "punct", "advcl"):
                break
            if words or t.dep_ != "det":
                words.append(t)
        inner = next((c for c in owner.children if c.dep_ == "poss"), None) if owner else None
        if len(words) > MAX_WORDS[ORG] and inner is not None:
            words = [t for t in words if t.i > inner.right_edge.i]
        text = tok.doc[words[0].i: words[-1].i + 1].text if words else ""
        if len(words) < 2 or "\n" in text or len(words) > MAX_WORDS[ORG] or not any(
                t.dep_ in ("prep", "poss") for t in words):
            return None  # ("the official", "the prime minister" alone name no one)
        return Speaker(text, PERSON)

    def _body(self, tok: Token, at: int) -> Speaker | None:
        """An organisation named by a common noun: the one the article names that shares its
        words ("Okafor's animal foundation" → "Ada Okafor Animal Foundation"), else its own
        words ("Freedonia's foreign ministry"); for a bare noun, the organisation of the
        article that holds the word ("police" → "Port Elm Police"), else, after "the", the
        one the article calls so ("the company" → "Acme, a software company"), else the only
        one it has named."""
        if tok.tag_ in ("NNS", "NNPS") and tok.lower_ != "police":
            return None  # "authorities", "officials": a group
        if determiner(tok) in UNNAMED:
            return None
        # A body of its own: named ("Freedonia's foreign ministry", "the Interior Ministry"), or
        # a public body of a kind ("the emergencies ministry"). "Local news", "the research
        # team" or "the party's website" are no one in particular.
        modifiers = [c for c in tok.children if c.i < tok.i and (
            c.dep_ in ("compound", "poss") and (c.tag_ in ("NNP", "NNPS") or c.ent_type_)
            or c.dep_ == "compound" and tok.lower_ in _PUBLIC_BODIES
            or c.dep_ == "amod" and c.ent_type_ == "NORP" and tok.lower_ in _PUBLIC_BODIES)
            and not any(g.tag_ == "CD" for g in c.children)]  # ("the three-judge court")
        if modifiers:
            first = next(t for t in tok.subtree if t.dep_ != "det")
            span = tok.doc[first.i: tok.i + 1]
            if len(span) > MAX_WORDS[ORG]:
                return None
            known = self._sharing([t.text for t in span])
            return Speaker(known or span.text, ORG)
        owner = _of_a_name(tok)
        if owner is not None:  # "the government of Freedonia", named by what it governs
            span = tok.doc[tok.i: owner.right_edge.i + 1]
            if len(span) <= MAX_WORDS[ORG] and "\n" not in span.text:
                return Speaker(self.full(span.text, ORG), ORG)
        if determiner(tok) == "the":
            # "the court": the one named last that the noun names ("the Court of Appeal")
            named = self.recent_named(tok.lower_, at)
            if named is not None:
                return named
        full = self.full(tok.text, ORG)
        if full != tok.text:
            return Speaker(full, ORG)
        if tok.lower_ == "police":
            return Speaker("police", ORG)  # the police of the place, which the article names
        if determiner(tok) != "the":
            return None
        # "the company", "the network": the organisation the article calls so, or the only
        # one it has named
        found = self._by_role(tok, at, ORG)
        if found is None and tok.lower_ in _COMPANY_NOUNS:
            found = self._only_organisation(at)
        return found

    def _sharing(self, words: list[str]) -> str | None:
        """The article's organisation holding the last word and another one of `words`."""
        keys = {fold(clean([w], ORG)[0]) for w in words if clean([w], ORG)}
        head = fold(words[-1])
        best = None
        for name in self._by_word[ORG].get(head, ()):
            shared = keys & {fold(w) for w in name.split()}
            if len(shared) >= 2 and (best is None or len(name) > len(best)):
                best = name
        return self.full(best, ORG) if best else None
