"""`qa index --check`: every file of the live generation hashed, and what checksums cannot see."""

from __future__ import annotations

from pathlib import Path

from ..errors import QAError
from .backend import LOCAL
from .filecheck import split_file_key
from .files import sha256_of
from .index import Index
from .manifest import MANIFEST, read_manifest


def verify(index_dir: Path) -> list[str]:
    """Check every file of the live generation against the manifest's checksums (`qa index
    --check`), then what checksums cannot see: that the parts fit together and agree with
    the manifest's counts, and that a Milvus store holds every live chunk. Returns what is
    wrong, one line each; empty when all is well.

    Raises:
        IndexMissingError, IndexCorruptError, IndexMismatchError: as `read_manifest`.
        StoreUnavailableError: the index's Milvus store cannot be reached.
    """
    manifest = read_manifest(index_dir)
    if not manifest.checksums:
        return [f"{index_dir}/{MANIFEST} records no checksums"]
    problems: list[str] = []
    for key, expected in sorted(manifest.checksums.items()):
        parts = split_file_key(key)
        if parts is None:
            problems.append(f"{index_dir}/{MANIFEST} names a file outside the index ({key!r})")
            continue
        path = index_dir / parts[0] / parts[1]
        try:
            got = sha256_of(path) if path.is_file() and not path.is_symlink() else None
        except OSError:
            got = None
        if got is None:
            problems.append(f"{path} is missing")
        elif got != expected:
            problems.append(f"{path} has changed since it was written")
    if problems:
        return problems
    try:  # the manifest itself has no checksum: do its counts describe these files?
        index = Index.from_manifest(index_dir, manifest, for_search=True)
    except QAError as exc:
        return [str(exc)]
    counts = manifest.counts
    for key, recorded, actual in (("articles", counts.articles, index.n_articles),
                                  ("chunks", counts.chunks, index.n_chunks),
                                  ("segments", counts.segments, len(index.segments))):
        if recorded != actual:
            problems.append(f"{index_dir}/{MANIFEST} counts {recorded!r} {key}; the "
                            f"index holds {actual}")
    if not problems and manifest.store.backend != LOCAL:
        # The files are whole: does the search store hold every live chunk? (It may hold
        # more: rows a killed build left, which readers drop and the next build deletes.)
        from .store_sync import check_store

        problems.extend(check_store(Index.from_manifest(index_dir, manifest, for_search=False)))
    return problems
