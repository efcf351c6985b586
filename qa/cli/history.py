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
  qa history                                # this index's conversations, newest first
  qa history --all                          # every index's
  qa history 12                             # one conversation, its first question first
  qa history --export -o report.md          # this index's newest conversation as Markdown
  qa history --export 12 > report.md
  qa ask --continue "What did he say next?" # follow up on this index's newest conversation
  qa ask --cid 12 "And after that?"         # follow up on conversation 12

Kept in $XDG_DATA_HOME/qa/history.db (~/.local/share/qa/history.db) by qa ask and the chat."""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("history", help="the conversations kept: list, show, export as Markdown",
                       epilog=EXAMPLES)
    p.add_argument("conversation", nargs="?", type=int, metavar="ID",
                   help="show this conversation's questions and answers")
    p.add_argument("--limit", type=int, default=20, metavar="N",
                   help="list at most N conversations (default 20)")
    p.add_argument("--all", action="store_true", dest="every_index",
                   help="list the conversations on every index (default: this index's)")
    p.add_argument("--index", help="the index whose conversations are listed (default index/; "
                                   "$QA_INDEX or the settings file)")
    p.add_argument("--export", nargs="?", type=int, const=0, metavar="ID",
                   help="write a conversation (default: this index's newest) as Markdown: "
                        "questions, answers and numbered sources")
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
    index = None if args.every_index else this_index(args)
    conversations = kept.conversations(limit=args.limit, index_path=index)
    if args.json:
        print_json([asdict(c) for c in conversations])
        return 0
    if not conversations:
        if index is not None and kept.last_conversation() is not None:
            print(f"No conversations on the index {terminal_safe(index)} yet. "
                  "`qa history --all` lists those on other indexes.")
        else:
            print(f"No conversations yet ({terminal_safe(str(kept.path))}). `qa ask` and "
                  "the chat save every question and answer.")
        return 0
    print(f"{'id':>5}  {'last asked':<16}  {'turns':>5}  {'index':<24}  first question")
    for c in conversations:
        print(f"{c.id:>5}  {when(c.last_asked)}  {c.turns:>5}  "
              f"{short_index(c.index_path, 24):<24}  "
              f"{shortened(terminal_safe(c.first_question), 80)}")
    scope = (f"on {terminal_safe(index)}; `qa history --all` lists every index's"
             if index is not None else "on every index")
    print(f"\nConversations {scope}. `qa history ID` shows one; `qa ask --cid ID` follows up "
          "on it; `qa ask --continue` on this index's newest.", file=sys.stderr)
    return 0


def this_index(args: argparse.Namespace) -> str:
    """The index conversations are filtered to, as the history records it (resolved)."""
    from qa import config

    return str(config.index_path(args.index).resolve())


def short_index(path: str, limit: int | None = None) -> str:
    """An index path as listed: the home folder as ~, and past `limit` characters its end
    (the folder's own name) kept after an ellipsis; a server URL likewise."""
    from pathlib import Path

    home = str(Path.home())
    shown = "~" + path[len(home):] if path == home or path.startswith(home + "/") else path
    shown = terminal_safe(shown)
    if limit is not None and len(shown) > limit:
        shown = "…" + shown[-(limit - 1):]
    return shown


def show_conversation(kept: History, args: argparse.Namespace) -> int:
    """`qa history ID`: one conversation's questions and answers, oldest first (it reads as
    it was asked)."""
    conversation = kept.conversation(args.conversation)
    if conversation is None:
        raise QAError(f"There is no conversation {args.conversation}. `qa history --all` "
                      "lists them with their ids.")
    turns = kept.turns(args.conversation)
    if args.json:
        print_json([asdict(t) for t in turns])
        return 0
    print(f"Conversation {conversation.id} on {short_index(conversation.index_path)}, "
          f"{len(turns)} question{'s' if len(turns) != 1 else ''}")
    print()
    for turn in turns:
        print(f"── {when(turn.asked)}  {terminal_safe(turn.answer.question)}")
        print(shown_answer(turn.answer))
        print()
    print(f"`qa ask --cid {conversation.id} QUESTION` follows up on it.", file=sys.stderr)
    return 0


def export_history(kept: History, args: argparse.Namespace) -> int:
    """`qa history --export [ID] [-o FILE]`: a conversation as Markdown."""
    from qa.export import conversation_markdown

    wanted = args.export or args.conversation
    index = None if args.every_index else this_index(args)
    conversation = kept.conversation(wanted) if wanted else \
        kept.last_conversation(index_path=index)
    if conversation is None:
        raise QAError(f"There is no conversation {wanted}. `qa history --all` lists them."
                      if wanted else
                      "No conversations on this index yet to export. `qa ask` and the chat "
                      "save them; `qa history --all` lists those on other indexes.")
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
