"""Faults injected for real: kills, full disks, readers during rebuilds, concurrent builds,
damaged and foreign indexes, hostile files and text. docs/reliability.md is the matrix of
these cases (and of the ones tests/test_crash.py, test_store.py, test_build.py,
test_ingest.py, test_chunking.py, test_cli.py and tests/tui already cover).

Long randomized settings: QA_CRASH_RUNS (kills per loop, default 6; 20 locally).
"""

from __future__ import annotations

import errno
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
from build.test_crash import DRIVER, _answers, _start
from conftest import REPO, HashEmbedder
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa import IndexCorruptError, QAError, Retriever, build_index
from qa.cli import main
from qa.corpus.chunking import chunk_article
from qa.corpus.ingest import load_corpus, read_article_file
from qa.index import (
    GENERATION_PREFIX,
    MANIFEST,
    SEGMENT_PREFIX,
    TMP_PREFIX,
    dense,
    file_key,
    file_name,
    manifest_path,
    part_path,
    read_manifest,
    segment_folders,
    sha256_of,
)

HERE = Path(__file__).resolve().parent
READER = HERE / "reader_loop.py"
QA = str(Path(sys.executable).with_name("qa"))
CRASH_RUNS = int(os.environ.get("QA_CRASH_RUNS", "6"))
NEW = "---\ntitle: New\n---\nA brand new article on tulips.\n"


def _leftovers(index: Path) -> dict[str, list[str]]:
    names = sorted(p.name for p in index.iterdir())
    return {
        "tmp": [n for n in names if n.startswith(TMP_PREFIX)],
        "data": [n for n in names if n.startswith(GENERATION_PREFIX)],  # one per generation
        "segments": [n for n in names if n.startswith(SEGMENT_PREFIX)],
        "manifest_tmp": [n for n in names if n.startswith(f".{MANIFEST}.")],
    }


def _segment(index: Path) -> Path:
    """The one segment of a fresh index."""
    segments = segment_folders(index)
    assert len(segments) == 1
    return segments[0]


@pytest.fixture
def hash_default_embedder(monkeypatch):
    """`qa index` in-process with HashEmbedder instead of the real model (seconds saved)."""
    monkeypatch.setenv("QA_RUNTIME", "torch")  # the backend default_embedder() stands for
    monkeypatch.setattr("qa.build.builder.default_embedder", lambda name=None: HashEmbedder())


# --- 1. SIGKILL, many times in a row ----------------------------------------------------------


def test_repeated_sigkills_leave_a_working_index_and_no_pile_of_temp_folders(seed_corpus, tmp_path):
    """QA_CRASH_RUNS builds in a row, each killed at a random moment after embedding starts
    (embedding, assembling, writing, fsync, rename, manifest swap), with no clean build in
    between. After every kill the index is either exactly the old one or exactly the new one;
    leftovers stay bounded; one clean build then removes them all."""
    index = tmp_path / "ix"
    build_index(seed_corpus, index, embedder=HashEmbedder())
    old = _answers(index)
    (seed_corpus / "new.md").write_text(NEW)
    ref = tmp_path / "ref"
    build_index(seed_corpus, ref, embedder=HashEmbedder())
    new = _answers(ref)
    assert new != old

    rng = random.Random(20220204)
    outcomes = []
    for run in range(CRASH_RUNS):
        proc = _start(seed_corpus, index, "--full", "--slow", "0.01")
        assert proc.stdout.readline().strip() == "embedding", proc.stderr.read()
        time.sleep(rng.uniform(0.0, 0.6))  # 24 chunks x 10 ms of embedding, then writing
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        after = _answers(index)
        assert after in (old, new), f"run {run}: a mixed or broken index"
        left = _leftovers(index)
        # At most: the killed build's temp folder; live + kept + one renamed-but-unpublished
        # generation (full builds: one segment each).
        assert len(left["tmp"]) <= 1 and len(left["data"]) <= 3, left
        assert len(left["segments"]) <= 3, left
        outcomes.append(("killed" if proc.returncode == -signal.SIGKILL else "finished",
                         "old" if after == old else "new", len(left["tmp"]), len(left["data"])))
    print(f"\n{CRASH_RUNS} kills: {outcomes}")

    report = build_index(seed_corpus, index, embedder=HashEmbedder(), full=True)
    assert report.articles == 6 and _answers(index) == new
    left = _leftovers(index)
    assert left["tmp"] == [] and left["manifest_tmp"] == [] and len(left["data"]) <= 2, left
    assert len(left["segments"]) <= 2, left


# --- 2. A build that fails half-way -----------------------------------------------------------


def _enospc(path) -> OSError:
    return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))


@pytest.mark.parametrize("where", ["dense.vectors", "dense.ivf", "manifest"])
def test_disk_full_half_way_keeps_the_old_index_and_says_so(
    where, seed_corpus, tmp_path, monkeypatch, capsys, hash_default_embedder
):
    """`qa index` when the disk fills while writing one file (half of it is written first)."""

    if where == "dense.ivf":  # the seed corpus gets an IVF index: new segments write one
        monkeypatch.setattr(dense, "ANN_THRESHOLD", 10)
    index = tmp_path / "ix"
    build_index(seed_corpus, index, embedder=HashEmbedder())
    manifest, old = manifest_path(index).read_bytes(), _answers(index)
    (seed_corpus / "new.md").write_text(NEW)

    def half_then_full(target, data: bytes):
        if hasattr(target, "write"):  # the file qa opened (qa.index.files.create)
            target.write(data[: len(data) // 2])
            raise _enospc(target.name)
        with open(target, "wb") as fh:
            fh.write(data[: len(data) // 2])
        raise _enospc(target)

    if where == "dense.vectors":
        real_save, vectors = np.save, file_name("dense.vectors")
        monkeypatch.setattr(np, "save", lambda f, a, **kw: half_then_full(f, a.tobytes())
                            if str(getattr(f, "name", f)).endswith(vectors)
                            else real_save(f, a, **kw))
    elif where == "dense.ivf":  # qa streams FAISS's bytes into a file it created
        monkeypatch.setattr(dense, "write_faiss",
                            lambda ix, path: half_then_full(path, b"IxM2" * 4096))
    else:
        from qa.index import manifest as manifest_module

        monkeypatch.setattr(manifest_module, "write_json_atomic", lambda path, payload: half_then_full(
            path.with_name(f".{MANIFEST}.deadbeef.tmp"), json.dumps(payload).encode()))

    code = main(["index", "--corpus", str(seed_corpus), "--index", str(index)])
    err = capsys.readouterr().err
    assert code == 1
    assert "No space left on device" in err and "previous index is unchanged" in err
    assert "Traceback" not in err
    assert manifest_path(index).read_bytes() == manifest and _answers(index) == old
    assert _leftovers(index)["tmp"] == []

    monkeypatch.undo()
    report = build_index(seed_corpus, index, embedder=HashEmbedder())
    assert report.added == ("new",)
    left = _leftovers(index)
    assert left["tmp"] == [] and left["manifest_tmp"] == [] and len(left["data"]) <= 2, left
    assert len(left["segments"]) <= 2, left


@pytest.fixture
def small_disk(tmp_path):
    """A real 1 MB tmpfs (needs root or CAP_SYS_ADMIN; skipped otherwise)."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)],
                          capture_output=True, text=True)
    if done.returncode:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip()}); "
                    "test_disk_full_half_way_keeps_the_old_index_and_says_so covers it")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


@pytest.mark.parametrize("free_kb", [0, 40])
def test_a_really_full_disk(free_kb, small_disk, seed_corpus, capsys, hash_default_embedder):
    """The index lives on a 1 MB tmpfs, filled up with `free_kb` KB left: the kernel's ENOSPC."""
    index = small_disk / "ix"
    build_index(seed_corpus, index, embedder=HashEmbedder())
    manifest, old = manifest_path(index).read_bytes(), _answers(index)
    (seed_corpus / "new.md").write_text(NEW)
    filler = small_disk / "filler"
    with open(filler, "wb", buffering=0) as fh:
        with pytest.raises(OSError) as full:
            while True:
                fh.write(b"\0" * 4096)
    assert full.value.errno == errno.ENOSPC
    os.truncate(filler, max(0, filler.stat().st_size - free_kb * 1024))

    code = main(["index", "--full", "--corpus", str(seed_corpus), "--index", str(index)])
    err = capsys.readouterr().err
    assert code == 1 and "No space left on device" in err and "Traceback" not in err, err
    assert manifest_path(index).read_bytes() == manifest and _answers(index) == old
    assert _leftovers(index)["tmp"] == []

    filler.unlink()
    assert main(["index", "--corpus", str(seed_corpus), "--index", str(index)]) == 0
    assert Retriever.open(index, embedder=HashEmbedder()).stats.articles == 6


# --- 3. Readers during rebuilds ---------------------------------------------------------------

TULIPS = [
    "---\ntitle: Tulip fields open\n---\nThe tulip garden opened for spring with a million tulips.\n",
    "---\ntitle: Garden show\n---\nA spring garden show gave prizes for tulips and roses.\n",
    "---\ntitle: Bulb prices\n---\nTulips cost more this spring, growers said in the article.\n",
]


def _reader_hits(index: Path, mode: str) -> list[tuple[int, str]]:
    from reader_loop import QUERY

    r = Retriever.open(index, embedder=HashEmbedder())
    return [(h.chunk_id, h.via) for h in r.search(QUERY, k=5, mode=mode)]


@pytest.mark.parametrize("mode", ["bm25", "hybrid"])
def test_a_reader_searching_in_a_loop_during_rebuilds(mode, seed_corpus, tmp_path):
    """A real process searches non-stop while three real build processes publish new
    generations. Every answer it gets is exactly one of the four valid states (computed from
    reference builds); it never raises; `reload_if_changed` brings it to the newest."""
    ref_corpus = tmp_path / "ref-corpus"
    shutil.copytree(seed_corpus, ref_corpus)
    valid = {}
    for j in range(len(TULIPS) + 1):
        if j:
            (ref_corpus / f"tulips-{j}.md").write_text(TULIPS[j - 1])
        build_index(ref_corpus, tmp_path / f"ref{j}", embedder=HashEmbedder(), full=True)
        valid[5 + j] = _reader_hits(tmp_path / f"ref{j}", mode)
    assert len({tuple(v) for v in valid.values()}) == len(valid)  # the states are told apart

    index = tmp_path / "ix"
    build_index(seed_corpus, index, embedder=HashEmbedder())
    out, stop = tmp_path / "reader.jsonl", tmp_path / "stop"
    reader = subprocess.Popen([sys.executable, str(READER), str(index), mode, str(out), str(stop)],
                              stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (out.exists() and out.read_text().count("\n") >= 1):
            assert reader.poll() is None and time.monotonic() < deadline, reader.stderr.read()
            time.sleep(0.05)
        for j in range(1, len(TULIPS) + 1):
            (seed_corpus / f"tulips-{j}.md").write_text(TULIPS[j - 1])
            done = subprocess.run([sys.executable, str(DRIVER), str(seed_corpus), str(index),
                                   "--full", "--slow", "0.005"], capture_output=True, text=True,
                                  timeout=120)
            assert done.returncode == 0, done.stderr
        stop.touch()
        assert reader.wait(timeout=60) == 0, out.read_text()[-2000:]
    finally:
        if reader.poll() is None:
            reader.kill()
            reader.wait()

    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert not any("error" in x for x in lines)
    for x in lines:
        assert [(cid, via) for cid, _score, via in x["hits"]] == valid[x["articles"]], x
    states = [x["articles"] for x in lines]
    assert states == sorted(states)  # never goes back to an older generation
    assert lines[-1]["articles"] == 8 and lines[-1]["generation"] == read_manifest(index).data
    print(f"\n{mode}: {len(lines)} searches, states seen {sorted(set(states))}")


# --- 4. Two builds at once --------------------------------------------------------------------


def test_two_builds_at_once_the_second_refuses_or_waits(seed_corpus, tmp_path):
    """Build A (a real process) is embedding; `qa index` (real CLI) refuses with exit 2 and
    names A; a build with --wait waits for A and then finds the index up to date."""
    index = tmp_path / "ix"
    build_index(seed_corpus, index, embedder=HashEmbedder())
    (seed_corpus / "new.md").write_text(NEW)
    a = _start(seed_corpus, index, "--full", "--slow", "0.25")  # about 6 s of embedding
    try:
        assert a.stdout.readline().strip() == "embedding"
        waiter = _start(seed_corpus, index, "--wait", "120")
        refused = subprocess.run([QA, "index", "--corpus", str(seed_corpus), "--index", str(index)],
                                 capture_output=True, text=True, timeout=120)
        assert a.poll() is None, "build A ended before the second build was tried"
        assert refused.returncode == 2, refused.stderr
        assert f"Another build of {index}/ is running (process {a.pid})" in refused.stderr
        assert "Traceback" not in refused.stderr
        a_out, a_err = a.communicate(timeout=120)
        assert a.returncode == 0, a_err
        w_out, w_err = waiter.communicate(timeout=120)
        assert waiter.returncode == 0, w_err
        assert w_out == "done\n"  # no embedding: it ran after A had published
    finally:
        for p in (a, locals().get("waiter")):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait()
    r = Retriever.open(index, embedder=HashEmbedder())
    assert r.stats.articles == 6 and r.search("tulips", k=1)[0].article_id == "new"
    assert _leftovers(index)["tmp"] == []


# --- 5. Corrupt and foreign indexes through the CLI and the API --------------------------------


def _damage(index: Path, how: str, tmp_path: Path, seed_corpus: Path) -> None:
    mpath = manifest_path(index)
    m = json.loads(mpath.read_text())
    data = _segment(index)
    if how == "truncated manifest":
        mpath.write_text(mpath.read_text()[:200])
    elif how == "edited manifest (data points outside)":
        m["data"] = "../../etc"
        mpath.write_text(json.dumps(m))
    elif how == "other format version":
        m["format_version"] = 99
        mpath.write_text(json.dumps(m))
    elif how == "other tokenizer":
        m["tokenizer"] = dict(m["tokenizer"], lowercase=False)
        mpath.write_text(json.dumps(m))
    elif how == "edited manifest (segment points outside)":
        m["segments"][0]["name"] = "../../etc"
        mpath.write_text(json.dumps(m))
    elif how.startswith("truncated "):
        f = part_path(index, how.split()[1])
        f.write_bytes(f.read_bytes()[: f.stat().st_size // 3])
    elif how == "chunks from another build":
        other = tmp_path / "other"
        (seed_corpus / "extra.md").write_text("---\ntitle: Extra\n---\nOne more article.\n")
        build_index(seed_corpus, other, embedder=HashEmbedder())
        for part in ("chunks.ids", "chunks.start"):  # sizes patched to match
            src, dst = part_path(other, part), part_path(index, part)
            shutil.copy(src, dst)
            m["files"][file_key(dst)] = src.stat().st_size
        mpath.write_text(json.dumps(m))
    elif how == "data folder deleted":
        shutil.rmtree(data)
    elif how == "generation folder deleted":
        shutil.rmtree(index / m["data"])
    elif how == "deeply nested manifest":
        mpath.write_text('{"a": ' * 100_000 + "1" + "}" * 100_000)
    elif how == "manifest is a FIFO":
        mpath.unlink()
        os.mkfifo(mpath)
    elif how in ("articles with wrong types", "article without id"):
        f = part_path(index, "texts.records")
        columns = json.loads(f.read_text())
        if how == "article without id":
            columns["id"][0] = None
        else:
            columns["title"][0], columns["date"][1] = 5, ["2022"]
        f.write_text(json.dumps(columns))
        m["files"][file_key(f)] = f.stat().st_size
        mpath.write_text(json.dumps(m))
    elif how == "the texts are a FIFO":
        texts = part_path(index, "texts.texts")
        texts.unlink()
        os.mkfifo(texts)
        m["files"][file_key(texts)] = 0
        mpath.write_text(json.dumps(m))
    elif how == "the texts link outside the index":
        texts = part_path(index, "texts.texts")
        outside = tmp_path / "elsewhere.bin"
        shutil.move(texts, outside)
        texts.symlink_to(outside)
    else:
        raise AssertionError(how)


def _hung(signum, frame):
    raise AssertionError("qa waited on a file instead of refusing it")


CLI_DAMAGES = [
    "truncated manifest", "edited manifest (data points outside)", "other format version",
    "edited manifest (segment points outside)",
    "other tokenizer", "truncated chunks.ids", "truncated texts.texts", "truncated bm25.codes",
    "truncated texts.records", "truncated statistics.df",
    "chunks from another build", "data folder deleted", "generation folder deleted",
    "deeply nested manifest",
    "manifest is a FIFO", "articles with wrong types", "article without id",
    "the texts are a FIFO", "the texts link outside the index",
]


@pytest.mark.parametrize("how", CLI_DAMAGES)
def test_a_damaged_index_gives_the_cli_a_clear_error(how, seed_index, seed_corpus, tmp_path, capsys):
    _damage(seed_index, how, tmp_path, seed_corpus)
    signal.signal(signal.SIGALRM, _hung)
    signal.alarm(20)  # a FIFO read blocks forever: fail instead of hanging the suite
    try:
        code = main(["search", "Who is Katrina Yu?", "--index", str(seed_index), "--mode", "bm25"])
    finally:
        signal.alarm(0)
    captured = capsys.readouterr()
    assert code == 2 and captured.out == ""
    assert "qa index" in captured.err and "Traceback" not in captured.err


def test_a_truncated_vectors_file_through_the_cli_answers_from_bm25_and_says_why(seed_index, capsys):
    f = part_path(seed_index, "dense.vectors")
    f.write_bytes(f.read_bytes()[:64])
    assert main(["search", "Who is Katrina Yu?", "--index", str(seed_index)]) == 0
    captured = capsys.readouterr()
    assert "Katrina Yu" in captured.out and "via bm25" in captured.out
    assert "[BM25 only:" in captured.err and "qa index --full" in captured.err


@pytest.mark.parametrize("part", ["dense.vectors", "dense.ivf"])
def test_a_same_size_garbage_dense_file_falls_back_without_a_crash(part, seed_corpus, tmp_path, monkeypatch):
    """FAISS parses an IVF index's file in C++: garbage of the recorded size must not
    crash the process; nor may garbage in the vectors an exact index is made from."""
    if part == "dense.ivf":
        monkeypatch.setattr(dense, "ANN_THRESHOLD", 10)  # the seed corpus gets an IVF index
    seed_index = tmp_path / "ix"
    build_index(seed_corpus, seed_index, embedder=HashEmbedder())
    f = part_path(seed_index, part)
    assert f.exists()
    f.write_bytes(bytes(random.Random(1).randrange(256) for _ in range(f.stat().st_size)))
    code = (
        "import sys; sys.path.insert(0, sys.argv[2]); from conftest import HashEmbedder\n"
        "from qa import Retriever\n"
        "r = Retriever.open(sys.argv[1], embedder=HashEmbedder())\n"
        "h = r.search('Who is Katrina Yu?', k=1)\n"
        "print(h[0].via, '|', r.fallback_reason)\n"
    )
    done = subprocess.run([sys.executable, "-c", code, str(seed_index), str(HERE)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("bm25 |") and "qa index --full" in done.stdout


_BAD_VALUES = [None, 0, "x", [], {}, {"name": 5}]


def test_every_manifest_field_edited_to_nonsense_is_a_clear_error_or_harmless(seed_index):
    """Each top-level manifest field replaced by a value of the wrong type: opening and
    searching either works or raises a QAError (with the command), never anything else."""
    mpath = manifest_path(seed_index)
    good = json.loads(mpath.read_text())
    failures = []
    for key in good:
        for bad in _BAD_VALUES:
            mpath.write_text(json.dumps(dict(good, **{key: bad})))
            try:
                r = Retriever.open(seed_index, embedder=HashEmbedder())
                r.search("Katrina Yu", k=2)
                r.stats  # noqa: B018  (the status line reads it)
            except QAError as exc:
                if "qa index" not in str(exc):
                    failures.append((key, bad, f"QAError without a command: {exc}"))
            except Exception as exc:  # noqa: BLE001  (the point of the test)
                failures.append((key, bad, f"{type(exc).__name__}: {exc}"))
    assert failures == []


# --- 6. Hostile files -------------------------------------------------------------------------


def test_the_file_matrix_each_file_indexed_or_skipped_with_a_reason(
    seed_corpus, tmp_path, capsys, hash_default_embedder
):
    corpus = seed_corpus
    outside = tmp_path / "outside.txt"
    outside.write_text("A zqsecretzq outside the corpus.")
    files = {
        "zero.txt": b"",
        "binary.txt": bytes(range(256)) * 20,
        "invalid-utf8.md": b"Good start \xc3\x28 then \xff\xfe broken bytes.",
        "latin1.txt": "Caf\xe9 cr\xe8me, na\xefve r\xe9sum\xe9.".encode("latin-1"),
        "name with spaces.txt": b"Harbour pilots watched the fog lift over the breakwater.",
        "新闻 报道.md": "---\ntitle: 港口新闻\n---\n港口今天重新开放。Ferries resumed at noon.\n".encode(),
        "café.txt": "The café on the quay reopened with a new espresso machine.".encode(),
        "cafe\u0301.txt": "A second café file whose name differs only in accents.".encode(),
    }
    for name, data in files.items():
        (corpus / name).write_bytes(data)
    (corpus / "loop.md").symlink_to(corpus / "loop.md")
    (corpus / "outside.txt").symlink_to(outside)
    sub = corpus / "sub"
    sub.mkdir()
    (sub / "up").symlink_to(corpus)  # a folder loop

    code = main(["index", "--corpus", str(corpus), "--index", str(tmp_path / "ix"), "--json"])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    skipped = {s["path"]: s["reason"] for s in report["skipped"]}
    assert skipped == {
        "zero.txt": "empty file",
        "binary.txt": "binary file (contains NUL bytes), not an article",
        "invalid-utf8.md": "not UTF-8 text; re-save it as UTF-8",
        "latin1.txt": "not UTF-8 text; re-save it as UTF-8",
        # NFD "cafe\u0301" sorts before NFC "café": the first one read keeps the id.
        "café.txt": "article id 'cafe' is already used by cafe\u0301.txt; rename one of them",
        "loop.md": "symlink loop; remove the link",
        "outside.txt": "symlink points outside the corpus folder; copy the file in instead",
        "sub/up": "symlink inside the corpus; its target is read from its real location",
    }
    added = set(report["added"])
    assert {"name-with-spaces", "cafe"} <= added and len(added) == 5 + 3
    r = Retriever.open(tmp_path / "ix", embedder=HashEmbedder())
    hit = r.search("港口今天重新开放", k=1, mode="bm25")[0]
    assert r.article(hit.article_id).path == "新闻 报道.md" and "港口今天重新开放" in hit.text
    assert "zqsecretzq" not in " ".join(a.text for a in r.articles())


def test_thousands_of_tiny_files(tmp_path):
    corpus = tmp_path / "tiny"
    corpus.mkdir()
    for i in range(2000):
        (corpus / f"note-{i:04d}.txt").write_text(f"Tiny note {i}. The word zq{i}x appears only here.\n")
    index = tmp_path / "ix"
    t0 = time.perf_counter()
    report = build_index(corpus, index, embedder=HashEmbedder())
    first = time.perf_counter() - t0
    assert report.articles == 2000 and not report.skipped
    r = Retriever.open(index, embedder=HashEmbedder())
    assert r.search("zq1234x", k=1)[0].article_id == "note-1234"
    (corpus / "note-0007.txt").unlink()
    report = build_index(corpus, index, embedder=HashEmbedder())
    assert report.removed == ("note-0007",) and report.embedded_chunks == 0
    print(f"\n2,000 files: first build {first:.2f}s")


def test_a_50_mb_article_is_read_and_chunked(tmp_path):
    """Ingest and chunking only (embedding 55,000 chunks is a benchmark, not a test)."""
    para = ("Lighthouse keepers on the northern coast voted to strike on Tuesday. "
            "“We kept the lamps lit,” said Mr. Olsen, 54, of the U.S. branch.\n\n")
    text = "Big headline\n\n" + para * (50_000_000 // len(para.encode()))
    (tmp_path / "big.txt").write_text(text, encoding="utf-8")
    assert (tmp_path / "big.txt").stat().st_size > 49_000_000
    t0 = time.perf_counter()
    (article,), skipped = load_corpus(tmp_path)
    t1 = time.perf_counter()
    chunks = chunk_article(article)
    t2 = time.perf_counter()
    assert not skipped and article.title == "Big headline"
    assert chunks[0].start == 0 and chunks[-1].end == len(article.text)
    for c in chunks[:: max(1, len(chunks) // 500)]:
        assert article.text[c.start : c.end] == c.text and c.text.startswith("Lighthouse")
    print(f"\n50 MB: read {t1 - t0:.1f}s, chunked {t2 - t1:.1f}s, {len(chunks)} chunks")


def _load_corpus_as_nobody(corpus: Path) -> dict:
    """load_corpus in a forked child that dropped root (uid/gid 65534), so permission bits
    really apply; the result comes back as JSON through a pipe."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        try:
            os.close(r)
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            articles, skipped = load_corpus(corpus)
            payload = {"articles": [a.id for a in articles],
                       "skipped": {s.path: s.reason for s in skipped}}
        except BaseException as exc:  # noqa: BLE001
            payload = {"error": f"{type(exc).__name__}: {exc}"}
        os.write(w, json.dumps(payload).encode())
        os._exit(0)
    os.close(w)
    chunks = []
    while block := os.read(r, 65536):
        chunks.append(block)
    os.close(r)
    os.waitpid(pid, 0)
    return json.loads(b"".join(chunks))


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop to another user")
def test_unreadable_file_and_folder_with_real_permissions():
    root = Path(tempfile.mkdtemp(prefix="qa-perm-"))  # outside pytest's 0700 tmp folders
    try:
        root.chmod(0o755)
        (root / "good.txt").write_text("Readable article text.")
        (root / "locked.txt").write_text("Secret.")
        (root / "locked.txt").chmod(0)
        (root / "closed").mkdir()
        (root / "closed" / "inner.txt").write_text("Inside a closed folder.")
        (root / "closed").chmod(0)
        result = _load_corpus_as_nobody(root)
    finally:
        (root / "closed").chmod(0o755)
        shutil.rmtree(root)
    assert result == {
        "articles": ["good"],
        "skipped": {"closed/": "folder cannot be read (Permission denied)",
                    "locked.txt": "cannot be read (permission denied); check its permissions"},
    }


# Arbitrary text plus what breaks naive readers: line ends, BOMs, zero-width, combining marks,
# bidi controls, surrogate-free astral characters, very long lines without punctuation.
_ODD = st.sampled_from(["\r\n", "\r", "\n", "\n\n", "\ufeff", "\u200b", "\u200d", "\u0301",
                        "\u202e", "\u2028", "\x0c", "\t", "\u00a0", "😀", "e\u0301", ". ", "? ",
                        "---\n", "title: x\n", "a" * 3000, "word " * 400])
_BODY = st.lists(st.one_of(st.text(max_size=30), _ODD), max_size=40).map("".join)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=_BODY, ext=st.sampled_from([".txt", ".md", ".jsonl"]),
       encoding=st.sampled_from(["utf-8", "utf-8-sig", "raw"]), raw=st.binary(max_size=200))
def test_ingest_then_chunk_never_crashes_and_offsets_hold(body, ext, encoding, raw):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        path = root / f"a{ext}"
        if encoding == "raw":
            path.write_bytes(raw)
        elif ext == ".jsonl":
            path.write_text(json.dumps({"id": "1", "title": body[:20], "text": body}) + "\n",
                            encoding=encoding)
        else:
            path.write_text(body, encoding=encoding, newline="")
        articles, skipped = read_article_file(path, root)
    assert len(articles) + len(skipped) >= 1 or (ext == ".jsonl" and encoding == "raw")
    for s in skipped:
        assert s.reason and s.path.startswith(f"a{ext}")
    for a in articles:
        # (A text of only invisible characters, e.g. "\u200b", is still an article: harmless.)
        assert "\r" not in a.text and a.text.strip()
        pos = 0
        for c in chunk_article(a):
            assert a.text[c.start : c.end] == c.text
            assert a.text[pos : c.start].strip() == "" or c.start < pos
            pos = max(pos, c.end)
        assert a.text[pos:].strip() == ""


# --- 7. Untrusted text never becomes code or markup -------------------------------------------

_CODE_FROM_DATA = re.compile(
    r"\bimport pickle\b|\bpickle\.|\bcPickle\b|\bdill\b|\bmarshal\.|\bshelve\b|\bjoblib\b"
    r"|allow_pickle\s*=\s*True|(?<![.\w])eval\(|(?<![.\w])exec\(|torch\.load\(|yaml\.load\("
)


def test_no_pickle_or_eval_anywhere_in_qa():
    found = [
        f"{p.relative_to(REPO)}:{n}: {line.strip()}"
        for p in sorted((REPO / "qa").rglob("*.py"))
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), start=1)
        if _CODE_FROM_DATA.search(line)
    ]
    assert found == []


class _Payload:
    """Unpickling this creates the marker file: proof that code from the index ran."""

    marker = ""

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.mark.parametrize("part", ["texts.offsets", "chunks.ids", "bm25.codes", "bm25.docs",
                                  "statistics.df", "order.rows", "dense.vectors"])
def test_a_planted_pickle_in_the_index_is_refused_not_run(part, seed_index, seed_corpus, tmp_path):
    marker = tmp_path / "PWNED"
    _Payload.marker = str(marker)
    evil = np.array([_Payload(), 1], dtype=object)
    target = part_path(seed_index, part)
    np.save(target, evil, allow_pickle=True)
    m = json.loads(manifest_path(seed_index).read_text())
    m["files"][file_key(target)] = target.stat().st_size
    manifest_path(seed_index).write_text(json.dumps(m))

    if part == "dense.vectors":  # the dense part: BM25 answers, and says what to run
        r = Retriever.open(seed_index, embedder=HashEmbedder())
        assert r.search("Katrina Yu")[0].via == "bm25" and "qa index --full" in r.fallback_reason
    else:
        with pytest.raises(IndexCorruptError, match="qa index --full"):
            Retriever.open(seed_index, embedder=HashEmbedder()).search("Katrina Yu")
    (seed_corpus / "new.md").write_text(NEW)
    report = build_index(seed_corpus, seed_index, embedder=HashEmbedder(), full=True)
    assert report.full and report.articles == 6
    assert Retriever.open(seed_index, embedder=HashEmbedder()).search("tulips")[0].via != "bm25"
    assert not marker.exists()


def test_markup_and_escapes_in_file_names_stay_literal_in_qa_index(
    seed_corpus, tmp_path, capsys, hash_default_embedder
):
    (seed_corpus / "[bold red]evil[blink] \x1b[31mred\x07.txt").write_bytes(b"")
    assert main(["index", "--corpus", str(seed_corpus), "--index", str(tmp_path / "ix")]) == 0
    err = capsys.readouterr().err
    # Markup stays literal; the escape's ESC and the BEL are removed (qa.text.terminal_safe).
    assert "skipped [bold red]evil[blink] [31mred.txt: empty file" in err and "\x1b" not in err
    assert "\x1b" not in err and "\x07" not in err


HOSTILE = (
    "---\ntitle: \"[bold red]Harbour[/] strike \x1b[31mred\"\n---\n"
    "Lighthouse keepers on the Meridian coast voted to strike on Tuesday.\n"
    "\"We will [blink]never[/blink] give up \x1b[2J the lamps,\" said Marta Olsen, the union leader.\n"
)


@pytest.mark.parametrize("argv", [
    ["ask", "What did Marta Olsen say about the [bold]lamps[/] \x1b[31m?", "--mode", "bm25"],
    ["quotes", "Olsen"],
])
def test_markup_and_escapes_stay_literal_in_qa_ask_and_qa_quotes(argv, seed_corpus, make_index, capsys):
    (seed_corpus / "hostile.md").write_text(HOSTILE, encoding="utf-8")
    index = make_index(seed_corpus)
    assert main([*argv, "--index", str(index)]) == 0
    out = capsys.readouterr().out
    assert "[blink]never[/blink]" in out and "[2J" in out and "\x1b" not in out
    assert "\x1b" not in out


def test_a_reader_opened_before_a_full_rebuild_keeps_its_generation(seed_corpus, seed_index):
    """The chat opens the index, then the dense part loads lazily (warm-up, first question).
    A `qa index --full` published in between must not delete the generation it opened."""
    r = Retriever.open(seed_index, embedder=HashEmbedder())
    (seed_corpus / "new.md").write_text(NEW)
    build_index(seed_corpus, seed_index, embedder=HashEmbedder(), full=True)
    hits = r.search("Who is Katrina Yu?", k=3, mode="hybrid")
    assert r.fallback_reason is None and {h.via for h in hits} != {"bm25"}
    assert r.reload_if_changed() and r.stats.articles == 6


def test_a_doubled_bom_does_not_reach_the_title(tmp_path):
    """Found by the property test above: a file saved twice by a BOM-writing editor."""
    (tmp_path / "a.txt").write_bytes(b"\xef\xbb\xbf\xef\xbb\xbfHarbour reopens\n\nThe harbour reopened.\n")
    (tmp_path / "b.txt").write_bytes(b"\xef\xbb\xbf\xef\xbb\xbf")
    (a,), skipped = load_corpus(tmp_path)
    assert a.title == "Harbour reopens" and a.text == "The harbour reopened."
    assert [(s.path, s.reason) for s in skipped] == [("b.txt", "no article text (only metadata or boilerplate)")]


def test_same_size_damage_is_found_by_qa_index_check(seed_index, capsys):
    assert main(["index", "--check", "--index", str(seed_index)]) == 0
    assert "intact" in capsys.readouterr().out
    f = part_path(seed_index, "texts.texts")
    blob = bytearray(f.read_bytes())
    blob[10:14] = b"XXXX" if blob[10:14] != b"XXXX" else b"YYYY"  # same size, other bytes
    f.write_bytes(bytes(blob))
    assert main(["index", "--check", "--index", str(seed_index)]) == 2
    err = capsys.readouterr().err
    assert f"{f.name} has changed" in err and "qa index --full" in err


def test_vectors_of_another_width_fall_back_to_bm25_and_say_why(seed_index, capsys):
    import numpy as np

    path = part_path(seed_index, "dense.vectors")
    vectors = np.load(path)
    narrow = np.ascontiguousarray(vectors[:, :32])
    np.save(path, narrow)
    m = json.loads(manifest_path(seed_index).read_text())
    m["files"][file_key(path)] = path.stat().st_size
    # Its checksum too: a file that checks out, of the wrong width.
    m["checksums"][file_key(path)] = sha256_of(path)
    manifest_path(seed_index).write_text(json.dumps(m))
    r = Retriever.open(seed_index, embedder=HashEmbedder())
    hits = r.search("Who is Katrina Yu?", k=3)
    assert hits and all(h.via == "bm25" for h in hits)
    assert "width 32" in r.fallback_reason and "qa index --full" in r.fallback_reason


@pytest.mark.parametrize("edit", [{"dim": 10**12}, {"max_length": -1},
                                  {"onnx_file": "../../../etc/passwd"}, {"onnx_file": "/etc/x"},
                                  {"dim": "384"}])
def test_a_tampered_model_config_is_refused(edit, tmp_path):
    from qa.embed.onnx import FORMAT_VERSION, OnnxConfig
    from qa.errors import ModelUnavailableError

    good = {"format_version": FORMAT_VERSION, "source_model": "m", "dim": 384, "max_length": 256,
            "pooling": "mean", "normalize": True, "onnx_file": "model.onnx", "quantized": False,
            "onnx_sha256": "0" * 64, "onnx_bytes": 1000, "pad_token_id": 0}
    (tmp_path / "config.json").write_text(json.dumps(good))
    assert OnnxConfig.read(tmp_path).dim == 384
    (tmp_path / "config.json").write_text(json.dumps(dict(good, **edit)))
    with pytest.raises(ModelUnavailableError, match="qa index --full"):
        OnnxConfig.read(tmp_path)


def test_a_full_disk_while_copying_the_query_model_says_the_index_is_published(
        seed_index, monkeypatch):
    """The model copy comes after the manifest swap: ENOSPC there must not read as a failed
    build ("previous index unchanged"), and must not make every later `qa index` fail."""
    from qa.build import builder as build_mod
    from qa.embed.embedder import SentenceTransformerEmbedder
    from qa.index import query_model

    def full(index_dir, name, *, quantize=False):
        raise OSError(errno.ENOSPC, "No space left on device", str(index_dir / "onnx-x"))

    monkeypatch.setattr(query_model, "ensure_query_model", full)
    notes = build_mod._export_query_model(seed_index, SentenceTransformerEmbedder("all-MiniLM-L6-v2"))
    assert len(notes) == 1 and "The index is published" in notes[0]
    assert "No space left on device" in notes[0] and "Free space" in notes[0]
    assert Retriever.open(seed_index, embedder=HashEmbedder()).search("Katrina Yu", mode="bm25")
