"""`qa mcp`: the library as MCP tools, resources and a prompt for AI agents (qa/mcp_server.py;
the official MCP SDK, the mcp extra)."""

from __future__ import annotations

import argparse
import sys

from qa import config
from qa.errors import QAError
from qa.text import terminal_safe

from .console import INDEX_HELP

EXAMPLES = """\
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
pip install 'qa[mcp]'."""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("mcp", help="serve search, ask, quotes and articles to AI agents over "
                                   "MCP (stdio, or HTTP with --http)", epilog=EXAMPLES)
    p.add_argument("--index", help=INDEX_HELP)
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
    p.set_defaults(func=mcp)


def mcp(args: argparse.Namespace) -> int:
    from qa.mcp_server import DEFAULT_HTTP_PORT, run

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
