"""Which build backend to use on this machine: measured here once, then remembered.

The fastest way to embed chunks depends on the CPU, not on which packages are installed: on
a CPU with native bf16 (AVX512_BF16 or AMX) OpenVINO in bf16 was 2.45x plain
sentence-transformers, while on CPUs without it the same backend runs in fp32 at about 1x, and
int8 (VNNI where the CPU has it) is what pays. So the first build that needs a default times
each candidate backend on a few batches of news chunks (`qa/embed/calibration_text.jsonl`:
invented news written for qa, shaped like a build's chunks; no corpus's text), interleaved
and best of two rounds (the cores may be shared), and keeps the fastest. The
choice is cached in `$XDG_CACHE_HOME/qa/backend.json`, keyed by the CPU model, its flags and
the versions of the libraries that run the models, so a new CPU or an upgraded runtime
measures again. `qa index --runtime` and the `runtime` setting (`$QA_RUNTIME`) still override
it.

Candidates are the backends whose vectors are checked against fp32 (docs/benchmarks.md, *Build
backends*): "onnx" (fp32, the same vectors as torch; always there), "openvino" (fp32, or bf16
where native) and "openvino-int8" (NNCF int8 when nncf is installed too; cosine >= 0.99 to
fp32 on news chunks, tested; SciFact hybrid nDCG@10 0.7280 against 0.7283 for the fp32
build, within issue 16's 0.005). "torch" gives the same vectors as "onnx" at the same speed
and loads slower; "onnx-int8" falls below cosine 0.99 on news chunks: neither is a candidate.
An int8 backend must beat the best fp32/bf16 one by `INT8_MARGIN` to be chosen.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import platform
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .. import config
from ..errors import ModelUnavailableError
from ..types import JSONObject
from .embedder import Embedder, runtime_embedder
from .exports import calibration_texts, ov_int8_recipe

CACHE_VERSION = 1
CANDIDATES = ("onnx", "openvino", "openvino-int8")
# An int8 backend's vectors are close to fp32's, not equal: it must be clearly faster.
INT8_MARGIN = 1.15
ROUNDS = 2
SAMPLE = 32  # calibration texts timed per backend and round (two batches of 16)
# CPU flags that decide which kernels the runtimes can use.
FLAGS = ("avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx_vnni",
         "avx512_bf16", "amx_tile", "amx_bf16", "amx_int8")
_LIBRARIES = ("onnxruntime", "openvino", "nncf")

Measure = Callable[[Sequence[str], Sequence[str]], tuple[dict[str, float], dict[str, str]]]


@dataclass(frozen=True)
class Cpu:
    """The processor as the runtimes see it."""

    model: str
    flags: tuple[str, ...]  # those of `FLAGS` it has

    def describe(self) -> str:
        """One line: model, then the flags that matter, naming bf16/AMX/VNNI when absent."""
        missing = [f for f in ("avx512_vnni", "avx512_bf16", "amx_bf16") if f not in self.flags]
        text = f"{self.model}; {' '.join(self.flags) or 'no AVX2'}"
        return text + (f" (no {', no '.join(missing)})" if missing else "")


@dataclass(frozen=True)
class Choice:
    """The build backend chosen for this machine, and why."""

    backend: str
    reason: str
    chunks_per_s: dict[str, float] = field(default_factory=dict)  # best round per backend
    failed: dict[str, str] = field(default_factory=dict)  # backends that could not run, why
    measured_at: str = ""


def cpu() -> Cpu:
    """This machine's CPU model and flags (Linux /proc/cpuinfo; the platform name elsewhere)."""
    model: str | None = None
    flags: set[str] = set()
    with contextlib.suppress(OSError):
        # The first processor's block: its "model name" comes before its "flags".
        for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and model is None:
                model = value.strip()
            elif key.strip() == "flags":
                flags = set(value.split())
                break
    model = model or platform.processor() or platform.machine() or "unknown CPU"
    return Cpu(model=model, flags=tuple(f for f in FLAGS if f in flags))


def cache_file() -> Path:
    """`$XDG_CACHE_HOME/qa/backend.json`, else `~/.cache/qa/backend.json`."""
    return config.cache_dir() / "backend.json"


def machine_key(model: str) -> str:
    """What a measurement holds for: CPU model and flags, core count, library versions, the
    int8 recipe and the candidates measured."""
    here = cpu()
    versions = {}
    for lib in _LIBRARIES:
        try:
            versions[lib] = importlib.metadata.version(lib)
        except importlib.metadata.PackageNotFoundError:
            versions[lib] = None
    raw = json.dumps([CACHE_VERSION, model, here.model, here.flags, os.cpu_count(), versions,
                      ov_int8_recipe(), candidates()])
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def candidates() -> tuple[str, ...]:
    """The candidate backends whose packages are installed (checked without importing)."""
    def installed(name: str) -> bool:
        try:
            return importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            return False

    found = ["onnx"]
    if installed("openvino"):
        found.append("openvino")
        if installed("nncf"):  # quantises the export; the int8 model then runs on openvino
            found.append("openvino-int8")
    return tuple(found)


def cached_choice(model: str) -> Choice | None:
    """The choice measured earlier on this machine with these libraries, or None."""
    entry = _read_cache().get(machine_key(model))
    if not isinstance(entry, dict):
        return None
    try:
        choice = Choice(**entry)
    except TypeError:
        return None
    return choice if isinstance(choice.backend, str) else None


_memo: dict[str, Choice] = {}
_memo_lock = threading.Lock()


def choose_backend(model: str, *, measure: Measure | None = None) -> Choice:
    """The build backend for `model` on this machine: cached, else measured now and cached.

    The first call on a machine takes the one-time model exports (ONNX ~10-40 s, int8
    quantisation ~30-60 s; both are needed by the chosen backend anyway) and ~10 s of timing.

    Args:
        model: the embedding model's name, as recorded in manifests.
        measure: (backends, texts) -> (chunks/s per backend, why each failed one failed);
            default `measure_backends`. Tests pass a stand-in.

    Returns:
        The `Choice`; its `reason` says how it was made.
    """
    key = machine_key(model)
    with _memo_lock:
        if key in _memo:
            return _memo[key]
        choice = cached_choice(model)
        if choice is None:
            found = candidates()
            if len(found) == 1:  # nothing to compare: no need to load anything
                return Choice(found[0], "the only candidate backend installed (no openvino)")
            speeds, failed = (measure or _measure_model(model))(found, calibration_texts(SAMPLE))
            choice = decide(speeds, failed)
            _write_cache(key, choice)
        _memo[key] = choice
        return choice


def decide(speeds: dict[str, float], failed: dict[str, str] | None = None) -> Choice:
    """Pick from measured chunks/s: the fastest, but int8 only by `INT8_MARGIN` over the best
    fp32/bf16 backend; "torch" when nothing ran."""
    failed = dict(failed or {})
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    if not speeds:
        return Choice("torch", "no candidate backend ran; sentence-transformers",
                      {}, failed, now)
    exact = {b: s for b, s in speeds.items() if "int8" not in b}
    best = max(speeds, key=speeds.__getitem__)
    if "int8" in best and exact:
        best_exact = max(exact, key=exact.__getitem__)
        if speeds[best] < INT8_MARGIN * speeds[best_exact]:
            best = best_exact
    figures = ", ".join(f"{b} {s:.1f}" for b, s in sorted(speeds.items(), key=lambda x: -x[1]))
    reason = f"fastest measured on this CPU ({cpu().describe()}): {figures} chunks/s"
    return Choice(best, reason, {b: round(s, 2) for b, s in speeds.items()}, failed, now)


def _measure_model(model: str) -> Measure:
    return lambda backends, texts: measure_backends(backends, texts, model=model)


def measure_backends(backends: Sequence[str], texts: Sequence[str], *,
                     model: str | None = None, rounds: int = ROUNDS
                     ) -> tuple[dict[str, float], dict[str, str]]:
    """Chunks/s of each backend on `texts`: loaded and warmed up first, then timed in rounds
    of rotating order, keeping each one's best round (another process on a shared core only
    ever slows a round down). A backend that cannot load is left out, with the reason."""
    embedders: JSONObject = {}
    failed: dict[str, str] = {}
    for backend in backends:
        try:
            embedder = runtime_embedder(model, backend)
            embedder.encode(texts[:2])
            embedders[backend] = embedder
        except ModelUnavailableError as exc:
            failed[backend] = str(exc)
    best: dict[str, float] = {}
    names = list(embedders)
    for r in range(rounds):
        for backend in names[r % max(len(names), 1):] + names[: r % max(len(names), 1)]:
            start = time.perf_counter()
            embedders[backend].encode(texts, batch_size=16)
            speed = len(texts) / max(time.perf_counter() - start, 1e-9)
            best[backend] = max(best.get(backend, 0.0), speed)
    return best, failed


def _read_cache() -> JSONObject:
    try:
        from ..regular_files import read_regular

        data = json.loads(read_regular(cache_file(), limit=1 << 20).decode("utf-8"))
    except (OSError, ValueError, RecursionError):  # not a regular file, too big, not JSON
        return {}
    if not isinstance(data, dict) or data.get("version") != CACHE_VERSION:
        return {}
    entries = data.get("machines")
    return entries if isinstance(entries, dict) else {}


def _write_cache(key: str, choice: Choice) -> None:
    """Add this machine's entry (others stay: a home folder may be shared by several
    machines); written to a temporary file and renamed. An unwritable cache is not an
    error: the next process measures again."""
    path = cache_file()
    entries = _read_cache()
    entries[key] = asdict(choice)
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".backend-", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump({"version": CACHE_VERSION, "machines": entries}, fh, indent=2)
            os.replace(tmp, path)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def default_backend(name: str | None = None) -> str:
    """The build backend when none is chosen: the fastest of the candidates measured on this
    machine (`choose_backend`; measured once, then cached per CPU and library versions),
    "torch" when nothing else can run."""
    return choose_backend(config.model_name(name)).backend


def build_embedder(name: str | None, backend: str | None, *,
                   threads: int | None = None) -> Embedder:
    """The embedder for a build: `backend`, else the `runtime` setting (`$QA_RUNTIME`), else
    the fastest runtime measured on this machine (`default_backend`). See `qa.embed.embedder.runtime_embedder`.

    Raises:
        QueryError: unknown backend name.
        ModelUnavailableError: the runtime's package is missing.
    """
    chosen = backend or config.embedding_runtime() or default_backend(name)
    return runtime_embedder(name, chosen, threads=threads)
