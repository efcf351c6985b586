"""Build backends: torch, ONNX fp32 (same vectors) and ONNX int8 (faster, close vectors)."""

from __future__ import annotations

import numpy as np
import pytest

from qa import Retriever, build_index
from qa.index import Index, read_manifest


def _vectors(index):
    return Index.open(index).vectors()


@pytest.mark.integration
def test_onnx_builds_match_torch_and_int8_stays_close(seed_corpus, tmp_path, real_seed_index):
    torch_vecs = _vectors(real_seed_index)
    build_index(seed_corpus, tmp_path / "fp32", backend="onnx")
    build_index(seed_corpus, tmp_path / "int8", backend="onnx-int8")
    fp32, int8 = _vectors(tmp_path / "fp32"), _vectors(tmp_path / "int8")
    assert fp32.shape == int8.shape == torch_vecs.shape
    assert np.min(np.sum(fp32 * torch_vecs, axis=1)) >= 0.999
    assert np.min(np.sum(int8 * torch_vecs, axis=1)) >= 0.98
    assert read_manifest(tmp_path / "int8").embedding_backend == "onnx-int8"

    # An update without --backend keeps the index's backend (no silent full re-embed)...
    (seed_corpus / "tulip.md").write_text("---\ntitle: Tulips\n---\nTulip growers held a parade.\n")
    report = build_index(seed_corpus, tmp_path / "int8")
    assert report.added == ("tulip",) and report.embedded_chunks == 1
    # ...and questions are embedded with the same int8 model.
    r = Retriever.open(tmp_path / "int8")
    assert r.search("How long was the video call between Xi and Putin?", k=3)
    assert r.mode == "hybrid" and r._embedder.config.quantized


def test_unknown_backend_is_a_clear_error(seed_corpus, tmp_path):
    from qa import QueryError

    with pytest.raises(QueryError, match="onnx-int8"):
        build_index(seed_corpus, tmp_path / "ix", backend="tpu")
