"""Build throughput by embedding backend, side by side with plain encode in one run (issue 16).

    .venv/bin/python bench/bench_build_backends.py [--chunks 256] [--rounds 3] [--no-write]

Real news chunks: the Wikinews corpus in shared/news cut by the build's own chunker, each
embedded as the build does (`embedding_input(title, chunk)`), a fixed shuffle of `--chunks` of
them. Each round times, in rotating order (the cores are shared with other work, so variants
are interleaved and the per-round ratio is what is compared):
- *ST encode*: plain `SentenceTransformer.encode` fp32, batch 32 — the reference;
- every build backend's `encode` as the build calls it: torch, onnx (fp32), onnx-int8
  (onnxruntime dynamic, per-channel), openvino (fp32 export; bf16 only where the CPU has it
  natively), openvino-int8 (NNCF post-training int8), the OpenVINO ones both with one
  stream per core (THROUGHPUT, what the build uses) and one stream over both cores
  (LATENCY): streams against threads;
- openvino with a bf16 precision hint, on CPUs without native bf16 only on `--bf16-chunks`
  of them (emulated bf16 is so slow that the full set would take most of the run).
Embedding is ~99% of a full build (*Where the time goes*), so a backend's encode throughput is
its build throughput. The CPU's model and vector extensions are printed with every figure;
cosine to ST fp32 is printed per backend. Then the backend `qa.embed.calibrate` picks here.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

SECTION = "Build throughput by backend"
ISA_CAPS = common.ISA_CAPS  # an AVX2-only CPU emulated here (bench/common.py)


def news_chunks(n: int) -> list[str]:
    """`n` real Wikinews chunks as the build embeds them (fixed shuffle)."""
    from qa.build.builder import CHUNKING, embedding_input
    from qa.corpus.chunking import chunk_article
    from qa.corpus.ingest import load_corpus

    articles, _ = load_corpus(common.NEWS / "wikinews")
    texts = [
        embedding_input(a.title, c.text)
        for a in articles
        for c in chunk_article(a, target_words=CHUNKING["target_words"],
                               max_words=CHUNKING["max_words"],
                               overlap_sentences=CHUNKING["overlap_sentences"])
    ]
    random.Random(0).shuffle(texts)
    return texts[:n]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chunks", type=int, default=256)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--bf16-chunks", type=int, default=16)
    ap.add_argument("--no-write", action="store_true", help="print only")
    ap.add_argument("--isa", choices=["avx2"],
                    help="cap the runtimes at this instruction set (see ISA_CAPS)")
    ap.add_argument("--section", default=SECTION, help="the docs/benchmarks.md section")
    args = ap.parse_args()
    if args.isa:  # before torch and OpenVINO load: they read these once
        os.environ.update(ISA_CAPS)

    from sentence_transformers import SentenceTransformer

    from qa import config
    from qa.embed import calibrate
    from qa.embed.calibrate import build_embedder
    from qa.embed.exports import cached_export, cached_openvino_int8
    from qa.embed.openvino import OpenVinoEmbedder

    machine = calibrate.cpu()
    here = machine.describe()
    if args.isa:
        machine = calibrate.Cpu(machine.model, tuple(f for f in machine.flags
                                                     if f in ("avx2", "fma")))
        here = f"{here}, capped at AVX2 ({', '.join(f'{k}={v}' for k, v in ISA_CAPS.items())})"
    print(f"CPU: {here}", flush=True)
    texts = news_chunks(args.chunks)
    n = len(texts)
    name = config.PACKAGED_MODEL
    st = SentenceTransformer(config.resolve_model_path(name), device="cpu")
    fp32, int8 = cached_export(name), cached_openvino_int8(name)
    embedders = {
        "torch": build_embedder(name, "torch"),
        "onnx": build_embedder(name, "onnx"),
        "onnx-int8": build_embedder(name, "onnx-int8"),
        "openvino (streams)": OpenVinoEmbedder(fp32),
        "openvino (threads)": OpenVinoEmbedder(fp32, hint="LATENCY"),
        "openvino-int8 (streams)": OpenVinoEmbedder(int8),
        "openvino-int8 (threads)": OpenVinoEmbedder(int8, hint="LATENCY"),
    }
    native_bf16 = any(f in machine.flags for f in ("avx512_bf16", "amx_bf16"))
    bf16 = OpenVinoEmbedder(fp32, precision="bf16")
    if native_bf16:
        embedders["openvino bf16 hint"] = bf16

    reference = st.encode(texts, batch_size=32, normalize_embeddings=True, show_progress_bar=False)
    fidelity: dict[str, tuple[float, float]] = {}
    for label, e in embedders.items():  # loads, warms up, and measures fidelity
        cos = (e.encode(texts) * reference).sum(axis=1)
        fidelity[label] = (float(cos.min()), float(cos.mean()))
        quantized = getattr(getattr(e, "config", None), "quantized", False)
        precision = getattr(e, "precision", None) or ("int8" if quantized else "fp32")
        print(f"{label} [{precision}]: cosine to ST fp32 "
              f"min {cos.min():.5f} mean {cos.mean():.5f}", flush=True)

    def timed(run) -> float:
        start = time.perf_counter()
        run()
        return time.perf_counter() - start

    variants = {"ST encode": lambda: st.encode(texts, batch_size=32, normalize_embeddings=True,
                                               show_progress_bar=False)}
    variants.update({label: (lambda e=e: e.encode(texts)) for label, e in embedders.items()})
    speeds: dict[str, list[float]] = {k: [] for k in variants}
    names = list(variants)
    for r in range(args.rounds):
        for label in names[r % len(names):] + names[: r % len(names)]:
            speeds[label].append(n / timed(variants[label]))
            print(f"round {r + 1} {label}: {speeds[label][-1]:.1f} chunks/s ({here})", flush=True)

    bf16_row = None
    if not native_bf16:  # emulated: a few chunks against ST on the same few, once
        few = texts[: args.bf16_chunks]
        bf16.encode(few[:2])
        t_st = timed(lambda: st.encode(few, batch_size=32, normalize_embeddings=True,
                                       show_progress_bar=False))
        t_bf = timed(lambda: bf16.encode(few))
        cos = (bf16.encode(few) * reference[: len(few)]).sum(axis=1)
        bf16_row = (len(few) / t_bf, t_st / t_bf, float(cos.min()), bf16.precision)
        print(f"openvino bf16 hint (no native bf16) on {len(few)} chunks: {bf16_row[0]:.2f} "
              f"chunks/s, {bf16_row[1]:.2f}x ST ({here})", flush=True)

    choice = None if args.isa else calibrate.choose_backend(name)  # its cache: the real CPU
    if choice:
        print(f"qa.embed.calibrate chooses {choice.backend}: {choice.reason}", flush=True)

    rows = []
    for label in names:
        ratios = [s / ref for s, ref in zip(speeds[label], speeds["ST encode"])]
        cos_min, cos_mean = fidelity.get(label, (1.0, 1.0))
        rows.append((label, statistics.median(speeds[label]), min(speeds[label]),
                     max(speeds[label]), statistics.median(ratios), min(ratios), max(ratios),
                     max(speeds[label]) / max(speeds["ST encode"]), cos_min, cos_mean))
    # Best round against best round: another process only ever slows a round down, so the
    # best rounds are the nearest to a quiet machine; the per-round ratios show the spread.
    table = ["| variant | chunks/s median (range) | vs ST encode, median (per-round range) "
             "| best vs best | cosine to ST fp32 min / mean |", "|---|---:|---:|---:|---:|"]
    table += [f"| {a} | {b:.1f} ({c:.1f}–{d:.1f}) | {e:.2f}x ({f:.2f}–{g:.2f}) | **{h:.2f}x** | "
              f"{i:.4f} / {j:.4f} |" for a, b, c, d, e, f, g, h, i, j in rows]
    if bf16_row:
        table.append(f"| openvino bf16 hint, {args.bf16_chunks} chunks once (runs as "
                     f"{bf16_row[3]}; no native bf16) | {bf16_row[0]:.2f} | {bf16_row[1]:.2f}x | | "
                     f"{bf16_row[2]:.4f} / – |")
    body = "\n".join([
        common.section_header(),
        "",
        f"CPU: **{here}**. {n} real Wikinews chunks (title + ~150 words, as the build embeds "
        f"them), {args.rounds} rounds, variants in rotating order; each backend's `encode` as "
        "the build calls it (embedding is ~99% of a full build). Ratios are per round, against "
        "plain `SentenceTransformer.encode` fp32 (batch 32) in that round. *streams*: OpenVINO's "
        "THROUGHPUT hint (one stream per core, batches of 16 in flight, what the build uses); "
        f"*threads*: the LATENCY hint (one stream on every core). OpenVINO "
        f"{_version('openvino')}, onnxruntime {_version('onnxruntime')}, nncf "
        f"{_version('nncf')}, torch {_version('torch')}.",
        "",
        *table,
        "",
        f"`qa.embed.calibrate` on this machine: **{choice.backend}** — {choice.reason}." if choice
        else "Capped runs: the calibration is not asked (it caches per real CPU).",
    ])
    print(body)
    print(json.dumps({r[0]: {"chunks_per_s": r[1], "ratio": r[4], "ratio_range": [r[5], r[6]]}
                      for r in rows}))
    if not args.no_write:
        common.replace_section(args.section, body)


def _version(package: str) -> str:
    import importlib.metadata

    try:
        return importlib.metadata.version(package).split("-")[0]
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


if __name__ == "__main__":
    main()
