"""Snapshot tests of the main screens at 120×34 and 80×24 (pytest-textual-snapshot).

Deterministic by construction: the fake embedder, relative paths (the test runs inside its
temporary folder), no clocks or spinners on screen; every step waits for the workers.
Update after an intended change with `pytest tests/tui --snapshot-update` and review the SVGs.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot

from qa.tui.app import make_app
from qa.tui.widgets.history_input import HistoryInput
from qa.tui.widgets.sources_panel import SourcesPanel

SIZES = [pytest.param((120, 34), id="120x34"), pytest.param((80, 24), id="80x24")]


@pytest.fixture
def in_tmp(built_index: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run from the temporary folder so paths on screen are the same on every machine."""
    monkeypatch.chdir(built_index.parent)
    return built_index.parent


async def settle(pilot: Pilot) -> None:
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def ask_one(pilot: Pilot) -> None:
    await settle(pilot)
    pilot.app.query_one(HistoryInput).value = "Who is Zhao Lijian?"
    await pilot.press("enter")
    await settle(pilot)


@pytest.mark.parametrize("size", SIZES)
def test_chat_with_answer(snap_compare, in_tmp: Path, embedder, size) -> None:
    app = make_app("index", "corpus", embedder=embedder)
    assert snap_compare(app, terminal_size=size, run_before=ask_one)


def test_chat_with_answer_light_theme(snap_compare, in_tmp: Path, embedder) -> None:
    app = make_app("index", "corpus", embedder=embedder)

    async def light(pilot: Pilot) -> None:
        pilot.app.theme = "textual-light"
        await ask_one(pilot)

    assert snap_compare(app, terminal_size=(120, 34), run_before=light)


@pytest.mark.parametrize("size", SIZES)
def test_reader(snap_compare, in_tmp: Path, embedder, size) -> None:
    app = make_app("index", "corpus", embedder=embedder)

    async def open_source(pilot: Pilot) -> None:
        await ask_one(pilot)
        pilot.app.query_one(SourcesPanel).focus()
        await pilot.press("enter")
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=open_source)


@pytest.mark.parametrize("size", SIZES)
def test_welcome(snap_compare, in_tmp: Path, embedder, size) -> None:
    app = make_app("missing-index", "corpus", embedder=embedder)
    assert snap_compare(app, terminal_size=size, run_before=settle)


def test_help(snap_compare, in_tmp: Path, embedder) -> None:
    app = make_app("index", "corpus", embedder=embedder)

    async def open_help(pilot: Pilot) -> None:
        await settle(pilot)
        await pilot.press("f1")
        await settle(pilot)

    assert snap_compare(app, terminal_size=(120, 34), run_before=open_help)
