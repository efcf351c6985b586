"""`qa serve`: the library over HTTP as JSON (qa/serve.py; FastAPI and uvicorn, the serve
extra)."""

from __future__ import annotations

import argparse
import sys

from qa import config
from qa.text import terminal_safe

from .console import INDEX_HELP

EXAMPLES = """\
examples:
  qa serve                                  # index/ on http://127.0.0.1:8000
  qa serve --index ~/news-index --host 10.0.0.11 --allowed-host qa.example.org
  QA_SERVE_TOKEN=s3cret qa serve            # every request needs Authorization: Bearer s3cret
  curl 'http://127.0.0.1:8000/ask?q=Who+leads+the+bakers+union%3F'
  curl 'http://127.0.0.1:8000/search?q=sanctions&k=3&since=2022-02'
  curl 'http://127.0.0.1:8000/quotes?speaker=Smith'
  curl -X POST http://127.0.0.1:8000/ask -H 'Content-Type: application/json' \\
       -d '{"question": "When was that?", "history": ["Who leads the bakers’ union?"]}'
  qa chat --server http://127.0.0.1:8000    # the chat, asking the server

endpoints (all JSON; /docs and /redoc describe each, /openapi.json is the schema):
  GET  /search?q=WORDS&k=5&since=DATE&until=DATE&mode=auto   ranked passages (qa search --json)
  GET  /ask?q=QUESTION&since=DATE&until=DATE&mode=auto       a cited answer (qa ask --json)
  POST /ask {"question", "history", "since", "until", "mode"}  the same, in a conversation
  GET  /quotes?speaker=NAME      attributed quotes, of one speaker (part of a name) or all
  GET  /article/ID               an article and its full text (citations' offsets point in it)
  GET  /chunks?article=ID        an article's chunks, in order
  GET  /health                   index generation, counts, model, search mode
  GET  /docs  /redoc             the API described, in a browser (works offline)
Bodies are the --json of qa search and qa ask; an error is {"error": message}: 400 for a
bad query, an unknown parameter (naming the ones the endpoint takes) or a Host it does not
answer to, 401 without the token, 404 for an unknown article, 503 while there is no usable
index. Beyond this machine, put it behind a TLS proxy (README, "Serving more than one
machine"). A build by `qa index` is picked up within a second. Needs the serve extra:
pip install 'qa[serve]'."""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="answer searches and questions over HTTP (JSON), for many "
                                     "users or a load balancer", epilog=EXAMPLES)
    p.add_argument("--index", help=INDEX_HELP)
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
    p.set_defaults(func=serve)


def serve(args: argparse.Namespace) -> int:
    from qa.serve import serve as serve_http

    serve_http(config.index_path(args.index), host=args.host, port=args.port,
               announce=lambda line: print(terminal_safe(line), file=sys.stderr, flush=True),
               token=config.serve_token(args.token),
               hosts=config.allowed_hosts(args.allowed_host))
    return 0
