"""Segments: an update writes only what changed, and a segmented index answers exactly as the
same corpus built in one go (ids, order, scores); merges (size-tiered, and --optimize)
change nothing a user sees."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
from conftest import HashEmbedder

from qa import Retriever, build_index
from qa.cli import main
from qa.index import Index, file_name, part_path, read_manifest, segment_folders
from qa.types import DateRange

QUERIES = ["Who is Katrina Yu?", "What did Zhao Lijian say NATO should abandon?",
           "tulip growers Lisse", "China Russia sanctions Ukraine", "video call"]
TULIPS = "---\ntitle: Tulips in Lisse\ndate: 2022-03-02\n---\nTulip growers in Lisse said " \
         "China bought more bulbs than Russia. \"The spring was kind,\" said Anna Berg.\n"


def _results(index: Path) -> dict:
    r = Retriever.open(index, embedder=HashEmbedder())
    out: dict = {}
    for q in QUERIES:
        for mode in ("bm25", "dense", "hybrid"):
            out[q, mode] = [(h.chunk_id, h.score, h.via, h.text) for h in r.search(q, k=8, mode=mode)]
        out[q, "dated"] = [(h.chunk_id, h.score) for h in
                           r.search(q, k=8, dates=DateRange("2022-02-01", "2022-03-31"))]
    out["articles"] = [(a.id, a.text) for a in r.articles()]
    out["chunks"] = {a.id: r.chunks_of(a.id) for a in r.articles()}
    out["quotes"] = r.quotes()
    out["speakers"] = r.speakers()
    out["zhao"] = r.quotes_by(["Zhao Lijian"], query="NATO Cold War", limit=1)
    out["latest"] = r.latest_date
    out["stats"] = (r.stats.articles, r.stats.chunks)
    return out


def _one_go(corpus: Path, tmp_path: Path, name: str = "one") -> Path:
    copy = tmp_path / f"{name}-corpus"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(corpus, copy)
    index = tmp_path / name
    shutil.rmtree(index, ignore_errors=True)
    build_index(copy, index, embedder=HashEmbedder())
    assert len(read_manifest(index).segments) == 1
    return index


def _updates(corpus: Path, index: Path) -> None:
    """Added, changed and removed articles, one build each."""
    files = sorted(corpus.glob("*.md"))
    (corpus / "tulips.md").write_text(TULIPS)
    build_index(corpus, index, embedder=HashEmbedder())
    files[0].write_text(files[0].read_text() + "\nNATO and China met again in Lisse.\n")
    build_index(corpus, index, embedder=HashEmbedder())
    files[2].unlink()
    build_index(corpus, index, embedder=HashEmbedder())
    (corpus / "bulbs.md").write_text(TULIPS.replace("Tulips in Lisse", "Bulb prices")
                                     .replace("Anna Berg", "Piet Smit"))
    build_index(corpus, index, embedder=HashEmbedder())


def test_a_segmented_index_answers_exactly_as_one_built_in_one_go(seed_corpus, tmp_path):
    index = tmp_path / "ix"
    build_index(seed_corpus, index, embedder=HashEmbedder())
    _updates(seed_corpus, index)
    m = read_manifest(index)
    assert len(m.segments) == 4 and sum(s.deleted_chunks for s in m.segments) > 0
    segmented, one = _results(index), _results(_one_go(seed_corpus, tmp_path))
    for key in one:
        assert segmented[key] == one[key], key  # ids, order and scores, to the bit


def test_an_update_writes_one_segment_and_leaves_the_others_as_they_were(seed_corpus, tmp_path):
    index = tmp_path / "ix"
    build_index(seed_corpus, index, embedder=HashEmbedder())
    old = segment_folders(index)[0]
    digest = {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in old.iterdir()}
    changed = sorted(seed_corpus.glob("*.md"))[1]
    changed.write_text(changed.read_text() + "\nOne more sentence about tulips.\n")
    (seed_corpus / "tulips.md").write_text(TULIPS)
    counting = HashEmbedder()
    report = build_index(seed_corpus, index, embedder=counting)
    m = read_manifest(index)
    assert m.segments[0].name == old.name and len(m.segments) == 2
    assert {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in old.iterdir()} == digest
    ids = json.loads(part_path(index, "texts.records", segment=1).read_text())["id"]
    assert sorted(ids) == sorted([*report.added, *report.changed])
    assert m.segments[1].chunks == counting.jobs[0]  # only the new segment was embedded
    # The changed article's old chunks are the first segment's deletions.
    ix = Index.open(index)
    assert m.segments[0].deleted_chunks == len(ix.deleted[0]) > 0
    assert set(ix.deleted[0].tolist()) <= set(np.asarray(ix.segments[0].chunks.ids).tolist())
    assert ix.n_chunks == m.bm25["docs"] == m.counts.chunks


def test_an_update_reads_nothing_big_of_the_segments_it_keeps(seed_corpus, tmp_path, monkeypatch):
    """What an update costs must not grow with the index: the vectors, postings and quotes
    of unchanged segments are never read (only their article records and, for a deleted
    article, its own chunks and text)."""
    import qa.index.diskarray as diskarray

    index = tmp_path / "ix"
    build_index(seed_corpus, index, embedder=HashEmbedder())
    old = segment_folders(index)[0]
    opened: list[str] = []
    real_load, real_pread = np.load, diskarray.PreadFile.__init__

    def load(file, *a, **kw):
        opened.append(Path(file).name if Path(str(file)).parent == old else "")
        return real_load(file, *a, **kw)

    def pread_init(self, path, *a, **kw):
        opened.append(Path(path).name if Path(path).parent == old else "")
        real_pread(self, path, *a, **kw)

    monkeypatch.setattr(np, "load", load)
    monkeypatch.setattr(diskarray.PreadFile, "__init__", pread_init)
    (seed_corpus / "tulips.md").write_text(TULIPS)
    build_index(seed_corpus, index, embedder=HashEmbedder())
    touched = set(opened) - {""}
    assert touched == set(), touched
    opened.clear()
    sorted(seed_corpus.glob("2021*.md"))[0].unlink()  # a deletion reads that article's chunks
    build_index(seed_corpus, index, embedder=HashEmbedder())
    touched = set(opened) - {""}
    big = {file_name(h) for h in ("dense.vectors", "bm25.docs", "bm25.codes", "quotes.spans")}
    assert not touched & big, touched


def test_size_tiered_merges_keep_the_segment_count_small_and_the_answers(seed_corpus, tmp_path,
                                                                       monkeypatch):
    from qa.index import writer

    monkeypatch.setattr(writer, "SEGMENTS_PER_TIER", 3)
    index = tmp_path / "ix"
    build_index(seed_corpus, index, embedder=HashEmbedder())
    counts = []
    for i in range(7):
        (seed_corpus / f"note-{i}.md").write_text(
            f"---\ntitle: Note {i}\n---\nA short note {i} on tulips and NATO.\n")
        build_index(seed_corpus, index, embedder=HashEmbedder())
        counts.append(len(read_manifest(index).segments))
    assert max(counts) <= 4 and counts != sorted(counts)  # tiers filled, then merged
    assert _results(index) == _results(_one_go(seed_corpus, tmp_path))


def test_optimize_merges_every_segment_into_one(seed_corpus, tmp_path):
    index = tmp_path / "ix"
    build_index(seed_corpus, index, embedder=HashEmbedder())
    _updates(seed_corpus, index)
    before = _results(index)
    assert len(read_manifest(index).segments) > 1
    report = build_index(seed_corpus, index, embedder=HashEmbedder(), optimize=True)
    m = read_manifest(index)
    assert len(m.segments) == 1 and m.segments[0].deleted_chunks == 0
    assert report.embedded_chunks == 0
    assert _results(index) == before
    again = build_index(seed_corpus, index, embedder=HashEmbedder(), optimize=True)
    assert again.up_to_date  # one segment, nothing deleted: nothing to do


def test_qa_index_optimize_on_the_command_line(seed_corpus, tmp_path, monkeypatch, capsys):
    import qa.build.builder

    monkeypatch.setattr(qa.build.builder, "default_embedder", lambda model=None: HashEmbedder())
    index = tmp_path / "ix"
    build_index(seed_corpus, index, embedder=HashEmbedder())
    (seed_corpus / "tulips.md").write_text(TULIPS)
    build_index(seed_corpus, index, embedder=HashEmbedder())
    assert len(read_manifest(index).segments) == 2
    assert main(["index", "--optimize", "--corpus", str(seed_corpus), "--index", str(index),
                 "--runtime", "torch"]) == 0
    assert len(read_manifest(index).segments) == 1
    assert "Updated" in capsys.readouterr().out


def test_an_update_that_finds_a_damaged_segment_builds_afresh(seed_corpus, tmp_path):
    """Sizes are checked when an index opens, contents when they are read: an update that
    has to read a damaged part (the chunks of an article it deletes) starts over, in full."""
    index = tmp_path / "ix"
    build_index(seed_corpus, index, embedder=HashEmbedder())
    f = part_path(index, "chunks.ids")
    f.write_bytes(f.read_bytes()[:-8] + b"\xff" * 8)  # same size, not what was written
    f2 = part_path(index, "chunks.article")
    blob = bytearray(f2.read_bytes())
    blob[-4:] = b"\xff\xff\xff\x7f"  # an article row far past the last article
    f2.write_bytes(bytes(blob))
    sorted(seed_corpus.glob("*.md"))[0].unlink()
    report = build_index(seed_corpus, index, embedder=HashEmbedder())
    assert report.full and report.articles == 4
    assert _results(index) == _results(_one_go(seed_corpus, tmp_path))


def test_ivf_segments_share_the_coarse_step_and_find_the_same(seed_corpus, tmp_path, monkeypatch):
    """Segments that share a quantizer scan the lists it finds once; each finds what its
    own full search finds."""
    from qa.index import dense

    monkeypatch.setattr(dense, "ANN_THRESHOLD", 10)
    index = tmp_path / "ix"
    build_index(seed_corpus, index, embedder=HashEmbedder())
    _updates(seed_corpus, index)
    ix = Index.open(index)
    ix.load_dense()
    assert len(ix.segments) == 4 and all(dense.is_ivf(s.layout) for s in ix.segments)
    assert len({s.layout["trained"] for s in ix.segments}) == 1
    for q in QUERIES:
        qv = HashEmbedder().encode([q])
        first = ix.segments[0].dense_index()
        coarse = dense.coarse_lists(first, qv)
        for seg in ix.segments:
            own = dense.search(seg.dense_index(), qv, 5, None)
            shared = dense.search(seg.dense_index(), qv, 5, None, coarse)
            assert np.array_equal(own[1], shared[1]) and np.array_equal(own[0], shared[0])
    r = Retriever.open(index, embedder=HashEmbedder())
    text = r.chunks_of("tulips")[0].text
    assert r.search(text, k=1, mode="dense")[0].article_id == "tulips"


def test_the_index_knows_the_corpus_it_was_built_from(seed_corpus, seed_index):
    assert Index.recorded_corpus(seed_index) == str(seed_corpus.resolve())
    assert Index.open(seed_index).corpus == str(seed_corpus.resolve())
    assert Index.recorded_corpus(seed_index.parent / "nowhere") is None
