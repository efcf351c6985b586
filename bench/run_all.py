"""Run every benchmark this folder holds and refresh docs/benchmarks.md.

    .venv/bin/python bench/run_all.py [--quick]

Order: quality (SciFact eval + test splits), quote speakers, build (native, and a full
build capped at AVX2), build backends (native and capped at AVX2), query latency (to 1M
chunks), the warm answer (Wikinews and 100k chunks), cold start, start-up, profiles. Each
script rewrites only its own section.
`--quick` uses the small settings (a SciFact subset for the full-build figure, sizes up to
10k, fewer rounds) for a smoke run; the default is what the doc records.
`--against PATH` passes another checkout of qa to the scripts that measure two side by side
(query, answer, cold start, quotes), so the figures an issue asks for "beside the code
before" come out of one run. The embedding comparison (bench_embed.py) and the chat start-up
(bench_tui.py) belong to their own scripts and are run here only when present.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument("--against", help="another checkout of qa, measured beside this one")
    args = parser.parse_args(argv)
    quick = args.quick
    against = ["--against", args.against] if args.against else []
    steps = [
        ["bench_quality.py"] + (["--skip-beir"] if quick else []),
        ["bench_quotes.py", *against],
        ["bench_build.py"] + (["--docs", "300", "--sizes", "10k"] if quick else []),
        ["bench_build.py", "--isa", "avx2", "--sizes", "", "--section",
         "Build, capped at AVX2"] + (["--docs", "300"] if quick else []),
        ["bench_build_backends.py"] + (["--chunks", "32", "--rounds", "1"] if quick else []),
        ["bench_build_backends.py", "--isa", "avx2", "--section", "Builds on AVX2-only CPUs"]
        + (["--chunks", "32", "--rounds", "1"] if quick else []),
        ["bench_query.py", *against] + (["--sizes", "1k,10k", "--queries", "20"] if quick
                                        else ["--sizes", "1k,10k,100k,1M", "--rounds", "3"]),
        ["bench_answer.py", *against] + (["--corpora", "wikinews", "--profiled", "5"] if quick
                                         else ["--corpora", "wikinews,100k"]),
        ["bench_cold_start.py", *against] + (["--runs", "2"] if quick else ["--runs", "5"]),
        ["bench_startup.py"] + (["--sizes", "10k", "--runs", "1"] if quick else []),
        ["bench_profile.py"] + (["--docs", "100", "--size", "10k"] if quick else []),
    ]
    for other in ("bench_embed.py", "bench_tui.py"):
        if (HERE / other).exists():
            steps.append([other])
    failed = []
    for step in steps:
        print(f"== {' '.join(step)}", flush=True)
        if subprocess.run([sys.executable, str(HERE / step[0]), *step[1:]]).returncode != 0:
            failed.append(step[0])
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
