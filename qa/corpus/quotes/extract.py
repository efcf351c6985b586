"""Attributed quotations, found from the article's parse at index time.

A cue is a speech verb ("said", "told", "wrote", …), "according to", or a "per" that opens a
clause ("Per the ruling, …"). Its speaker is its subject (past a conjunction, a participle or a
relative pronoun: "X cited Y and said", "…, adding", "X, who said"), the agent of a passive,
or the object of "according to" or "per"; who that names is for `qa.corpus.quotes.speakers`.
A verb that says nothing was said ("did not say", "would say") is no cue and governs no
quotation. What the cue reports is

- a quotation it governs: a quotation mark pair whose words hang from the cue in the parse,
  or that the cue's clause hangs from ('"…," said X'), or
- its reported clause (the cue's clausal complement: "X said (that) the talks failed"; for
  "according to", the rest of the sentence). A quotation inside a reported clause comes with
  the whole clause ('X said the crash was "likely" an accident'), each quotation once.

A quotation no cue governs is kept only when it continues the previous one in the same
paragraph ("…," said X. "…"), follows a colon after its speaker's sentence, or stands on its
own lines above its speaker's name (a caption): `qa.corpus.quotes.free`. Other quotation marks
(titles, scare quotes, names) are narration. A quotation of fewer than
three words is never a quote on its own, but for the one a verb of naming governs ('called the
plan "reckless"', 'referred to the vote as a "hoax"', with the words of its object between,
and the one joined to it: '"null and void" and "absurd"').
"""

from __future__ import annotations

import bisect
import logging
import re
from typing import TYPE_CHECKING

from qa.types import Article, Quote, Span

from .cues import CLAUSE_VERBS, COURT_VERBS, NAMING_VERBS, SPEECH_VERBS, STATEMENT_NOUNS, WH_WORDS
from .free import free_quotation
from .names import is_title, names_something
from .scan import MARKS, Cue, Quotation, Table, find_quotations, link_quotations, scan_cues
from .speakers import ORG, PERSON, QuotedText, Speaker, Speakers, subject_of

if TYPE_CHECKING:
    from spacy.tokens import Token

    from qa.corpus.nlp import ParsedArticle

log = logging.getLogger(__name__)

# A quotation this short is a fragment, never a quote on its own ("costs", "dear friend"),
# unless a verb of naming governs it in the parse: 'called the plan "reckless"'.
_MIN_QUOTE_WORDS = 3
# How near its cue (in words) such a short quotation must stand; or, for a verb of naming,
# how many words of one phrase may stand between ('called the chairman's plan for the
# harbour "reckless"').
_SHORT_QUOTE_REACH = 4
_NAMING_REACH = 12
# What ends a phrase between a verb of naming and its quotation.
_PHRASE_BREAKS = frozenset(",;:.!?()[]")
# What joins two quotations of one cue: 'called it "null and void" and "absurd"'.
_JOINED = re.compile(r"\s*(?:,\s*)?(?:(?:and|or)\s+)?(?:(?:a|an|the)\s+)?")
# How far past a subject the cue's own subject is looked for: "X cited Y and said" (conj),
# "…, adding" (advcl), "went on to say" (xcomp).
_SUBJECT_STEPS = 3
_RELATIVE = frozenset({"WP", "WDT"})
_SAY = frozenset("say says said".split())
_SUBORDINATORS = frozenset("""
    while whereas although though when if because as since after before unless until once
""".split())
_FINITE = frozenset({"VBD", "VBZ", "VBP", "MD"})
_SUBJECT_DEPS = frozenset({"nsubj", "nsubjpass", "expl", "csubj", "csubjpass"})


def extract_quotes(article: Article, sentences: list[Span],
                   parsed: ParsedArticle) -> list[Quote]:
    """Find the attributed quotations of one article.

    Args:
        article: the article; offsets point into `article.text`.
        sentences: article spans of its sentences, not overlapping (from
            `qa.corpus.chunking.split_sentences`, or the sentence pieces of its chunks).
        parsed: the article's parse (`qa.corpus.nlp.parse_texts`).

    Returns:
        Quotes in text order, none overlapping another. `text == article.text[start:end]`
        for each: a quotation with its quotation marks, or a reported clause (which carries
        the marks of any quotation inside it); `sentence` is the span of the sentence(s)
        holding it. Never raises: on a bug it logs and returns what it found.
    """
    found: list[Quote] = []
    try:
        _extract(article, sorted(sentences), parsed, found)
    except Exception:  # noqa: BLE001 - index builds must not fail on one odd article
        log.exception("quote extraction failed for %s; keeping %d quotes", article.id, len(found))
    return sorted(found, key=lambda q: (q.start, q.end))


class _Spans:
    """Sorted, non-overlapping spans, and which of them a span overlaps, by bisection."""

    def __init__(self, spans: list[Span]) -> None:
        self.spans = spans
        self.starts = [s[0] for s in spans]
        self.ends = [s[1] for s in spans]

    def overlapping(self, start: int, end: int) -> tuple[int, int]:
        """Indexes `lo:hi` of the spans with `s[0] < end and s[1] > start`."""
        return bisect.bisect_right(self.ends, start), bisect.bisect_left(self.starts, end)

    def union(self, start: int, end: int) -> Span:
        """The union of the spans a span overlaps; the span itself when it overlaps none."""
        lo, hi = self.overlapping(start, end)
        if lo >= hi:
            return (start, end)
        return (min(self.spans[lo][0], start), max(self.spans[hi - 1][1], end))


def _extract(article: Article, sentences: list[Span], parsed: ParsedArticle,
             out: list[Quote]) -> None:
    text = article.text
    quotations = find_quotations(text)
    quoted = QuotedText([(q.start, q.end) for q in quotations])
    tables = [Table(doc, offset) for offset, doc in parsed.pieces]
    who = Speakers(parsed, quoted, [at for t in tables for at in t.sentence_chars()])
    cues: list[Cue] = []
    for table in tables:
        piece = scan_cues(table, quoted, who)
        link_quotations(table, quotations, piece)
        cues.extend(piece)
    index = _Spans(sentences)
    emitted = Emitted(article, text, index, out)
    # "According to X, Y said …": Y's own attribution goes first, "according to" takes what
    # is left of the sentence.
    events: list[tuple[int, int, object]] = [
        (c.offset + c.tok.sent.end_char if c.according else c.at, 0, c) for c in cues]
    events += [(q.start, 1, q) for q in quotations if q.cue is None]
    events.sort(key=lambda e: (e[0], e[1]))
    for _, _, item in events:
        if isinstance(item, Cue):
            speaker, subject = _speaker(item, who)
            if speaker is None:
                if subject is not None and subject.tag_ == "NN" and is_title(subject.lower_) \
                        and (item.quotations or _clause(item)):
                    who.unnamed(item.at)  # "an eyewitness said": "she" after is the witness
                continue
            if _report(item, speaker, quoted, emitted):
                who.heard(speaker, item.at)
        else:
            assert isinstance(item, Quotation)
            free_quotation(item, text, who, emitted, tables)


class Emitted:
    """The quotes found so far: each span of text is given once."""

    def __init__(self, article: Article, text: str, index: _Spans, out: list[Quote]) -> None:
        self.article, self.text, self.index, self.out = article, text, index, out
        self.taken: list[Span] = []  # sorted
        self.last: Quote | None = None

    def add(self, start: int, end: int, speaker: Speaker, cue: str, least: int = _MIN_QUOTE_WORDS
            ) -> bool:
        start, end = _trim(self.text, start, end)
        if len(self.text[start:end].split()) < least:
            return False
        k = bisect.bisect_left(self.taken, (start, end))
        if (k > 0 and self.taken[k - 1][1] > start) or (k < len(self.taken)
                                                         and self.taken[k][0] < end):
            return False
        self.taken.insert(k, (start, end))
        q = Quote(self.article.id, speaker.name, self.text[start:end], start, end,
                  self.index.union(start, end), cue)
        self.out.append(q)
        if self.last is None or q.start > self.last.start:
            self.last = q
        return True


def _trim(text: str, start: int, end: int) -> Span:
    """A span without surrounding spaces, or a clause's closing punctuation outside quotation
    marks."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and (text[end - 1].isspace() or text[end - 1] in ",;:.—–-"):
        end -= 1
    return start, end


# --------------------------------------------------------------------------------------------
# Cues and the quotations they govern


# --------------------------------------------------------------------------------------------
# Speakers and what they said


def _speaker(cue: Cue, who: Speakers) -> tuple[Speaker | None, Token | None]:
    """Who a cue attributes its words to, and the subject (its head token) that says so."""
    tok = cue.tok
    if cue.according:
        obj = cue.source
        if _misread_source(cue):
            return None, None
        return (who.of_subject(obj, cue.offset) if obj is not None else None), obj
    if cue.silent:
        return None, None  # "did not say", "would say": nothing was said
    if tok.tag_ == "VB" and not any(c.dep_ == "aux" for c in tok.children):
        return None, None  # "I saw her explain …", "let them say": no one is reported
    inverted = _inverted_speaker(tok)
    if inverted is not None:  # "…, argued the government's lawyer, Ada Okafor."
        return who.of_subject(inverted, cue.offset), inverted
    verb = tok
    participle = False  # the cue is a participle whose subject is its clause's
    for _ in range(_SUBJECT_STEPS):
        subject = subject_of(verb)
        if subject is not None and who.quoted.inside(cue.offset + subject.idx):
            # '"…," tweeted X': the parse read the quotation as the subject, the speaker as
            # the object
            named = next((c for c in verb.children if c.dep_ == "dobj" and c.i > verb.i
                          and c.ent_type_ in (PERSON, ORG)), None)
            if named is not None:
                return who.of_subject(named, cue.offset), named
        if subject is not None:
            if subject.tag_ in _RELATIVE and verb.dep_ == "relcl":
                subject = verb.head  # "X, who said"
            return who.of_subject(subject, cue.offset), subject
        if any(c.dep_ in ("nsubjpass", "auxpass") for c in verb.children):
            agent = next((c for c in verb.children if c.dep_ == "agent"), None)
            obj = next((c for c in agent.children if c.dep_ == "pobj"), None) if agent else None
            if obj is None and participle:  # "X was applauded upon announcing …": X
                obj = next((c for c in verb.children if c.dep_ == "nsubjpass"), None)
            return (who.of_subject(obj, cue.offset) if obj is not None else None), obj
        if verb.dep_ == "relcl":
            return who.of_subject(verb.head, cue.offset), verb.head
        if verb.dep_ == "acl" and verb.tag_ == "VBD" and verb.head.dep_ == "ROOT" \
                and verb.head.i < verb.i and verb.head.ent_type_ in (PERSON, ORG):
            # 'Ada Okafor called it an "idea."', read as a noun phrase: a past tense after a
            # name is the sentence's verb
            return who.of_subject(verb.head, cue.offset), verb.head
        if verb.dep_ == "acl" and verb.tag_ == "VBG":
            if verb.head.lower_ in STATEMENT_NOUNS:  # "a statement saying"
                return who.of_subject(verb.head, cue.offset), verb.head
            # "X stressed the price of any aggression, saying": the parse hung the participle
            # from a noun; its subject is the clause's
            verb = next((t for t in verb.ancestors if t.dep_ == "ROOT"
                         or t.lower_ in SPEECH_VERBS and t.tag_.startswith("VB")), verb)
            continue
        if verb.dep_ == "pcomp" and verb.tag_ == "VBG" and verb.head.lower_ == "as":
            # "X quoted Y as saying": the words are Y's, the object of the verb "as" hangs from
            quoted = next((c for c in verb.head.head.children if c.dep_ == "dobj"), None)
            if quoted is not None and quoted.ent_type_ in (PERSON, ORG):
                return who.of_subject(quoted, cue.offset), quoted
        if verb.dep_ == "pcomp" and verb.tag_ == "VBG" and verb.head.dep_ == "prep":
            head = verb.head.head  # "X was applauded upon announcing": X
            if head.dep_ != "ROOT" and not any(c.dep_ == "nsubjpass" for c in head.children):
                return None, None  # "tried to have Y freed by saying": not Y
            participle, verb = True, head
            continue
        if verb.dep_ == "xcomp" and verb.tag_ == "VB":
            # "led X to say", "asked X to confirm": the object is who speaks
            obj = next((c for c in verb.head.children if c.dep_ == "dobj" and c.i < verb.i),
                       None)
            if obj is not None:
                return who.of_subject(obj, cue.offset), obj
        if verb.dep_ in ("conj", "advcl", "xcomp") and verb.head.i != verb.i:
            participle = verb.tag_ == "VBG"
            verb = verb.head
            # 'X said the plan "works," adding …': the parse may hang the participle from the
            # reported clause, or from the quotation; its subject is still the speaker's.
            while participle and verb.head.i != verb.i and (
                    verb.dep_ == "ccomp" and verb.head.lower_ in SPEECH_VERBS
                    or who.quoted.inside(cue.offset + verb.idx)):
                verb = verb.head
            continue
        break
    subject = _subject_before(tok)
    if subject is not None:
        return who.of_subject(subject, cue.offset), subject
    return None, None


def _inverted_speaker(verb: Token) -> Token | None:
    """The speaker after a speech verb that closes its sentence after a comma, where the
    parse reads the speaker as the verb's object: "It is not for the court to decide, argued
    the government's lawyer, Ada Okafor." A person or an organisation, or a role."""
    doc = verb.doc
    before = verb.dep_ in ("conj", "ccomp", "parataxis") and verb.head.i < verb.i or (
        verb.dep_ == "ROOT" and any(c.dep_ == "ccomp" and c.i < verb.i for c in verb.children))
    if not before or verb.i == verb.sent.start or doc[verb.i - 1].text != "," \
            or any(c.dep_ in _SUBJECT_DEPS for c in verb.children):
        return None
    obj = next((c for c in verb.children if c.dep_ == "dobj" and c.i > verb.i), None)
    if obj is None or not (obj.ent_type_ in (PERSON, ORG) or obj.tag_ == "NN"
                           and is_title(obj.lower_)):
        return None
    end = obj.right_edge.i + 1
    while end < verb.sent.end and doc[end].is_punct or end < verb.sent.end and doc[end].is_space:
        end += 1
    return obj if end >= verb.sent.end else None


def _subject_before(verb: Token) -> Token | None:
    """Where the parse gives a verb no subject ('When asked …, Ada Okafor, spokesperson for
    Acme, said'): the name whose phrase ends right before it."""
    k = verb.i - 1
    doc = verb.doc
    while k >= verb.sent.start and doc[k].is_punct:
        k -= 1
    if k < verb.sent.start:
        return None
    tok = doc[k]
    for _ in range(_SUBJECT_STEPS + 3):
        if tok.ent_type_ in (PERSON, ORG) and tok.tag_ in ("NNP", "NNPS") \
                and tok.dep_ not in ("pobj", "poss", "compound") \
                and tok.head.i != tok.i:
            return tok
        if tok.head.i == tok.i or tok.head.i >= verb.i:
            return None
        tok = tok.head
    return None


def _clause(cue: Cue) -> Span | None:
    """The reported clause of a cue, in article offsets: its clausal complement (after it,
    else before it: "…, X said"), or for "according to X" the rest of the sentence. A clause
    ends where another attribution hangs from it ("…, adding", "despite Y claiming …")."""
    tok = cue.tok
    doc = tok.doc
    if cue.according:
        head, a, b = _attached(cue)
        source = cue.source
        if source is not None and b <= source.i < head.i:
            b = source.i + 1  # (the name given after the role: "according to the chief, X,")
        if head.i >= b:
            lo, hi = b, head.right_edge.i + 1
        elif head.i < a:
            lo, hi = head.left_edge.i, a
        else:
            return None
        return _tokens_span(cue, lo, hi)
    if tok.lower_ not in CLAUSE_VERBS and tok.lower_ not in COURT_VERBS:
        return None  # (a verb of decision is a cue only with a court as its subject)
    comps = [c for c in tok.children if c.dep_ == "ccomp"]
    if not comps and _inverted_speaker(tok) is not None:
        return _tokens_span(cue, tok.sent.start, tok.i)  # "It was wrong, argued X."
    if not comps and tok.dep_ == "parataxis" and not any(
            c.dep_ == "dobj" or c.dep_ == "xcomp" and doc[c.left_edge.i - 1].text != ","
            for c in tok.children):
        # "Ada, they said, wanted no memorial": the clause around the cue, after it
        head = tok.head
        lo, hi = tok.right_edge.i + 1, head.right_edge.i + 1
        if not any(t.is_alpha for t in doc[lo:hi]):  # (nothing after it but the line's end)
            lo, hi = head.left_edge.i, tok.left_edge.i
        return _tokens_span(cue, lo, hi)
    if not comps and tok.dep_ == "ccomp" and tok.head.i > tok.right_edge.i + 1 \
            and doc[tok.right_edge.i + 1].text == "," and tok.head.lower_ not in SPEECH_VERBS \
            and not any(MARKS.match(t.text) for t in doc[tok.i: tok.head.right_edge.i + 1]):
        # "X reported on Monday, the talks failed": the parse made the reported clause the
        # head of the sentence (a quotation there is found as one)
        return _tokens_span(cue, tok.right_edge.i + 2, tok.head.right_edge.i + 1)
    if not comps and tok.lower_ in _SAY:
        # "said a law allowing it marked …": a clause the parse read as an object
        comps = [c for c in tok.children if c.dep_ == "dobj" and c.i > tok.i and any(
            t.tag_ in _FINITE or t.dep_ == "amod" and t.tag_ in ("VBD", "VBN")
            and doc[t.i - 1].tag_ == "NNP" and t.i > c.left_edge.i for t in c.subtree)]
        # (also "said Ada required help", read as a noun phrase "Ada required help")
    comp = next((c for c in comps if c.i > tok.i), None)
    if comp is None:  # "…, X said": not an attribution of its own, not "While Y agreed …, X said"
        # nor a clause a semicolon closes: "The march began; X promised more" is two
        # statements, the first nobody's words
        comp = next((c for c in reversed(comps) if not _attributes(c)
                     and c.left_edge.lower_ not in _SUBORDINATORS
                     and doc[c.right_edge.i + 1].text != ";"), None)
    if comp is None:
        return None
    first = comp.left_edge
    while first.i < comp.i and (first.dep_ in ("mark", "punct") or (
            first.lower_ == "that" and not doc[first.i + 1].tag_.startswith(("VB", "MD")))):
        first = doc[first.i + 1]  # "said that …", 'said, "…'
    if first.lower_ in WH_WORDS and first.i > tok.i:
        return None
    if comp.tag_ == "VB" and any(c.dep_ == "nsubj" for c in comp.children) and not any(
            c.dep_ == "aux" for c in comp.children):
        return None  # "suggested voters fill out …": a directive, nothing reported
    if tok.lower_ in COURT_VERBS and not any(t.tag_ in _FINITE for t in comp.subtree):
        return None  # "found it to be unlawful": a verdict, not a finding reported
    if not any(t.tag_.startswith(("VB", "MD")) for t in comp.subtree):
        return None  # a clause has a verb: "told radio host Ada Okafor" is no report  # "explained why …": an account of what was said, not the words
    last = comp.right_edge
    if tok.dep_ == "ccomp" and tok.head.i > last.i and tok.head.lower_ not in SPEECH_VERBS:
        # "X warned that should Y happen, it would be damaging": the parse made the rest of
        # the reported clause the head of the sentence
        last = tok.head.right_edge
    for child in comp.children:
        if child.i > comp.i and child.dep_ not in ("ccomp", "xcomp") and any(
                _attributes(t) for t in child.subtree):
            last = doc[max(child.left_edge.i - 1, comp.i)]
            break
    while last.i > first.i and (last.is_punct and last.text not in "\"”'’)]"
                                or last.dep_ == "cc"):
        last = doc[last.i - 1]  # "… was consistent and" before a clause cut off
    return cue.offset + first.idx, cue.offset + last.idx + len(last)


def _attached(cue: Cue) -> tuple[Token, int, int]:
    """The word an "according to" hangs from, and the token range the clause reported leaves
    out: "…, and according to X he died at home" → "died", the range of "according to X"."""
    tok = cue.tok
    head = tok.head if tok.head.i != tok.i else tok
    while head.tag_ in ("VBG", "VBN") and head.dep_ in ("csubj", "advcl", "acl") \
            and head.head.i != head.i:
        head = head.head  # "Rescuers, working …, according to X recovered …"
    a, b = tok.left_edge.i, tok.right_edge.i + 1
    follows = next((c for c in head.children if c.dep_ == "conj" and b <= c.left_edge.i <= b + 1),
                   None)
    if head.i < a and follows is not None:
        head, a = follows, follows.left_edge.i  # "…, and, according to X, was called …"
        b = a
    return head, a, b


def _misread_source(cue: Cue) -> bool:
    """Whether the parse took the reported clause's subject, someone who may speak, into
    "according to X": the verb it hangs from, after it, has no subject, and X has an
    appositive naming a person or an organisation ("According to X, a spokesman for Y
    expressed …", read with the spokesman beside X). Who is reported is then not known."""
    head, _, b = _attached(cue)
    source = cue.source
    if source is None or head.i < b or head.tag_ not in _FINITE or head.dep_ == "conj" or any(
            c.dep_ in _SUBJECT_DEPS for c in head.children):
        return False
    return any(t.ent_type_ in (PERSON, ORG) or is_title(t.lower_)
               for c in source.children if c.dep_ == "appos" for t in c.subtree)


def _tokens_span(cue: Cue, lo: int, hi: int) -> Span | None:
    """Tokens lo..hi of the cue's piece without punctuation at either end (a closing quote
    mark stays), in article offsets; None when nothing is left."""
    doc = cue.tok.doc
    while lo < hi and doc[lo].is_punct:
        lo += 1
    while hi > lo and doc[hi - 1].is_punct and doc[hi - 1].text not in "\"”":
        hi -= 1
    if hi <= lo:
        return None
    return cue.offset + doc[lo].idx, cue.offset + doc[hi - 1].idx + len(doc[hi - 1])


def _attributes(tok: Token) -> bool:
    """Whether a token attributes words of its own: a speech verb with a subject of its own,
    or a participle ("…, adding")."""
    if tok.lower_ not in SPEECH_VERBS or not tok.tag_.startswith("VB"):
        return False
    return tok.tag_ == "VBG" or any(c.dep_ in ("nsubj", "nsubjpass") for c in tok.children)


def _report(cue: Cue, speaker: Speaker, quoted: QuotedText, emitted: Emitted) -> bool:
    """Give what a cue reports: its reported clause (with the quotations it holds) and the
    quotations it governs outside that clause. Whether anything was given."""
    given = False
    clause = _clause(cue)
    if clause is not None and not quoted.inside(clause[0]):
        a, b = clause
        # A quotation the clause runs into belongs to it whole.
        k = quoted.at(b - 1)
        if k >= 0:
            b = max(b, quoted.spans[k][1])
        # 'X said A, and there would be "costs"': a quotation the cue governs in a clause
        # joined to the reported one is reported speech too.
        for c in cue.tok.children:
            end = cue.offset + c.right_edge.idx + len(c.right_edge)
            if c.dep_ == "conj" and cue.offset + c.left_edge.idx >= b and any(
                    cue.offset + c.left_edge.idx <= q.start < end for q in cue.quotations):
                b = max(b, end)
        if emitted.add(a, b, speaker, cue.text):
            given = True
        clause = (a, b)
    else:
        clause = None
    kept = -1  # where the last quotation given ends
    naming = cue.tok.lower_ in NAMING_VERBS
    for q in cue.quotations:
        if clause is not None and q.start < clause[1] and clause[0] < q.end:
            continue
        # 'referred to the vote as "The Big Hoax"': what the speaker named it, in capitals
        # (an active verb: 'a law called "…"' names the law)
        named = naming and cue.tok.dep_ not in ("acl", "amod") and not any(
            c.dep_ in ("nsubjpass", "auxpass") for c in cue.tok.children) \
            and _in_naming_phrase(cue, q)
        if not named and names_something(emitted.text[q.start + 1: q.end - 1]):
            continue  # 'announced its "Person of the Year"': a title, no one's words
        # (a short one joined to the one before: 'called it "null and void" and "absurd"')
        near = q.distance <= _SHORT_QUOTE_REACH or named or (
            kept >= 0 and _JOINED.fullmatch(emitted.text, kept, q.start) is not None)
        least = 1 if near and naming else _MIN_QUOTE_WORDS
        if emitted.add(q.start, q.end, speaker, cue.text, least):
            given, kept = True, q.end
    return given or bool(clause or cue.quotations)


def _in_naming_phrase(cue: Cue, q: Quotation) -> bool:
    """Whether a quotation follows a verb of naming with only the words of its object and
    their prepositions between, no verb of a clause and no break of the phrase: 'called the
    council's inquiry a "witch hunt"', 'referred to the protests as acts of "vandalism"'."""
    doc, tok = cue.tok.doc, cue.tok
    if q.start <= cue.at:
        return False
    span = doc.char_span(q.start - cue.offset, q.start - cue.offset + 1, alignment_mode="expand")
    if span is None or not len(span):
        return False
    between = doc[tok.i + 1: span.start]
    return len(between) <= _NAMING_REACH and not any(
        t.tag_ in _FINITE or t.text in _PHRASE_BREAKS or MARKS.match(t.text)
        or "\n" in t.text_with_ws for t in between)
