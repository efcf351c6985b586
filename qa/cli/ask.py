"""`qa search`, `qa ask` and `qa quotes`: ranked passages, cited answers, who said what."""

from __future__ import annotations

import argparse
import sys
import textwrap
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from qa import config
from qa.errors import QAError
from qa.text import terminal_safe
from qa.types import Answer

from .console import (
    DATE_FORMS,
    INDEX_HELP,
    add_date_flags,
    date_filter,
    from_stdin,
    print_json,
    shown_answer,
    shown_passage,
)

if TYPE_CHECKING:
    from qa.history import Conversation, History


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
    dates = date_filter(args, retriever)
    hits = retriever.search(query, k=args.k, dates=dates, mode=args.mode)
    mode = args.mode if args.mode != "auto" else retriever.mode
    if args.json:
        print_json({"query": query, "mode": mode,
                    "fallback_reason": retriever.fallback_reason if mode == "bm25" else None,
                    "date_range": asdict(dates), "hits": [asdict(h) for h in hits]})
        return 0
    if retriever.fallback_reason and args.mode == "auto":
        print(f"[BM25 only: {terminal_safe(retriever.fallback_reason)}]", file=sys.stderr)
    if dates.bounded:
        print(f"(Dates: articles published {dates.text()})")
    if not hits:
        if dates.bounded:
            before, after = retriever.dates_near(dates)
            near = " and ".join(d for d in (before, after) if d)
            print(f"No passage matches {dates.text()}"
                  + (f" (the nearest articles are from {near})" if near else "")
                  + ". Try other words, or widen --since/--until.")
        else:
            print("No passage matches. Try other words.")
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
  qa ask "Who leads the bakers’ union?"
  qa ask "What did the minister say about the budget?" --since 2022-02 --json
  qa ask "What happened last week?"          # dates in the question filter too
  echo "How long did the strike last?" | qa ask -
  qa ask --continue "When was that?"         # a follow-up on this index's last conversation
  qa ask --cid 12 "What did she say next?"   # a follow-up on conversation 12 (qa history)

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
    follow = p.add_mutually_exclusive_group()
    follow.add_argument("--continue", "-c", dest="continue_", action="store_true",
                        help="follow up on the newest conversation on this index (`qa "
                             "history`): “he”, “that” and “when was that?” refer to its "
                             "questions and answers")
    follow.add_argument("--cid", type=int, metavar="ID",
                        help="follow up on conversation ID (`qa history --all` lists them), "
                             "on the index it was about")
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
    if args.continue_ or args.cid is not None:  # its answers are the context
        from qa.history import History

        history = History.open()
        followed = (chosen_conversation(history, args.cid, args.index) if args.cid is not None
                    else newest_conversation(history, index))
        index = Path(followed.index_path)
        conversation, earlier = followed.id, [t.answer for t in history.turns(followed.id)]
    retriever = Retriever.open(index)
    answer = Assistant(retriever).ask(question, earlier, dates=date_filter(args, retriever),
                                      mode=args.mode)
    if args.json:
        print_json(asdict(answer))
    else:
        print(shown_answer(answer))
    sys.stdout.flush()  # the answer is shown before the history is written
    save_turn(conversation, answer, str(index.resolve()))
    return 0


def newest_conversation(history: History, index: Path) -> Conversation:
    """`--continue`: the newest conversation on this index (never another index's)."""
    where = str(index.resolve())
    found = history.last_conversation(index_path=where)
    if found is None:
        others = history.last_conversation()
        raise QAError(
            f"There is no earlier conversation on the index {where} to continue. Ask without "
            "--continue to start one"
            + ("; `qa history --all` lists the conversations on other indexes, and "
               "`qa ask --cid ID` continues one of them." if others is not None else "."))
    return found


def chosen_conversation(history: History, cid: int, index_flag: str | None) -> Conversation:
    """`--cid ID`: that conversation, asked of the index it was about."""
    found = history.conversation(cid)
    if found is None:
        raise QAError(f"There is no conversation {cid}. `qa history --all` lists them with "
                      "their ids.")
    if "://" in found.index_path:
        raise QAError(f"Conversation {cid} was with the server {found.index_path}; continue "
                      f"it in the chat: qa chat --server {found.index_path}")
    if index_flag is not None and \
            str(config.index_path(index_flag).resolve()) != found.index_path:
        raise QAError(f"Conversation {cid} is about the index {found.index_path}, not "
                      f"{config.index_path(index_flag).resolve()}. Leave out --index to "
                      "continue it there, or leave out --cid to start a new conversation.")
    return found


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
  qa quotes "Ada Okafor"
  qa quotes Okafor --since 2022 --json

{DATE_FORMS}"""


def _add_quotes(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("quotes", help="what a person is quoted as saying", epilog=QUOTES_EXAMPLES)
    p.add_argument("name", help="full name or surname: “Ada Okafor”, “Okafor”")
    add_date_flags(p)
    p.add_argument("--index", help=INDEX_HELP)
    p.add_argument("--json", action="store_true", help="print the quotes as JSON")
    p.set_defaults(func=quotes)


def quotes(args: argparse.Namespace) -> int:
    from qa.answer import Assistant
    from qa.search.retriever import Retriever

    # The same dates as search's and the chat's /quotes: "--until 2022-02" is February's
    # last day, "--since 'last month'" counts back from the reference day.
    retriever = Retriever.open(config.index_path(args.index))
    dates = date_filter(args, retriever)
    found = Assistant(retriever).quotes(args.name, dates=dates)
    if args.json:
        print_json([asdict(q) for q in found])
        return 0
    if not found:
        if dates.bounded and not retriever.holds_articles(dates):
            near = " and ".join(d for d in retriever.dates_near(dates) if d)
            print(f"No article was published {dates.text()}"
                  + (f" (the nearest articles are from {near})" if near else "")
                  + ". Widen --since/--until.")
        else:
            print(f"No quotes attributed to {terminal_safe(args.name)} in the articles"
                  + (f" published {dates.text()}." if dates.bounded else "."))
        return 0
    if dates.bounded:
        print(f"(Dates: articles published {dates.text()})")
    for q in found:
        art = retriever.article(q.article_id)
        print(f"{terminal_safe(q.speaker)} ({terminal_safe(q.cue)}) — "
              f"{terminal_safe(art.title)}, {terminal_safe(art.date or 'undated')}")
        # As the article has it: a quotation keeps its own marks, a reported clause has
        # none, so marks stand only around words the article quotes.
        print(textwrap.fill(terminal_safe(" ".join(q.text.split())), 100,
                            initial_indent="   ", subsequent_indent="   "))
    return 0
