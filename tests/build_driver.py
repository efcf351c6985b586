"""Runs one build in its own process, for the crash tests: `python build_driver.py CORPUS INDEX
[--slow SECONDS] [--full] [--wait SECONDS]`. Prints `embedding` when embedding starts, `done` at the end."""

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


if __name__ == "__main__":
    corpus, index = sys.argv[1], sys.argv[2]
    delay = float(sys.argv[sys.argv.index("--slow") + 1]) if "--slow" in sys.argv else 0.0
    wait = float(sys.argv[sys.argv.index("--wait") + 1]) if "--wait" in sys.argv else 0.0
    build_index(corpus, index, embedder=SlowEmbedder(delay), full="--full" in sys.argv, wait=wait)
    print("done", flush=True)
