"""Write qa/embed/calibration_text.jsonl: real news chunks for int8 calibration and backend timing.

    .venv/bin/python bench/make_calibration_text.py [--n 64]

The "openvino-int8" backend quantises activations to int8 after NNCF has watched the fp32
model on a sample of real text (`qa.embed.openvino.quantize_openvino_int8`), and the backend
calibration (`qa.embed.calibrate`) times each backend on texts of the shape a build embeds. Both
use this file: `--n` chunks of the Wikinews corpus in shared/news (CC BY 2.5; each record keeps
its article's url and title), cut by the build's own chunker and given the title as the build
does, picked evenly over the range of lengths (every 1/n-th by word count) from a fixed shuffle.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

OUT = common.ROOT / "qa" / "embed" / "calibration_text.jsonl"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=64)
    args = ap.parse_args()

    from qa.build.builder import CHUNKING, embedding_input
    from qa.corpus.chunking import chunk_article
    from qa.corpus.ingest import load_corpus

    articles, _ = load_corpus(common.NEWS / "wikinews")
    rows = [
        {"url": a.url, "title": a.title, "text": embedding_input(a.title, c.text)}
        for a in articles
        for c in chunk_article(a, target_words=CHUNKING["target_words"],
                               max_words=CHUNKING["max_words"],
                               overlap_sentences=CHUNKING["overlap_sentences"])
    ]
    random.Random(0).shuffle(rows)
    rows.sort(key=lambda r: len(r["text"].split()))  # stable: ties keep the shuffled order
    step = len(rows) / args.n
    picked = [rows[int(i * step + step / 2)] for i in range(args.n)]
    random.Random(1).shuffle(picked)
    with OUT.open("w", encoding="utf-8") as fh:
        for row in picked:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    words = sorted(len(r["text"].split()) for r in picked)
    print(f"{OUT.relative_to(common.ROOT)}: {len(picked)} chunks of {len(rows)}, "
          f"{words[0]}-{words[-1]} words (median {words[len(words) // 2]})")


if __name__ == "__main__":
    main()
