"""Sentence splitting and chunking: exact offsets on tricky text, the seed corpus and random text."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa.corpus.chunking import chunk_article, chunk_id, split_sentences
from qa.corpus.ingest import load_corpus
from qa.types import Article

CORPUS = Path(__file__).resolve().parents[2] / "corpus"


def sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in split_sentences(text)]


def article(text: str, hash: str = "h" * 64) -> Article:
    return Article(
        id="a", title="t", date=None, source="", url=None, path="a.txt", text=text, hash=hash
    )


def assert_covers(text: str, spans: list[tuple[int, int]]) -> None:
    """Spans are trimmed, non-empty, in order, disjoint, and cover all non-whitespace."""
    pos = 0
    for start, end in spans:
        assert pos <= start < end <= len(text)
        assert not text[start].isspace() and not text[end - 1].isspace()
        assert text[pos:start].strip() == ""  # nothing but whitespace between spans
        pos = end
    assert text[pos:].strip() == ""


def test_abbreviation_before_a_title_does_not_split() -> None:
    text = (
        "In a call that day with U.S. Secretary of State Antony Blinken, Chinese Foreign "
        "Minister Wang Yi spoke. Mr. Xi agreed with Dr. Smith and Gen. Milley on Jan. 5."
    )
    assert sentences(text) == [
        "In a call that day with U.S. Secretary of State Antony Blinken, Chinese Foreign "
        "Minister Wang Yi spoke.",
        "Mr. Xi agreed with Dr. Smith and Gen. Milley on Jan. 5.",
    ]


def test_quote_ending_the_sentence_stays_with_it() -> None:
    text = (
        'Zhao Lijian said that "NATO should abandon the outdated Cold War mentality and '
        'ideological bias, and do things that are conducive to maintaining peace and stability." '
        "In a call that day, Wang Yi spoke."
    )
    got = sentences(text)
    assert got[0].endswith('peace and stability."')
    assert got[1] == "In a call that day, Wang Yi spoke."


def test_curly_quotes_brackets_question_and_exclamation() -> None:
    text = "He asked “why?” Then he left! (It was over.) 'Fine,' she said. “No.” Done"
    assert sentences(text) == [
        "He asked “why?”",
        "Then he left!",
        "(It was over.)",
        "'Fine,' she said.",
        "“No.”",
        "Done",
    ]


def test_decimals_initials_and_ellipses_do_not_split() -> None:
    text = "Growth was 3.5 percent, J. K. Rowling said . . . and then . . . more. Trade fell 1.2%."
    assert sentences(text) == [
        "Growth was 3.5 percent, J. K. Rowling said . . . and then . . . more.",
        "Trade fell 1.2%.",
    ]


def test_acronym_ends_a_sentence_before_a_usual_opener() -> None:
    assert sentences("Troops left the U.S. The talks resumed.") == [
        "Troops left the U.S.",
        "The talks resumed.",
    ]


def test_headings_and_paragraphs_are_boundaries() -> None:
    text = (
        "Xiaoming added this.\n\nRussia's security concerns should be addressed properly: China"
        "\n\nThe Chinese diplomat went on.\nChinese President Xi Jinping\nA new line"
    )
    assert sentences(text) == [
        "Xiaoming added this.",
        "Russia's security concerns should be addressed properly: China",
        "The Chinese diplomat went on.",
        "Chinese President Xi Jinping",
        "A new line",
    ]


def test_hard_wrapped_sentence_continues_on_a_lower_case_line() -> None:
    text = "The minister said that\nthe talks would go on. Next one."
    assert sentences(text) == ["The minister said that\nthe talks would go on.", "Next one."]


def test_empty_and_whitespace_text_have_no_sentences() -> None:
    assert split_sentences("") == []
    assert split_sentences(" \n\t\u00a0\n") == []
    assert chunk_article(article("")) == []


def test_chunks_respect_sizes_and_overlap() -> None:
    text = " ".join(f"Sentence number {i} has exactly seven words here." for i in range(100))
    chunks = chunk_article(article(text), target_words=30, max_words=40, overlap_sentences=1)
    assert len(chunks) > 5
    for before, after in zip(chunks, chunks[1:]):
        assert before.sentences[-1] == after.sentences[0]  # one sentence repeated
        assert after.start < before.end
    for c in chunks:
        assert c.text == text[c.start : c.end]
        assert 1 <= len(c.text.split()) <= 40
    assert chunks[-1].end == len(text)
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))


def test_no_overlap_when_asked() -> None:
    text = " ".join(f"Short sentence {i} here." for i in range(40))
    chunks = chunk_article(article(text), target_words=10, max_words=12, overlap_sentences=0)
    for before, after in zip(chunks, chunks[1:]):
        assert before.end < after.start


def test_a_long_sentence_without_punctuation_is_cut_at_whitespace() -> None:
    text = " ".join(f"w{i}" for i in range(10_000))
    chunks = chunk_article(article(text), target_words=150, max_words=200)
    assert len(chunks) == 50
    assert all(len(c.text.split()) == 200 for c in chunks)
    assert " ".join(c.text for c in chunks) == text


def test_chunk_ids_are_stable_positive_and_distinct() -> None:
    assert chunk_id("abc", 0) == chunk_id("abc", 0)
    ids = {chunk_id("abc", i) for i in range(1000)} | {chunk_id("abd", i) for i in range(1000)}
    assert len(ids) == 2000
    assert all(0 < i < 2**63 for i in ids)
    text = "One sentence here. Another one there."
    first = chunk_article(article(text, hash="1" * 64))
    again = chunk_article(article(text, hash="1" * 64))
    changed = chunk_article(article(text, hash="2" * 64))
    assert [c.id for c in first] == [c.id for c in again]
    assert first[0].id != changed[0].id


def test_bad_sizes_are_rejected() -> None:
    with pytest.raises(ValueError):
        chunk_article(article("x"), target_words=100, max_words=50)


def test_seed_corpus_offsets_are_exact() -> None:
    articles, skipped = load_corpus(CORPUS)
    assert len(articles) == 5 and skipped == []
    for a in articles:
        chunks = chunk_article(a)
        assert chunks
        covered = split_sentences(a.text)
        assert_covers(a.text, covered)
        for c in chunks:
            assert a.text[c.start : c.end] == c.text
            assert c.article_id == a.id
            assert len(c.text.split()) <= 200
            for s, e in c.sentences:
                assert c.start <= s < e <= c.end
                assert (s, e) in covered
        # Every sentence is in some chunk.
        in_chunks = {span for c in chunks for span in c.sentences}
        assert in_chunks == set(covered)


def test_a_large_article_is_fast_enough() -> None:
    paragraph = "Mr. Xi met Mr. Putin in Beijing on Feb. 4, 2022. They spoke for 3.5 hours! " * 20
    text = ("\n\n".join([paragraph] * 2000)).strip()  # about 6 MB
    spans = split_sentences(text)
    assert len(spans) == 2 * 20 * 2000
    chunks = chunk_article(article(text))
    assert chunks[-1].end == len(text)


# Text that exercises line ends, BOM, zero-width and combining characters, punctuation runs.
_TRICKY = st.sampled_from(
    [
        "\r\n", "\r", "\n", "\n\n", " ", "\t", "\u00a0", "\ufeff", "\u200b", "\u0301", ". ",
        "? ", "! ", "…", '." ', ".” ", "'", "(", ")", "Mr. ", "U.S. ", "3.5", "A", "z", "é",
        "Xi", "—", "\u2028", "\x0b",
    ]
)  # fmt: skip
_TEXT = st.lists(st.one_of(st.text(max_size=20), _TRICKY, st.just("word " * 30)), max_size=60).map(
    "".join
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=_TEXT, target=st.integers(1, 30), extra=st.integers(0, 20), overlap=st.integers(0, 3))
def test_offsets_hold_on_arbitrary_text(text: str, target: int, extra: int, overlap: int) -> None:
    spans = split_sentences(text)
    assert_covers(text, spans)
    chunks = chunk_article(
        article(text), target_words=target, max_words=target + extra, overlap_sentences=overlap
    )
    pos = 0
    for c in chunks:
        assert text[c.start : c.end] == c.text
        assert c.sentences and c.sentences[0][0] == c.start and c.sentences[-1][1] == c.end
        for s, e in c.sentences:
            assert c.start <= s < e <= c.end
        # Chunks move forward and leave no non-whitespace text out.
        assert text[pos : c.start].strip() == "" or c.start < pos
        pos = max(pos, c.end)
    assert text[pos:].strip() == ""
    assert bool(chunks) == bool(text.strip())
