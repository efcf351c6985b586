"""The `qa` command: index, search, ask, quotes, history, watch, chat, serve, mcp, config,
completion, eval.

Kept light at import: each subcommand imports what it needs, so `qa --help` is instant and
`qa search` never waits on the chat UI's libraries.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import sys
import textwrap
import time
from dataclasses import asdict
from typing import Any

from . import __version__, config
from .errors import QAError
from .text import TERMINAL_UNSAFE, terminal_safe
from .types import Answer

# Every string from an article, a file name or a path goes through `terminal_safe` before it
# is printed (fields with `multiline=False`: a title never breaks a line); JSON output escapes
# the same characters as \uXXXX, so a program reading it gets the data unchanged.


# --- shared bits ------------------------------------------------------------------------
def _answer_for_terminal(answer: Answer) -> Answer:
    """An `Answer` whose fields are terminal-safe, for `format_answer` to lay out."""
    from dataclasses import replace

    def safe(value: str, multiline: bool = False) -> str:
        return terminal_safe(value, multiline=multiline).replace(_MARKS[0], "").replace(
            _MARKS[1], "")

    def field(value: str | None) -> str | None:
        return safe(value) if value is not None else None

    citations = tuple(
        replace(c, title=safe(c.title), date=field(c.date), source=safe(c.source),
                url=field(c.url), text=safe(c.text), speaker=field(c.speaker))
        for c in answer.citations
    )
    phrase = answer.answer
    return replace(
        answer, question=safe(answer.question), resolved_question=safe(answer.resolved_question),
        text=safe(answer.text, multiline=True), citations=citations,
        fallback_reason=field(answer.fallback_reason),
        notes=tuple(safe(n) for n in answer.notes),
        answer=replace(phrase, text=safe(phrase.text)) if phrase is not None else None,
    )


# The answer phrase is marked with two private-use characters while the text is made safe,
# then they become bold on a terminal (or nothing in a pipe): no article text can inject
# an escape sequence, and marks an article carries itself are removed first.
_MARKS = ("\ue000", "\ue001")


def _shown_answer(answer: Answer) -> str:
    """An answer laid out for the terminal (`format_answer`), its phrase bold on a tty."""
    from .answer import format_answer

    text = terminal_safe(format_answer(_answer_for_terminal(answer), marks=_MARKS),
                         multiline=True)
    bold = ("\x1b[1m", "\x1b[22m") if sys.stdout.isatty() else ("", "")
    return text.replace(_MARKS[0], bold[0]).replace(_MARKS[1], bold[1])


class _ProgressBar:
    """A one-line progress bar on stderr for long builds (quiet when stderr is not a tty,
    apart from a line every 10%)."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.t0 = time.perf_counter()
        self.last_decile = -1

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage != "embed" or total < 50:
            return
        frac = done / total if total else 1.0
        rate = done / max(time.perf_counter() - self.t0, 1e-9)
        eta = (total - done) / rate if rate > 0 else 0.0
        bar = "#" * int(frac * 30)
        line = f"embedding {done}/{total} chunks [{bar:<30}] {rate:.0f}/s, ~{eta:.0f}s left"
        if self.tty:
            end = "\n" if done >= total else ""
            print(f"\r{line}", end=end, file=sys.stderr, flush=True)
        elif int(frac * 10) != self.last_decile:
            self.last_decile = int(frac * 10)
            print(line, file=sys.stderr, flush=True)

    def start(self, stage: str, done: int, total: int) -> None:
        if stage == "embed" and done == 0:
            self.t0 = time.perf_counter()


class _BuildProgress:
    """Names each stage of a build on stderr as it starts ("preparing the model for fast
    queries (one time, 10-40 s)…", "reading articles…", "embedding 1646 chunks…", "writing the
    index…"), with a bar while embedding many chunks.

    `every_stage=False` (qa watch, where a small update is one line) names only the stages
    that take long: the model's export and the embedding of many chunks.
    """

    def __init__(self, *, every_stage: bool = True) -> None:
        self.every_stage = every_stage
        self.stage = ""
        self.bar = _ProgressBar()

    def __call__(self, stage: str, done: int, total: int) -> None:
        from .build import describe_stage

        if stage != self.stage or (stage == "read" and done == total == 0):
            self.stage = stage
            long = stage == "model" or (stage == "embed" and total >= 50)
            # The bar names the embedding itself; "read n articles" comes as "embedding".
            quiet = (stage == "embed" and total >= 50) or (stage == "read" and total > 0)
            if (self.every_stage or long) and not quiet:
                print(f"{describe_stage(stage, done, total)}…", file=sys.stderr, flush=True)
        self.bar.start(stage, done, total)
        self.bar(stage, done, total)


def _print_json(payload: Any) -> None:
    text = json.dumps(payload, ensure_ascii=False, indent=2)
    # json.dumps escapes C0 controls inside strings itself, so a raw "\n" is layout; the rest
    # of the unsafe set only occurs inside strings, where \uXXXX is the same character to a
    # JSON reader.
    print(TERMINAL_UNSAFE.sub(
        lambda m: "".join(c if c == "\n" else f"\\u{ord(c):04x}" for c in m.group()), text))


def _from_stdin(value: str, what: str) -> str:
    """`-` for a question or query means: read it from standard input."""
    if value != "-":
        return value
    if sys.stdin is None or sys.stdin.isatty():
        command = "search" if what == "query" else "ask"
        raise QAError(f"`-` reads the {what} from standard input, and nothing is piped in. "
                      f"Try: echo \"Who is Zhao Lijian?\" | qa {command} -")
    text = " ".join(sys.stdin.read().split())
    if not text:
        raise QAError(f"Standard input held no {what}. Pipe one in, e.g. "
                      "echo \"Who is Zhao Lijian?\" | qa ask -")
    return text


def _date_filter(args: argparse.Namespace, retriever: Any) -> tuple[str | None, str | None]:
    """--since/--until as ISO days; 'last week' counts back from the newest article."""
    from .dates import date_range

    return date_range(args.since, args.until, latest=retriever.latest_date,
                      names=("--since", "--until"))


def _save_turn(conversation: int | None, answer: Answer, index: str) -> None:
    """Keep the answer in the history; a history that cannot be written is a warning only."""
    from .history import History

    try:
        History.open().add_turn(conversation, answer, index_path=index)
    except QAError as exc:
        print(f"qa: the answer was not saved to the history: {terminal_safe(str(exc))}",
              file=sys.stderr)


def _shortened(text: str, limit: int) -> str:
    """`text` on one line of at most `limit` characters, cut at a word with an ellipsis (a
    pasted article as a question is a line of the history list, not a page)."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    return text[: cut if cut > limit // 2 else limit - 1] + "…"


def _when(iso: str) -> str:
    """A saved time (UTC) as local `YYYY-MM-DD HH:MM`."""
    from datetime import datetime

    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return terminal_safe(iso)


def _export_history(history: Any, args: argparse.Namespace) -> int:
    """`qa history --export [ID] [-o FILE]`: a conversation as Markdown."""
    from .export import conversation_markdown

    wanted = args.export or args.conversation
    conversation = history.conversation(wanted) if wanted else history.last_conversation()
    if conversation is None:
        raise QAError(f"No conversation {wanted}. `qa history` lists them." if wanted else
                      "No conversations yet to export. `qa ask` and the chat save them.")
    turns = history.turns(conversation.id)
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


# --- qa index ---------------------------------------------------------------------------
def _cmd_index(args: argparse.Namespace) -> int:
    if args.check:
        return _check_index(config.index_path(args.index))
    from .build import build_index

    from .executors import make_executor

    runtime, store = _index_backends(args.backend)
    executor = make_executor(config.executor_name(args.executor),
                             config.ray_address(args.ray_address))
    report = build_index(
        corpus=config.corpus_path(args.corpus), index=config.index_path(args.index),
        full=args.full, optimize=args.optimize, progress=_BuildProgress(), wait=args.wait,
        backend=runtime, store=config.store_backend(store),
        milvus_uri=config.milvus_uri(args.milvus_uri), executor=executor,
    )
    if args.json:
        _print_json(asdict(report))
        return 0
    for s in report.skipped:
        print(f"skipped {terminal_safe(s.path)}: {terminal_safe(s.reason)}", file=sys.stderr)
    for note in report.notes:
        print(f"note: {terminal_safe(note)}", file=sys.stderr)
    where = terminal_safe(report.index)
    if report.up_to_date:
        print(
            f"Index {where}/ is up to date: {report.articles} articles, "
            f"{report.chunks} chunks ({report.seconds:.1f}s)."
        )
        return 0
    kind = "Full build" if report.full else "Updated"
    print(
        f"{kind} {where}/ in {report.seconds:.1f}s: {len(report.added)} added, "
        f"{len(report.changed)} changed, {len(report.removed)} removed, "
        f"{len(report.unchanged)} unchanged, {len(report.skipped)} skipped; "
        f"{report.articles} articles, {report.chunks} chunks ({report.embedded_chunks} embedded)."
    )
    return 0


def _index_backends(values: list[str] | None) -> tuple[str | None, str | None]:
    """`--backend` names an embedding runtime, a search store, or one of each (given twice)."""
    from .errors import QAError
    from .index.backend import BACKENDS as STORES

    runtimes = [v for v in values or [] if v not in STORES]
    stores = [v for v in values or [] if v in STORES]
    if len(runtimes) > 1 or len(stores) > 1:
        raise QAError("Give --backend at most once for the embedding runtime and once for the "
                      "search store, e.g. `--backend openvino --backend milvus`.")
    return (runtimes[0] if runtimes else None), (stores[0] if stores else None)


def _check_index(index: Any) -> int:
    from .embedding import query_model_problems
    from .index import read_manifest, verify

    problems = verify(index)
    manifest = read_manifest(index)
    problems += query_model_problems(index, str(manifest["model"].get("name")),
                                     quantize=manifest.get("embedding_backend") == "onnx-int8")
    if problems:
        for line in problems:
            print(f"damaged: {terminal_safe(line)}", file=sys.stderr)
        print(f"qa: the index in {terminal_safe(str(index))}/ is damaged. Run "
              f"`qa index --full --index {terminal_safe(str(index))}` to rebuild it.",
              file=sys.stderr)
        return 2
    print(f"Index {terminal_safe(str(index))}/ is intact: every file matches its checksum, "
          "the parts agree with the manifest, and the query model is sound.")
    return 0


# --- qa watch ---------------------------------------------------------------------------
def _cmd_watch(args: argparse.Namespace) -> int:
    from .types import BuildReport
    from .watch import describe_update, watch_index

    corpus, index = config.corpus_path(args.corpus), config.index_path(args.index)
    print(f"watching {terminal_safe(str(corpus))}/ for changes, keeping "
          f"{terminal_safe(str(index))}/ current (Ctrl-C stops)", file=sys.stderr, flush=True)
    skipped_before: set[str] = set()
    first = True
    progress = _BuildProgress()  # the first build names every stage; updates only long ones
    try:
        for outcome in watch_index(corpus, index, progress=progress):
            progress.every_stage = False
            if isinstance(outcome, QAError):
                print(f"qa: {terminal_safe(str(outcome))}", file=sys.stderr, flush=True)
                continue
            report: BuildReport = outcome
            for s in report.skipped:
                if s.path not in skipped_before:
                    print(f"skipped {terminal_safe(s.path)}: {terminal_safe(s.reason)}",
                          file=sys.stderr)
            skipped_before = {s.path for s in report.skipped}
            for note in report.notes:
                print(f"note: {terminal_safe(note)}", file=sys.stderr)
            if report.up_to_date:
                if first:
                    print(f"index up to date: {report.articles} articles", flush=True)
            else:
                print(describe_update(report), flush=True)
            first = False
    except KeyboardInterrupt:
        # Between builds the watcher is only waiting; during one, the build is abandoned and
        # its temporary folder removed: the live index is the last one published.
        print("\nstopped watching; the index is as of the last update.", file=sys.stderr)
        return 0
    return 0


# --- qa search --------------------------------------------------------------------------
def _cmd_search(args: argparse.Namespace) -> int:
    from .retrieval import Retriever

    query = _from_stdin(args.query, "query")
    retriever = Retriever.open(config.index_path(args.index))
    since, until = _date_filter(args, retriever)
    hits = retriever.search(query, k=args.k, since=since, until=until, mode=args.mode)
    mode = args.mode if args.mode != "auto" else retriever.mode
    if args.json:
        _print_json({"query": query, "mode": mode,
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
        body = terminal_safe(" ".join(h.text.split()))
        print(textwrap.fill(body, width, initial_indent="   ", subsequent_indent="   "))
        print()
    return 0


# --- qa config --------------------------------------------------------------------------
_EXAMPLE_CONFIG = """\
# qa settings. Flags beat environment variables (QA_INDEX, ...), which beat this file.
# `qa config` shows what is in force and where each value came from.

# Where the index lives, and the folder of articles it is built from (~ is your home).
index = "~/news/index"
corpus = "~/news/articles"

# The embedding model: a sentence-transformers name or a local folder.
# model = "all-MiniLM-L6-v2"

# The chat re-indexes the corpus while it is open, as files change.
watch = true

# The chat's colour theme (Ctrl+P, "Change theme", lists them).
# theme = "textual-dark"

# Hybrid ranking: the dense (meaning) share, 0 = keywords only, 1 = meaning only.
# fusion_weight = 0.5

# The search store `qa index` builds: "local" (the index folder, no server) or "milvus",
# at a Milvus server's address or in a milvus-lite file. An index keeps its own unless told.
# backend = "milvus"
# milvus_uri = "http://milvus.internal:19530"

# Where `qa index` embeds: "local" (this machine) or "ray", a running Ray cluster whose head
# node is at ray_address (`ray start --head` prints it; pip install 'qa[scale]' on every node).
# executor = "ray"
# ray_address = "10.0.0.5:6379"

# .feeds files: URLs on this machine or the local network (loopback, link-local, private
# addresses) are refused unless this is true; a whole feed may take feed_timeout seconds.
# allow_private_feeds = false
# feed_timeout = 30

# qa serve: a token every request must carry (Authorization: Bearer TOKEN; `qa chat --server`
# sends it), and the Host names it answers to beyond its own address and localhost.
# serve_token = "a-long-random-string"
# allowed_hosts = "qa.example.org"
"""


def _cmd_config(args: argparse.Namespace) -> int:
    if args.example:
        print(_EXAMPLE_CONFIG, end="")
        return 0
    from .retrieval import HYBRID_ALPHA

    path = config.config_file()
    settings = config.load_settings({"index": args.index, "corpus": args.corpus})
    rows = []
    for option in config.OPTIONS:
        value = getattr(settings, option.name)
        source = settings.source(option.name)
        if option.name == "fusion_weight" and value is None:
            value, source = HYBRID_ALPHA, "default (fitted: qa.retrieval.HYBRID_ALPHA)"
        if option.secret:  # a token is not printed where a screen or a log may keep it
            value = "(set)" if value else "(not set)"
        rows.append((option, value, source))
    backend, why = _build_backend(settings.model)
    if args.json:
        _print_json({"file": str(path), "file_exists": path.exists(), "settings": {
            o.name: {"value": str(v) if o.kind == "path" else v, "source": s, "env": o.env}
            for o, v, s in rows}, "build_backend": {"value": backend, "source": why}})
        return 0
    state = "" if path.exists() else " (none yet: `qa config --example` prints one to start from)"
    print(f"settings file: {terminal_safe(str(path))}{state}")
    width = max(len(o.name) for o in config.OPTIONS)
    for option, value, source in rows:
        shown = str(value).lower() if isinstance(value, bool) else str(value)
        print(f"{option.name:<{width}} = {terminal_safe(shown):<28} {terminal_safe(source)}")
    print(f"{'build_backend':<{width}} = {backend or '(not measured yet)':<28} "
          f"{terminal_safe(why)}")
    return 0


def _build_backend(model: str) -> tuple[str | None, str]:
    """The build backend a new index gets, and why; never measures (qa.calibrate does that
    on the first build that needs it)."""
    from .calibrate import cached_choice

    if os.environ.get("QA_BUILD_BACKEND"):
        return os.environ["QA_BUILD_BACKEND"], "QA_BUILD_BACKEND"
    choice = cached_choice(model)
    if choice is None:
        return None, "the first `qa index` measures this machine's backends (~1 min, once)"
    return choice.backend, f"{choice.reason} ({choice.measured_at})"


# --- qa completion ----------------------------------------------------------------------
def _options_of(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [a for a in parser._actions if a.option_strings and a.help != argparse.SUPPRESS]


def _long(action: argparse.Action) -> str:
    return max(action.option_strings, key=len)


def _takes_folder(action: argparse.Action) -> bool:
    return _long(action) in ("--index", "--corpus", "--beir")


def _completion_script(shell: str, parser: argparse.ArgumentParser) -> str:
    """A completion script over the subcommands, their flags and their flags' choices."""
    commands = _subparsers(parser)
    if shell == "bash":
        cases = []
        for name, sub in commands.items():
            flags = " ".join(_long(a) for a in _options_of(sub))
            cases.append(f'        {name}) opts="{flags}" ;;')
            for a in _options_of(sub):
                if a.choices:
                    choices = " ".join(map(str, a.choices))
                    cases.insert(0, f'        {name}:{_long(a)}) COMPREPLY=($(compgen -W "{choices}" -- "$cur")); return ;;')
            for a in sub._actions:
                if not a.option_strings and a.choices:
                    choices = " ".join(map(str, a.choices))
                    cases.insert(0, f'        {name}:) COMPREPLY=($(compgen -W "{choices}" -- "$cur")); return ;;')
        choice_cases = "\n".join(c for c in cases if ":" in c.split(")")[0])
        flag_cases = "\n".join(c for c in cases if ":" not in c.split(")")[0])
        return f"""\
# qa completion for bash. Load it now:  source <(qa completion bash)
# or for good:  qa completion bash > ~/.local/share/bash-completion/completions/qa
_qa() {{
    local cur="${{COMP_WORDS[COMP_CWORD]}}" prev="${{COMP_WORDS[COMP_CWORD-1]}}"
    local cmd="${{COMP_WORDS[1]}}" opts=""
    if [ "$COMP_CWORD" -eq 1 ]; then
        COMPREPLY=($(compgen -W "{' '.join(commands)} --help --version" -- "$cur"))
        return
    fi
    case "$prev" in
        --index|--corpus|--beir) COMPREPLY=($(compgen -d -- "$cur")); return ;;
    esac
    local key="$cmd:$prev"
    [ "$COMP_CWORD" -eq 2 ] && key="$cmd:"
    case "$key" in
{choice_cases}
    esac
    case "$cmd" in
{flag_cases}
    esac
    if [[ "$cur" == -* ]]; then
        COMPREPLY=($(compgen -W "$opts --help" -- "$cur"))
    fi
}}
complete -o default -F _qa qa
"""
    if shell == "zsh":
        def spec(a: argparse.Action) -> str:
            text = (a.help or "").split(" (")[0].replace("'", "").replace("[", "(").replace("]", ")")
            text = text.replace(":", " ").replace("%", "%%")
            head = f"{_long(a)}[{text}]"
            if a.nargs == 0:
                return f"'{head}'"
            if a.choices:
                return f"'{head}:value:({' '.join(map(str, a.choices))})'"
            if _takes_folder(a):
                return f"'{head}:folder:_files -/'"
            return f"'{head}:value:'"

        described = "\n".join(
            f"    '{name}:{(sub.description or '').replace(chr(39), '').replace(':', ' ')}'"
            for name, sub in commands.items())
        cases = []
        for name, sub in commands.items():
            specs = [spec(a) for a in _options_of(sub) if _long(a) != "--help"]
            for a in sub._actions:
                if not a.option_strings:
                    values = f"({' '.join(map(str, a.choices))})" if a.choices else ""
                    specs.append(f"'1:{a.dest}:{values}'")
            cases.append(f"    {name}) _arguments {' '.join(specs)} ;;")
        return f"""\
#compdef qa
# qa completion for zsh. Load it now:  source <(qa completion zsh)   (after compinit)
# or for good:  qa completion zsh > "${{fpath[1]}}/_qa"
_qa() {{
  local -a commands
  commands=(
{described}
  )
  if (( CURRENT == 2 )); then
    _describe 'command' commands
    return
  fi
  shift words; (( CURRENT-- ))
  case $words[1] in
{chr(10).join(cases)}
  esac
}}
if [ "$funcstack[1]" = "_qa" ]; then _qa "$@"; else compdef _qa qa; fi
"""
    lines = ["# qa completion for fish. Load it now:  qa completion fish | source",
             "# or for good:  qa completion fish > ~/.config/fish/completions/qa.fish",
             "complete -c qa -f",
             "complete -c qa -n __fish_use_subcommand -l version -d 'print the version'"]
    for name, sub in commands.items():
        about = (sub.description or "").replace("'", "")
        lines.append(f"complete -c qa -n __fish_use_subcommand -a {name} -d '{about}'")
        for a in _options_of(sub):
            if _long(a) == "--help":
                continue
            text = (a.help or "").split(" (")[0].replace("'", "")
            rest = ""
            if a.choices:
                rest = f" -x -a '{' '.join(map(str, a.choices))}'"
            elif _takes_folder(a):
                rest = " -r -a '(__fish_complete_directories)'"
            elif a.nargs != 0:
                rest = " -r"
            lines.append(f"complete -c qa -n '__fish_seen_subcommand_from {name}' "
                         f"-l {_long(a)[2:]} -d '{text}'{rest}")
        for a in sub._actions:
            if not a.option_strings and a.choices:
                lines.append(f"complete -c qa -n '__fish_seen_subcommand_from {name}' "
                             f"-a '{' '.join(map(str, a.choices))}'")
    return "\n".join(lines) + "\n"


def _cmd_completion(args: argparse.Namespace) -> int:
    print(_completion_script(args.shell, build_parser()), end="")
    return 0


# Shown under each command's --help: what a person types.
EXAMPLES = {
    "index": """\
examples:
  qa index                                  # corpus/ -> index/, only what changed
  qa index --corpus ~/news --index ~/news-index
  qa index --full                           # rebuild everything
  qa index --check                          # verify the files against their checksums
  qa index --executor ray --ray-address 10.0.0.5:6379   # embed on a Ray cluster""",
    "watch": """\
examples:
  qa watch                                  # keep index/ current as corpus/ changes
  qa watch --corpus ~/news --index ~/news-index
  Each update is one line: "index updated: +1 article, 0 changed, 0 removed (0.4 s)".
  Ctrl-C stops.""",
    "search": """\
examples:
  qa search "harbour strike pay"
  qa search "sanctions" --since 2022-02 --until "March 2022" --k 10
  qa search "video call" --since "last month" --json
  echo "lighthouse reopening" | qa search -

dates (--since, --until): YYYY-MM-DD, YYYY-MM, YYYY, "March 2022", or "last week",
"last month", "last year", counted back from the newest article's date.""",
    "ask": """\
examples:
  qa ask "Who leads the dockworkers’ union?"
  qa ask "What did the minister say about the budget?" --since 2022-02 --json
  qa ask "What happened last week?" --since "last week"
  echo "How long did the strike last?" | qa ask -
  qa ask --continue "When was that?"        # a follow-up on the last conversation

dates (--since, --until): YYYY-MM-DD, YYYY-MM, YYYY, "March 2022", or "last week",
"last month", "last year", counted back from the newest article's date.""",
    "quotes": """\
examples:
  qa quotes "Zhao Lijian"
  qa quotes Kritenbrink --since 2022 --json

dates (--since, --until): YYYY-MM-DD, YYYY-MM, YYYY, "March 2022", or "last week",
"last month", "last year", counted back from the newest article's date.""",
    "history": """\
examples:
  qa history                                # conversations, newest first
  qa history 12                             # one conversation's questions and answers
  qa history --export -o report.md          # the newest conversation as Markdown
  qa history --export 12 > report.md
  qa ask --continue "What did he say next?" # follow up on the newest conversation

Kept in $XDG_DATA_HOME/qa/history.db (~/.local/share/qa/history.db) by qa ask and the chat.""",
    "chat": """\
examples:
  qa                                        # the same as qa chat
  qa chat --index ~/news-index --corpus ~/news
  qa chat --server http://127.0.0.1:8000    # ask a running `qa serve` instead of an index
  In the chat: /help lists the commands, F1 the keys, Ctrl+Q quits.""",
    "serve": """\
examples:
  qa serve                                  # index/ on http://127.0.0.1:8000
  qa serve --index ~/news-index --host 10.0.0.11 --allowed-host qa.example.org
  QA_SERVE_TOKEN=s3cret qa serve            # every request needs Authorization: Bearer s3cret
  curl 'http://127.0.0.1:8000/ask?q=Who+leads+the+dockworkers+union%3F'
  curl 'http://127.0.0.1:8000/search?q=sanctions&k=3&since=2022-02'
  curl -X POST http://127.0.0.1:8000/ask -H 'Content-Type: application/json' \\
       -d '{"question": "When was that?", "history": ["Who leads the dockworkers’ union?"]}'
  qa chat --server http://127.0.0.1:8000    # the chat, asking the server

endpoints: GET /search?q=&k=&since=&until=&mode=   GET /ask?q=&since=&until=
POST /ask {"question", "history", "since", "until"}   GET /health   GET /article/ID
Bodies are the --json of qa search and qa ask; an error is {"error": message}: 400 for a
bad query or a Host it does not answer to, 401 without the token, 503 while there is no
usable index. Beyond this machine, put it behind a TLS proxy (README, "Serving more than
one machine"). A build by `qa index` is picked up within a second. Needs the serve extra:
pip install 'qa[serve]'.""",
    "mcp": """\
examples:
  qa mcp --index ~/news-index               # over stdio: what an MCP client starts
  qa mcp --http                             # http://127.0.0.1:8001/mcp, this machine only
  QA_SERVE_TOKEN=s3cret qa mcp --http --host 10.0.0.11 --allowed-host qa.example.org

In an MCP client's settings (Claude Desktop's claude_desktop_config.json, an editor's
mcp.json), with the full path of the qa command:
  {"mcpServers": {"qa": {"command": "/path/to/.venv/bin/qa",
                         "args": ["mcp", "--index", "/path/to/index"]}}}

tools: search(query, k, since, until)  ask(question, conversation_id, since, until)
quotes(speaker, since, until)  article(id, start, end); resources qa://article/ID; prompt
answer_from_citations. Every span returned is the article's text at its offsets. Over HTTP
it answers what qa serve answers (Host names, serve_token). Needs the mcp extra:
pip install 'qa[mcp]'.""",
    "config": """\
examples:
  qa config                                 # each setting, and where it came from
  qa config --example > ~/.config/qa/config.toml
  QA_INDEX=/tmp/ix qa config                # the environment beats the file

precedence: flags > environment (QA_INDEX, QA_CORPUS, QA_MODEL, QA_WATCH, QA_THEME,
QA_FUSION_WEIGHT) > $XDG_CONFIG_HOME/qa/config.toml (~/.config/qa/config.toml) > defaults.""",
    "completion": """\
examples:
  source <(qa completion bash)              # bash, now; add it to ~/.bashrc to keep it
  source <(qa completion zsh)               # zsh, after compinit
  qa completion fish | source               # fish""",
    "eval": """\
examples:
  qa eval --qa                              # the packaged dev set, qa beside a baseline
  qa eval --qa bench/sets/wikinews.jsonl --corpus ../shared/news/wikinews --split dev
  qa eval --beir ../shared/eval/scifact --mode hybrid""",
}
_INDEX_HELP = "index folder (default index/; $QA_INDEX or the settings file)"
_CORPUS_HELP = "articles folder (default corpus/; $QA_CORPUS or the settings file)"
_DATE_HELP = "only articles published on or {} DATE (forms below)"


# --- parser -----------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qa",
        description="Ask questions about a folder of news articles; answers are quoted and cited.",
        epilog="""\
With no command, opens the chat on index/ (in a terminal; otherwise prints this help).

examples:
  qa index --corpus ~/news                    # build the index
  qa ask "Who leads the dockworkers’ union?"  # a cited answer
  qa watch                                    # keep the index current as files change
  qa                                          # the chat

`qa COMMAND --help` shows each command's flags and examples.""",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"qa {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("index", help="build or update the index from a corpus folder")
    p.add_argument("--corpus", help=_CORPUS_HELP)
    p.add_argument("--index", help=_INDEX_HELP)
    p.add_argument("--full", action="store_true", help="rebuild everything from scratch")
    p.add_argument("--optimize", action="store_true",
                   help="merge the index's segments into one after updating (searches read one "
                        "segment instead of several; updates merge small segments on their own)")
    p.add_argument("--check", action="store_true",
                   help="verify every file of the index against the checksums its manifest "
                        "records (finds damage that keeps a file's size); builds nothing")
    p.add_argument("--backend", action="append",
                   choices=["torch", "onnx", "onnx-int8", "openvino", "openvino-int8",
                            "local", "milvus"],
                   help="embedding runtime for the build (default: $QA_BUILD_BACKEND, else the "
                        "index's own, else the fastest measured on this machine once, see "
                        "`qa config`); torch, onnx and openvino give the same vectors "
                        "(openvino: bf16 where native); the int8 ones are faster, close to fp32. "
                        "Or the search store: local (the index folder, the default) or milvus "
                        "(with --milvus-uri; an existing index moves there without embedding "
                        "again). Give it twice for both")
    p.add_argument("--milvus-uri", metavar="URI",
                   help="the Milvus store: a server (http://milvus.internal:19530) or a "
                        "milvus-lite file (./qa.db, recorded as an absolute path); default "
                        "$QA_MILVUS_URI, the settings file, else the index's own")
    p.add_argument("--executor", choices=["local", "ray"],
                   help="where the new chunks are embedded: local (this machine, the default) "
                        "or ray (a running Ray cluster at --ray-address; needs "
                        "pip install 'qa[scale]' here and on its nodes); $QA_EXECUTOR or the "
                        "settings file otherwise")
    p.add_argument("--ray-address", metavar="HOST:PORT",
                   help="the Ray cluster's head node, as `ray start --head` printed it "
                        "(e.g. 10.0.0.5:6379); default $QA_RAY_ADDRESS or the settings file")
    p.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                   help="wait this long for another running build instead of failing")
    p.add_argument("--json", action="store_true", help="print the build report as JSON")
    p.set_defaults(func=_cmd_index)

    p = sub.add_parser("watch", help="keep the index current as articles appear, change or go")
    p.add_argument("--corpus", help=_CORPUS_HELP)
    p.add_argument("--index", help=_INDEX_HELP)
    p.set_defaults(func=_cmd_watch)

    p = sub.add_parser("search", help="ranked passages for a query")
    p.add_argument("query", help="the words to look for; - reads them from standard input")
    p.add_argument("-k", "--k", type=int, default=5, help="number of passages (default 5)")
    p.add_argument("--since", metavar="DATE", help=_DATE_HELP.format("after"))
    p.add_argument("--until", metavar="DATE", help=_DATE_HELP.format("before"))
    p.add_argument("--mode", default="auto", choices=["auto", "hybrid", "dense", "bm25"],
                   help="how to rank: hybrid (meaning and keywords), dense, bm25 (keywords); "
                        "auto: hybrid, or bm25 when the model cannot load")
    p.add_argument("--index", help=_INDEX_HELP)
    p.add_argument("--json", action="store_true", help="print hits as JSON")
    p.set_defaults(func=_cmd_search)

    # Further subcommands (ask, quotes, eval, chat) are added below, one block each.

    # ask / quotes: cited answers and who-said-what (qa/answer.py, qa/quotes.py).
    def _cmd_ask(args: argparse.Namespace) -> int:
        from .answer import Assistant
        from .retrieval import Retriever

        question = _from_stdin(args.question, "question")
        index = config.index_path(args.index)
        conversation, earlier = None, []
        if args.continue_:  # follow up on the last conversation: its answers are the context
            from .history import History

            history = History.open()
            last = history.last_conversation()
            if last is None:
                raise QAError("There is no earlier conversation to continue. Ask without "
                              "--continue to start one.")
            conversation, earlier = last.id, [t.answer for t in history.turns(last.id)]
        retriever = Retriever.open(index)
        since, until = _date_filter(args, retriever)
        answer = Assistant(retriever).ask(question, earlier, since=since, until=until,
                                          mode=args.mode)
        _save_turn(conversation, answer, str(index.resolve()))
        if args.json:
            _print_json(asdict(answer))
        else:
            print(_shown_answer(answer))
        return 0

    p = sub.add_parser("ask", help="a cited answer to a question (or “the articles don't say”)")
    p.add_argument("question", help="the question; - reads it from standard input")
    p.add_argument("--since", metavar="DATE", help=_DATE_HELP.format("after"))
    p.add_argument("--until", metavar="DATE", help=_DATE_HELP.format("before"))
    p.add_argument("--mode", default="auto", choices=["auto", "hybrid", "bm25"],
                   help="how to search: hybrid (meaning and keywords), bm25 (keywords); "
                        "auto: hybrid, or bm25 when the model cannot load")
    p.add_argument("--index", help=_INDEX_HELP)
    p.add_argument("--continue", "-c", dest="continue_", action="store_true",
                   help="follow up on the last conversation (`qa history`): “he”, “that” and "
                        "“when was that?” refer to its questions and answers")
    p.add_argument("--json", action="store_true", help="print the answer as JSON")
    p.set_defaults(func=_cmd_ask)

    def _cmd_quotes(args: argparse.Namespace) -> int:
        from .answer import Assistant
        from .retrieval import Retriever

        # The same dates as search's and the chat's /quotes: "--until 2022-02" is February's
        # last day, "--since 'last month'" counts back from the newest article.
        retriever = Retriever.open(config.index_path(args.index))
        since, until = _date_filter(args, retriever)
        found = Assistant(retriever).quotes(args.name, since=since, until=until)
        if args.json:
            _print_json([asdict(q) for q in found])
            return 0
        if not found:
            print(f"No quotes attributed to {terminal_safe(args.name)} in the articles.")
            return 0
        for q in found:
            art = retriever.article(q.article_id)
            print(f"{terminal_safe(q.speaker)} ({terminal_safe(q.cue)}) — "
                  f"{terminal_safe(art.title)}, {terminal_safe(art.date or 'undated')}")
            print(textwrap.fill("“" + terminal_safe(" ".join(q.text.split())) + "”", 100,
                                initial_indent="   ", subsequent_indent="   "))
        return 0

    p = sub.add_parser("quotes", help="what a person is quoted as saying")
    p.add_argument("name", help="full name or surname: “Zhao Lijian”, “Kritenbrink”")
    p.add_argument("--since", metavar="DATE", help=_DATE_HELP.format("after"))
    p.add_argument("--until", metavar="DATE", help=_DATE_HELP.format("before"))
    p.add_argument("--index", help=_INDEX_HELP)
    p.add_argument("--json", action="store_true", help="print the quotes as JSON")
    p.set_defaults(func=_cmd_quotes)

    # history: the conversations qa ask and the chat saved (qa/history.py, qa/export.py).
    def _cmd_history(args: argparse.Namespace) -> int:
        from .history import History

        history = History.open()
        if args.export is not None or args.output:
            return _export_history(history, args)
        if args.conversation is not None:
            if history.conversation(args.conversation) is None:
                raise QAError(f"No conversation {args.conversation}. `qa history` lists them.")
            turns = history.turns(args.conversation)
            if args.json:
                _print_json([asdict(t) for t in reversed(turns)])
                return 0

            for turn in reversed(turns):  # newest first, as the list of conversations
                print(f"── {_when(turn.asked)}  {terminal_safe(turn.answer.question)}")
                print(_shown_answer(turn.answer))
                print()
            return 0
        conversations = history.conversations(limit=args.limit)
        if args.json:
            _print_json([asdict(c) for c in conversations])
            return 0
        if not conversations:
            print(f"No conversations yet ({terminal_safe(str(history.path))}). `qa ask` and the "
                  "chat save every question and answer.")
            return 0
        for c in conversations:
            turns = f"{c.turns} question{'s' if c.turns != 1 else ''}"
            print(f"{c.id:>5}  {_when(c.last_asked)}  {turns:<13} "
                  f"{_shortened(terminal_safe(c.first_question), 100)}")
        print(f"\n`qa history ID` shows one; `qa history --export ID -o FILE.md` writes it as "
              "Markdown; `qa ask --continue` follows up on the newest.", file=sys.stderr)
        return 0

    p = sub.add_parser("history", help="the conversations kept: list, show, export as Markdown")
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
    p.set_defaults(func=_cmd_history)

    # chat: the Textual UI. textual is imported only when the chat opens.
    def _cmd_chat(args: argparse.Namespace) -> int:
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

    p = sub.add_parser("chat", help="open the chat (what bare `qa` does)")
    p.add_argument("--index", help=_INDEX_HELP)
    p.add_argument("--corpus", help="folder /rebuild reads and the chat watches (default: the "
                                    "one the index was built from, else corpus/ beside it)")
    p.add_argument("--server", metavar="URL",
                   help="ask a running `qa serve` (http://HOST:PORT) instead of opening an index")
    p.set_defaults(func=_cmd_chat)

    # serve: the library over HTTP as JSON (qa/serve.py; FastAPI and uvicorn, the serve extra).
    def _cmd_serve(args: argparse.Namespace) -> int:
        from .serve import serve

        serve(config.index_path(args.index), host=args.host, port=args.port,
              announce=lambda line: print(terminal_safe(line), file=sys.stderr, flush=True),
              token=config.serve_token(args.token),
              hosts=config.allowed_hosts(args.allowed_host))
        return 0

    p = sub.add_parser("serve", help="answer searches and questions over HTTP (JSON), for many "
                                     "users or a load balancer")
    p.add_argument("--index", help=_INDEX_HELP)
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    p.add_argument("--allowed-host", action="append", metavar="NAME",
                   help="a Host name to answer to besides the address it listens on and "
                        "localhost (the name clients or a proxy use; repeat for several; "
                        "*.example.org for a domain); default $QA_ALLOWED_HOSTS or the "
                        "settings file")
    p.add_argument("--token", metavar="TOKEN",
                   help="require Authorization: Bearer TOKEN on every request (better kept in "
                        "$QA_SERVE_TOKEN or the settings file than on a command line others "
                        "can see)")
    p.set_defaults(func=_cmd_serve)

    # mcp: the library as tools for agents (qa/mcp_server.py; the MCP SDK, the mcp extra).
    def _cmd_mcp(args: argparse.Namespace) -> int:
        from .mcp_server import DEFAULT_HTTP_PORT, run

        if not args.http and (args.host is not None or args.port is not None
                              or args.allowed_host or args.token is not None):
            raise QAError("--host, --port, --allowed-host and --token go with --http; over "
                          "stdio the client that starts qa mcp is the only one it answers.")
        run(config.index_path(args.index), http=args.http, host=args.host or "127.0.0.1",
            port=DEFAULT_HTTP_PORT if args.port is None else args.port,
            announce=lambda line: print(terminal_safe(line), file=sys.stderr, flush=True),
            token=config.serve_token(args.token) if args.http else None,
            hosts=config.allowed_hosts(args.allowed_host) if args.http else ())
        return 0

    p = sub.add_parser("mcp", help="serve search, ask, quotes and articles to AI agents over "
                                   "MCP (stdio, or HTTP with --http)")
    p.add_argument("--index", help=_INDEX_HELP)
    p.add_argument("--http", action="store_true",
                   help="the streamable HTTP transport (http://HOST:PORT/mcp) instead of stdio")
    p.add_argument("--host", help="with --http: address to listen on (default 127.0.0.1: this "
                                  "machine only)")
    p.add_argument("--port", type=int, help="with --http: port to listen on (default 8001)")
    p.add_argument("--allowed-host", action="append", metavar="NAME",
                   help="with --http: a Host name to answer to besides the address and "
                        "localhost, as for qa serve; default $QA_ALLOWED_HOSTS or the settings "
                        "file")
    p.add_argument("--token", metavar="TOKEN",
                   help="with --http: require Authorization: Bearer TOKEN (better kept in "
                        "$QA_SERVE_TOKEN or the settings file, as for qa serve)")
    p.set_defaults(func=_cmd_mcp)

    p = sub.add_parser("config", help="show the settings in force and where each came from")
    p.add_argument("--index", help="see the settings as with this --index flag")
    p.add_argument("--corpus", help="see the settings as with this --corpus flag")
    p.add_argument("--example", action="store_true",
                   help="print a commented settings file to start from")
    p.add_argument("--json", action="store_true", help="print the settings as JSON")
    p.set_defaults(func=_cmd_config)

    p = sub.add_parser("completion", help="print a shell completion script (bash, zsh, fish)")
    p.add_argument("shell", choices=["bash", "zsh", "fish"])
    p.set_defaults(func=_cmd_completion)

    # eval: retrieval quality on a BEIR folder, or answer quality on a question set
    # (qa/evaluation.py does the work; this block only parses and prints).
    def _cmd_eval(args: argparse.Namespace) -> int:
        from . import evaluation

        bar = _ProgressBar()
        asked_at = time.perf_counter()

        def progress(stage: str, done: int, total: int) -> None:
            nonlocal asked_at
            bar.start(stage, done, total)
            bar(stage, done, total)
            if stage.startswith("search:") and done == total:
                print(f"{stage[7:]}: {total} queries scored", file=sys.stderr, flush=True)
            if stage == "ask":
                if done == 1:
                    asked_at = time.perf_counter()
                if done % 25 == 0 or done == total:
                    rate = (done - 1) / max(time.perf_counter() - asked_at, 1e-9)
                    print(f"asked {done}/{total} questions ({rate:.1f}/s)", file=sys.stderr,
                          flush=True)

        if args.beir:
            if args.corpus or args.out or args.limit is not None:
                raise QAError("--corpus, --out and --limit go with --qa, not --beir.")
            report: Any = evaluation.evaluate_beir(
                args.beir, split=args.split or "test", modes=args.mode or evaluation.BEIR_MODES,
                index=args.index, progress=progress,
            )
        elif args.qa:
            report = evaluation.evaluate_qa(
                args.qa, corpus=args.corpus, split=args.split or "all", index=args.index,
                limit=args.limit, k=args.k, progress=progress,
            )
            if args.out:
                with open(args.out, "w", encoding="utf-8") as out:
                    for outcome in report.outcomes:
                        out.write(json.dumps(asdict(outcome), ensure_ascii=False) + "\n")
        else:
            raise QAError("Say what to evaluate: `qa eval --beir DIR` (retrieval on a BEIR "
                          "folder) or `qa eval --qa [FILE]` (answers on a question set).")
        if args.json:
            _print_json(report.as_json())
        else:
            # The set's, corpus's and index's names are file names: one rule for the terminal.
            print(terminal_safe(report.table(), multiline=True))
        return 0

    p = sub.add_parser("eval", help="retrieval scores on a BEIR folder, or answers of qa and "
                                    "a naive baseline on a question set")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--beir", metavar="DIR",
                      help="BEIR folder (corpus.jsonl, queries.jsonl, qrels/<split>.tsv): "
                           "nDCG@10, Recall@100, MRR@10 per mode, document level")
    what.add_argument("--qa", metavar="SET",
                      help="question set: a .jsonl of {question, answers, kind, history?, "
                           "split?} about --corpus, or SQuAD 2.0 JSON (its paragraphs are the "
                           "corpus). qa and the baseline side by side: answer cited, "
                           "abstention, confidence, citation length, latency")
    p.add_argument("--corpus", help="--qa with a .jsonl set: the articles it is about "
                                    "(default corpus/, or $QA_CORPUS)")
    p.add_argument("--split", help="--beir: the qrels split (default test); --qa: dev, test or "
                                   "all (default all)")
    p.add_argument("--mode", action="append", choices=["hybrid", "dense", "bm25"],
                   help="for --beir; repeat for several (default: all three)")
    p.add_argument("--index", help="where the evaluation keeps its own index (default "
                                   "~/.cache/qa/eval/<name>/index); a folder holding anything "
                                   "else is refused")
    p.add_argument("--limit", type=int, metavar="N", help="--qa: only the first N questions")
    p.add_argument("--k", type=int, default=5,
                   help="--qa: passages checked for 'answer in the top-k' (default 5)")
    p.add_argument("--out", metavar="FILE.jsonl",
                   help="--qa: write each question's outcome there, one JSON line each")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.set_defaults(func=_cmd_eval)

    for name, command in _subparsers(parser).items():
        command.formatter_class = argparse.RawDescriptionHelpFormatter
        command.epilog = EXAMPLES.get(name)
        command.description = command.description or _help_of(sub, name)
    return parser


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


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `qa` console script."""
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    if "--" not in argv:  # after "--" everything is an argument, never a command
        unknown = _unknown_command(argv, list(_subparsers(parser)))
        if unknown:
            print(unknown, file=sys.stderr)
            return 2
    args = parser.parse_args(argv)
    if args.command is None:  # bare `qa` opens the chat, in a terminal
        if not (sys.stdin.isatty() and sys.stdout.isatty()) or "chat" not in _subparsers(parser):
            parser.print_help()
            return 0
        args = parser.parse_args(["chat"])
    try:
        return int(args.func(args) or 0)
    except QAError as exc:  # messages name paths and articles: escaped like them
        print(f"qa: {terminal_safe(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("qa: interrupted; the previous index, if any, is unchanged.", file=sys.stderr)
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:  # disk full, read-only or unreadable folder: the OS's words, no traceback
        where = f" ({exc.filename})" if exc.filename else ""
        tail = (" The previous index is unchanged; fix that, then run `qa index` again."
                if args.command == "index" else "")
        print(f"qa: {terminal_safe(f'{exc.strerror or exc}{where}')}.{tail}", file=sys.stderr)
        return 1
    except Exception as exc:  # a bug, or a library failing in a way we did not foresee
        if os.environ.get("QA_DEBUG"):
            raise
        tail = " The previous index is unchanged." if args.command == "index" else ""
        print(
            f"qa: unexpected error ({type(exc).__name__}: {terminal_safe(str(exc))}).{tail} "
            "Run again with QA_DEBUG=1 to see the traceback, and please report it.",
            file=sys.stderr,
        )
        return 1


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


if __name__ == "__main__":
    sys.exit(main())
