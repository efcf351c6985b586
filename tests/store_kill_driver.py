"""kill -9 mid-insert, for tests/test_store_backends.py. Two roles:

    python store_kill_driver.py insert MODE STORE WORK
        the inserter: loops (bounded) inserting, and prints `acked ...` once each insert has
        returned. MODE "build": each round adds an article to WORK/corpus and runs
        build_index with the store STORE ("local" or "milvus", a milvus-lite file
        WORK/store.db). MODE "upsert" (milvus): each round upserts a batch of rows straight
        into the store.

    python store_kill_driver.py scenario MODE STORE WORK SEED
        starts the inserter in a session of its own, lets it acknowledge a few inserts,
        SIGKILLs the whole session at a random moment (seeded), then reopens the index and
        the store and prints one JSON line of facts for the test to check.

The Milvus runs go through a network namespace (milvus-lite serves the file on a 127.0.0.1
port), so the scenario runs whole inside one: inserter, kill and reopening.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from conftest import HashEmbedder  # noqa: E402

ROUNDS = 400  # the inserter's bound; the kill lands long before
DIM = 384
BATCH = 200


def token(i: int) -> str:
    """A word only article i holds (letters only: every tokenizer keeps it whole)."""
    return "zq" + "".join("abcdefghij"[int(d)] for d in str(i)) + "xv"


def article_text(i: int) -> str:
    return (f"# Harbour report {i}\n\nThe {token(i)} delegation met the harbour board on "
            f"day {i}. Officials said the {token(i)} talks would continue next week.\n")


def insert(mode: str, store: str, work: Path) -> None:
    db = str(work / "store.db")
    if mode == "upsert":
        import numpy as np

        from qa.index.backend import StoreChunks
        from qa.index.milvus import MilvusBackend

        backend = MilvusBackend(db, "qa_kill")
        backend.create(DIM)
        rng = np.random.default_rng(0)
        for r in range(ROUNDS):
            ids = np.arange(r * BATCH + 1, (r + 1) * BATCH + 1, dtype=np.int64)
            vectors = rng.normal(size=(BATCH, DIM)).astype(np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            backend.upsert(StoreChunks(
                ids=ids, vectors=vectors, texts=[f"row {i} {token(int(i))}" for i in ids],
                articles=[f"a{i}" for i in ids], dates=np.full(BATCH, 20220101, np.int64),
                starts=np.zeros(BATCH, np.int64), ends=np.ones(BATCH, np.int64)))
            print(f"acked {int(ids[-1])}", flush=True)
        return
    from qa import build_index

    corpus = work / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    for i in range(ROUNDS):
        (corpus / f"kill-{i:04d}.md").write_text(article_text(i), encoding="utf-8")
        report = build_index(corpus, work / "index", embedder=HashEmbedder(), store=store,
                             milvus_uri=db if store == "milvus" else None)
        for aid in report.added:
            print(f"acked {aid} {i}", flush=True)


def scenario(mode: str, store: str, work: Path, seed: int) -> dict:
    rng = random.Random(seed)
    want = rng.randint(2, 5)  # acknowledged inserts before the kill window opens
    child = subprocess.Popen([sys.executable, __file__, "insert", mode, store, str(work)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             start_new_session=True)
    acked: list[str] = []
    deadline = time.monotonic() + 90
    assert child.stdout is not None
    while len(acked) < want and time.monotonic() < deadline:
        line = child.stdout.readline()
        if not line:
            break
        if line.startswith("acked "):
            acked.append(line.split(" ", 1)[1].strip())
    time.sleep(rng.uniform(0.0, 0.6))  # land somewhere inside the next insert
    os.killpg(child.pid, signal.SIGKILL)  # the inserter and anything it started
    rest, err = child.communicate(timeout=30)
    acked += [line.split(" ", 1)[1].strip() for line in rest.splitlines()
              if line.startswith("acked ")]
    facts: dict = {"acked": len(acked), "returncode": child.returncode,
                   "stderr": err[-2000:] if len(acked) < want else ""}
    if mode == "upsert":
        from qa.index.milvus import MilvusBackend

        backend = MilvusBackend(str(work / "store.db"), "qa_kill")
        last = max((int(a) for a in acked), default=0)
        present = backend.present(list(range(1, last + 1)))
        facts.update(last_acked=last, present=int(len(present)), count=backend.count())
        return facts
    return facts | check_build(store, work, acked)


def check_build(store: str, work: Path, acked: list[str]) -> dict:
    from qa import Retriever, build_index
    from qa.index import Index
    from qa.index.store_sync import live_chunk_ids

    index = work / "index"
    ix = Index.open(index)
    ids = [a.split()[0] for a in acked]
    rounds = [int(a.split()[1]) for a in acked]
    live = [aid for aid in ids if ix.locate(aid) is not None]
    retriever = Retriever.open(index, embedder=HashEmbedder())
    found = []
    for aid, i in zip(ids, rounds):
        hits = retriever.search(f"{token(i)} delegation", k=1)
        found.append(bool(hits) and hits[0].article_id == aid)
    facts = {"live": len(live), "found": sum(found)}
    if store == "milvus":
        chunk_ids = [c.id for aid in live for c in ix.chunks_of(aid)]
        present = ix.store.present(chunk_ids)
        facts.update(chunks=len(chunk_ids), present=int(len(present)),
                     extra_before=int(ix.store.count()) - ix.n_chunks)
        # The next build cleans up what the killed one left: the store converges.
        build_index(work / "corpus", index, embedder=HashEmbedder())
        after = Index.open(index)
        live_ids = live_chunk_ids(after)
        facts.update(count_after=int(after.store.count()), live_after=int(len(live_ids)),
                     present_after=int(len(after.store.present(live_ids.tolist()))))
    return facts


if __name__ == "__main__":
    role, mode, store, work = sys.argv[1], sys.argv[2], sys.argv[3], Path(sys.argv[4])
    if role == "insert":
        insert(mode, store, work)
    else:
        print(json.dumps(scenario(mode, store, work, int(sys.argv[5]))), flush=True)
