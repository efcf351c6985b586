"""The chat's session without a screen: it opens, answers /quotes, exports and queues
rebuilds through a host that only runs its work and keeps its messages (no app, no widget)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from qa.tui.commands import parse_command
from qa.tui.messages import IndexNeedsBuild, IndexOpened, RebuildFinished
from qa.tui.session import ChatSession, ChatSettings


class Host:
    """Runs each worker at once, in the calling thread, and keeps what it posts."""

    def __init__(self) -> None:
        self.posted: list[Any] = []
        self.groups: list[str] = []

    def post_message(self, message: Any) -> bool:
        self.posted.append(message)
        return True

    def run_worker(self, work: Callable[[], Any], name: str | None = "", group: str = "default",
                   **options: Any) -> None:
        self.groups.append(group)
        work()


def opened(built_index: Path, corpus_dir: Path, embedder) -> tuple[ChatSession, Host]:
    host = Host()
    session = ChatSession(ChatSettings(index=built_index, corpus=corpus_dir, embedder=embedder,
                                       history_path=built_index.parent / "history.db"), host)
    session.start()
    [index] = [m for m in host.posted if isinstance(m, IndexOpened)]
    session.index_opened(index.retriever, index.assistant)
    return session, host


def test_a_missing_index_asks_for_a_build(tmp_path: Path, embedder) -> None:
    host = Host()
    ChatSession(ChatSettings(index=tmp_path / "none", embedder=embedder,
                             history_path=tmp_path / "history.db"), host).start()
    [needs] = [m for m in host.posted if isinstance(m, IndexNeedsBuild)]
    assert "qa index" in needs.reason and not needs.full


def test_quotes_dates_and_export_need_no_screen(built_index: Path, corpus_dir: Path, embedder,
                                                tmp_path: Path) -> None:
    session, _ = opened(built_index, corpus_dir, embedder)
    answer = session.quotes_answer("Zhao Lijian")
    assert answer is not None and answer.mode == "quotes"
    assert all(c.speaker and c.text in answer.text for c in answer.citations)
    assert session.quotes_answer("Nobody Atall") is None
    session.set_dates(parse_command("/since March 2022"))
    assert session.since == "2022-03-01"
    path = session.export_path(str(tmp_path / "talk.md"))
    session.export([answer], path)
    assert "Zhao Lijian" in path.read_text(encoding="utf-8")


def test_a_change_during_a_rebuild_queues_exactly_one_more(built_index: Path, corpus_dir: Path,
                                                          embedder) -> None:
    session, host = opened(built_index, corpus_dir, embedder)
    session.rebuilding = True  # as while a worker builds
    assert not session.start_rebuild(source="watch") and session.rebuild_again
    assert session.rebuild_ended() and not session.rebuild_ended()
    assert session.start_rebuild(source="user")
    assert isinstance(host.posted[-1], RebuildFinished) and host.groups[-1] == "rebuild"
