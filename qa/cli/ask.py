"""`qa search`, `qa ask` and `qa quotes`: ranked passages, cited answers, who said what."""

from __future__ import annotations

import argparse
import sys
import textwrap
from dataclasses import asdict

from qa import config
from qa.errors import QAError
from qa.text import terminal_safe
from qa.types import Answer

from .console import (DATE_FORMS, INDEX_HELP, add_date_flags, date_filter, from_stdin,
                      print_json, shown_answer, shown_passage)


def add_parser(sub: argparse._SubParsersAction) -> None:
    """search, ask and quotes, in the order `qa --help` lists them."""
    _add_search(sub)
    _add_ask(sub)
    _add_quotes(sub)


# --- qa search --------------------------------------------------------------------------
SEARCH_EXAMPLES = f"""\
examples:
  qa search "harbour strike pay"
  qa search "sanctions" --since 2022-02 --until "March 2022" --k 10
  qa search "video call" --since "last month" --json
  echo "lighthouse reopening" | qa search -

{DATE_FORMS}"""


def _add_search(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("search", help="ranked passages for a query", epilog=SEARCH_EXAMPLES)
    p.add_argument("query", help="the words to look for; - reads them from standard input")
    p.add_argument("-k", "--k", type=int, default=5, help="number of passages (default 5)")
    add_date_flags(p)
    p.add_argument("--mode", default="auto", choices=["auto", "hybrid", "dense", "bm25"],
                   help="how to rank: hybrid (meaning and keywords), dense, bm25 (keywords); "
                        "auto: hybrid, or bm25 when the model cannot load")
    p.add_argument("--index", help=INDEX_HELP)
    p.add_argument("--json", action="store_true", help="print hits as JSON")
    p.set_defaults(func=search)


def search(args: argparse.Namespace) -> int:
    from qa.search.retriever import Retriever

    query = from_stdin(args.query, "query")
    retriever = Retriever.open(config.index_path(args.index))
    since, until = date_filter(args, retriever)
    hits = retriever.search(query, k=args.k, since=since, until=until, mode=args.mode)
    mode = args.mode if args.mode != "auto" else retriever.mode
    if args.json:
        print_json({"query": query, "mode": mode,
                    "fallback_reason": retriever.fallback_reason if mode == "bm25" else None,
                    "hits": [asdict(h) for h in hits]})
        return 0
    if retriever.fallback_reason and args.mode == "auto":
        print(f"[BM25 only: {terminal_safe(retriever.fallback_reason)}]", file=sys.stderr)
    if not hits:
        print("No passage matches. Try other words, or widen --since/--until.")
        return 0
    width = 100
    for h in hits:
        head = f"{h.rank}. {terminal_safe(h.title) or terminal_safe(h.article_id)}"
        meta = " · ".join(terminal_safe(x) for x in (h.date or "undated", h.source) if x)
        print(f"{head}  ({meta})  score {h.score:.4f} via {h.via}")
        print(f"   {terminal_safe(h.article_id)} [{h.start}:{h.end}]")
        print(shown_passage(h.text, query, width=width))
        print()
    return 0


# --- qa ask -----------------------------------------------------------------------------
ASK_EXAMPLES = f"""\
examples:
  qa ask "Who leads the dockworkers’ union?"
  qa ask "What did the minister say about the budget?" --since 2022-02 --json
  qa ask "What happened last week?" --since "last week"
  echo "How long did the strike last?" | qa ask -
  qa ask --continue "When was that?"        # a follow-up on the last conversation

{DATE_FORMS}"""


def _add_ask(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("ask", help="a cited answer to a question (or “the articles don't say”)",
                       epilog=ASK_EXAMPLES)
    p.add_argument("question", help="the question; - reads it from standard input")
    add_date_flags(p)
    p.add_argument("--mode", default="auto", choices=["auto", "hybrid", "bm25"],
                   help="how to search: hybrid (meaning and keywords), bm25 (keywords); "
                        "auto: hybrid, or bm25 when the model cannot load")
    p.add_argument("--index", help=INDEX_HELP)
    p.add_argument("--continue", "-c", dest="continue_", action="store_true",
                   help="follow up on the last conversation (`qa history`): “he”, “that” and "
                        "“when was that?” refer to its questions and answers")
    p.add_argument("--json", action="store_true", help="print the answer as JSON")
    p.set_defaults(func=ask)


def ask(args: argparse.Namespace) -> int:
    from qa.corpus.nlp import load_in_background

    load_in_background()  # the question's parse needs spaCy: load it while the rest starts
    from qa.answer import Assistant
    from qa.search.retriever import Retriever

    question = from_stdin(args.question, "question")
    index = config.index_path(args.index)
    conversation, earlier = None, []
    if args.continue_:  # follow up on the last conversation: its answers are the context
        from qa.history import History

        history = History.open()
        last = history.last_conversation()
        if last is None:
            raise QAError("There is no earlier conversation to continue. Ask without "
                          "--continue to start one.")
        conversation, earlier = last.id, [t.answer for t in history.turns(last.id)]
    retriever = Retriever.open(index)
    since, until = date_filter(args, retriever)
    answer = Assistant(retriever).ask(question, earlier, since=since, until=until,
                                      mode=args.mode)
    save_turn(conversation, answer, str(index.resolve()))
    if args.json:
        print_json(asdict(answer))
    else:
        print(shown_answer(answer))
    return 0


def save_turn(conversation: int | None, answer: Answer, index: str) -> None:
    """Keep the answer in the history; a history that cannot be written is a warning only."""
    from qa.history import History

    try:
        History.open().add_turn(conversation, answer, index_path=index)
    except QAError as exc:
        print(f"qa: the answer was not saved to the history: {terminal_safe(str(exc))}",
              file=sys.stderr)


# --- qa quotes --------------------------------------------------------------------------
QUOTES_EXAMPLES = f"""\
examples:
  qa quotes "Zhao Lijian"
  qa quotes Kritenbrink --since 2022 --json

{DATE_FORMS}"""


def _add_quotes(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("quotes", help="what a person is quoted as saying", epilog=QUOTES_EXAMPLES)
    p.add_argument("name", help="full name or surname: “Zhao Lijian”, “Kritenbrink”")
    add_date_flags(p)
    p.add_argument("--index", help=INDEX_HELP)
    p.add_argument("--json", action="store_true", help="print the quotes as JSON")
    p.set_defaults(func=quotes)


def quotes(args: argparse.Namespace) -> int:
    from qa.answer import Assistant
    from qa.search.retriever import Retriever

    # The same dates as search's and the chat's /quotes: "--until 2022-02" is February's
    # last day, "--since 'last month'" counts back from the newest article.
    retriever = Retriever.open(config.index_path(args.index))
    since, until = date_filter(args, retriever)
    found = Assistant(retriever).quotes(args.name, since=since, until=until)
    if args.json:
        print_json([asdict(q) for q in found])
        return 0
    if not found:
        print(f"No quotes attributed to {terminal_safe(args.name)} in the articles.")
        return 0
    for q in found:
        art = retriever.article(q.article_id)
        print(f"{terminal_safe(q.speaker)} ({terminal_safe(q.cue)}) — "
              f"{terminal_safe(art.title)}, {terminal_safe(art.date or 'undated')}")
        # As the article has it: a quotation keeps its own marks, a reported clause has
        # none, so marks stand only around words the article quotes.
        print(textwrap.fill(terminal_safe(" ".join(q.text.split())), 100,
                            initial_indent="   ", subsequent_indent="   "))
    return 0
