"""Person names in plain text, by grammar: what the name of a speaker in a question is, whether
a name is a person's, and the people a text names in full.

These read text that has no parse: questions (which are short, and parsed only when needed) and
article texts at question time. Quotes are attributed from the article's parse instead
(`qa.corpus.quotes.extract`). The only word lists are English ones: titles and role nouns, nouns that
make a name an organisation ("University", "Ministry", "Party"), function words and calendar
words. Whether a single capitalised word is a person is left to the data (`is_person`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from .cues import SPEECH_VERBS

__all__ = ["TITLES", "is_person", "is_title", "is_body", "name_kind", "person_in", "person_names",
           "speaker_matches"]

# ----------------------------------------------------------------------------------------------
# Words of English, never of a corpus: no country, city, organisation or nationality names.

# Titles and role nouns: before a name they are stripped ("Foreign Minister Ada Okafor" → "Ada
# Okafor"); after a lowercase determiner they mark a description ("the EFB official").
TITLES = frozenset("""
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
# A single name after one of these is a whole name ("Pope Aurel", "King Aldric").
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
# First words of place names ("North Elmshire", "New Elmport", "San Aldo", "Middle Vale"): a
# name that starts with one is a place, not a person ("Ada West" is a person).
_PLACE_PREFIXES = frozenset("""
    north south east west northern southern eastern western central new san santa los las fort port
    mount cape upper lower greater middle
""".split())
# Lower-case particles inside a name ("Omar bin Aldo", "Greta von der Elm").
PARTICLES = frozenset("bin ibn al el van von der den de da di du del dela della dos das la le ter ten".split())
_AUX = frozenset("""
    is are was were be been being has have had will would could should can may might must shall
    did does do
""".split())
_NUMBER_WORDS = frozenset("""
    two three four five six seven eight nine eleven twelve dozen dozens hundred hundreds
    thousand thousands million millions
""".split())


def is_title(key: str) -> bool:
    return key in TITLES or (key.endswith("s") and key[:-1] in TITLES) or key.endswith(
        ("ologist", "ologists", "ician", "icians", "ographer", "ographers", "writer", "writers"))


def is_body(key: str) -> bool:
    return key in _BODY_WORDS or (key.endswith("s") and key[:-1] in _BODY_WORDS) or (
        key.endswith("ies") and key[:-3] + "y" in _BODY_WORDS)


# ----------------------------------------------------------------------------------------------
# Tokens and capitalised groups of a phrase.

_TOKEN = re.compile(r"[^\W_][\w’'.&-]*|[^\w\s]")
_POSSESSIVE = ("’s", "'s", "s’", "s'")
# Abbreviations whose dot is not a full stop.
_ABBREVIATIONS = frozenset("mr mrs ms dr prof st jr sr gen col lt capt sgt rev sen rep gov fr mt".split())
# Letters after a name that are not part of it ("Ada Okafor QC", "Ben Carter Jr.").
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
        return "cap"  # an acronym ("EFB", "N.A.", "XTV"), never the pronoun "us"
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
        # Capitalised right after a name, it is part of the name ("Ada May", "Ben How").
        if upper and prev is not None and prev.kind == "cap" and not prev.owner:
            return "cap"
        return "aux" if key in _AUX else "func"
    if upper or (_PREFIXED_NAME.match(word) and word[word.index("-") + 1].isupper()):
        return "cap"  # "Omar Abdel el-Nour"
    if key in PARTICLES:
        return "part"
    if is_title(key):
        return "title"
    if is_body(key):
        return "body"
    if key.endswith("ly"):
        return "adv"
    return "word"


@dataclass(frozen=True, slots=True)
class _Group:
    """A run of capitalised words (with name particles, and "of"/"for" after a title:
    "Secretary of State Ben Carter", "University of Northfield")."""

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
                        and (is_body(nxt.key) or is_title(nxt.key))):
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
            # Nations", "Court of Appeal"
            if (k == j + 1 and nxt is not None and nxt.joined
                    and (nxt.key in ("of", "for", "from", "on") and (is_title(toks[j].key) or is_body(toks[j].key))
                         or nxt.key == "to" and is_title(toks[j].key))):
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
    """A word of a person's name: "Wei", "O'Brien", "Gallego-Lazo", "Öztürk", "el-Amin", "J."."""
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
    # A date before a name is not part of it ("On Monday Okafor said"); "April Stone" is a name.
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
           and not any(is_body(t.key) for t in items[1:])):
        items = items[1:]  # "IM Ada Okafor", "GOP Senator …": letters before the name
    if not items:
        return None
    keys = [t.key for t in items]
    body_text = _raw(items)
    # A title or body word directly before a name word: the name is what follows it.
    cut = -1
    for i in range(len(items) - 1):
        if (is_title(keys[i]) or is_body(keys[i])) and items[i + 1].kind == "cap":
            cut = i
    rest = items[cut + 1:]
    if cut >= 0 and len(rest) == 1 and keys[cut] in _SOVEREIGN_TITLES and _name_shaped(rest[0].text):
        return _Name("person", f"{items[cut].text} {rest[0].text}")  # "Pope Aurel"
    # "First Minister of Freedonia Ada Okafor": the place of the title, then the name.
    preps = [i for i, t in enumerate(rest) if t.kind == "prep"]
    if preps:
        head, tail = rest[: preps[-1]], [t for t in rest[preps[-1] + 1:] if t.kind == "cap"]
        titled = any(is_title(t.key) for t in head)
        if titled and len(tail) >= 3 and not any(is_body(t.key) for t in tail):
            rest = tail[-(3 if len(tail) >= 5 else 2):]
        elif titled:
            return _Name("role", body_text)
        elif any(is_body(t.key) for t in rest):
            return _Name("body", body_text)
        else:
            rest = tail
    if not rest:
        return _Name("role", body_text) if any(is_title(k) for k in keys) else None
    if any(is_body(t.key) for t in rest) or (len(rest) > 1 and rest[0].key in _PLACE_PREFIXES):
        return _Name("body", body_text)
    if is_title(rest[-1].key) and not any(_name_shaped(t.text) and not is_title(t.key) for t in rest[:-1]):
        return _Name("role", body_text)  # "EFB Ambassador", "Regents Professor"
    words = [t.text for t in rest if t.kind in ("part", "cap")]
    if not all(_name_shaped(w) or w.lower() in PARTICLES for w in words):
        return _Name("body", " ".join(words))  # "XTV", "Elm Courier News", "EIT"
    parts = [w for w in words if w.lower() not in PARTICLES]
    if len(parts) == 1:
        return _Name("single", " ".join(words))
    if 2 <= len(parts) <= 4:
        return _Name("person", " ".join(words))
    return _Name("body", " ".join(words))


def person_in(phrase: str) -> str | None:
    """The last name in a phrase that may be a person's, with titles, roles and possessives
    removed: "Foreign Ministry spokesperson Ada Okafor" → "Ada Okafor", "Secretary of State
    Ben Carter" → "Ben Carter". Organisations ("the Foreign Ministry", "Harbour Party")
    and roles alone give None. A single capitalised word ("Okafor", "Freedonia") is returned
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


def _is_modifier(toks: list[_Tok], g: _Group, hi: int) -> bool:
    """A name used as an adjective before a role or body: "Elmish military spokesperson",
    "the Elmport mayor", "Ruritanian officials", "Northland University political scientist"."""
    k = g.last + 1
    for step in range(3):
        if k >= hi:
            return False
        t = toks[k]
        if t.kind in ("title", "body"):
            return True
        if t.kind != "word" or step == 2 or t.key in SPEECH_VERBS or t.key.endswith("ed"):
            return False
        k += 1
    return False


@lru_cache(maxsize=4096)
def name_kind(name: str) -> str:
    """"person", "single", "body", "role" or "" for a speaker string."""
    toks = _tokens(name)
    groups = _groups(toks)
    if len(groups) != 1 or groups[0].first != 0 or groups[0].last != len(toks) - 1:
        return ""
    found = _group_name(toks, groups[0])
    return found.kind if found is not None else ""


UPPER = "".join(c for c in map(chr, range(0x530)) if c.isupper() and c.isalpha())
_CAP_RUN = re.compile(
    rf"[{UPPER}][\w’'.&-]*(?:(?:[ \t]+(?:of|for|from|on)(?:[ \t]+the)?"
    rf"|[ \t]+(?:{'|'.join(sorted(PARTICLES))}))*[ \t]+[{UPPER}][\w’'.&-]*)*"
)


def _full_names(text: str) -> list[str]:
    """Person names of two or more words, in order of first appearance (for expanding
    "Wei"). Each capitalised run is read on its own, so the whole text is never
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


def is_person(name: str, known_speakers: Iterable[str]) -> bool:
    """Whether a name from a question is a person's, as far as the data can tell.

    A name with a person's shape (two to four capitalised name words, after titles: "Ada
    Okafor", "Secretary Ben Carter") is a person. A single word is a person only when a
    known name with a person's shape contains it: "Okafor" is, where "Ada Okafor"
    is quoted; "Freedonia" is not, where no person's name holds that word, and a body that
    speaks ("the Palace", "Foreign Ministry") never is.

    Args:
        name: a name as `find_speaker` gives it.
        known_speakers: names the data knows: the index's speakers (`Retriever.speakers()`),
            and best also the people the articles name (`person_names` of the articles a
            question retrieved), so that "Holt", named but never quoted, is a person too.

    Returns:
        True for a person, False for a body, a place or a word the data does not know.
    """
    kind = name_kind(name.strip())
    if kind == "person":
        return True
    if kind != "single":
        return False
    word = name.strip().lower()
    for s in known_speakers:
        low = s.lower()
        if word in low and word in low.split() and name_kind(s) == "person":
            return True
    return False


def person_names(text: str) -> list[str]:
    """The people a text names in full ("Jane Holt", "Liu Wei"), in order of first mention,
    titles removed: what `is_person` needs to know that "Holt" is a person where he is named
    but never quoted."""
    return _full_names(text)


def speaker_matches(query: str, speaker: str) -> bool:
    """Case-insensitive match by full name, by any single part ("Okafor", "Ada"), or
    by first and last name past a middle one."""
    q = query.strip().lower()
    s = speaker.lower()
    if not q:
        return False
    qw, sw = q.split(), s.split()
    # "Ada Okafor" is "Ada B. Okafor": a name of two words or more whose words are all the
    # other's, first and last alike
    return q == s or q in sw or s in qw or (len(q) > 3 and q in s) or (
        min(len(qw), len(sw)) >= 2 and qw[0] == sw[0] and qw[-1] == sw[-1])


# A quotation of fewer words, all capitalised but for these, is a title or a name.
_TITLE_WORDS = 7
_SMALL_WORDS = frozenset("of the a an and in on for to at by or with from".split())


def names_something(words: str) -> bool:
    """Whether quoted words are a title or a name ("Person of the Year", "Radio Control
    Law"): a few words, each a capitalised one or a small word, and no sentence."""
    parts = words.strip(" ,.").split()
    return 0 < len(parts) < _TITLE_WORDS and not any(c in words for c in "!?") and all(
        w[:1].isupper() or w in _SMALL_WORDS for w in parts) and parts[0][:1].isupper()
