"""Executors: where the embed stage of a build runs.

Embedding is most of a build (the NLP pass, qa.build.analysis, most of the rest), so it is
the one stage that can leave the machine. An `Executor` turns an `EmbedJob` (chunk ids and
their texts, in order, with the model and the embedding backend; and the spans of each text
whose vectors are pooled from its pass: a chunk's sentences) into one vector per text and
one per span, in the same order (`Embedded`). Everything around it (reading articles, the
content-hash diff, the NLP pass, writing the segment, publishing the manifest) stays in
qa.build.builder, on the machine that owns the index.

- `LocalExecutor`: this process's embedder, as every build did before (the default).
- `RayExecutor`: a Ray Data job on an existing Ray cluster: an actor pool, one CPU and one
  inference thread per actor, each actor loading the model once. Rows carry their chunk id,
  so a batch Ray retries after a node dies gives the same rows again, and the vectors are put
  back in order by id, never by arrival. The build publishes nothing until every id came back.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Protocol

import numpy as np

from ..embed.calibrate import build_embedder
from ..embed.embedder import Embedder
from ..embed.pooling import SpanEmbedder
from ..errors import ExecutorUnavailableError, QAError
from ..types import JSONObject, Span

Progress = Callable[[int, int], None]

LOCAL, RAY = "local", "ray"
EXECUTORS = (LOCAL, RAY)

_INSTALL = "pip install 'qa[scale]'"


@dataclass(frozen=True)
class EmbedJob:
    """What the embed stage of a build has to do.

    ids: one content-derived int64 chunk id per text (the same text always has the same id).
    texts: what each chunk is embedded as (qa.embed.chunk_input.embedding_input).
    model: the embedding model's name; backend: its runtime (qa.embed.embedder.BACKENDS).
    what: "chunks", or "sentences" (the sentences an answer may cite, qa.index.sentences):
    an executor's record keeps each kind's count apart.
    spans: per text, character spans whose vectors are pooled from the text's own pass
    (qa.embed.pooling: a chunk's sentences); the same id always comes with the same spans.
    """

    ids: np.ndarray
    texts: Sequence[str]
    model: str
    backend: str
    what: str = "chunks"
    spans: Sequence[Sequence[Span]] | None = None


@dataclass(frozen=True)
class Embedded:
    """An executor's answer: one L2-normalised float32 vector per text of the job, in order;
    and, when the job named spans and the embedder can pool them, one vector per span of
    every text in order (zero for a span beyond a truncated text's end), else None."""

    vectors: np.ndarray
    spans: np.ndarray | None = None


class Executor(Protocol):
    """Runs the embed stage of a build."""

    def embed(self, job: EmbedJob, progress: Progress | None = None) -> Embedded:
        """The job's vectors (`Embedded`). `progress(done, total)` is called as chunks come
        back."""
        ...

    def describe(self) -> JSONObject:
        """What the manifest records about the executor that built it (informational)."""
        ...


class LocalExecutor:
    """The embedder of this process, in one batched pass."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    def embed(self, job: EmbedJob, progress: Progress | None = None) -> Embedded:
        if job.spans is not None and isinstance(self.embedder, SpanEmbedder):
            return Embedded(*self.embedder.encode_spans(job.texts, job.spans, progress=progress))
        return Embedded(self.embedder.encode(job.texts, progress=progress))

    def describe(self) -> JSONObject:
        return {"name": LOCAL}


class RayExecutor:
    """Embeds on a running Ray cluster with Ray Data (`pip install 'qa[scale]'`).

    Args:
        address: the cluster's address, "HEAD:6379" (what `ray start --head` prints).
        actors: how many model actors to run (default: one per CPU of the cluster).
        batch_size: chunks per batch (a retried batch re-embeds this many).
        connect_timeout: seconds to wait for the head node's port to answer, and then for
            Ray to connect (six times as long), before giving up.
        start_timeout: seconds to wait for every actor to start (a cluster without room for
            them fails then, rather than waiting for ever).
    """

    def __init__(self, address: str, *, actors: int | None = None, batch_size: int = 16,
                 connect_timeout: float = 10.0, start_timeout: float = 300.0) -> None:
        if not address:
            raise ExecutorUnavailableError(
                "The Ray executor needs the cluster's address: add `--ray-address HEAD:6379` "
                "(start a cluster with `ray start --head`), or set ray_address in the "
                "settings file.")
        self.address = address
        self.actors = actors
        self.batch_size = batch_size
        self.connect_timeout = connect_timeout
        self.start_timeout = start_timeout
        # texts embedded on each node, by node id, of the last job of each kind ("chunks",
        # "sentences"): the manifest's record
        self.by_node: dict[str, dict[str, int]] = {}

    @property
    def chunks_by_node(self) -> dict[str, int]:
        return self.by_node.get("chunks", {})

    def describe(self) -> JSONObject:
        return {"name": RAY, "address": self.address,
                **{f"{what}_by_node": dict(nodes) for what, nodes in self.by_node.items()}}

    def embed(self, job: EmbedJob, progress: Progress | None = None) -> Embedded:
        """Run the job on the cluster; raises ExecutorUnavailableError (the index is then
        unchanged) when ray is missing, the cluster cannot be reached or the job fails."""
        ray = _import_ray()
        total = len(job.texts)
        if total == 0:
            return Embedded(np.zeros((0, 0), np.float32))
        unique = _unique_by_id(job)
        self._check_reachable()
        ray_was_up = ray.is_initialized()
        try:
            if not ray_was_up:
                self._connect(ray)
            vectors, pooled, nodes = self._run(ray, job, unique, progress)
        except ExecutorUnavailableError:
            raise
        except Exception as exc:  # ray's own errors (a failed task, a lost cluster...)
            raise ExecutorUnavailableError(
                f"The Ray job at {self.address} failed ({_reason(exc)}); the index is "
                "unchanged. Check `ray status` on the head node, then run `qa index "
                "--executor ray` again (or leave out --executor to embed here).") from None
        finally:
            if not ray_was_up:
                with contextlib.suppress(Exception):
                    ray.shutdown()
        self.by_node[job.what] = nodes
        index_of = {chunk_id: n for n, chunk_id in enumerate(unique)}
        positions = np.fromiter((index_of[int(i)] for i in job.ids), np.int64, total)
        if pooled is None:
            return Embedded(vectors[positions])
        return Embedded(vectors[positions], np.concatenate(
            [pooled[n] for n in positions.tolist()]).reshape(-1, vectors.shape[1]))

    def _connect(self, ray: ModuleType) -> None:
        """ray.init, bounded in time: at a port that answers but is not a Ray head node (the
        dashboard's 8265, say) it would retry for minutes. Its thread is left behind then;
        the build fails and the process ends."""
        failure: list[BaseException] = []

        def connect() -> None:
            try:
                ray.init(address=self.address, logging_level=logging.ERROR,
                         log_to_driver=False)
            except BaseException as exc:  # handed to the caller's thread
                failure.append(exc)

        thread = threading.Thread(target=connect, name="qa-ray-connect", daemon=True)
        thread.start()
        thread.join(6 * self.connect_timeout)
        if thread.is_alive():
            raise ExecutorUnavailableError(
                f"{self.address} answers, but no Ray cluster connected there within "
                f"{6 * self.connect_timeout:.0f} s; the index is unchanged. Give the head "
                "node's GCS address as `ray start --head` printed it (port 6379 unless "
                "--port said otherwise), then run `qa index --executor ray` again.")
        if failure:
            raise failure[0]

    def _check_reachable(self) -> None:
        """Fail in seconds on a wrong address: ray.init itself retries for minutes."""
        host, _, port = self.address.rpartition(":")
        if not host or not port.isdigit() or "://" in self.address:
            raise ExecutorUnavailableError(
                f"--ray-address {self.address!r} is not HOST:PORT. Give the head node's "
                "address as `ray start --head` printed it, e.g. --ray-address 10.0.0.5:6379.")
        try:
            with socket.create_connection((host.strip("[]"), int(port)),
                                          timeout=self.connect_timeout):
                pass
        except OSError as exc:
            raise ExecutorUnavailableError(
                f"No Ray cluster answers at {self.address} ({exc.strerror or exc}); the index "
                "is unchanged. Start one with `ray start --head --port "
                f"{port}` (and `ray start --address {self.address}` on the other machines), "
                "or check --ray-address.") from None

    def _run(self, ray: ModuleType, job: EmbedJob, unique: dict[int, int],
             progress: Progress | None,
             ) -> tuple[np.ndarray, list[np.ndarray] | None, dict[str, int]]:
        """The vectors of the unique texts, their spans' vectors (None when not asked for or
        the actors cannot pool), and how many texts each node embedded."""
        import ray.data

        logging.getLogger("ray.data").setLevel(logging.ERROR)  # its notes are not the user's
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False  # qa prints its own progress lines
        context.print_on_execution_start = False
        # Batches go out once every actor has its model: each node gets its share from the
        # start, and a pool that cannot start fails in bounded time.
        context.wait_for_min_actors_s = max(1, int(self.start_timeout))
        ids = np.fromiter(unique, np.int64, len(unique))
        texts = [job.texts[row] for row in unique.values()]
        actors = self.actors or max(1, int(ray.cluster_resources().get("CPU", 1)))
        # A small job still gives every actor a few batches.
        per_batch = max(1, min(self.batch_size, -(-len(ids) // (2 * actors))))
        # Each batch is one block of its own, made here with its chunk ids: a block is what
        # Ray Data hands a task (batch_size=None), so blocks are never bundled together or
        # split, and a batch sent again after a node died holds the same ids.
        import pyarrow as pa  # a dependency of ray[data]

        # A text's spans travel as the bytes of an int64 (k, 2) array, its pooled vectors
        # as those of a float32 (k, dim) one: rows of one column may differ in length.
        spans = [np.asarray(job.spans[row], np.int64).reshape(-1, 2).tobytes()
                 for row in unique.values()] if job.spans is not None else None
        dataset = ray.data.from_arrow([
            pa.table({"id": ids[at:at + per_batch], "text": texts[at:at + per_batch],
                      **({"spans": spans[at:at + per_batch]} if spans is not None else {})})
            for at in range(0, len(ids), per_batch)])
        # Ray Data restarts an actor whose node died, wherever there is room, and sends its
        # batch again (max_restarts=-1, max_task_retries=-1 are its defaults for actor pools;
        # naming them again is deprecated in Ray 2.60).
        embedded = dataset.map_batches(
            _EmbedActor,
            fn_constructor_kwargs={"model": job.model, "backend": job.backend},
            batch_size=None,
            batch_format="numpy",
            # One batch at a time per actor: batches go to whichever actor is free, and a
            # node that dies holds up one batch only.
            compute=ray.data.ActorPoolStrategy(size=actors, max_tasks_in_flight_per_actor=1),
            num_cpus=1,
        )
        row_of = {int(i): n for n, i in enumerate(ids)}
        vectors: np.ndarray | None = None
        pooled: list[np.ndarray] | None = [np.zeros(0, np.float32)] * len(ids) \
            if spans is not None else None
        done = np.zeros(len(ids), bool)
        nodes: dict[str, int] = {}
        if progress:
            progress(0, len(job.texts))
        for out in embedded.iter_batches(batch_size=None, batch_format="numpy"):
            rows = np.fromiter((row_of[int(i)] for i in out["id"]), np.int64, len(out["id"]))
            if vectors is None:
                vectors = np.zeros((len(ids), out["vector"].shape[1]), np.float32)
            vectors[rows] = out["vector"]
            if pooled is not None:
                if "pooled" not in out:  # the actors' embedder cannot pool
                    pooled = None
                else:
                    for row, data in zip(rows.tolist(), out["pooled"]):
                        pooled[row] = np.frombuffer(data, np.float32)
            done[rows] = True
            for node in out["node"]:
                nodes[str(node)] = nodes.get(str(node), 0) + 1
            if progress:
                progress(int(done.sum()) * len(job.texts) // len(ids), len(job.texts))
        if vectors is None or not done.all():
            missing = len(ids) - int(done.sum())
            raise ExecutorUnavailableError(
                f"The Ray job at {self.address} returned no vectors for {missing} of "
                f"{len(ids)} chunks; the index is unchanged. Run `qa index --executor ray` "
                "again.")
        return vectors, pooled, nodes


class _EmbedActor:
    """One model on one CPU: loaded once when the actor starts, then fed batches."""

    def __init__(self, model: str, backend: str) -> None:
        import ray

        self.node = ray.get_runtime_context().get_node_id()
        if backend == "torch":
            import torch  # one inference thread per actor: Ray gives the actor one CPU

            torch.set_num_threads(1)
        self.embedder = build_embedder(model, backend, threads=1)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        texts = [str(t) for t in batch["text"]]
        extra: dict[str, np.ndarray] = {}
        if "spans" in batch and isinstance(self.embedder, SpanEmbedder):
            spans = [[(int(a), int(b)) for a, b in np.frombuffer(data, np.int64).reshape(-1, 2)]
                     for data in batch["spans"]]
            vectors, pooled = self.embedder.encode_spans(texts, spans, batch_size=len(texts))
            first = np.cumsum([0] + [len(s) for s in spans])
            extra["pooled"] = np.array([pooled[first[i]:first[i + 1]].astype(np.float32).tobytes()
                                        for i in range(len(texts))], dtype=object)
        else:
            vectors = self.embedder.encode(texts, batch_size=len(texts))
        return {"id": batch["id"], "vector": np.asarray(vectors, np.float32),
                "node": np.full(len(texts), self.node), **extra}


def make_executor(kind: str | None, ray_address: str | None = None) -> Executor | None:
    """The executor `qa index --executor KIND` asks for; None for the local one (the build
    then wraps its own embedder)."""
    if kind in (None, "", LOCAL):
        return None
    if kind == RAY:
        _import_ray()
        return RayExecutor(ray_address or "")
    raise ExecutorUnavailableError(f"Unknown executor {kind!r}; use one of {', '.join(EXECUTORS)}.")


def _import_ray() -> Any:
    try:
        import ray
        import ray.data  # noqa: F401  (Ray Data is its own extra of ray)
    except ImportError:
        raise ExecutorUnavailableError(
            "The Ray executor needs ray[data], which is not installed. Run "
            f"`{_INSTALL}` (here and on every node of the cluster), or leave out "
            "--executor to embed on this machine.") from None
    return ray


def _unique_by_id(job: EmbedJob) -> dict[int, int]:
    """Each chunk id once, with the row of its first text: ids are derived from content, so
    a repeated id is a repeated text, embedded once."""
    if len(job.ids) != len(job.texts):
        raise ValueError(f"{len(job.ids)} chunk ids for {len(job.texts)} texts")
    first: dict[int, int] = {}
    for row, chunk_id in enumerate(job.ids.tolist()):
        first.setdefault(int(chunk_id), row)
    return first


def _reason(exc: BaseException) -> str:
    """Why a Ray job failed, in a line: qa's own error on a node (a model that cannot load
    there names its fix) when there is one inside Ray's wrapping, else Ray's first line."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, QAError):
            return str(cause)
        cause = getattr(cause, "cause", None) or cause.__cause__
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]
