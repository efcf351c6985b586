"""Shared fixtures.

Two kinds of index:
- `seed_index` / `make_index`: the seed corpus (or any folder) built with `HashEmbedder`, a tiny
  deterministic stand-in for the model: fast unit tests of everything but embedding quality.
- `real_seed_index`: the seed corpus built once per session with the real packaged
  all-MiniLM-L6-v2, real FAISS and real rank-bm25 (integration tests).
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# The user's settings file (~/.config/qa/config.toml) must not steer the tests: an empty one;
# nor may the tests read or write the user's conversation history (~/.local/share/qa). Both
# live in one folder the pytest process makes and removes when it exits; a process it starts
# inherits the folder through the environment and, if it imports this module, makes none of
# its own (a child process may end without running `atexit`).
_HOME = os.environ.get("QA_TESTS_HOME", "")
if not _HOME:
    _HOME = os.environ["QA_TESTS_HOME"] = tempfile.mkdtemp(prefix="qa-tests-home-")
    atexit.register(shutil.rmtree, _HOME, ignore_errors=True)
os.environ["XDG_CONFIG_HOME"] = os.path.join(_HOME, "config")
os.environ["XDG_DATA_HOME"] = os.path.join(_HOME, "data")

REPO = Path(__file__).resolve().parent.parent
SEED_CORPUS = REPO / "corpus"
SHARED = REPO.parent / "shared"


class HashEmbedder:
    """Deterministic bag-of-words hashing into 64 dimensions, L2-normalised.

    Texts that share words get similar vectors, which is enough to exercise the dense code
    path (FAISS, fusion, filters) without loading a model. `calls` counts embedded texts.
    """

    name = "test-hash-64"
    dim = 64
    loaded = True

    def __init__(self) -> None:
        self.calls = 0
        # Texts per `encode` call: a build embeds its new chunks in the first and, in the
        # second, the sentences an answer may cite (qa.index.sentences).
        self.jobs: list[int] = []

    def encode(self, texts: Sequence[str], *, batch_size: int = 32, progress=None) -> np.ndarray:
        from qa.text import tokenize

        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for tok in tokenize(text) or ["<empty>"]:
                h = int.from_bytes(hashlib.blake2b(tok.encode(), digest_size=4).digest(), "little")
                out[i, h % self.dim] += 1.0 if (h >> 16) & 1 else -1.0
        self.calls += len(texts)
        self.jobs.append(len(texts))
        if progress:
            progress(len(texts), len(texts))
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        norms[norms == 0] = 1
        return out / norms


def netns_prefix(what: str) -> list[str]:
    """The command prefix that runs a command in a new network namespace with only loopback
    up (so a multi-process server or cluster talks only to loopback); skips the test, naming
    `what` runs there, where that is not permitted."""
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        pytest.skip(f"unshare or ip is not installed: this test runs {what} in a network "
                    "namespace of its own (util-linux, iproute2)")
    flag = "-n" if os.geteuid() == 0 else "-rn"
    probe = subprocess.run(["unshare", flag, "sh", "-c", "ip link set lo up"],
                           capture_output=True, text=True, timeout=30)
    if probe.returncode != 0:
        pytest.skip(f"`unshare {flag}` is not permitted here ({probe.stderr.strip()}): this "
                    f"test runs {what} in a network namespace of its own, on loopback only")
    return ["unshare", flag, "sh", "-c", 'ip link set lo up && exec "$0" "$@"']


def run_driver(prefix: list[str], driver: str, spec: dict, tmp_path: Path, *,
               timeout: float) -> dict:
    """Run tests/<driver> (after `prefix`, e.g. netns_prefix's) with `spec` as its JSON
    input and return the JSON it writes: the way the multi-process tests drive a server or
    a cluster inside their network namespace."""
    here = Path(__file__).resolve().parent
    (tmp_path / "spec.json").write_text(json.dumps(spec), encoding="utf-8")
    out = tmp_path / "out.json"
    subprocess.run([*prefix, sys.executable, str(here / driver), str(tmp_path / "spec.json"),
                    str(out)], check=True, timeout=timeout, cwd=here.parent,
                   env=os.environ.copy())
    return json.loads(out.read_text(encoding="utf-8"))


@pytest.fixture(autouse=True)
def data_home(tmp_path_factory, monkeypatch) -> Path:
    """Each test its own empty XDG_DATA_HOME: a conversation history starts empty."""
    path = tmp_path_factory.mktemp("xdg-data")
    monkeypatch.setenv("XDG_DATA_HOME", str(path))
    return path


@pytest.fixture
def hash_embedder() -> HashEmbedder:
    return HashEmbedder()


@pytest.fixture
def seed_corpus(tmp_path: Path) -> Path:
    """A writable copy of the seed corpus."""
    dest = tmp_path / "corpus"
    shutil.copytree(SEED_CORPUS, dest)
    return dest


@pytest.fixture
def make_index(tmp_path: Path) -> Callable[..., Path]:
    """Build an index of a corpus folder with HashEmbedder; returns the index folder."""

    def make(corpus: Path, index: Path | None = None, **kw) -> Path:
        from qa import build_index

        index = index or tmp_path / "index"
        build_index(corpus, index, embedder=kw.pop("embedder", None) or HashEmbedder(), **kw)
        return index

    return make


@pytest.fixture
def seed_index(seed_corpus: Path, make_index) -> Path:
    return make_index(seed_corpus)


@pytest.fixture(scope="session")
def real_seed_index(tmp_path_factory) -> Path:
    """The seed corpus indexed with the real packaged model (built once per session), by
    torch: the reference fp32 vectors, whichever runtime this machine's calibration picks."""
    from qa import build_index

    root = tmp_path_factory.mktemp("real")
    corpus = root / "corpus"
    shutil.copytree(SEED_CORPUS, corpus)
    build_index(corpus, root / "index", backend="torch")
    return root / "index"


@pytest.fixture(scope="session")
def real_retriever(real_seed_index):
    from qa import Retriever

    return Retriever.open(real_seed_index)
