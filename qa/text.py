"""Rules for text: the tokenizer, and what of an article may reach a terminal.

The tokenizer is shared by BM25 (index and query) and lexical sentence scoring. Its settings
are recorded in the index manifest (`TOKENIZER`) and checked on load, so the words a query is
split into are always the words the index was built from.

`terminal_safe` is the one escaping rule for article text and file names printed to a terminal.
"""

from __future__ import annotations

import re
import threading
import unicodedata

TOKENIZER_VERSION = 2

# A compact English stop-word list (the usual function words). Kept small on purpose:
# content words such as "said", "war" or "call" carry meaning in news questions.
STOPWORDS: frozenset[str] = frozenset(
    """
    a about above after again against all am an and any are aren't as at be because been before
    being below between both but by can can't cannot could couldn't did didn't do does doesn't
    doing don't down during each few for from further had hadn't has hasn't have haven't having
    he he'd he'll he's her here here's hers herself him himself his how how's i i'd i'll i'm
    i've if in into is isn't it it's its itself let's me more most mustn't my myself no nor not
    of off on once only or other ought our ours ourselves out over own same shan't she she'd
    she'll she's should shouldn't so some such than that that's the their theirs them themselves
    then there there's these they they'd they'll they're they've this those through to too under
    until up very was wasn't we we'd we'll we're we've were weren't what what's when when's where
    where's which while who who's whom why why's with won't would wouldn't you you'd you'll
    you're you've your yours yourself yourselves also just will shall may might must s t
    """.split()
)

TOKENIZER: dict[str, object] = {
    "version": TOKENIZER_VERSION,
    "lowercase": True,
    "unicode_normalization": "NFKC",
    "pattern": r"\w+(?:['’]\w+)*",
    "strip_possessive": True,
    "stopwords": "qa-english-v1",
    "stopword_count": len(STOPWORDS),
    "stemmer": "snowball-english (PyStemmer)",
}

_WORD = re.compile(r"\w+(?:['’]\w+)*")


def tokenize(text: str) -> list[str]:
    """Split text into lower-cased content words.

    Args:
        text: any text (an article chunk, a question).

    Returns:
        Tokens in order, with stop-words and possessive endings removed
        ("EFB's" -> "efb"); repeated words are kept (BM25 counts them).
    """
    words = _WORD.findall(unicodedata.normalize("NFKC", text).lower().replace("’", "'"))
    words = [w[:-2] if w.endswith("'s") else w for w in words]
    return [w for w in words if w and w not in STOPWORDS and ("_" not in w or w.strip("_"))]


_local = threading.local()


def _stemmer():
    # PyStemmer objects are not thread-safe: one per thread (the chat searches in workers).
    stemmer = getattr(_local, "stemmer", None)
    if stemmer is None:
        import Stemmer  # PyStemmer: Snowball in C, ~1M words/s

        stemmer = _local.stemmer = Stemmer.Stemmer("english")
    return stemmer


def terms(text: str) -> list[str]:
    """BM25 terms: `tokenize`, then Snowball-stemmed ("sanctions" -> "sanction").

    Stemming lifted BM25 nDCG@10 on SciFact from 0.655 to 0.687 (docs/benchmarks.md).
    The index and every query use this same function; the manifest records its settings.
    """
    return _stemmer().stemWords(tokenize(text))


def term_set(text: str) -> frozenset[str]:
    """The set of `terms(text)` (each word stemmed once, however often it occurs)."""
    return frozenset(_stemmer().stemWords(list(set(tokenize(text)))))


def fold_accents(word: str) -> str:
    """A word without its accents ("nordvík" -> "nordvik")."""
    if word.isascii():
        return word
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def folded_terms(text: str) -> list[str]:
    """`terms` with accents folded from each word before it is stemmed: what a question's
    names are matched on ("Nordvík" finds "Nordvik")."""
    return _stemmer().stemWords([fold_accents(w) for w in tokenize(text)])


def folded_term_set(text: str) -> frozenset[str]:
    """The set of `folded_terms(text)`."""
    return frozenset(_stemmer().stemWords([fold_accents(w) for w in set(tokenize(text))]))


def matching_words(text: str, query: str) -> list[tuple[int, int]]:
    """Where `text` has a word that BM25 matches with a word of `query`: the words of the
    tokenizer's pattern whose term (`terms`: stop-words out, stemmed) is one of the query's.

    Returns:
        (start, end) character offsets into `text`, in order ("sanctioned" for "sanctions").
    """
    wanted = set(terms(query))
    if not wanted:
        return []
    return [m.span() for m in _WORD.finditer(text) if wanted.intersection(terms(m.group()))]


def stem(word: str) -> str:
    """One word's Snowball stem, as `terms` stems it (lower-case the word first)."""
    return str(_stemmer().stemWord(word))


# --- text for a terminal -------------------------------------------------------------------
# Characters an article or a file name must never send to a terminal: C0 controls (ESC starts
# escape sequences that recolour, retitle or clear the screen; CR overwrites a line), DEL, C1
# controls (U+009B is a one-character CSI), lone surrogates (they cannot be encoded, so
# printing them fails), and the bidi overrides, isolates and marks that reorder what is shown
# ("Trojan Source", CVE-2021-42574: U+202A-U+202E, U+2066-U+2069, U+200E, U+200F, U+061C).
TERMINAL_UNSAFE = re.compile(
    "\r\n|[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029"
    "\ud800-\udfff]"
)
_LINE_BREAKS = frozenset(("\r\n", "\n", "\r", "\x0b", "\x0c", "\x85", "\u2028", "\u2029"))


def terminal_safe(text: str, *, multiline: bool = False) -> str:
    """Untrusted text (article text, a title, a file name) made safe to print to a terminal.

    The one rule every string from an article or a file name goes through before the CLI
    prints it: control characters (ESC, CSI, BEL, CR, DEL, ...) and bidi overrides, isolates
    and marks are removed, a tab becomes a space, a lone surrogate becomes U+FFFD, and a line
    break (LF, CRLF, CR, VT, FF, NEL, U+2028/U+2029) becomes a space inside a field, so a
    title or a path never starts a line of its own.

    Args:
        text: the text to print.
        multiline: keep line breaks (as `\\n`), for bodies of text such as an answer.

    Returns:
        The text with nothing a terminal would interpret; printable characters, markup
        (`[bold]`, `<b>`) included, are left as they are.
    """

    def replace(m: re.Match[str]) -> str:
        ch = m.group()
        if ch in _LINE_BREAKS:
            return "\n" if multiline else " "
        if ch == "\t":
            return " "
        if "\ud800" <= ch <= "\udfff":
            return "\ufffd"
        return ""

    return TERMINAL_UNSAFE.sub(replace, text)
