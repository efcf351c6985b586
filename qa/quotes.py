"""Who said what: attributed quotations found in article text at index time.

News is made of attributed speech. `extract_quotes` finds direct quotes ("…," said X;
“…” X wrote on Twitter; X said that "…") and indirect speech (X stated that …; according to
X, …) and names the speaker, resolving pronouns ("he told reporters") to the person the
sentences just before are about or the last person quoted, and short names ("Xiaoming") to the
full name the article uses ("Liu Xiaoming").

The speaker is found by the grammar of the attribution, never by knowing who is in the news:
the subject right before the verb, past an appositive ("Zhao Lijian, spokesperson for …,
said"), a complement ("Steve Peers of the University of Essex said") or a role ("Foreign
Ministry spokesperson Zhao Lijian"). The only word lists are English ones: titles and role
nouns, nouns that make a name an organisation ("University", "Ministry", "Party"), function
words and calendar words. Whether a single capitalised word is a person is left to the data:
the article's own full names here, the index's speakers in `is_person`.

A quotation of one or two words is never a quote on its own: when it sits inside reported
speech ('X said the crash was "likely" an accident') the reported clause is the quote;
otherwise a short quotation inside narration is left out.

Everything here is regular expressions and small token walks over one article: fast, and it
never raises on odd text. Its time is linear in the article's length: each quote looks at a
bounded stretch of text around it, and sentences and covered spans are found by bisection,
never by a scan of the article.
"""

from __future__ import annotations

import bisect
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from qa.types import Article, Quote, Span

__all__ = ["extract_quotes", "find_speaker", "is_person", "person_names", "speaker_matches"]

log = logging.getLogger(__name__)

# ----------------------------------------------------------------------------------------------
# Words of English, never of a corpus: no country, city, organisation or nationality names.

# Titles and role nouns: before a name they are stripped ("Foreign Minister Wang Yi" → "Wang
# Yi"); after a lowercase determiner they mark a description ("the US official").
_TITLES = frozenset("""
    mr mrs ms miss mx dr prof sir dame lord lady rev reverend fr father sister brother
    president vice prime minister premier chancellor secretary secretary-general general gen
    lt col maj capt cpt sgt cpl adm cmdr colonel lieutenant captain sergeant corporal admiral
    commander marshal commandant brigadier senator sen congressman congresswoman
    congressperson representative rep assemblyman assemblywoman assemblymember councillor
    councilor councilman councilwoman alderman mayor governor gov delegate deputy legislator
    lawmaker mp mep speaker chairman chairwoman chairperson chair ceo cfo coo cto founder
    co-founder cofounder director executive manager boss owner head chief officer official
    spokesperson spokesman spokeswoman aide adviser advisor counsel counsellor attorney lawyer
    solicitor barrister prosecutor judge justice magistrate sheriff constable inspector
    detective superintendent commissioner trooper agent ambassador envoy diplomat consul
    emissary correspondent reporter journalist editor columnist anchor presenter host
    commentator analyst economist scientist researcher professor lecturer scholar student
    teacher principal dean provost rector doctor surgeon physician nurse pharmacist
    astronomer physicist chemist biologist ecologist geologist meteorologist epidemiologist
    virologist engineer architect astronaut pilot author co-author coauthor writer novelist
    poet artist actor actress singer musician rapper drummer guitarist composer producer
    filmmaker photographer designer coach player striker midfielder defender goalkeeper
    keeper winger referee umpire athlete runner champion candidate nominee challenger
    incumbent voter resident witness victim activist campaigner protester organiser organizer
    leader member king queen prince princess emperor empress sultan sheikh emir ayatollah imam
    rabbi pastor priest bishop archbishop cardinal pope monk nun chaplain businessman
    businesswoman entrepreneur investor banker chef farmer selectman counterpart fellow whip
    administrator
    former acting interim senior junior top assistant associate special first chief
    managing lead late incoming outgoing retired emeritus
""".split())
# A single name after one of these is a whole name ("Pope Francis", "King Charles").
_SOVEREIGN_TITLES = frozenset("pope king queen prince princess emperor empress sultan emir sheikh".split())
# Nouns that make a capitalised name an organisation, a place or an event, not a person.
_BODY_WORDS = frozenset("""
    university college school institute institution academy center centre foundation
    association society council committee commission agency authority administration
    department ministry office bureau service services board fund court tribunal parliament
    congress senate assembly house chamber party union federation league club team fc united
    city county republic kingdom province region district island islands ocean airport
    station hospital clinic church cathedral mosque temple museum library gallery theatre
    theater stadium arena hotel company corporation corp inc ltd llc plc group holdings
    industries airlines airways motors bank news times post daily herald journal tribune
    gazette press network channel radio television tv magazine police army navy force forces
    guard corps military government embassy consulate organization organisation movement
    coalition alliance front laboratory lab observatory programme program initiative summit
    firm outlet newspaper broadcaster website campaign war election crisis survey
    conference games olympics cup championship tournament festival awards prize storm
    hurricane typhoon cyclone virus act treaty amendment article constitution charter
    affairs states nations media staff
""".split())
_DETERMINERS = frozenset("the a an this that these those his her its their our my your some any each every no one".split())
_PREPOSITIONS = frozenset("""
    of at from in for with by on via to under near across inside outside within against among
    amongst between into onto toward towards through over after before during since until
    about around behind beyond beside besides despite except like unlike including regarding
    concerning following amid per upon without throughout
""".split())
_PRONOUNS_ALL = frozenset("he she it they we i you him her them us me there".split())
# Function words and sentence adverbs: capitalised only because they start a sentence.
_FUNCTION_WORDS = frozenset("""
    and or but nor so yet if when while whereas as because although though unless whether
    where what why how then now here today yesterday tomorrow tonight earlier later last next
    also still even just only meanwhile moreover however further furthermore additionally
    overall instead otherwise nevertheless nonetheless thus hence indeed namely finally
    initially previously recently currently separately similarly likewise again once already
    soon speaking asked according late early both either neither all many most several few
    other another such not never yes ok okay dear people
""".split())
_CALENDAR = frozenset("""
    january february march april may june july august september october november december
    jan feb mar apr jun jul aug sep sept oct nov dec monday tuesday wednesday thursday friday
    saturday sunday
""".split())
# First words of place names ("North Carolina", "New Zealand", "San Diego", "Middle East"): a
# name that starts with one is a place, not a person ("Kanye West" is a person).
_PLACE_PREFIXES = frozenset("""
    north south east west northern southern eastern western central new san santa los las fort port
    mount cape upper lower greater middle
""".split())
# Lower-case particles inside a name ("Osama bin Laden", "Ursula von der Leyen").
_PARTICLES = frozenset("bin ibn al el van von der den de da di du del dela della dos das la le ter ten".split())
_AUX = frozenset("""
    is are was were be been being has have had will would could should can may might must shall
    did does do
""".split())
_BE = frozenset("is are was were be been being".split())
_NUMBER_WORDS = frozenset("""
    two three four five six seven eight nine eleven twelve dozen dozens hundred hundreds
    thousand thousands million millions
""".split())

_VERBS = (
    r"said|says|say|stated|states|told|tells|added|adds|wrote|writes|warned|warns|insisted|"
    r"insists|noted|notes|stressed|stresses|emphasi[sz]ed|emphasi[sz]es|asserted|asserts|"
    r"argued|argues|claimed|claims|explained|continued|declared|announced|informed|"
    r"tweeted|remarked|replied|responded|urged|cautioned"
)
_PARTICIPLES = (
    r"saying|telling|adding|noting|writing|stating|warning|insisting|asserting|arguing|explaining|"
    r"tweeting|declaring|claiming|announcing"
)
_PRE_CUES = rf"(?:{_VERBS}|{_PARTICIPLES})"
# Verbs that also take a plain object ("announced his resignation", "claimed responsibility"):
# without "that" what follows them is reported speech only if it reads as a clause.
_OBJECT_VERBS = frozenset("""
    stated states announced declared claimed claims urged informed noted notes continued stressed
    stresses emphasised emphasized emphasises emphasizes remarked replied responded explained added
    adds wrote writes tweeted argued argues asserted asserts insisted insists warned warns cautioned
    declaring claiming announcing noting explaining arguing insisting
""".split())
_PRONOUNS = {"he", "she", "they", "we", "i"}
# "the US official said", "The Wooster professor added": the person named just before.
_ANAPHORIC_ROLES = frozenset("""
    official secretary diplomat spokesperson spokesman spokeswoman minister envoy ambassador
    president correspondent representative professor researcher scientist author co-author
    governor mayor senator leader chairman chairwoman ceo coach manager
""".split())
# A quotation this short is a fragment, never a quote on its own ("costs", "dear friend").
_MIN_QUOTE_WORDS = 3
# A quotation inside narration that is not reported speech is kept only from this length
# ('… in "mounting threats to … the border"'); shorter ones are scare quotes and titles.
_MIN_EMBEDDED_WORDS = 6
# "He said" refers to a person quoted at most this many sentences before.
_PRONOUN_REACH = 8


def _is_title(key: str) -> bool:
    return key in _TITLES or (key.endswith("s") and key[:-1] in _TITLES) or key.endswith(
        ("ologist", "ologists", "ician", "icians", "ographer", "ographers", "writer", "writers"))


def _is_body(key: str) -> bool:
    return key in _BODY_WORDS or (key.endswith("s") and key[:-1] in _BODY_WORDS) or (
        key.endswith("ies") and key[:-3] + "y" in _BODY_WORDS)


# ----------------------------------------------------------------------------------------------
# Tokens and capitalised groups of a phrase.

_TOKEN = re.compile(r"[^\W_][\w’'.&-]*|[^\w\s]")
_POSSESSIVE = ("’s", "'s", "s’", "s'")
# Abbreviations whose dot is not a full stop.
_ABBREVIATIONS = frozenset("mr mrs ms dr prof st jr sr gen col lt capt sgt rev sen rep gov fr mt".split())
# Letters after a name that are not part of it ("Kama Melly QC", "Martin Luther King Jr.").
_POSTNOMINALS = frozenset("jr sr qc kc ii iii iv phd md obe mbe cbe esq".split())
_DOTTED = re.compile(r"(?:[^\W\d_]\.)+")


@dataclass(frozen=True, slots=True)
class _Tok:
    text: str  # the word, without a possessive ending or a sentence's final dot
    key: str  # lower-case `text` without dots
    kind: str  # cap title body det prep pron conj rel aux func adv part word num punct
    start: int  # offsets in the phrase
    end: int
    owner: bool = False  # written with a possessive ending ("Acme's", "Locks'")
    joined: bool = False  # follows the previous word after spaces only (no stop, no line break)
    raw: str = ""  # as written, possessive included


@lru_cache(maxsize=4096)
def _tokens(phrase: str) -> list[_Tok]:
    """The words and punctuation of a phrase (cached: callers never change the list)."""
    out: list[_Tok] = []
    stop = True  # the previous word ended with a full stop
    for m in _TOKEN.finditer(phrase):
        raw = m.group(0)
        if not raw[0].isalnum():
            out.append(_Tok(raw, raw, "punct", m.start(), m.end(), raw=raw))
            stop = True
            continue
        gap = phrase[out[-1].end: m.start()] if out else ""
        joined = bool(gap) and not stop and not gap.strip(" \t\u00a0") and not phrase[out[-1].end - 1] == "-"
        word = raw.rstrip("-")
        owner = word.endswith(_POSSESSIVE) and len(word) > 2
        if owner:
            word = word[:-2] if word.endswith(("’s", "'s")) else word[:-1]
        else:
            word = word.rstrip("’'")
        stop = False
        if word[-1] == "." and not (_DOTTED.fullmatch(word) or word[:-1].lower() in _ABBREVIATIONS):
            word, stop = word.rstrip("."), True  # a sentence's full stop, not "Dr." or "U.S."
            raw = raw.rstrip(".")
        if not word:
            continue
        key = word.lower().replace(".", "")
        kind = _kind(word, key, out[-1] if out and joined else None)
        out.append(_Tok(word, key, kind, m.start(), m.end(), owner, joined, raw))
    return out


def _kind(word: str, key: str, prev: _Tok | None) -> str:
    if word[0].isdigit() or key in _NUMBER_WORDS:
        return "num"
    upper = word[0].isupper()
    if upper and len(word) > 1 and word.isupper():
        return "cap"  # an acronym ("UN", "U.S.", "CNN"), never the pronoun "us"
    if key in _DETERMINERS:
        return "det"
    if key in _PREPOSITIONS:
        return "prep"
    if key in _PRONOUNS_ALL or key.split("’")[0].split("'")[0] in _PRONOUNS_ALL:
        return "pron"  # "I've", "they're"
    if key in ("and", "or", "&", "nor"):
        return "conj"
    if key in ("who", "whom", "which", "whose"):
        return "rel"
    if key in _AUX or key in _FUNCTION_WORDS:
        # Capitalised right after a name, it is part of the name ("Theresa May", "Martin How").
        if upper and prev is not None and prev.kind == "cap" and not prev.owner:
            return "cap"
        return "aux" if key in _AUX else "func"
    if upper or (_PREFIXED_NAME.match(word) and word[word.index("-") + 1].isupper()):
        return "cap"  # "Abdel Fattah el-Sisi"
    if key in _PARTICLES:
        return "part"
    if _is_title(key):
        return "title"
    if _is_body(key):
        return "body"
    if key.endswith("ly"):
        return "adv"
    return "word"


@dataclass(frozen=True, slots=True)
class _Group:
    """A run of capitalised words (with name particles, and "of"/"for" after a title:
    "Secretary of State Antony Blinken", "University of Essex")."""

    first: int  # token indexes, inclusive
    last: int


def _groups(toks: list[_Tok]) -> list[_Group]:
    out: list[_Group] = []
    i, n = 0, len(toks)
    while i < n:
        if toks[i].kind != "cap":
            i += 1
            continue
        if toks[i].key in _CALENDAR and (i == 0 or toks[i - 1].kind in ("prep", "det", "punct", "func")):
            out.append(_Group(i, i))  # "On Friday Ford said": the date is not part of the name
            i += 1
            continue
        j = i
        while True:
            nxt = toks[j + 1] if j + 1 < n else None
            if toks[j].owner:
                # "the Sheriff's Office", "Freedonia's Foreign Ministry": a body of its owner.
                if (nxt is not None and nxt.kind == "cap" and nxt.joined
                        and (_is_body(nxt.key) or _is_title(nxt.key))):
                    j += 1
                    continue
                break
            if nxt is not None and nxt.kind == "cap" and nxt.joined:
                j += 1
                continue
            k = j + 1
            while k < n and toks[k].kind == "part" and toks[k].joined:
                k += 1
            if k > j + 1 and k < n and toks[k].kind == "cap" and toks[k].joined:
                j = k
                continue
            # "Secretary of State …", "Ministry of Foreign Affairs", "Ambassador to the United
            # Nations", "Court of Session"
            if (k == j + 1 and nxt is not None and nxt.joined
                    and (nxt.key in ("of", "for", "from", "on") and (_is_title(toks[j].key) or _is_body(toks[j].key))
                         or nxt.key == "to" and _is_title(toks[j].key))):
                k += 1
                if k < n and toks[k].key == "the" and toks[k].joined:
                    k += 1
                if k < n and toks[k].kind == "cap" and toks[k].joined:
                    j = k
                    continue
            break
        out.append(_Group(i, j))
        i = j + 1
    return out


_PREFIXED_NAME = re.compile(r"(?:al|el|ad|as|ash|at|an|ar|az|abu|bin|ibn|ben|de|di|da|du|la|le)-[^\W\d_]")


@lru_cache(maxsize=8192)
def _name_shaped(word: str) -> bool:
    """A word of a person's name: "Xiaoming", "O'Brien", "Gallego-Lazo", "Erdoğan", "el-Sisi", "J."."""
    if re.fullmatch(r"[^\W\d_]\.?", word):
        return word[0].isupper()
    if _PREFIXED_NAME.match(word) and word[word.index("-") + 1].isupper():
        return True
    if not word[0].isupper() or any(c.isdigit() for c in word):
        return False
    if not any(c.islower() for c in word):
        return False  # an acronym
    low = word.lower()
    return not low.endswith(("-year-old", "-based", "-born", "-led", "-backed", "-style", "-like", "-era"))


@dataclass(frozen=True, slots=True)
class _Name:
    kind: str  # "person" (2-4 name words), "single" (one name word), "body", "role"
    text: str


def _raw(toks: list[_Tok]) -> str:
    return " ".join(t.raw for t in toks)


def _group_name(toks: list[_Tok], g: _Group) -> _Name | None:
    """What a capitalised group names: a person, a single name, a body or only a role."""
    whole = toks[g.first: g.last + 1]
    items = [t for t in whole if t.kind != "det"]
    at_start = g.first == 0 or toks[g.first - 1].kind in ("punct", "func", "prep", "det")
    # A date before a name is not part of it ("On Monday Zhao said"); "April Ryan" is a name.
    while items and items[0].key in _CALENDAR:
        if len(items) > 1 and not at_start and items[1].kind == "cap":
            break
        items = items[1:]
    while items and items[0].key.endswith(("-year-old", "-based", "-born", "-led", "-backed", "-style", "-era")):
        items = items[1:]
    if at_start and len(items) > 2 and items[0].key.endswith("ing"):
        items = items[1:]  # "Leading the minister to endorse …": a participle opens the sentence
    while len(items) > 1 and items[-1].key in _POSTNOMINALS:
        items = items[:-1]
    while (len(items) > 2 and items[0].text.isupper() and "." not in items[0].text and len(items[0].text) > 1
           and _name_shaped(items[1].text) and _name_shaped(items[2].text)
           and not any(_is_body(t.key) for t in items[1:])):
        items = items[1:]  # "IM Dorsa Derakhshani", "GOP Senator …": letters before the name
    if not items:
        return None
    keys = [t.key for t in items]
    body_text = _raw(items)
    # A title or body word directly before a name word: the name is what follows it.
    cut = -1
    for i in range(len(items) - 1):
        if (_is_title(keys[i]) or _is_body(keys[i])) and items[i + 1].kind == "cap":
            cut = i
    rest = items[cut + 1:]
    if cut >= 0 and len(rest) == 1 and keys[cut] in _SOVEREIGN_TITLES and _name_shaped(rest[0].text):
        return _Name("person", f"{items[cut].text} {rest[0].text}")  # "Pope Francis"
    # "First Minister of Scotland Nicola Sturgeon": the place of the title, then the name.
    preps = [i for i, t in enumerate(rest) if t.kind == "prep"]
    if preps:
        head, tail = rest[: preps[-1]], [t for t in rest[preps[-1] + 1:] if t.kind == "cap"]
        titled = any(_is_title(t.key) for t in head)
        if titled and len(tail) >= 3 and not any(_is_body(t.key) for t in tail):
            rest = tail[-(3 if len(tail) >= 5 else 2):]
        elif titled:
            return _Name("role", body_text)
        elif any(_is_body(t.key) for t in rest):
            return _Name("body", body_text)
        else:
            rest = tail
    if not rest:
        return _Name("role", body_text) if any(_is_title(k) for k in keys) else None
    if any(_is_body(t.key) for t in rest) or (len(rest) > 1 and rest[0].key in _PLACE_PREFIXES):
        return _Name("body", body_text)
    if _is_title(rest[-1].key) and not any(_name_shaped(t.text) and not _is_title(t.key) for t in rest[:-1]):
        return _Name("role", body_text)  # "US Ambassador", "Regents Professor"
    words = [t.text for t in rest if t.kind in ("part", "cap")]
    if not all(_name_shaped(w) or w.lower() in _PARTICLES for w in words):
        return _Name("body", " ".join(words))  # "CNN", "NBC News", "UCL"
    parts = [w for w in words if w.lower() not in _PARTICLES]
    if len(parts) == 1:
        return _Name("single", " ".join(words))
    if 2 <= len(parts) <= 4:
        return _Name("person", " ".join(words))
    return _Name("body", " ".join(words))


def _person_in(phrase: str) -> str | None:
    """The last name in a phrase that may be a person's, with titles, roles and possessives
    removed: "Foreign Ministry spokesperson Zhao Lijian" → "Zhao Lijian", "Secretary of State
    Antony Blinken" → "Antony Blinken". Organisations ("the Foreign Ministry", "Labour Party")
    and roles alone give None. A single capitalised word ("Kritenbrink", "Freedonia") is returned
    as it is: whether it names a person is for the data to say (`is_person`)."""
    toks = _tokens(phrase)
    best = None
    for g in _groups(toks):
        if toks[g.last].owner and g.last + 1 < len(toks) and toks[g.last + 1].kind in ("word", "title", "body"):
            continue  # "Freedonia's foreign minister": the owner is not the person
        if _is_modifier(toks, g, len(toks)):
            continue  # "the Freedonian diplomat", "Acme chief executive": a description
        name = _group_name(toks, g)
        if name is not None and name.kind in ("person", "single"):
            best = name.text
    return best


# ----------------------------------------------------------------------------------------------
# The subject of an attribution, found by grammar.

@dataclass(frozen=True, slots=True)
class _Subject:
    kind: str  # "name", "pronoun" or "description" ("the US official", "Acme's board")
    text: str
    name_kind: str = ""  # for a name: person, single or body
    head: str = ""  # for a description: its head noun ("official", "ministry")


_TRAILING_ADVERBS = frozenset("""
    also later then once further still again too previously subsequently reportedly earlier
    recently never not formally today yesterday initially finally first
""".split())
_CLAUSE_BREAKS = frozenset(";:.!?")
_VERB_WORD = re.compile(rf"(?:{_VERBS}|{_PARTICIPLES})")


# Endings of English adjectives ("central", "public", "federal", "regional"), read as part of a
# complement: "within the central Interior Ministry"; "During the speech Trump" is no complement.
_ADJECTIVE_ENDINGS = ("al", "ic", "ive", "ous", "ern", "ful", "ent", "ant", "ary", "ory", "ese", "ish", "ian", "ble")


def _complement_flags(toks: list[_Tok], groups: list[_Group]) -> list[bool]:
    """Whether each group is the object of a preposition ("of the University of Essex",
    "at Saint Francis"), possibly through a determiner, an owner ("the UK's") or "and"."""
    flags: list[bool] = []
    for gi, g in enumerate(groups):
        k = g.first - 1
        adjectives = 0
        while k >= 0:
            t = toks[k]
            if t.kind == "det" or t.kind == "num":
                k -= 1
                continue
            if t.owner:  # walk back over an owner ("of the UK's National Crime Agency")
                k -= 1
                while k >= 0 and toks[k].kind in ("cap", "part") and not toks[k].owner:
                    k -= 1
                continue
            if t.kind in ("word", "adv") and adjectives < 3 and t.key.endswith(_ADJECTIVE_ENDINGS):
                adjectives += 1  # "within the central Interior Ministry"
                k -= 1
                continue
            break
        flag = False
        if k >= 0:
            t = toks[k]
            if t.kind == "prep":
                flag = True
            elif t.kind == "conj" and gi > 0 and flags[gi - 1] and groups[gi - 1].last == k - 1:
                flag = True  # "for East Asian and Pacific affairs"
        flags.append(flag)
    return flags


def _is_owner(toks: list[_Tok], groups: list[_Group], gi: int, hi: int) -> bool:
    """A possessive before more words ("Freedonia's foreign ministry", "Dunn's mother"), or
    joined to one by "and" ("Baloch and Waseem's mother")."""
    g = groups[gi]
    if toks[g.last].owner and g.last + 1 < hi and toks[g.last + 1].kind != "punct":
        return True
    nxt = g.last + 1
    if nxt < hi and toks[nxt].kind == "conj" and gi + 1 < len(groups):
        h = groups[gi + 1]
        if h.first == nxt + 1 and h.last < hi and toks[h.last].owner and h.last + 1 < hi:
            return True
    return False


def _is_modifier(toks: list[_Tok], g: _Group, hi: int) -> bool:
    """A name used as an adjective before a role or body: "Houthi military spokesperson",
    "the El Paso mayor", "German officials", "Northland University political scientist"."""
    k = g.last + 1
    for step in range(3):
        if k >= hi:
            return False
        t = toks[k]
        if t.kind in ("title", "body"):
            return True
        if t.kind != "word" or step == 2 or _VERB_WORD.fullmatch(t.key) or t.key.endswith("ed"):
            return False
        k += 1
    return False


def _name_subject(toks: list[_Tok], g: _Group) -> _Subject | None:
    name = _group_name(toks, g)
    if name is None:
        return None
    if name.kind == "role":
        return _Subject("description", name.text)
    return _Subject("name", name.text, name.kind)


def _np_subject(toks: list[_Tok], lo: int, hi: int) -> _Subject | None:
    """The subject of a noun phrase ending at `hi`: its rightmost name that is neither a
    complement, an owner nor a modifier, with only complements after it ("Steve Peers of the
    University of Essex"); else the phrase itself as a description ("the US official")."""
    if hi > lo and toks[hi - 1].text == ")":  # "the National Transportation Safety Board (NTSB)"
        k = hi - 1
        while k > lo and toks[k].text != "(":
            k -= 1
        if k > lo:
            hi = k
    for k in range(hi - 1, lo - 1, -1):  # the phrase starts after the last clause break
        if toks[k].kind == "punct" and toks[k].text not in ("(", ")", "-", "&"):
            lo = k + 1
            break
    rel = next((k for k in range(lo, hi) if toks[k].kind == "rel"), None)
    if rel is not None:
        if any(t.kind == "word" for t in toks[rel + 1: hi]):
            hi = rel  # "Solaris Paper which makes Sorbent": the phrase ends before "which"
        else:
            lo = rel + 1  # "to which Trump claimed": the subject follows "which"
    if lo >= hi:
        return None
    sub = toks[lo:hi]
    groups = _groups(sub)
    complement = _complement_flags(sub, groups)
    n = len(sub)
    for gi in range(len(groups) - 1, -1, -1):
        g = groups[gi]
        if complement[gi] or _is_owner(sub, groups, gi, n) or _is_modifier(sub, g, n):
            continue
        # Only complements, adverbs and brackets may follow the subject's name.
        in_complement = False
        ok = True
        for t in sub[g.last + 1:]:
            if t.kind == "prep":
                in_complement = True
            elif t.kind in ("adv", "punct", "num", "det", "cap", "part", "conj"):
                continue
            elif not in_complement:
                ok = False
                break
        if not ok:
            break
        subj = _name_subject(sub, g)
        if subj is None:
            continue
        if gi > 0 and subj.kind == "name":
            # "Reuters and NBC", "Biden and Sanders": one compound speaker.
            prev = groups[gi - 1]
            if (prev.last + 2 == g.first and sub[prev.last + 1].key == "and" and not complement[gi - 1]
                    and not _is_owner(sub, groups, gi - 1, n)):
                first = _group_name(sub, prev)
                plain = _raw(sub[g.first: g.last + 1]) == subj.text  # no title cut off ("… Commissioner Stephen Mold")
                if first is not None and first.kind in ("single", "body") and (
                        subj.name_kind in ("single", "body") or (first.kind == "body" and plain)):
                    return _Subject("name", f"{first.text} and {subj.text}", "body")
        return subj
    return _description(toks, lo, hi)


def _description(toks: list[_Tok], lo: int, hi: int) -> _Subject | None:
    """A noun phrase without a name at its head, ending at `hi`: "the US official", "Acme's
    board", "The owner of the … service" (its head is "owner")."""
    k = hi - 1
    while k >= lo:
        t = toks[k]
        if t.kind in ("aux", "pron", "rel", "func") or (t.kind == "punct" and t.text not in ("(", ")")):
            break
        if t.kind == "word" and (t.key.endswith("ed") or _VERB_WORD.fullmatch(t.key)):
            break
        k -= 1
    start = k + 1  # the first word after a verb, a clause word or a break
    while start < hi and (toks[start].kind in ("prep", "num", "adv") or toks[start].key in _CALENDAR
                          or toks[start].key in _TRAILING_ADVERBS):
        start += 1  # "… reported on Monday a German government source": the date is not in it
    if start >= hi:
        return None
    words = toks[start:hi]
    if len(words) > 14:
        return None
    first_prep = next((i for i, t in enumerate(words) if t.kind == "prep" and i > 0), len(words))
    return _Subject("description", _raw(words), head=words[first_prep - 1].key)


def _bare_name(toks: list[_Tok], lo: int, hi: int) -> _Subject | None:
    """A segment that is a name, perhaps after a role: "Charlotte Charles", "spokesman Zhao
    Lijian", "civil and environmental engineering professor Julian Marshall"."""
    if lo >= hi:
        return None
    sub = toks[lo:hi]
    groups = _groups(sub)
    if not groups or groups[-1].last != len(sub) - 1:
        return None
    g = groups[-1]
    if sub[0].key in ("a", "an", "one"):
        return None  # "Tony Evers, a Democrat, said": a description, not a second name
    if any(t.kind in ("prep", "pron", "aux", "rel", "punct", "num") or t.owner for t in sub[: g.first]):
        return None
    subj = _name_subject(sub, g)
    if subj is None or subj.kind != "name" or subj.name_kind == "body":
        return None
    return subj


def _segments(toks: list[_Tok], lo: int, hi: int) -> list[tuple[int, int]]:
    """Comma- and dash-separated pieces of toks[lo:hi]."""
    out, start = [], lo
    for k in range(lo, hi):
        if toks[k].kind == "punct" and toks[k].text in (",", "—", "–"):
            out.append((start, k))
            start = k + 1
    out.append((start, hi))
    return out


def _clause_lo(toks: list[_Tok], hi: int) -> int:
    for k in range(hi - 1, -1, -1):
        if toks[k].kind == "punct" and toks[k].text in _CLAUSE_BREAKS:
            return k + 1
    return 0


def _finite_subject(toks: list[_Tok], hi: int | None = None) -> _Subject | None:
    """The subject of a verb that follows toks[:hi]: "Zhao Lijian, spokesperson for …," →
    Zhao Lijian; "President Hassan Rouhani of Iran" → Hassan Rouhani; "he" → a pronoun.
    None for a passive ("was said") or when nothing before the verb can be its subject."""
    i = len(toks) if hi is None else hi
    while i > 0:
        t = toks[i - 1]
        if t.key in ("not", "never", "might", "would", "could", "should", "may"):
            return None  # "did not say", "might have said": nothing is quoted
        if t.kind == "aux":
            if t.key in _BE:
                return None  # "was said to be": no one is quoted
            i -= 1
        elif t.kind == "adv" or t.key in _TRAILING_ADVERBS:
            i -= 1
        elif t.key in _CALENDAR and i > 1 and toks[i - 2].key in ("on", "in", "last", "this"):
            i -= 2  # "…, on Tuesday told"
        else:
            break
    if i == 0:
        return None
    t = toks[i - 1]
    if t.kind == "pron":
        return _Subject("pronoun", t.key)
    if t.kind == "rel":  # "drafted by Alex Greenwich, who said": the name before "who"
        return _antecedent(toks, i - 1)
    if t.kind == "conj" or t.key in ("to", "but", "then", "yet"):  # "X cited Y and said", "X went on to say"
        return _clause_subject(toks, i - 1)
    if t.kind == "punct" and t.text == ")":
        while i > 0 and toks[i - 1].text != "(":
            i -= 1
        i -= 1
    depth = 0
    while i > 0 and toks[i - 1].kind == "punct" and toks[i - 1].text in (",", "—", "–") and depth < 3:
        # An appositive closes before the verb: "Zhao Lijian, spokesperson for …, said".
        end = i - 1
        if end > 0 and toks[end - 1].text == ")":  # "… Diseases (NIAID), announced"
            k = end - 1
            while k > 0 and toks[k].text != "(":
                k -= 1
            end = k if k > 0 else end
        j = end - 1
        while j >= 0 and not (toks[j].kind == "punct" and toks[j].text in (",", "—", "–", "(")
                              or toks[j].kind == "punct" and toks[j].text in _CLAUSE_BREAKS):
            j -= 1
        bare = _bare_name(toks, j + 1, end)
        if bare is not None:
            return bare
        if j < 0 or toks[j].text not in (",", "—", "–"):
            return _np_subject(toks, j + 1, end)
        if j + 1 < end and toks[j + 1].kind == "cap":
            # "…, Director Anthony Fauci of the … (NIAID), announced": a stray comma after the
            # subject; an appositive has no name at its head ("spokesperson for the Ministry").
            subj = _np_subject(toks, j + 1, end)
            if subj is not None and subj.kind == "name" and subj.name_kind != "body":
                return subj
        i = j + 1
        depth += 1
    return _np_subject(toks, 0, i)


def _antecedent(toks: list[_Tok], rel: int) -> _Subject | None:
    """The name a relative pronoun refers to: "led by Mark Hay, a marine ecologist and …,
    who said" → Mark Hay; "the home of Prime Minister Tuilaepa, who told" → Tuilaepa."""
    j = rel
    for _ in range(3):
        if j > 0 and toks[j - 1].text == ",":
            j -= 1
        a = j
        while a > 0 and not (toks[a - 1].kind == "punct" and toks[a - 1].text in (",", "(", "—", "–")
                             or toks[a - 1].kind == "punct" and toks[a - 1].text in _CLAUSE_BREAKS):
            a -= 1
        seg = toks[a:j]
        groups = [g for g in _groups(seg) if g.last == len(seg) - 1]
        if groups and not _is_appositive(seg):
            if seg[0].key in ("a", "an", "one"):
                return None  # "a niece of … Christine O'Donnell, who claimed": the niece
            return _name_subject(seg, groups[-1])
        if not seg or not _is_appositive(seg) or a == 0:
            return None
        j = a - 1  # an appositive ("a marine ecologist and … at GT"): the name is before it
        if j < 0 or toks[j].text != ",":
            return None
    return None


def _leading_subject(toks: list[_Tok], lo: int, hi: int) -> _Subject | None:
    """The subject at the start of a clause piece: "Kritenbrink emphasized …", "US Secretary
    of State Mike Pompeo posted …", "but it is …"."""
    k = lo
    while k < hi and (toks[k].kind in ("conj", "func", "adv") or toks[k].text in ("\"", "“", "”")):
        k += 1
    if k >= hi:
        return None
    if toks[k].kind == "pron":
        return _Subject("pronoun", toks[k].key)
    if toks[k].kind == "word" and (toks[k].key.endswith(("ed", "s")) or _VERB_WORD.fullmatch(toks[k].key)):
        return None  # a predicate: "wept upon hearing …", "gave his condolences …"
    sub = toks[k:hi]
    groups = _groups(sub)
    complement = _complement_flags(sub, groups)
    for gi, g in enumerate(groups):
        if any(t.kind in ("aux", "pron", "rel") or t.kind == "word" and (t.key.endswith("ed") or _VERB_WORD.fullmatch(t.key))
               for t in sub[: g.first]):
            return _Subject("description", _raw(sub[: g.first]))  # "An eyewitness described for … PA Media"
        if _is_owner(sub, groups, gi, len(sub)):
            return _Subject("description", _raw(sub))  # "The Centre's database … lists Saha …"
        if complement[gi] or _is_modifier(sub, g, len(sub)):
            continue
        subj = _name_subject(sub, g)
        if subj is not None and subj.kind == "name":
            return subj
    return None


def _only_a_name(toks: list[_Tok], a: int, b: int) -> bool:
    sub = [t for t in toks[a:b] if t.text not in ("\"", "“", "”")]
    groups = _groups(sub)
    return len(groups) == 1 and groups[0].first == 0 and groups[0].last == len(sub) - 1


def _clause_subject(toks: list[_Tok], hi: int) -> _Subject | None:
    """The subject of the clause that ends at `hi`, for a participle ("…, saying") or a second
    verb ("X cited Y and said"): the name that opens the nearest piece of the clause that has
    one ("The mayor of London, Sadiq Khan, gave …, adding" → Sadiq Khan)."""
    lo = _clause_lo(toks, hi)
    segments = _segments(toks, lo, hi)
    for n, (a, b) in enumerate(reversed(segments)):
        subj = _leading_subject(toks, a, b)
        if subj is not None and subj.kind == "description":
            if n == 0:
                return None  # "but the Police Agency's …, when announcing": no name is the subject
            continue  # an appositive: "X, the president of the country's federation, explained"
        if subj is not None and not (n == 0 and _only_a_name(toks, a, b)):
            return subj  # (a bare name next to the participle is a place: "outside Washington, D.C. saying")
        first = next((t for t in toks[a:b] if t.text not in ("\"", "“", "”")), None)
        if first is not None and (first.kind in ("det", "title") or first.owner) and (a, b) == segments[0]:
            return None  # a description opens the clause ("The governor of …"): no name
    return None


def _inverted_subject(toks: list[_Tok]) -> _Subject | None:
    """The subject after the verb: '…," said UCL astronomer Angelos Tsiaras'; '…," said
    University of California, San Diego's chancellor, Pradeep Khosla'; 'said he'."""
    segs = _segments(toks, 0, len(toks))
    a, b = segs[0]
    k = a
    while k < b and toks[k].kind == "det":
        k += 1
    if k < b and toks[k].kind == "pron":
        return _Subject("pronoun", toks[k].key)
    sub = toks[a:b]
    groups = _groups(sub)
    complement = _complement_flags(sub, groups)
    found: _Subject | None = None
    for gi, g in enumerate(groups):
        if any(t.kind in ("prep", "aux", "pron", "rel") for t in sub[: g.first]):
            break
        if complement[gi] or _is_owner(sub, groups, gi, len(sub)) or _is_modifier(sub, g, len(sub)):
            continue
        found = _name_subject(sub, g)
        break
    if found is not None and found.kind == "name" and found.name_kind != "body":
        return found
    for a2, b2 in segs[1:3]:  # a name in apposition to a body or a role
        bare = _bare_name(toks, a2, b2)
        if bare is not None:
            return bare
    if found is not None:
        return found
    if groups or len(sub) > 6:
        return None
    return _np_subject(toks, a, b)


def _according_subject(toks: list[_Tok]) -> _Subject | None:
    """The source of "according to …": "the BBC", "ecologist Chip Taylor of the University of
    Kansas", "a statement released by the Supreme Court" (the body that released it)."""
    subj = _np_subject(toks, 0, len(toks))
    if subj is not None and subj.kind == "description":
        by = [k for k, t in enumerate(toks) if t.key in ("by", "from")]
        if by:
            inner = _np_subject(toks, by[-1] + 1, len(toks))
            if inner is not None and inner.kind == "name":
                return inner
    return subj


@lru_cache(maxsize=4096)
def _subject_of_phrase(phrase: str, form: str) -> _Subject | None:
    """The subject a phrase gives an attribution (cached: news repeats its attributions).
    `form` is where the phrase stands: "finite" (before a verb), "clause" (before a participle),
    "inverted" (after a verb) or "according" (after "according to")."""
    toks = _tokens(phrase)
    if form == "finite":
        return _finite_subject(toks)
    if form == "clause":
        return _clause_subject(toks, len(toks))
    if form == "inverted":
        return _inverted_subject(toks)
    return _according_subject(toks)


@lru_cache(maxsize=4096)
def _name_kind(name: str) -> str:
    """"person", "single", "body", "role" or "" for a speaker string."""
    toks = _tokens(name)
    groups = _groups(toks)
    if len(groups) != 1 or groups[0].first != 0 or groups[0].last != len(toks) - 1:
        return ""
    found = _group_name(toks, groups[0])
    return found.kind if found is not None else ""


class _Speakers:
    """Speaker naming for one article: full names, and the most recent named speakers."""

    def __init__(self, text: str, sentences: list[Span] | None = None) -> None:
        self.text = text
        self._sentences = sentences or []
        self._starts = [s[0] for s in self._sentences]
        self._subjects: dict[int, str | None] = {}
        self.at = self.at_end = 0  # where the sentence(s) being read start and end
        self.last_person_at = self.last_person_end = -1
        self.last_at = -1
        self._by_part: dict[str, str] | None = None  # read on first use
        self._full: set[str] = set()
        self.last: str | None = None
        self.last_person: str | None = None
        # Capitalised words seen mid-sentence: a one-word "name" seen only at the start of
        # sentences ("Amid …", "Walking …") is an ordinary word, not a name.
        self.midword = {re.sub(r"[’']s$", "", w) for w in _MIDWORD.findall(text)}

    def _names(self) -> dict[str, str]:
        # A short name's full name: the first full name, in order of appearance, that holds it
        # ("Xiaoming" and "Liu" both give "Liu Xiaoming"; "Vázquez", "Wanda Vázquez Garced").
        if self._by_part is None:
            names = _full_names(self.text)
            self._full = set(names)
            self._by_part = {}
            for full in map(self.plain, names):
                parts = full.split()
                self._by_part.setdefault(parts[-1], full)
                for part in parts[:-1]:
                    if part.lower() not in _PARTICLES and len(part.rstrip(".")) > 1:
                        self._by_part.setdefault(part, full)
        return self._by_part

    def plain(self, name: str) -> str:
        """A name without a word before it that the article's other mentions drop: "Democrat
        Chuck Schumer" → "Chuck Schumer" where "Chuck Schumer" also appears."""
        if self._by_part is None:
            self._names()
        words = name.split()
        while len(words) > 2 and " ".join(words[1:]) in self._full:
            words = words[1:]
        return " ".join(words)

    def expand(self, name: str | None) -> str | None:
        if not name or " " in name:
            return name
        full = self._names().get(name)
        if full:
            return full
        return name if name in self.midword else None

    def speaker(self, subj: _Subject | None, *, indirect: bool = False) -> str | None:
        """The speaker a subject names, or None."""
        if subj is None:
            return None
        if subj.kind == "pronoun":
            if subj.text in ("he", "she"):
                return self.recent_person()
            if subj.text == "they" and self.last is not None and (
                    bisect.bisect_left(self._starts, self.at) - bisect.bisect_left(self._starts, self.last_at) <= 2):
                return self.last  # "The Chilean Armed Forces said … They said …"
            return None  # "I would say …" inside an interview: the speaker is not known
        if subj.kind == "name":
            if subj.name_kind == "single":
                return self.expand(subj.text)
            return self.plain(subj.text) if subj.name_kind == "person" else subj.text
        low = subj.text.lower()
        if low.startswith(("the ", "this ", "that ")) and subj.head in _ANAPHORIC_ROLES:
            return self.recent_person(reach=2)  # "the US assistant secretary of state … said": the person just named
        if not _is_body(subj.head) or low.startswith(("a ", "an ", "one ", "his ", "her ", "its ", "their ", "our ")):
            return None  # an unnamed person or thing: "a German government source", "the report"
        text = re.sub(r"^(?:the|this|that)\s+", "", subj.text, flags=re.I)
        text = re.sub(r"\s+(?:on|in|last|this)\s+(?:%s)\b.*$" % "|".join(sorted(_CALENDAR)), "", text, flags=re.I)
        if not any(w[:1].isupper() for w in text.split()) or len(text.split()) > 8:
            return None
        return text  # "Freedonia's foreign ministry", "the club's board": bodies speak too

    def heard(self, speaker: str) -> None:
        """Note who spoke last, for the pronouns of the quotes that follow."""
        self.last, self.last_at = speaker, self.at
        if _name_kind(speaker) in ("person", "single"):
            self.last_person, self.last_person_at, self.last_person_end = speaker, self.at, self.at_end

    def recent_person(self, reach: int = _PRONOUN_REACH) -> str | None:
        """Whom "he" or "she" refers to: the person named as the subject of one of the three
        sentences before this one ("After a three day stay, Trump was released … He
        tweeted"), or else the last person quoted."""
        k = bisect.bisect_left(self._starts, self.at)
        if k < len(self._starts) and self._starts[k] == self.at:
            name = self._subject_of(k)  # 'Blankenship concurred: "…", he argued.'
            if name:
                return name
        for i in range(k - 1, max(k - 4, -1), -1):
            start = self._starts[i]
            following = self._starts[i + 1] if i + 1 < len(self._starts) else self.at
            if start < self.last_person_end or "\n\n" in self.text[self._sentences[i][1]: following]:
                break  # a person quoted since, or another paragraph
            name = self._subject_of(i)
            if name:
                return name
        if self._sentences and k - bisect.bisect_left(self._starts, self.last_person_at) > reach:
            return None  # the last person quoted is too far back to be "he"
        return self.last_person

    def _subject_of(self, i: int) -> str | None:
        """The person at the head of sentence i, if a person is."""
        a, b = self._sentences[i]
        if a in self._subjects:
            return self._subjects[a]
        found = None
        sent = self.text[a: min(b, a + 300)]
        first = re.search(r'["“”]', sent)
        if first and (first.group(0) == "”" or (first.group(0) == '"' and first.start() > 0
                                                   and not sent[first.start() - 1].isspace())):
            self._subjects[a] = None  # a sentence inside a longer quotation
            return None
        toks = _tokens(re.split(r'[;:"“”]', sent, maxsplit=1)[0])
        for lo, hi in _segments(toks, 0, len(toks))[:4]:
            first = toks[lo] if lo < hi else None
            if first is None or first.kind in ("prep", "func", "adv", "num", "conj") or first.key in _CALENDAR:
                continue  # "After a three day stay, …"
            subj = _leading_subject(toks, lo, hi)
            if subj is None or subj.kind == "description":
                continue  # "The previous day, …", "the same day that he dropped out, …"
            if subj.kind == "name" and subj.name_kind in ("person", "single"):
                # a single word only where the article gives the full name ("Trump": "Donald Trump")
                # or a role before it ("Turkish president Erdoğan")
                name = self._names().get(subj.text) if subj.name_kind == "single" else self.plain(subj.text)
                if name and _name_kind(name) == "person":
                    found = name
                elif subj.name_kind == "single" and any(
                        t.text == subj.text and i > 0 and toks[i - 1].kind == "title" for i, t in enumerate(toks)):
                    found = subj.text
            break
        self._subjects[a] = found
        return found


_UPPER = "".join(c for c in map(chr, range(0x530)) if c.isupper() and c.isalpha())
_MIDWORD = re.compile(rf"(?<=[a-z,] )([{_UPPER}][\w’'-]+)")
_CAP_RUN = re.compile(
    rf"[{_UPPER}][\w’'.&-]*(?:(?:[ \t]+(?:of|for|from|on)(?:[ \t]+the)?"
    rf"|[ \t]+(?:{'|'.join(sorted(_PARTICLES))}))*[ \t]+[{_UPPER}][\w’'.&-]*)*"
)


def _full_names(text: str) -> list[str]:
    """Person names of two or more words, in order of first appearance (for expanding
    "Xiaoming"). Each capitalised run is read on its own, so the whole text is never
    tokenised."""
    seen: dict[str, None] = {}  # ordered, with constant-time membership
    for m in _CAP_RUN.finditer(text):
        run = m.group(0)
        if " " in run or "\t" in run:
            for name in _persons_in_run(run):
                seen.setdefault(name)
    return list(seen)


@lru_cache(maxsize=4096)
def _persons_in_run(run: str) -> tuple[str, ...]:
    toks = _tokens(run)
    names = (_group_name(toks, g) for g in _groups(toks))
    return tuple(n.text for n in names if n is not None and n.kind == "person")


# ----------------------------------------------------------------------------------------------
# Extraction.

_QUOTE_PAIRS = re.compile(r"“(?P<c>[^”“]{1,3000})”|\"(?P<s>[^\"\n]{1,3000})\"")
# After a quotation, up to the sentence's end (initials and "Dr." have dots).
_AFTER_VERB_FIRST = re.compile(rf"^[\s,.;:!?—–-]*(?P<verb>{_VERBS})\s+(?P<subj>[^;:!?\"“”\n]{{1,160}})")
_AFTER_SUBJ_FIRST = re.compile(
    rf"^[\s,.;:!?—–-]*(?P<subj>[^;:!?\"“”\n]{{1,120}}?)\s+(?P<verb>{_VERBS})\b(?P<rest>[^.;]{{0,40}})"
)
_AFTER_ACCORDING = re.compile(r"^[\s,—–-]*according to (?P<subj>[^.;:!?\"“”\n]{2,80})", re.I)
_ACCORDING_LEAD = re.compile(r"^\W*According to (?P<subj>[^,]{2,80}),\s*(?P<clause>.+)$", re.S)
_ACCORDING_TAIL = re.compile(r"^(?P<clause>.+?),\s*according to (?P<subj>[^,.]{2,80})[.!?]?\s*$", re.S)
_INDIRECT = re.compile(rf"(?P<subj>[^;:\"“”]{{1,160}}?)\s+(?P<verb>{_VERBS})\b", re.S)
_SAID_TAIL = re.compile(
    rf"^(?P<clause>.+?),\s*(?P<subj>the [\w\s]{{2,40}}?|[{_UPPER}][\w\s.’'-]{{1,40}}?)\s+(?P<verb>said|says|stated)[.!?]?\s*$",
    re.S,
)
# Cue words that are also plural nouns ("in all 50 states", "his claims"): a cue only after a
# person's name or a pronoun.
_NOUN_LIKE_CUES = frozenset("states claims notes says writes".split())
# Where a reported clause ends: a semicolon, a dash, "while …", or the next attribution.
_CLAUSE_END = re.compile(
    r";|\s[—–]\s|\b(?:while|whereas)\b|,?\s+(?:further\s+|also\s+)?(?:saying|adding|noting|writing|"
    r"stating|arguing|insisting|warning)\b|\s+and\s+(?:also\s+)?(?:said|added|told|wrote|noted)\b"
)
_RECIPIENT_VERBS = ("told", "tells", "telling", "informed")
_EMBEDDED = -1  # a quotation inside narration after a cue, not in a reported clause of its own
# How far before a quote, within its sentence, the attribution is looked for ('X said that "…"'):
# the whole sentence when it starts at most this far back (the longest in the seed corpus needs
# 218 characters); in a longer run without sentence breaks (not prose: a table, a JSON dump),
# this far back and never past the previous quotation, so each character is read about once.
_BEFORE_WINDOW = 1000
# How far after a quotation a reported clause that holds it may run on.
_CLAUSE_TAIL = 400
_BLANK_TO_LINE_END = re.compile(r"[^\S\n]*\n")


class _SpanIndex:
    """Sorted, non-overlapping spans, and which of them a span overlaps, by bisection."""

    def __init__(self, spans: list[Span]) -> None:
        self.spans = spans
        self.starts = [s[0] for s in spans]
        self.ends = [s[1] for s in spans]

    def overlapping(self, start: int, end: int) -> tuple[int, int]:
        """Indexes `lo:hi` of the spans with `s[0] < end and s[1] > start`."""
        return bisect.bisect_right(self.ends, start), bisect.bisect_left(self.starts, end)

    def union(self, start: int, end: int) -> Span:
        """The union of the spans a span overlaps (a quote can run over several sentences);
        the span itself when it overlaps none."""
        lo, hi = self.overlapping(start, end)
        if lo >= hi:
            return (start, end)
        return (self.spans[lo][0], self.spans[hi - 1][1])


def _merged(spans: list[Span]) -> list[Span]:
    """Overlapping or touching spans joined, in order."""
    out: list[Span] = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def _trim(text: str, start: int, end: int) -> Span:
    """Shrink a span past surrounding spaces and a trailing comma."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and (text[end - 1].isspace() or text[end - 1] in ",;"):
        end -= 1
    return start, end


def _strip_end(text: str, a: int, b: int) -> int:
    while b > a and text[b - 1] in ".!? \n\t,;":
        b -= 1
    return b


def extract_quotes(article: Article, sentences: list[Span]) -> list[Quote]:
    """Find the attributed quotations of one article.

    Args:
        article: the article; offsets point into `article.text`.
        sentences: article spans of its sentences, not overlapping (from
            `qa.chunking.split_sentences`, or the sentence pieces of its chunks).

    Returns:
        Quotes in text order, each quotation once. `text == article.text[start:end]` for
        each; `sentence` is the span of the sentence(s) carrying it. Unattributed quotation
        marks (scare quotes, titles) and fragments of one or two words are left out; a short
        quotation inside reported speech comes as the whole reported clause. Never raises: on
        a bug it logs and returns what it found.
    """
    found: list[Quote] = []
    try:
        _extract(article, sorted(sentences), found)
    except Exception:  # noqa: BLE001 - index builds must not fail on one odd article
        log.exception("quote extraction failed for %s; keeping %d quotes", article.id, len(found))
    return sorted(found, key=lambda q: (q.start, q.end))


@dataclass(frozen=True, slots=True)
class _Attribution:
    speaker: str
    cue: str
    clause_from: int | None = None  # where the reported clause starts, in `before`
    strict: bool = False  # the cue also takes a plain object: the clause must read as one
    had_that: bool = False


def _extract(article: Article, sentences: list[Span], out: list[Quote]) -> None:
    text = article.text
    who = _Speakers(text, sentences)
    index = _SpanIndex(sentences)
    covered: list[Span] = []  # sentence spans that carry a direct quote
    indirect = _indirect_quotes(article, sentences, who)
    pending = iter(sorted(indirect, key=lambda q: q.start))
    nxt = next(pending, None)
    prev: Quote | None = None
    last_end = 0  # where the previous pair of quotation marks ended
    pairs: list[Span] = []  # earlier pairs of quotation marks, to blank out of `before`
    emitted_end = 0  # end of the last quote given: a reported clause covers later pairs
    for m in _QUOTE_PAIRS.finditer(text):
        lookback_floor, last_end = last_end, m.end()
        inner = "c" if m.group("c") is not None else "s"
        qs, qe = _trim(text, m.start(inner), m.end(inner))
        pairs.append((m.start(), m.end()))
        if qe - qs < 2 or qs < emitted_end:
            continue
        # Indirect speech earlier in the text names speakers that pronouns may refer to.
        while nxt is not None and nxt.start < m.start():
            who.at, who.at_end = nxt.sentence
            who.heard(nxt.speaker)
            nxt = next(pending, None)
        sent = index.union(m.start(), m.end())
        who.at, who.at_end = sent
        look_from = sent[0]
        if m.start() - look_from > _BEFORE_WINDOW:
            look_from = max(m.start() - _BEFORE_WINDOW, lookback_floor)
        before = _blanked(text, look_from, m.start(), pairs)
        after = text[m.end(): min(sent[1], m.end() + 160)]
        att = _attribute(before, after, who)
        words = len(text[qs:qe].split())
        if _inside_narration(before) and (att is None or att.clause_from is None or att.clause_from == _EMBEDDED):
            if words < _MIN_EMBEDDED_WORDS or (att is not None and att.cue == "according to"):
                continue  # a scare quote, a title, or words a report attributes to someone else
        if att is not None and att.clause_from is not None and att.clause_from != _EMBEDDED:
            # 'X said the crash was "likely" an accident': the reported clause is the quote.
            a = look_from + att.clause_from
            b = _clause_end(text, m.end(), sent[1])
            if b - m.end() > _CLAUSE_TAIL:
                b = m.end()  # a run without sentence breaks: the clause ends with the quotation
            a, b = _trim(text, a, b)
            b = _strip_end(text, a, b)
            if _SUBORDINATE.match(text, sent[0]) and "," not in text[sent[0]:a] and "," in text[a:qs]:
                a = b  # "When X tweeted that …, Twitter placed a "fact check"": the quotation is no part of it
            if b - a > qe - qs and _reads_as_clause(text[a:b], att.cue, strict=att.strict, had_that=att.had_that):
                q = Quote(article.id, att.speaker, text[a:b], a, b, sent, att.cue)
                out.append(q)
                covered.append(sent)
                who.heard(att.speaker)
                prev, emitted_end = q, b
                continue
            if words < _MIN_EMBEDDED_WORDS:
                continue  # a scare quote or a title inside narration
        speaker = att.speaker if att else None
        cue = att.cue if att else ""
        starts_sentence = look_from == sent[0] and not before.strip(" \t\"“")
        if speaker is None and starts_sentence and prev is not None:
            # A quote that starts its sentence, right after a quote in the same paragraph,
            # continues the same speaker ("…,” said Ana Reyes. “It’s refused …”).
            if "\n" not in text[prev.end: m.start()]:
                speaker, cue = prev.speaker, "continued"
        if speaker is None:
            speaker, cue = _caption_speaker(text, m.end(), who), "caption"
        if speaker is None:
            continue
        who.heard(speaker)
        if words < _MIN_QUOTE_WORDS:
            continue  # a fragment ("Overall," he continued, "…"): the rest is the quote
        q = Quote(article.id, speaker, text[qs:qe], qs, qe, sent, cue)
        out.append(q)
        covered.append(sent)
        prev, emitted_end = q, qe
    quoted = _SpanIndex(_merged(covered))
    for q in indirect:
        lo, hi = quoted.overlapping(q.start, q.end)
        if lo >= hi:
            out.append(q)


_OPENS_QUOTATION = re.compile(rf"(?:[,:;(\[—–-]|\b(?:{_PRE_CUES})(?:\s+that)?|\bthat)\s*[\"“]?$")


def _inside_narration(before: str) -> bool:
    """Whether a quotation sits inside a sentence of narration ('Time named her "Person of the
    Year"'), rather than opening it or following a cue, a colon or a comma."""
    lead = before[-80:].rstrip()
    return bool(lead.strip(" \t\"“")) and not _OPENS_QUOTATION.search(lead)


def _blanked(text: str, start: int, end: int, pairs: list[Span]) -> str:
    """text[start:end] with the words inside earlier quotation marks blanked out, so an
    attribution is never read from inside a quotation."""
    before = text[start:end]
    k = bisect.bisect_left(pairs, (start, -1))
    parts, pos = [], start
    for a, b in pairs[k:]:
        if b > end:
            break
        parts.append(text[pos: a + 1])
        parts.append(" " * (b - a - 2))
        pos = b - 1
    if not parts:
        return before
    parts.append(text[pos:end])
    return "".join(parts)


def _clause_end(text: str, pos: int, limit: int) -> int:
    """Where a reported clause that holds a quotation ending at `pos` ends: at the first
    semicolon, dash, "while" or further attribution outside quotation marks, or the sentence's
    end. Reads at most `_CLAUSE_TAIL` + 1 characters."""
    inside = False
    k = pos
    limit = min(limit, pos + _CLAUSE_TAIL + 1)
    while k < limit:
        c = text[k]
        if c == "“":
            inside = True
        elif c == "”":
            inside = False
        elif c == '"':
            inside = not inside
        elif not inside and c in ";—–wW ,":
            m = _CLAUSE_END.match(text, k)
            if m and m.start() < limit:
                return k
        k += 1
    return limit


def _reads_as_clause(clause: str, cue: str, *, strict: bool, had_that: bool = False) -> bool:
    """Whether words after a cue are reported speech ("the crash was likely") rather than an
    object ("his resignation", "responsibility", "a state of emergency")."""
    toks = [t for t in _tokens(clause) if t.text not in ("\"", "“", "”", "‘", "’")]
    if len(toks) < 3 or toks[0].kind == "punct":
        return False  # ", to determine …"
    counted = any(t.kind == "num" for t in toks[1:3])  # "said at least 71 people were …"
    if not had_that and not counted and toks[0].kind == "prep":
        return False  # "said to be", "told of being forced …"
    if toks[0].kind == "aux" and toks[1].kind not in ("cap", "pron"):
        return False  # "was due to …": the object of a relative clause ("which his wife said was …")
    if cue in _RECIPIENT_VERBS:
        # "told reporters (that) the talks failed", not "told passengers to take another way"
        for t in toks[:6]:
            if t.kind == "aux":
                break
            if t.key == "to":
                return False
    if not strict:
        return True
    if toks[0].key in ("why", "how", "what", "where", "when", "whether", "if"):
        return False  # "explained why …": an account, not what was said
    if toks[0].kind == "pron" and toks[0].key in ("he", "she", "they", "we", "i", "it", "there") and toks[1].kind in ("word", "aux", "adv"):
        return True  # "claimed he prepaid …"
    if toks[0].kind == "pron" and toks[0].key in ("him", "her", "them", "us", "me") or toks[0].key in (
            "himself", "herself", "themselves", "itself"):
        return False  # "claiming them to be …", "declaring himself the …": an object
    if (toks[0].kind == "prep" and not counted) or (toks[0].kind == "word" and not (len(toks) > 1 and toks[1].kind == "aux")):
        return False
    window = 4 if toks[0].key in ("his", "her", "its", "their", "our", "my", "your") else 8
    for i, t in enumerate(toks[:window]):  # "his resignation …" is an object; "his nephew needed …" is not
        if t.kind == "punct" and t.text in (",", ";", "(") or t.key in ("so", "because", "which", "who", "when", "while", "if"):
            return False
        if t.kind == "aux":
            return True
        if (t.kind == "word" and t.key.endswith("ed") and i > 0 and toks[i - 1].kind != "conj"
                and (toks[i - 1].kind != "pron" or i == 1) and not _VERB_WORD.fullmatch(t.key)):
            return True  # "the documents were …", "Benin joined …"; not "… and deployed", "a deal it brokered"
    return False


def _recipient_end(toks: list[_Tok]) -> int:
    """Tokens of the person told, after "told": "reporters", "the BBC", "his counterpart",
    "Agence France-Presse", "him"."""
    if not toks:
        return 0
    t = toks[0]
    if t.kind == "pron" and t.key in ("him", "her", "them", "us", "me", "you"):
        return 1
    if t.kind == "title" or t.key in ("reporters", "journalists", "media", "press"):
        groups = _groups(toks[1:])
        if groups and groups[0].first == 0 and t.kind == "title":
            return 1 + groups[0].last + 1  # "told host Mika Brzezinski"
        return 1
    k = 1 if t.kind == "det" else 0
    if k < len(toks) and toks[k].kind in ("title", "body", "word") and k == 1:
        return 2
    words = k
    while k < min(len(toks), 4) and (toks[k].kind in ("word", "body", "title") or (
            toks[k].kind == "cap" and toks[k].key.endswith("-based"))):
        k += 1  # "Brussels-based media network EURACTIV", "local media", "police"
    groups = _groups(toks[k:])
    if k > words and (not groups or groups[0].first != 0 or toks[k + groups[0].last].owner):
        return k  # "told police she had …", "told local media Adamowicz's heart …"
    if groups and groups[0].first == 0:
        g = groups[0]
        end = k + g.last + 1
        if toks[end - 1].owner and len(groups) > 1 and groups[1].first == g.last + 1:
            g = groups[1]  # "told MSNBC's Mika Brzezinski"
            end = k + g.last + 1
        nxt = toks[end] if end < len(toks) else None
        if g.last > 0 and (nxt.kind == "aux" or nxt.key.endswith("ed") if nxt is not None and nxt.text not in ("\"", "“")
                           else not _name_shaped(toks[k].text)):
            return k + 1  # "told NPR Hamza bin Laden had …", 'told MSNBC Cummings "was …"'
        return end
    return 0


_ADVERBIAL_NOUNS = frozenset("""
    statement interview briefing conference release post tweet tweets speech letter report
    video message broadcast essay article column op-ed blog book paper study filing memo email event
    meeting hearing debate rally
    e-mail note editorial morning afternoon evening night week month year
""".split())


def _past_that(toks: list[_Tok], k: int) -> tuple[int, bool]:
    """Where the reported clause after a cue starts: past "that" and past the adverbials before
    it ("said on Tuesday that", "said in a statement that", "said at a press conference
    yesterday the …", "said in its report, the …"); and whether there was a "that"."""
    for j in range(k, min(len(toks), k + 7)):
        t = toks[j]
        if t.key == "that" and t.kind == "det":
            between = toks[k:j]
            if not between or (between[0].key in ("on", "in", "at", "during", "via", "through", "after", "before") or
                               between[0].key in _CALENDAR or between[0].key in _TRAILING_ADVERBS) and all(
                    b.kind in ("prep", "det", "num", "adv", "cap") or b.key in _CALENDAR or b.key in _ADVERBIAL_NOUNS
                    or b.key in _TRAILING_ADVERBS for b in between):
                return j + 1, True  # "said on Tuesday that", "said in a statement that"
            break
        if t.kind in ("aux", "pron", "punct", "rel") or _VERB_WORD.fullmatch(t.key):
            break
    for _ in range(3):
        start = k
        while k < len(toks) and toks[k].kind == "adv":
            k += 1  # "said publicly the …"
        k = _past_adverbial(toks, k)
        if k == start:
            break
    if k < len(toks) and toks[k].key == "that" and toks[k].kind == "det":
        return k + 1, True  # "said yesterday night that …"
    if k > 0 and k < len(toks) and toks[k].text == "," and toks[k - 1].kind != "punct":
        k += 1  # "said on Sunday, the 36 people …"
    return k, False


def _past_adverbial(toks: list[_Tok], k: int) -> int:
    """Past one adverbial of time or occasion: "on Monday", "yesterday morning", "at a press
    conference", "in an interview with Rolling Stone", "in its report,"."""
    if k >= len(toks):
        return k
    t = toks[k]
    if t.key in ("yesterday", "today", "tonight", "earlier", "later", "recently"):
        k += 1
        while k < len(toks) and toks[k].key in ("morning", "afternoon", "evening", "night"):
            k += 1
        return k
    j = k + 1 if t.key in ("on", "in", "last", "this", "earlier", "late") else k
    if j < len(toks) and (toks[j].key in _CALENDAR or toks[j].key in ("week", "month", "year")) and not toks[j].owner:
        j += 1  # "said on Monday they believe …"
        while j < len(toks) and toks[j].key in ("morning", "afternoon", "evening", "night"):
            j += 1
        return j
    if t.kind != "prep":
        return k
    # "at a press conference", "in its report", "with Rolling Stone" (after such a phrase)
    j = k + 1
    occasion = False
    while j < len(toks) and j < k + 6 and toks[j].kind in ("det", "word", "body", "title", "cap", "part", "num"):
        occasion = occasion or toks[j].key in _ADVERBIAL_NOUNS
        if toks[j].kind == "word" and toks[j].key.endswith("ed"):
            return k
        j += 1
    if j < len(toks) and toks[j].text == ",":
        return j + 1 if occasion else k  # "said in its report, the western extension …"
    if occasion or (t.key == "with" and k > 0 and toks[k - 1].key in _ADVERBIAL_NOUNS | {"with"}):
        return j
    return k


def _clause_start(before: str, cue_end: int, cue: str) -> tuple[int | None, bool]:
    """Where the reported clause after a cue starts in `before`, or None when the quotation
    follows the cue directly ('said: "…"', 'said on Friday "…"'); and whether "that" opened it."""
    rest = before[cue_end:]
    toks = _tokens(rest)
    k = 0
    if cue in _RECIPIENT_VERBS:
        k = _recipient_end(toks)
    k, had_that = _past_that(toks, k)
    if had_that and k < len(toks) and toks[k].text == ",":
        k += 1  # "said that, after the first Olympiad, …"
    if any(t.text in ("\"", "“", "”") for t in toks[k:]):
        return _EMBEDDED, had_that  # '… "A" and offered "B"': B is no reported clause of its own
    body = toks[k:]
    if not body:
        return None, had_that
    if body[-1].kind == "punct" and body[-1].text in (",", ":", ";"):
        return None, had_that  # 'said on Twitter, "…"'
    if any(t.text in (";", ":") for t in body):
        return None, had_that
    if body[0].kind == "punct":
        if body[0].text in ("—", "–", "(") and body[-1].text in ("—", "–", ")"):
            return None, had_that  # 'said — as reported by … — "…"'
        return _EMBEDDED, had_that  # '…," she said, asking Cengiz to be "…"'
    if body[0].kind in ("prep", "num") or body[0].key in _CALENDAR or body[0].key in _TRAILING_ADVERBS:
        if not any(t.kind in ("aux", "pron") for t in body):
            return None, had_that  # 'said in a press release "…"'
    return cue_end + toks[k].start, had_that


_QUOTED_AS = re.compile(r"\bquot(?:ed|es|ing)\s+(.{2,160}?,?)\s*as\s*$")
# '…," while X noted …' starts a clause of its own: X is not the speaker of the quotation.
_SUBORDINATE = re.compile(
    r"\s*(?:[Ww]hile|[Ww]hereas|[Aa]nd|[Bb]ut|[Aa]s|[Ww]hen|[Bb]ecause|[Aa]lthough|[Tt]hough|[Ii]f|[Aa]fter|[Bb]efore|"
    r"[Ss]ince|[Ww]hich|[Ww]ho)\b"  # not "WHO"
)


def _attribute(before: str, after: str, who: _Speakers) -> _Attribution | None:
    # After the quote: '…," said Ana Reyes'; '…," he told reporters'; '…", according to X'.
    m = _AFTER_VERB_FIRST.match(after)
    if m:
        name = who.speaker(_subject_of_phrase(m["subj"], "inverted"))
        if name:
            return _Attribution(name, m["verb"])
    m = _AFTER_SUBJ_FIRST.match(after)
    if m and m["verb"] not in _NOUN_LIKE_CUES and not _SUBORDINATE.match(m["subj"]):
        name = who.speaker(_subject_of_phrase(m["subj"], "finite"))
        if name:
            rest = m["rest"].lower()
            cue = m["verb"] + (" on Twitter" if "twitter" in rest or "tweet" in rest else "")
            return _Attribution(name, cue)
    m = _AFTER_ACCORDING.match(after)
    if m:
        name = who.speaker(_subject_of_phrase(m["subj"], "according"))
        if name:
            return _Attribution(name, "according to")
    # Before the quote: 'Zhao Lijian, spokesperson for …, said that "…"'; '… Kritenbrink warned
    # that … “…”'; 'According to X, … "…"'.
    acc = None
    for acc in re.finditer(r"\baccording to ([^,]{2,80}),", before, re.I):
        pass
    cue_m = None
    for m in re.finditer(rf"\b{_PRE_CUES}\b", before):
        # "… commented — which the BBC noted as unusual — "…"": a cue between dashes is not
        # the quotation's
        if not (re.search(r"\s[—–]\s", before[m.end():]) and re.search(r"\s[—–]\s", before[: m.start()])):
            cue_m = m
    if acc is not None and (cue_m is None or acc.start() > cue_m.start()):
        name = who.speaker(_subject_of_phrase(acc.group(1), "according"))
        if name:
            clause, _ = _clause_start(before, acc.end(), "according to")
            return _Attribution(name, "according to", clause)
    if cue_m is None:
        return None
    cue = cue_m.group(0)
    quoted = _QUOTED_AS.search(before[: cue_m.start()])
    if quoted:
        subj = _subject_of_phrase(quoted.group(1), "finite")  # "Politico quoted Tim Manning, …, as saying"
    elif re.fullmatch(_PARTICIPLES, cue):
        subj = _subject_of_phrase(before[: cue_m.start()], "clause")
    else:
        subj = _subject_of_phrase(before[: cue_m.start()], "finite")
        if subj is None and not before[: cue_m.start()].strip(" \t\"“”,"):
            # '"…," wrote Trump on Twitter, "…"': the name after the cue.
            subj = _subject_of_phrase(before[cue_m.end():], "inverted")
            name = who.speaker(subj)
            return _Attribution(name, cue) if name else None
    if cue in _NOUN_LIKE_CUES and (subj is None or subj.kind == "description"
                                   or (subj.kind == "name" and subj.name_kind == "body")):
        return None
    name = who.speaker(subj)
    if not name:
        return None
    clause, had_that = _clause_start(before, cue_m.end(), cue)
    return _Attribution(name, cue, clause, strict=cue in _OBJECT_VERBS and not had_that, had_that=had_that)


def _caption_speaker(text: str, pos: int, who: _Speakers) -> str | None:
    """Quotes set on their own lines, with the speaker's name on the line below them."""
    blank = _BLANK_TO_LINE_END.match(text, pos)
    if not blank:
        return None
    # The next four lines, found one at a time: never a copy or a scan of the rest of the text.
    lines = []
    start = blank.end()
    while len(lines) < 4:
        end = text.find("\n", start)
        lines.append(text[start:] if end < 0 else text[start:end])
        if end < 0:
            break
        start = end + 1
    for line in lines:
        s = line.strip()
        if not s:
            continue
        if s[0] in "\"“":
            continue  # another quote of the same block
        if len(s.split()) <= 6 and not re.search(r"[.!?,;:]$", s):
            return who.expand(_person_in(s))
        return None
    return None


_ANY_CUE = re.compile(rf"\b(?:{_VERBS})\b|according to", re.I)


def _indirect_quotes(article: Article, sentences: list[Span], who: _Speakers) -> list[Quote]:
    """Reported speech without quotation marks: "X stated that …", "according to X, …"."""
    text = article.text
    out: list[Quote] = []
    for s0, s1 in sentences:
        sent = text[s0:s1]
        if not sent.strip() or '"' in sent or "“" in sent or "”" in sent:
            continue
        if not _ANY_CUE.search(sent):
            continue
        who.at, who.at_end = s0, s1
        found = _reported(sent, who)
        if found is None:
            continue
        speaker, cue, a, b = found
        a, b = _trim(text, s0 + a, s0 + b)
        b = _strip_end(text, a, b)
        if b - a > 10 and len(text[a:b].split()) >= _MIN_QUOTE_WORDS:
            out.append(Quote(article.id, speaker, text[a:b], a, b, (s0, s1), cue))
            who.heard(speaker)
    who.last = who.last_person = None  # the direct-quote pass walks the text again from the start
    who.last_person_at = who.last_person_end = who.last_at = -1
    return out


def _is_appositive(toks: list[_Tok]) -> bool:
    """A short description set off by commas: "Hagan's former spokeswoman", "director of the
    Learning Together event", "a cybersecurity firm", "who is both co-chairman of …"."""
    if not toks or toks[0].kind == "rel":
        return bool(toks)
    if len(toks) > 8 or any(t.kind in ("aux", "pron") or _VERB_WORD.fullmatch(t.key)
                            or t.kind == "word" and t.key.endswith("ed") for t in toks):
        return False
    if not (toks[0].kind in ("det", "title") or toks[0].owner):
        return False
    return any(t.kind in ("title", "body") for t in toks)


def _reported(sent: str, who: _Speakers) -> tuple[str, str, int, int] | None:
    """Speaker, cue and clause span (in `sent`) of reported speech in one sentence."""
    m = _ACCORDING_LEAD.match(sent)
    if m:
        a = m.start("clause")
        subj = _subject_of_phrase(m["subj"], "according")
        name = who.speaker(subj, indirect=True)
        role = subj is not None and subj.kind == "description" and _is_title(subj.head)
        if role:
            name = None  # "According to the El Paso mayor, Dee Margo, …": the name follows
        # "According to Sadie Weiner, Hagan's former spokeswoman, Hagan died …": skip the
        # appositive; "According to the El Paso mayor, Dee Margo, …": the name is the source.
        comma = sent.find(",", a)
        if 0 < comma - a < 80 and len(sent) - comma > 20:
            toks = _tokens(sent[a:comma])
            bare = _bare_name(toks, 0, len(toks))
            if len(toks) == 1 and toks[0].kind == "cap" and m["subj"].split()[-1][:1].isupper():
                a = comma + 1  # "According to police in Baytown, Texas, …": the place goes on
            elif bare is not None and role:
                name, a = who.speaker(bare, indirect=True), comma + 1
            elif bare is None and _is_appositive(toks):
                a = comma + 1
        if name:
            return name, "according to", a, len(sent)
    m = _ACCORDING_TAIL.match(sent)
    if m:
        name = who.speaker(_subject_of_phrase(m["subj"], "according"), indirect=True)
        if name:
            return name, "according to", m.start("clause"), m.end("clause")
    m = _SAID_TAIL.match(sent)
    if m:
        name = who.speaker(_subject_of_phrase(m["subj"], "finite"), indirect=True)
        if name:
            return name, m["verb"], m.start("clause"), m.end("clause")
    m = _INDIRECT.match(sent)
    if not m:
        return None
    verb = m["verb"]
    subj = _subject_of_phrase(m["subj"], "finite")
    if subj is None or (verb in _NOUN_LIKE_CUES and (subj.kind == "description" or subj.name_kind == "body")):
        return None
    name = who.speaker(subj, indirect=True)
    if not name:
        return None
    rest_at = m.end("verb")
    toks = _tokens(sent[rest_at:])
    k = _recipient_end(toks) if verb in _RECIPIENT_VERBS else 0
    k, had_that = _past_that(toks, k)
    if k >= len(toks):
        return None
    a = rest_at + toks[k].start
    end = len(sent)
    if ";" in sent[a:]:
        end = sent.index(";", a)  # "he claimed sex had been consensual; Redouane …"
    if _SUBORDINATE.match(m["subj"]) and "," not in m["subj"]:
        comma = sent.find(",", a)  # "When Trump tweeted that …, Twitter placed …": the clause ends
        if comma > 0:
            end = comma
    if not _reads_as_clause(sent[a:], verb, strict=verb in _OBJECT_VERBS and not had_that, had_that=had_that):
        return None
    return name, verb, a, end


# ----------------------------------------------------------------------------------------------
# Questions about speakers.

_SPEAKER_Q = [
    re.compile(r"\bwhat (?:did|does|has|have|do) (?P<n>.+?) (?:say|said|says|tell|told|write|wrote|think|claim|state|warn|argue)\b", re.I),
    re.compile(r"\bhow did (?P<n>.+?) (?:describe|respond|react|characteri[sz]e)\b", re.I),
    re.compile(r"\b(?:quotes?|statements?|remarks?|comments?|words) (?:of|from|by) (?P<n>[^?.,]+)", re.I),
    re.compile(r"\baccording to (?P<n>[^?.,]+)", re.I),
    re.compile(r"\b(?P<n>[A-Z][\w.’'-]*(?:\s+[A-Z][\w.’'-]*){0,2})['’]s (?:view|position|stance|remarks|comments|statement|words)\b"),
]


def find_speaker(question: str) -> str | None:
    """The person or body a who-said-what question is about, or None.

    "What did Kritenbrink say about the meeting?" → "Kritenbrink"; "What did the club say?"
    → None; "What did the White House say?" → "White House" (bodies speak too). Pronouns give
    None: resolve follow-ups first (`qa.conversation.resolve_followup`). Whether the name is a
    person's is for `is_person` to say, with the index's speakers.
    """
    for pat in _SPEAKER_Q:
        m = pat.search(question)
        if not m:
            continue
        phrase = m["n"].strip()
        if phrase.lower() in _PRONOUNS | {"it", "them", "him", "her", "the articles", "the article"}:
            return None
        name = _person_in(phrase)
        if name:
            return name
        cleaned = re.sub(r"^(?:the|a|an)\s+", "", phrase, flags=re.I)
        if re.match(rf"[{_UPPER}]", cleaned) and len(cleaned.split()) <= 4:
            return cleaned  # "Arsenal", "the White House": bodies speak too
    return None


def is_person(name: str, known_speakers: Iterable[str]) -> bool:
    """Whether a name from a question is a person's, as far as the data can tell.

    A name with a person's shape (two to four capitalised name words, after titles: "Zhao
    Lijian", "Secretary Antony Blinken") is a person. A single word is a person only when a
    known name with a person's shape contains it: "Kritenbrink" is, where "Daniel Kritenbrink"
    is quoted; "Freedonia" is not, where no person's name holds that word, and a body that
    speaks ("the Palace", "Foreign Ministry") never is.

    Args:
        name: a name as `find_speaker` gives it.
        known_speakers: names the data knows: the index's speakers (`Retriever.speakers()`),
            and best also the people the articles name (`person_names` of the articles a
            question retrieved), so that "Biden", named but never quoted, is a person too.

    Returns:
        True for a person, False for a body, a place or a word the data does not know.
    """
    kind = _name_kind(name.strip())
    if kind == "person":
        return True
    if kind != "single":
        return False
    word = name.strip().lower()
    for s in known_speakers:
        low = s.lower()
        if word in low and word in low.split() and _name_kind(s) == "person":
            return True
    return False


def person_names(text: str) -> list[str]:
    """The people a text names in full ("Joe Biden", "Liu Xiaoming"), in order of first mention,
    titles removed: what `is_person` needs to know that "Biden" is a person where he is named
    but never quoted."""
    return _full_names(text)


def speaker_matches(query: str, speaker: str) -> bool:
    """Case-insensitive match by full name, or by any single part ("Kritenbrink", "Lijian")."""
    q = query.strip().lower()
    s = speaker.lower()
    if not q:
        return False
    return q == s or q in s.split() or s in q.split() or (len(q) > 3 and q in s)
