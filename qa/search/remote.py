"""Asking a running `qa serve` instead of opening an index: what `qa chat --server URL` uses.

`RemoteRetriever` and `RemoteAssistant` answer the calls the chat makes on a `Retriever` and
an `Assistant` (search, ask, stats, an article for the reader, quotes, reload_if_changed)
over the server's JSON API, with the standard library's HTTP client. The JSON is the CLI's
`--json` (`dataclasses.asdict` of qa's types); the `*_from_json` functions here turn it back
into those types, for this client and for the history a `POST /ask` carries.

What changes rarely (counts, model, the newest article's date) is read from `GET /health`
when the chat opens the server and before each question, and kept, so the chat's UI thread
reads it without a request.
"""

from __future__ import annotations

import datetime as _dt
import json
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, fields
from typing import Any, TypeVar

from .. import config
from ..dates import reference_day
from ..errors import QAError, QueryError
from ..types import (
    ANY_DATE,
    Answer,
    AnswerPhrase,
    Article,
    Chunk,
    Citation,
    DateRange,
    Hit,
    IndexStats,
    JSONObject,
    Quote,
    SearchMode,
)

TIMEOUT_SECONDS = 60.0  # an answer takes well under a second; a first one after a rebuild, more
_ARTICLE_CACHE = 32  # articles kept for the reader, per server generation

T = TypeVar("T")
# (method, url, body) -> (HTTP status, body): how a request travels.
Transport = Callable[[str, str, bytes | None], tuple[int, bytes]]


# --- the JSON shapes, back into qa's types --------------------------------------------------
def _known(cls: type[T], data: JSONObject) -> JSONObject:
    """The entries of `data` that are fields of the dataclass `cls` (a newer server may send
    more)."""
    if not isinstance(data, Mapping):
        raise ValueError(f"expected a JSON object for {cls.__name__}, got {type(data).__name__}")
    names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    return {k: v for k, v in data.items() if k in names}


def _spans(values: Sequence[Sequence[int]]) -> tuple[tuple[int, int], ...]:
    return tuple((int(a), int(b)) for a, b in values)


def hit_from_json(data: JSONObject) -> Hit:
    """A `Hit` from `asdict(hit)` as JSON."""
    values = _known(Hit, data)
    values["sentences"] = _spans(values.get("sentences", ()))
    return Hit(**values)


def citation_from_json(data: JSONObject) -> Citation:
    """A `Citation` from `asdict(citation)` as JSON."""
    return Citation(**_known(Citation, data))


def answer_from_json(data: JSONObject) -> Answer:
    """An `Answer` from `asdict(answer)` as JSON (`qa ask --json`).

    Raises:
        ValueError, TypeError: `data` is not such an answer.
    """
    values = _known(Answer, data)
    values["citations"] = tuple(citation_from_json(c) for c in values.get("citations", ()))
    values["notes"] = tuple(str(n) for n in values.get("notes", ()))
    phrase = values.get("answer")
    values["answer"] = AnswerPhrase(**_known(AnswerPhrase, phrase)) if phrase else None
    dates = values.get("date_range")
    values["date_range"] = DateRange(**_known(DateRange, dates)) if dates else ANY_DATE
    return Answer(**values)


def article_from_json(data: JSONObject) -> Article:
    """An `Article` from `asdict(article)` as JSON."""
    return Article(**_known(Article, data))


def chunk_from_json(data: JSONObject) -> Chunk:
    """A `Chunk` from `asdict(chunk)` as JSON."""
    values = _known(Chunk, data)
    values["sentences"] = _spans(values.get("sentences", ()))
    return Chunk(**values)


def quote_from_json(data: JSONObject) -> Quote:
    """A `Quote` from `asdict(quote)` as JSON (`qa quotes --json`)."""
    values = _known(Quote, data)
    start, end = values["sentence"]
    values["sentence"] = (int(start), int(end))
    return Quote(**values)


# --- the client ---------------------------------------------------------------------------
class RemoteRetriever:
    """The part of `qa.Retriever` the chat uses, answered by `qa serve` at `url`.

    Thread-safe: the cached health is replaced whole. Requests raise `QueryError` for what the
    server refused as a bad query (HTTP 400) and `QAError` with the server's message for the
    rest (an index missing there: 503), or naming the address when it cannot be reached.
    """

    def __init__(self, url: str, *, timeout: float = TIMEOUT_SECONDS,
                 transport: Transport | None = None, token: str | None = None) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        # The token `qa serve` requires, when it does: the argument, else the settings.
        self._token = token if token is not None else config.serve_token()
        self._send = transport or self._urllib
        self._health: JSONObject = {}
        self._articles: dict[tuple[str | None, str], Article] = {}
        self._lock = threading.Lock()

    @classmethod
    def open(cls, url: str, *, timeout: float = TIMEOUT_SECONDS,
             transport: Transport | None = None, token: str | None = None) -> RemoteRetriever:
        """Connect to the server at `url` (`http://host:port`) and read its index's health.

        Args:
            transport: how requests travel (default: urllib; tests pass FastAPI's TestClient).

        Raises:
            QAError: the server cannot be reached, or has no index to answer from.
        """
        if not url.startswith(("http://", "https://")):
            raise QAError(f"--server takes an address like http://127.0.0.1:8000, not {url!r}.")
        remote = cls(url, timeout=timeout, transport=transport, token=token)
        remote._read_health()
        return remote

    # --- requests -----------------------------------------------------------------------
    def request(self, method: str, path: str, params: JSONObject | None = None,
                body: Any = None) -> Any:
        """One request to the server; its JSON reply.

        Raises:
            QueryError: HTTP 400. KeyError: HTTP 404 (an unknown article).
            QAError: any other failure, with the server's message.
        """
        query = {k: v for k, v in (params or {}).items() if v is not None}
        target = self.url + path + (f"?{urllib.parse.urlencode(query)}" if query else "")
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode()
        status, payload = self._send(method, target, data)
        try:
            reply = json.loads(payload)
        except ValueError:
            raise QAError(f"{self.url} did not answer with JSON (HTTP {status}); is it a "
                          "qa serve?") from None
        if status == 200:
            return reply
        message = str(reply.get("error") if isinstance(reply, dict) else reply)
        if status == 400:
            raise QueryError(message)
        if status == 404:
            raise KeyError(message)
        if status == 401:
            raise QAError(f"The server at {self.url} needs a token ({message}). Set serve_token "
                          "in the settings file, or QA_SERVE_TOKEN, to the one it was started "
                          "with.")
        raise QAError(f"The server at {self.url} says: {message}")

    def _urllib(self, method: str, target: str, data: bytes | None) -> tuple[int, bytes]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        request = urllib.request.Request(target, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as reply:
                return reply.status, reply.read()
        except urllib.error.HTTPError as error:  # 4xx/5xx: the body says why
            with error:
                return error.code, error.read()
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise QAError(f"Cannot reach qa serve at {self.url} ({reason}). Start it with "
                          "`qa serve`, or check the address.") from None

    def _read_health(self) -> JSONObject:
        health: JSONObject = self.request("GET", "/health")
        self._health = health
        return health

    # --- what the chat reads ------------------------------------------------------------
    @property
    def generation(self) -> str | None:
        """The server's index generation when last asked."""
        return self._health.get("generation")

    @property
    def stats(self) -> IndexStats:
        """The server's index, as of the last health check (no request)."""
        return IndexStats(**_known(IndexStats, self._health.get("stats") or {}))

    @property
    def mode(self) -> str:
        return str(self._health.get("mode") or "hybrid")

    @property
    def fallback_reason(self) -> str | None:
        return self._health.get("fallback_reason")

    @property
    def dense_ready(self) -> bool:
        return bool(self._health.get("dense_ready"))

    @property
    def latest_date(self) -> str | None:
        return self._health.get("latest_date")

    def reference_day(self) -> _dt.date:
        """What relative dates count from (`Retriever.reference_day`), by this machine's
        setting and the server's newest article."""
        counting = config.relative_dates()
        return reference_day(self.latest_date if counting == "newest-article" else None, counting)

    def warm_up(self) -> None:
        """The server loads its model when it starts; this only refreshes what it says."""
        try:
            self._read_health()
        except QAError:  # the chat's next question makes the same request and shows why
            pass

    def reload_if_changed(self) -> bool:
        """Ask the server which generation it answers from; True when it changed."""
        before = self.generation
        return self._read_health().get("generation") != before

    def search(self, query: str, k: int = 5, *, dates: DateRange = ANY_DATE,
               mode: SearchMode = "auto") -> list[Hit]:
        """`Retriever.search` on the server (`GET /search`)."""
        reply = self.request("GET", "/search", {"q": query, "k": k, "since": dates.since,
                                                "until": dates.until, "mode": mode})
        return [hit_from_json(h) for h in reply["hits"]]

    def article(self, article_id: str) -> Article:
        """One article of the server's index (`GET /article/{id}`). Raises KeyError if unknown."""
        key = (self.generation, article_id)
        with self._lock:
            cached = self._articles.get(key)
        if cached is not None:
            return cached
        found = article_from_json(
            self.request("GET", "/article/" + urllib.parse.quote(article_id, safe="/")))
        with self._lock:
            if len(self._articles) >= _ARTICLE_CACHE:
                self._articles.pop(next(iter(self._articles)))
            self._articles[key] = found
        return found

    def chunks_of(self, article_id: str) -> list[Chunk]:
        """An article's chunks, in order (`GET /chunks?article=ID`)."""
        return [chunk_from_json(c) for c in self.request("GET", "/chunks", {"article": article_id})]

    def quotes(self, speaker: str | None = None) -> list[Quote]:
        """`Retriever.quotes` on the server (`GET /quotes?speaker=NAME`)."""
        return [quote_from_json(q) for q in self.request("GET", "/quotes", {"speaker": speaker})]


class RemoteAssistant:
    """`Assistant.ask` answered by the server (`POST /ask`); the history travels with each
    question, so any replica can answer it."""

    def __init__(self, retriever: RemoteRetriever) -> None:
        self.retriever = retriever

    def ask(self, question: str, history: Sequence[str | Answer] = (), *,
            dates: DateRange = ANY_DATE, mode: SearchMode = "auto") -> Answer:
        """Answer one question (see `qa.Assistant.ask`).

        Raises:
            QueryError: the server found the question unanswerable as asked (empty, bad dates).
            QAError: the server failed or cannot be reached.
        """
        turns = [t if isinstance(t, str) else asdict(t) for t in history]
        reply = self.retriever.request("POST", "/ask", body={
            "question": question, "history": turns, "since": dates.since, "until": dates.until,
            "mode": mode})
        return answer_from_json(reply)
