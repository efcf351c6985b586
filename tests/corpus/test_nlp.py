"""The NLP pipeline (qa.corpus.nlp) and the phrases part it fills at index time (qa.index.phrases)."""

from __future__ import annotations

import os
import shutil
import sys

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


def test_the_check_hashes_once_and_refuses_a_file_changed_since(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    copy = tmp_path / "pipeline"
    shutil.copytree(nlp.pipeline_path(), copy)
    hashed = []
    real_sha256 = nlp.hashlib.sha256
    monkeypatch.setattr(nlp.hashlib, "sha256", lambda data: hashed.append(1) or real_sha256(data))
    assert nlp.check_pipeline(copy) == [] and len(hashed) == len(nlp.PIPELINE_FILES)
    hashed.clear()
    assert nlp.check_pipeline(copy) == [] and hashed == []  # recorded: nothing read again
    # Changed in place, same size, its modification time put back: the change time still moves.
    model = copy / "ner" / "model"
    before = model.stat()
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model.write_bytes(bytes(data))
    os.utime(model, ns=(before.st_atime_ns, before.st_mtime_ns))
    problems = nlp.check_pipeline(copy)
    assert len(problems) == 1 and "ner/model" in problems[0]
    assert hashed == [1]
    # Put right again, it is accepted (hashed, not trusted from the record).
    data[len(data) // 2] ^= 0xFF
    model.write_bytes(bytes(data))
    assert nlp.check_pipeline(copy) == []


def test_a_missing_or_unwritable_cache_only_means_hashing_again(tmp_path, monkeypatch):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache folder would be")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    assert nlp.check_pipeline() == []
    (tmp_path / "cache" / "qa").mkdir(parents=True)
    (tmp_path / "cache" / "qa" / nlp.CHECK_RECORD).write_text("{not json")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert nlp.check_pipeline() == []
    assert nlp.check_pipeline() == []


def test_torch_is_refused_only_to_the_thread_importing_spacy(tmp_path, monkeypatch):
    """thinc must not import torch while spaCy is imported; a query model loading on another
    thread at the same time may. Shown on a package of the test's own, which no other test
    can have imported already (a module in `sys.modules` is found there first)."""
    import importlib.util
    import threading

    package = tmp_path / "qa_refusal_probe"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "utils.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    elsewhere: list[object] = []
    with nlp._RefuseOnThisThread("qa_refusal_probe"):
        with pytest.raises(ImportError):
            importlib.util.find_spec("qa_refusal_probe")
        with pytest.raises(ImportError):
            importlib.import_module("qa_refusal_probe.utils")
        thread = threading.Thread(
            target=lambda: elsewhere.append(importlib.util.find_spec("qa_refusal_probe")))
        thread.start()
        thread.join()
    assert elsewhere and elsewhere[0] is not None
    assert importlib.util.find_spec("qa_refusal_probe") is not None
    sys.modules.pop("qa_refusal_probe", None)


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


def test_a_surname_standing_alone_is_the_person_the_article_names_in_full():
    # The recogniser reads "Hollis" alone as a people (NORP) or an organisation; the article
    # names "Mara Hollis" in full, so the subject of "defeated" is her. "moved to Hollis" and
    # "in Hollis" stay places.
    text = ("Senator Mara Hollis died on Monday. A decade later, in 2008, Hollis defeated the "
            "incumbent governor. The family moved to Hollis in 1990.")
    parsed = next(nlp.parse_texts([text]))
    recognised = {(offset + e.start_char, e.label_) for offset, doc in parsed.pieces
                  for e in doc.ents}
    assert (text.index("Hollis defeated"), "PERSON") not in recognised  # what is corrected
    phrases = nlp.phrases_of(parsed, "Senator dies", [(0, len(text))], text)
    labels = {(p.start, p.label) for p in phrases if p.label != "NP"}
    assert (text.index("Hollis defeated"), "PERSON") in labels
    assert (text.index("Hollis in 1990"), "PERSON") not in labels
    alone = "The family lived in Hollis, a small town. Hollis grew."
    parsed = next(nlp.parse_texts([alone]))
    assert all(p.label != "PERSON" for p in nlp.phrases_of(parsed, "", [(0, len(alone))], alone))
