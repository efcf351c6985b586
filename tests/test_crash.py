"""A build killed with SIGKILL (a real process) leaves the previous index loadable and
answering exactly as before; the next build completes and cleans up."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from qa import Retriever, build_index
from qa.store import read_manifest

from conftest import HashEmbedder

DRIVER = Path(__file__).resolve().parent / "build_driver.py"
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
    assert not [p for p in index.iterdir() if p.name.startswith(".tmp-")]


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
    leftovers = [p.name for p in index.iterdir() if p.name.startswith((".tmp-", "data-"))]
    assert len([p for p in leftovers if p.startswith(".tmp-")]) == 0 and len(leftovers) <= 2


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
