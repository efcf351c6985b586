"""`qa config`: the settings in force and where each came from (qa/config.py reads them)."""

from __future__ import annotations

import argparse

from qa import config
from qa.text import terminal_safe

from .console import print_json

EXAMPLES = """\
examples:
  qa config                                 # each setting, and where it came from
  qa config --example > ~/.config/qa/config.toml
  QA_INDEX=/tmp/ix qa config                # the environment beats the file

precedence: flags > environment (QA_INDEX, QA_CORPUS, QA_MODEL, QA_WATCH, QA_THEME,
QA_FUSION_WEIGHT) > $XDG_CONFIG_HOME/qa/config.toml (~/.config/qa/config.toml) > defaults."""

EXAMPLE_CONFIG = """\
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

# What "last week", "yesterday" and "March" (in --since, /since and questions) count from:
# "today", or "newest-article", the newest article's date (for a folder of old news).
# relative_dates = "today"

# The embedding runtime `qa index` uses: "torch", "onnx", "onnx-int8", "openvino" or
# "openvino-int8". Unset, an index keeps its own, and a new one gets the fastest measured here.
# runtime = "openvino"

# The search store `qa index` builds: "local" (the index folder, no server) or "milvus",
# at a Milvus server's address or in a milvus-lite file. An index keeps its own unless told.
# store = "milvus"
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


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("config", help="show the settings in force and where each came from",
                       epilog=EXAMPLES)
    p.add_argument("--index", help="see the settings as with this --index flag")
    p.add_argument("--corpus", help="see the settings as with this --corpus flag")
    p.add_argument("--example", action="store_true",
                   help="print a commented settings file to start from")
    p.add_argument("--json", action="store_true", help="print the settings as JSON")
    p.set_defaults(func=show_config)


def show_config(args: argparse.Namespace) -> int:
    if args.example:
        print(EXAMPLE_CONFIG, end="")
        return 0
    from qa.search.retriever import HYBRID_ALPHA

    path = config.config_file()
    settings = config.load_settings({"index": args.index, "corpus": args.corpus})
    rows = []
    for option in config.OPTIONS:
        value = getattr(settings, option.name)
        source = settings.source(option.name)
        if option.name == "fusion_weight" and value is None:
            value, source = HYBRID_ALPHA, "default (fitted: qa.search.retriever.HYBRID_ALPHA)"
        if option.name == "runtime" and not value:
            value, source = measured_runtime(settings.model)
        if option.secret:  # a token is not printed where a screen or a log may keep it
            value = "(set)" if value else "(not set)"
        rows.append((option, value, source))
    if args.json:
        print_json({"file": str(path), "file_exists": path.exists(), "settings": {
            o.name: {"value": str(v) if o.kind == "path" else v, "source": s, "env": o.env}
            for o, v, s in rows}})
        return 0
    state = "" if path.exists() else " (none yet: `qa config --example` prints one to start from)"
    print(f"settings file: {terminal_safe(str(path))}{state}")
    width = max(len(o.name) for o in config.OPTIONS)
    for option, value, source in rows:
        shown = str(value).lower() if isinstance(value, bool) else str(value)
        if value is None:
            shown = "(not measured yet)"
        print(f"{option.name:<{width}} = {terminal_safe(shown):<28} {terminal_safe(source)}")
    return 0


def measured_runtime(model: str) -> tuple[str | None, str]:
    """The embedding runtime a new index gets when none is set, and why; never measures
    (qa.embed.calibrate does that on the first build that needs it)."""
    from qa.embed.calibrate import cached_choice

    choice = cached_choice(model)
    if choice is None:
        return None, "the first `qa index` measures this machine's runtimes (~1 min, once)"
    return choice.backend, f"{choice.reason} ({choice.measured_at})"
