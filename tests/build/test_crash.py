"""A build killed with SIGKILL (a real process) leaves the previous index loadable and
answering exactly as before; the next build completes and cleans up. Merges of segments
(size-tiered during updates, or `--optimize`) are killed the same way."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import HashEmbedder

from qa import Retriever, build_index
from qa.index import GENERATION_PREFIX, SEGMENT_PREFIX, TMP_PREFIX, read_manifest

DRIVER = Path(__file__).resolve().parents[1] / "build_driver.py"
QUESTIONS = ["Who is Katrina Yu?", "What did Zhao Lijian say NATO should abandon?", "video call"]


def _answers(index: Path) -> list[list[tuple[int, float]]]:
    r = Retriever.open(index, embedder=HashEmbedder())
    return [[(h.chunk_id, round(h.score, 9)) for h in r.search(q, k=5)] for q in QUESTIONS]


def _start(corpus: Path, index: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(DRIVER), str(corpus), str(index), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def test_sigkill_mid_embedding_keeps_the_old_index(seed_corpus, tmp_path):
    index = tmp_path / "ix"
    build_index(seed_corpus, index, embedder=HashEmbedder())
    before, manifest = _answers(index), read_manifest(index)
    (seed_corpus / "new.md").write_text("---\ntitle: New\n---\nA brand new article on tulips.\n")

    proc = _start(seed_corpus, index, "--full", "--slow", "0.2")
    assert proc.stdout.readline().strip() == "embedding"  # it is really mid-build
    time.sleep(0.5)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    assert read_manifest(index) == manifest
    assert _answers(index) == before
    report = build_index(seed_corpus, index, embedder=HashEmbedder())  # the lock was freed
    assert report.added == ("new",)
    assert not [p for p in index.iterdir() if p.name.startswith(TMP_PREFIX)]


@pytest.mark.parametrize("seed", range(int(os.environ.get("QA_CRASH_RUNS", "6"))))
def test_sigkill_at_random_moments(seed_corpus, tmp_path, seed):
    """Kill at a random moment anywhere in a build (reading, embedding, writing, publishing)."""
    index = tmp_path / "ix"
    build_index(seed_corpus, index, embedder=HashEmbedder())
    before = _answers(index)
    (seed_corpus / "new.md").write_text("---\ntitle: New\n---\nA brand new article on tulips.\n")
    proc = _start(seed_corpus, index, "--full", "--slow", "0.01")
    time.sleep(random.Random(seed).uniform(0.3, 2.5))
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    # Either the old index or the complete new one is live, never a mix.
    after = _answers(index)
    n = Retriever.open(index, embedder=HashEmbedder()).stats.articles
    assert (n == 5 and after == before) or n == 6
    build_index(seed_corpus, index, embedder=HashEmbedder())
    assert Retriever.open(index, embedder=HashEmbedder()).stats.articles == 6
    names = [p.name for p in index.iterdir()]
    assert not [n for n in names if n.startswith(TMP_PREFIX)]
    # The live generation and the one before it (kept for readers), and their segments.
    assert len([n for n in names if n.startswith(GENERATION_PREFIX)]) <= 2
    assert len([n for n in names if n.startswith(SEGMENT_PREFIX)]) <= 2


def _segments(index: Path) -> int:
    return len(read_manifest(index).segments)


@pytest.mark.parametrize("kind", ["optimize", "tiered"])
@pytest.mark.parametrize("seed", range(int(os.environ.get("QA_CRASH_RUNS", "6"))))
def test_sigkill_during_a_merge_keeps_a_working_index(seed_corpus, tmp_path, monkeypatch, kind, seed):
    """A merge is published like any build: killed at a random moment inside it (reading
    the segments, assembling, writing, renaming, swapping the manifest), the index is the
    old set of segments or the merged one, answering the same either way; the next build
    cleans up."""
    from qa.index import writer

    monkeypatch.setattr(writer, "SEGMENTS_PER_TIER", 3)
    index = tmp_path / "ix"
    build_index(seed_corpus, index, embedder=HashEmbedder())
    for i in range(2):  # two one-article segments beside the first: tier 0 holds two
        (seed_corpus / f"extra-{i}.md").write_text(f"---\ntitle: Extra {i}\n---\nTulip {i} report.\n")
        build_index(seed_corpus, index, embedder=HashEmbedder())
    assert _segments(index) == 3
    if kind == "tiered":  # the next update makes a third small segment: the tier is merged
        (seed_corpus / "extra-2.md").write_text("---\ntitle: Extra 2\n---\nTulip 2 report.\n")
        ref = tmp_path / "ref"
        build_index(seed_corpus, ref, embedder=HashEmbedder())
        valid = [_answers(index), _answers(ref)]
        extra = ("--tier", "3")
    else:
        valid = [_answers(index)]
        extra = ("--optimize",)
    before_segments = _segments(index)
    proc = _start(seed_corpus, index, "--slow-merge", "0.4", *extra)
    line = proc.stdout.readline().strip()
    if line == "embedding":
        line = proc.stdout.readline().strip()
    assert line == "merging", proc.stderr.read()
    time.sleep(random.Random(seed).uniform(0.0, 2.5))  # 0.4 + assembling + 0.4 + 2 x 0.1 + publishing
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert _answers(index) in valid
    after_segments = _segments(index)
    assert after_segments in ({before_segments, 1} if kind == "optimize"
                              else {before_segments, before_segments + 1, 2})
    print(f"\n{kind} kill {seed}: {before_segments} -> {after_segments} segments", end="")
    report = build_index(seed_corpus, index, embedder=HashEmbedder(), optimize=True)
    assert _segments(index) == 1 and _answers(index) == valid[-1]
    assert not [p for p in index.iterdir() if p.name.startswith(TMP_PREFIX)]
    assert report.articles == 5 + 2 + (kind == "tiered")


@pytest.mark.integration
def test_sigkill_of_the_real_cli_build(seed_corpus, tmp_path):
    """`qa index --full` with the real model, killed while it works."""
    index = tmp_path / "ix"
    build_index(seed_corpus, index)
    r = Retriever.open(index)
    before = [h.chunk_id for h in r.search("Who is Katrina Yu?", k=3)]
    qa = Path(sys.executable).with_name("qa")
    proc = subprocess.Popen([str(qa), "index", "--full", "--corpus", str(seed_corpus),
                             "--index", str(index)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(3.0)  # inside model loading or embedding
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    again = Retriever.open(index)
    assert [h.chunk_id for h in again.search("Who is Katrina Yu?", k=3)] == before
