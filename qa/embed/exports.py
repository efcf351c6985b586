"""The machine's exports of an embedding model: ONNX (fp32 or int8) and OpenVINO int8 folders,
made once per machine in qa's cache and shared, read-only, by every index (an index keeps a
copy of the query model of its own: `qa.index.query_model` places it there)."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from .. import config
from ..errors import ModelUnavailableError

EXPORT_PREFIX = "onnx-"
#: The invented news chunks int8 is calibrated on and backends are timed on (`calibration_texts`).
CALIBRATION_FILE = "calibration_text.jsonl"


def export_name(name: str, *, quantize: bool = False) -> str:
    """The folder name of model `name`'s export: one per model name (and precision), written
    once and never replaced, so a reader that found it can always load it (a model name
    always means the same weights)."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.casefold()).strip("-")[:60] or "model"
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{EXPORT_PREFIX}{slug}-{digest}{'-int8' if quantize else ''}"


def export_cache() -> Path:
    """Where the machine's exports live."""
    return config.cache_dir() / "onnx"


def cached_export(name: str, *, quantize: bool = False) -> Path:
    """The machine-wide ONNX export of `name`, made on first use (needs torch, ~10 s).

    Its files are made read-only: indexes hard-link them, so a write through one index's
    link must fail rather than damage every other index's model."""
    import shutil

    from .onnx_export import export_onnx

    cached = export_cache() / export_name(name, quantize=quantize)
    if not valid_export(cached, name):
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


def cached_openvino_int8(name: str) -> Path:
    """The machine-wide NNCF int8 quantisation of `name`'s fp32 export, made on first use
    (~30-60 s: the fp32 model is run on the 64 invented news chunks of
    qa/embed/calibration_text.jsonl).
    Read-only, like the exports."""
    import shutil

    from .openvino import quantize_openvino_int8

    fp32 = export_cache() / export_name(name, quantize=False)
    cached = fp32.with_name(f"{fp32.name}-ov-int8-{ov_int8_recipe()}")
    if not valid_export(cached, name):
        shutil.rmtree(cached, ignore_errors=True)
        for stale in cached.parent.glob(f".{cached.name}.tmp-*"):
            shutil.rmtree(stale, ignore_errors=True)
        quantize_openvino_int8(cached_export(name), cached, calibration_texts(64))
        for f in cached.iterdir():
            f.chmod(0o444)
    return cached


def valid_export(folder: Path, name: str, *, thorough: bool = False) -> bool:
    """Whether `folder` holds a usable export of model `name`: its config, a model file of
    the recorded size and a tokenizer, all regular files; `thorough`: also the model's
    SHA-256 and a tokenizer that parses (qa.embed.onnx.export_problems)."""
    from ..regular_files import is_regular
    from .onnx import TOKENIZER_FILE, OnnxConfig, export_problems

    if thorough:
        return (folder / "config.json").exists() and not export_problems(folder, name=name)
    try:
        cfg = OnnxConfig.read(folder)
    except ModelUnavailableError:
        return False
    model = folder / cfg.onnx_file
    return (cfg.source_model == name and is_regular(model)
            and model.stat().st_size == cfg.onnx_bytes and is_regular(folder / TOKENIZER_FILE))


def export_problems(folder: Path, name: str) -> list[str]:
    """What is wrong with an export folder, one line each; empty when it is sound."""
    from .onnx import export_problems as problems

    return problems(folder, name=name)


def export_embedder(folder: Path, name: str):  # type: ignore[no-untyped-def]
    """The torch-free ONNX embedder of an export folder, or None when it is not one of
    model `name`."""
    if not (folder / "config.json").exists():
        return None
    try:
        from .onnx import OnnxEmbedder

        embedder = OnnxEmbedder(folder)
    except ModelUnavailableError:
        return None
    return embedder if embedder.name == name else None


def calibration_texts(n: int = 64) -> list[str]:
    """The first `n` of the 64 news chunks in `qa/embed/calibration_text.jsonl`: what int8
    quantisation is calibrated on and what the build backends are timed on.

    The chunks are invented news written for qa by hand (made-up people, towns, firms and
    outlets; no corpus's text), shaped like a build's chunks: the article's title, a
    newline, then the chunk's text (`qa.embed.chunk_input.embedding_input`), some of them
    an article's second or third chunk, with their lengths spread like a news build's
    (median ~170 words, ~220 word pieces, a few past the model's 256). Each row is
    {"title", "text"}; only "text" is read. The file is written by hand, not generated:
    edit it directly (the int8 recipe, `ov_int8_recipe`, follows its bytes)."""
    raw = _calibration_file().decode("utf-8")
    return [json.loads(line)["text"] for line in raw.splitlines() if line.strip()][:n]


def _calibration_file() -> bytes:
    import importlib.resources

    return importlib.resources.files("qa.embed").joinpath(CALIBRATION_FILE).read_bytes()


def ov_int8_recipe() -> str:
    """Names the "openvino-int8" recipe in the cached model's folder and in the backend
    choice's cache key: what stays in floating point, SmoothQuant, and the calibration text
    (its bytes), so a new recipe is a new model, quantised and measured again."""
    from .openvino import OV_INT8_SETTINGS

    text = hashlib.sha256(_calibration_file()).hexdigest()
    raw = json.dumps([*OV_INT8_SETTINGS, text])
    return hashlib.sha256(raw.encode()).hexdigest()[:8]
