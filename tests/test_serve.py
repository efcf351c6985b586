"""`qa serve` (qa/serve.py) and the client the chat uses with `--server` (qa/remote.py).

The endpoints are tested in-process with FastAPI's TestClient on the seed index; the real
server is started as `qa serve` in a subprocess and asked by 4 and then 16 threads at once.
Network rule: that test runs the server and its clients inside a network namespace it makes
itself (`unshare -n`: only loopback exists there), and skips where that is not permitted.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
from conftest import HashEmbedder, netns_prefix, run_driver

from qa.errors import QAError, QueryError

fastapi = pytest.importorskip("fastapi", reason="the serve extra: pip install -e '.[serve]'")
from fastapi.testclient import TestClient  # noqa: E402

from qa.answer import Assistant  # noqa: E402
from qa.dates import read_range  # noqa: E402
from qa.index import manifest_path  # noqa: E402
from qa.search.remote import RemoteAssistant, RemoteRetriever, answer_from_json  # noqa: E402
from qa.search.retriever import Retriever  # noqa: E402
from qa.serve import Library, create_app  # noqa: E402

HERE = Path(__file__).resolve().parent
URL = "http://testserver"
LIGHTHOUSE = ("---\ntitle: Lighthouse of Quillport reopens\ndate: 2022-04-01\nsource: Harbour "
              "Gazette\n---\n\nThe Quillport lighthouse reopened on Friday after a two-year "
              "restoration, the harbour master said.\n\nTourists queued along the pier to climb "
              "its 212 steps.\n")


def as_json(value: Any) -> Any:
    """What a value looks like after a trip through JSON (tuples become lists)."""
    return json.loads(json.dumps(value))


def search_json(retriever: Retriever, q: str, k: int = 5, since: str | None = None,
                until: str | None = None) -> Any:
    """The body of `qa search --json`, in-process."""
    dates = read_range(since, until, reference=retriever.reference_day())
    hits = retriever.search(q, k=k, dates=dates)
    return as_json({"query": q, "mode": retriever.mode, "fallback_reason": None,
                    "date_range": asdict(dates), "hits": [asdict(h) for h in hits]})


@pytest.fixture
def library(seed_index: Path) -> Library:
    opened = Library(seed_index, embedder=HashEmbedder())
    opened.warm_up()  # as `qa serve` does before it listens
    return opened


@pytest.fixture
def client(library: Library) -> TestClient:
    return TestClient(create_app(library), raise_server_exceptions=False)


@pytest.fixture
def local(seed_index: Path) -> tuple[Retriever, Assistant]:
    """The same index opened in-process, to compare with what the server says."""
    retriever = Retriever.open(seed_index, embedder=HashEmbedder())
    return retriever, Assistant(retriever)


def transport_over(client: TestClient):
    """qa.search.remote's transport over the TestClient (no socket)."""

    def send(method: str, url: str, data: bytes | None) -> tuple[int, bytes]:
        reply = client.request(method, url, content=data,
                               headers={"Content-Type": "application/json"})
        return reply.status_code, reply.content

    return send


# --- the endpoints ----------------------------------------------------------------------------
def test_search_answers_with_the_cli_json(client: TestClient, local) -> None:
    retriever, _ = local
    reply = client.get("/search", params={"q": "Zhao Lijian NATO", "k": 3})
    assert reply.status_code == 200
    assert reply.json() == search_json(retriever, "Zhao Lijian NATO", k=3)
    assert len(reply.json()["hits"]) == 3
    # Dates are read as the CLI reads them: "2022-02" is the whole of February.
    dated = client.get("/search", params={"q": "sanctions", "since": "2022-02",
                                          "until": "2022-02"}).json()
    assert dated == search_json(retriever, "sanctions", since="2022-02", until="2022-02")
    assert dated["hits"] and all(h["date"].startswith("2022-02") for h in dated["hits"])
    bm25 = client.get("/search", params={"q": "Zhao Lijian", "mode": "bm25"}).json()
    assert bm25["mode"] == "bm25" and {h["via"] for h in bm25["hits"]} == {"bm25"}


def test_ask_get_and_post_give_the_library_answer(client: TestClient, local) -> None:
    _, assistant = local
    expected = assistant.ask("Who is Katrina Yu?")
    assert not expected.abstained and expected.citations
    got = client.get("/ask", params={"q": "Who is Katrina Yu?"})
    assert got.status_code == 200 and got.json() == as_json(asdict(expected))
    posted = client.post("/ask", json={"question": "Who is Katrina Yu?"})
    assert posted.json() == as_json(asdict(expected))
    assert answer_from_json(posted.json()) == expected  # the JSON holds the whole answer
    # A follow-up: the history travels with the question, as strings or earlier answers.
    follow = assistant.ask("When was that?", [expected])
    reply = client.post("/ask", json={"question": "When was that?",
                                      "history": [as_json(asdict(expected))]})
    assert reply.status_code == 200 and reply.json() == as_json(asdict(follow))
    by_text = client.post("/ask", json={"question": "When was that?",
                                        "history": ["Who is Katrina Yu?"]})
    assert by_text.json() == as_json(asdict(assistant.ask("When was that?",
                                                         ["Who is Katrina Yu?"])))
    dated = client.get("/ask", params={"q": "What did Zhao Lijian say?", "since": "2022-02"})
    assert dated.json()["date_range"] == {"since": "2022-02-01", "until": None,
                                          "from_question": False}


def test_ask_gives_the_answer_phrase_with_exact_offsets(client: TestClient, local) -> None:
    retriever, assistant = local
    question = "How many times have Putin and Xi met since 2013?"
    expected = assistant.ask(question)
    got = client.get("/ask", params={"q": question}).json()
    assert got["certainty"] == expected.certainty and "answer" in got
    assert expected.answer is not None and got["answer"]["text"] == expected.answer.text
    phrase = got["answer"]
    article = client.get(f"/article/{phrase['article_id']}").json()
    assert article["text"][phrase["start"]:phrase["end"]] == phrase["text"]


def test_health_says_generation_counts_model_and_mode(client: TestClient, local) -> None:
    retriever, _ = local
    health = client.get("/health").json()
    assert health["status"] == "ok"
    assert health["generation"] == retriever.generation
    assert health["stats"] == as_json(asdict(retriever.stats))
    assert health["stats"]["articles"] == 5 and health["stats"]["chunks"] == 19
    assert health["stats"]["model"] == "test-hash-64"
    assert health["mode"] == "hybrid" and health["fallback_reason"] is None
    assert health["latest_date"] == retriever.latest_date


def test_article_chunks_and_quotes_for_the_reader(client: TestClient, local) -> None:
    retriever, _ = local
    article = retriever.articles()[1]
    assert client.get(f"/article/{article.id}").json() == as_json(asdict(article))
    chunks = client.get("/chunks", params={"article": article.id}).json()
    assert chunks == as_json([asdict(c) for c in retriever.chunks_of(article.id)])
    quotes = client.get("/quotes", params={"speaker": "Zhao"}).json()
    assert quotes and quotes == as_json([asdict(q) for q in retriever.quotes("Zhao")])
    missing = client.get("/article/no/such-article")
    assert missing.status_code == 404 and "no/such-article" in missing.json()["error"]


@pytest.mark.parametrize("method, path, body, words", [
    ("GET", "/search?q=", None, "empty"),
    ("GET", "/search", None, "q: Field required"),
    ("GET", "/search?q=nato&k=0", None, "k must be between 1 and 100"),
    ("GET", "/search?q=nato&k=1000", None, "k must be between 1 and 100"),
    ("GET", "/search?q=nato&k=many", None, "k: "),
    ("GET", "/search?q=nato&mode=fast", None, "Unknown search mode 'fast'"),
    ("GET", "/search?q=nato&since=2022-13", None, "since '2022-13' is not a date"),
    ("GET", "/search?q=nato&since=2022-03&until=2022-01", None, "is after until"),
    ("GET", "/search?q=the%20of%20and&mode=bm25", None, "no searchable words"),
    ("GET", "/ask?q=%20", None, "empty"),
    ("GET", "/ask?q=Who%20is%20Wang%20Yi%3F&mode=dense", None, "Unknown search mode 'dense'"),
    ("POST", "/ask", {"history": []}, "question: Field required"),
    ("POST", "/ask", {"question": "When was that?", "history": [{"text": "x"}]},
     "history[0] is neither a question nor an answer"),
    ("POST", "/ask", b"{not json", "not JSON"),
    # A parameter or field the endpoint does not take is named with the ones it does take,
    # not ignored (/quotes?name= answered with every quote).
    ("GET", "/quotes?name=Zhao", None, "Unknown parameter 'name' for GET /quotes: it takes speaker"),
    ("GET", "/search?q=nato&kk=3", None, "it takes q, k, since, until, mode"),
    ("GET", "/search?q=nato&kk=3", None, "Did you mean 'k'?"),
    ("GET", "/chunks?article=x&id=2", None, "Unknown parameter 'id' for GET /chunks"),
    ("GET", "/health?verbose=1", None, "it takes no query parameters"),
    ("POST", "/ask", {"question": "Who is Wang Yi?", "histroy": ["x"]},
     "histroy: unknown field; the body's fields are question, history, since, until, mode"),
])
def test_a_bad_request_is_400_with_a_message(client: TestClient, method: str, path: str,
                                             body: Any, words: str) -> None:
    if isinstance(body, bytes):
        reply = client.request(method, path, content=body,
                               headers={"Content-Type": "application/json"})
    else:
        reply = client.request(method, path, json=body)
    assert reply.status_code == 400, reply.text
    assert set(reply.json()) == {"error"}
    assert words in reply.json()["error"]


def test_no_index_is_503_until_one_is_built(tmp_path: Path, seed_corpus: Path, make_index) -> None:
    index = tmp_path / "index"
    client = TestClient(create_app(Library(index, embedder=HashEmbedder(), reload_every=0.0)))
    for path in ("/health", "/search?q=nato", "/ask?q=Who%20is%20Wang%20Yi%3F"):
        reply = client.get(path)
        assert reply.status_code == 503
        assert "qa index" in reply.json()["error"]
    make_index(seed_corpus, index)
    assert client.get("/health").json()["stats"]["articles"] == 5


def test_a_request_during_the_first_open_waits_for_it(seed_index: Path, monkeypatch) -> None:
    """`qa mcp` opens the index in the background while its client connects: a question that
    comes meanwhile is answered from the index, not told there is none."""
    import threading

    opening, release = threading.Event(), threading.Event()
    real_open = Retriever.open.__func__

    def slow_open(cls, *args: Any, **kwargs: Any) -> Retriever:
        opening.set()
        assert release.wait(30)
        return real_open(cls, *args, **kwargs)

    monkeypatch.setattr(Retriever, "open", classmethod(slow_open))
    library = Library(seed_index, embedder=HashEmbedder())
    first = threading.Thread(target=library.current)
    first.start()
    assert opening.wait(30)
    got: list[Any] = []
    second = threading.Thread(target=lambda: got.append(library.current()))
    second.start()
    second.join(0.3)
    waited = second.is_alive()
    release.set()
    first.join(30)
    second.join(30)
    assert waited  # it waits for the open under way...
    assert got and got[0][0].stats.articles == 5  # ...and answers from it


def test_a_corrupt_index_is_503_naming_the_fix(seed_index: Path) -> None:
    manifest_path(seed_index).write_text("{ truncated", encoding="utf-8")
    client = TestClient(create_app(Library(seed_index, embedder=HashEmbedder())))
    reply = client.get("/search", params={"q": "nato"})
    assert reply.status_code == 503
    assert "qa index" in reply.json()["error"]


def test_an_unexpected_failure_is_500_without_a_traceback(client: TestClient, library: Library,
                                                          monkeypatch) -> None:
    retriever, _ = library.current()

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(retriever, "search", broken)
    reply = client.get("/search", params={"q": "nato"})
    assert reply.status_code == 500
    assert reply.json() == {"error": "unexpected error (RuntimeError: disk on fire)"}
    assert "Traceback" not in reply.text


def test_a_rebuild_is_picked_up_within_a_second(client: TestClient, library: Library,
                                                seed_corpus: Path, seed_index: Path,
                                                make_index, monkeypatch) -> None:
    before = client.get("/health").json()["generation"]
    retriever, _ = library.current()
    calls = []
    reload = retriever.reload_if_changed
    monkeypatch.setattr(retriever, "reload_if_changed", lambda: calls.append(1) or reload())
    started = time.monotonic()
    for _ in range(30):  # many requests, at most one look for a build per second
        client.get("/health")
    assert len(calls) <= int(time.monotonic() - started) + 1
    (seed_corpus / "2022-04-01-lighthouse.md").write_text(LIGHTHOUSE, encoding="utf-8")
    make_index(seed_corpus, seed_index)
    deadline = time.monotonic() + 5
    while client.get("/health").json()["generation"] == before and time.monotonic() < deadline:
        time.sleep(0.1)
    health = client.get("/health").json()
    assert health["generation"] != before and health["stats"]["articles"] == 6
    answer = client.get("/ask", params={"q": "When did the Quillport lighthouse reopen?"}).json()
    assert answer["generation"] == health["generation"]
    assert any(c["title"] == "Lighthouse of Quillport reopens" for c in answer["citations"])


def test_without_the_extra_the_message_names_it(monkeypatch, capsys, seed_index: Path) -> None:
    from qa.cli import main

    monkeypatch.setitem(sys.modules, "fastapi", None)  # import fastapi now raises ImportError
    with pytest.raises(QAError, match=r"pip install 'qa\[serve\]'"):
        create_app(Library(seed_index))
    assert main(["serve", "--index", str(seed_index)]) == 2
    assert "pip install 'qa[serve]'" in capsys.readouterr().err


def test_serve_help_has_an_example(capsys) -> None:
    from qa.cli import main

    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    shown = capsys.readouterr().out
    assert "qa serve --index" in shown and "curl" in shown and "qa chat --server" in shown


def test_every_endpoint_is_in_the_help_the_readme_and_the_schema(client: TestClient,
                                                                 capsys) -> None:
    from qa.cli import main

    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    shown = capsys.readouterr().out
    readme = (HERE.parent / "README.md").read_text(encoding="utf-8")
    schema = client.get("/openapi.json").json()
    paths = {path.split("{")[0].rstrip("/") for path in schema["paths"]}
    assert paths == {"/search", "/ask", "/quotes", "/article", "/chunks", "/health"}
    for path in paths | {"/docs", "/redoc"}:
        assert f"{path}" in shown and f"`GET {path}" in readme, path
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
            for name in declared:  # each parameter in the help, as NAME= or ?NAME=
                assert f"{name}=" in shown, (path, name)
            # Each says what it returns: a schema, not just "Successful Response".
            assert "$ref" in json.dumps(operation["responses"]["200"]), (path, method)
    assert {"Answer", "Hit", "Quote", "Article", "Chunk", "SearchReply", "Health"} <= set(
        schema["components"]["schemas"])


def test_docs_work_offline(client: TestClient) -> None:
    """/docs and /redoc: Swagger UI and ReDoc, every script and stylesheet served by qa."""
    import re

    for page, title in (("/docs", "Swagger UI"), ("/redoc", "ReDoc")):
        reply = client.get(page)
        assert reply.status_code == 200 and title in reply.text
        assert not re.findall(r"https?://", reply.text), "a page that needs the internet"
        assets = re.findall(r'(?:src|href)="([^"]+)"', reply.text)
        assert assets
        for asset in assets:
            fetched = client.get(asset)
            assert fetched.status_code == 200 and len(fetched.content) > 1000, asset
    assert '"validatorUrl": null' in client.get("/docs").text  # no online validator badge


def test_docs_open_without_the_token_and_offer_to_send_it(library: Library) -> None:
    guarded = TestClient(create_app(library, allowed_hosts=["testserver"], token="s3cret"))
    assert guarded.get("/docs").status_code == 200
    schema = guarded.get("/openapi.json").json()
    assert schema["components"]["securitySchemes"] == {
        "HTTPBearer": {"type": "http", "scheme": "bearer"}}
    assert guarded.get("/health").status_code == 401
    assert guarded.get("/quotes").status_code == 401
    assert guarded.get("/health", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    # The Host rule still holds for the documentation.
    assert guarded.get("/docs", headers={"Host": "evil.example"}).status_code == 400


# --- the client the chat uses ---------------------------------------------------------------
def test_remote_retriever_and_assistant_match_the_library(client: TestClient, local,
                                                          seed_corpus: Path, seed_index: Path,
                                                          make_index) -> None:
    retriever, assistant = local
    remote = RemoteRetriever.open(URL, transport=transport_over(client))
    assert remote.stats == retriever.stats and remote.generation == retriever.generation
    assert remote.latest_date == retriever.latest_date and remote.fallback_reason is None
    assert remote.search("Zhao Lijian NATO", k=4) == retriever.search("Zhao Lijian NATO", k=4)
    first = RemoteAssistant(remote).ask("Who is Katrina Yu?")
    assert first == assistant.ask("Who is Katrina Yu?")
    assert RemoteAssistant(remote).ask("When was that?", [first]) == \
        assistant.ask("When was that?", [first])
    article_id = first.citations[0].article_id
    assert remote.article(article_id) == retriever.article(article_id)
    assert remote.chunks_of(article_id) == retriever.chunks_of(article_id)
    assert remote.quotes("Zhao Lijian") == retriever.quotes("Zhao Lijian")
    with pytest.raises(QueryError, match="empty"):
        RemoteAssistant(remote).ask("  ")
    with pytest.raises(KeyError):
        remote.article("no-such-article")
    assert remote.reload_if_changed() is False
    (seed_corpus / "2022-04-01-lighthouse.md").write_text(LIGHTHOUSE, encoding="utf-8")
    make_index(seed_corpus, seed_index)
    deadline = time.monotonic() + 5
    while not remote.reload_if_changed() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert remote.stats.articles == 6


def test_remote_names_a_server_it_cannot_reach() -> None:
    # Inside a network namespace of its own no server can be listening: the message says so.
    prefix = netns_prefix("its server")
    code = ("from qa.search.remote import RemoteRetriever\n"
            "try:\n    RemoteRetriever.open('http://127.0.0.1:9', timeout=5)\n"
            "except Exception as e:\n    print(type(e).__name__, e)\n")
    out = subprocess.run([*prefix, sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, cwd=HERE.parent)
    assert out.stdout.startswith("QAError Cannot reach qa serve at http://127.0.0.1:9"), out
    assert "`qa serve`" in out.stdout
    with pytest.raises(QAError, match="address like http://"):
        RemoteRetriever.open("127.0.0.1:8000")


def test_the_chat_asks_the_server(client: TestClient, local) -> None:
    from qa.tui.app import QAApp
    from qa.tui.screens.chat import ChatSettings
    from qa.tui.screens.reader import ReaderScreen
    from qa.tui.widgets.history_input import HistoryInput
    from qa.tui.widgets.message_list import AnswerMessage
    from qa.tui.widgets.sources_panel import SourcesPanel

    _, assistant = local
    settings = ChatSettings.for_server(URL, transport=transport_over(client))
    app = QAApp(settings)
    notes: list[str] = []

    async def settle(pilot) -> None:
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()

    async def run() -> None:
        async with app.run_test(size=(120, 34)) as pilot:
            original = app.notify
            app.notify = lambda message, **kw: (notes.append(str(message)), original(message, **kw))[1]
            await settle(pilot)
            status = app.chat.status_bar.status
            assert status.articles == 5 and status.mode == "hybrid"
            box = app.query_one(HistoryInput)
            box.focus()
            box.value = "Who is Katrina Yu?"
            await pilot.press("enter")
            await settle(pilot)
            [shown] = list(app.chat.query(AnswerMessage))
            assert shown.answer == assistant.ask("Who is Katrina Yu?")
            box.value = "When was that?"  # the history goes to the server with the question
            await pilot.press("enter")
            await settle(pilot)
            assert list(app.chat.query(AnswerMessage))[-1].answer == assistant.ask(
                "When was that?", [shown.answer])
            app.query_one(SourcesPanel).focus()  # the reader reads the article from the server
            await pilot.press("enter")
            await pilot.pause()
            reader = app.screen
            assert isinstance(reader, ReaderScreen)
            cited = list(app.chat.query(AnswerMessage))[-1].answer.citations[0]
            assert reader.article.id == cited.article_id
            assert reader.article.text[cited.start:cited.end] == cited.text
            await pilot.press("escape")
            await pilot.pause()
            box.focus()
            box.value = "/rebuild"  # the server's index is rebuilt where it runs
            await pilot.press("enter")
            await settle(pilot)

    asyncio.run(run())
    assert any("rebuild the index where it runs" in n for n in notes), notes


# --- the real server, with concurrent clients, in a network namespace -------------------------
@pytest.mark.integration
def test_real_server_answers_concurrent_clients_like_the_library(real_seed_index: Path,
                                                                 tmp_path: Path) -> None:
    prefix = netns_prefix("its server")
    retriever = Retriever.open(real_seed_index)
    assistant = Assistant(retriever)
    requests: list[dict[str, Any]] = []
    expected: list[tuple[int, Any]] = []

    def add(request: dict[str, Any], status: int, body: Any) -> None:
        requests.append(request)
        expected.append((status, as_json(body)))

    from urllib.parse import urlencode

    for q in ("Who is Katrina Yu?", "What did Zhao Lijian say about NATO?",
              "Who is Daniel Kritenbrink?", "How long was the video call between Xi and Putin?"):
        add({"method": "GET", "path": "/ask?" + urlencode({"q": q})}, 200,
            asdict(assistant.ask(q)))
    for q, since in (("sanctions", None), ("Zhao Lijian NATO", "2022-02")):
        params = {"q": q, "k": 5, **({"since": since} if since else {})}
        add({"method": "GET", "path": "/search?" + urlencode(params)}, 200,
            search_json(retriever, q, since=since))
    first = assistant.ask("Who is Wang Yi?")
    history = [as_json(asdict(first))]
    add({"method": "POST", "path": "/ask", "body": {"question": "When was that?",
                                                     "history": history}},
        200, asdict(assistant.ask("When was that?", [first])))
    add({"method": "POST", "path": "/ask", "via": "remote",
         "body": {"question": "What did he say about Ukraine?", "history": history}},
        200, asdict(assistant.ask("What did he say about Ukraine?", [first])))
    with pytest.raises(QueryError) as refused:
        assistant.ask("")
    add({"method": "GET", "path": "/ask?q="}, 400, {"error": str(refused.value)})

    spec = {"index": str(real_seed_index), "port": 8000, "requests": requests,
            "threads": [4, 16], "max_requests": 160, "max_seconds": 30, "start_seconds": 180}
    result = run_driver(prefix, "serve_driver.py", spec, tmp_path, timeout=600)
    assert "error" not in result, result
    assert "Traceback" not in result["log"], result["log"]
    for threads in ("4", "16"):
        responses = result["rounds"][threads]
        # Every kind of request was asked at least once in each round, and each reply is the
        # library's own, whichever thread asked and whatever ran beside it.
        assert len(responses) >= len(requests), (threads, len(responses))
        for i, status, body in responses:
            want_status, want_body = expected[i % len(requests)]
            assert (status, body) == (want_status, want_body), (threads, requests[i % len(requests)])


# --- who may ask: the Host header and the token (issue 22) ----------------------------------
def test_qa_serve_checks_the_host_header_and_the_token(seed_index: Path, tmp_path: Path) -> None:
    """DNS rebinding: a page on attacker.example that resolves its name to 127.0.0.1 makes a
    browser on this machine send `Host: attacker.example`; `qa serve` answers only the names
    it serves (the address it listens on, localhost, --allowed-host). A token set in the
    environment (QA_SERVE_TOKEN) is required on every endpoint."""
    prefix = netns_prefix("its server")
    token = {"Authorization": "Bearer s3cret-token"}
    port = 8765
    requests = [
        {"method": "GET", "path": "/health", "headers": token},
        {"method": "GET", "path": "/health", "headers": {**token, "Host": f"localhost:{port}"}},
        {"method": "GET", "path": "/search?q=Katrina", "headers": {
            **token, "Host": f"attacker.example:{port}"}},
        {"method": "GET", "path": "/search?q=Katrina"},
        {"method": "GET", "path": "/article/anything", "headers": {
            "Authorization": "Bearer wrong"}},
        {"method": "POST", "path": "/ask", "body": {"question": "Who is Katrina Yu?"}},
        # The chat's client (qa chat --server) sends the token of the settings.
        {"method": "POST", "path": "/ask", "via": "remote",
         "body": {"question": "Who is Katrina Yu?"}},
    ]
    spec = {"index": str(seed_index), "port": port, "requests": requests, "threads": [1],
            "max_requests": len(requests), "max_seconds": 60, "start_seconds": 120,
            "env": {"QA_SERVE_TOKEN": "s3cret-token"}, "wait_headers": token}
    result = run_driver(prefix, "serve_driver.py", spec, tmp_path, timeout=300)
    assert "error" not in result, result
    statuses = [status for _, status, _ in sorted(result["rounds"]["1"])]
    assert statuses == [200, 200, 400, 401, 401, 401, 200], (statuses, result["log"])
    bodies = [body for _, _, body in sorted(result["rounds"]["1"])]
    assert "attacker.example" in bodies[2]["error"] and "--allowed-host" in bodies[2]["error"]
    assert "token" in bodies[3]["error"]


def test_allowed_hosts_and_token_in_process(library: Library) -> None:
    from qa.serve import allowed_hosts

    hosts = allowed_hosts("127.0.0.1", ["qa.example.org"])
    assert {"127.0.0.1", "localhost", "qa.example.org"} <= set(hosts)
    app = TestClient(create_app(library, allowed_hosts=hosts, token="t0k"),
                     raise_server_exceptions=False)
    ok = {"Authorization": "Bearer t0k"}
    assert app.get("/health", headers={**ok, "Host": "qa.example.org"}).status_code == 200
    assert app.get("/health", headers={**ok, "Host": "localhost:8000"}).status_code == 200
    assert app.get("/health", headers={**ok, "Host": "evil.example"}).status_code == 400
    assert app.get("/health", headers={"Host": "localhost"}).status_code == 401


def test_only_the_servers_import_the_server_libraries() -> None:
    """The default install has no FastAPI nor MCP SDK: the rest of qa, the chat's client
    included, must never need them. The two servers, each behind its extra, are qa/serve.py
    and qa/mcp_server.py (which takes its schemas' pydantic from spaCy's dependencies too)."""
    import qa

    root = Path(qa.__file__).parent
    servers = {root / "serve.py": (), root / "mcp_server.py": ("pydantic", "uvicorn",
                                                                "starlette", "mcp")}
    for path in root.rglob("*.py"):
        if path == root / "serve.py":
            continue
        text = path.read_text(encoding="utf-8")
        for library in ("fastapi", "uvicorn", "starlette", "pydantic", "httpx", "mcp"):
            if library in servers.get(path, ()):
                continue
            assert f"import {library}" not in text and f"from {library}" not in text, \
                (path.relative_to(root), library)
    probe = ("import sys, qa.cli, qa.search.remote, qa.tui.app\n"
             "print(sorted(m for m in ('fastapi', 'uvicorn', 'starlette', 'mcp') "
             "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         timeout=120)
    assert out.stdout.strip() == "[]", out
