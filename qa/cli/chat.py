"""`qa chat` (and bare `qa`): the Textual chat. textual is imported only when the chat opens,
so every other command starts without it."""

from __future__ import annotations

import argparse
import sys

from qa import config
from qa.errors import QAError

from .console import INDEX_HELP

EXAMPLES = """\
examples:
  qa                                        # the same as qa chat
  qa chat --index ~/news-index --corpus ~/news
  qa chat --server http://127.0.0.1:8000    # ask a running `qa serve` instead of an index
  In the chat: /help lists the commands, F1 the keys, Ctrl+Q quits."""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("chat", help="open the chat (what bare `qa` does)", epilog=EXAMPLES)
    p.add_argument("--index", help=INDEX_HELP)
    p.add_argument("--corpus", help="folder /rebuild reads and the chat watches (default: the "
                                    "one the index was built from, else corpus/ beside it)")
    p.add_argument("--server", metavar="URL",
                   help="ask a running `qa serve` (http://HOST:PORT) instead of opening an index")
    p.set_defaults(func=chat)


def chat(args: argparse.Namespace) -> int:
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise QAError("The chat needs a terminal (standard input and output are not one). "
                      "For scripts use `qa ask`, `qa search` or `qa quotes`.")
    settings = config.load_settings({"index": args.index, "corpus": args.corpus})
    if args.server:  # a running `qa serve` answers: no index is opened here
        from qa.tui.app import run_remote

        run_remote(args.server, theme=settings.theme)  # it sends serve_token, if set
        return 0
    from qa.tui.app import run

    # No corpus given anywhere: the one the index was built from (its manifest says).
    corpus = None if settings.is_default("corpus") else settings.corpus
    run(settings.index, corpus, watch=settings.watch, theme=settings.theme)
    return 0
