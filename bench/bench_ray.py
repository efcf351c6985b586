"""Build throughput on Ray: the local loop against `qa index --executor ray` on 1 and 2 nodes.

    .venv/bin/python bench/bench_ray.py [--articles 60] [--backends openvino,torch] [--rounds 1]
        [--max-seconds 1500] [--no-write]

The script runs itself again inside a network namespace of its own (`unshare -n`, only
loopback up), as the Ray tests do. There it writes the first --articles Wikinews articles
(../shared/news/wikinews) as one CSV corpus and builds it from scratch (`qa index --full`)
three ways, in one run, in this order each round:

- local: `qa index` as every build runs without --executor (one process, the backend's
  threads on every core);
- ray, 1 node: a Ray cluster of one node with one CPU (tests/ray_driver.py starts it with
  ray.cluster_utils), `qa index --executor ray`: one actor, one inference thread;
- ray, 2 nodes: the same with a second node of one CPU: two actors.

chunks/s = embedded chunks / the whole build's wall time as `qa index --json` reports it
(reading, embedding, writing; for Ray also connecting and starting the actors, which load the
model). Starting the cluster is not counted (it is printed). The two "nodes" are two raylets on
this one host and share its cores with the driver and with whatever else runs here: the load
average before and after each row is part of the figure. Writes the "Distributed builds on
Ray" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

sys.path.insert(0, str(common.ROOT / "tests"))
from ray_driver import QaRun  # noqa: E402

SECTION = "Distributed builds on Ray"
DRIVER = common.ROOT / "tests" / "ray_driver.py"
PROGRESS = re.compile(r"embedding (\d+)/(\d+) chunks")


def write_corpus(folder: Path, articles: int) -> int:
    """The first `articles` Wikinews articles as one CSV file; returns how many were written."""
    folder.mkdir(parents=True, exist_ok=True)
    csv.field_size_limit(1 << 26)
    written = 0
    with (folder / "wikinews.csv").open("w", encoding="utf-8", newline="") as out:
        writer = None
        for path in sorted((common.NEWS / "wikinews").glob("*.csv")):
            with path.open(encoding="utf-8", newline="") as handle:
                reader = csv.DictReader(handle)
                for row in reader:
                    if written >= articles:
                        return written
                    if writer is None:
                        writer = csv.DictWriter(out, fieldnames=reader.fieldnames or [])
                        writer.writeheader()
                    writer.writerow(row)
                    written += 1
    return written


def load1() -> float:
    return round(os.getloadavg()[0], 2)


def steady_rate(lines: list[tuple[float, str]]) -> float | None:
    """chunks/s between the first progress line past 0 chunks and the last one: embedding
    once it runs, without the model loading (local) or the actors starting (Ray)."""
    points = [(t, int(m[1])) for t, line in lines if (m := PROGRESS.search(line))]
    started = [(t, n) for t, n in points if n > 0]
    if len(started) < 2 or started[-1][0] <= started[0][0]:
        return None
    return (started[-1][1] - started[0][1]) / (started[-1][0] - started[0][0])


def local_build(corpus: Path, index: Path, backend: str, seconds: float) -> dict[str, Any]:
    load_before = load1()
    run = QaRun(["index", "--corpus", str(corpus), "--index", str(index), "--full", "--json",
                 "--runtime", backend]).finish(time.monotonic() + seconds)
    if run["returncode"] != 0:
        raise SystemExit(f"bench_ray: the local build failed:\n{run['stderr']}")
    report = json.loads(run["stdout"])
    return {"chunks": report["embedded_chunks"], "seconds": report["seconds"],
            "steady": steady_rate(run["stderr_times"]),
            "load": (load_before, load1()), "nodes": {}, "cluster_seconds": None}


def ray_build(corpus: Path, index: Path, backend: str, nodes: int, seconds: float,
              work: Path) -> dict[str, Any]:
    spec = {"nodes": nodes, "max_seconds": seconds, "builds": [
        {"corpus": str(corpus), "index": str(index),
         "args": ["--full", "--json", "--runtime", backend]}]}
    spec_path, out_path = work / f"spec-{nodes}.json", work / f"out-{nodes}.json"
    spec_path.write_text(json.dumps(spec), encoding="utf-8")
    load_before = load1()
    subprocess.run([sys.executable, str(DRIVER), str(spec_path), str(out_path)],
                   check=True, timeout=seconds + 120)
    result = json.loads(out_path.read_text(encoding="utf-8"))
    if "error" in result:
        raise SystemExit(f"bench_ray: the Ray cluster failed:\n{result['error']}")
    build = result["builds"][0]
    if build["returncode"] != 0:
        raise SystemExit(f"bench_ray: the Ray build failed:\n{build['stderr']}")
    report = json.loads(build["stdout"])
    from qa.index import read_manifest

    by_node = read_manifest(index).executor["chunks_by_node"]
    names = {result["head"]: "head", result.get("worker"): "second"}
    return {"chunks": report["embedded_chunks"], "seconds": report["seconds"],
            "steady": steady_rate(build["stderr_times"]),
            "load": (load_before, load1()), "cluster_seconds": result["cluster_seconds"],
            "nodes": {names.get(k, k[:8]): v for k, v in by_node.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=60)
    parser.add_argument("--backends", default="openvino",
                        help="embedding backends, comma-separated; each is measured the three "
                             "ways (default openvino, what qa calibrate chose on this machine)")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--max-seconds", type=float, default=1500,
                        help="give up on a build after this long")
    parser.add_argument("--no-write", action="store_true", help="print, do not write the doc")
    args = parser.parse_args()
    common.in_network_namespace("bench_ray")

    work = Path(tempfile.mkdtemp(prefix="qa-bench-ray-"))
    try:
        corpus = work / "corpus"
        n_articles = write_corpus(corpus, args.articles)
        rows: list[tuple[str, dict[str, Any]]] = []
        backends = args.backends.split(",")
        t_end = time.monotonic() + args.max_seconds * 3 * args.rounds * len(backends)
        plan = [(r, backend, name) for r in range(args.rounds) for backend in backends
                for name in ("local loop", "ray, 1 node", "ray, 2 nodes")]
        for r, backend, name in plan:
            if time.monotonic() > t_end:
                break
            index = work / f"index-{r}-{backend}-{name.replace(' ', '').replace(',', '')}"
            if name == "local loop":
                row = local_build(corpus, index, backend, args.max_seconds)
            else:
                row = ray_build(corpus, index, backend, int(name.split()[1]), args.max_seconds,
                                work)
            row["backend"] = backend
            print(f"round {r + 1} {backend} {name}: {row['chunks']} chunks in "
                  f"{row['seconds']:.1f} s = {row['chunks'] / row['seconds']:.2f} chunks/s "
                  f"(steady {row['steady'] or 0:.2f}), load {row['load']}, by node "
                  f"{row['nodes']}, cluster start {row['cluster_seconds']} s", flush=True)
            rows.append((name, row))
        body = report(rows, n_articles, args)
        print(body)
        if not args.no_write:
            common.replace_section(SECTION, body)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def report(rows: list[tuple[str, dict[str, Any]]], n_articles: int, args: Any) -> str:
    base: dict[str, float] = {}  # the local loop's chunks/s over its rounds, by backend
    for backend in {r["backend"] for _, r in rows}:
        local = [r for n, r in rows if n == "local loop" and r["backend"] == backend]
        if local:
            base[backend] = sum(r["chunks"] for r in local) / sum(r["seconds"] for r in local)
    lines = [
        common.section_header(),
        f"- Corpus: the first {n_articles} Wikinews articles (../shared/news/wikinews), "
        f"{rows[0][1]['chunks'] if rows else 0} chunks, each build from scratch "
        f"(`qa index --full`); each row names its embedding backend, the same for the local "
        "loop and the actors (`vs local`: against the local loop of that backend, all its "
        "rounds).",
        "- local loop: `qa index` without --executor, the backend's threads on both cores. "
        "ray: `qa index --executor ray` against a `ray.cluster_utils.Cluster` of 1 or 2 "
        "nodes, each node one CPU (one actor, one inference thread). The 2 nodes are two "
        "raylets on this one 2-core host, sharing it with the driver (qa index itself) and "
        "with other work: the 1-minute load average is given before and after each row.",
        "- chunks/s counts the whole build as `qa index --json` reports it; for Ray that "
        "includes connecting and starting the actors (each loads the model), not starting "
        "the cluster (its time is given). *steady chunks/s*: from the first progress line "
        "past 0 chunks to the last (the build prints one per tenth of the chunks), i.e. "
        "embedding once the model or the actors are up.",
        "- Two nodes on one 2-core host add no cores: these rows show what the executor "
        "costs and that the work is split, not how a cluster of real machines scales.",
        "",
        "| build | backend | round | chunks | seconds | chunks/s | vs local | steady chunks/s | "
        "chunks by node | cluster start (s) | load before / after |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    rounds: dict[str, int] = {}
    for name, row in rows:
        key = f"{name} {row['backend']}"
        rounds[key] = rounds.get(key, 0) + 1
        rate = row["chunks"] / row["seconds"]
        ratio = f"{rate / base[row['backend']]:.2f}x" if row["backend"] in base else "-"
        nodes = ", ".join(f"{k} {v}" for k, v in row["nodes"].items()) or "-"
        start = row["cluster_seconds"] if row["cluster_seconds"] is not None else "-"
        steady = f"{row['steady']:.2f}" if row["steady"] else "-"
        lines.append(f"| {name} | {row['backend']} | {rounds[key]} | {row['chunks']} | "
                     f"{row['seconds']:.1f} | "
                     f"{rate:.2f} | {ratio} | {steady} | {nodes} | {start} | "
                     f"{row['load'][0]} / {row['load'][1]} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
