"""Index builds: round trip, incremental updates, full rebuilds, the lock, bad corpora."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import HashEmbedder

from qa import BuildLockedError, CorpusError, Retriever, build_index
from qa.index import (
    TMP_PREFIX,
    TRAINED_FILE,
    build_lock,
    claim_index_dir,
    file_key,
    manifest_path,
    part_path,
    read_manifest,
)

NEW_ARTICLE = """---
title: Lighthouse keepers vote to strike
date: 2022-02-10
outlet: Harbour Gazette
---

Lighthouse keepers along the northern coast voted on Tuesday to strike over unpaid overtime.
"We have kept the lamps burning for two winters without a raise," said union leader Marta Olsen.
The harbour authority said talks would resume next week.
"""


def test_round_trip_every_chunk_offset_is_exact(seed_corpus, tmp_path):
    report = build_index(seed_corpus, tmp_path / "ix", embedder=HashEmbedder())
    assert report.articles == 5 and len(report.added) == 5 and report.full
    r = Retriever.open(tmp_path / "ix", embedder=HashEmbedder())
    assert r.stats.articles == 5 and r.stats.chunks == report.chunks > 5
    for art in r.articles():
        chunks = r.chunks_of(art.id)
        assert chunks, art.id
        for ch in chunks:
            assert art.text[ch.start : ch.end] == ch.text
            for s, e in ch.sentences:
                assert ch.start <= s < e <= ch.end


def test_manifest_records_what_the_issue_asks(seed_index):
    m = read_manifest(seed_index)
    assert m.format_version == 7
    assert m.model.to_json() == {"name": "test-hash-64", "dim": 64, "normalized": True}
    assert m.tokenizer["lowercase"] is True and m.tokenizer["stopwords"]
    assert m.counts.articles == 5 and (m.counts.chunks or 0) > 5
    assert m.built_at and m.bm25["model"] == "rank_bm25.BM25Okapi"
    assert m.bm25["docs"] == m.counts.chunks and m.bm25["total_length"] > 0
    assert [s.chunks for s in m.segments] == [m.counts.chunks]
    # Per-article hashes live with the articles, in the segment.
    records = json.loads(part_path(seed_index, "texts.records").read_text())
    assert len(records["id"]) == 5 and all(len(h) == 64 for h in records["hash"])
    # Every file the manifest names has its size and checksum.
    assert set(m.files) == set(m.checksums)
    assert file_key(part_path(seed_index, "texts.texts")) in m.files
    # No pickle anywhere: every array file loads with allow_pickle=False.
    for f in seed_index.rglob("*.npy"):
        np.load(f, allow_pickle=False)


def test_adding_one_article_embeds_only_its_chunks(seed_corpus, tmp_path):
    index = tmp_path / "ix"
    build_index(seed_corpus, index, embedder=HashEmbedder())
    before = Retriever.open(index, embedder=HashEmbedder())
    old_vectors = {c.id: c.text for a in before.articles() for c in before.chunks_of(a.id)}

    (seed_corpus / "2022-02-10-lighthouse-strike.md").write_text(NEW_ARTICLE, encoding="utf-8")
    counting = HashEmbedder()
    report = build_index(seed_corpus, index, embedder=counting)
    assert report.added == ("2022-02-10-lighthouse-strike",)
    assert len(report.unchanged) == 5 and not report.changed and not report.removed
    after = Retriever.open(index, embedder=HashEmbedder())
    new_chunks = after.chunks_of("2022-02-10-lighthouse-strike")
    assert report.embedded_chunks == len(new_chunks) == counting.jobs[0]
    # Unchanged articles keep their chunk ids and texts.
    kept = {c.id: c.text for a in after.articles() for c in after.chunks_of(a.id)}
    assert {k: v for k, v in kept.items() if k in old_vectors} == old_vectors
    hits = after.search("lighthouse keepers strike overtime", k=1, mode="bm25")
    assert hits[0].article_id == "2022-02-10-lighthouse-strike"


def test_changed_and_removed_articles(seed_corpus, tmp_path):
    index = tmp_path / "ix"
    build_index(seed_corpus, index, embedder=HashEmbedder())
    files = sorted(seed_corpus.glob("*.md"))
    files[0].unlink()
    text = files[1].read_text(encoding="utf-8")
    files[1].write_text(text + "\nA closing sentence about lighthouses was added.\n", encoding="utf-8")
    counting = HashEmbedder()
    report = build_index(seed_corpus, index, embedder=counting)
    assert len(report.removed) == 1 and len(report.changed) == 1 and len(report.unchanged) == 3
    r = Retriever.open(index, embedder=HashEmbedder())
    assert r.stats.articles == 4
    assert counting.jobs[0] == len(r.chunks_of(report.changed[0]))
    assert all(h.article_id != report.removed[0] for h in r.search("China Russia NATO", k=50, mode="bm25"))


def test_unchanged_corpus_is_a_no_op_and_full_rebuilds(seed_corpus, tmp_path):
    index = tmp_path / "ix"
    build_index(seed_corpus, index, embedder=HashEmbedder())
    data = read_manifest(index).data
    counting = HashEmbedder()
    report = build_index(seed_corpus, index, embedder=counting)
    assert report.up_to_date and counting.calls == 0 and read_manifest(index).data == data
    report = build_index(seed_corpus, index, embedder=counting, full=True)
    assert report.full and report.embedded_chunks == report.chunks == counting.jobs[0]
    assert read_manifest(index).data != data


def test_incremental_equals_full_build(seed_corpus, tmp_path):
    """Reusing parts of the previous build must give the same index as building afresh."""
    build_index(seed_corpus, tmp_path / "inc", embedder=HashEmbedder())
    (seed_corpus / "2022-02-10-lighthouse-strike.md").write_text(NEW_ARTICLE, encoding="utf-8")
    sorted(seed_corpus.glob("2021*.md"))[0].unlink()
    build_index(seed_corpus, tmp_path / "inc", embedder=HashEmbedder())
    build_index(seed_corpus, tmp_path / "full", embedder=HashEmbedder())
    a = Retriever.open(tmp_path / "inc", embedder=HashEmbedder())
    b = Retriever.open(tmp_path / "full", embedder=HashEmbedder())
    for q in ("Who is Katrina Yu?", "lighthouse strike", "NATO Cold War mentality"):
        ha, hb = a.search(q, k=5), b.search(q, k=5)
        assert [(h.chunk_id, h.via) for h in ha] == [(h.chunk_id, h.via) for h in hb]
        assert np.allclose([h.score for h in ha], [h.score for h in hb])
    # Quotes of reused articles are copied as table rows, new ones extracted: same result.
    assert a.quotes() == b.quotes() and len(a.quotes()) > 5
    assert sorted(a.speakers()) == sorted(b.speakers())


def test_second_build_is_refused_clearly_while_one_runs(seed_corpus, tmp_path):
    index = tmp_path / "ix"
    claim_index_dir(index)  # the running build made the folder qa's
    with build_lock(index):
        with pytest.raises(BuildLockedError, match=r"Another build .* is running"):
            build_index(seed_corpus, index, embedder=HashEmbedder())
    build_index(seed_corpus, index, embedder=HashEmbedder())  # the lock is released


def test_empty_corpus_folder_is_a_clear_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(CorpusError, match="qa index"):
        build_index(tmp_path / "empty", tmp_path / "ix", embedder=HashEmbedder())
    with pytest.raises(CorpusError):
        build_index(tmp_path / "missing", tmp_path / "ix", embedder=HashEmbedder())


def test_unreadable_files_are_skipped_and_the_rest_indexed(seed_corpus, tmp_path):
    (seed_corpus / "empty.txt").write_bytes(b"")
    (seed_corpus / "binary.txt").write_bytes(b"\x00\x01\x02PNG\x00" * 50)
    (seed_corpus / "latin1.txt").write_bytes("Caf\xe9 cr\xe8me, na\xefve.".encode("latin-1"))
    (seed_corpus / "feed.jsonl").write_text(
        '{"id": "a1", "title": "Harbour news", "text": "The harbour reopened on Monday."}\n'
        "{not json\n", encoding="utf-8",
    )
    report = build_index(seed_corpus, tmp_path / "ix", embedder=HashEmbedder())
    reasons = {s.path: s.reason for s in report.skipped}
    assert {"empty.txt", "binary.txt", "latin1.txt"} <= set(reasons)
    assert any(p.startswith("feed.jsonl") and "line 2" in r for p, r in reasons.items())
    assert report.articles == 6  # five seeds + the good jsonl line


def test_a_corpus_with_only_bad_files_keeps_the_old_index(seed_corpus, tmp_path):
    index = tmp_path / "ix"
    build_index(seed_corpus, index, embedder=HashEmbedder())
    data = read_manifest(index).data
    for f in seed_corpus.glob("*.md"):
        f.write_bytes(b"\x00\x00")
    with pytest.raises(CorpusError, match="previous index"):
        build_index(seed_corpus, index, embedder=HashEmbedder())
    assert read_manifest(index).data == data
    assert Retriever.open(index, embedder=HashEmbedder()).search("Katrina Yu", k=1)


def test_a_failing_build_leaves_the_old_index_untouched(seed_corpus, tmp_path):
    index = tmp_path / "ix"
    build_index(seed_corpus, index, embedder=HashEmbedder())
    before = json.loads(manifest_path(index).read_text())

    class Exploding(HashEmbedder):
        def encode(self, texts, **kw):
            raise RuntimeError("disk full while embedding")

    (seed_corpus / "new.md").write_text(NEW_ARTICLE, encoding="utf-8")
    with pytest.raises(RuntimeError, match="disk full"):
        build_index(seed_corpus, index, embedder=Exploding())
    assert json.loads(manifest_path(index).read_text()) == before
    assert not [p for p in index.iterdir() if p.name.startswith(TMP_PREFIX)]
    hits = Retriever.open(index, embedder=HashEmbedder()).search("Katrina Yu", k=1)
    assert "Katrina Yu" in hits[0].text


def test_unchanged_files_are_not_parsed_again(seed_corpus, tmp_path, monkeypatch):
    import qa.corpus.ingest

    index = tmp_path / "ix"
    build_index(seed_corpus, index, embedder=HashEmbedder())
    (seed_corpus / "bad.txt").write_bytes(b"\x00\x01")
    (seed_corpus / "2022-02-10-lighthouse-strike.md").write_text(NEW_ARTICLE, encoding="utf-8")
    read = []
    real = qa.corpus.ingest.read_article_file
    monkeypatch.setattr(qa.corpus.ingest, "read_article_file", lambda p, r: read.append(p.name) or real(p, r))
    report = build_index(seed_corpus, index, embedder=HashEmbedder())
    assert sorted(read) == ["2022-02-10-lighthouse-strike.md", "bad.txt"]
    assert len(report.unchanged) == 5 and [s.path for s in report.skipped] == ["bad.txt"]
    read.clear()
    report = build_index(seed_corpus, index, embedder=HashEmbedder())
    assert read == ["bad.txt"]  # files that were skipped are read again, to report them again
    assert report.up_to_date and [s.path for s in report.skipped] == ["bad.txt"]


def test_new_tokenizer_settings_recount_bm25_but_reuse_the_vectors(seed_corpus, tmp_path, monkeypatch):
    import qa.build.builder
    import qa.search.retriever

    index = tmp_path / "ix"
    build_index(seed_corpus, index, embedder=HashEmbedder())
    changed = dict(qa.build.builder.TOKENIZER, version=999)
    monkeypatch.setattr(qa.build.builder, "TOKENIZER", changed)
    monkeypatch.setattr(qa.search.retriever, "TOKENIZER", changed)
    counting = HashEmbedder()
    report = build_index(seed_corpus, index, embedder=counting)
    assert counting.calls == 0 and not report.up_to_date and len(report.unchanged) == 5
    assert read_manifest(index).tokenizer["version"] == 999
    hits = Retriever.open(index, embedder=HashEmbedder()).search("Katrina Yu", k=1, mode="bm25")
    assert "Katrina Yu" in hits[0].text


def test_an_index_from_other_tokenizer_settings_names_the_fix(seed_index):
    m = json.loads(manifest_path(seed_index).read_text())
    m["tokenizer"]["stemmer"] = "none"
    manifest_path(seed_index).write_text(json.dumps(m))
    from qa import IndexMismatchError

    with pytest.raises(IndexMismatchError, match="qa index"):
        Retriever.open(seed_index, embedder=HashEmbedder())


def test_an_update_of_a_large_index_reuses_its_trained_quantizer(seed_corpus, tmp_path, monkeypatch):
    """Above the exact-search size, an update must not retrain the IVF quantizer (~90 s at
    1M chunks): the new segment's vectors join a copy of the trained one, removed chunks
    are left out of searches, and the trained centroids stay."""
    import faiss

    from qa.index import dense

    monkeypatch.setattr(dense, "ANN_THRESHOLD", 10)
    index = tmp_path / "ix"
    build_index(seed_corpus, index, embedder=HashEmbedder())
    first = read_manifest(index)
    assert first.dense["type"] == "IVF-SQ8" and first.dense["trained_chunks"] == first.counts.chunks
    trained = faiss.read_index(str(index / first.dense["trained"] / TRAINED_FILE))
    centroids = trained.quantizer.reconstruct_n(0, trained.nlist)

    (seed_corpus / "2022-02-10-lighthouse-strike.md").write_text(NEW_ARTICLE, encoding="utf-8")
    gone = sorted(seed_corpus.glob("2021*.md"))[0]
    gone.unlink()
    report = build_index(seed_corpus, index, embedder=HashEmbedder())
    second = read_manifest(index)
    assert report.added and report.removed and len(second.segments) == 2
    assert second.dense == first.dense
    assert second.segments[1].dense["trained"] == first.dense["trained"]
    updated = faiss.read_index(str(part_path(index, "dense.ivf", segment=1)))
    assert np.array_equal(updated.quantizer.reconstruct_n(0, updated.nlist), centroids)
    r = Retriever.open(index, embedder=HashEmbedder())
    new_chunks = r.chunks_of(report.added[0])
    assert updated.ntotal == len(new_chunks)
    hits = r.search(new_chunks[0].text, k=3, mode="dense")
    assert hits[0].article_id == report.added[0]
    everything = r.search("China Russia NATO lighthouse", k=100, mode="dense")
    assert all(h.article_id != report.removed[0] for h in everything)
    assert {h.chunk_id for h in everything} <= {c.id for a in r.articles() for c in r.chunks_of(a.id)}


def test_unchanged_files_are_taken_from_the_index_without_decoding_their_texts(seed_corpus, tmp_path):
    """An update leaves unchanged articles where they are; their text is decoded only if a
    build needs it (an article that must be chunked again)."""
    from qa.build.previous import PreviousFiles
    from qa.index import Index

    index = tmp_path / "ix"
    build_index(seed_corpus, index, embedder=HashEmbedder())
    prev = Index.open(index, for_search=False)
    known = PreviousFiles(prev)
    seg = prev.segments[0]
    rel = seg.articles[0]["path"]
    _, articles = known.get(rel)
    assert articles and all(a.text == "" for a in articles)
    full = known.with_its_text(articles[0])
    assert full.text == seg.texts[0] and full.hash == articles[0].hash


def test_an_impossible_date_is_indexed_unknown_and_named(tmp_path):
    """An article dated 9999-12-31 (or before 1800) is a mistake in its file: indexed with the
    date unknown, named in every build's report, and no date filter or relative date reads it."""
    from qa import Retriever
    from qa.types import DateRange

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, date, text in (("future", "9999-12-31", "The harbour reopened after the storm."),
                             ("ancient", "1700-01-01", "The bridge was closed for repairs."),
                             ("fine", "2021-03-04", "The harbour authority hired new pilots.")):
        (corpus / f"{name}.md").write_text(f"---\ntitle: {name}\ndate: {date}\n---\n{text}\n",
                                           encoding="utf-8")
    index = tmp_path / "ix"
    report = build_index(corpus, index, embedder=HashEmbedder())
    note = next(n for n in report.notes if "date unknown" in n)
    assert "future.md (9999-12-31)" in note and "ancient.md (1700-01-01)" in note
    assert "fine.md" not in note
    retriever = Retriever.open(index, embedder=HashEmbedder())
    dates = {a.path: a.date for a in retriever.articles()}
    assert dates == {"ancient.md": None, "fine.md": "2021-03-04", "future.md": None}
    assert retriever.latest_date == "2021-03-04"
    hits = retriever.search("harbour", k=5, dates=DateRange(since="2021-01-01"), mode="bm25")
    assert [h.article_id for h in hits] and all(h.date == "2021-03-04" for h in hits)
    again = build_index(corpus, index, embedder=HashEmbedder(), full=True)  # read again: said again
    assert any("future.md (9999-12-31)" in n for n in again.notes)
