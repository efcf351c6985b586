"""SciFact retrieval quality by build backend: `qa eval --beir` on an index built with each.

    .venv/bin/python bench/bench_backend_quality.py [--backends onnx,openvino-int8] [--no-write]

The build targets (issues 6 and 16) ask for nDCG@10 within 0.005 of the fp32 build. The first
backend is the reference: torch, onnx and openvino in fp32 give the same vectors (cosine
1.0000 on news chunks, *Build throughput by backend*), so any of them stands for fp32. Each backend's
index is built by `qa eval --beir ../shared/eval/scifact` itself with $QA_RUNTIME set.
The usual cached index (~/.cache/qa/eval/scifact/index, which bench_ann_recall.py and
bench_query.py read) serves a backend it records, and is built with the first backend when it
does not exist yet (an update of it is a no-op); every other backend gets a fresh index in a
temporary folder, deleted afterwards.
Questions are always embedded by the onnxruntime export beside the index (fp32, or int8 for
an onnx-int8 index), as in the product. Writes its own section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

QA = Path(sys.executable).with_name("qa")
CACHED = Path.home() / ".cache" / "qa" / "eval" / "scifact" / "index"
SECTION = "Build backends: SciFact quality"
MODES = ("hybrid", "dense", "bm25")


def run(backend: str, index: Path | None) -> tuple[dict, float]:
    cmd = [str(QA), "eval", "--beir", str(common.SCIFACT), "--json"]
    if index is not None:
        cmd += ["--index", str(index)]
    env = dict(os.environ, QA_RUNTIME=backend)
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=common.ROOT, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout), time.perf_counter() - started


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backends", default="onnx,openvino-int8",
                    help="comma-separated; the first is the reference (default onnx,openvino-int8)")
    ap.add_argument("--no-write", action="store_true", help="print only")
    args = ap.parse_args()
    backends = args.backends.split(",")

    work = Path(tempfile.mkdtemp(prefix="qa-bench-quality-"))
    results: dict[str, dict] = {}
    try:
        for i, backend in enumerate(backends):
            index = None if _cached_serves(backend, first=i == 0) else work / backend / "index"
            data, seconds = run(backend, index)
            ds = data["dataset"]
            manifest = json.loads((Path(ds["index"]) / "manifest.json").read_text())
            data["recorded_backend"] = manifest.get("embedding_backend", "torch")
            results[backend] = data
            print(f"{backend}: " + ", ".join(
                f"{m} {data[m]['ndcg@10']:.4f}" for m in MODES if m in data
            ) + f" ({seconds:.0f} s; build {ds['build_seconds']:.0f} s, "
                f"{ds['embedded_chunks']} chunks embedded; index records "
                f"{data['recorded_backend']})", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    ref = results[backends[0]]
    ds = ref["dataset"]
    table = ["| build backend (manifest) | hybrid nDCG@10 | vs " + backends[0]
             + " | dense nDCG@10 | vs " + backends[0] + " | bm25 nDCG@10 | hybrid Recall@100 |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for backend, data in results.items():
        table.append(
            f"| {backend} ({data['recorded_backend']}) | {data['hybrid']['ndcg@10']:.4f} | "
            f"{data['hybrid']['ndcg@10'] - ref['hybrid']['ndcg@10']:+.4f} | "
            f"{data['dense']['ndcg@10']:.4f} | "
            f"{data['dense']['ndcg@10'] - ref['dense']['ndcg@10']:+.4f} | "
            f"{data['bm25']['ndcg@10']:.4f} | {data['hybrid']['recall@100']:.4f} |"
        )
    body = "\n".join([
        common.section_header(),
        "",
        f"SciFact {ds['split']} ({ds['documents']} documents, {ds['queries']} queries, "
        f"{ds['chunks']} chunks), document-level scores as in *Retrieval quality: SciFact "
        "(BEIR)*. Each index was built by `qa eval --beir ../shared/eval/scifact` with "
        "`QA_RUNTIME=<backend>`; questions are embedded by the onnxruntime export beside "
        "the index (fp32; int8 for an onnx-int8 index). The build targets allow "
        f"nDCG@10 within 0.005 of the fp32 build ({backends[0]} here). CPU: "
        f"{_cpu()}.",
        "",
        *table,
    ])
    print(body)
    if not args.no_write:
        common.replace_section(SECTION, body)


def _cached_serves(backend: str, *, first: bool) -> bool:
    """Whether the cached SciFact index can be used (or made) for `backend`."""
    try:
        manifest = json.loads((CACHED / "manifest.json").read_text())
    except (OSError, ValueError):
        return first and not CACHED.exists()
    return manifest.get("embedding_backend", "torch") == backend


def _cpu() -> str:
    from qa.embed.calibrate import cpu

    return cpu().describe()


if __name__ == "__main__":
    main()
