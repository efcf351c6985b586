"""How well `qa index`'s progress line tells the time left: each checkout builds the same
corpus from scratch on a terminal (a pty), and every "~Ns left" it shows is set against the
time the embedding really took from then on.

    .venv/bin/python bench/bench_progress.py --against /tmp/qa-before [--corpus DIR]

Prints, per checkout, the first estimate and when it came, the ratio estimate / real time
left (median, range) and how far the estimate climbed between two updates. The figures in
docs/benchmarks.md, "Build progress: time left", are from this script.
"""

from __future__ import annotations

import argparse
import json
import os
import pty
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402


def progress_lines(code: str | None, corpus: str, index: Path) -> list[tuple[float, str]]:
    """Run `qa index --full` in a pty; every line or redraw it writes, with its time."""
    env = common.code_env(code)
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    primary, replica = pty.openpty()
    start = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "qa.cli", "index", "--full", "--corpus",
                             corpus, "--index", str(index)], env=env, stdin=replica,
                            stdout=replica, stderr=replica)
    os.close(replica)
    pending, lines = b"", []
    while True:
        try:
            data = os.read(primary, 4096)
        except OSError:  # the build closed its end
            break
        if not data:
            break
        pending += data
        *parts, pending = re.split(rb"[\r\n]", pending)
        lines += [(time.monotonic() - start, p.decode(errors="replace").rstrip())
                  for p in parts if p.strip()]
    if proc.wait() != 0:
        raise SystemExit(f"bench_progress: the build failed: {lines[-3:]}")
    return lines


def figures(lines: list[tuple[float, str]]) -> dict:
    bars = [(t, line) for t, line in lines if re.match(r"embedding \d+/\d+ chunks \[", line)]
    end = bars[-1][0]
    shown = [(t, int(m.group(1))) for t, line in bars
             if (m := re.search(r"~(\d+)s left", line)) and int(line.split()[1].split("/")[0]) > 0]
    ratios = [eta / (end - t) for t, eta in shown if end - t > 5]
    climbs = [b[1] - a[1] for a, b in zip(shown, shown[1:])]
    return {"embed_seconds": round(end - bars[0][0], 1),
            "first": {"at": round(shown[0][0] - bars[0][0], 1), "estimate": shown[0][1],
                      "real": round(end - shown[0][0], 1)} if shown else None,
            "ratio_median": round(statistics.median(ratios), 2) if ratios else None,
            "ratio_range": [round(min(ratios), 2), round(max(ratios), 2)] if ratios else None,
            "largest_climb": max(climbs, default=0)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--against", help="the checkout before the change")
    parser.add_argument("--corpus", default="../shared/news/wikinews")
    args = parser.parse_args()
    print(common.machine(), flush=True)
    codes = {"before": args.against, "after": None} if args.against else {"after": None}
    with tempfile.TemporaryDirectory() as work:
        for name, code in codes.items():
            result = figures(progress_lines(code, args.corpus, Path(work) / name))
            print(name, common.code_label(code), json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
