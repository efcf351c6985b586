"""Opening an index that is missing, half-written, damaged or foreign: clear errors, never a
traceback or a wrong answer."""

from __future__ import annotations

import json
import shutil

import pytest
from conftest import HashEmbedder

from qa import IndexCorruptError, IndexMismatchError, IndexMissingError, Retriever
from qa.index import (
    TRAINED_FILE,
    file_key,
    generation_folder,
    manifest_path,
    part_path,
    read_manifest,
    segment_folders,
    sha256_of,
)


def _data(index):
    """The one segment of a fresh index."""
    segments = segment_folders(index)
    assert len(segments) == 1
    return segments[0]


def test_missing_index_names_the_command(tmp_path):
    with pytest.raises(IndexMissingError, match="Run `qa index"):
        Retriever.open(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(IndexMissingError, match="Run `qa index"):
        Retriever.open(tmp_path / "empty")


def test_half_written_index_without_manifest_is_missing(seed_index):
    manifest_path(seed_index).unlink()  # a build killed before publishing
    with pytest.raises(IndexMissingError):
        Retriever.open(seed_index, embedder=HashEmbedder())


@pytest.mark.parametrize("damage", ["truncate", "garbage", "not-an-object", "drop-key"])
def test_damaged_manifest(seed_index, damage):
    path = manifest_path(seed_index)
    text = path.read_text()
    if damage == "truncate":
        path.write_text(text[: len(text) // 2])
    elif damage == "garbage":
        path.write_bytes(b"\x00\xff garbage")
    elif damage == "not-an-object":
        path.write_text("[1, 2, 3]")
    else:
        m = json.loads(text)
        del m["files"]
        path.write_text(json.dumps(m))
    with pytest.raises(IndexCorruptError, match=r"qa index --full"):
        Retriever.open(seed_index, embedder=HashEmbedder())


@pytest.mark.parametrize("part", ["chunks.ids", "chunks.sent_spans", "bm25.codes", "bm25.pairs",
                                  "bm25.docs", "bm25.indptr", "bm25.terms", "texts.texts",
                                  "texts.records"])
def test_truncated_data_file(seed_index, part):
    f = part_path(seed_index, part)
    f.write_bytes(f.read_bytes()[: max(1, f.stat().st_size // 2)])
    with pytest.raises(IndexCorruptError, match=r"qa index --full"):
        Retriever.open(seed_index, embedder=HashEmbedder())


def test_generation_file_truncated(seed_index):
    f = part_path(seed_index, "statistics.df")
    f.write_bytes(f.read_bytes()[:40])
    with pytest.raises(IndexCorruptError, match=r"qa index --full"):
        Retriever.open(seed_index, embedder=HashEmbedder())


@pytest.mark.parametrize("which", ["segment", "generation"])
def test_data_folder_gone(seed_index, which):
    shutil.rmtree(_data(seed_index) if which == "segment" else generation_folder(seed_index))
    with pytest.raises(IndexCorruptError, match="missing"):
        Retriever.open(seed_index, embedder=HashEmbedder())


def test_truncated_vectors_file_falls_back_to_bm25_with_the_reason(seed_index):
    f = part_path(seed_index, "dense.vectors")
    f.write_bytes(f.read_bytes()[:100])
    r = Retriever.open(seed_index, embedder=HashEmbedder())
    hits = r.search("Katrina Yu", k=1)
    assert hits[0].via == "bm25" and "damaged" in r.fallback_reason and "qa index --full" in r.fallback_reason


def test_other_format_version(seed_index):
    path = manifest_path(seed_index)
    m = json.loads(path.read_text())
    for old in (99, 2):  # 2: the single-folder layout before segments
        m["format_version"] = old
        path.write_text(json.dumps(m))
        with pytest.raises(IndexMismatchError, match=rf"format version {old}.*qa index --full"):
            Retriever.open(seed_index, embedder=HashEmbedder())


def test_other_model(seed_index):
    class Other(HashEmbedder):
        name = "some-other-model"

    with pytest.raises(IndexMismatchError, match=r"built with the model 'test-hash-64'.*qa index --full"):
        Retriever.open(seed_index, embedder=Other())


def test_chunks_that_disagree_with_the_vectors(seed_index, tmp_path, seed_corpus):
    """A data file swapped in from another build (sizes patched to match) is caught."""
    from qa import build_index

    other = tmp_path / "other"
    (seed_corpus / "extra.md").write_text("---\ntitle: Extra\n---\nOne more short article.\n")
    build_index(seed_corpus, other, embedder=HashEmbedder())
    src, dst = part_path(other, "chunks.article"), part_path(seed_index, "chunks.article")
    shutil.copy(src, dst)
    m = json.loads(manifest_path(seed_index).read_text())
    m["files"][file_key(dst)] = dst.stat().st_size
    manifest_path(seed_index).write_text(json.dumps(m))
    with pytest.raises(IndexCorruptError, match="qa index --full"):
        Retriever.open(seed_index, embedder=HashEmbedder()).search("China")


def test_damaged_quotes_file_is_a_clear_error_when_quotes_are_asked_for(seed_index):
    import json

    m = json.loads(manifest_path(seed_index).read_text())
    f = part_path(seed_index, "quotes.names")
    f.write_text('{"speakers": [], "cues": []}')  # every speaker index now points nowhere
    m["files"][file_key(f)] = f.stat().st_size
    m["checksums"][file_key(f)] = sha256_of(f)  # a consistent edit: the check at open passes
    manifest_path(seed_index).write_text(json.dumps(m))
    r = Retriever.open(seed_index, embedder=HashEmbedder())
    assert r.search("Katrina Yu", k=1, mode="bm25")  # searching does not need the quotes
    with pytest.raises(IndexCorruptError, match="qa index --full"):
        r.quotes("Kritenbrink")


def test_bm25_postings_pointing_past_the_chunks_are_a_clear_error_when_searched(seed_index):
    """Same-size damage that keeps the file's time (a failing disk) passes the check at open,
    which does not scan postings either (that read the whole file at 1M chunks): the query
    that touches it gets the command to fix it."""
    import os

    import numpy as np

    f = part_path(seed_index, "bm25.docs")
    before = os.stat(f)
    bad = np.load(f)
    bad[:] = 10**6
    np.save(f, bad)
    os.utime(f, ns=(before.st_atime_ns, before.st_mtime_ns))
    r = Retriever.open(seed_index, embedder=HashEmbedder())
    with pytest.raises(IndexCorruptError, match="qa index --full"):
        r.search("China Russia NATO", k=3, mode="bm25")


def test_the_files_of_a_version_7_index(seed_index):
    """The layout of format version 7, file by file: a change of it bumps FORMAT_VERSION.
    The one test that writes the index's file names out: it pins them, so it cannot take
    them from qa.index."""
    from qa.index import FORMAT_VERSION

    m = read_manifest(seed_index)
    assert FORMAT_VERSION == m.format_version == 7
    seg, gen = m.segments[0].name, m.data
    tree = {p.relative_to(seed_index).as_posix() for p in seed_index.rglob("*")}
    segment_files = {
        ".qa-generation", "articles.json", "texts.bin", "text_offsets.npy",
        "chunk_ids.npy", "chunk_article.npy", "chunk_ordinal.npy", "chunk_start.npy",
        "chunk_end.npy", "sent_spans.npy", "sent_ptr.npy",
        "bm25_terms.json", "bm25_indptr.npy", "bm25_docs.npy", "bm25_pair.npy", "bm25_pairs.npy",
        "bm25_doclen.npy",
        "vectors.npy",
        "quote_article.npy", "quote_spans.npy", "quote_speaker.npy", "quote_cue.npy",
        "quote_names.json",
        "phrase_article.npy", "phrase_spans.npy", "phrase_label.npy",
        "sent_vectors.npy",
    }
    generation_files = {".qa-generation", "terms.json", "df.npy", "deleted.npy", "order.npy"}
    assert tree == {".qa-index", ".lock", "manifest.json", seg, gen,
                    *(f"{seg}/{f}" for f in segment_files), *(f"{gen}/{f}" for f in generation_files)}
    assert set(m.files) == set(m.checksums) == tree - {".qa-index", ".lock", "manifest.json", seg, gen}
    # Every array loads without pickle.
    import numpy as np

    for f in seed_index.rglob("*.npy"):
        np.load(f, allow_pickle=False)


def test_the_files_of_an_ivf_segment(seed_corpus, tmp_path, monkeypatch):
    """Above the exact-search size a segment also holds dense.faiss, and the index a trained
    quantizer in ivf-*/trained.faiss."""
    from qa import build_index
    from qa.index import dense

    monkeypatch.setattr(dense, "ANN_THRESHOLD", 10)
    index = tmp_path / "ix"
    build_index(seed_corpus, index, embedder=HashEmbedder())
    m = read_manifest(index)
    trained = m.dense["trained"]
    assert trained.startswith("ivf-") and m.segments[0].dense["trained"] == trained
    assert {p.name for p in (index / trained).iterdir()} == {".qa-generation", "trained.faiss"}
    assert part_path(index, "dense.ivf").is_file()
    assert file_key(index / trained / TRAINED_FILE) in m.checksums
