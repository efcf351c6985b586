"""The chat's slash commands: what they are called, what they take, and how a line is parsed.

Kept apart from the widgets so the help screen, the command palette and the input all read
the same table, and so parsing can be tested without an app.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class CommandSpec:
    """One slash command as the user sees it."""

    name: str
    usage: str
    help: str
    takes_argument: bool = False


COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec("help", "/help", "Show keys and commands"),
    CommandSpec("rebuild", "/rebuild", "Re-index the corpus folder (only what changed)"),
    CommandSpec("skipped", "/skipped", "List the files the last update skipped, and why (F2)"),
    CommandSpec("since", "/since DATE", "Only articles from DATE on (2022-03, March 2022, last week; off clears)", True),
    CommandSpec("until", "/until DATE", "Only articles up to DATE (written as for /since; off clears)", True),
    CommandSpec("clear", "/clear", "Clear the conversation (and its follow-up context)"),
    CommandSpec("quotes", "/quotes NAME", "List what NAME is quoted as saying", True),
    CommandSpec("history", "/history", "Load a past conversation (every question is kept)"),
    CommandSpec("export", "/export [FILE]", "Save this conversation as Markdown (questions, answers, numbered sources)", True),
)
_BY_NAME = {spec.name: spec for spec in COMMANDS}
_CLEAR_WORDS = {"", "off", "none", "any", "clear", "-"}


@dataclass(frozen=True)
class Command:
    """A parsed slash command line."""

    name: str
    argument: str = ""


class CommandError(ValueError):
    """A slash command line that cannot be run; the message says how to write it."""


def parse_command(line: str) -> Command | None:
    """Parse an input line: a `Command` for `/name args`, None for a question.

    Raises:
        CommandError: the line starts with `/` but names no known command.
    """
    stripped = line.strip()
    if not stripped.startswith("/"):
        return None
    name, _, argument = stripped[1:].partition(" ")
    name = name.lower()
    if name not in _BY_NAME:
        known = ", ".join(spec.usage for spec in COMMANDS)
        raise CommandError(f"Unknown command /{name}. Commands: {known}.")
    return Command(name, argument.strip())


def parse_date_argument(argument: str, *, end: bool = False,
                        reference: date | None = None) -> str | None:
    """Turn a `/since` or `/until` argument into `YYYY-MM-DD`, or None to clear the filter.

    Reads what `--since`/`--until` read (`qa.dates.parse_date`: YYYY-MM-DD, YYYY-MM, YYYY,
    'March 2022', 'yesterday', 'last week'...), or `off` to clear. A month or a year stands for its first
    day, or its last day when `end` is set (for `/until 2022`).

    Args:
        reference: the day 'last week' counts back from (`Retriever.reference_day`).

    Raises:
        CommandError: the argument is not a date.
    """
    from qa.dates import parse_date
    from qa.errors import QueryError

    value = argument.strip()
    if value.lower() in _CLEAR_WORDS:
        return None
    try:
        return parse_date(value, name="/until" if end else "/since", end=end,
                          reference=reference)
    except QueryError as error:
        raise CommandError(f"{error} Or 'off' to clear it.") from None


def date_filter_after(command: Command, *, since: str | None, until: str | None,
                      reference: date | None) -> tuple[str | None, str | None]:
    """The (since, until) filter once `/since ARG` or `/until ARG` is applied to it.

    Raises:
        CommandError: the argument is not a date, or the range would start after it ends
            (the message names both dates).
    """
    from qa.dates import read_range
    from qa.errors import QueryError

    # Read for errors first; then the range check sees the words as typed, to quote them.
    value = parse_date_argument(command.argument, end=command.name == "until",
                                reference=reference)
    typed = command.argument.strip() if value is not None else None
    if command.name == "since":
        since = typed
    else:
        until = typed
    try:
        dates = read_range(since, until, reference=reference, names=("/since", "/until"))
        return dates.since, dates.until
    except QueryError as error:
        raise CommandError(str(error)) from None
