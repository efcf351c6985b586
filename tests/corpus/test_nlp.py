"""The NLP pipeline (qa.corpus.nlp) and the phrases part it fills at index time (qa.index.phrases)."""

from __future__ import annotations

import shutil

import pytest

from qa.corpus import nlp
from qa.index import Index
from qa.types import ENTITY_LABELS, PHRASE_LABELS
from tests.conftest import HashEmbedder

ARTICLE = """---
title: Harbour strike ends after nine days
date: 2024-05-02
---
Harbour strike ends after nine days

By Staff Reporter

The dockworkers of Port Elm ended their strike on Thursday after nine days, the union said.

Maria Okafor, who leads the Elm Dockworkers Union, said 1,200 members voted to accept a 4% pay rise.

Will the port recover its lost trade?

Shipping companies had diverted 30 vessels to Northgate during the strike.
"""


def test_the_pinned_pipeline_is_installed_and_loads_offline():
    assert nlp.check_pipeline() == []
    pipeline = nlp.load_pipeline()
    assert pipeline.meta["version"] == nlp.PIPELINE_VERSION
    assert "lemmatizer" not in pipeline.pipe_names and "ner" in pipeline.pipe_names


def test_a_changed_pipeline_file_is_refused(tmp_path):
    copy = tmp_path / "pipeline"
    shutil.copytree(nlp.pipeline_path(), copy)
    (copy / "ner" / "model").write_bytes(b"not the model")
    problems = nlp.check_pipeline(copy)
    assert len(problems) == 1 and "ner/model" in problems[0]


def test_question_parse_finds_entities_and_the_wh_word():
    doc = nlp.parse_question("Who succeeded the mayor of Port Elm in 2019?")
    assert {(e.text, e.label_) for e in doc.ents} >= {("2019", "DATE")}
    assert doc[0].tag_ == "WP"


def test_long_texts_are_cut_into_pieces_with_exact_offsets():
    text = ("A sentence about the harbour. " * 50 + "\n\n") * 40
    pieces = nlp.pieces_of(text, limit=2_000)
    assert len(pieces) > 1 and all(len(p) <= 2_000 for _, p in pieces)
    assert "".join(p for _, p in pieces) == text
    assert all(text[o:o + len(p)] == p for o, p in pieces)


@pytest.fixture
def strike_index(tmp_path, make_index):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "strike.md").write_text(ARTICLE, encoding="utf-8")
    return make_index(corpus)


def test_phrases_are_exact_spans_with_entities_noun_phrases_and_roles(strike_index):
    index = Index.open(strike_index)
    article = index.articles()[0]
    phrases = index.phrases_of(article.id)
    assert phrases and all(p.label in PHRASE_LABELS for p in phrases)
    assert all(0 <= p.start < p.end <= len(article.text) for p in phrases)
    found = {(article.text[p.start:p.end], p.label) for p in phrases}
    assert ("Maria Okafor", "PERSON") in found
    assert ("4%", "PERCENT") in found
    assert any(label == "NP" and "pay rise" in text for text, label in found)
    roles = {article.text[p.start:p.end].strip(): p.label for p in phrases
             if p.label in ("QUESTION", "HEADLINE", "FRAGMENT")}
    assert roles.get("Will the port recover its lost trade?") == "QUESTION"
    assert roles.get("By Staff Reporter") == "FRAGMENT"
    # Sentences that state something are not marked.
    assert not any("voted to accept" in text for text in roles)
    assert sum(p.label in ENTITY_LABELS for p in phrases) >= 5


def test_phrases_survive_updates_and_merges(tmp_path, seed_corpus):
    from qa import build_index

    embedder = HashEmbedder()
    once = tmp_path / "once"
    build_index(seed_corpus, once, embedder=embedder)
    files = sorted(seed_corpus.iterdir())
    stepwise = tmp_path / "steps"
    partial = tmp_path / "partial"
    partial.mkdir()
    for f in files:  # one segment per article, then merged into one
        shutil.copy(f, partial / f.name)
        build_index(partial, stepwise, embedder=embedder)
    segmented = Index.open(stepwise)
    assert len(segmented.segments) > 1
    build_index(partial, stepwise, embedder=embedder, optimize=True)
    merged, whole = Index.open(stepwise), Index.open(once)
    assert len(merged.segments) == 1
    for article in whole.articles():
        assert segmented.phrases_of(article.id) == whole.phrases_of(article.id)
        assert merged.phrases_of(article.id) == whole.phrases_of(article.id)


def test_a_large_build_parses_in_worker_processes_with_the_same_result(tmp_path, seed_corpus,
                                                                         monkeypatch):
    from qa import build_index
    from qa.build import analysis

    here = tmp_path / "here"
    build_index(seed_corpus, here, embedder=HashEmbedder())
    monkeypatch.setattr(analysis, "BACKGROUND_CHARS", 0)
    monkeypatch.setattr(analysis, "TASK_ARTICLES", 2)  # several tasks, results in order
    started = []
    real = analysis.ProcessPoolExecutor
    monkeypatch.setattr(analysis, "ProcessPoolExecutor",
                        lambda *a, **k: started.append(1) or real(*a, **k))
    workers = tmp_path / "workers"
    build_index(seed_corpus, workers, embedder=HashEmbedder())
    assert started
    a, b = Index.open(here), Index.open(workers)
    for article in a.articles():
        assert a.phrases_of(article.id) == b.phrases_of(article.id)
        assert a.quotes_of_article(article.id).row.tolist() == \
            b.quotes_of_article(article.id).row.tolist()
