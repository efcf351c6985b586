"""Distributed builds on Ray (issue 15): `qa index --executor ray` on a real 2-node cluster.

The cluster (tests/ray_driver.py) runs inside a network namespace the test makes, where only
loopback exists: Ray advertises the machine's routable address otherwise. Its two nodes share
this machine but are separate raylets with one CPU each.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import HashEmbedder, netns_prefix, run_driver

from qa import build_index
from qa.build.executors import RayExecutor, make_executor
from qa.errors import ExecutorUnavailableError

HERE = Path(__file__).resolve().parents[1]
BACKEND = "onnx"  # the same fp32 runtime for the local build and the actors

# An update adds this article: only its chunks go to the cluster.
NEW_ARTICLE = """# Harbour strike ends in Northland

Dock workers in the port of Northland returned to work on Monday after a strike that had
lasted eleven days, the port authority said. The union and the port operator agreed on a
pay rise of four percent this year and three percent next year, and on a review of night
shifts.

"We are glad the cranes are moving again," a spokeswoman for the port authority said. Ships
that had waited outside the harbour began to berth on Monday morning, and the operator
expects the backlog of containers to be cleared within two weeks.

The strike had delayed deliveries of fuel and grain to the region. Local shops reported
shortages of some goods last week, and the regional government had asked both sides to
return to talks.
"""

QUESTIONS = ("Who is Katrina Yu?", "What did Zhao Lijian say about NATO?",
             "How long was the video call between Xi and Putin?", "sanctions",
             "How long did the dock workers strike?")


def require_ray() -> None:
    """Skip without ray, unless CI requires the scale extra (QA_REQUIRE_SCALE=1): then fail."""
    try:
        import ray  # noqa: F401
        import ray.data  # noqa: F401
    except ImportError:
        message = "ray[data] is not installed: pip install 'qa[scale]' to run the Ray tests"
        if os.environ.get("QA_REQUIRE_SCALE") == "1":
            pytest.fail(f"QA_REQUIRE_SCALE=1 but {message}")
        pytest.skip(message)


def vectors_by_chunk_id(index_dir: Path) -> dict[int, np.ndarray]:
    from qa.index import Index

    index = Index.open(index_dir, for_search=False)
    vectors = index.vectors()
    return {index.chunk(row).id: vectors[row] for row in range(len(vectors))}


def sentence_vectors_by_chunk_id(index_dir: Path) -> dict[int, tuple[Any, np.ndarray]]:
    from qa.index import Index

    index = Index.open(index_dir)  # the chunk id map is read for searches
    out = {}
    for chunk_id in vectors_by_chunk_id(index_dir):
        found = index.sentence_vectors(chunk_id)
        assert found is not None
        out[chunk_id] = (found[0], found[1].astype(np.float32))
    return out


def answer_shape(answer: Any) -> dict[str, Any]:
    """An answer as a user sees it: its text and citations (scores to 5 places)."""
    shown = asdict(answer)
    shown.pop("generation")  # each index names its own generation

    def rounded(value: Any) -> Any:
        if isinstance(value, float):
            return round(value, 5)
        if isinstance(value, dict):
            return {k: rounded(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [rounded(v) for v in value]
        return value

    return rounded(shown)


@pytest.mark.integration
def test_ray_build_on_two_nodes_equals_a_local_build_and_survives_a_killed_node(
        seed_corpus: Path, tmp_path: Path) -> None:
    require_ray()
    prefix = netns_prefix("a 2-node Ray cluster")
    from qa.answer import Assistant
    from qa.index import read_manifest
    from qa.search.retriever import Retriever

    local = tmp_path / "local"
    build_index(seed_corpus, local, backend=BACKEND)
    before_update = vectors_by_chunk_id(local)
    killed_corpus = tmp_path / "corpus-killed"
    shutil.copytree(seed_corpus, killed_corpus)
    spec = {"builds": [
        {"corpus": str(seed_corpus), "index": str(tmp_path / "ray"),
         "args": ["--runtime", BACKEND]},
        {"corpus": str(seed_corpus), "index": str(tmp_path / "ray"),
         "args": ["--runtime", BACKEND], "add_files": {"harbour-strike.md": NEW_ARTICLE}},
        {"corpus": str(killed_corpus), "index": str(tmp_path / "ray-killed"),
         "args": ["--runtime", BACKEND], "kill_worker": True},
    ], "max_seconds": 240}
    result = run_driver(prefix, "ray_driver.py", spec, tmp_path, timeout=360)
    assert "error" not in result, result["error"]
    normal, update, killed = result["builds"]
    for build in (normal, update, killed):
        assert build["returncode"] == 0, build["stderr"]
        assert "Traceback" not in build["stderr"], build["stderr"]
        assert "embedding" in build["stderr"]  # the build's own progress lines
    assert "Full build" in normal["stdout"] and "Full build" in killed["stdout"]
    assert "1 added, 0 changed, 0 removed" in update["stdout"], update["stdout"]

    build_index(seed_corpus, local, backend=BACKEND)  # the same update, here
    expected = vectors_by_chunk_id(local)
    new_ids = set(expected) - set(before_update)
    assert new_ids and set(before_update) < set(expected)
    for name, want in (("ray", expected), ("ray-killed", before_update)):
        got = vectors_by_chunk_id(tmp_path / name)
        assert set(got) == set(want), name
        cosines = [float(want[i] @ got[i]) for i in want]
        assert min(cosines) >= 0.9999, (name, min(cosines))

    # Both nodes embedded chunks of the first build, and every chunk came back once; the
    # update sent the cluster the new article's chunks only.
    head, worker = result["head"], result["worker"]
    executor = normal["executor"]
    assert executor["name"] == "ray"
    assert set(executor["chunks_by_node"]) == {head, worker}, executor
    assert sum(executor["chunks_by_node"].values()) == len(before_update)
    # The sentences' vectors came back with their chunks' (qa.embed.pooling), as here.
    got_sentences, want_sentences = (sentence_vectors_by_chunk_id(tmp_path / "ray"),
                                     sentence_vectors_by_chunk_id(local))
    assert got_sentences.keys() == want_sentences.keys() == expected.keys()
    for chunk_id, (spans, rows) in got_sentences.items():
        want_spans, want_rows = want_sentences[chunk_id]
        assert spans == want_spans and np.allclose(rows, want_rows, atol=2e-3), chunk_id
    assert sum(update["executor"]["chunks_by_node"].values()) == len(new_ids)
    assert read_manifest(tmp_path / "ray").executor == update["executor"]

    # The second node was SIGKILLed while its actor ran a batch, mid-build; the batch it
    # held was embedded again on the head node, and the build completed.
    kill = killed["killed"]
    assert kill is not None and kill["build_running"], killed
    assert any(".submit" in t for t in kill["titles"]), kill
    by_node = read_manifest(tmp_path / "ray-killed").executor["chunks_by_node"]
    assert by_node == {head: len(before_update)}, (by_node, kill)

    # Searches and answers are those of a local build of the same corpus.
    local_killed = tmp_path / "local-killed"
    build_index(killed_corpus, local_killed, backend=BACKEND)
    for name, reference in (("ray", local), ("ray-killed", local_killed)):
        retriever, local_retriever = Retriever.open(tmp_path / name), Retriever.open(reference)
        assistant, local_assistant = Assistant(retriever), Assistant(local_retriever)
        for q in QUESTIONS:
            hits, want = retriever.search(q, k=5), local_retriever.search(q, k=5)
            assert [h.chunk_id for h in hits] == [h.chunk_id for h in want], (name, q)
            assert np.allclose([h.score for h in hits], [h.score for h in want], atol=1e-5)
            assert answer_shape(assistant.ask(q)) == answer_shape(local_assistant.ask(q))


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unreachable_ray_address_fails_fast_and_leaves_the_index_untouched(
        seed_corpus: Path, tmp_path: Path) -> None:
    require_ray()
    from qa.index import read_manifest

    index = tmp_path / "index"
    build_index(seed_corpus, index, embedder=HashEmbedder())
    before = read_manifest(index)
    (seed_corpus / "new.md").write_text("# A new article\n\nThe harbour strike ended today.\n",
                                        encoding="utf-8")
    address = f"127.0.0.1:{closed_port()}"
    with pytest.raises(ExecutorUnavailableError) as refused:
        build_index(seed_corpus, index, embedder=HashEmbedder(),
                    executor=RayExecutor(address, connect_timeout=5))
    assert f"No Ray cluster answers at {address}" in str(refused.value)
    assert "ray start --head" in str(refused.value) and "unchanged" in str(refused.value)
    assert read_manifest(index) == before
    assert before.executor == {"name": "local"}  # what built it, as the manifest records


def test_qa_index_with_an_unreachable_cluster_says_what_to_run(seed_corpus: Path,
                                                                tmp_path: Path) -> None:
    require_ray()
    address = f"127.0.0.1:{closed_port()}"
    run = subprocess.run(
        [sys.executable, "-c", "import sys; from qa.cli import main; sys.exit(main(sys.argv[1:]))",
         "index", "--corpus", str(seed_corpus), "--index", str(tmp_path / "index"),
         "--executor", "ray", "--ray-address", address, "--runtime", BACKEND],
        capture_output=True, text=True, timeout=120, cwd=HERE.parent)
    assert run.returncode == 2, run.stderr
    assert f"No Ray cluster answers at {address}" in run.stderr
    assert "Traceback" not in run.stderr
    from qa.errors import IndexMissingError
    from qa.index import read_manifest

    with pytest.raises(IndexMissingError):
        read_manifest(tmp_path / "index")


# A port that accepts connections and never answers: what a wrong port (the dashboard's, say)
# looks like to ray.init, which would retry for minutes.
SILENT_PORT = """
import socket, threading, time
import numpy as np
from qa.errors import ExecutorUnavailableError
from qa.build.executors import EmbedJob, RayExecutor

server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen(16)
held = []
threading.Thread(target=lambda: [held.append(server.accept()) for _ in range(64)],
                 daemon=True).start()
t0 = time.monotonic()
try:
    RayExecutor(f"127.0.0.1:{server.getsockname()[1]}", connect_timeout=2).embed(
        EmbedJob(ids=np.array([1], np.int64), texts=["a"], model="m", backend="onnx"))
    print("no error")
except ExecutorUnavailableError as exc:
    print(exc)
print(f"seconds {time.monotonic() - t0:.1f}")
"""


def test_a_port_that_is_not_a_ray_head_fails_in_bounded_time() -> None:
    require_ray()
    prefix = netns_prefix("ray.init against a silent loopback port")
    run = subprocess.run([*prefix, sys.executable, "-c", SILENT_PORT], capture_output=True,
                         text=True, timeout=120, cwd=HERE.parent)
    assert run.returncode == 0, run.stderr
    assert "answers, but no Ray cluster connected there within 12 s" in run.stdout, run.stdout
    assert "ray start --head" in run.stdout
    seconds = float(run.stdout.split("seconds ")[1])
    assert seconds < 60, run.stdout  # 12 s of waiting, not ray.init's minutes of retries


def test_the_ray_executor_needs_an_address() -> None:
    require_ray()
    with pytest.raises(ExecutorUnavailableError, match="--ray-address HEAD:6379"):
        make_executor("ray", None)
    with pytest.raises(ExecutorUnavailableError, match="is not HOST:PORT"):
        RayExecutor("ray://head").embed(_job())


def test_without_ray_the_message_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now raises ImportError
    with pytest.raises(ExecutorUnavailableError, match=r"pip install 'qa\[scale\]'"):
        make_executor("ray", "127.0.0.1:6379")
    assert make_executor("local", None) is None  # the local build needs nothing of ray


def test_a_failed_ray_job_names_the_error_a_node_raised() -> None:
    """Ray wraps an actor's exception (RayTaskError.cause); qa's own message is what the user
    needs, e.g. a model that cannot load on a node and how to fix it."""
    from qa.build.executors import _reason
    from qa.errors import ModelUnavailableError

    class Wrapped(Exception):
        def __init__(self, cause: BaseException) -> None:
            super().__init__("ray::MapWorker(MapBatches(_EmbedActor)).submit() (pid=1)\n...")
            self.cause = cause

    inner = ModelUnavailableError("The embedding model 'm' could not be loaded. Reinstall.")
    assert _reason(Wrapped(inner)) == str(inner)
    assert _reason(RuntimeError("lost the cluster\ndetails")) == "RuntimeError: lost the cluster"


def _job() -> Any:
    from qa.build.executors import EmbedJob

    return EmbedJob(ids=np.array([1], np.int64), texts=["a"], model="m", backend="onnx")
