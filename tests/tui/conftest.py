"""Fixtures for the chat's tests: a small corpus, a fast fake embedder, a built index."""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import re
import shutil
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
SEED_CORPUS = ROOT / "corpus"

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


class HashEmbedder:
    """Deterministic, dependency-free stand-in for the sentence-transformers model.

    Words are hashed into a fixed number of buckets, so texts sharing words are close.
    Good enough for the UI's tests, which are about what reaches the screen.
    """

    name = "hash-test-embedder"
    loaded = True

    def __init__(self, dim: int = 64) -> None:
        self._dim = dim

    @property
    def dim(self) -> int:
        return self._dim

    def encode(self, texts: Sequence[str], *, batch_size: int = 32, progress: Any = None) -> np.ndarray:
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                bucket = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest(), "little")
                out[row, bucket % self._dim] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        if progress:
            progress(len(texts), len(texts))
        return out / norms


@pytest.fixture
def embedder() -> HashEmbedder:
    return HashEmbedder()


@pytest.fixture
def corpus_dir(tmp_path: Path) -> Path:
    """A copy of the seed corpus in a temporary folder (tests may add articles to it)."""
    folder = tmp_path / "corpus"
    shutil.copytree(SEED_CORPUS, folder)
    return folder


@pytest.fixture
def built_index(tmp_path: Path, corpus_dir: Path, embedder: HashEmbedder) -> Path:
    """The seed corpus indexed with the fake embedder into tmp/index."""
    from qa import build_index

    index = tmp_path / "index"
    build_index(corpus=corpus_dir, index=index, embedder=embedder)
    return index
