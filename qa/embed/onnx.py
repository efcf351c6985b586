"""The fast embedding path: the sentence-transformers model exported to ONNX.

Querying must not import torch: `import sentence_transformers` alone costs ~6 s here, while
onnxruntime + `tokenizers` load the same model in well under a second. So the model is
exported once, at build time (`export_onnx`, which does need torch), into a folder beside the
index, and `OnnxEmbedder` runs it with onnxruntime only.

The exported graph is the whole sentence-transformers pipeline for a BERT-style model with
mean pooling: BertModel -> mean over the attention mask -> L2 normalisation, so its vectors
match `SentenceTransformer.encode(normalize_embeddings=True)` (cosine >= 0.999, tested).

Folder layout written by `export_onnx`:

- `model.onnx` (or `model-int8.onnx` when quantised): inputs `input_ids`, `attention_mask`,
  `token_type_ids` (int64, batch x sequence), outputs `sentence_embedding` (float32, batch x
  dim) and `token_embeddings` (float32, batch x sequence x dim: the states a sentence's vector
  is pooled from, `encode_spans`);
- `tokenizer.json`: the model's own fast tokenizer, saved by `tokenizers`;
- `config.json`: what the runtime needs (see `OnnxConfig`), written last.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import ModelUnavailableError
from ..regular_files import read_regular
from ..types import JSONObject, Span
from .batching import spread_order
from .pooling import SpanRows, pool_batch

if TYPE_CHECKING:  # loaded on first use (see `OnnxEmbedder.load`)
    from onnxruntime import InferenceSession
    from tokenizers import Encoding, Tokenizer

Progress = Callable[[int, int], None]

FORMAT_VERSION = 2  # 2: the token_embeddings output
CONFIG_FILE = "config.json"
TOKENIZER_FILE = "tokenizer.json"
FP32_FILE = "model.onnx"
INT8_FILE = "model-int8.onnx"
OV_INT8_FILE = "model-int8.xml"  # OpenVINO IR (+ model-int8.bin): the "openvino-int8" backend
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")
OUTPUT_NAME = "sentence_embedding"
TOKENS_NAME = "token_embeddings"
# Opset 17 is supported by every onnxruntime this project allows (>= 1.18).
OPSET = 17


@dataclass(frozen=True)
class OnnxConfig:
    """The contents of `config.json` in an exported folder."""

    format_version: int
    source_model: str  # the embedder name recorded in index manifests
    dim: int
    max_length: int  # word pieces, special tokens included (sentence-transformers' max_seq_length)
    pooling: str  # always "mean" for now: the only pooling the exported graph implements
    normalize: bool  # the graph L2-normalises its output
    onnx_file: str
    quantized: bool
    onnx_sha256: str
    onnx_bytes: int
    pad_token_id: int
    tokenizer_sha256: str = ""  # exports made before it was recorded have none

    def _check(self) -> None:
        """Reject a tampered config: the model file must be a plain name inside the folder,
        and the numbers must be ones a sentence embedding model can have."""
        ints = (self.dim, self.max_length, self.onnx_bytes, self.pad_token_id)
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in ints):
            raise ValueError("a size in the config is not a whole number")
        if not (0 < self.dim <= 16384 and 0 < self.max_length <= 8192
                and 0 < self.onnx_bytes <= 1 << 34 and 0 <= self.pad_token_id < 1 << 20):
            raise ValueError(f"absurd sizes (dim {self.dim}, max_length {self.max_length})")
        name = self.onnx_file
        if not isinstance(name, str) or name in ("", ".", "..") or "/" in name or "\\" in name:
            raise ValueError(f"the model file {name!r} is not a file name inside the folder")

    @classmethod
    def read(cls, onnx_dir: Path) -> OnnxConfig:
        """Read and check `config.json`. Raises ModelUnavailableError when missing or foreign."""
        path = onnx_dir / CONFIG_FILE
        try:
            # A regular file, not through a link: a FIFO in its place would hang every query.
            raw: JSONObject = json.loads(
                read_regular(path, limit=1 << 20, follow_links=False).decode("utf-8"))
            if not isinstance(raw, dict) or raw.get("format_version") != FORMAT_VERSION:
                raise ValueError(
                    f"format version {raw.get('format_version') if isinstance(raw, dict) else None!r}"
                    f", expected {FORMAT_VERSION}"
                )
            cfg = cls(**raw)
            cfg._check()
            return cfg
        except (OSError, ValueError, TypeError, RecursionError) as exc:
            raise ModelUnavailableError(
                f"The ONNX model in {onnx_dir} is missing or unreadable ({exc}). "
                "Rebuild it with `qa index --full` (`qa index` replaces a damaged copy too)."
            ) from exc


TOKENIZER_LIMIT = 64 << 20  # bytes (all-MiniLM-L6-v2's tokenizer.json: 0.7 MB)


def export_problems(onnx_dir: Path, *, name: str | None = None) -> list[str]:
    """What is wrong with an exported model folder, one line each (empty when it is sound):
    its config, the model file (regular, of the recorded size and SHA-256) and the tokenizer
    (regular, of the recorded SHA-256 when one is recorded, and readable by `tokenizers`).
    `name`: the model it must be an export of. Reads the whole model (~90 MB)."""
    try:
        cfg = OnnxConfig.read(onnx_dir)
    except ModelUnavailableError as exc:
        return [str(exc)]
    problems = []
    if name is not None and cfg.source_model != name:
        problems.append(f"{onnx_dir} holds an export of {cfg.source_model!r}, not {name!r}")
    model = onnx_dir / cfg.onnx_file
    try:
        st = os.lstat(model)
        if not stat.S_ISREG(st.st_mode):
            problems.append(f"{model} is not a regular file")
        elif st.st_size != cfg.onnx_bytes or _sha256(model) != cfg.onnx_sha256:
            problems.append(f"{model} has changed since it was exported")
    except OSError as exc:
        problems.append(f"{model} cannot be read ({exc.strerror or exc})")
    tokenizer = onnx_dir / TOKENIZER_FILE
    try:
        data = read_regular(tokenizer, limit=TOKENIZER_LIMIT, follow_links=False)
        if cfg.tokenizer_sha256 and hashlib.sha256(data).hexdigest() != cfg.tokenizer_sha256:
            problems.append(f"{tokenizer} has changed since it was exported")
        else:
            from tokenizers import Tokenizer

            Tokenizer.from_str(data.decode("utf-8"))
    except OSError as exc:
        problems.append(f"{tokenizer} cannot be read ({exc.strerror or exc})")
    except Exception as exc:  # tokenizers raises its own Exception for a bad file
        problems.append(f"{tokenizer} is not a tokenizer ({type(exc).__name__}: {exc})")
    return problems


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()



# ---------------------------------------------------------------------------------------------
# Runtime (query and build time; onnxruntime + tokenizers only, never torch)
# ---------------------------------------------------------------------------------------------


class OnnxEmbedder:
    """Runs an `export_onnx` folder with onnxruntime; loads the session on first use.

    Thread-safe: the session is created once under a lock, and onnxruntime sessions may be
    run from several threads.
    """

    BATCH_SIZE = 32  # encode's default: texts per onnxruntime call

    def __init__(self, onnx_dir: Path, *, threads: int | None = None) -> None:
        """Read the folder's config (cheap) but not the model.

        Args:
            onnx_dir: a folder written by `export_onnx`.
            threads: onnxruntime intra-op threads; None lets onnxruntime use one per
                physical core.

        Raises:
            ModelUnavailableError: the folder has no readable config.json.
        """
        self._dir = Path(onnx_dir)
        self._threads = threads
        self.config = OnnxConfig.read(self._dir)
        self.name: str = self.config.source_model
        self._session: InferenceSession | None = None
        self._tokenizer: Tokenizer | None = None
        self._lock = threading.Lock()

    @property
    def dim(self) -> int:
        """Vector dimension (from config.json, without loading the model)."""
        return self.config.dim

    @property
    def loaded(self) -> bool:
        """Whether the session and tokenizer are loaded."""
        return self._session is not None

    def load(self) -> None:
        """Load the tokenizer and the onnxruntime session now.

        Raises:
            ModelUnavailableError: files missing, truncated or unreadable.
        """
        with self._lock:
            if self._session is not None:
                return
            onnx_path = self._dir / self.config.onnx_file
            try:
                self._check_size(onnx_path)
                # onnxruntime + tokenizers: ~0.3 s together, against ~6 s for torch.
                import onnxruntime as ort

                tokenizer = self._load_tokenizer()
                options = ort.SessionOptions()
                options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
                # onnxruntime's threads otherwise spin for a while after each run, taking the
                # cores FAISS needs right after a query is embedded (hybrid search was 2-3x
                # slower at 100k chunks with spinning on).
                options.add_session_config_entry("session.intra_op.allow_spinning", "0")
                if self._threads is not None:
                    options.intra_op_num_threads = self._threads
                    options.inter_op_num_threads = 1
                session = ort.InferenceSession(
                    str(onnx_path), sess_options=options, providers=["CPUExecutionProvider"]
                )
            except Exception as exc:  # ImportError, OSError, ONNX parse errors: all "no model"
                raise ModelUnavailableError(
                    f"The ONNX embedding model in {self._dir} could not be loaded "
                    f"({type(exc).__name__}: {exc}). Search falls back to BM25. "
                    "Rebuild it with `qa index --full` (`qa index` replaces a damaged copy too)."
                ) from exc
            self._tokenizer = tokenizer
            self._session = session

    def _check_size(self, onnx_path: Path) -> None:
        # A size check catches a truncated copy for free; hashing 90 MB on every query
        # process would cost ~0.1 s, so the sha256 is for builds and `qa index --check`
        # (`export_problems`).
        st = os.lstat(onnx_path)
        if not stat.S_ISREG(st.st_mode):
            raise ValueError(f"{onnx_path.name} is not a regular file")
        if st.st_size != self.config.onnx_bytes:
            raise ValueError(f"{onnx_path.name} is {st.st_size} bytes, expected "
                             f"{self.config.onnx_bytes}")

    def _load_tokenizer(self) -> Tokenizer:
        from tokenizers import Tokenizer

        text = read_regular(self._dir / TOKENIZER_FILE, limit=TOKENIZER_LIMIT,
                            follow_links=False).decode("utf-8")
        tokenizer = Tokenizer.from_str(text)
        tokenizer.enable_truncation(max_length=self.config.max_length)
        tokenizer.no_padding()  # padded per batch in encode(), to the batch's longest
        return tokenizer

    def encode(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = BATCH_SIZE,
        progress: Progress | None = None,
        sort_by_length: bool = True,
    ) -> np.ndarray:
        """Embed texts like `SentenceTransformer.encode(normalize_embeddings=True)`.

        Args:
            texts: strings to embed; each is truncated to `max_length` word pieces (special
                tokens included), as sentence-transformers does.
            batch_size: texts per onnxruntime call.
            progress: optional callable(done, total), called after each batch.
            sort_by_length: batch texts of similar token length together (then restore the
                input order); padding to a batch's longest text is what costs time.

        Returns:
            float32 array (len(texts), dim), L2-normalised rows, in input order.

        Raises:
            ModelUnavailableError: the model cannot be loaded.
        """
        return self._run(texts, None, batch_size, progress, sort_by_length)[0]

    def encode_spans(
        self, texts: Sequence[str], spans: Sequence[Sequence[Span]], *,
        batch_size: int | None = None, progress: Progress | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """`encode`, and the vector of each character span of each text pooled from the same
        pass (qa.embed.pooling): (vectors, span vectors of every text in order). Batches of
        `batch_size` texts, by default `encode`'s."""
        vectors, pooled = self._run(texts, spans, batch_size or self.BATCH_SIZE, progress, True)
        assert pooled is not None
        return vectors, pooled.rows

    def _run(self, texts: Sequence[str], spans: Sequence[Sequence[Span]] | None,
             batch_size: int, progress: Progress | None, sort_by_length: bool,
             ) -> tuple[np.ndarray, SpanRows | None]:
        self.load()
        session = self._session
        assert session is not None  # load() set it or raised
        total = len(texts)
        out = np.zeros((total, self.dim), dtype=np.float32)
        pooled = SpanRows(spans, self.dim) if spans is not None else None
        encodings = self._encode_all(texts)
        done = 0
        for batch, feeds in self._batches_of(encodings, batch_size, sort_by_length):
            if pooled is not None and spans is not None:
                vectors, states = session.run([OUTPUT_NAME, TOKENS_NAME], feeds)
                pool_batch(batch, states, [encodings[i].offsets for i in batch], spans, pooled)
            else:
                (vectors,) = session.run([OUTPUT_NAME], feeds)
            out[batch] = vectors
            done += len(batch)
            if progress is not None:
                progress(done, total)
        return _unit_rows(out), pooled

    def _batches(
        self, texts: Sequence[str], batch_size: int, sort_by_length: bool
    ) -> Iterator[tuple[np.ndarray, dict[str, np.ndarray]]]:
        """(row indices, padded model inputs) per batch; tokenises everything first."""
        yield from self._batches_of(self._encode_all(texts), batch_size, sort_by_length)

    def _encode_all(self, texts: Sequence[str]) -> list[Encoding]:
        assert self._tokenizer is not None  # load() set it or raised
        return self._tokenizer.encode_batch(list(texts)) if texts else []

    def _batches_of(
        self, encodings: list[Encoding], batch_size: int, sort_by_length: bool
    ) -> Iterator[tuple[np.ndarray, dict[str, np.ndarray]]]:
        total = len(encodings)
        if total == 0:
            return
        lengths = np.fromiter((len(e.ids) for e in encodings), dtype=np.int64, count=total)
        # A stable sort keeps equal-length texts in input order: deterministic batches.
        order = np.argsort(lengths, kind="stable") if sort_by_length else np.arange(total)
        starts = list(range(0, total, batch_size))
        for k in spread_order(len(starts)) if sort_by_length else range(len(starts)):
            batch = order[starts[k] : starts[k] + batch_size]
            yield batch, self._pad([encodings[i] for i in batch], int(lengths[batch].max()))

    def _pad(self, encodings: list[Encoding], width: int) -> dict[str, np.ndarray]:
        rows = len(encodings)
        ids = np.full((rows, width), self.config.pad_token_id, dtype=np.int64)
        mask = np.zeros((rows, width), dtype=np.int64)
        types = np.zeros((rows, width), dtype=np.int64)
        for row, enc in enumerate(encodings):
            n = len(enc.ids)
            ids[row, :n] = enc.ids
            mask[row, :n] = enc.attention_mask
            types[row, :n] = enc.type_ids
        return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


def _unit_rows(out: np.ndarray) -> np.ndarray:
    # The graph already normalises; doing it again here keeps rows unit-length to float32
    # precision whatever the graph's rounding (int8 and bf16 runs included).
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return out / norms


