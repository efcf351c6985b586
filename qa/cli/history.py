"""`qa history`: the conversations `qa ask` and the chat saved (qa/history.py), listed, shown,
or exported as Markdown (qa/export.py)."""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict
from typing import TYPE_CHECKING

from qa.errors import QAError
from qa.text import terminal_safe

from .console import print_json, shown_answer

if TYPE_CHECKING:
    from qa.history import History

EXAMPLES = """\
examples:
  qa history                                # conversations, newest first
  qa history 12                             # one conversation's questions and answers
  qa history --export -o report.md          # the newest conversation as Markdown
  qa history --export 12 > report.md
  qa ask --continue "What did he say next?" # follow up on the newest conversation

Kept in $XDG_DATA_HOME/qa/history.db (~/.local/share/qa/history.db) by qa ask and the chat."""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("history", help="the conversations kept: list, show, export as Markdown",
                       epilog=EXAMPLES)
    p.add_argument("conversation", nargs="?", type=int, metavar="ID",
                   help="show this conversation's questions and answers")
    p.add_argument("--limit", type=int, default=20, metavar="N",
                   help="list at most N conversations (default 20)")
    p.add_argument("--export", nargs="?", type=int, const=0, metavar="ID",
                   help="write a conversation (default: the newest) as Markdown: questions, "
                        "answers and numbered sources")
    p.add_argument("-o", "--output", metavar="FILE",
                   help="with --export: write to FILE instead of standard output")
    p.add_argument("--json", action="store_true", help="print conversations or turns as JSON")
    p.set_defaults(func=history)


def history(args: argparse.Namespace) -> int:
    from qa.history import History

    kept = History.open()
    if args.export is not None or args.output:
        return export_history(kept, args)
    if args.conversation is not None:
        return show_conversation(kept, args)
    conversations = kept.conversations(limit=args.limit)
    if args.json:
        print_json([asdict(c) for c in conversations])
        return 0
    if not conversations:
        print(f"No conversations yet ({terminal_safe(str(kept.path))}). `qa ask` and the "
              "chat save every question and answer.")
        return 0
    for c in conversations:
        turns = f"{c.turns} question{'s' if c.turns != 1 else ''}"
        print(f"{c.id:>5}  {when(c.last_asked)}  {turns:<13} "
              f"{shortened(terminal_safe(c.first_question), 100)}")
    print("\n`qa history ID` shows one; `qa history --export ID -o FILE.md` writes it as "
          "Markdown; `qa ask --continue` follows up on the newest.", file=sys.stderr)
    return 0


def show_conversation(kept: History, args: argparse.Namespace) -> int:
    """`qa history ID`: one conversation's questions and answers, newest first."""
    if kept.conversation(args.conversation) is None:
        raise QAError(f"No conversation {args.conversation}. `qa history` lists them.")
    turns = kept.turns(args.conversation)
    if args.json:
        print_json([asdict(t) for t in reversed(turns)])
        return 0

    for turn in reversed(turns):  # newest first, as the list of conversations
        print(f"── {when(turn.asked)}  {terminal_safe(turn.answer.question)}")
        print(shown_answer(turn.answer))
        print()
    return 0


def export_history(kept: History, args: argparse.Namespace) -> int:
    """`qa history --export [ID] [-o FILE]`: a conversation as Markdown."""
    from qa.export import conversation_markdown

    wanted = args.export or args.conversation
    conversation = kept.conversation(wanted) if wanted else kept.last_conversation()
    if conversation is None:
        raise QAError(f"No conversation {wanted}. `qa history` lists them." if wanted else
                      "No conversations yet to export. `qa ask` and the chat save them.")
    turns = kept.turns(conversation.id)
    text = conversation_markdown([t.answer for t in turns], index=conversation.index_path,
                                 started=conversation.started)
    if not args.output or args.output == "-":
        print(text, end="")
        return 0
    with open(args.output, "w", encoding="utf-8") as out:
        out.write(text)
    print(f"wrote conversation {conversation.id} ({len(turns)} question"
          f"{'s' if len(turns) != 1 else ''}) to {terminal_safe(args.output)}", file=sys.stderr)
    return 0


def shortened(text: str, limit: int) -> str:
    """`text` on one line of at most `limit` characters, cut at a word with an ellipsis (a
    pasted article as a question is a line of the history list, not a page)."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    return text[: cut if cut > limit // 2 else limit - 1] + "…"


def when(iso: str) -> str:
    """A saved time (UTC) as local `YYYY-MM-DD HH:MM`."""
    from datetime import datetime

    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return terminal_safe(iso)
