"""Keeping an index current while its corpus folder changes (`qa watch`, and the open chat).

The folder is watched with watchfiles (inotify, FSEvents or ReadDirectoryChangesW: the process
sleeps until the system reports a change). Changes are gathered until the folder has been
quiet for `QUIET_MS` (at most `DEBOUNCE_MS`), so saving a file, or copying in a hundred, is
one update; then the usual incremental build runs, one at a time, and the next batch waits for
it (the build lock also keeps out other processes' builds).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import CorpusError, IndexOwnershipError, QAError
from ..types import BuildReport, Skipped

if TYPE_CHECKING:
    from ..embed.embedder import Embedder

__all__ = ["corpus_changes", "watch_index", "describe_update", "new_skips", "describe_skips",
           "DEBOUNCE_MS", "QUIET_MS"]

QUIET_MS = 300  # a batch is built once the folder has had no change for this long...
DEBOUNCE_MS = 2000  # ...or once it has gathered changes for this long, whichever is first
_WAKE_MS = 1000  # how often the watcher looks at its stop event while nothing happens
LOCK_WAIT_SECONDS = 600.0  # an update waits this long for another process's build


def corpus_changes(corpus: str | Path, *, stop: threading.Event | None = None
                   ) -> Iterator[set[tuple[str, str]]]:
    """Batches of changes under `corpus`, as ("added" | "modified" | "deleted", path).

    The first batch is yielded (empty, unless something changed already) as soon as the
    watcher is listening, so a caller can bring the index up to date then without missing a
    change made meanwhile. Later batches are never empty. Editors' swap and backup files and
    folders such as .git are ignored.

    Args:
        corpus: the folder to watch, recursively.
        stop: when set, the iteration ends within about a second.

    Raises:
        CorpusError: the folder does not exist.
    """
    from watchfiles import DefaultFilter, watch  # the Rust watcher: imported only to watch

    folder = Path(corpus)
    if not folder.is_dir():
        raise CorpusError(f"Corpus folder '{folder}' does not exist. Create it and put articles "
                          "in it, or point --corpus at the folder that holds them.")
    first = True
    for changes in watch(folder, watch_filter=DefaultFilter(), debounce=DEBOUNCE_MS,
                         step=QUIET_MS, stop_event=stop, rust_timeout=_WAKE_MS,
                         yield_on_timeout=True):
        if changes or first:
            first = False
            yield {(change.name, path) for change, path in changes}


def watch_index(
    corpus: str | Path,
    index: str | Path,
    *,
    stop: threading.Event | None = None,
    embedder: Embedder | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    build: Callable[..., BuildReport] | None = None,
) -> Iterator[BuildReport | QAError]:
    """Build the index of `corpus` now, then again after every batch of changes.

    Args:
        corpus, index: the folders, as for `build_index`.
        stop: when set, watching ends (within about a second, or after the running build).
        embedder, progress: passed to `build_index`.
        build: the build function (default `qa.build.builder.build_index`).

    Yields:
        Each build's report (`up_to_date` when the changes did not touch an article), or the
        `QAError` a build raised (the corpus emptied, another build holding the lock too long,
        a file the build could not read): watching goes on after it.

    Raises:
        CorpusError: the corpus folder does not exist.
        IndexOwnershipError: the index folder is not qa's to write into (watching stops).
    """
    if build is None:
        from .builder import build_index as build

    for _changes in corpus_changes(corpus, stop=stop):
        try:
            yield build(corpus, index, progress=progress, embedder=embedder,
                        wait=LOCK_WAIT_SECONDS)
        except IndexOwnershipError:
            raise
        except QAError as error:
            yield error
        if stop is not None and stop.is_set():
            return


def describe_update(report: BuildReport, *, short: bool = False) -> str:
    """One line for an update: "index updated: +1 article, 0 changed, 0 removed (0.4 s)".

    `short` leaves out the counts that are zero and the time ("index updated: +1 article"),
    for the chat's status line.
    """
    added, changed, removed = len(report.added), len(report.changed), len(report.removed)
    if short:
        parts = [f"+{added} article{'s' if added != 1 else ''}"] if added else []
        parts += [f"{changed} changed"] if changed else []
        parts += [f"{removed} removed"] if removed else []
        return f"index updated: {', '.join(parts) or 'no change'}"
    return (f"index updated: +{added} article{'s' if added != 1 else ''}, {changed} changed, "
            f"{removed} removed ({report.seconds:.1f} s)")


def new_skips(report: BuildReport, before: Collection[str]) -> tuple[Skipped, ...]:
    """The files `report` skipped that the update before it did not (`before`: the paths that
    one skipped; empty for the first update, which then names every skipped file). What
    `qa watch` prints and the chat shows after each update."""
    return tuple(s for s in report.skipped if s.path not in before)


def describe_skips(skipped: Sequence[Skipped], *, limit: int = 3) -> str:
    """One line: "skipped 2 files: notes.xlsx (unsupported format .xlsx), scan.pdf (PDF could
    not be read)": the first `limit` files, each with the first clause of its reason, then
    "and N more"."""
    def short(reason: str) -> str:
        first = reason.split(";")[0].split(" (")[0].strip()
        return first if len(first) <= 60 else first[:59] + "…"

    n = len(skipped)
    listed = ", ".join(f"{s.path} ({short(s.reason)})" for s in skipped[:limit])
    more = f", and {n - limit} more" if n > limit else ""
    return f"skipped {n} file{'s' if n != 1 else ''}: {listed}{more}"
