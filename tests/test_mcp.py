"""`qa mcp` (qa/mcp_server.py): the library as MCP tools, resources and a prompt.

The server is started as `qa mcp` in a subprocess and asked with the MCP SDK's own client,
over stdio (inside a network namespace of its own where that is permitted: stdio needs no
network) and over the streamable HTTP transport (only inside a network namespace: loopback,
a Host it must refuse, a missing token). Every span any tool returns is checked against the
article's text at its offsets, and what the tools return against the library in-process.
Smaller behaviours (schemas, limits, errors, the history) are asked of the same server
in-process, through the SDK's in-memory client.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO, HashEmbedder, netns_prefix, run_driver

from qa import types as qa_types
from qa.errors import QAError, QueryError

pytest.importorskip("mcp.server.mcpserver", reason="the mcp extra: pip install -e '.[mcp]'")
from mcp import Client  # noqa: E402
from mcp.client.stdio import StdioServerParameters, stdio_client  # noqa: E402
from mcp.shared.exceptions import MCPError  # noqa: E402

from qa import mcp_server  # noqa: E402
from qa.answer import Assistant  # noqa: E402
from qa.history import History  # noqa: E402
from qa.search.remote import answer_from_json  # noqa: E402
from qa.search.retriever import Retriever  # noqa: E402
from qa.serve import MAX_K, Library  # noqa: E402

TOOLS = ["article", "ask", "quotes", "search"]
CALL_SECONDS = 180  # a whole client session, the model's first load included


def talk(server: Any, body: Callable[[Client], Awaitable[Any]], seconds: float = CALL_SECONDS
         ) -> Any:
    """Run `body(client)` against `server` (an MCPServer in-process, or StdioServerParameters)
    with the SDK's client, bounded in time."""

    async def session() -> Any:
        async with Client(server) as client:
            return await body(client)

    return asyncio.run(asyncio.wait_for(session(), seconds))


def error_text(result: Any) -> str:
    assert result.is_error, result.structured_content
    return result.content[0].text


def check_span(texts: dict[str, str], article_id: str, start: int, end: int, text: str) -> None:
    """The one promise: a span is the article's text at its offsets."""
    assert 0 <= start <= end <= len(texts[article_id]), (article_id, start, end)
    assert texts[article_id][start:end] == text, (article_id, start, end, text)


def check_answer_spans(texts: dict[str, str], answer: dict[str, Any]) -> int:
    """Every citation, its passage and the answer phrase of an `ask` result; returns how many
    spans were checked."""
    for c in answer["citations"]:
        check_span(texts, c["article_id"], c["start"], c["end"], c["text"])
        check_span(texts, c["article_id"], c["chunk_start"], c["chunk_end"], c["chunk_text"])
        assert f"[{c['n']}]" in answer["text"]
    phrase = answer["answer"]
    if phrase is not None:
        check_span(texts, phrase["article_id"], phrase["start"], phrase["end"], phrase["text"])
        cited = next(c for c in answer["citations"] if c["n"] == phrase["n"])
        assert cited["start"] <= phrase["start"] < phrase["end"] <= cited["end"]
    return 2 * len(answer["citations"]) + (phrase is not None)


def stdio_server(index: Path, log: Any) -> Any:
    """`qa mcp --index INDEX` started by the SDK's stdio client (its stderr to `log`): in a
    network namespace of its own where that is permitted (it needs no network either way)."""
    try:
        prefix = netns_prefix("qa mcp")
    except pytest.skip.Exception:
        prefix = []
    command = [*prefix, sys.executable, "-m", "qa.cli", "mcp", "--index", str(index)]
    return stdio_client(StdioServerParameters(command=command[0], args=command[1:],
                                              env=dict(os.environ), cwd=str(REPO)), errlog=log)


def server_log(log: Any) -> str:
    log.seek(0)
    return log.read()


@pytest.fixture
def library(seed_index: Path) -> Library:
    opened = Library(seed_index, embedder=HashEmbedder())
    opened.warm_up()
    return opened


@pytest.fixture
def local(seed_index: Path) -> tuple[Retriever, Assistant]:
    retriever = Retriever.open(seed_index, embedder=HashEmbedder())
    return retriever, Assistant(retriever)


# --- over stdio, as an MCP client starts it ----------------------------------------------------
@pytest.mark.integration
def test_stdio_server_answers_every_tool_with_spans_of_the_articles(
        real_seed_index: Path, real_retriever: Retriever, data_home: Path) -> None:
    retriever, assistant = real_retriever, Assistant(real_retriever)
    texts = {a.id: a.text for a in retriever.articles()}
    questions = ["Who is Katrina Yu?", "How many times have Putin and Xi met since 2013?",
                 "How long was the video call between Xi and Putin?"]

    async def session(client: Client) -> dict[str, Any]:
        got: dict[str, Any] = {"tools": sorted(t.name for t in (await client.list_tools()).tools)}
        got["search"] = await client.call_tool("search", {"query": "Zhao Lijian NATO", "k": 4})
        got["dated"] = await client.call_tool("search", {"query": "sanctions",
                                                         "since": "2022-02", "until": "2022-02"})
        got["asks"] = [await client.call_tool("ask", {"question": q}) for q in questions]
        first = got["asks"][0].structured_content
        got["follow"] = await client.call_tool(
            "ask", {"question": "When was that?", "conversation_id": first["conversation_id"]})
        got["quotes"] = await client.call_tool("quotes", {"speaker": "Zhao Lijian"})
        cited = first["citations"][0]
        got["span"] = await client.call_tool("article", {"id": cited["article_id"],
                                                         "start": cited["start"],
                                                         "end": cited["end"]})
        got["whole"] = await client.call_tool("article", {"id": cited["article_id"]})
        got["resources"] = sorted(str(r.uri) for r in (await client.list_resources()).resources)
        read = await client.read_resource(mcp_server.article_uri(cited["article_id"]))
        got["resource_text"] = read.contents[0].text
        got["prompt"] = await client.get_prompt("answer_from_citations",
                                                {"question": "Who is Katrina Yu?"})
        got["empty"] = await client.call_tool("ask", {"question": "  "})
        got["too_many"] = await client.call_tool("search", {"query": "nato", "k": MAX_K + 1})
        got["bad_date"] = await client.call_tool("quotes", {"speaker": "Zhao",
                                                            "since": "2022-13"})
        got["no_conversation"] = await client.call_tool("ask", {"question": "Who?",
                                                                "conversation_id": 999})
        try:
            await client.read_resource(mcp_server.article_uri("no/such-article"))
            got["unknown_resource"] = None
        except MCPError as error:
            got["unknown_resource"] = str(error)
        return got

    with tempfile.TemporaryFile("w+") as log:
        got = talk(stdio_server(real_seed_index, log), session)
        shown = server_log(log)
    assert "Traceback" not in shown and "answering from" in shown, shown
    assert got["tools"] == TOOLS
    checked = 0

    # search: the passages the library ranks, each a span of its article.
    found = got["search"].structured_content
    assert not got["search"].is_error and found["mode"] == "hybrid"
    hits = retriever.search("Zhao Lijian NATO", k=4)
    assert [(p["article_id"], p["start"], p["end"], p["rank"]) for p in found["passages"]] == \
        [(h.article_id, h.start, h.end, h.rank) for h in hits]
    dated = got["dated"].structured_content
    assert (dated["since"], dated["until"]) == ("2022-02-01", "2022-02-28")
    assert dated["passages"] and all(p["date"].startswith("2022-02") for p in dated["passages"])
    for p in found["passages"] + dated["passages"]:
        check_span(texts, p["article_id"], p["start"], p["end"], p["text"])
        checked += 1

    # ask: the library's answer, saved in a conversation the follow-up continues.
    answers = [a.structured_content for a in got["asks"]]
    for q, answer in zip(questions, answers):
        assert answer_from_json(answer) == assistant.ask(q), q
        assert not answer["abstained"] and answer["certainty"] in ("sure", "likely", "unsure")
        checked += check_answer_spans(texts, answer)
    assert all(a["answer"] is not None for a in answers)  # each asks for a kind of thing
    follow = got["follow"].structured_content
    assert follow["conversation_id"] == answers[0]["conversation_id"]
    assert answer_from_json(follow) == assistant.ask("When was that?",
                                                     [answer_from_json(answers[0])])
    checked += check_answer_spans(texts, follow)
    turns = History.open(data_home / "qa" / "history.db").turns(follow["conversation_id"])
    assert [t.answer.question for t in turns] == ["Who is Katrina Yu?", "When was that?"]
    assert len({a["conversation_id"] for a in answers}) == len(questions)  # one each, not one

    # quotes: the quoted words and the sentence that carries them.
    quotes = got["quotes"].structured_content["quotes"]
    assert [(q["article_id"], q["start"], q["end"]) for q in quotes] == \
        [(q.article_id, q.start, q.end) for q in assistant.quotes("Zhao Lijian")]
    assert quotes and {q["speaker"] for q in quotes} == {"Zhao Lijian"}
    for q in quotes:
        check_span(texts, q["article_id"], q["start"], q["end"], q["text"])
        s = q["sentence"]
        check_span(texts, q["article_id"], s["start"], s["end"], s["text"])
        assert s["start"] <= q["start"] < q["end"] <= s["end"]
        checked += 2

    # article: a span, the whole text, and the same text as a resource.
    span, whole = got["span"].structured_content, got["whole"].structured_content
    cited = answers[0]["citations"][0]
    assert span["text"] == cited["text"] and not span["truncated"]
    check_span(texts, span["id"], span["start"], span["end"], span["text"])
    assert whole["text"] == texts[cited["article_id"]] == got["resource_text"]
    assert whole["length"] == len(whole["text"]) and whole["title"] == cited["title"]
    assert got["resources"] == sorted(mcp_server.article_uri(i) for i in texts)
    # every tool's spans: how many depends on how many sentences the answers cite
    assert checked >= 25, checked

    prompt = got["prompt"].messages[0].content.text
    assert "verbatim" in prompt and "[n]" in prompt and "Who is Katrina Yu?" in prompt

    # The CLI's errors, each naming what to do next.
    with pytest.raises(QueryError) as empty:
        assistant.ask("  ")
    assert str(empty.value) in error_text(got["empty"])
    assert "k must be between 1 and 100." in error_text(got["too_many"])  # as qa serve says
    assert "'2022-13' is not a date" in error_text(got["bad_date"])
    assert "No conversation 999" in error_text(got["no_conversation"])
    assert "`qa history`" in error_text(got["no_conversation"])
    assert "No article 'no/such-article'" in got["unknown_resource"]


def test_stdio_server_without_an_index_says_to_build_one(tmp_path: Path) -> None:
    async def session(client: Client) -> tuple[Any, Any, list[Any]]:
        searched = await client.call_tool("search", {"query": "nato"})
        asked = await client.call_tool("ask", {"question": "Who is Katrina Yu?"})
        listed = (await client.list_resources()).resources
        return searched, asked, listed

    with tempfile.TemporaryFile("w+") as log:
        searched, asked, listed = talk(stdio_server(tmp_path / "no-index", log), session, 60)
        assert "Traceback" not in server_log(log)
    with pytest.raises(QAError) as missing:  # what `qa search` prints, naming `qa index`
        Retriever.open(tmp_path / "no-index")
    assert "`qa index" in str(missing.value)
    for result in (searched, asked):
        assert str(missing.value) in error_text(result)
    assert listed == []


# --- over HTTP, in a network namespace ---------------------------------------------------------
@pytest.mark.integration
def test_http_transport_answers_only_allowed_hosts_with_the_token(
        real_seed_index: Path, real_retriever: Retriever, tmp_path: Path) -> None:
    prefix = netns_prefix("qa mcp --http")
    port = 8766
    token = "s3cret-token"
    good = {"Authorization": f"Bearer {token}"}
    spec = {
        "index": str(real_seed_index), "port": port, "env": {"QA_SERVE_TOKEN": token},
        "token": token, "start_seconds": 120, "call_seconds": 120,
        "refused": [
            {"headers": {**good, "Host": f"attacker.example:{port}"}},  # DNS rebinding
            {"headers": {}},  # no token
            {"headers": {"Authorization": "Bearer wrong"}},
            {"headers": {**good, "Origin": "http://attacker.example"}},  # another site's page
        ],
        "calls": [["search", {"query": "video call", "k": 3}],
                  ["ask", {"question": "How long was the video call between Xi and Putin?"}],
                  ["search", {"query": "nato", "k": 0}]],
    }
    result = run_driver(prefix, "mcp_driver.py", spec, tmp_path, timeout=300)
    assert "error" not in result, result
    assert "Traceback" not in result["log"], result["log"]
    statuses = [status for status, _, _ in result["refused"]]
    assert statuses == [400, 401, 401, 400], result["refused"]
    rebinding, missing, _, origin = (body for _, _, body in result["refused"])
    assert "attacker.example" in rebinding["error"] and "--allowed-host" in rebinding["error"]
    assert "token" in missing["error"] and result["refused"][1][1]["www-authenticate"] == "Bearer"
    assert "http://attacker.example" in origin["error"]

    assert result["tools"] == TOOLS
    texts = {a.id: a.text for a in real_retriever.articles()}
    (ok1, searched), (ok2, answer), (failed, message) = result["calls"]
    assert not ok1 and not ok2 and failed
    assert [(p["article_id"], p["start"]) for p in searched["passages"]] == \
        [(h.article_id, h.start) for h in real_retriever.search("video call", k=3)]
    for p in searched["passages"]:
        check_span(texts, p["article_id"], p["start"], p["end"], p["text"])
    assert check_answer_spans(texts, answer) >= 2 and answer["conversation_id"] is not None
    assert "k must be between 1 and 100." in message


# --- in-process: schemas, limits, errors, the history ------------------------------------------
def test_tools_publish_their_input_and_output_schemas(library: Library) -> None:
    async def listing(client: Client) -> Any:
        return (await client.list_tools()).tools

    tools = {t.name: t for t in talk(mcp_server.create_server(library), listing)}
    assert sorted(tools) == TOOLS
    k = tools["search"].input_schema["properties"]["k"]
    assert (k["minimum"], k["maximum"], k["default"]) == (1, MAX_K, 5)  # qa serve's limit
    assert tools["article"].input_schema["properties"]["start"]["minimum"] == 0
    assert tools["ask"].input_schema["required"] == ["question"]
    assert tools["article"].input_schema["required"] == ["id"]
    answer = tools["ask"].output_schema["properties"]
    for name in ("conversation_id", "text", "citations", "answer", "confidence", "certainty",
                 "abstained", "date_range"):
        assert name in answer, name
    passage = tools["search"].output_schema["$defs"]["Passage"]["properties"]
    assert {"article_id", "title", "date", "source", "url", "text", "start", "end",
            "score"} <= set(passage)
    # Reading tools say so (a client may run them without asking); ask writes the history.
    assert all(tools[n].annotations.read_only_hint for n in ("search", "quotes", "article"))
    ask = tools["ask"].annotations
    assert ask.read_only_hint is False and ask.destructive_hint is False


def test_output_models_carry_the_library_types_fields() -> None:
    """The schemas are written out for agents to read; they must not drift from qa's types."""
    def names(cls: Any) -> set[str]:
        return {f.name for f in dataclasses.fields(cls)}

    assert set(mcp_server.Citation.model_fields) == names(qa_types.Citation)
    assert set(mcp_server.AnswerPhrase.model_fields) == names(qa_types.AnswerPhrase)
    assert set(mcp_server.AskResult.model_fields) == \
        names(qa_types.Answer) | {"conversation_id", "not_saved"}
    assert set(mcp_server.Passage.model_fields) <= names(qa_types.Hit)
    assert set(mcp_server.QuoteResult.model_fields) - {"title", "date", "source", "url"} == \
        names(qa_types.Quote)


def test_articles_are_listed_as_resources_without_their_texts(library: Library, local,
                                                             monkeypatch) -> None:
    retriever, _ = local
    monkeypatch.setattr(mcp_server, "MAX_LISTED_ARTICLES", 3)

    async def listing(client: Client) -> tuple[Any, Any]:
        return ((await client.list_resources()).resources,
                (await client.list_resource_templates()).resource_templates)

    listed, templates = talk(mcp_server.create_server(library), listing)
    first = retriever.articles()[:3]  # the corpus order, cut at the limit
    assert [str(r.uri) for r in listed] == [mcp_server.article_uri(a.id) for a in first]
    assert [r.title for r in listed] == [a.title for a in first]
    assert [r.description for r in listed] == [f"{a.date} · {a.source}" if a.source else a.date
                                               for a in first]
    assert [t.uri_template for t in templates] == ["qa://article/{+id}"]
    records = retriever.article_records()  # the listing's source: every article's record
    assert [(r["id"], r["title"], r["date"], r["source"] or "", r["url"]) for r in records] == \
        [(a.id, a.title, a.date, a.source, a.url) for a in retriever.articles()]


def test_an_article_with_any_id_reads_as_a_resource(tmp_path: Path, make_index) -> None:
    """Ids come from files and from records (a JSON line's own id): spaces, ?, #, %, `../..`
    and letters beyond ASCII all survive the trip through a URI."""
    corpus = tmp_path / "odd"
    corpus.mkdir()
    lines = [{"id": "../../a b/c?d#e%20", "title": "Odd", "date": "2022-01-01",
              "text": "The lighthouse keeper said the lamp was fixed on Friday."},
             {"id": "ünï", "title": "Uni", "date": "2022-01-02",
              "text": "The ferry resumed service on Monday after the storm, officials said."}]
    (corpus / "feed.jsonl").write_text("\n".join(json.dumps(x) for x in lines), encoding="utf-8")
    library = Library(make_index(corpus), embedder=HashEmbedder())

    async def read_each(client: Client) -> list[tuple[str, str]]:
        listed = (await client.list_resources()).resources
        return [(r.name, (await client.read_resource(str(r.uri))).contents[0].text)
                for r in listed]

    got = talk(mcp_server.create_server(library), read_each)
    assert sorted(got) == sorted((f"feed/{x['id']}", x["text"]) for x in lines)


def test_a_history_that_cannot_be_written_costs_the_answer_nothing(
        library: Library, local, data_home: Path) -> None:
    _, assistant = local
    (data_home / "qa").write_text("a file where the history's folder should be")

    async def ask(client: Client) -> Any:
        return await client.call_tool("ask", {"question": "Who is Katrina Yu?"})

    result = talk(mcp_server.create_server(library), ask)
    answer = result.structured_content
    assert not result.is_error and answer["conversation_id"] is None
    assert "history" in answer["not_saved"]
    assert answer_from_json(answer) == assistant.ask("Who is Katrina Yu?")


def test_long_articles_come_in_parts(library: Library, local, monkeypatch) -> None:
    retriever, _ = local
    article = max(retriever.articles(), key=lambda a: len(a.text))
    monkeypatch.setattr(mcp_server, "MAX_SPAN_CHARS", 1000)

    async def read_all(client: Client) -> tuple[list[Any], Any, Any]:
        parts, start = [], 0
        for _ in range(len(article.text) // 1000 + 2):  # bounded: one part per 1000 characters
            part = (await client.call_tool("article", {"id": article.id, "start": start}))
            parts.append(part.structured_content)
            if not part.structured_content["truncated"]:
                break
            start = part.structured_content["end"]
        backwards = await client.call_tool("article", {"id": article.id, "start": 5, "end": 2})
        past = await client.call_tool("article", {"id": article.id,
                                                  "end": len(article.text) + 1})
        negative = await client.call_tool("article", {"id": article.id, "start": -1})
        return parts, backwards, past, negative

    parts, backwards, past, negative = talk(mcp_server.create_server(library), read_all)
    assert len(parts) == -(-len(article.text) // 1000) > 1
    assert all(len(p["text"]) == 1000 for p in parts[:-1]) and not parts[-1]["truncated"]
    assert "".join(p["text"] for p in parts) == article.text
    for message in (error_text(backwards), error_text(past), error_text(negative)):
        assert f"0 <= start <= end <= {len(article.text)}" in message


def test_an_unforeseen_failure_is_named_without_a_traceback(library: Library,
                                                            monkeypatch) -> None:
    retriever, _ = library.current()

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(retriever, "search", broken)

    async def search(client: Client) -> Any:
        return await client.call_tool("search", {"query": "nato"})

    message = error_text(talk(mcp_server.create_server(library), search))
    assert "unexpected error (RuntimeError: disk on fire)" in message
    assert "Traceback" not in message


def test_without_the_extra_the_message_names_it(monkeypatch, capsys, seed_index: Path) -> None:
    from qa.cli import main

    monkeypatch.setitem(sys.modules, "mcp.server.mcpserver", None)  # its import now fails
    with pytest.raises(QAError, match=r"pip install 'qa\[mcp\]'"):
        mcp_server.create_server(Library(seed_index))
    assert main(["mcp", "--index", str(seed_index)]) == 2
    assert "pip install 'qa[mcp]'" in capsys.readouterr().err


def test_http_flags_go_with_http_and_help_shows_a_client_config(capsys) -> None:
    from qa.cli import main

    assert main(["mcp", "--port", "9000"]) == 2
    assert "go with --http" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["mcp", "--help"])
    shown = capsys.readouterr().out
    assert '"mcpServers"' in shown and '"args": ["mcp", "--index"' in shown


def test_the_server_module_is_headless_and_reads_settings_only_through_config(
        seed_index: Path) -> None:
    source = Path(mcp_server.__file__).read_text(encoding="utf-8")
    assert "os.environ" not in source and "getenv" not in source and "import os" not in source
    probe = ("import sys\nfrom qa.serve import Library\nfrom qa.mcp_server import create_server\n"
             f"create_server(Library({str(seed_index)!r}))\n"
             "print(sorted(m for m in ('textual', 'fastapi', 'torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         timeout=120, cwd=REPO)
    assert out.stdout.strip() == "[]", out
