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
  `token_type_ids` (int64, batch x sequence), output `sentence_embedding` (float32, batch x dim);
- `tokenizer.json`: the model's own fast tokenizer, saved by `tokenizers`;
- `config.json`: what the runtime needs (see `OnnxConfig`), written last.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import itertools
import json
import os
import shutil
import stat
import tempfile
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .. import config
from ..errors import ModelUnavailableError
from ..regular_files import read_regular
from .embedder import spread_order

Progress = Callable[[int, int], None]

FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
TOKENIZER_FILE = "tokenizer.json"
FP32_FILE = "model.onnx"
INT8_FILE = "model-int8.onnx"
OV_INT8_FILE = "model-int8.xml"  # OpenVINO IR (+ model-int8.bin): the "openvino-int8" backend
# What "openvino-int8" keeps in floating point. Fitted on 300 Wikinews chunks (min cosine to
# fp32 over them; table in docs/benchmarks.md, *Build backends on CPUs without bf16*):
# everything int8 gave 0.977, without SmoothQuant 0.984; also keeping the FFN down-projections
# (their input is GELU's long-tailed output) 0.987; those and the two attention products
# (query x key, softmax x value) 0.994 — the only setting tried that stays >= 0.99 everywhere.
# SmoothQuant is off: it made the worst chunks worse.
OV_INT8_KEEP_FLOAT = (
    r".*layer\.\d+/output/dense/MatMul",  # FFN down-projection (not attention/output/dense)
    r".*attention/self/MatMul(_1)?",  # attention scores and their weighted sum
)
# Names the recipe in the cached model's folder and the backend choice's cache key: a new
# recipe is a new model, quantised and measured again.
OV_INT8_RECIPE = hashlib.sha256(json.dumps([OV_INT8_KEEP_FLOAT, "no-smoothquant"]).encode()
                                ).hexdigest()[:8]
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")
OUTPUT_NAME = "sentence_embedding"
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
            raw: dict[str, Any] = json.loads(
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


# ---------------------------------------------------------------------------------------------
# Export (build time; needs torch, transformers, sentence-transformers and the `onnx` package)
# ---------------------------------------------------------------------------------------------


def export_onnx(
    model_name_or_path: str,
    out_dir: Path,
    *,
    quantize: bool = False,
) -> Path:
    """Export a sentence-transformers model (BERT-style, mean pooling) to ONNX.

    The folder is built in a temporary folder beside `out_dir` and renamed into place, so a
    crash leaves either the old export or none, never half of one.

    Args:
        model_name_or_path: the embedder's name as recorded in manifests (e.g. the packaged
            "all-MiniLM-L6-v2", resolved through `qa.config.resolve_model_path`) or a local
            model folder. Stored as `source_model`, which becomes `OnnxEmbedder.name`.
        out_dir: folder to create or replace.
        quantize: also apply onnxruntime dynamic int8 quantisation and keep only the int8
            model. Faster on CPU but less exact; see docs/benchmarks.md before using it.

    Returns:
        `out_dir`.

    Raises:
        ModelUnavailableError: the model cannot be loaded, is not mean-pooled, or the export
            tools (torch, onnx) are missing.
    """
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    try:
        cfg = _export_into(model_name_or_path, tmp, quantize=quantize)
        (tmp / CONFIG_FILE).write_text(json.dumps(asdict(cfg), indent=2) + "\n", encoding="utf-8")
        _replace_dir(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir


def _export_into(model_name_or_path: str, folder: Path, *, quantize: bool) -> OnnxConfig:
    try:
        # Costs ~6 s (torch + transformers); export happens once per build at most.
        import torch
        from sentence_transformers import SentenceTransformer

        import onnx  # noqa: F401  (torch's exporter needs it; fail here with a clear message)
    except ImportError as exc:
        raise ModelUnavailableError(
            f"Exporting the embedding model to ONNX needs torch, sentence-transformers and "
            f"onnx ({exc}). Run `make install`."
        ) from exc

    try:
        st = SentenceTransformer(config.resolve_model_path(model_name_or_path), device="cpu")
    except Exception as exc:  # OSError, bad weights, unknown name: all mean "cannot export"
        raise ModelUnavailableError(
            f"The embedding model {model_name_or_path!r} could not be loaded for ONNX export "
            f"({type(exc).__name__}: {exc})."
        ) from exc

    # Checked by class name and duck typing: sentence-transformers moved these classes
    # between modules in 6.x, and the export only needs their attributes.
    kinds = [type(module).__name__ for module in st]
    if kinds[:2] != ["Transformer", "Pooling"] or any(k != "Normalize" for k in kinds[2:]):
        raise ModelUnavailableError(
            f"{model_name_or_path!r} is {' + '.join(kinds)}; ONNX export supports only "
            "Transformer + Pooling (+ Normalize). Use the sentence-transformers embedder."
        )
    transformer, pooling = st[0], st[1]
    mode = getattr(pooling, "pooling_mode", None) or pooling.get_pooling_mode_str()
    if mode != "mean":
        raise ModelUnavailableError(
            f"{model_name_or_path!r} uses {mode!r} pooling; the ONNX export implements mean "
            "pooling only. Use the sentence-transformers embedder."
        )

    hf_tokenizer = transformer.tokenizer
    if not getattr(hf_tokenizer, "is_fast", False):
        raise ModelUnavailableError(
            f"{model_name_or_path!r} has no fast tokenizer (tokenizer.json); cannot export."
        )
    # The backend tokenizer is the exact one sentence-transformers runs (lower-casing, accents,
    # word pieces); truncation and padding are set at load time from config.json.
    hf_tokenizer.backend_tokenizer.save(str(folder / TOKENIZER_FILE))

    graph = _MeanPooledEncoder(transformer.auto_model, torch).eval()
    # A padded sample row: tracing with an all-ones mask could record a shortcut that drops
    # the mask, which would be wrong for every padded batch later.
    ids = torch.tensor([[101, 7592, 2088, 102, 0, 0], [101, 7592, 2088, 2003, 2307, 102]])
    mask = (ids != 0).long()
    sample = (ids, mask, torch.zeros_like(ids))
    fp32_path = folder / FP32_FILE
    dynamic = {name: {0: "batch", 1: "sequence"} for name in INPUT_NAMES}
    dynamic[OUTPUT_NAME] = {0: "batch"}
    with torch.no_grad(), warnings.catch_warnings():
        # The tracer warns about Python-level branches in transformers (e.g. `is_causal`)
        # that do not depend on the input for an encoder; outputs are tested against ST.
        warnings.simplefilter("ignore")
        # The legacy TorchScript exporter: the dynamo one needs onnxscript (not installed) and
        # gains nothing for a plain BERT.
        torch.onnx.export(
            graph,
            sample,
            str(fp32_path),
            input_names=list(INPUT_NAMES),
            output_names=[OUTPUT_NAME],
            dynamic_axes=dynamic,
            opset_version=OPSET,
            do_constant_folding=True,
            dynamo=False,
        )

    onnx_path = fp32_path
    if quantize:
        onnx_path = folder / INT8_FILE
        quantize_int8(fp32_path, onnx_path)
        fp32_path.unlink()

    return OnnxConfig(
        format_version=FORMAT_VERSION,
        source_model=model_name_or_path,
        dim=int(_sentence_dim(st)),
        max_length=int(st.max_seq_length),
        pooling="mean",
        normalize=True,
        onnx_file=onnx_path.name,
        quantized=quantize,
        onnx_sha256=_sha256(onnx_path),
        onnx_bytes=onnx_path.stat().st_size,
        pad_token_id=int(hf_tokenizer.pad_token_id or 0),
        tokenizer_sha256=_sha256(folder / TOKENIZER_FILE),
    )


def quantize_int8(fp32_path: Path, int8_path: Path) -> None:
    """Dynamic int8 quantisation of the MatMul weights (activations quantised at run time).

    Per-channel weights keep the vectors much closer to fp32 than per-tensor ones; the
    embedding tables (Gather) stay fp32 because quantising them buys no speed.
    """
    import logging

    from onnxruntime.quantization import QuantType, quantize_dynamic

    # onnxruntime logs a "consider pre-processing" hint on the root logger; it does not apply
    # to dynamic quantisation of MatMul weights and would only puzzle the user.
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        quantize_dynamic(
            str(fp32_path),
            str(int8_path),
            weight_type=QuantType.QInt8,
            per_channel=True,
            op_types_to_quantize=["MatMul"],
        )
    finally:
        logging.disable(previous)


def quantize_openvino_int8(fp32_dir: Path, out_dir: Path, texts: Sequence[str]) -> Path:
    """Post-training int8 quantisation of an fp32 export with NNCF, for OpenVINO.

    Weights and activations of the MatMuls become int8 (VNNI on CPUs that have it); the
    ranges of the activations are taken from the fp32 model run on `texts`, one text per
    run so that no padding enters the statistics. NNCF's transformer preset keeps softmax,
    layer norms and the pooling in floating point, and `OV_INT8_KEEP_FLOAT` the MatMuls
    whose int8 error reached the vectors most. The folder holds `model-int8.xml` and
    `.bin`, the tokenizer and `config.json` (quantized, onnx_file = the .xml), and is built
    beside `out_dir` and renamed into place like `export_onnx`'s.

    Args:
        fp32_dir: a folder written by `export_onnx` (not quantised).
        out_dir: folder to create or replace.
        texts: calibration sample of real text, of the shape the model will embed
            (`qa/embed/calibration_text.jsonl`: 64 news chunks).

    Returns:
        `out_dir`.

    Raises:
        ModelUnavailableError: nncf or openvino is missing, or the quantisation failed.
    """
    source = OnnxConfig.read(Path(fp32_dir))
    if source.quantized:
        raise ModelUnavailableError(f"{fp32_dir} is already quantised; give the fp32 export.")
    try:
        # nncf costs ~3 s to import (it pulls in scikit-learn); only a first int8 use pays it.
        import nncf
        import openvino as ov
        from nncf.quantization.advanced_parameters import (
            AdvancedQuantizationParameters,
            AdvancedSmoothQuantParameters,
        )
    except Exception as exc:  # ImportError, or a broken install failing on import
        raise ModelUnavailableError(
            f"The openvino-int8 backend needs the nncf and openvino packages "
            f"({type(exc).__name__}: {exc}). Run `make install`, or use --runtime openvino."
        ) from exc
    reader = OnnxEmbedder(fp32_dir)
    tokenizer = reader._load_tokenizer()
    feeds = []
    for enc in tokenizer.encode_batch(list(texts)):
        feeds.append(reader._pad([enc], len(enc.ids)))
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    try:
        import logging

        model = ov.Core().read_model(str(Path(fp32_dir) / source.onnx_file))
        previous = logging.root.manager.disable
        logging.disable(logging.WARNING)  # nncf's INFO lines and progress bars are not qa's
        try:
            with contextlib.redirect_stdout(io.StringIO()), \
                    contextlib.redirect_stderr(io.StringIO()):
                quantized = nncf.quantize(
                    model,
                    nncf.Dataset(feeds),
                    model_type=nncf.ModelType.TRANSFORMER,
                    subset_size=len(feeds),
                    ignored_scope=nncf.IgnoredScope(patterns=list(OV_INT8_KEEP_FLOAT)),
                    advanced_parameters=AdvancedQuantizationParameters(
                        smooth_quant_alphas=AdvancedSmoothQuantParameters(matmul=-1)),
                )
        finally:
            logging.disable(previous)
        xml = tmp / OV_INT8_FILE
        ov.save_model(quantized, str(xml), compress_to_fp16=False)
        shutil.copy2(Path(fp32_dir) / TOKENIZER_FILE, tmp / TOKENIZER_FILE)
        cfg = OnnxConfig(**{
            **asdict(source), "onnx_file": xml.name, "quantized": True,
            "onnx_sha256": _sha256(xml), "onnx_bytes": xml.stat().st_size,
        })
        (tmp / CONFIG_FILE).write_text(json.dumps(asdict(cfg), indent=2) + "\n", encoding="utf-8")
        _replace_dir(tmp, out_dir)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, Exception) and not isinstance(exc, ModelUnavailableError):
            raise ModelUnavailableError(
                f"Quantising the embedding model to int8 failed ({type(exc).__name__}: {exc}). "
                "Use --runtime openvino."
            ) from exc
        raise
    return out_dir


def _sentence_dim(st: Any) -> int:
    getdim = getattr(st, "get_embedding_dimension", None) or st.get_sentence_embedding_dimension
    return int(getdim())


def _MeanPooledEncoder(auto_model: Any, torch: Any) -> Any:  # noqa: N802 (a class factory)
    """Wrap a HF encoder as input ids -> mean-pooled, L2-normalised sentence vectors.

    Built inside a function because torch may only be imported at export time.
    """

    class MeanPooledEncoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = auto_model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            # Keyword arguments: transformers 5 changed BertModel.forward's positional order.
            hidden = self.encoder(
                input_ids=input_ids,
                attention_mask=attention_mask,
                token_type_ids=token_type_ids,
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            # Same formula as sentence_transformers.models.Pooling (mean mode).
            summed = (hidden * mask).sum(dim=1)
            counts = mask.sum(dim=1).clamp(min=1e-9)
            return torch.nn.functional.normalize(summed / counts, p=2, dim=1)

    return MeanPooledEncoder()


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


def _replace_dir(new: Path, target: Path) -> None:
    """Rename `new` to `target`, replacing an existing folder with as short a gap as a
    directory rename allows (POSIX cannot swap two non-empty folders atomically)."""
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        os.replace(target, old)
        os.replace(new, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(new, target)


# ---------------------------------------------------------------------------------------------
# Runtime (query and build time; onnxruntime + tokenizers only, never torch)
# ---------------------------------------------------------------------------------------------


class OnnxEmbedder:
    """Runs an `export_onnx` folder with onnxruntime; loads the session on first use.

    Thread-safe: the session is created once under a lock, and onnxruntime sessions may be
    run from several threads.
    """

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
        self._session: Any = None
        self._tokenizer: Any = None
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

    def _load_tokenizer(self) -> Any:
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
        batch_size: int = 32,
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
        self.load()
        total = len(texts)
        out = np.zeros((total, self.dim), dtype=np.float32)
        done = 0
        for batch, feeds in self._batches(texts, batch_size, sort_by_length):
            (vectors,) = self._session.run([OUTPUT_NAME], feeds)
            out[batch] = vectors
            done += len(batch)
            if progress is not None:
                progress(done, total)
        return _unit_rows(out)

    def _batches(
        self, texts: Sequence[str], batch_size: int, sort_by_length: bool
    ) -> Iterator[tuple[np.ndarray, dict[str, np.ndarray]]]:
        """(row indices, padded model inputs) per batch; tokenises everything first."""
        total = len(texts)
        if total == 0:
            return
        encodings = self._tokenizer.encode_batch(list(texts))
        lengths = np.fromiter((len(e.ids) for e in encodings), dtype=np.int64, count=total)
        # A stable sort keeps equal-length texts in input order: deterministic batches.
        order = np.argsort(lengths, kind="stable") if sort_by_length else np.arange(total)
        starts = list(range(0, total, batch_size))
        for k in spread_order(len(starts)) if sort_by_length else range(len(starts)):
            batch = order[starts[k] : starts[k] + batch_size]
            yield batch, self._pad([encodings[i] for i in batch], int(lengths[batch].max()))

    def _pad(self, encodings: list[Any], width: int) -> dict[str, np.ndarray]:
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


# ---------------------------------------------------------------------------------------------
# Build-time runtime: the same fp32 export run by OpenVINO (bf16 on CPUs that have it)
# ---------------------------------------------------------------------------------------------


def _openvino_cache() -> Path:
    from .. import config

    return config.cache_dir() / "openvino"


class OpenVinoEmbedder(OnnxEmbedder):
    """Runs an fp32 `export_onnx` folder with OpenVINO on the CPU: the build backend "openvino";
    or a `quantize_openvino_int8` folder: the build backend "openvino-int8".

    On a CPU with native bf16 (AVX512_BF16 or AMX) the model runs in bfloat16, about twice as
    fast as sentence-transformers fp32 here, with vectors at cosine >= 0.9999 of fp32
    (docs/benchmarks.md, *Build throughput by backend*); elsewhere it runs in fp32.
    `precision` says which was used once loaded. Batches run asynchronously, one OpenVINO
    stream per core (the THROUGHPUT hint), so both cores stay busy while the next batch is
    padded. Tokenisation, padding and length-sorted batching are `OnnxEmbedder`'s.

    Questions are never embedded with this class: an index built with it is queried through
    the torch-free onnxruntime export of the same fp32 model.
    """

    def __init__(
        self,
        onnx_dir: Path,
        *,
        threads: int | None = None,
        precision: str | None = None,
        cache_dir: Path | None = None,
        hint: str = "THROUGHPUT",
    ) -> None:
        """Read the folder's config (cheap); nothing of OpenVINO is imported yet.

        Args:
            onnx_dir: an fp32 folder written by `export_onnx`, or an int8 one written by
                `quantize_openvino_int8`.
            threads: OpenVINO inference threads; None uses every core.
            precision: of the parts run in floating point, "bf16" or "f32"; None picks bf16
                when the CPU has native bf16 for an fp32 model, and f32 for an int8 one (the
                precision its quality was checked in).
            cache_dir: where OpenVINO caches compiled models (default
                ~/.cache/qa/openvino); loading from the cache takes ~0.05 s instead of ~0.3 s.
            hint: "THROUGHPUT" (one stream per core, batches in flight side by side) or
                "LATENCY" (one stream, every core on each batch); see docs/benchmarks.md.

        Raises:
            ModelUnavailableError: no readable config.json, or the folder holds an
                onnxruntime int8 model.
        """
        super().__init__(onnx_dir, threads=threads)
        self.int8 = self.config.quantized
        if self.int8 and not self.config.onnx_file.endswith(".xml"):
            raise ModelUnavailableError(
                f"{self._dir} holds an onnxruntime int8 model; the openvino backends run the "
                "fp32 export or its openvino-int8 quantisation."
            )
        if precision not in (None, "bf16", "f32"):
            raise ValueError(f"precision must be 'bf16' or 'f32', not {precision!r}")
        if hint not in ("THROUGHPUT", "LATENCY"):
            raise ValueError(f"hint must be 'THROUGHPUT' or 'LATENCY', not {hint!r}")
        # What `qa.embed.embedder.backend_of` records in the manifest.
        self.backend = "openvino-int8" if self.int8 else "openvino"
        self._requested = precision
        self._hint = hint
        self._cache_dir = cache_dir
        self.precision: str | None = None  # "bf16", "f32" or "int8+f32", once loaded
        self._queue: Any = None
        self._run_lock = threading.Lock()  # one encode() at a time drives the request queue

    def load(self) -> None:
        """Import OpenVINO, compile the model and load the tokenizer.

        Raises:
            ModelUnavailableError: openvino is not installed, or the model cannot be compiled.
        """
        with self._lock:
            if self._session is not None:
                return
            try:
                import openvino as ov  # ~0.1-0.3 s; only builds that chose this backend pay it
            except Exception as exc:  # ImportError, or a broken install failing on import
                raise ModelUnavailableError(
                    f"The openvino build backend needs the openvino package ({type(exc).__name__}: "
                    f"{exc}). Run `pip install openvino`, or use --runtime torch."
                ) from exc
            onnx_path = self._dir / self.config.onnx_file
            try:
                self._check_size(onnx_path)
                tokenizer = self._load_tokenizer()
                core = ov.Core()
                compiled, precision = self._compile(core, onnx_path)
                queue = ov.AsyncInferQueue(compiled, 0)  # 0: as many requests as streams
            except Exception as exc:  # OSError, parse or compile errors: all mean "no model"
                raise ModelUnavailableError(
                    f"OpenVINO could not load the embedding model in {self._dir} "
                    f"({type(exc).__name__}: {exc}). Use --runtime torch, or rebuild the export "
                    "by deleting that folder."
                ) from exc
            self._tokenizer = tokenizer
            self._queue = queue
            self.precision = precision
            self._session = compiled

    def _compile(self, core: Any, onnx_path: Path) -> tuple[Any, str]:
        """The compiled model and its precision: bf16 when asked for or native, else f32;
        a failed bf16 compile falls back to f32, and a failing cache to no cache."""
        wanted = self._requested
        if wanted is None and self.int8:
            wanted = "f32"
        elif wanted is None:
            caps = core.get_property("CPU", "OPTIMIZATION_CAPABILITIES")
            wanted = "bf16" if "BF16" in caps else "f32"
        props: dict[str, Any] = {"PERFORMANCE_HINT": self._hint}
        if self._threads is not None:
            props["INFERENCE_NUM_THREADS"] = self._threads
        cache = self._cache_dir or _openvino_cache()
        error: Exception | None = None
        for precision, cached in itertools.product(dict.fromkeys([wanted, "f32"]), (True, False)):
            attempt = dict(props, INFERENCE_PRECISION_HINT=precision)
            try:
                if cached:
                    cache.mkdir(parents=True, exist_ok=True)
                    attempt["CACHE_DIR"] = str(cache)
                compiled = core.compile_model(str(onnx_path), "CPU", attempt)
            except Exception as exc:  # unwritable cache, unsupported precision...: next one
                error = error or exc
                continue
            used = str(compiled.get_property("INFERENCE_PRECISION_HINT"))
            floating = "bf16" if "bf16" in used or "bfloat16" in used else "f32"
            return compiled, f"int8+{floating}" if self.int8 else floating
        assert error is not None
        raise error

    def encode(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = 16,
        progress: Progress | None = None,
        sort_by_length: bool = True,
    ) -> np.ndarray:
        """Embed texts like `SentenceTransformer.encode(normalize_embeddings=True)`.

        Same contract as `OnnxEmbedder.encode`; batches run concurrently, so `progress`
        counts the texts finished when each batch is handed over (and the total at the end).
        """
        self.load()
        total = len(texts)
        out = np.zeros((total, self.dim), dtype=np.float32)
        finished = [0]
        count_lock = threading.Lock()

        def store(request: Any, batch: np.ndarray) -> None:  # runs on OpenVINO's threads
            out[batch] = request.get_output_tensor(0).data
            with count_lock:
                finished[0] += len(batch)

        with self._run_lock:
            self._queue.set_callback(store)
            try:
                for batch, feeds in self._batches(texts, batch_size, sort_by_length):
                    self._queue.start_async(feeds, batch)  # waits for a free request
                    if progress is not None:
                        progress(finished[0], total)
            finally:
                self._queue.wait_all()  # no callback may write into `out` after we return
        if progress is not None and total:
            progress(total, total)
        return _unit_rows(out)
