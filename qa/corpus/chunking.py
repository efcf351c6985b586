"""Sentence splitting with exact offsets, and chunks of consecutive sentences.

Everything here works on character offsets into the article's stored text, so a citation can
always be checked with `text[start:end]`. The splitter is written by hand (no NLTK or spaCy data
to download) and runs in linear time, so a 50 MB article is fine.

Sentence boundaries, in order of strength:

* a paragraph break (a blank or whitespace-only line) always ends a sentence;
* a line break after a line with no final punctuation ends a sentence (headings such as
  "Security concerns should be addressed properly: the ministry"), unless the next line starts
  with a lower-case letter, which is how a hard-wrapped sentence continues;
* `.`, `!`, `?` or `…` (closing quotes and brackets stay with the sentence: `."`, `.”`, `?'`,
  `.)`), followed by whitespace and an upper-case letter, an opening quote or bracket, or a digit;
  except after common abbreviations ("Mr.", "Dr.", "Jan.", ...), single initials ("J.") and
  dotted acronyms ("U.S.", "U.N.", "a.m.") unless the next word is a typical sentence opener
  ("The", "He", ...). Decimals ("3.5") and ellipses inside a sentence ("wait . . . and") never
  split because no upper-case word follows the dot.

Chunks group consecutive sentences up to about `target_words` words, never more than `max_words`.
The one exception, and the only place a sentence is cut: a single sentence longer than
`max_words` (say 10,000 words with no punctuation) is cut at whitespace into pieces of at most
`max_words` words, and each piece then counts as a sentence of its chunk.
"""

from __future__ import annotations

import hashlib
import re

from qa.types import Article, Chunk, Span

__all__ = ["split_sentences", "chunk_article", "chunk_id"]

# Abbreviations after which a period does not end a sentence (compared lower-cased, without the
# period). "no" is handled apart: it is only an abbreviation before a number ("No. 10").
_ABBREVIATIONS = frozenset(
    """
    mr mrs ms mx dr prof st sr jr gen lt col maj capt cmdr adm sgt cpl pvt gov sen rep pres
    rev hon fr messrs mme mlle ave blvd rd mt ft vs etc al approx dept est fig vol ch pp
    jan feb mar apr jun jul aug sep sept oct nov dec inc corp ltd co bros univ
    """.split()
)

# After a dotted acronym ("U.S.") a sentence ends only if one of these words follows: "the U.S.
# Secretary of State" must stay whole, "troops left the U.S. The talks..." must not.
_SENTENCE_OPENERS = frozenset(
    """
    The This That These Those There Then He She It They We I You His Her Its Their Our My
    But And Yet So In On At As After Before When While If Although However Meanwhile Moreover
    A An Some Many Most Both All Each Such No Not Still Also Earlier Later
    """.split()
)

_CLOSERS = "\"'”’)]»"
_OPENERS = "\"'“‘([«"
_FINAL = ".!?…"

# A run of final punctuation, its closing quotes/brackets, then whitespace. The lookbehind makes
# a match start only at the first character of a punctuation run, which keeps a long run of dots
# from being rescanned at every position (that would be quadratic).
_CANDIDATE = re.compile(r"(?<![.!?…])[.!?…]+[\"'”’)\]»]*\s+")
_CLOSING_RUN = re.compile(r"[\"'”’)\]»]*\s+$")
_WORD = re.compile(r"\S+")


def split_sentences(text: str) -> list[Span]:
    """Split text into sentences and return their character spans.

    Args:
        text: Any text; line ends are expected as `\\n` (a `\\r` is treated as whitespace).

    Returns:
        `(start, end)` spans into `text`, in order, non-overlapping, trimmed of surrounding
        whitespace and never empty. Together they cover every non-whitespace character of
        `text`.
    """
    spans: list[Span] = []
    for seg_start, seg_end in _segments(text):
        start = seg_start
        for match in _CANDIDATE.finditer(text, seg_start, seg_end):
            after = match.end()
            if after >= seg_end or not _ends_sentence(text, match, seg_end):
                continue
            _append_trimmed(text, start, after, spans)
            start = after
        _append_trimmed(text, start, seg_end, spans)
    return spans


def _segments(text: str) -> list[Span]:
    """Cut text into runs of lines that may hold several sentences but never share one.

    A segment ends at a blank line, and at a line break after a line without final punctuation
    unless the next line starts in lower case (a hard-wrapped sentence).
    """
    segments: list[Span] = []
    seg_start = -1
    seg_end = -1
    prev_final = False  # the previous non-blank line ends with final punctuation
    pos = 0
    n = len(text)
    while pos <= n:
        nl = text.find("\n", pos)
        line_end = n if nl == -1 else nl
        first, last = trim_span(text, pos, line_end)
        if first < last:
            head = text[first]
            joins = seg_start >= 0 and (prev_final or head.islower())
            if joins:
                seg_end = last
            else:
                if seg_start >= 0:
                    segments.append((seg_start, seg_end))
                seg_start, seg_end = first, last
            prev_final = _ends_with_final(text, first, last)
        elif seg_start >= 0:  # a blank line closes the paragraph
            segments.append((seg_start, seg_end))
            seg_start = -1
        if nl == -1:
            break
        pos = nl + 1
    if seg_start >= 0:
        segments.append((seg_start, seg_end))
    return segments


def _ends_with_final(text: str, first: int, last: int) -> bool:
    """Whether `text[first:last]` ends with final punctuation, looking through closing quotes."""
    k = last
    while k > first and text[k - 1] in _CLOSERS:
        k -= 1
    return k > first and text[k - 1] in _FINAL


def _ends_sentence(text: str, match: re.Match[str], seg_end: int) -> bool:
    """Decide whether a punctuation run (`match`) really ends a sentence."""
    after = match.end()
    nxt = text[after]
    if nxt in _OPENERS:
        pass  # an opening quote or bracket starts a new sentence
    elif not (nxt.isupper() or nxt.isdigit()):
        return False
    punct = match.group()
    closing = _CLOSING_RUN.search(punct)
    marks = punct[: closing.start()] if closing else punct
    if marks != ".":
        return True  # "!", "?", "…", "..." (an ellipsis before a capital ends the sentence)
    token = _token_before(text, match.start())
    if not token:
        return True
    bare = token.lstrip(_OPENERS)
    low = bare.lower()
    if low in _ABBREVIATIONS:
        return False
    if low == "no":
        return not nxt.isdigit()
    if len(bare) == 1 and bare.isalpha():
        return False  # an initial: "J. Smith"
    if "." in bare and any(c.isalpha() for c in bare):
        # A dotted acronym ("U.S", "a.m"): ends a sentence only before a usual opener.
        word = _WORD.match(text, after, seg_end)
        next_word = word.group().strip(_OPENERS + _CLOSERS + ",;:") if word else ""
        return next_word in _SENTENCE_OPENERS
    return True


def _token_before(text: str, end: int) -> str:
    """The whitespace-delimited token that ends at `end` (bounded look-back)."""
    start = end
    limit = max(0, end - 40)
    while start > limit and not text[start - 1].isspace():
        start -= 1
    return text[start:end]


def trim_span(text: str, start: int, end: int) -> Span:
    """The span without the whitespace at its ends."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _append_trimmed(text: str, start: int, end: int, spans: list[Span]) -> None:
    start, end = trim_span(text, start, end)
    if start < end:
        spans.append((start, end))


def chunk_id(article_hash: str, ordinal: int) -> int:
    """A stable, positive 63-bit id for the `ordinal`-th chunk of an article.

    Args:
        article_hash: `Article.hash` (so the id changes when the article changes).
        ordinal: position of the chunk within the article.

    Returns:
        An int in `1 .. 2**63 - 1`, fit for FAISS int64 ids.
    """
    digest = hashlib.blake2b(f"{article_hash}:{ordinal}".encode(), digest_size=8).digest()
    value = int.from_bytes(digest, "big") & ((1 << 63) - 1)
    return value or 1  # 0 is not positive; one chance in 2**63


def _units(text: str, sentences: list[Span], max_words: int) -> list[tuple[int, int, int]]:
    """Sentences as (start, end, words); a sentence above `max_words` is cut at whitespace."""
    units: list[tuple[int, int, int]] = []
    for start, end in sentences:
        words = len(text[start:end].split())
        if words <= max_words:
            units.append((start, end, words))
            continue
        piece_start = -1
        piece_end = start
        count = 0
        for word in _WORD.finditer(text, start, end):
            if count == 0:
                piece_start = word.start()
            piece_end = word.end()
            count += 1
            if count == max_words:
                units.append((piece_start, piece_end, count))
                count = 0
        if count:
            units.append((piece_start, piece_end, count))
    return units


def chunk_article(
    article: Article,
    *,
    target_words: int = 150,
    max_words: int = 200,
    overlap_sentences: int = 1,
) -> list[Chunk]:
    """Group an article's sentences into overlapping chunks.

    Args:
        article: The article; offsets point into `article.text`.
        target_words: Stop adding sentences once a chunk has this many words.
        max_words: Never exceed this many words, unless a single sentence is longer (then it
            is cut into pieces of at most `max_words` words, see the module docstring).
        overlap_sentences: Sentences repeated from the end of the previous chunk (dropped when
            they would push the next chunk over `max_words`).

    Returns:
        Chunks in article order with `chunk.text == article.text[chunk.start:chunk.end]`;
        `[]` when the article has no text.

    Raises:
        ValueError: On nonsensical sizes (target or max below 1, max below target, negative
            overlap).
    """
    if target_words < 1 or max_words < target_words or overlap_sentences < 0:
        raise ValueError(
            "chunk sizes must satisfy 1 <= target_words <= max_words and overlap_sentences >= 0"
        )
    text = article.text
    units = _units(text, split_sentences(text), max_words)
    n = len(units)
    chunks: list[Chunk] = []
    i = 0
    fresh = 0  # index of the first unit not yet in any chunk
    while i < n:
        j = i
        words = 0
        while j < n:
            w = units[j][2]
            if j > i and words + w > max_words:
                break
            # Stop at the target only once the chunk holds something new, so an overlap is
            # never emitted on its own.
            if j > fresh and words >= target_words:
                break
            words += w
            j += 1
        start, end = units[i][0], units[j - 1][1]
        ordinal = len(chunks)
        chunks.append(
            Chunk(
                id=chunk_id(article.hash, ordinal),
                article_id=article.id,
                ordinal=ordinal,
                start=start,
                end=end,
                text=text[start:end],
                sentences=tuple((u[0], u[1]) for u in units[i:j]),
            )
        )
        if j >= n:
            break
        fresh = j
        nxt = max(j - overlap_sentences, i + 1)
        # Drop overlap sentences that would leave no room for the next new sentence.
        overlap_words = sum(u[2] for u in units[nxt:j])
        while nxt < j and overlap_words + units[j][2] > max_words:
            overlap_words -= units[nxt][2]
            nxt += 1
        i = nxt
    return chunks
