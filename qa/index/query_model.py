"""The query model an index keeps beside its data: a copy of the machine's ONNX export of the
embedding model (`qa.embed.exports`), so that questions encode without importing torch and
without depending on the machine's cache.

    index/onnx-<model>-<hash>[-int8]/   config.json, model.onnx, tokenizer.json

The folder is marked as the index's (`mark_generation`), made once and never replaced while
sound; a damaged one is replaced by the next `qa index`.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from ..embed.embedder import Embedder
from ..embed.exports import (
    cached_export,
    export_cache,
    export_embedder,
    export_name,
    export_problems,
    valid_export,
)
from ..errors import ModelUnavailableError
from .ownership import index_id, is_marked, mark_generation


def query_model_dir(index_dir: Path, name: str, *, quantize: bool = False) -> Path:
    """Where the export of model `name` lives beside an index."""
    return index_dir / export_name(name, quantize=quantize)


def export_pending(name: str, *, quantize: bool = False, index_dir: Path | None = None) -> bool:
    """Whether using model `name` (beside `index_dir`, when given) first needs the one-time ONNX
    export (~10-40 s, most of a first run): builds say so before they start it."""
    if index_dir is not None and valid_export(query_model_dir(index_dir, name, quantize=quantize),
                                              name):
        return False
    return not valid_export(export_cache() / export_name(name, quantize=quantize), name)


def ensure_query_model(index_dir: Path, name: str, *, quantize: bool = False) -> Path:
    """Export model `name` to ONNX beside the index unless that is already done.

    The export is made once per machine (`qa.embed.exports.cached_export`) and linked (or
    copied) into each index that uses the model; the folder is marked as the index's.

    Raises:
        ModelUnavailableError: the export failed, or a folder qa did not make is in the way.
        OSError: copying into the index failed (disk full, read-only folder).
    """
    from ..embed.onnx import OnnxConfig
    from ..embed.onnx_export import export_onnx

    owner = index_id(index_dir)
    target = query_model_dir(index_dir, name, quantize=quantize)
    # Checked whole (~0.1 s: the model's SHA-256, the tokenizer parsed): a damaged copy is
    # replaced, so `qa index` repairs what `qa index --check` finds here.
    if valid_export(target, name, thorough=True):
        return target
    if target.exists() or target.is_symlink():
        if owner is None or not is_marked(target, owner):
            raise ModelUnavailableError(
                f"{target} is in the way and qa did not make it; move it elsewhere, then run "
                "`qa index` again")
        shutil.rmtree(target, ignore_errors=True)  # a broken copy of qa's own
    try:
        cached = cached_export(name, quantize=quantize)
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


def query_model_problems(index_dir: Path, name: str, *, quantize: bool = False) -> list[str]:
    """What is wrong with the query model exported beside an index (`qa index --check`), one
    line each; empty when it is sound or there is none (queries then load the model itself)."""
    folder = query_model_dir(index_dir, name, quantize=quantize)
    if not (folder.exists() or folder.is_symlink()):
        return []
    if folder.is_symlink() or not folder.is_dir():
        return [f"{folder} is not a folder qa made"]
    return export_problems(folder, name)


def fast_query_embedder(index_dir: Path, name: str, *, quantize: bool = False) -> Embedder | None:
    """The torch-free ONNX embedder for model `name`, if it was exported beside the index."""
    return export_embedder(query_model_dir(index_dir, name, quantize=quantize), name)  # type: ignore[no-any-return]
