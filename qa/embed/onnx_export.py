"""Exporting a sentence-transformers model to the ONNX folder `qa.embed.onnx` describes (build
time: needs torch, transformers, sentence-transformers and the `onnx` package), and
onnxruntime's dynamic int8 quantisation of it."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import warnings
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from .. import config
from ..errors import ModelUnavailableError
from .onnx import (
    CONFIG_FILE,
    FORMAT_VERSION,
    FP32_FILE,
    INPUT_NAMES,
    INT8_FILE,
    OPSET,
    OUTPUT_NAME,
    TOKENIZER_FILE,
    TOKENS_NAME,
    OnnxConfig,
    _sha256,
)

if TYPE_CHECKING:  # build-time libraries, imported only by the export itself
    import torch
    from sentence_transformers import SentenceTransformer


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
        import onnx  # noqa: F401  (torch's exporter needs it; fail here with a clear message)
        import torch
        from sentence_transformers import SentenceTransformer
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

    graph = _MeanPooledEncoder(transformer.auto_model).eval()
    # A padded sample row: tracing with an all-ones mask could record a shortcut that drops
    # the mask, which would be wrong for every padded batch later.
    ids = torch.tensor([[101, 7592, 2088, 102, 0, 0], [101, 7592, 2088, 2003, 2307, 102]])
    mask = (ids != 0).long()
    sample = (ids, mask, torch.zeros_like(ids))
    fp32_path = folder / FP32_FILE
    dynamic = {name: {0: "batch", 1: "sequence"} for name in INPUT_NAMES}
    dynamic[OUTPUT_NAME] = {0: "batch"}
    dynamic[TOKENS_NAME] = {0: "batch", 1: "sequence"}
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
            output_names=[OUTPUT_NAME, TOKENS_NAME],
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


def _sentence_dim(st: SentenceTransformer) -> int:
    getdim = getattr(st, "get_embedding_dimension", None) or st.get_sentence_embedding_dimension
    return int(getdim())


def _MeanPooledEncoder(auto_model: torch.nn.Module) -> torch.nn.Module:  # noqa: N802 (factory)
    """Wrap a HF encoder as input ids -> (mean-pooled, L2-normalised sentence vectors, the
    word pieces' last hidden states: qa.embed.pooling pools spans of a text from them).

    Built inside a function because torch may only be imported at export time (the caller
    has imported it already).
    """
    import torch

    class MeanPooledEncoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = auto_model

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                    token_type_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
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
            return torch.nn.functional.normalize(summed / counts, p=2, dim=1), hidden

    return MeanPooledEncoder()


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


