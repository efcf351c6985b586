"""Embedders: text -> L2-normalised float32 vectors.

`SentenceTransformerEmbedder` loads its model on first use: importing sentence-transformers
costs ~6 s here, so nothing imports it until a vector is really needed (and the chat does
that in a worker after the screen is up).
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from .. import config
from ..errors import ModelUnavailableError

Progress = Callable[[int, int], None]


@runtime_checkable
class Embedder(Protocol):
    """What the index needs from an embedding model."""

    name: str  # recorded in the manifest; an index only opens with the same model

    @property
    def dim(self) -> int: ...

    def encode(
        self, texts: Sequence[str], *, batch_size: int = 32, progress: Progress | None = None
    ) -> np.ndarray: ...


def normalize_rows(vectors: np.ndarray) -> np.ndarray:
    """L2-normalise each row (zero rows stay zero) as contiguous float32."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return vectors / norms


def length_sorted_batches(texts: Sequence[str], batch_size: int) -> list[list[int]]:
    """Group indices of similar length together: padding to the longest text in a batch is
    what costs time, so sorted batches embed markedly faster than corpus order."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


class SentenceTransformerEmbedder:
    """A sentence-transformers model, loaded lazily and thread-safely."""

    def __init__(self, name: str | None = None, *, device: str = "cpu") -> None:
        self.name = config.model_name(name)
        self._device = device
        self._model = None
        self._dim: int | None = None
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def load(self) -> None:
        """Load the model now. Raises ModelUnavailableError with the reason."""
        with self._lock:
            if self._model is not None:
                return
            try:
                # Costs ~6 s (torch + transformers): only ever done on first use.
                from sentence_transformers import SentenceTransformer

                model = SentenceTransformer(
                    config.resolve_model_path(self.name), device=self._device
                )
            except Exception as exc:  # ImportError, OSError, bad weights...: all mean "no model"
                raise ModelUnavailableError(
                    f"The embedding model {self.name!r} could not be loaded "
                    f"({type(exc).__name__}: {exc}). Search falls back to BM25. "
                    "Reinstall with `make install`, or set QA_MODEL to a local model path."
                ) from exc
            getdim = getattr(model, "get_embedding_dimension", None) or (
                model.get_sentence_embedding_dimension
            )
            self._dim = int(getdim())
            self._model = model

    @property
    def dim(self) -> int:
        if self._dim is None:
            self.load()
        assert self._dim is not None
        return self._dim

    def encode(
        self, texts: Sequence[str], *, batch_size: int = 32, progress: Progress | None = None
    ) -> np.ndarray:
        """Embed texts (L2-normalised float32, one row per text, in input order)."""
        self.load()
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        done = 0
        for batch in length_sorted_batches(texts, batch_size):
            vecs = self._model.encode(  # type: ignore[union-attr]
                [texts[i] for i in batch],
                batch_size=len(batch),
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
            out[batch] = vecs
            done += len(batch)
            if progress:
                progress(done, len(texts))
        return normalize_rows(out)


BACKENDS = ("torch", "onnx", "onnx-int8", "openvino", "openvino-int8")


def default_backend(name: str | None = None) -> str:
    """The build backend when none is chosen: the fastest of the candidates measured on this
    machine (`qa.embed.calibrate.choose_backend`; measured once, then cached per CPU and library
    versions), "torch" when nothing else can run."""
    from .calibrate import choose_backend

    return choose_backend(config.model_name(name)).backend


def _installed(package: str) -> bool:
    """Whether `package` can be imported, checked without importing it."""
    import importlib.util

    try:
        return importlib.util.find_spec(package) is not None
    except (ImportError, ValueError):
        return False


def default_embedder(name: str | None = None) -> Embedder:
    """The sentence-transformers embedder on torch: the "torch" build backend."""
    return SentenceTransformerEmbedder(name)


def backend_of(embedder: Embedder) -> str:
    """Which runtime an embedder uses, as recorded in the manifest ("torch" for others)."""
    declared = getattr(embedder, "backend", None)
    if declared in BACKENDS:
        return str(declared)
    cfg = getattr(embedder, "config", None)
    if cfg is not None and hasattr(cfg, "quantized"):
        return "onnx-int8" if cfg.quantized else "onnx"
    return "torch"


def build_embedder(name: str | None, backend: str | None, *,
                   threads: int | None = None) -> Embedder:
    """The embedder for a build: `backend` (or $QA_BUILD_BACKEND, else `default_backend()`)
    picks the runtime.

    "torch" is sentence-transformers itself; "onnx" runs the same weights with onnxruntime
    (identical vectors); "onnx-int8" uses dynamically quantised weights (vectors at cosine
    ~0.99 of fp32); "openvino" runs the fp32 export with OpenVINO, in bf16 on CPUs with
    native bf16 (2.45x there, cosine >= 0.9999; ~1x elsewhere); "openvino-int8" runs an NNCF
    int8 quantisation of it (for CPUs without bf16; cosine >= 0.99 to fp32 on news chunks,
    tested; ~1.2x OpenVINO fp32 here). See docs/benchmarks.md. Queries of every index but an
    "onnx-int8" one use the onnxruntime fp32 export.

    `threads` caps the inference threads of the onnx and openvino runtimes (None: every
    core); a Ray actor given one CPU runs one (qa.build.executors).

    Raises:
        QueryError: unknown backend name.
        ModelUnavailableError: "openvino" without the openvino package, "openvino-int8"
            without it or nncf.
    """
    backend = backend or os.environ.get("QA_BUILD_BACKEND") or default_backend(name)
    if backend not in BACKENDS:
        from ..errors import QueryError

        raise QueryError(f"Unknown embedding backend {backend!r}; use one of {', '.join(BACKENDS)}.")
    name = config.model_name(name)
    if backend == "torch":
        return SentenceTransformerEmbedder(name)
    if backend in ("openvino", "openvino-int8"):
        from .onnx import OpenVinoEmbedder

        for package in ("openvino", "nncf") if backend == "openvino-int8" else ("openvino",):
            if not _installed(package):  # fail before the corpus is read, not mid-build
                raise ModelUnavailableError(
                    f"The {backend} build backend needs the {package} package, which is not "
                    f"installed. Run `pip install {package}`, or use --backend torch."
                )
        if backend == "openvino-int8":
            return OpenVinoEmbedder(_cached_openvino_int8(name), threads=threads)
        return OpenVinoEmbedder(_cached_export(name, quantize=False), threads=threads)
    from .onnx import OnnxEmbedder

    return OnnxEmbedder(_cached_export(name, quantize=backend == "onnx-int8"), threads=threads)


# --- the fast query path ------------------------------------------------------------------
ONNX_PREFIX = "onnx-"


def query_model_dir(index_dir: Path, name: str, *, quantize: bool = False) -> Path:
    """Where the ONNX export of model `name` lives beside an index.

    One folder per model name (and precision), written once and never replaced, so a reader
    that found it can always load it (a model name always means the same weights).
    """
    slug = re.sub(r"[^a-z0-9]+", "-", name.casefold()).strip("-")[:60] or "model"
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return index_dir / f"{ONNX_PREFIX}{slug}-{digest}{'-int8' if quantize else ''}"


def _export_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "qa" / "onnx"


def _cached_export(name: str, *, quantize: bool = False) -> Path:
    """The machine-wide ONNX export of `name`, made on first use (needs torch, ~10 s).

    Its files are made read-only: indexes hard-link them, so a write through one index's
    link must fail rather than damage every other index's model."""
    import shutil

    from .onnx import export_onnx

    cached = query_model_dir(_export_cache(), name, quantize=quantize)
    if not _valid_export(cached, name):
        # The cache is qa's own folder: a broken export there, or the leftovers of a killed
        # one (".<name>.tmp-*"), are removed before exporting again.
        shutil.rmtree(cached, ignore_errors=True)
        if cached.parent.is_dir():
            for stale in cached.parent.glob(f".{cached.name}.tmp-*"):
                shutil.rmtree(stale, ignore_errors=True)
        export_onnx(name, cached, quantize=quantize)
        for f in cached.iterdir():
            f.chmod(0o444)
    return cached


def _cached_openvino_int8(name: str) -> Path:
    """The machine-wide NNCF int8 quantisation of `name`'s fp32 export, made on first use
    (~30-60 s: the fp32 model is run on the 64 news chunks of qa/embed/calibration_text.jsonl).
    Read-only, like the exports."""
    import shutil

    from .calibrate import calibration_texts
    from .onnx import OV_INT8_RECIPE, quantize_openvino_int8

    fp32 = query_model_dir(_export_cache(), name, quantize=False)
    cached = fp32.with_name(f"{fp32.name}-ov-int8-{OV_INT8_RECIPE}")
    if not _valid_export(cached, name):
        shutil.rmtree(cached, ignore_errors=True)
        for stale in cached.parent.glob(f".{cached.name}.tmp-*"):
            shutil.rmtree(stale, ignore_errors=True)
        quantize_openvino_int8(_cached_export(name), cached, calibration_texts(64))
        for f in cached.iterdir():
            f.chmod(0o444)
    return cached


def export_pending(name: str, *, quantize: bool = False, index_dir: Path | None = None) -> bool:
    """Whether using model `name` (beside `index_dir`, when given) first needs the one-time ONNX
    export (~10-40 s, most of a first run): builds say so before they start it."""
    if index_dir is not None and _valid_export(query_model_dir(index_dir, name, quantize=quantize), name):
        return False
    return not _valid_export(query_model_dir(_export_cache(), name, quantize=quantize), name)


def ensure_query_model(index_dir: Path, name: str, *, quantize: bool = False) -> Path:
    """Export model `name` to ONNX beside the index unless that is already done.

    The export is made once per machine in ~/.cache/qa/onnx and linked (or copied) into each
    index that uses the model; the folder is marked as the index's (`mark_generation`).

    Raises:
        ModelUnavailableError: the export failed, or a folder qa did not make is in the way.
        OSError: copying into the index failed (disk full, read-only folder).
    """
    import shutil

    from ..index.ownership import index_id, is_marked, mark_generation
    from .onnx import OnnxConfig, export_onnx

    owner = index_id(index_dir)
    target = query_model_dir(index_dir, name, quantize=quantize)
    # Checked whole (~0.1 s: the model's SHA-256, the tokenizer parsed): a damaged copy is
    # replaced, so `qa index` repairs what `qa index --check` finds here.
    if _valid_export(target, name, thorough=True):
        return target
    if target.exists() or target.is_symlink():
        if owner is None or not is_marked(target, owner):
            raise ModelUnavailableError(
                f"{target} is in the way and qa did not make it; move it elsewhere, then run "
                "`qa index` again")
        shutil.rmtree(target, ignore_errors=True)  # a broken copy of qa's own
    try:
        cached = _cached_export(name, quantize=quantize)
    except OSError:  # no writable cache: export straight into the index
        return export_onnx(name, target, quantize=quantize)
    tmp = target.with_name(f"{target.name}.tmp-{os.getpid()}")
    if tmp.exists() and owner is not None and is_marked(tmp, owner):
        shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        if owner is not None:
            mark_generation(tmp, owner)
        # config.json last: a folder without it is never used.
        files = sorted(cached.iterdir(), key=lambda f: f.name == "config.json")
        for f in files:
            try:
                os.link(f, tmp / f.name)
            except OSError:
                shutil.copy2(f, tmp / f.name)
                os.chmod(tmp / f.name, 0o444)
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    OnnxConfig.read(target)
    return target


def _valid_export(folder: Path, name: str, *, thorough: bool = False) -> bool:
    """Whether `folder` holds a usable export of model `name`: its config, a model file of
    the recorded size and a tokenizer, all regular files; `thorough`: also the model's
    SHA-256 and a tokenizer that parses (qa.embed.onnx.export_problems)."""
    from .onnx import TOKENIZER_FILE, OnnxConfig, export_problems
    from ..regular_files import is_regular

    if thorough:
        return (folder / "config.json").exists() and not export_problems(folder, name=name)
    try:
        cfg = OnnxConfig.read(folder)
    except ModelUnavailableError:
        return False
    model = folder / cfg.onnx_file
    return (cfg.source_model == name and is_regular(model)
            and model.stat().st_size == cfg.onnx_bytes and is_regular(folder / TOKENIZER_FILE))


def query_model_problems(index_dir: Path, name: str, *, quantize: bool = False) -> list[str]:
    """What is wrong with the query model exported beside an index (`qa index --check`), one
    line each; empty when it is sound or there is none (queries then load the model itself)."""
    from .onnx import export_problems

    folder = query_model_dir(index_dir, name, quantize=quantize)
    if not (folder.exists() or folder.is_symlink()):
        return []
    if folder.is_symlink() or not folder.is_dir():
        return [f"{folder} is not a folder qa made"]
    return export_problems(folder, name=name)


def fast_query_embedder(index_dir: Path, name: str, *, quantize: bool = False) -> Embedder | None:
    """The torch-free ONNX embedder for model `name`, if it was exported beside the index."""
    target = query_model_dir(index_dir, name, quantize=quantize)
    if not (target / "config.json").exists():
        return None
    try:
        from .onnx import OnnxEmbedder

        embedder = OnnxEmbedder(target)
    except ModelUnavailableError:
        return None
    return embedder if embedder.name == name else None
