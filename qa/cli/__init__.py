"""The `qa` command: index, watch, search, ask, quotes, history, chat, serve, mcp, config,
completion, eval.

One module per group of commands, each with its `add_parser(sub)` and one function per
command; what they share (answer layout, JSON, progress, date flags, errors and exit codes)
is in `console`. Kept light at import: each command imports what it needs when it runs, so
`qa --help` is instant and `qa search` never waits on the chat UI's libraries.
"""

from __future__ import annotations

import argparse
import difflib
import shlex
import sys
from pathlib import Path

from qa import __version__
from qa.text import terminal_safe

from . import ask, chat, completion, evaluate, history, index, mcp, serve, settings, watch
from .console import run_command

# In the order `qa --help` and the completion scripts list them.
COMMANDS = (index, watch, ask, history, chat, serve, mcp, settings, completion, evaluate)


def build_parser() -> argparse.ArgumentParser:
    """The parser of `qa` and every command (each module adds its own)."""
    parser = argparse.ArgumentParser(
        prog="qa",
        description="Ask questions about a folder of news articles; answers are quoted and cited.",
        epilog="""\
With no command, opens the chat on index/ (in a terminal; otherwise prints this help).

examples:
  qa index --corpus ~/news                    # build the index
  qa ask "Who won the mayoral election?"  # a cited answer
  qa watch                                    # keep the index current as files change
  qa                                          # the chat

`qa COMMAND --help` shows each command's flags and examples.""",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"qa {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMANDS:
        module.add_parser(sub)
    for name, command in subcommands(parser).items():
        # Examples keep their lines as typed; the description is the one-line help.
        command.formatter_class = argparse.RawDescriptionHelpFormatter
        command.description = command.description or _help_of(sub, name)
    return parser


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The commands of `parser` by name, in order."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _help_of(sub: argparse._SubParsersAction, name: str) -> str | None:
    for action in sub._choices_actions:
        if action.dest == name:
            return action.help[:1].upper() + action.help[1:] + "." if action.help else None
    return None


def _unknown_command(argv: list[str], commands: list[str]) -> str | None:
    """The message for `qa serach`: the first word is not a command (the top level has no
    option that takes a value, so the first word that is not an option is the command)."""
    word = next((a for a in argv if not a.startswith("-")), None)
    if word is None or word in commands:
        return None
    close = difflib.get_close_matches(word, commands, n=1, cutoff=0.6)
    if close:
        return f"qa: unknown command '{terminal_safe(word)}'. Did you mean '{close[0]}'?"
    return (f"qa: unknown command '{terminal_safe(word)}'. The commands are "
            f"{', '.join(commands)}; `qa --help` says what each does.")


# Commands that read a folder of articles, given with --corpus.
_CORPUS_COMMANDS = ("index", "watch", "chat")


def _folder_without_flag(command: str | None, extra: list[str]) -> str | None:
    """The message for `qa index ~/news`: a folder of articles given without --corpus."""
    if command not in _CORPUS_COMMANDS or len(extra) != 1 or extra[0].startswith("-") \
            or not Path(extra[0]).expanduser().is_dir():
        return None
    folder = terminal_safe(shlex.quote(extra[0]))
    return (f"qa {command}: the folder of articles is given with --corpus. "
            f"Run `qa {command} --corpus {folder}`.")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `qa` console script."""
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    if "--" not in argv:  # after "--" everything is an argument, never a command
        unknown = _unknown_command(argv, list(subcommands(parser)))
        if unknown:
            print(unknown, file=sys.stderr)
            return 2
    args, extra = parser.parse_known_args(argv)
    if extra:
        folder = _folder_without_flag(args.command, extra)
        if folder:
            print(folder, file=sys.stderr)
            return 2
        args = parser.parse_args(argv)  # argparse's own message for the rest
    if args.command is None:  # bare `qa` opens the chat, in a terminal
        if not (sys.stdin.isatty() and sys.stdout.isatty()) or "chat" not in subcommands(parser):
            parser.print_help()
            return 0
        args = parser.parse_args(["chat"])
    return run_command(args)
