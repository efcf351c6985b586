"""`qa serve` under concurrent clients: requests/s and p50/p95 latency of `/search` and `/ask`.

    .venv/bin/python bench/bench_serve.py [--corpus ../shared/news/wikinews]
        [--questions bench/sets/wikinews.jsonl] [--clients 1,4,16] [--requests 200]
        [--seconds 30] [--no-write]

The script runs itself again inside a network namespace of its own (`unshare -n`, only
loopback up), so the server and its clients talk over loopback and nothing else: it needs
root or unprivileged user namespaces (`unshare -rn`). There it builds the corpus with the
real model once (kept under ~/.cache/qa/bench/serve), starts `qa serve` (one process: FastAPI
runs the endpoints in its thread pool), waits for /health, sends each question once from one
client (the "first pass"), then for each endpoint and each number of clients sends requests from that many
threads, each on its own keep-alive connection, cycling through the questions: at most
--requests requests or --seconds seconds per level, whichever ends first. requests/s =
answered requests / wall time of the level; latency is per request, as the client saw it.
Writes the "Serving" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

SECTION = "Serving"
PORT = 8000


def ensure_index(corpus: Path) -> Path:
    index = common.WORK / "serve" / f"{corpus.name}-index"
    index.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "qa.cli", "index", "--corpus", str(corpus),
                    "--index", str(index)], check=True, cwd=common.ROOT)
    return index


def questions(path: Path) -> list[str]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return [r["question"] for r in rows if not r.get("history")]


@contextlib.contextmanager
def running_server(index: Path) -> Iterator[subprocess.Popen]:
    """`qa serve` on the index, answering /health (model loaded); stopped on exit."""
    with tempfile.TemporaryFile() as log:
        server = subprocess.Popen([sys.executable, "-m", "qa.cli", "serve", "--index",
                                   str(index), "--port", str(PORT)], stdout=log,
                                  stderr=subprocess.STDOUT, cwd=common.ROOT)
        try:
            deadline = time.monotonic() + 180
            while True:
                if server.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    raise RuntimeError(f"qa serve did not start:\n{log.read().decode()[-2000:]}")
                try:
                    if json.loads(_get("/health")).get("status") == "ok":
                        break
                except (OSError, ValueError):
                    pass
                time.sleep(0.2)
            yield server
        finally:
            server.send_signal(signal.SIGINT)  # the server this started, by its id
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def load(paths: list[str], clients: int, max_requests: int, max_seconds: float) -> dict:
    """Send paths[i % len] for i < max_requests from `clients` threads, for at most
    max_seconds; the latencies of the answered ones."""
    latencies: list[float] = []
    failures = 0
    lock = threading.Lock()
    counter = iter(range(max_requests))
    started = time.perf_counter()
    deadline = started + max_seconds

    def client() -> None:
        nonlocal failures
        conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=max_seconds + 60)
        try:
            while time.perf_counter() < deadline:
                with lock:
                    i = next(counter, None)
                if i is None:
                    return
                t0 = time.perf_counter()
                conn.request("GET", paths[i % len(paths)])
                reply = conn.getresponse()
                reply.read()
                took = time.perf_counter() - t0
                with lock:
                    if reply.status == 200:
                        latencies.append(took)
                    else:
                        failures += 1
        finally:
            conn.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    return {"clients": clients, "answered": len(latencies), "failed": failures, "seconds": wall,
            "rps": len(latencies) / wall if wall else 0.0,
            "p50_ms": common.percentile(latencies, 50) * 1000 if latencies else float("nan"),
            "p95_ms": common.percentile(latencies, 95) * 1000 if latencies else float("nan")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=common.NEWS / "wikinews")
    parser.add_argument("--questions", type=Path,
                        default=common.ROOT / "bench" / "sets" / "wikinews.jsonl")
    parser.add_argument("--clients", default="1,4,16")
    parser.add_argument("--requests", type=int, default=200, help="per endpoint and level")
    parser.add_argument("--seconds", type=float, default=30.0, help="per endpoint and level")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    common.in_network_namespace("bench_serve")
    if not args.corpus.is_dir():  # a fresh clone without shared/: the seed corpus
        args.corpus, args.questions = common.ROOT / "corpus", common.ROOT / "bench" / "sets" / "seeds.jsonl"
    index = ensure_index(args.corpus)
    asked = questions(args.questions)
    # The set lists a few questions per article in a row; shuffled (fixed seed), concurrent
    # clients ask about different articles, as different users would.
    random.Random(0).shuffle(asked)
    endpoints = {
        "/search": ["/search?" + urlencode({"q": q, "k": 5}) for q in asked],
        "/ask": ["/ask?" + urlencode({"q": q}) for q in asked],
    }
    levels = [int(c) for c in args.clients.split(",")]
    rows: list[dict] = []

    def measure(label: str, cache: str, paths: list[str], clients: int, count: int,
                seconds: float) -> None:
        row = {"endpoint": label, "cache": cache, **load(paths, clients, count, seconds)}
        rows.append(row)
        print(json.dumps(row), flush=True)

    # Cold: a new server for each level, so every answer embeds the sentences it reads.
    for clients in levels:
        with running_server(index):
            measure("/ask", "cold", endpoints["/ask"], clients, args.requests, args.seconds)
    # Warm: one server; a first pass over every question from one client fills the answerer's
    # caches (sentence vectors of the chunks read), as serving for a while does.
    with running_server(index):
        health = json.loads(_get("/health"))
        for name, paths in endpoints.items():
            measure(name, "first pass", paths, 1, len(paths), 180)
        for name, paths in endpoints.items():
            for clients in levels:
                measure(name, "warm", paths, clients, args.requests, args.seconds)
    stats = health["stats"]
    table = ["| endpoint | caches | clients | requests | requests/s | p50 ms | p95 ms | failed |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        table.append(f"| `{r['endpoint']}` | {r['cache']} | {r['clients']} | {r['answered']} | "
                     f"{r['rps']:.1f} | "
                     f"{r['p50_ms']:.0f} | {r['p95_ms']:.0f} | {r['failed']} |")
    def shown(path: Path, root: Path) -> str:
        try:
            return str(path.resolve().relative_to(root))
        except ValueError:
            return str(path)

    corpus_name = shown(args.corpus, common.ROOT.parent)
    body = (
        common.section_header() + "\n"
        f"`qa serve` on the local backend (embedded FAISS + BM25), one process, index of "
        f"`{corpus_name}` built with the real model: {stats['articles']} articles, "
        f"{stats['chunks']} chunks, {health['mode']}. Requests cycle through the "
        f"{len(asked)} questions of `{shown(args.questions, common.ROOT)}`, shuffled "
        "(seed 0; `/search`: k=5). Server and clients share the machine's 2 cores, inside a network "
        "namespace of their own (loopback only).\n\n" + "\n".join(table) + "\n\n"
        "*cold*: a new server for each level (model loaded at start-up, the answerer's "
        "caches empty), so each answer embeds the sentences it reads, as on a corpus much "
        "larger than the caches. *first pass*: every question once from one client, on a new "
        "server; it fills the caches (sentence vectors of the chunks read: all of this "
        "corpus's chunks fit in them), as serving for a while does. *warm*: then, on that "
        "server. Each level: at most "
        f"{args.requests} requests or {args.seconds:.0f} s, whichever ends first. "
        "*requests/s*: answered requests / wall time of the level; *p50/p95*: per-request "
        "latency seen by the client (keep-alive connections), so with more clients than cores "
        "it includes the wait for a core.\n"
    )
    print(body)
    if not args.no_write:
        common.replace_section(SECTION, body)
    return 0


def _get(path: str) -> bytes:
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
    conn.request("GET", path)
    return conn.getresponse().read()


if __name__ == "__main__":
    sys.exit(main())
