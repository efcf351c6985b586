"""`qa serve`: the library over HTTP, as JSON, for many users at once.

    GET  /search?q=…&k=5&since=…&until=…&mode=auto   `qa search --json`
    GET  /ask?q=…&since=…&until=…&mode=auto          `qa ask --json`
    POST /ask  {"question", "history", "since", "until", "mode"}
    GET  /health                                     generation, counts, model, mode
    GET  /article/{id}   GET /chunks?article=ID   GET /quotes?speaker=NAME   (the chat's reader
                                                     and /quotes)
    GET  /docs  /redoc  /openapi.json                 the API described (Swagger UI, ReDoc)

Bodies are the CLI's `--json` shapes (`dataclasses.asdict` of qa's types). A `QAError`
becomes `{"error": message}`: HTTP 400 for a bad query (an unknown query parameter or body
field too, naming the ones the endpoint takes), 503 when the index is missing, corrupt or
otherwise unusable; nothing else ever shows a traceback (500 names the error). /docs and
/redoc load their scripts from the fastapi-offline package, never from a CDN.

Who may ask: `qa serve` answers only requests whose `Host` header names the address it
listens on, localhost, or a name given with `--allowed-host` / the `allowed_hosts` setting
(a web page elsewhere that points its own name at 127.0.0.1 — DNS rebinding — gets 400),
and, when a token is set (`--token`, `serve_token`, `QA_SERVE_TOKEN`), only requests that
carry it (`Authorization: Bearer TOKEN`; 401 otherwise), on every endpoint.

Stateless: a question carries its conversation (`history`), each answer is read from one index
generation (`Assistant.ask` pins one) and says which, so replicas behind a load balancer
answer alike. A build published by `qa index` is picked up within a second
(`Retriever.reload_if_changed`, called at most once a second).

The endpoints are plain functions: FastAPI runs them in its thread pool, so the encoder and
FAISS (CPU-bound, and releasing the GIL) work for several requests at once; the Retriever and
Assistant are thread-safe.

This is the only module that imports FastAPI (the `serve` extra: pip install 'qa[serve]',
which brings fastapi-offline for the documentation pages' scripts).
"""

# No `from __future__ import annotations` here: FastAPI reads the endpoints' parameter types
# at run time, and the ones defined inside `create_app` resolve only as real objects.
import difflib
import hmac
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeVar

from .dates import read_range
from .errors import IndexChangedError, IndexMissingError, QAError, QueryError
from .search.searcher import search_mode
from .types import ANY_DATE, DateRange, JSONObject, SearchMode

if TYPE_CHECKING:  # pragma: no cover
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse

    from .answer import Assistant
    from .embed.embedder import Embedder
    from .search.retriever import Retriever
    from .types import Answer, Hit

RELOAD_EVERY_SECONDS = 1.0  # how often a request may look for a newer build
MAX_K = 100  # hits per search: a page of results, not the index
ASK_MODES: tuple[SearchMode, ...] = ("auto", "hybrid", "bm25")
T = TypeVar("T")
EXTRA_MISSING = ("qa serve needs FastAPI and uvicorn, which the default install leaves out. "
                 "Install them with: pip install 'qa[serve]'")


def _fastapi() -> ModuleType:
    """The fastapi module, or a QAError naming the extra to install."""
    try:
        import fastapi
    except ImportError as exc:
        raise QAError(f"{EXTRA_MISSING} ({exc}).") from None
    return fastapi


class Library:
    """The retriever and assistant a server answers from, for one index folder.

    Opened on first use (a server may start before the first build: it answers 503 until the
    index exists), and looks for a newer build at most once every `reload_every` seconds.
    Thread-safe.
    """

    def __init__(self, index: str | Path, *, embedder: "Embedder | None" = None,
                 reload_every: float = RELOAD_EVERY_SECONDS) -> None:
        self.index = Path(index)
        self.embedder = embedder
        self.reload_every = reload_every
        self._retriever: Retriever | None = None
        self._assistant: Assistant | None = None
        self._open_error: QAError | None = None
        self._next_check = 0.0
        self._lock = threading.Lock()

    def current(self) -> "tuple[Retriever, Assistant]":
        """The open retriever and its assistant, after a look for a newer build if the last
        look is `reload_every` seconds old.

        Raises:
            IndexMissingError, IndexCorruptError, IndexMismatchError: no usable index yet.
        """
        now = time.monotonic()
        opened = self._retriever is not None
        # One request looks, the others go on with what is open (they never wait on a reload;
        # until the index first opens they do wait, to answer from it or with its error: a
        # request that comes while the first open is under way waits for it, too).
        if (now >= self._next_check or not opened) and self._lock.acquire(blocking=not opened):
            try:
                if now >= self._next_check:
                    self._next_check = now + self.reload_every
                    self._refresh()
            finally:
                self._lock.release()
        retriever, assistant = self._retriever, self._assistant
        if retriever is None or assistant is None:
            raise self._open_error or IndexMissingError(f"No index in {self.index}. Run `qa index`.")
        return retriever, assistant

    def _refresh(self) -> None:
        if self._retriever is not None:
            self._retriever.reload_if_changed()
            return
        from .answer import Assistant
        from .search.retriever import Retriever

        try:
            retriever = Retriever.open(self.index, embedder=self.embedder)
        except QAError as error:
            self._open_error = error
            return
        self._assistant = Assistant(retriever)
        self._retriever, self._open_error = retriever, None

    def dates(self, since: str | None, until: str | None) -> DateRange:
        """`since`/`until` read as the CLI reads them ("2022-02", "last week": from the
        reference day, `Retriever.reference_day`).

        Raises:
            QueryError: a bad date, or a range that ends before it starts.
        """
        if not since and not until:
            return ANY_DATE
        retriever, _ = self.current()
        return read_range(since, until, reference=retriever.reference_day())

    def search(self, query: str, *, k: int = 5, dates: DateRange = ANY_DATE,
               mode: str = "auto") -> "tuple[list[Hit], str, str | None]":
        """Ranked passages, as `qa search` finds them (`dates` from `dates`), `k` at most
        `MAX_K`.

        Returns:
            The hits, the mode that ranked them and, when that is BM25, why.

        Raises:
            QueryError: k out of range, a bad date or an unsearchable query.
            IndexMissingError, IndexCorruptError, IndexMismatchError: no usable index.
        """
        if not 1 <= k <= MAX_K:
            raise QueryError(f"k must be between 1 and {MAX_K}.")
        asked = search_mode(mode)
        retriever, _ = self.current()
        hits = retriever.search(query, k=k, dates=dates, mode=asked)
        used = asked if asked != "auto" else retriever.mode
        return hits, used, retriever.fallback_reason if used == "bm25" else None

    def ask(self, question: str, history: "Sequence[str | Answer]" = (), *,
            dates: DateRange = ANY_DATE, mode: str = "auto") -> "Answer":
        """A cited answer, as `qa ask` gives it (`dates` from `dates`; when open, the
        question's own dates are read).

        Raises:
            QueryError: an unknown mode, a bad date, an empty or unsearchable question.
            IndexMissingError, IndexCorruptError, IndexMismatchError: no usable index.
        """
        asked = search_mode(mode, ASK_MODES)
        retriever, assistant = self.current()
        try:
            return assistant.ask(question, list(history), dates=dates, mode=asked)
        except IndexChangedError:  # a build removed the generation mid-answer: the new one
            retriever.reload_if_changed()
            return assistant.ask(question, list(history), dates=dates, mode=asked)

    def warm_up(self) -> None:
        """Open the index and load the model now, so the first request does not wait for it.

        Raises:
            QAError: the index cannot be opened (the server still starts, answering 503).
        """
        retriever, _ = self.current()
        retriever.warm_up()


_LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
_EVERY_INTERFACE = ("", "0.0.0.0", "::")


def allowed_hosts(bound: str, extra: Sequence[str] = ()) -> list[str]:
    """The Host names a server listening on `bound` answers to: that address (or, listening
    on every interface, this machine's host name), localhost and its loopback addresses, and
    `extra` (what clients and proxies use: `qa.example.org`, `10.0.0.5`, `*.example.org`)."""
    hosts = set(_LOOPBACK_NAMES)
    if bound in _EVERY_INTERFACE:
        hosts.add(socket.gethostname().lower())
    else:
        hosts.add(bound.strip("[]").lower())
    hosts.update(h.strip().lower() for h in extra if h.strip())
    return sorted(hosts)


def _host_of(header: str) -> str:
    """The name in a Host header, without its port ("[::1]:8000" -> "::1")."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:].split("]", 1)[0]
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def _host_allowed(host: str, allowed: Sequence[str]) -> bool:
    return any(host == a or (a.startswith("*.") and host.endswith(a[1:])) for a in allowed)


def refusal(*, host: str, authorization: str, allowed: Sequence[str] | None,
            token: str | None, origin: str | None = None) -> tuple[int, str] | None:
    """Why a request may not be answered, as (HTTP status, message), or None when it may.
    The one rule for `qa serve` and `qa mcp --http`.

    Args:
        host: the request's Host header.
        authorization: its Authorization header ("" when absent).
        allowed: the Host names answered to (see `allowed_hosts`); None: any.
        token: when set, `authorization` must be `Bearer <token>`.
        origin: the Origin header a browser sends, checked against `allowed` like the Host
            when given (None: not checked).
    """
    if allowed is not None:
        name = _host_of(host)
        if not _host_allowed(name, allowed):
            return 400, (
                f"This server does not answer to the host {name!r}. It answers to "
                f"{', '.join(allowed)}; if clients reach it as {name!r} (through a proxy or "
                f"a DNS name), start it with --allowed-host {name} or add it to the "
                "allowed_hosts setting.")
        if origin and origin != "null" and not _host_allowed(
                _host_of(origin.partition("://")[2].split("/", 1)[0]), allowed):
            # A page of another site, in a browser on this machine: it may not use the server.
            return 400, (f"This server does not answer pages from {origin!r}. It answers to "
                         f"{', '.join(allowed)} (--allowed-host adds a name).")
    if token:
        scheme, _, given = authorization.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(),
                                                                 token.encode()):
            return 401, ("This server needs a token: send the header Authorization: Bearer "
                         "TOKEN, the token set where it runs (the serve_token setting or "
                         "QA_SERVE_TOKEN; `qa chat --server` sends it).")
    return None


# What /docs and /redoc say above the endpoints (the OpenAPI description).
API_GUIDE = """Cited answers from a folder of news articles, as JSON: the bodies are the `--json`
of `qa search` and `qa ask`. Every `text` with `start` and `end` is exactly
`article.text[start:end]` of its `article_id` (GET /article/ID gives that text).

Errors are `{"error": message}`: 400 for a bad query (an unknown parameter names the ones the
endpoint takes), 401 without the token when one is set, 404 for an unknown article, 503
while there is no usable index."""
DATES = ('YYYY-MM-DD, YYYY-MM, YYYY, "March 2022", "last week", "last month" or "last year", '
         "read as `qa search --since` reads them")
DOCS_ASSETS = "/docs-assets"  # Swagger UI's and ReDoc's scripts, served from the package
DOCS_PAGES = ("/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json")


def _offline_docs() -> ModuleType:
    """fastapi_offline: FastAPI with /docs and /redoc whose scripts come from the package
    (Swagger UI and ReDoc), not a CDN: a server may have no internet, and a page that loads
    scripts from elsewhere is one more party that sees who uses it."""
    try:
        import fastapi_offline
    except ImportError as exc:
        raise QAError(f"{EXTRA_MISSING} ({exc}).") from None
    return fastapi_offline


def create_app(library: Library, *, allowed_hosts: Sequence[str] | None = None,
               token: str | None = None) -> "FastAPI":
    """The HTTP API over one `Library`, with its documentation at /docs (Swagger UI) and
    /redoc, and the OpenAPI schema at /openapi.json.

    Args:
        allowed_hosts: the Host names it answers to (see `allowed_hosts`); None: any (for
            tests and embedding; `serve` always passes them).
        token: when set, every request must carry `Authorization: Bearer <token>`.

    Raises:
        QAError: FastAPI is not installed (the message names `pip install 'qa[serve]'`).
    """
    fastapi = _fastapi()
    from fastapi import Request

    from .version import __version__

    def only_known_parameters(request: Request) -> None:
        _refuse_unknown_parameters(request)

    dependencies = [fastapi.Depends(only_known_parameters)]
    if token:  # the schema says so, and /docs gets an "Authorize" button to send it
        from fastapi.security import HTTPBearer

        dependencies.append(fastapi.Depends(HTTPBearer(auto_error=False)))
    app = _offline_docs().FastAPIOffline(
        title="qa", summary="Cited answers from a folder of news articles.",
        description=API_GUIDE, version=__version__, static_url=DOCS_ASSETS,
        # Swagger UI would send the schema to an online validator for its badge.
        swagger_ui_parameters={"validatorUrl": None}, dependencies=dependencies)
    _guard(app, None if allowed_hosts is None else list(allowed_hosts), token)
    _reply_errors(app)
    _add_routes(app, library)
    return app


def _refuse_unknown_parameters(request: "Request") -> None:
    """An endpoint's query parameters are the ones it declares: `/quotes?name=…` is a 400
    naming `speaker`, not every quote as if no filter had been asked for."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None or not getattr(route, "include_in_schema", False):
        return
    known = [p.alias for p in dependant.query_params]
    unknown = [name for name in request.query_params if name not in known]
    if not unknown:
        return
    path = getattr(route, "path", request.url.path)
    takes = (f"it takes {', '.join(known)}" if known else "it takes no query parameters")
    close = difflib.get_close_matches(unknown[0], known, n=1, cutoff=0.5)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    names = ", ".join(repr(u) for u in unknown)
    raise QueryError(f"Unknown parameter {names} for {request.method} {path}: {takes} "
                     f"(/docs lists every endpoint).{hint}")


def _guard(app: "FastAPI", hosts: list[str] | None, token: str | None) -> None:
    """Refuse what `refusal` refuses, before routing, so unknown paths are covered too; the
    replies are the API's own JSON errors (starlette's TrustedHostMiddleware answers in
    plain text)."""
    from starlette.requests import Request  # FastAPI reads the hooks' annotations at run time
    from starlette.responses import Response

    @app.middleware("http")
    async def _refuse(request: Request,
                      call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        path = request.url.path
        # The documentation is the API's shape, as the README gives it: a browser opens it
        # without the token (its "Authorize" button then sends the token with each request).
        docs = path in DOCS_PAGES or path.startswith(DOCS_ASSETS + "/")
        refused = refusal(host=request.headers.get("host", ""),
                          authorization=request.headers.get("authorization", ""),
                          allowed=hosts, token=None if docs else token)
        if refused is not None:
            reply_ = _error_reply(*refused)
            if refused[0] == 401:
                reply_.headers["WWW-Authenticate"] = "Bearer"
            return reply_
        return await call_next(request)


def _reply(payload: Any, status: int = 200) -> "JSONResponse":
    from fastapi.responses import JSONResponse

    return JSONResponse(payload, status_code=status)


def _error_reply(status: int, message: str) -> "JSONResponse":
    return _reply({"error": message}, status)


def _reply_errors(app: "FastAPI") -> None:
    """Every failure as `{"error": message}`, never a traceback."""
    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException
    from starlette.requests import Request  # FastAPI reads the hooks' annotations at run time

    @app.exception_handler(QAError)
    def _qa_error(request: Request, error: QAError) -> "JSONResponse":
        return _error_reply(400 if isinstance(error, QueryError) else 503, str(error))

    @app.exception_handler(RequestValidationError)
    def _bad_request(request: Request, error: RequestValidationError) -> "JSONResponse":
        problems = []
        for item in error.errors():
            if item.get("type") == "json_invalid":
                problems.append("The request body is not JSON.")
                continue
            where = ".".join(str(p) for p in item.get("loc", ())[1:]) or "request"
            if item.get("type") == "extra_forbidden":
                problems.append(f"{where}: unknown field; the body's fields are "
                                f"{', '.join(ASK_FIELDS)}")
                continue
            problems.append(f"{where}: {item.get('msg', 'invalid')}")
        return _error_reply(400, "; ".join(problems) or "Bad request.")

    @app.exception_handler(HTTPException)
    def _http_error(request: Request, error: HTTPException) -> "JSONResponse":
        return _error_reply(error.status_code, str(error.detail))

    @app.exception_handler(Exception)
    def _unexpected(request: Request, error: Exception) -> "JSONResponse":
        # A bug, or a library failing unforeseen: named, never a traceback to the client.
        return _error_reply(500, f"unexpected error ({type(error).__name__}: {error})")


ASK_FIELDS = ("question", "history", "since", "until", "mode")


def _reply_models() -> tuple[type, type, type, type]:
    """The request and reply shapes /docs and /openapi.json show beside qa's own types:
    (SearchReply, Health, ErrorReply, AskBody)."""
    from pydantic import BaseModel, ConfigDict, Field

    from .types import Hit, IndexStats

    class SearchReply(BaseModel):
        query: str
        mode: str = Field(description="how the hits were ranked: hybrid, dense or bm25")
        fallback_reason: str | None = Field(description="why BM25 alone ranked them")
        date_range: DateRange = Field(description="the publication dates searched")
        hits: list[Hit]

    class Health(BaseModel):
        status: str
        generation: str
        stats: IndexStats
        mode: str
        fallback_reason: str | None
        dense_ready: bool
        latest_date: str | None

    class ErrorReply(BaseModel):
        error: str = Field(description="what went wrong, and what to do about it")

    class AskBody(BaseModel):
        model_config = ConfigDict(extra="forbid")  # a misspelt field is an error, not ignored
        question: str
        history: list[str | JSONObject] = Field(
            default_factory=list, description="the earlier turns, oldest first: questions, "
                                              "or earlier answers as /ask returned them")
        since: str | None = Field(None, description=f"only articles from this date on: {DATES}")
        until: str | None = Field(None, description=f"only articles up to this date: {DATES}")
        mode: str = Field("auto", description="auto, hybrid or bm25")

    return SearchReply, Health, ErrorReply, AskBody


def _add_routes(app: "FastAPI", library: Library) -> None:
    """The endpoints. Their parameters, descriptions and response models are what /docs,
    /redoc and /openapi.json show; the bodies are `asdict` of qa's types, as the CLI's
    `--json`."""
    from fastapi import Query
    from fastapi.responses import JSONResponse

    from .search.remote import answer_from_json
    from .types import Answer, Article, Chunk, Quote

    SearchReply, Health, ErrorReply, AskBody = _reply_models()

    errors: dict[int | str, JSONObject] = {
        400: {"model": ErrorReply, "description": "a bad query or an unknown parameter"},
        503: {"model": ErrorReply, "description": "no usable index (yet)"}}
    since_q = Query(None, description=f"only articles published on or after this date: {DATES}")
    until_q = Query(None, description=f"only articles published on or before this date: {DATES}")

    @app.get("/search", response_model=SearchReply, responses=errors)
    def search(q: str = Query(description="the words to look for"),
               k: int = Query(5, description=f"how many passages, 1 to {MAX_K}"),
               since: str | None = since_q, until: str | None = until_q,
               mode: str = Query("auto", description="auto (hybrid, or bm25 when the model "
                                                     "cannot load), hybrid, dense or bm25")
               ) -> JSONResponse:
        """Ranked passages: the body of `qa search --json`."""
        dates = library.dates(since, until)
        hits, used, fallback = library.search(q, k=k, dates=dates, mode=mode)
        return _reply({"query": q, "mode": used, "fallback_reason": fallback,
                       "date_range": asdict(dates), "hits": [asdict(h) for h in hits]})

    @app.get("/ask", response_model=Answer, responses=errors)
    def ask_get(q: str = Query(description="the question"), since: str | None = since_q,
                until: str | None = until_q,
                mode: str = Query("auto", description="auto, hybrid or bm25")) -> JSONResponse:
        """A cited answer: the body of `qa ask --json`."""
        return _reply(asdict(library.ask(q, dates=library.dates(since, until), mode=mode)))

    @app.post("/ask", response_model=Answer, responses=errors)
    def ask_post(body: AskBody) -> JSONResponse:
        """A cited answer to a question in a conversation: `history` holds the earlier turns,
        oldest first, as question strings or earlier answers (their JSON)."""
        turns: list[str | Answer] = []
        for n, turn in enumerate(body.history):
            try:
                turns.append(turn if isinstance(turn, str) else answer_from_json(turn))
            except (TypeError, ValueError, KeyError) as error:
                raise QueryError(f"history[{n}] is neither a question nor an answer "
                                 f"of `qa ask --json` ({error}).") from None
        return _reply(asdict(library.ask(body.question, turns,
                                         dates=library.dates(body.since, body.until),
                                         mode=body.mode)))

    @app.get("/health", response_model=Health, responses={503: errors[503]})
    def health() -> JSONResponse:
        """Which generation answers, what it holds, and how it searches."""
        retriever, _ = library.current()
        return _reply({
            "status": "ok", "generation": retriever.generation,
            "stats": asdict(retriever.stats), "mode": retriever.mode,
            "fallback_reason": retriever.fallback_reason,
            "dense_ready": retriever.dense_ready, "latest_date": retriever.latest_date,
        })

    not_found: dict[int | str, JSONObject] = {
        404: {"model": ErrorReply, "description": "no such article"}}

    @app.get("/article/{article_id:path}", response_model=Article,
             responses={**not_found, 503: errors[503]})
    def article(article_id: str) -> JSONResponse:
        """One article with its full text (what citations' offsets point into)."""
        retriever, _ = library.current()
        return _reply(asdict(_article_or_404(retriever.article, article_id)))

    @app.get("/chunks", response_model=list[Chunk], responses={**not_found, **errors})
    def chunks(article: str = Query(description="the article's id")) -> JSONResponse:
        """An article's chunks, in order."""
        retriever, _ = library.current()
        _article_or_404(retriever.article, article)
        return _reply([asdict(c) for c in retriever.chunks_of(article)])

    @app.get("/quotes", response_model=list[Quote], responses=errors)
    def quotes(speaker: str | None = Query(None, description="whose quotes (a name or part "
                                                             "of one); all when left out")
               ) -> JSONResponse:
        """Attributed quotes, of one speaker when given (as the chat's /quotes lists them)."""
        retriever, _ = library.current()
        return _reply([asdict(q) for q in retriever.quotes(speaker)])


def _article_or_404(read: Callable[[str], T], article_id: str) -> T:
    from starlette.exceptions import HTTPException

    try:
        return read(article_id)
    except KeyError:
        raise HTTPException(404, f"No article {article_id!r} in the index.") from None


def serve(index: str | Path, *, host: str = "127.0.0.1", port: int = 8000,
          announce: Callable[[str], None] = print, token: str | None = None,
          hosts: Sequence[str] = ()) -> None:
    """Run the server until interrupted: open the index and load the model first, then answer.

    Args:
        token: required on every request when set (`Authorization: Bearer TOKEN`).
        hosts: Host names to answer to besides `host` and localhost (`allowed_hosts`).

    Raises:
        QAError: FastAPI or uvicorn is missing (the message names `pip install 'qa[serve]'`).
    """
    _fastapi()
    try:
        import uvicorn
    except ImportError as exc:
        raise QAError(f"{EXTRA_MISSING} ({exc}).") from None
    library = Library(index)
    answered = allowed_hosts(host, hosts)
    app = create_app(library, allowed_hosts=answered, token=token)
    announce(f"qa serve: answering Host {', '.join(answered)}; "
             + ("a token is required on every request" if token else "no token is required"))
    try:
        library.warm_up()
        retriever, _ = library.current()
        stats = retriever.stats
        how = "hybrid" if retriever.dense_ready else f"BM25 ({retriever.fallback_reason})"
        announce(f"qa serve: {stats.articles} articles, {stats.chunks} chunks from {index} "
                 f"({how}) on http://{host}:{port}  (Ctrl-C stops)")
    except QAError as error:  # answers 503 until a build appears
        announce(f"qa serve: {error} Answering 503 until then, on http://{host}:{port}.")
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
