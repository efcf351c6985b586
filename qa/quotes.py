"""Who said what: attributed quotations found in article text at index time.

News is made of attributed speech. `extract_quotes` finds direct quotes ("…," said X;
“…” X wrote on Twitter; X said that "…") and indirect speech (X stated that …; according to
X, …) and names the speaker, resolving pronouns ("he told reporters") to the most recent named
speaker and short names ("Xiaoming") to the full name used earlier ("Liu Xiaoming").

Everything here is regular expressions over one article: fast, and it never raises on odd text.
Its time is linear in the article's length: each quote looks at a bounded stretch of text around
it, and sentences and covered spans are found by bisection, never by a scan of the article.
"""

from __future__ import annotations

import bisect
import logging
import re

from qa.types import Article, Quote, Span

__all__ = ["extract_quotes", "find_speaker", "speaker_matches"]

log = logging.getLogger(__name__)

_VERBS = (
    r"said|says|say|stated|states|told|tells|added|adds|wrote|writes|warned|warns|insisted|"
    r"insists|noted|notes|stressed|stresses|emphasi[sz]ed|emphasi[sz]es|asserted|asserts|"
    r"argued|argues|claimed|claims|explained|continued|declared|announced|informed|"
    r"tweeted|remarked|replied|responded|urged|cautioned"
)
_PRE_CUES = rf"(?:{_VERBS}|saying|asserting|adding|warning|insisting|stating|writing)"
# After-quote attribution: '…," said Katrina Yu' and '…," he told reporters'.
_AFTER_VERB_FIRST = re.compile(
    rf"^[\s,.;:!?—–-]*(?P<verb>{_VERBS})\s+(?P<subj>(?:the\s+)?[A-Z][\w’'.-]*(?:\s+[A-Z][\w’'.-]*){{0,3}})"
)
_AFTER_SUBJ_FIRST = re.compile(
    rf"^[\s,.;:!?—–-]*(?P<subj>[^,.;:!?\"“”]{{1,90}}?)\s+(?P<verb>{_VERBS})\b(?P<rest>[^.;]{{0,40}})"
)
_PRONOUNS = {"he", "she", "they", "we", "i"}
# Words that precede a name as a role or nationality: stripped to leave the person's name.
_ROLE_WORDS = {
    "senior", "us", "u.s.", "u.s", "american", "chinese", "russian", "ukrainian", "british",
    "french", "state", "department", "official", "president", "vice", "prime", "minister",
    "foreign", "secretary", "spokesperson", "spokesman", "spokeswoman", "ambassador", "envoy",
    "mr", "mr.", "mrs", "mrs.", "ms", "ms.", "dr", "dr.", "general", "gen.", "premier",
    "chancellor", "correspondent", "diplomat", "special", "representative", "top", "deputy",
    "assistant", "ministry", "of", "the", "white", "house", "leader", "counterpart",
}
# Capitalised words that are places, bodies or calendar words, never a person's name.
_NOT_PERSON = {
    "china", "russia", "ukraine", "nato", "us", "u.s.", "u.s", "usa", "america", "beijing",
    "moscow", "kyiv", "kiev", "washington", "europe", "european", "eu", "union", "kremlin",
    "united", "nations", "states", "security", "council", "un", "unsc", "ministry", "affairs",
    "department", "olympic", "olympics", "games", "winter", "cold", "war", "taiwan", "crimea",
    "britain", "france", "canada", "australia", "zealand", "new", "tibet", "xinjiang", "hong",
    "kong", "georgia", "arctic", "indo-pacific", "pacific", "asian", "asia", "east", "west",
    "western", "twitter", "al", "jazeera", "gmt", "monday", "tuesday", "wednesday", "thursday",
    "friday", "saturday", "sunday", "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december", "chinese", "russian",
    "american", "when", "while", "in", "on", "at", "as", "and", "but", "the", "a", "an", "it",
    "this", "that", "meanwhile", "further", "moreover", "however", "according", "during",
    "after", "before", "since", "with", "image", "ap", "korean", "peninsula", "treaty",
    "organization", "organisation", "north", "atlantic", "house", "white", "charter",
    "federation", "south", "sea", "liberation", "army", "people's", "kremlin.ru",
}
_NAME_RUN = re.compile(r"[A-Z][\w’'.-]*(?:\s+[A-Z][\w’'.-]*)*")
_QUOTE_PAIRS = re.compile(r"“(?P<c>[^”“]{1,3000})”|\"(?P<s>[^\"\n]{1,3000})\"")
_ACCORDING_LEAD = re.compile(r"^\W*According to (?P<subj>[^,]{2,80}),\s*(?P<clause>.+)$", re.S)
_ACCORDING_TAIL = re.compile(r"^(?P<clause>.+?),\s*according to (?P<subj>[^,.]{2,80})[.!?]?\s*$", re.S)
_INDIRECT = re.compile(
    rf"(?P<subj>[^;:\"“”]{{1,160}}?)\s+(?P<verb>{_VERBS})(?:\s+(?:reporters|his counterpart|her counterpart))?"
    r"(?:\s+on\s+\w+day)?\s+(?:that\s+)?(?P<clause>\S.+)$",
    re.S,
)
_SAID_TAIL = re.compile(rf"^(?P<clause>.+?),\s*(?P<subj>the [\w\s]{{2,40}}?|[A-Z][\w\s.]{{1,40}}?)\s+(?P<verb>said|says|stated)[.!?]?\s*$", re.S)
# How far before a quote, within its sentence, the attribution is looked for ('X said that "…"'):
# the whole sentence when it starts at most this far back (the longest in the seed corpus needs
# 218 characters); in a longer run without sentence breaks (not prose: a table, a JSON dump),
# this far back and never past the previous quotation, so each character is read about once.
_BEFORE_WINDOW = 1000
_BLANK_TO_LINE_END = re.compile(r"[^\S\n]*\n")
_ANAPHORIC_ROLES = (
    "official", "secretary", "diplomat", "spokesperson", "spokesman", "spokeswoman", "minister",
    "envoy", "ambassador", "president", "correspondent", "representative",
)


def _person_in(phrase: str) -> str | None:
    """The last person-like capitalised name in a phrase, with roles and possessives removed."""
    best = None
    for m in _NAME_RUN.finditer(phrase):
        words = m.group(0).split()
        first = 0
        while first < len(words) and words[first].lower().strip(",") in _ROLE_WORDS:
            first += 1
        words = [w.rstrip(",").removesuffix("’s").removesuffix("'s") for w in words[first:]]
        if not words or len(words) > 3:
            continue
        if any(w.lower() in _NOT_PERSON or w.lower() in _ROLE_WORDS for w in words):
            continue
        if not all(re.fullmatch(r"[A-Z][a-z][\w’'-]*|[A-Z]\.", w) for w in words):
            continue
        best = " ".join(words)
    return best


def _full_names(text: str) -> list[str]:
    """Multi-word person names in order of first appearance (for expanding "Xiaoming")."""
    seen: dict[str, None] = {}  # ordered, with constant-time membership
    for m in _NAME_RUN.finditer(text):
        words = m.group(0).split()
        first = 0
        while first < len(words) and words[first].lower() in _ROLE_WORDS:
            first += 1
        name = _person_in(" ".join(words[first:])) if first < len(words) else None
        if name and " " in name:
            seen.setdefault(name)
    return list(seen)


class _Speakers:
    """Speaker naming for one article: full names, and the most recent named speaker."""

    def __init__(self, text: str) -> None:
        # A short name's full name: the first full name, in order of appearance, that starts
        # or ends with it ("Xiaoming" and "Liu" both give "Liu Xiaoming").
        self._by_part: dict[str, str] = {}
        for full in _full_names(text):
            parts = full.split()
            self._by_part.setdefault(parts[-1], full)
            self._by_part.setdefault(parts[0], full)
        self.last: str | None = None
        # Capitalised words seen mid-sentence: a one-word "name" seen only at the start of
        # sentences ("Amid …", "Walking …") is an ordinary word, not a person.
        self.midword = set(re.findall(r"(?<=[a-z,] )([A-Z][\w’'-]+)", text))

    def expand(self, name: str | None) -> str | None:
        if not name or " " in name:
            return name
        full = self._by_part.get(name)
        if full:
            return full
        return name if name in self.midword else None

    def resolve(self, subject: str) -> str | None:
        """Name the speaker of a subject phrase ("Xiaoming", "he", "the US official")."""
        subj = subject.strip(" ,.;:—–-\n\t")
        low = subj.lower()
        if not subj:
            return None
        if low in _PRONOUNS:
            return self.last
        person = self.expand(_person_in(subj))
        if person:
            return person
        if low.startswith(("the ", "this ", "that ")) and any(r in low for r in _ANAPHORIC_ROLES):
            return self.last  # "the US assistant secretary of state … said": the person just named
        if low.startswith(("a ", "an ", "it ", "which ", "who ")) or len(subj.split()) > 6:
            return None
        words = re.sub(r"^(?:the|a|an)\s+", "", subj, flags=re.I)
        return words if re.match(r"[A-Z]", words) else None


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


def extract_quotes(article: Article, sentences: list[Span]) -> list[Quote]:
    """Find the attributed quotations of one article.

    Args:
        article: the article; offsets point into `article.text`.
        sentences: article spans of its sentences, not overlapping (from
            `qa.chunking.split_sentences`, or the sentence pieces of its chunks).

    Returns:
        Quotes in text order. `text == article.text[start:end]` for each; `sentence` is the
        span of the sentence(s) carrying it. Unattributed quotation marks (scare quotes,
        titles) are left out. Never raises: on a bug it logs and returns what it found.
    """
    found: list[Quote] = []
    try:
        _extract(article, sorted(sentences), found)
    except Exception:  # noqa: BLE001 - index builds must not fail on one odd article
        log.exception("quote extraction failed for %s; keeping %d quotes", article.id, len(found))
    return sorted(found, key=lambda q: (q.start, q.end))


def _extract(article: Article, sentences: list[Span], out: list[Quote]) -> None:
    text = article.text
    who = _Speakers(text)
    index = _SpanIndex(sentences)
    covered: list[Span] = []  # sentence spans that carry a direct quote
    events: list[tuple[int, str]] = []  # (position, speaker) of indirect speech, for "he"
    indirect = _indirect_quotes(article, sentences, who, events)
    pending = iter(sorted(indirect, key=lambda q: q.start))
    nxt = next(pending, None)
    prev: Quote | None = None
    last_end = 0  # where the previous pair of quotation marks ended
    for m in _QUOTE_PAIRS.finditer(text):
        lookback_floor, last_end = last_end, m.end()
        inner = "c" if m.group("c") is not None else "s"
        qs, qe = _trim(text, m.start(inner), m.end(inner))
        if qe - qs < 2:
            continue
        # Indirect speech earlier in the text names speakers that pronouns may refer to.
        while nxt is not None and nxt.start < m.start():
            who.last = nxt.speaker
            nxt = next(pending, None)
        sent = index.union(m.start(), m.end())
        look_from = sent[0]
        if m.start() - look_from > _BEFORE_WINDOW:
            look_from = max(m.start() - _BEFORE_WINDOW, lookback_floor)
        before = text[look_from: m.start()]
        after = text[m.end(): min(sent[1], m.end() + 160)]
        speaker, cue = _attribute(before, after, who)
        starts_sentence = look_from == sent[0] and not before.strip(" \t\"“")
        if speaker is None and starts_sentence and prev is not None:
            # A quote that starts its sentence, right after a quote in the same paragraph,
            # continues the same speaker ("…,” said Katrina Yu. “It’s refused …”).
            if "\n" not in text[prev.end: m.start()]:
                speaker, cue = prev.speaker, "continued"
        if speaker is None:
            speaker, cue = _caption_speaker(text, m.end(), who), "caption"
        if speaker is None:
            continue
        who.last = speaker
        q = Quote(article.id, speaker, text[qs:qe], qs, qe, sent, cue)
        out.append(q)
        covered.append(sent)
        prev = q
    quoted = _SpanIndex(_merged(covered))
    for q in indirect:
        lo, hi = quoted.overlapping(q.start, q.end)
        if lo >= hi:
            out.append(q)


def _attribute(before: str, after: str, who: _Speakers) -> tuple[str | None, str]:
    m = _AFTER_VERB_FIRST.match(after)
    if m:
        name = who.resolve(m["subj"])
        if name:
            return name, m["verb"]
    m = _AFTER_SUBJ_FIRST.match(after)
    if m:
        name = who.resolve(m["subj"])
        if name:
            rest = m["rest"]
            cue = m["verb"] + (" on Twitter" if "twitter" in rest.lower() or "tweet" in rest.lower() else "")
            return name, cue
    # Before the quote: 'Zhao Lijian, spokesperson …, said that "…"'; '… Kritenbrink warned that … “…”'.
    low = before
    cues = list(re.finditer(rf"\b{_PRE_CUES}\b", low))
    acc = list(re.finditer(r"\baccording to ([^,]{2,80})", low, re.I))
    if acc:
        name = who.resolve(acc[-1].group(1))
        if name:
            return name, "according to"
    if cues:
        c = cues[-1]
        subject = low[: c.start()]
        # Skip an appositive ("Zhao Lijian, spokesperson for …, said") by looking at the
        # last person named anywhere before the verb in this sentence.
        name = who.expand(_person_in(subject))
        if name:
            return name, c.group(0)
        tail = subject.strip().split()
        if tail and tail[-1].lower() in _PRONOUNS:
            return who.last, c.group(0)
    return None, ""


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


def _indirect_quotes(
    article: Article, sentences: list[Span], who: _Speakers, events: list[tuple[int, str]]
) -> list[Quote]:
    """Reported speech without quotation marks: "X stated that …", "according to X, …"."""
    text = article.text
    out: list[Quote] = []
    for s0, s1 in sentences:
        sent = text[s0:s1]
        if not sent.strip() or '"' in sent or "“" in sent:
            continue
        m = _ACCORDING_LEAD.match(sent)
        cue = "according to"
        if not m:
            m = _ACCORDING_TAIL.match(sent)
        if not m:
            m = _SAID_TAIL.match(sent)
            cue = m["verb"] if m else cue
        if m:
            speaker = who.resolve(m["subj"])
            if speaker:
                a, b = _trim(text, s0 + m.start("clause"), s0 + m.end("clause"))
                b = _strip_end(text, a, b)
                if b - a > 10:
                    out.append(Quote(article.id, speaker, text[a:b], a, b, (s0, s1), cue))
                    events.append((s0, speaker))
                continue
        m = _INDIRECT.match(sent)
        if not m:
            continue
        subj = m["subj"]
        # The subject must end in a person's name or a pronoun, not "the two countries".
        tail = subj.split()[-1].lower() if subj.split() else ""
        person = _person_in(subj.split(",")[0]) or (
            _person_in(subj) if subj.rstrip().endswith(tuple("abcdefghijklmnopqrstuvwxyz")) else None
        )
        if tail in _PRONOUNS and tail != "i":
            speaker = who.last
        elif person and subj.strip().split()[-1].strip(",").removesuffix("’s") in person.split():
            speaker = who.expand(person)
        elif person and "," in subj:  # "Zhao Lijian, spokesperson for …," said
            speaker = who.expand(person)
        else:
            continue
        if not speaker:
            continue
        a, b = _trim(text, s0 + m.start("clause"), s0 + m.end("clause"))
        b = _strip_end(text, a, b)
        if b - a > 10:
            out.append(Quote(article.id, speaker, text[a:b], a, b, (s0, s1), m["verb"]))
            who.last = speaker
            events.append((s0, speaker))
    who.last = None  # direct-quote pass walks the text again from the start
    return out


def _strip_end(text: str, a: int, b: int) -> int:
    while b > a and text[b - 1] in ".!? \n\t":
        b -= 1
    return b


_SPEAKER_Q = [
    re.compile(r"\bwhat (?:did|does|has|have|do) (?P<n>.+?) (?:say|said|says|tell|told|write|wrote|think|claim|state|warn|argue)\b", re.I),
    re.compile(r"\bhow did (?P<n>.+?) (?:describe|respond|react|characteri[sz]e)\b", re.I),
    re.compile(r"\b(?:quotes?|statements?|remarks?|comments?|words) (?:of|from|by) (?P<n>[^?.,]+)", re.I),
    re.compile(r"\baccording to (?P<n>[^?.,]+)", re.I),
    re.compile(r"\b(?P<n>[A-Z][\w.’'-]*(?:\s+[A-Z][\w.’'-]*){0,2})['’]s (?:view|position|stance|remarks|comments|statement|words)\b"),
]


def find_speaker(question: str) -> str | None:
    """The person a who-said-what question is about, or None.

    "What did Kritenbrink say about the meeting?" → "Kritenbrink". Pronouns give None:
    resolve follow-ups first (`qa.conversation.resolve_followup`).
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
        if re.match(r"[A-Z]", cleaned) and len(cleaned.split()) <= 4:
            return cleaned  # "China", "the White House": bodies speak too
    return None


def speaker_matches(query: str, speaker: str) -> bool:
    """Case-insensitive match by full name, or by any single part ("Kritenbrink", "Lijian")."""
    q = query.strip().lower()
    s = speaker.lower()
    if not q:
        return False
    return q == s or q in s.split() or s in q.split() or (len(q) > 3 and q in s)
