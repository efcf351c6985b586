"""Embedding speed and fidelity: ONNX (onnxruntime + tokenizers) against sentence-transformers.

    .venv/bin/python bench/bench_embed.py [--n 500] [--slices 2] [--cold-runs 2] [--ndcg-docs 0] [--no-write]

1. Cold query: a new Python process imports, loads the model and embeds one question, timed
   from the parent (interpreter start included), for sentence-transformers and for the ONNX
   export (fp32 and int8). Best of `--cold-runs`.
2. Build throughput: `--n` chunks of ~150 words cut from SciFact abstracts (title + text, the
   shape the index embeds), for ST fp32, ONNX fp32 and ONNX int8, each with and without
   length bucketing, all in this one process after a warm-up batch, so the ratios share the
   same machine load. "No bucketing" for ST means `encode` called per batch in corpus order
   (`SentenceTransformer.encode` itself always sorts by character length).
3. Fidelity: min / mean cosine of the ONNX vectors against ST's on those chunks.
4. With `--ndcg-docs N` (0 = skip): dense-only nDCG@10 on the SciFact test queries over the
   judged documents plus random others up to N documents, for ONNX fp32 and int8 (ONNX fp32
   stands for ST there: their vectors agree to cosine 0.99999).

The ONNX models are exported into a temporary folder on each run (export needs torch, so it
runs in this process, which has it loaded anyway).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402  (needs the path above)

SECTION = "Embedding: ONNX vs sentence-transformers"
MODEL = "all-MiniLM-L6-v2"  # the packaged default, as recorded in manifests
QUESTION = "What did the central bank say about interest rates last week?"
BATCH = 32

# Each child prints {"import": s, "load": s, "encode": s}; the parent adds the wall time.
_COLD_ST = """
import json, time, sys
t0 = time.perf_counter()
from sentence_transformers import SentenceTransformer
from qa.config import resolve_model_path
t1 = time.perf_counter()
m = SentenceTransformer(resolve_model_path(sys.argv[1]), device="cpu")
t2 = time.perf_counter()
m.encode([sys.argv[2]], normalize_embeddings=True)
t3 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "load": t2 - t1, "encode": t3 - t2}))
"""
_COLD_ONNX = """
import json, time, sys
t0 = time.perf_counter()
from pathlib import Path
from qa.embed.onnx import OnnxEmbedder
t1 = time.perf_counter()
e = OnnxEmbedder(Path(sys.argv[1])); e.load()
t2 = time.perf_counter()
e.encode([sys.argv[2]])
t3 = time.perf_counter()
assert "torch" not in sys.modules
print(json.dumps({"import": t1 - t0, "load": t2 - t1, "encode": t3 - t2}))
"""


def scifact_chunks(n: int, words: int = 150) -> list[str]:
    """The first `n` ~150-word chunks of SciFact, each prefixed with its title."""
    out: list[str] = []
    with (common.SCIFACT / "corpus.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            doc = json.loads(line)
            tokens = doc["text"].split()
            for start in range(0, max(len(tokens), 1), words):
                out.append(f"{doc['title']}\n{' '.join(tokens[start:start + words])}")
                if len(out) >= n:
                    return out
    return out


def cold_query(script: str, arg: str, runs: int) -> dict:
    """Best-of-`runs` wall time of a fresh process that embeds one question."""
    best: dict | None = None
    for _ in range(runs):
        started = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-c", script, arg, QUESTION],
            cwd=common.ROOT, capture_output=True, text=True, check=True,
        )
        phases = json.loads(proc.stdout.strip().splitlines()[-1])
        phases["wall"] = time.perf_counter() - started
        if best is None or phases["wall"] < best["wall"]:
            best = phases
    assert best is not None
    return best


def ndcg_at_10(vectors: np.ndarray, doc_ids: list[str], query_vecs: np.ndarray,
               qrels: dict[str, dict[str, int]], query_ids: list[str]) -> float:
    """Mean nDCG@10 of dense retrieval (dot product of unit vectors)."""
    scores = query_vecs @ vectors.T
    total = 0.0
    for row, qid in enumerate(query_ids):
        top = np.argsort(-scores[row], kind="stable")[:10]
        rels = qrels[qid]
        dcg = sum(rels.get(doc_ids[i], 0) / math.log2(rank + 2) for rank, i in enumerate(top))
        ideal = sorted(rels.values(), reverse=True)[:10]
        idcg = sum(r / math.log2(rank + 2) for rank, r in enumerate(ideal))
        total += dcg / idcg if idcg else 0.0
    return total / len(query_ids)


def scifact_subset(n_docs: int) -> tuple[list[str], list[str], list[str], list[str], dict]:
    """(doc ids, doc texts, query ids, query texts, qrels): judged docs + random others."""
    qrels: dict[str, dict[str, int]] = {}
    with (common.SCIFACT / "qrels" / "test.tsv").open(encoding="utf-8") as fh:
        next(fh)
        for line in fh:
            qid, did, score = line.split("\t")
            qrels.setdefault(qid, {})[did] = int(score)
    queries = {}
    with (common.SCIFACT / "queries.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            q = json.loads(line)
            if q["_id"] in qrels:
                queries[q["_id"]] = q["text"]
    docs = {}
    with (common.SCIFACT / "corpus.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            d = json.loads(line)
            docs[d["_id"]] = f"{d['title']}\n{d['text']}"
    judged = {did for rels in qrels.values() for did in rels}
    others = sorted(set(docs) - judged)
    random.Random(0).shuffle(others)
    chosen = sorted(judged) + others[: max(0, n_docs - len(judged))]
    qids = sorted(queries)
    return chosen, [docs[d] for d in chosen], qids, [queries[q] for q in qids], qrels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=500, help="chunks for the throughput runs")
    parser.add_argument("--slices", type=int, default=2,
                        help="interleave the variants over this many slices of the chunks")
    parser.add_argument("--cold-runs", type=int, default=2)
    parser.add_argument("--ndcg-docs", type=int, default=0, help="0 skips the nDCG check")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()

    from sentence_transformers import SentenceTransformer  # ~6 s; this script needs it anyway

    from qa.config import resolve_model_path
    from qa.embed.onnx import OnnxEmbedder
    from qa.embed.onnx_export import export_onnx

    work = Path(tempfile.mkdtemp(prefix="qa-bench-embed-"))
    try:
        started = time.perf_counter()
        fp32_dir = export_onnx(MODEL, work / "fp32")
        export_fp32 = time.perf_counter() - started
        started = time.perf_counter()
        int8_dir = export_onnx(MODEL, work / "int8", quantize=True)
        export_int8 = time.perf_counter() - started

        cold = {
            "ST fp32": cold_query(_COLD_ST, MODEL, args.cold_runs),
            "ONNX fp32": cold_query(_COLD_ONNX, str(fp32_dir), args.cold_runs),
            "ONNX int8": cold_query(_COLD_ONNX, str(int8_dir), args.cold_runs),
        }

        st = SentenceTransformer(resolve_model_path(MODEL), device="cpu")
        onnx32 = OnnxEmbedder(fp32_dir)
        onnx8 = OnnxEmbedder(int8_dir)

        def st_sorted(texts: Sequence[str]) -> np.ndarray:
            return st.encode(list(texts), batch_size=BATCH, normalize_embeddings=True)

        def st_unsorted(texts: Sequence[str]) -> np.ndarray:
            return np.concatenate([
                st.encode(list(texts[i:i + BATCH]), batch_size=BATCH, normalize_embeddings=True)
                for i in range(0, len(texts), BATCH)
            ])

        variants: dict[str, Callable[[Sequence[str]], np.ndarray]] = {
            "ST fp32, bucketed": st_sorted,
            "ST fp32, corpus order": st_unsorted,
            "ONNX fp32, bucketed": lambda t: onnx32.encode(t, batch_size=BATCH),
            "ONNX fp32, corpus order":
                lambda t: onnx32.encode(t, batch_size=BATCH, sort_by_length=False),
            "ONNX int8, bucketed": lambda t: onnx8.encode(t, batch_size=BATCH),
            "ONNX int8, corpus order":
                lambda t: onnx8.encode(t, batch_size=BATCH, sort_by_length=False),
        }
        texts = scifact_chunks(args.n)
        # Round-robin over slices: the machine is shared, so every variant should see the
        # same load; each variant still embeds every chunk once.
        slices = [texts[i::args.slices] for i in range(args.slices)]
        seconds = dict.fromkeys(variants, 0.0)
        parts: dict[str, list[np.ndarray]] = {label: [] for label in variants}
        for encode in variants.values():
            encode(texts[:BATCH])  # warm-up: first-run allocations and lazy loading
        for part in slices:
            for label, encode in variants.items():
                started = time.perf_counter()
                parts[label].append(encode(part))
                seconds[label] += time.perf_counter() - started
        speed = {label: len(texts) / seconds[label] for label in variants}
        vectors = {label: np.concatenate(parts[label]) for label in variants}
        for label, value in speed.items():
            print(f"{label:26s} {value:7.1f} chunks/s", flush=True)
        reference = vectors["ST fp32, bucketed"]
        cosines = {
            kind: (reference * vectors[f"ONNX {kind}, bucketed"]).sum(axis=1)
            for kind in ("fp32", "int8")
        }

        ndcg: dict[str, float] = {}
        if args.ndcg_docs:
            doc_ids, doc_texts, qids, qtexts, qrels = scifact_subset(args.ndcg_docs)
            for kind, emb in (("fp32", onnx32), ("int8", onnx8)):
                ndcg[kind] = ndcg_at_10(
                    emb.encode(doc_texts), doc_ids, emb.encode(qtexts), qrels, qids
                )
                print(f"nDCG@10 ONNX {kind}: {ndcg[kind]:.4f}", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    words = np.mean([len(t.split()) for t in texts])
    base = speed["ST fp32, bucketed"]
    lines = [
        common.section_header(),
        "Cold query (new process: import + load + embed one question; best of "
        f"{args.cold_runs}):\n",
        "| path | wall s | import s | load s | encode s |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for label, c in cold.items():
        lines.append(f"| {label} | {c['wall']:.2f} | {c['import']:.2f} | {c['load']:.2f} "
                     f"| {c['encode']:.3f} |")
    lines += [
        "",
        f"Build throughput: {len(texts)} SciFact chunks (title + ~{words:.0f} words), batch "
        f"{BATCH}, one process, after a warm-up batch, variants interleaved over "
        f"{args.slices} slices:\n",
        "| variant | chunks/s | vs ST fp32 bucketed |",
        "| --- | ---: | ---: |",
    ]
    for label, value in speed.items():
        lines.append(f"| {label} | {value:.1f} | {value / base:.2f}x |")
    lines += [
        "",
        "Fidelity against ST fp32 on the same chunks (cosine per chunk):\n",
        "| ONNX model | min cosine | mean cosine |",
        "| --- | ---: | ---: |",
    ]
    for kind, cos in cosines.items():
        lines.append(f"| {kind} | {cos.min():.5f} | {cos.mean():.5f} |")
    if ndcg:
        lines += [
            "",
            f"Dense-only nDCG@10, SciFact test queries, judged documents + random others "
            f"({args.ndcg_docs} documents):\n",
            "| ONNX model | nDCG@10 |",
            "| --- | ---: |",
        ]
        lines += [f"| {kind} | {value:.4f} |" for kind, value in ndcg.items()]
    lines += [
        "",
        f"Export (in a process with torch already loaded): fp32 {export_fp32:.1f} s, "
        f"int8 {export_int8:.1f} s.",
    ]
    body = "\n".join(lines)
    print()
    print(body)
    if not args.no_write:
        common.replace_section(SECTION, body)


if __name__ == "__main__":
    main()
