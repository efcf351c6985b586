"""Index files changed behind qa's back (issue 22): a damaged part is a typed error naming
the command that repairs it (or, for the dense part and the model, BM25 answers that say
why), never a traceback, a hang or a silent wrong answer; `qa index` — not only `--full` —
repairs what it finds; `qa index --check` finds what is wrong beyond checksums; and the
files qa writes in the index are never reached through a link.

Damage is done the way it happens: bytes rewritten in place (the file keeps its size), and,
for "bit rot", with the file's modification time put back as it was.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import HashEmbedder

from qa import Retriever, build_index
from qa.cli import main
from qa.errors import IndexCorruptError, QAError
from qa.index import LOCK, MANIFEST, Index, manifest_path, part_path

REPO = Path(__file__).resolve().parents[2]


def damage(path: Path, at: int, data: bytes, *, keep_mtime: bool = False) -> None:
    """Overwrite bytes of `path` in place (same size); `keep_mtime`: as bit rot does, leave
    the modification time as it was."""
    before = os.stat(path)
    time.sleep(0.01)  # a later write than the build's, on a clock of coarse ticks too
    with open(path, "r+b") as fh:
        fh.seek(at)
        fh.write(data)
    assert os.stat(path).st_size == before.st_size
    if keep_mtime:
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


def text_offset(index: Path, phrase: str) -> int:
    """Where `phrase` lies in the article texts of the index's first segment (bytes)."""
    seg = Index.open(index, for_search=False).segments[0]
    offsets = np.load(part_path(index, "texts.offsets"))
    for row in range(seg.n_articles):
        text = seg.texts[row]
        if phrase in text:
            return int(offsets[row]) + len(text[: text.index(phrase)].encode())
    raise AssertionError(f"{phrase!r} is in no article")


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


# --- finding 4: the lock file ----------------------------------------------------------------
def test_a_lock_that_is_a_symlink_is_refused_and_its_target_untouched(seed_corpus, tmp_path,
                                                                      make_index):
    index = make_index(seed_corpus)
    victim = tmp_path / "precious.txt"
    victim.write_text("do not truncate me\n")
    (index / LOCK).unlink()
    os.symlink(victim, index / LOCK)
    with pytest.raises(QAError) as caught:
        build_index(seed_corpus, index, embedder=HashEmbedder())
    assert victim.read_text() == "do not truncate me\n"
    assert LOCK in str(caught.value) and "qa index" in str(caught.value)
    assert (index / LOCK).is_symlink()  # qa deletes nothing it did not make


def test_a_manifest_that_is_a_folder_is_named_not_its_temporary_file(seed_corpus, make_index):
    """Finding 11: the error named the manifest's temporary file, one the user never made."""
    index = make_index(seed_corpus)
    manifest_path(index).unlink()
    manifest_path(index).mkdir()
    with pytest.raises(QAError) as caught:
        build_index(seed_corpus, index, embedder=HashEmbedder())
    message = str(caught.value)
    assert MANIFEST in message and ".tmp" not in message, message
    assert not list(index.glob(f".{MANIFEST}.*.tmp"))


def test_the_phrase_files_are_never_written_through_a_link(tmp_path):
    """The phrases part writes its files as every part does (qa.index.files.create): a link
    planted where a phrase file goes is refused and its target left as it was."""
    from qa.index.phrases import FILES, PhraseTable

    victim = tmp_path / "precious.txt"
    victim.write_text("do not overwrite me\n")
    for name in FILES:
        folder = tmp_path / name.removesuffix(".npy")
        folder.mkdir()
        (folder / name).symlink_to(victim)
        with pytest.raises(OSError):
            PhraseTable.empty().save(folder)
        assert victim.read_text() == "do not overwrite me\n"


# --- finding 5: damaged parts ------------------------------------------------------------------
@pytest.mark.parametrize("keep_mtime", [False, True], ids=["rewritten", "bit-rot"])
def test_damaged_article_texts_are_a_clear_error_and_qa_index_repairs_them(
        seed_corpus, make_index, capsys, keep_mtime):
    """Two bytes of the article texts replaced by an invalid UTF-8 pair: 'unexpected error
    (UnicodeDecodeError) ... please report it', and `qa index` said up to date."""
    index = make_index(seed_corpus)
    damage(part_path(index, "texts.texts"), text_offset(index, "Katrina Yu") + 2, b"\xff\xfe",
           keep_mtime=keep_mtime)
    code, out, err = cli(capsys, "search", "Katrina Yu", "--mode", "bm25", "--index", str(index))
    assert code == 2, err
    assert "unexpected" not in err and "Traceback" not in err
    assert "qa index" in err and out == ""
    if keep_mtime:
        return  # bit rot keeps the file's stamp: only `qa index --check` (checksums) sees it
    report = build_index(seed_corpus, index, embedder=HashEmbedder())
    assert not report.up_to_date
    code, out, err = cli(capsys, "search", "Katrina Yu", "--mode", "bm25", "--index",
                         str(index))
    assert code == 0 and "Katrina Yu" in out, err


@pytest.mark.parametrize("keep_mtime", [False, True], ids=["rewritten", "bit-rot"])
def test_a_damaged_npy_header_is_a_clear_error(seed_corpus, make_index, capsys, keep_mtime):
    """An .npy header whose dict no longer parses: 'unexpected error (TokenError)'."""
    index = make_index(seed_corpus)
    damage(part_path(index, "chunks.ids"), 10, b"'", keep_mtime=keep_mtime)
    code, _, err = cli(capsys, "search", "Katrina Yu", "--mode", "bm25", "--index", str(index))
    assert code == 2 and "unexpected" not in err and "qa index" in err, err


@pytest.mark.parametrize("keep_mtime", [False, True], ids=["rewritten", "bit-rot"])
def test_damaged_bm25_pair_codes_are_an_error_not_a_warning(seed_corpus, make_index, capsys,
                                                            keep_mtime):
    """Pair codes past their table (frequencies set to zero and negative gave a numpy
    RuntimeWarning and exit 0 before codes replaced them)."""
    index = make_index(seed_corpus)
    path = part_path(index, "bm25.codes")
    codes = np.load(path)
    offset = os.path.getsize(path) - codes.nbytes
    bad = np.full(len(codes), np.iinfo(codes.dtype).max, codes.dtype)
    damage(path, offset, bad.tobytes(), keep_mtime=keep_mtime)
    code, _, err = cli(capsys, "search", "Katrina Yu", "--mode", "bm25", "--index", str(index))
    assert code == 2 and "Warning" not in err and "qa index" in err, err


@pytest.mark.parametrize("keep_mtime", [False, True], ids=["rewritten", "bit-rot"])
def test_damaged_bm25_pairs_are_refused_at_open(seed_corpus, make_index, capsys, keep_mtime):
    """A pair table with a zero frequency cannot be any posting's: the index is damaged."""
    index = make_index(seed_corpus)
    path = part_path(index, "bm25.pairs")
    pairs = np.load(path)
    damage(path, os.path.getsize(path) - pairs.nbytes, np.zeros(2, np.int32).tobytes(),
           keep_mtime=keep_mtime)
    code, _, err = cli(capsys, "search", "Katrina Yu", "--mode", "bm25", "--index", str(index))
    assert code == 2 and "unexpected" not in err and "qa index" in err, err


def test_damaged_vectors_are_not_answered_from_silently(seed_corpus, make_index):
    """Same-size damage in the vectors: hybrid answers from garbage before; now BM25, with
    the reason naming the command that repairs it, until `qa index` has."""
    index = make_index(seed_corpus)
    path = part_path(index, "dense.vectors")
    damage(path, os.path.getsize(path) - 4096, np.full(1024, 7.5, np.float32).tobytes())
    retriever = Retriever.open(index, embedder=HashEmbedder())
    hits = retriever.search("Who is Katrina Yu?", k=3)
    assert retriever.mode == "bm25" and {h.via for h in hits} == {"bm25"}
    assert "damaged" in retriever.fallback_reason and "qa index" in retriever.fallback_reason
    build_index(seed_corpus, index, embedder=HashEmbedder())
    retriever = Retriever.open(index, embedder=HashEmbedder())
    retriever.search("Who is Katrina Yu?", k=3)
    assert retriever.mode == "hybrid", retriever.fallback_reason


def test_vectors_damaged_by_bit_rot_are_refused_when_loaded(seed_corpus, make_index):
    index = make_index(seed_corpus)
    path = part_path(index, "dense.vectors")
    damage(path, os.path.getsize(path) - 4096, np.full(1024, 7.5, np.float32).tobytes(),
           keep_mtime=True)
    retriever = Retriever.open(index, embedder=HashEmbedder())
    retriever.search("Who is Katrina Yu?", k=3)
    assert retriever.mode == "bm25" and "qa index" in (retriever.fallback_reason or "")


@pytest.mark.parametrize("keep_mtime", [False, True], ids=["rewritten", "bit-rot"])
def test_a_damaged_phrase_file_is_found_and_named_like_the_other_parts(
        seed_corpus, make_index, capsys, keep_mtime):
    """The phrases part (format 4) gets what every part gets: same-size damage is caught at
    open naming the file, or, with the time put back, where the part is read (a typed error
    naming the folder and the command), `qa index --check` names the file, and `qa index`
    repairs it."""
    index = make_index(seed_corpus)
    path = part_path(index, "phrases.label")
    labels = np.load(path)
    assert len(labels), "the seed articles have phrases"
    offset = os.path.getsize(path) - labels.nbytes
    damage(path, offset, b"\x7f" * len(labels), keep_mtime=keep_mtime)  # no such label

    code, out, err = cli(capsys, "index", "--check", "--index", str(index))
    assert code == 2 and "intact" not in out, out
    assert path.name in err and "changed since it was written" in err, err

    if keep_mtime:  # the check at open passes (same size, same time): the read finds it
        opened = Index.open(index)
        with pytest.raises(IndexCorruptError) as caught:
            opened.phrases_of(opened.articles()[0].id)
        message = str(caught.value)
        assert path.parent.name in message and "qa index --full" in message, message
        assert "unexpected" not in message
        return
    with pytest.raises(IndexCorruptError) as caught:
        Index.open(index)
    assert str(path) in str(caught.value) and "qa index" in str(caught.value)
    code, out, err = cli(capsys, "search", "Katrina Yu", "--mode", "bm25", "--index", str(index))
    assert code == 2 and path.name in err and "qa index" in err and out == "", err
    assert "unexpected" not in err and "Traceback" not in err
    report = build_index(seed_corpus, index, embedder=HashEmbedder())
    assert not report.up_to_date
    repaired = Index.open(index)
    assert all(repaired.phrases_of(a.id) for a in repaired.articles())
    assert cli(capsys, "index", "--check", "--index", str(index))[0] == 0


# --- finding 9: qa index --check ---------------------------------------------------------------
@pytest.mark.parametrize("where", ["counts", "segment"])
def test_check_finds_absurd_counts_in_the_manifest(seed_corpus, make_index, capsys, where):
    index = make_index(seed_corpus)
    path = manifest_path(index)
    manifest = json.loads(path.read_text())
    if where == "counts":
        manifest["counts"]["articles"] = 10**18
    else:
        manifest["segments"][0]["chunks"] = 10**18
    path.write_text(json.dumps(manifest))
    code, out, err = cli(capsys, "index", "--check", "--index", str(index))
    assert code == 2 and "intact" not in out, out
    assert "qa index --full" in err


# --- the model folder (findings 5 and 9), with the real export ------------------------------
@pytest.fixture
def real_copy(real_seed_index: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "index"
    shutil.copytree(real_seed_index, copy)
    return copy


def model_dir(index: Path) -> Path:
    """The query model's folder in the index (qa.index.query_model)."""
    from qa.index import read_manifest
    from qa.index.query_model import query_model_dir

    manifest = read_manifest(index)
    found = query_model_dir(index, manifest.model.name,
                            quantize=manifest.embedding_backend == "onnx-int8")
    assert found.is_dir(), found
    return found


def run_qa(*argv: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "qa.cli", *argv], capture_output=True,
                          text=True, timeout=timeout, cwd=REPO)


@pytest.mark.integration
def test_a_model_tokenizer_replaced_by_a_fifo_is_found_and_repaired(real_copy: Path):
    """Search and ask hung on the FIFO, `--check` said intact, `qa index --full` left it."""
    tokenizer = model_dir(real_copy) / "tokenizer.json"
    tokenizer.unlink()
    os.mkfifo(tokenizer)
    try:
        searched = run_qa("search", "Who is Katrina Yu?", "--index", str(real_copy), timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("qa search hung on a model file that is a FIFO")
    assert searched.returncode == 0, searched.stderr
    assert "BM25 only" in searched.stderr and "qa index" in searched.stderr
    checked = run_qa("index", "--check", "--index", str(real_copy), timeout=60)
    assert checked.returncode == 2 and "tokenizer.json" in checked.stderr, checked.stdout
    corpus = Index.recorded_corpus(real_copy)
    rebuilt = run_qa("index", "--index", str(real_copy), "--corpus", str(corpus))
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert model_dir(real_copy).joinpath("tokenizer.json").is_file()
    again = run_qa("search", "Who is Katrina Yu?", "--index", str(real_copy), timeout=60)
    assert again.returncode == 0 and "BM25 only" not in again.stderr, again.stderr
    assert run_qa("index", "--check", "--index", str(real_copy)).returncode == 0


@pytest.mark.integration
def test_check_finds_a_damaged_model_file(real_copy: Path, capsys):
    folder = model_dir(real_copy)
    onnx = next(folder.glob("*.onnx"))
    onnx.chmod(0o644)  # exports are read-only (hard links shared by indexes); a copy here
    damage(onnx, os.path.getsize(onnx) // 2, b"\x00\x01\x02\x03")
    code, out, err = cli(capsys, "index", "--check", "--index", str(real_copy))
    assert code == 2 and onnx.name in err and "intact" not in out, (out, err)
