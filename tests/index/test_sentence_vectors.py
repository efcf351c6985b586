"""Sentence vectors at index time (qa.index.sentences): every sentence an answer may cite has
the vector the model gives it, through updates, deletions and merges; a changed file is
caught by its checksum and a damaged vector by the exactness check; with the real model the
stored vectors are pooled from the chunks' own pass, a question embeds only itself, and a
chunk without stored vectors gets them pooled at question time: the same answers."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import HashEmbedder

from qa import Retriever, build_index
from qa.errors import IndexCorruptError
from qa.index import Index, file_name, part_path, read_manifest, verify
from qa.index.sentences import (
    FILE,
    MAX_DEVIATION,
    SentenceVectorError,
    SentenceVectors,
    cited_rows,
)

TULIPS = "---\ntitle: Tulips in Lisse\ndate: 2022-03-02\n---\nTulip growers in Lisse said " \
         "China bought more bulbs than Russia. \"The spring was kind,\" said Anna Berg.\n" \
         "Was it a good year?\n"


def _check_every_chunk(index: Path) -> int:
    """Each live chunk's stored sentence vectors are the embedder's (within the bound) for
    the sentences an answer may cite, and zeros for the others. Returns the vectors checked."""
    ix = Index.open(index)
    embedder = HashEmbedder()
    checked = 0
    for article in ix.articles():
        phrases = ix.phrases_of(article.id)
        for chunk in ix.chunks_of(article.id):
            found = ix.sentence_vectors(chunk.id)
            assert found is not None
            spans, vectors = found
            assert spans == chunk.sentences and len(vectors) == len(spans)
            cited = set(cited_rows(article.text, spans, phrases))
            for i, (s, e) in enumerate(spans):
                if i in cited:
                    want = embedder.encode([article.text[s:e]])[0]
                    assert np.linalg.norm(vectors[i] - want) <= MAX_DEVIATION
                    checked += 1
                else:
                    assert not vectors[i].any()
    return checked


def test_the_part_follows_updates_deletions_and_merges(seed_corpus, tmp_path):
    index = tmp_path / "ix"
    build_index(seed_corpus, index, embedder=HashEmbedder())
    assert _check_every_chunk(index) > 20
    (seed_corpus / "tulips.md").write_text(TULIPS, encoding="utf-8")  # a new segment
    files = sorted(seed_corpus.glob("2*.md"))
    files[0].unlink()  # a deletion
    files[1].write_text(files[1].read_text(encoding="utf-8") + "\nOne more sentence.\n",
                        encoding="utf-8")  # a change: deleted there, added here
    build_index(seed_corpus, index, embedder=HashEmbedder())
    assert len(read_manifest(index).segments) == 2
    _check_every_chunk(index)
    # The question sentence of the new article is never cited: not embedded.
    ix = Index.open(index)
    tulip_chunk = ix.chunks_of("tulips")[0]
    spans, vectors = ix.sentence_vectors(tulip_chunk.id)
    text = ix.article("tulips").text
    assert [bool(v.any()) for v in vectors] == [not text[s:e].endswith("?") for s, e in spans]
    build_index(seed_corpus, index, embedder=HashEmbedder(), optimize=True)  # a merge
    assert len(read_manifest(index).segments) == 1
    _check_every_chunk(index)
    assert verify(index) == []


def test_a_changed_file_is_caught_by_its_checksum(seed_index):
    path = part_path(seed_index, "sentences.vectors")
    data = bytearray(path.read_bytes())
    data[-3] ^= 0x40
    path.write_bytes(bytes(data))
    assert any(f"{file_name('sentences.vectors')} has changed" in p for p in verify(seed_index))
    with pytest.raises(IndexCorruptError, match="qa index --full"):
        Retriever.open(seed_index, embedder=HashEmbedder())


def test_the_exactness_check_refuses_a_damaged_vector(tmp_path):
    rng = np.random.default_rng(0)
    exact = rng.standard_normal((5, 384)).astype(np.float32)
    exact /= np.linalg.norm(exact, axis=1, keepdims=True)
    exact[2] = 0  # a sentence not embedded
    part = SentenceVectors.of(exact)
    # float16 keeps every vector within the bound; inner products move by at most that much.
    got = part.read(0, 5)
    assert float(np.linalg.norm(got - exact, axis=1).max()) <= MAX_DEVIATION
    q = exact[0]
    assert float(np.abs(got @ q - exact @ q).max()) <= MAX_DEVIATION
    with pytest.raises(SentenceVectorError):
        SentenceVectors.of(exact * 1.01)  # not unit vectors: an embedder that does not normalise
    folder = tmp_path / "seg"
    folder.mkdir()
    part.save(folder)
    raw = bytearray((folder / FILE).read_bytes())
    row_bytes = 384 * 2
    at = len(raw) - 2 * row_bytes + 10  # a component of row 3, its exponent's high bits
    raw[at + 1] ^= 0x30
    (folder / FILE).write_bytes(bytes(raw))
    loaded = SentenceVectors.load(folder, 5)
    assert np.array_equal(loaded.read(0, 3), got[:3])
    with pytest.raises(SentenceVectorError):
        loaded.read(3, 4)
    with pytest.raises(ValueError):
        SentenceVectors.load(folder, 6)  # other than the chunk table's sentence rows


def test_a_damaged_vector_is_an_index_error_naming_the_fix(seed_index, monkeypatch):
    from qa.index import sentences

    r = Retriever.open(seed_index, embedder=HashEmbedder())
    hit = r.search("Katrina Yu", k=1)[0]
    monkeypatch.setattr(sentences, "_check_rows", _always_bad)
    with pytest.raises(IndexCorruptError, match="qa index --full"):
        r.sentence_vectors(hit.chunk_id)


def _always_bad(rows: np.ndarray) -> None:
    raise SentenceVectorError("1 sentence vectors are not unit length")


def test_stored_vectors_are_pooled_from_the_chunks_pass(real_seed_index, tmp_path,
                                                        monkeypatch):
    """With the real model: each cited sentence's stored vector is the mean of its word
    pieces' states in its chunk's pass (qa.embed.pooling), as the query model computes it
    from the chunk's text; answering embeds nothing but the question; and an answer still
    comes, with exact citations, when the index holds no vector for a chunk."""
    import json

    from qa.answer import Assistant
    from qa.embed.chunk_input import embedding_input, spans_in_input

    index = tmp_path / "ix"
    shutil.copytree(real_seed_index, index)
    retriever = Retriever.open(index)
    ix = Index.open(index)
    query_model = retriever._embedder  # the torch-free export the index queries with
    checked = 0
    for article in ix.articles():
        for chunk in ix.chunks_of(article.id):
            found = ix.sentence_vectors(chunk.id)
            assert found is not None
            spans, stored = found
            text = embedding_input(article.title, article.text[chunk.start:chunk.end])
            _, pooled = query_model.encode_spans(
                [text], [spans_in_input(article.title, chunk.start, spans)])
            for row, vector in zip(pooled, stored.astype(np.float32)):
                if vector.any():
                    assert float(row @ vector) >= 0.999
                    checked += 1
    assert checked > 50

    root = Path(__file__).resolve().parents[2]
    questions = [json.loads(line)["question"] for line in
                 (root / "bench" / "sets" / "seeds.jsonl").read_text().splitlines() if line]
    encoded: list[int] = []
    real_encode = Retriever.encode

    def counting_encode(self, texts):
        encoded.append(len(texts))
        return real_encode(self, texts)

    def answers(assistant: Assistant) -> list:
        out = []
        for q in questions:
            a = assistant.ask(q)
            out.append((a.abstained, [(c.article_id, c.start, c.end) for c in a.citations],
                        a.confidence or 0.0))
        return out

    def same(a: list, b: list) -> bool:
        """The same citations and abstentions; confidences within float16's rounding."""
        return [x[:2] for x in a] == [y[:2] for y in b] and \
            all(abs(x[2] - y[2]) < 0.01 for x, y in zip(a, b))

    monkeypatch.setattr(Retriever, "encode", counting_encode)
    stored_answers = answers(Assistant(retriever))
    # Each search embeds its question, once, and nothing else is embedded.
    assert len(encoded) >= len(questions) and set(encoded) == {1}
    # Without stored vectors, the chunks' passes are run at question time: the same answers.
    pooled: list[int] = []
    real_pool = Retriever.chunk_sentence_vectors

    def counting_pool(self, *args):
        pooled.append(1)
        return real_pool(self, *args)

    monkeypatch.setattr(Retriever, "chunk_sentence_vectors", counting_pool)
    monkeypatch.setattr(Retriever, "sentence_vectors", lambda self, chunk_id: None)
    assert same(answers(Assistant(retriever)), stored_answers)
    assert len(pooled) >= 10  # chunks run through the model here (each once per generation)
