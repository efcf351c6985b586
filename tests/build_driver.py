"""Runs one build in its own process, for the crash tests: `python build_driver.py CORPUS INDEX
[--slow SECONDS] [--full] [--optimize] [--wait SECONDS] [--slow-merge SECONDS] [--tier N]`.
Prints `embedding` when embedding starts, `merging` when a merge starts, `done` at the end.

--slow-merge stretches every merge (before and after assembling the merged segment, and
before each folder is renamed into place) so that a kill lands inside it; --tier sets the
size-tiered policy's segments per tier.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from conftest import HashEmbedder  # noqa: E402

from qa import build_index  # noqa: E402


class SlowEmbedder(HashEmbedder):
    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay

    def encode(self, texts, **kw):
        print("embedding", flush=True)
        out = []
        for i in range(len(texts)):
            time.sleep(self.delay)
            out.append(super().encode([texts[i]]))
        import numpy as np

        return np.concatenate(out) if out else np.zeros((0, self.dim), np.float32)


def _stretch_merges(delay: float) -> None:
    from qa.index import writer

    merge, place = writer.merge_segments, writer.place

    def slow_merge(*args, **kw):
        print("merging", flush=True)
        time.sleep(delay)
        out = merge(*args, **kw)
        time.sleep(delay)
        return out

    def slow_place(*args, **kw):
        time.sleep(delay / 4)
        return place(*args, **kw)

    writer.merge_segments, writer.place = slow_merge, slow_place


def _arg(name: str, default: float) -> float:
    return float(sys.argv[sys.argv.index(name) + 1]) if name in sys.argv else default


if __name__ == "__main__":
    corpus, index = sys.argv[1], sys.argv[2]
    if "--slow-merge" in sys.argv:
        _stretch_merges(_arg("--slow-merge", 0.0))
    if "--tier" in sys.argv:
        from qa.index import writer

        writer.SEGMENTS_PER_TIER = int(_arg("--tier", 10))
    build_index(corpus, index, embedder=SlowEmbedder(_arg("--slow", 0.0)),
                full="--full" in sys.argv, optimize="--optimize" in sys.argv,
                wait=_arg("--wait", 0.0))
    print("done", flush=True)
