"""The chat's slash commands: what they are called, what they take, and how a line is parsed.

Kept apart from the widgets so the help screen, the command palette and the input all read
the same table, and so parsing can be tested without an app.
"""

from __future__ import annotations

from dataclasses import dataclass


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
    CommandSpec("since", "/since DATE", "Only use articles from DATE on (/since off to clear)", True),
    CommandSpec("until", "/until DATE", "Only use articles up to DATE (/until off to clear)", True),
    CommandSpec("clear", "/clear", "Clear the conversation (and its follow-up context)"),
    CommandSpec("quotes", "/quotes NAME", "List what NAME is quoted as saying", True),
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


def parse_date_argument(argument: str, *, end: bool = False) -> str | None:
    """Turn a `/since` or `/until` argument into `YYYY-MM-DD`, or None to clear the filter.

    Accepts `YYYY-MM-DD`, `YYYY-MM` and `YYYY`, or `off` to clear. A month or a year stands
    for its first day, or its last day when `end` is set (for `/until 2022`).

    Raises:
        CommandError: the argument is not a date.
    """
    from qa.errors import QueryError
    from qa.retrieval import parse_date

    value = argument.strip().lower()
    if value in _CLEAR_WORDS:
        return None
    try:
        return parse_date(value, end=end)
    except QueryError:
        raise CommandError(
            f"Not a date: {argument!r}. Write it as YYYY-MM-DD, YYYY-MM or YYYY, or 'off'."
        ) from None
