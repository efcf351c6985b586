"""Sentence vectors pooled from a chunk's own pass (qa.embed.pooling): the mean of a span's
word-piece states, the same on every runtime, and zero beyond a truncated text's end."""

from __future__ import annotations

import numpy as np
import pytest

from qa.embed.pooling import SpanEmbedder, pool_spans

MODEL = "all-MiniLM-L6-v2"


def test_a_span_is_the_unit_mean_of_the_word_pieces_it_overlaps() -> None:
    states = np.array([[9, 9], [1, 0], [3, 0], [0, 2], [9, 9]], np.float32)
    # [CLS] "ab" "cd" "ef" [SEP]: special tokens have empty offsets and never count.
    offsets = [(0, 0), (0, 2), (2, 4), (5, 7), (0, 0)]
    pooled = pool_spans(states, offsets, [(0, 4), (3, 6), (5, 7), (8, 9), (4, 5)])
    np.testing.assert_allclose(pooled[0], [1, 0])  # mean (2, 0), normalised
    np.testing.assert_allclose(pooled[1], np.array([3, 2]) / np.hypot(3, 2))  # "cd" and "ef"
    np.testing.assert_allclose(pooled[2], [0, 1])
    assert not pooled[3].any()  # past the last word piece: nothing to pool
    assert not pooled[4].any()  # the space between two word pieces
    assert pool_spans(states, offsets, []).shape == (0, 2)


@pytest.fixture(scope="module")
def chunk() -> tuple[str, list[tuple[int, int]]]:
    title = "Harbour strike ends"
    body = ("Dock workers in the port returned to work on Monday. The union said the deal "
            "raised pay by 4% a year. \"We got what we asked for,\" said its leader. " * 14)
    text = f"{title}\n{body}"
    spans, at = [], len(title) + 1
    for sentence in body.split(". "):
        spans.append((at, at + len(sentence)))
        at += len(sentence) + 2
    return text, spans


@pytest.mark.integration
@pytest.mark.parametrize("backend", ["onnx", "openvino"])
def test_every_runtime_pools_as_sentence_transformers_does(backend, chunk) -> None:
    from qa.embed.embedder import runtime_embedder

    text, spans = chunk
    reference = runtime_embedder(MODEL, "torch")
    embedder = runtime_embedder(MODEL, backend)
    assert isinstance(reference, SpanEmbedder) and isinstance(embedder, SpanEmbedder)
    texts = [text, "No spans here.", text[:200]]
    asked = [spans, [], [s for s in spans if s[1] <= 200]]
    want_vectors, want = reference.encode_spans(texts, asked)
    vectors, got = embedder.encode_spans(texts, asked, batch_size=2)

    assert got.shape == want.shape == (sum(len(s) for s in asked), 384)
    np.testing.assert_allclose(vectors, embedder.encode(texts), atol=1e-5)
    assert float((vectors * want_vectors).sum(axis=1).min()) >= 0.999
    covered = want.any(axis=1)
    assert (got.any(axis=1) == covered).all()
    assert float((got[covered] * want[covered]).sum(axis=1).min()) >= 0.999
    # The chunk is ~560 word pieces: the model reads 256, so its later sentences have no
    # state to pool (the build embeds those on their own); the first ones all do.
    first = want[: len(spans)]
    assert first[:5].any(axis=1).all() and not first[-5:].any()
    # A sentence's vector knows its chunk: it is not the vector of the sentence alone,
    # though related to it.
    alone = reference.encode([text[a:b] for a, b in spans[:3]])
    cosines = (alone * first[:3]).sum(axis=1)
    assert (cosines < 0.99).all() and (cosines > 0.3).all(), cosines


@pytest.mark.integration
def test_word_piece_offsets_are_python_string_offsets() -> None:
    """Pooling reads each word piece's (start, end) as indices into the Python string: so they
    must be characters, not bytes, after accents, CJK, emoji and a dotted capital I."""
    import unicodedata

    from qa.embed.embedder import runtime_embedder

    embedder = runtime_embedder(MODEL, "onnx")
    embedder.load()
    text = "Zürich café 東京都 😀 İstanbul naïve. The mayor said roads were closed."
    encoding = embedder._tokenizer.encode(text)
    start = text.index("The mayor")
    after = [(token, text[a:b]) for token, (a, b) in zip(encoding.tokens, encoding.offsets)
             if a >= start and b > a]
    assert after[:3] == [("the", "The"), ("mayor", "mayor"), ("said", "said")]
    for token, (a, b) in zip(encoding.tokens, encoding.offsets):
        if b > a and token != "[UNK]":
            plain = "".join(ch for ch in unicodedata.normalize("NFD", text[a:b].lower())
                            if not unicodedata.combining(ch))
            assert plain == token.removeprefix("##"), (token, text[a:b])
