"""How a build reports its progress, and how its stages are named to a person."""

from __future__ import annotations

from collections.abc import Callable

# progress(stage, done, total), stages in this order: "model" (only when the machine has no
# ONNX export of the model yet: the first build, ~10-40 s), "read" (0, 0 before reading; n, n
# after), "embed" (chunks done of total), "analyse" (articles parsed of total: the parse runs
# beside the embedding, this is the wait for what is left) and "write" (0, 1 then 1, 1).
BuildProgress = Callable[[str, int, int], None]


def describe_stage(stage: str, done: int, total: int) -> str:
    """A build stage as the CLI's stderr and the chat's progress label name it."""
    if stage == "model":
        return "preparing the model for fast queries (one time, 10-40 s)"
    if stage == "read":
        return f"read {total} article{'s' if total != 1 else ''}" if total else "reading articles"
    if stage == "analyse":
        return f"analysing {total} article{'s' if total != 1 else ''}"
    if stage == "embed":
        return f"embedding {total} chunk{'s' if total != 1 else ''}"
    if stage == "write":
        return "writing the index"
    return stage
