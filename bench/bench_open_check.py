"""What checking an index's files costs when it is opened (issue 22).

    .venv/bin/python bench/bench_open_check.py [--sizes 100k,1M] [--repeat 7] [--no-write]

For each size, on the synthetic index of bench/common.py (built once, reused), with every
file of the index in the page cache first:

- *check at open*: what `Index.open` spends checking every file the manifest names for its
  size and modification time (`qa.index.filecheck.check_files`, plus the dense files'
  check), the way it runs on every open;
- *open with / without*: `Index.open(for_search=True)` as shipped, and with that check
  replaced by nothing (the difference is its cost in a real open);
- *SHA-256 of every file*: what verifying the checksums on every open would cost instead
  (hashlib, the same function `qa index --check` uses).

Medians of `--repeat` runs. Results go to docs/benchmarks.md, "Checking the index at open".
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

SECTION = "Checking the index at open"


def timed(fn, repeat: int) -> float:
    """Median seconds of `repeat` calls."""
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return statistics.median(out)


def measure(n_chunks: int, repeat: int) -> dict:
    from unittest import mock

    import qa.index.index as index_module
    from qa.index import Index, read_manifest, sha256_of
    from qa.index.filecheck import check_files, file_changed, split_file_key
    from qa.index.layout import SEGMENT_FILES

    _, index, _ = common.synthetic_index(n_chunks)
    common.warm_page_cache(index)
    manifest = read_manifest(index)
    assert manifest.stamps, "an index built before stamps: run qa index"
    folders = {manifest.data, *(s.name for s in manifest.segments)}
    keys = [k for k in manifest.files if split_file_key(k)[0] in folders]
    dense_files = (SEGMENT_FILES["dense.vectors"], SEGMENT_FILES["dense.ivf"])
    dense = [k for k in keys if k.endswith(dense_files)]

    def check() -> None:
        assert check_files(index, manifest, folders, skip=frozenset(dense_files)) == {}
        for key in dense:
            assert file_changed(manifest, key, index / key) == 0

    def hash_all() -> None:
        for key in keys:
            sha256_of(index / key)

    with_check = timed(lambda: Index.open(index), repeat)
    with mock.patch.object(index_module, "check_files", lambda *a, **k: {}), \
            mock.patch.object(index_module, "file_changed", lambda *a, **k: 0):
        without_check = timed(lambda: Index.open(index), repeat)
    return {
        "size": common.size_label(n_chunks),
        "chunks": manifest.counts.chunks,
        "files": len(keys),
        "bytes": sum(manifest.files[k] for k in keys),
        "check_ms": timed(check, repeat) * 1000,
        "open_with_s": with_check,
        "open_without_s": without_check,
        "sha256_s": timed(hash_all, max(1, repeat // 3)),
    }


def table(rows: list[dict]) -> str:
    lines = [
        "| index | chunks | files | size | check at open | open with / without the check "
        "| SHA-256 of every file |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| synthetic {r['size']} | {r['chunks']:,} | {r['files']} | "
            f"{r['bytes'] / (1 << 30):.2f} GiB | {r['check_ms']:.2f} ms | "
            f"{r['open_with_s']:.3f} / {r['open_without_s']:.3f} s | {r['sha256_s']:.2f} s |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100k,1M")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    rows = [measure(n, args.repeat) for n in common.parse_sizes(args.sizes)]
    text = table(rows)
    print(text)
    if not args.no_write:
        body = "\n".join([
            common.section_header(), "", text, "",
            "- *check at open*: every file of the live generation (generation folder and "
            "segments) lstat'ed and compared with the manifest's size and modification time "
            "(`check_files`, and the dense files' `file_changed`), as every `Index.open` does; "
            "nothing is hashed when nothing changed.",
            "- *open with / without*: `Index.open(index)` (chunk tables, postings index and "
            "statistics loaded for search), as shipped and with the check replaced by "
            "nothing; medians, warm page cache.",
            "- *SHA-256 of every file*: hashing each of those files (what verifying checksums "
            "at every open would cost; `qa index --check` does it), warm page cache.",
        ])
        common.replace_section(SECTION, body)


if __name__ == "__main__":
    main()
