"""Embedders: text -> L2-normalised float32 vectors.

`SentenceTransformerEmbedder` loads its model on first use: importing sentence-transformers
costs ~6 s here, so nothing imports it until a vector is really needed (and the chat does
that in a worker after the screen is up).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from .. import config
from ..errors import ModelUnavailableError
from ..types import Span
from .batching import length_sorted_batches
from .pooling import SpanRows, pool_spans

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


    def encode_spans(
        self, texts: Sequence[str], spans: Sequence[Sequence[Span]], *,
        batch_size: int = 32, progress: Progress | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """`encode`, and each character span's vector pooled from the same pass
        (qa.embed.pooling)."""
        self.load()
        model = self._model
        assert model is not None  # load() set it or raised
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        pooled = SpanRows(spans, self.dim)
        done = 0
        for batch in length_sorted_batches(texts, batch_size):
            chosen = [texts[i] for i in batch]
            # The model's own tokenizer and truncation: the word pieces `encode` runs.
            marks = model.tokenizer(chosen, return_offsets_mapping=True, truncation=True,
                                    max_length=model.max_seq_length)["offset_mapping"]
            results = model.encode(chosen, batch_size=len(chosen), output_value=None,
                                   convert_to_numpy=False, show_progress_bar=False)
            for row, i in enumerate(batch):
                out[i] = results[row]["sentence_embedding"].float().numpy()
                if spans[i]:
                    states = results[row]["token_embeddings"].float().numpy()
                    pooled.put(i, pool_spans(states[:len(marks[row])], marks[row], spans[i]))
            done += len(batch)
            if progress:
                progress(done, len(texts))
        return normalize_rows(out), pooled.rows


BACKENDS = ("torch", "onnx", "onnx-int8", "openvino", "openvino-int8")


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


def runtime_embedder(name: str | None, backend: str, *, threads: int | None = None) -> Embedder:
    """The embedder of one runtime (`qa.embed.calibrate.build_embedder` picks the runtime when
    none is named).

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
    if backend not in BACKENDS:
        from ..errors import QueryError

        raise QueryError(f"Unknown embedding backend {backend!r}; use one of {', '.join(BACKENDS)}.")
    name = config.model_name(name)
    if backend == "torch":
        return SentenceTransformerEmbedder(name)
    if backend in ("openvino", "openvino-int8"):
        from .exports import cached_export, cached_openvino_int8
        from .openvino import OpenVinoEmbedder

        for package in ("openvino", "nncf") if backend == "openvino-int8" else ("openvino",):
            if not _installed(package):  # fail before the corpus is read, not mid-build
                raise ModelUnavailableError(
                    f"The {backend} build backend needs the {package} package, which is not "
                    f"installed. Run `pip install {package}`, or use --runtime torch."
                )
        if backend == "openvino-int8":
            return OpenVinoEmbedder(cached_openvino_int8(name), threads=threads)
        return OpenVinoEmbedder(cached_export(name, quantize=False), threads=threads)
    from .exports import cached_export
    from .onnx import OnnxEmbedder

    return OnnxEmbedder(cached_export(name, quantize=backend == "onnx-int8"), threads=threads)
