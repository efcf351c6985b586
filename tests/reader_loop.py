"""Searches an index in a loop while other processes rebuild it, for the reliability tests:
`python reader_loop.py INDEX MODE OUT STOP`.

Every search appends one JSON line to OUT: the generation it answered from, its article count
and the hits as [chunk_id, score]. Before each search it calls `Retriever.reload_if_changed()`,
as the chat does. It stops after the first search that follows the appearance of the file STOP.
Any exception is written to OUT as {"error": traceback} and the exit status is 1.
"""

from __future__ import annotations

import json
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from conftest import HashEmbedder  # noqa: E402

from qa import Retriever  # noqa: E402

QUERY = "tulips garden spring article"


def main() -> int:
    index, mode, out_path, stop = sys.argv[1], sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4])
    with open(out_path, "w", encoding="utf-8") as out:
        try:
            r = Retriever.open(index, embedder=HashEmbedder())
            while True:
                last = stop.exists()
                r.reload_if_changed()
                hits = r.search(QUERY, k=5, mode=mode)
                line = {
                    "generation": r.generation,
                    "articles": r.stats.articles,
                    "hits": [[h.chunk_id, h.score, h.via] for h in hits],
                }
                out.write(json.dumps(line) + "\n")
                out.flush()
                if last:
                    return 0
                time.sleep(0.002)
        except BaseException:
            out.write(json.dumps({"error": traceback.format_exc()}) + "\n")
            return 1


if __name__ == "__main__":
    sys.exit(main())
