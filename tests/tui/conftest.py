"""Fixtures for the chat's tests: a small corpus, a fast fake embedder, a built index."""

from __future__ import annotations

import asyncio
import inspect
from pathlib import Path

import pytest

# An article whose title and text try to style, link and escape the terminal.
HOSTILE_ARTICLE = """---
title: "[bold red]Injected[/] title \x1b[31mred\x1b[0m"
date: 2022-03-01
source: "[link=http://evil.example]Evil Outlet[/link]"
---

The harbour committee said the lighthouse [bold]Meridian[/bold] will reopen in April [/] after repairs. \x1b[2J\x1b[31mThis must not clear the screen.\x1b[0m

The committee also said [link=http://evil.example]click here[/link] and [reverse]markup[/reverse] stay literal.
"""


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run `async def` tests in a fresh event loop (no pytest-asyncio needed)."""
    if inspect.iscoroutinefunction(pyfuncitem.obj):
        names = pyfuncitem._fixtureinfo.argnames
        asyncio.run(pyfuncitem.obj(**{name: pyfuncitem.funcargs[name] for name in names}))
        return True
    return None


# The chat's tests use the shared fixtures of tests/conftest.py (HashEmbedder, the seed
# corpus and its index) under the names these tests read best with.


@pytest.fixture
def embedder(hash_embedder):
    """The fast deterministic stand-in for the model (tests/conftest.py `HashEmbedder`)."""
    return hash_embedder


@pytest.fixture
def corpus_dir(seed_corpus: Path) -> Path:
    """A writable copy of the seed corpus (tests may add articles to it)."""
    return seed_corpus


@pytest.fixture
def built_index(seed_index: Path) -> Path:
    """The seed corpus indexed with `HashEmbedder` into tmp/index."""
    return seed_index
