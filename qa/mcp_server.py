"""`qa mcp`: the library as tools for agents, over the Model Context Protocol.

    search(query, k, since, until)            ranked passages, each a verbatim span
    ask(question, conversation_id, since, until)  the answer as `qa ask --json` gives it, and
                                              the conversation it was saved in
    quotes(speaker, since, until)             what a person is quoted as saying
    article(id, start, end)                   an article's text, or a span of it
    qa://article/{id}                         resources: each article's text
    answer_from_citations(question)           a prompt: answer only from qa's citations

Every tool is a thin call into the library (`qa.serve.Library`: the same retriever, the same
reading of dates, the same limits as `qa serve`); inputs and outputs are pydantic models, so
the SDK publishes their JSON schemas and checks every answer against them. Every span an
answer holds (a passage, a citation, the answer phrase, a quote and its sentence, an article
span) is the article's text at its offsets: `article(id).text[start:end] == text`, so an
agent, or whoever reads its answer, can check each quotation against the source.

Transports: stdio (what an MCP client launches; no network at all), or streamable HTTP with
`--http`, on 127.0.0.1 unless told otherwise, answering only what `qa serve` answers: the
Host names of `qa.serve.allowed_hosts`, with the `serve_token` setting when it is set
(`qa.serve.refusal`, one rule for both servers), and a browser's Origin held to the same
names.

Errors: a `QAError` (no index, a bad date, an empty question...) becomes a tool error whose
text is the message `qa` prints, naming what to do next; a resource that cannot be read is an
MCP error with that message. Anything else is named (`unexpected error (...)`), never a
traceback, and logged on stderr.

The SDK is the `mcp` extra (`pip install 'qa[mcp]'`), imported only inside the functions that
serve; pydantic, which the schemas need, comes with spaCy as well. Headless: nothing here
imports textual, and settings come from the caller (qa.config), never from the environment.
"""

# No `from __future__ import annotations`: the SDK reads the tools' parameter and return types
# at run time to build their schemas.
import functools
import logging
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field

from .errors import QAError
from .serve import MAX_K, Library, allowed_hosts, refusal
from .types import DateRange, JSONObject
from .version import __version__

if TYPE_CHECKING:  # pragma: no cover
    from mcp.server.mcpserver import MCPServer
    from starlette.types import ASGIApp, Receive, Scope, Send

    from .search.retriever import Retriever
    from .types import Answer, Article

EXTRA_MISSING = ("qa mcp needs the MCP SDK, which the default install leaves out. Install it "
                 "with: pip install 'qa[mcp]'")
ARTICLE_URI = "qa://article/"
# An agent reads an article through its context window: a span longer than this comes in
# parts (`truncated`, then `start=end`). Articles themselves may hold up to 64M characters.
MAX_SPAN_CHARS = 100_000
# Listed resources (a client shows them to pick from); any article reads by its URI anyway.
MAX_LISTED_ARTICLES = 1000
DEFAULT_HTTP_PORT = 8001  # beside `qa serve`'s 8000, so both can run with their defaults

_DATES = ('only articles published {} this date: YYYY-MM-DD, YYYY-MM, YYYY, "March 2022", '
          'or "last week", "last month", "last year" (counted back from the newest article)')


def _bounds(low: int, high: int | None = None) -> dict[str, int]:
    """Bounds published in a tool's schema but checked by qa itself, so that a number out of
    range gets qa's message ("k must be between 1 and 100.", as from `qa serve`) rather than
    pydantic's."""
    return {"minimum": low} if high is None else {"minimum": low, "maximum": high}


log = logging.getLogger("qa.mcp")
T = TypeVar("T")

INSTRUCTIONS = """\
qa answers questions about a folder of news articles by quoting sentences from them verbatim.
No language model writes its answers: every `text` that comes with `start` and `end` is
exactly the characters start..end of the article `article_id` (read it with the `article` tool
or the resource qa://article/{id}). Quote those texts character for character, keep the [n]
markers of `ask` answers with the sources they point to, and when qa abstains ("The articles
don't say."), say that instead of answering from elsewhere."""

PROMPT = """\
Answer the question below only from what qa quotes from the articles.

1. Call qa's `ask` tool with the question (for a follow-up, pass the `conversation_id` the
   previous answer returned). Use `search`, `quotes` and `article` to look further if needed.
2. Quote qa's sentences verbatim: copy each `text` exactly, character for character. Never
   paraphrase, shorten, merge or translate a quoted sentence, and keep each one's [n]
   reference exactly as qa gives it.
3. After the answer, list each source you cited: [n], title, outlet, date and URL.
4. If qa abstained ("The articles don't say.") or nothing it returned answers the question,
   say that the articles don't say. Do not answer from your own knowledge.
5. Say how sure qa is: its `certainty` (sure, likely or unsure).

Question: {question}"""


# --- what the tools return (published as their output schemas) -------------------------------
class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Passage(_Out):
    """A ranked passage: `text` is the article's text[start:end]."""

    article_id: str
    title: str
    date: str | None = Field(description="publication date, YYYY-MM-DD (null when unknown)")
    source: str = Field(description="the outlet, or the site's host ('' when unknown)")
    url: str | None
    text: str = Field(description="the passage, verbatim")
    start: int
    end: int
    score: float = Field(description="fused relevance, higher is better")
    rank: int
    via: str = Field(description='which search found it: "dense", "bm25" or "both"')


class SearchResult(_Out):
    query: str
    mode: str = Field(description='"hybrid" (meaning and keywords) or "bm25" (keywords only)')
    fallback_reason: str | None = Field(description="why only BM25 ranked, when it did")
    since: str | None = Field(description="the date range searched, as ISO days (null: open)")
    until: str | None
    passages: list[Passage]


class Citation(_Out):
    """One cited sentence of an answer: `text` is the article's text[start:end]."""

    n: int = Field(description="the [n] that marks it in the answer's text")
    article_id: str
    title: str
    date: str | None
    source: str
    url: str | None
    text: str = Field(description="the cited sentence, verbatim")
    start: int
    end: int
    score: float
    chunk_text: str = Field(description="the passage around it (text[chunk_start:chunk_end])")
    chunk_start: int
    chunk_end: int
    speaker: str | None = Field(description="who said it, when it is an attributed quote")


class AnswerPhrase(_Out):
    """The phrase that answers, inside citation `n`: the article's text[start:end]."""

    text: str
    start: int
    end: int
    article_id: str
    n: int
    label: str = Field(description='its kind: an entity label (PERSON, DATE...), "NP", '
                                   '"REASON", or "QUOTE" (the words of the speaker a "What '
                                   'did X say" question names)')


class AskResult(_Out):
    """The answer as `qa ask --json` gives it, with the conversation it was saved in."""

    conversation_id: int | None = Field(
        description="pass it with the next question to follow up (null when it could not be "
                    "saved: see not_saved)")
    not_saved: str | None = Field(
        default=None, description="why the turn was not saved to qa's history, when it was not")
    question: str
    resolved_question: str = Field(description="the question as read in its conversation")
    text: str = Field(description="the answer: verbatim sentences, each followed by its [n]")
    citations: list[Citation]
    answer: AnswerPhrase | None = Field(
        description="the phrase that answers, when the question asks for a kind of thing")
    confidence: float | None = Field(description="P(the answer is right), calibrated")
    certainty: str | None = Field(description='the confidence in words: "sure", "likely" or '
                                              '"unsure"')
    abstained: bool = Field(description="true: the articles don't say; the citations are the "
                                        "closest passages")
    date_range: DateRange = Field(description="the publication dates searched (ISO days, null: "
                                              "open) and whether the question named them")
    mode: str
    fallback_reason: str | None
    notes: list[str]
    generation: str | None = Field(description="the index generation every citation comes from")


class Span(_Out):
    text: str
    start: int
    end: int


class QuoteResult(_Out):
    """What `speaker` is quoted as saying: `text` (the quoted words) and `sentence` (the
    sentence that carries them, what answers cite) are spans of the article's text."""

    article_id: str
    title: str
    date: str | None
    source: str
    url: str | None
    speaker: str
    cue: str = Field(description='the attribution: "said", "wrote in a statement"...')
    text: str
    start: int
    end: int
    sentence: Span


class QuotesResult(_Out):
    speaker: str
    since: str | None
    until: str | None
    quotes: list[QuoteResult]


class ArticleSpan(_Out):
    """An article, or a span of it: `text` is the article's text[start:end]."""

    id: str
    title: str
    date: str | None
    source: str
    url: str | None
    length: int = Field(description="the whole text's length in characters")
    start: int
    end: int
    text: str
    truncated: bool = Field(description=f"the span asked for was longer than {MAX_SPAN_CHARS} "
                                        "characters: ask again from start=end for the rest")


# --- the server -------------------------------------------------------------------------------
def _sdk() -> None:
    """Nothing when the MCP SDK is installed, else a QAError naming the extra to install."""
    try:
        import mcp.server.mcpserver  # noqa: F401
    except ImportError as exc:
        raise QAError(f"{EXTRA_MISSING} ({exc}).") from None


def article_uri(article_id: str) -> str:
    """The resource URI of an article (its id percent-encoded, slashes kept)."""
    return ARTICLE_URI + quote(article_id, safe="/")


def _named_errors(tool: Callable[..., T], tool_error: type[Exception]) -> Callable[..., T]:
    """`tool`, with a QAError raised as the SDK's ToolError (its message, as `qa` prints it)
    and anything else named the way `qa serve` names it, never a traceback."""

    @functools.wraps(tool)
    def call(*args: Any, **kwargs: Any) -> T:
        try:
            return tool(*args, **kwargs)
        except QAError as error:
            raise tool_error(str(error)) from None
        except Exception as error:  # a bug, or a library failing unforeseen
            log.exception("qa mcp: %s failed", tool.__name__)
            raise tool_error(f"unexpected error ({type(error).__name__}: {error})") from None

    return call


def create_server(library: Library, *, warm_up: bool = False) -> "MCPServer":
    """The MCP server over one `Library`: tools, the articles as resources, the prompt.

    Args:
        warm_up: open the index and load the model in a background thread as soon as the
            server runs (stdio: the client's handshake is answered meanwhile).

    Returns:
        An `mcp.server.mcpserver.MCPServer`.

    Raises:
        QAError: the MCP SDK is not installed (the message names `pip install 'qa[mcp]'`).
    """
    _sdk()
    from mcp.server.mcpserver import MCPServer
    from mcp_types import Resource

    @asynccontextmanager
    async def warming(_server: MCPServer) -> AsyncIterator[dict[str, object]]:
        threading.Thread(target=_warm_up, args=(library,), name="qa-warm-up",
                         daemon=True).start()
        yield {}

    class Server(MCPServer):
        async def list_resources(self) -> list[Resource]:
            import anyio.to_thread

            listed = await super().list_resources()
            try:  # opening the index may take a moment: off the event loop
                records = await anyio.to_thread.run_sync(_listing, library)
            except QAError:  # no index yet: the tools say so, with what to run
                return listed
            return listed + [
                Resource(uri=article_uri(r["id"]), name=r["id"], title=r["title"] or r["id"],
                         description=" · ".join(x for x in (r.get("date"), r.get("source")) if x)
                         or None, mime_type="text/plain")
                for r in records]

    server = Server("qa", title="qa: cited answers from news articles", version=__version__,
                    instructions=INSTRUCTIONS, log_level="WARNING",
                    lifespan=warming if warm_up else None)

    _add_tools(server, library)
    _add_article_resource(server, library)
    _add_prompt(server)
    return server


def _tool_registrar(server: "MCPServer") -> Callable[..., Callable[[Callable[..., T]], Callable[..., T]]]:
    """A decorator adding a function to `server` as a tool whose QAError is the SDK's ToolError."""
    from mcp.server.mcpserver.exceptions import ToolError
    from mcp_types import ToolAnnotations

    def tool(*, annotations: ToolAnnotations, title: str
             ) -> Callable[[Callable[..., T]], Callable[..., T]]:
        def register(fn: Callable[..., T]) -> Callable[..., T]:
            server.add_tool(_named_errors(fn, ToolError), annotations=annotations, title=title)
            return fn
        return register

    return tool


def _add_tools(server: "MCPServer", library: Library) -> None:
    """search, quotes and article, which only read the index, and ask: each a thin call into
    the library."""
    from mcp_types import ToolAnnotations

    # Hints for clients (one may run a read-only tool without asking its user): all but ask
    # only read the index; ask also adds a turn to qa's history, and deletes nothing.
    reads = ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False)
    tool = _tool_registrar(server)

    @tool(annotations=reads, title="Search the articles")
    def search(
        query: Annotated[str, Field(description="the words or question to look for")],
        k: Annotated[int, Field(description="how many passages",
                                json_schema_extra=_bounds(1, MAX_K))] = 5,
        since: Annotated[str | None, Field(description=_DATES.format("on or after"))] = None,
        until: Annotated[str | None, Field(description=_DATES.format("on or before"))] = None,
    ) -> SearchResult:
        """Ranked passages of the articles for a query (meaning and keywords). Each passage's
        `text` is verbatim: the characters start..end of article `article_id`."""
        dates = library.dates(since, until)
        hits, mode, fallback = library.search(query, k=k, dates=dates)
        return SearchResult(query=query, mode=mode, fallback_reason=fallback,
                            since=dates.since, until=dates.until,
                            passages=[Passage.model_validate(h) for h in hits])

    @tool(annotations=reads, title="What a person is quoted as saying")
    def quotes(
        speaker: Annotated[str, Field(description="a full name or a surname")],
        since: Annotated[str | None, Field(description=_DATES.format("on or after"))] = None,
        until: Annotated[str | None, Field(description=_DATES.format("on or before"))] = None,
    ) -> QuotesResult:
        """The quotations the articles attribute to a person, oldest first: `text` is the
        quoted words and `sentence` the sentence that carries them, both verbatim spans of
        article `article_id`."""
        if not speaker.strip():
            raise QAError("Name the speaker: a full name or a surname.")
        retriever, assistant = library.current()
        dates = library.dates(since, until)
        found = []
        for q in assistant.quotes(speaker, dates=dates):
            article = retriever.article(q.article_id)
            found.append(QuoteResult(
                article_id=q.article_id, title=article.title, date=article.date,
                source=article.source, url=article.url, speaker=q.speaker, cue=q.cue,
                text=q.text, start=q.start, end=q.end,
                sentence=Span(text=article.text[q.sentence[0]:q.sentence[1]],
                              start=q.sentence[0], end=q.sentence[1])))
        return QuotesResult(speaker=speaker, since=dates.since, until=dates.until, quotes=found)

    @tool(annotations=reads, title="Read an article")
    def article(
        id: Annotated[str, Field(description="an article_id from search, ask or quotes")],
        start: Annotated[int | None, Field(description="first character (default 0)",
                                           json_schema_extra=_bounds(0))] = None,
        end: Annotated[int | None, Field(description="end (default: the text's end)",
                                         json_schema_extra=_bounds(0))] = None,
    ) -> ArticleSpan:
        """An article's text, whole or the span start..end (character offsets, as every
        passage, citation and quote gives them), with its title, date, outlet and URL."""
        retriever, _ = library.current()
        found = _article(retriever, id)
        return _span(found, start, end)


    _add_ask_tool(server, library)


def _add_ask_tool(server: "MCPServer", library: Library) -> None:
    """ask: a cited answer, saved in qa's history like `qa ask`."""
    from mcp_types import ToolAnnotations

    from .history import History

    saves = ToolAnnotations(read_only_hint=False, destructive_hint=False,
                            open_world_hint=False)
    tool = _tool_registrar(server)

    @tool(annotations=saves, title="Ask the articles")
    def ask(
        question: Annotated[str, Field(description="the question, as a person would ask it")],
        conversation_id: Annotated[int | None, Field(
            description="follow up on this conversation (the id an earlier answer returned): "
                        '"he", "that", "when was that?" refer to its questions')] = None,
        since: Annotated[str | None, Field(description=_DATES.format("on or after"))] = None,
        until: Annotated[str | None, Field(description=_DATES.format("on or before"))] = None,
    ) -> AskResult:
        """A cited answer: sentences quoted verbatim from the articles, each followed by [n],
        with `citations[n]` giving the article and the exact span; `answer` is the phrase
        that answers. Quote `text` and the citations exactly, keeping their [n]. When
        `abstained` is true the articles don't say, and the citations are only the closest
        passages. Saved in qa's history like `qa ask`; pass `conversation_id` to follow up."""
        earlier: list[Answer] = []
        if conversation_id is not None:  # its answers are the context, as `qa ask --continue`
            history = History.open()
            if history.conversation(conversation_id) is None:
                raise QAError(f"No conversation {conversation_id} in qa's history. Leave "
                              "conversation_id out to start one (`qa history` lists them).")
            earlier = [t.answer for t in history.turns(conversation_id)]
        answer = library.ask(question, earlier, dates=library.dates(since, until))
        saved, not_saved = conversation_id, None
        try:  # as `qa ask` saves a turn: a history that cannot be written costs the answer nothing
            saved = History.open().add_turn(conversation_id, answer,
                                            index_path=str(library.index.resolve())
                                            ).conversation_id
        except QAError as error:
            not_saved = str(error)
        return AskResult(conversation_id=saved, not_saved=not_saved, **asdict(answer))


def _add_article_resource(server: "MCPServer", library: Library) -> None:
    """Each article as `qa://article/{id}`: the text every offset points into."""
    from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError
    from mcp.server.mcpserver.resources import ResourceSecurity

    # Article ids are index keys, never paths: `..` or a leading `/` in one (a JSON line's
    # own id) reads nothing but that article, so the SDK's path checks do not apply.
    @server.resource(ARTICLE_URI + "{+id}", name="article", title="An article's text",
                     description="The article's text: the text every start/end offset of qa's "
                                 "passages, citations and quotes points into.",
                     mime_type="text/plain", security=ResourceSecurity(exempt_params={"id"}))
    def article_text(id: str) -> str:
        try:
            retriever, _ = library.current()
            return _article(retriever, id).text
        except _UnknownArticle as error:
            raise ResourceNotFoundError(str(error)) from None
        except QAError as error:
            raise ResourceError(str(error)) from None


def _add_prompt(server: "MCPServer") -> None:
    @server.prompt(name="answer_from_citations", title="Answer only from qa's citations",
                   description="Ask qa, then answer quoting its spans verbatim with their [n].")
    def answer_from_citations(
            question: Annotated[str, Field(description="the question to answer")]) -> str:
        return PROMPT.format(question=question)


class _UnknownArticle(QAError):
    """An article id the index does not hold (for a resource: not found)."""


def _article(retriever: "Retriever", article_id: str) -> "Article":
    try:
        return retriever.article(article_id)
    except KeyError:
        raise _UnknownArticle(
            f"No article {article_id!r} in the index. Use an article_id from the search, ask "
            "or quotes tools (the index may have been rebuilt since).") from None


def _span(article: "Article", start: int | None, end: int | None) -> ArticleSpan:
    length = len(article.text)
    lo = 0 if start is None else start
    hi = length if end is None else end
    if not 0 <= lo <= hi <= length:
        raise QAError(f"The span {lo}..{hi} is not in article {article.id!r}, whose text has "
                      f"{length} characters: give 0 <= start <= end <= {length}.")
    truncated = hi - lo > MAX_SPAN_CHARS
    hi = lo + MAX_SPAN_CHARS if truncated else hi
    return ArticleSpan(id=article.id, title=article.title, date=article.date,
                       source=article.source, url=article.url, length=length, start=lo, end=hi,
                       text=article.text[lo:hi], truncated=truncated)


def _listing(library: Library) -> list[JSONObject]:
    retriever, _ = library.current()
    return retriever.article_records(MAX_LISTED_ARTICLES)


def _warm_up(library: Library) -> None:
    try:
        library.warm_up()
    except QAError as error:  # the tools answer with it, naming what to run
        log.warning("qa mcp: %s", error)


def run(index: str | Path, *, http: bool = False, host: str = "127.0.0.1",
        port: int = DEFAULT_HTTP_PORT, announce: Callable[[str], None] = print,
        token: str | None = None, hosts: Sequence[str] = ()) -> None:
    """Serve until the client goes (stdio) or until interrupted (HTTP).

    Args:
        http: the streamable HTTP transport at http://HOST:PORT/mcp instead of stdio.
        token: HTTP only: required on every request (`Authorization: Bearer TOKEN`).
        hosts: HTTP only: Host names to answer to besides `host` and localhost.

    Raises:
        QAError: the MCP SDK is missing (the message names `pip install 'qa[mcp]'`).
    """
    _sdk()
    library = Library(index)
    if not http:
        # The SDK points fd 1 at stderr while it serves, so nothing the library prints can
        # break the protocol; the index opens and the model loads while the client connects.
        announce(f"qa mcp: answering from {index} over stdio (the client ends it)")
        create_server(library, warm_up=True).run("stdio")
        return
    import uvicorn

    answered = allowed_hosts(host, hosts)
    app = http_app(create_server(library), allowed=answered, token=token)
    announce(f"qa mcp: answering Host {', '.join(answered)}; "
             + ("a token is required on every request" if token else "no token is required"))
    try:
        library.warm_up()
        stats = library.current()[0].stats
        announce(f"qa mcp: {stats.articles} articles from {index} on "
                 f"http://{_url_host(host)}:{port}/mcp  (Ctrl-C stops)")
    except QAError as error:  # the tools answer with it until a build appears
        announce(f"qa mcp: {error} The tools say so until then, on "
                 f"http://{_url_host(host)}:{port}/mcp.")
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def http_app(server: "MCPServer", *, allowed: Sequence[str] | None, token: str | None
             ) -> "ASGIApp":
    """The streamable HTTP transport of `server` (at /mcp) as an ASGI app, answering only
    what `qa serve` would answer (`qa.serve.refusal`), with its JSON errors.

    Stateless, like `qa serve`: every request stands alone (conversations live in qa's
    history, by id), so any replica can take any request.
    """
    from mcp.server.transport_security import TransportSecuritySettings
    from starlette.datastructures import Headers
    from starlette.responses import JSONResponse

    # The SDK's own Host check knows only loopback names with a port; qa's rule (the bound
    # address, localhost, --allowed-host, *.domain) replaces it, with the Origin held to it.
    inner = server.streamable_http_app(
        stateless_http=True, json_response=True,
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False))
    names = None if allowed is None else list(allowed)

    async def app(scope: "Scope", receive: "Receive", send: "Send") -> None:
        if scope["type"] == "http":
            headers = Headers(scope=scope)
            refused = refusal(host=headers.get("host", ""),
                              authorization=headers.get("authorization", ""),
                              allowed=names, token=token, origin=headers.get("origin"))
            if refused is not None:
                status, message = refused
                reply = JSONResponse({"error": message}, status_code=status,
                                     headers={"WWW-Authenticate": "Bearer"} if status == 401
                                     else None)
                await reply(scope, receive, send)
                return
        await inner(scope, receive, send)

    return app
