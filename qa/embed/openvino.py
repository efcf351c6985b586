"""OpenVINO at build time: the fp32 ONNX export run by OpenVINO on the CPU (bf16 where the CPU
has it natively), and its NNCF int8 quantisation ("openvino-int8")."""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import shutil
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import ModelUnavailableError
from ..types import Span
from .onnx import (
    CONFIG_FILE,
    OV_INT8_FILE,
    TOKENIZER_FILE,
    TOKENS_NAME,
    OnnxConfig,
    OnnxEmbedder,
    Progress,
    _sha256,
    _unit_rows,
)
from .onnx_export import _replace_dir
from .pooling import SpanRows, pool_batch

if TYPE_CHECKING:  # imported when a model is loaded (`OpenVinoEmbedder.load`)
    import openvino as ov

# What "openvino-int8" keeps in floating point. Fitted on 300 news chunks (min cosine to
# fp32 over them; table in docs/benchmarks.md, *Build backends on CPUs without bf16*):
# everything int8 gave 0.977, without SmoothQuant 0.984; also keeping the FFN down-projections
# (their input is GELU's long-tailed output) 0.987; those and the two attention products
# (query x key, softmax x value) 0.994 — the only setting tried that stays >= 0.99 everywhere.
# SmoothQuant is off: it made the worst chunks worse.
OV_INT8_KEEP_FLOAT = (
    r".*layer\.\d+/output/dense/MatMul",  # FFN down-projection (not attention/output/dense)
    r".*attention/self/MatMul(_1)?",  # attention scores and their weighted sum
)
# The recipe beside its calibration text (`qa.embed.exports.ov_int8_recipe` names the two).
OV_INT8_SETTINGS = (OV_INT8_KEEP_FLOAT, "no-smoothquant")


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
        texts: calibration sample of the shape the model will embed
            (`qa/embed/calibration_text.jsonl`: 64 invented news chunks written for qa,
            shaped like a build's chunks; no corpus's text).

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

    BATCH_SIZE = 16  # encode's default: texts per inference request

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
        self._compiled: ov.CompiledModel | None = None
        self._queue: ov.AsyncInferQueue | None = None  # set with `_compiled` (also: loaded)
        self._run_lock = threading.Lock()  # one encode() at a time drives the request queue

    def load(self) -> None:
        """Import OpenVINO, compile the model and load the tokenizer.

        Raises:
            ModelUnavailableError: openvino is not installed, or the model cannot be compiled.
        """
        with self._lock:
            if self._queue is not None:
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
            self._compiled = compiled
            self.precision = precision
            self._queue = queue

    @property
    def loaded(self) -> bool:
        """Whether the compiled model and tokenizer are loaded."""
        return self._queue is not None

    def _compile(self, core: ov.Core, onnx_path: Path) -> tuple[ov.CompiledModel, str]:
        """The compiled model and its precision: bf16 when asked for or native, else f32;
        a failed bf16 compile falls back to f32, and a failing cache to no cache."""
        wanted = self._requested
        if wanted is None and self.int8:
            wanted = "f32"
        elif wanted is None:
            caps = core.get_property("CPU", "OPTIMIZATION_CAPABILITIES")
            wanted = "bf16" if "BF16" in caps else "f32"
        props: dict[str, str | int] = {"PERFORMANCE_HINT": self._hint}
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
        batch_size: int = BATCH_SIZE,
        progress: Progress | None = None,
        sort_by_length: bool = True,
    ) -> np.ndarray:
        """Embed texts like `SentenceTransformer.encode(normalize_embeddings=True)`.

        Same contract as `OnnxEmbedder.encode`; batches run concurrently, so `progress`
        counts the texts finished when each batch is handed over (and the total at the end).
        """
        return self._run(texts, None, batch_size, progress, sort_by_length)[0]

    def _run(self, texts: Sequence[str], spans: Sequence[Sequence[Span]] | None,
             batch_size: int, progress: Progress | None, sort_by_length: bool,
             ) -> tuple[np.ndarray, SpanRows | None]:
        self.load()
        total = len(texts)
        out = np.zeros((total, self.dim), dtype=np.float32)
        pooled = SpanRows(spans, self.dim) if spans is not None else None
        encodings = self._encode_all(texts)
        finished = [0]
        count_lock = threading.Lock()

        # Runs on OpenVINO's threads; the request's buffers are reused only after it returns.
        def store(request: ov.InferRequest, batch: np.ndarray) -> None:
            out[batch] = request.get_output_tensor(0).data
            if pooled is not None and spans is not None:
                pool_batch(batch, request.get_tensor(TOKENS_NAME).data,
                           [encodings[i].offsets for i in batch], spans, pooled)
            with count_lock:
                finished[0] += len(batch)

        queue = self._queue
        assert queue is not None  # load() set it or raised
        with self._run_lock:
            queue.set_callback(store)
            try:
                for batch, feeds in self._batches_of(encodings, batch_size, sort_by_length):
                    queue.start_async(feeds, batch)  # waits for a free request
                    if progress is not None:
                        progress(finished[0], total)
            finally:
                queue.wait_all()  # no callback may write into `out` after we return
        if progress is not None and total:
            progress(total, total)
        return _unit_rows(out), pooled
