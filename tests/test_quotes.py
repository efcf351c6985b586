import random

import pytest

from qa.chunking import split_sentences
from qa.ingest import load_corpus
from qa.quotes import extract_quotes, find_speaker
from qa.types import Article
from tests.conftest import SEED_CORPUS


@pytest.fixture(scope="module")
def seed_quotes():
    articles, _skipped = load_corpus(SEED_CORPUS)
    out = {}
    for a in articles:
        out[a.id] = (a, extract_quotes(a, split_sentences(a.text)))
    return out


def _by(seed_quotes, speaker):
    return [q for a, qs in seed_quotes.values() for q in qs if q.speaker == speaker]


def test_every_quote_is_an_exact_span(seed_quotes):
    for a, qs in seed_quotes.values():
        for q in qs:
            assert a.text[q.start:q.end] == q.text
            assert q.sentence[0] <= q.start and q.end <= q.sentence[1]


def test_said_after_quote_and_role_before_name(seed_quotes):
    texts = " ".join(q.text for q in _by(seed_quotes, "Daniel Kritenbrink"))
    assert "The meeting should have provided China the opportunity" in texts
    assert "Beijing could have played a role" in texts  # "… official Daniel Kritenbrink stated that"


def test_pronoun_and_short_name_resolve_to_the_full_name(seed_quotes):
    texts = " ".join(q.text for q in _by(seed_quotes, "Liu Xiaoming"))
    assert "China firmly believes" in texts  # "…," he wrote on Twitter
    assert "The current situation is not what we want to see" in texts  # "…," Xiaoming added
    zhao = " ".join(q.text for q in _by(seed_quotes, "Zhao Lijian"))
    assert "lord it over the world" in zhao  # "…," he told reporters (after "spokesman Zhao Lijian")
    assert "NATO should abandon" in zhao


def test_continued_quote_and_caption_attribution(seed_quotes):
    yu = " ".join(q.text for q in _by(seed_quotes, "Katrina Yu"))
    assert "neutral role" in yu and "refused to take sides" in yu
    xi = " ".join(q.text for q in _by(seed_quotes, "Xi Jinping"))
    assert "joint actions" in xi


def test_scare_quotes_are_not_quotes(seed_quotes):
    all_texts = [q.text for _, qs in seed_quotes.values() for q in qs]
    assert "fundamental points" not in all_texts


@pytest.mark.parametrize("text", [
    "", "\"", "“unclosed", "\"\"\"\"", "said said said", "[bold]x[/] <script>alert(1)</script>",
    "He said.", "“a” “b” ” “", "\n\n\"x,\" he said\n",
])
def test_odd_text_never_raises(text):
    a = Article("x", "t", None, "", None, "x", text, "h")
    for q in extract_quotes(a, split_sentences(text)):
        assert text[q.start:q.end] == q.text


def test_random_text_never_raises():
    rng = random.Random(3)
    alphabet = "ab C D\"“”‘’,.;:!? \nsaid told he Xi wrote"
    for _ in range(200):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 300)))
        a = Article("x", "t", None, "", None, "x", text, "h")
        for q in extract_quotes(a, split_sentences(text)):
            assert text[q.start:q.end] == q.text


@pytest.mark.parametrize("question, speaker", [
    ("What did Kritenbrink say about the meeting?", "Kritenbrink"),
    ("What did Zhao Lijian say about NATO?", "Zhao Lijian"),
    ("What has Wang Yi said?", "Wang Yi"),
    ("Who is Katrina Yu?", None),
    ("What did he say?", None),
])
def test_find_speaker(question, speaker):
    assert find_speaker(question) == speaker
