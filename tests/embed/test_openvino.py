"""The "openvino" build backends: the fp32 ONNX export run by OpenVINO (bf16 where the CPU has
it), and its NNCF int8 quantisation ("openvino-int8", for CPUs without bf16). Queries of their
indexes go through the onnxruntime fp32 export, like "torch" and "onnx" builds."""

from __future__ import annotations

import importlib.util
import sys

import numpy as np
import pytest

from qa import Retriever, build_index
from qa.embed.calibrate import build_embedder, default_backend
from qa.embed.embedder import backend_of
from qa.embed.exports import cached_export as _cached_export
from qa.embed.onnx import OnnxEmbedder
from qa.embed.openvino import OpenVinoEmbedder
from qa.errors import ModelUnavailableError
from qa.index import Index, manifest_path, read_manifest
from qa.index.query_model import query_model_dir

MODEL = "all-MiniLM-L6-v2"

TEXTS = [
    "",
    "Hi!",
    "What did the minister say about the budget?",
    "Zürich café: naïve façade, São Paulo, Kraków — Ελληνικά, русский, 東京都, 서울, عربى.",
    "UPPER CASE HEADLINE: SHARES FALL 3.5% AFTER Q3 EARNINGS MISS",
    "The Federal Reserve raised interest rates by 25 basis points on Wednesday.",
    "0-dimensional biomaterials lack inductive properties.",
    "Tab\tseparated\nnew\nlines\r\nand CRLF",
    "word " * 300,  # truncated at 256 word pieces by both paths
    "Apple Inc. reported record revenue, said CEO Tim Cook, citing strong iPhone sales in "
    "China and India during the holiday quarter.",
    "Die Bundesregierung hat am Montag neue Klimaziele beschlossen.",
]


@pytest.fixture
def no_openvino(monkeypatch: pytest.MonkeyPatch) -> None:
    """As if the openvino package were not installed."""
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec",
        lambda name, *a, **kw: None if name == "openvino" else find_spec(name, *a, **kw),
    )
    monkeypatch.setitem(sys.modules, "openvino", None)  # `import openvino` raises ImportError


@pytest.mark.integration
def test_openvino_vectors_match_sentence_transformers() -> None:
    from sentence_transformers import SentenceTransformer

    from qa.config import resolve_model_path

    reference = SentenceTransformer(resolve_model_path(MODEL), device="cpu").encode(
        TEXTS, batch_size=8, normalize_embeddings=True
    )
    embedder = build_embedder(MODEL, "openvino")
    assert isinstance(embedder, OpenVinoEmbedder) and backend_of(embedder) == "openvino"
    assert not embedder.loaded and embedder.precision is None  # nothing compiled yet

    calls: list[tuple[int, int]] = []
    vectors = embedder.encode(TEXTS, batch_size=3, progress=lambda d, t: calls.append((d, t)))

    assert embedder.precision in ("bf16", "f32")
    assert vectors.dtype == np.float32 and vectors.shape == (len(TEXTS), 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    cosines = (vectors * reference).sum(axis=1)
    assert cosines.min() >= 0.999, dict(zip(TEXTS, cosines.round(5)))
    assert calls[-1] == (len(TEXTS), len(TEXTS))
    assert all(a[0] <= b[0] for a, b in zip(calls, calls[1:]))
    # Input order is restored whatever the batching (bf16 rounding may differ per batch).
    again = embedder.encode(TEXTS, batch_size=32, sort_by_length=False)
    assert (again * vectors).sum(axis=1).min() >= 0.9999
    assert embedder.encode([]).shape == (0, 384)


@pytest.mark.integration
def test_an_openvino_index_is_queried_with_the_onnxruntime_fp32_model(seed_corpus, tmp_path):
    index = tmp_path / "ov"
    report = build_index(seed_corpus, index, backend="openvino")

    manifest = read_manifest(index)
    assert manifest.embedding_backend == "openvino"
    assert (query_model_dir(index, MODEL, quantize=False) / "config.json").exists()
    assert not query_model_dir(index, MODEL, quantize=True).exists()
    assert report.notes == ()

    r = Retriever.open(index)
    hits = r.search("How long was the video call between Xi and Putin?", k=3)
    assert hits and r.mode == "hybrid"
    query_embedder = r._embedder
    assert type(query_embedder) is OnnxEmbedder and not query_embedder.config.quantized
    # The stored (OpenVINO) vectors agree with an onnxruntime fp32 build of the same corpus.
    build_index(seed_corpus, tmp_path / "onnx", backend="onnx")
    assert np.sum(_vectors(index) * _vectors(tmp_path / "onnx"), axis=1).min() >= 0.999


def _vectors(index):
    return Index.open(index).vectors()


def test_backends_that_give_the_same_vectors_reuse_each_others(seed_index):
    from qa.build.previous import load_previous

    name = read_manifest(seed_index).model.name  # HashEmbedder builds record "torch"
    for backend in ("torch", "onnx", "openvino"):
        previous, why = load_previous(seed_index, name, backend)
        assert previous is not None, (backend, why)
    previous, why = load_previous(seed_index, name, "onnx-int8")
    assert previous is None and "onnx-int8" in why


def test_without_openvino_the_default_is_onnx_and_nothing_is_measured(no_openvino, tmp_path,
                                                                    monkeypatch):
    from qa.build.builder import _live_backend
    from qa.embed import calibrate

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # nothing measured before
    monkeypatch.setattr(calibrate, "_memo", {})
    monkeypatch.setattr(calibrate, "measure_backends", None)  # calling it would fail
    assert calibrate.candidates() == ("onnx",)
    assert default_backend() == "onnx"
    assert _live_backend(tmp_path / "new") == "onnx"


def test_openvino_backend_without_the_package_is_a_clear_error(no_openvino, seed_corpus, tmp_path,
                                                              capsys):
    from qa.cli import main

    with pytest.raises(ModelUnavailableError, match="pip install openvino.*--runtime torch"):
        build_embedder(MODEL, "openvino")
    code = main(["index", "--corpus", str(seed_corpus), "--index", str(tmp_path / "ix"),
                 "--runtime", "openvino"])
    assert code != 0
    err = capsys.readouterr().err
    assert "pip install openvino" in err and "Traceback" not in err
    assert not manifest_path(tmp_path / "ix").exists()


@pytest.mark.integration
def test_openvino_failing_at_load_is_model_unavailable(no_openvino):
    embedder = OpenVinoEmbedder(_cached_export(MODEL))  # constructed: reads config.json only
    with pytest.raises(ModelUnavailableError, match="pip install openvino.*--runtime torch"):
        embedder.encode(["x"])
    assert not embedder.loaded


@pytest.mark.integration
def test_openvino_int8_vectors_stay_within_cosine_099_of_fp32_on_real_news_chunks():
    """The quality gate of the int8 build path, on chunks it was not calibrated on: every
    chunk of the seed corpus (real news), embedded as the build embeds it."""
    from conftest import SEED_CORPUS
    from sentence_transformers import SentenceTransformer

    from qa.build.builder import CHUNKING
    from qa.config import resolve_model_path
    from qa.corpus.chunking import chunk_article
    from qa.corpus.ingest import load_corpus
    from qa.embed.chunk_input import embedding_input

    articles, _ = load_corpus(SEED_CORPUS)
    texts = [embedding_input(a.title, c.text) for a in articles
             for c in chunk_article(a, target_words=CHUNKING["target_words"],
                                    max_words=CHUNKING["max_words"],
                                    overlap_sentences=CHUNKING["overlap_sentences"])]
    assert len(texts) >= 10
    reference = SentenceTransformer(resolve_model_path(MODEL), device="cpu").encode(
        texts, batch_size=16, normalize_embeddings=True)

    embedder = build_embedder(MODEL, "openvino-int8")
    vectors = embedder.encode(texts)

    assert backend_of(embedder) == "openvino-int8" and embedder.precision == "int8+f32"
    cosines = (vectors * reference).sum(axis=1)
    assert cosines.min() >= 0.99, sorted(cosines.round(4))[:5]
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


@pytest.mark.integration
def test_an_openvino_int8_index_records_its_backend_and_is_queried_in_fp32(seed_corpus, tmp_path):
    index = tmp_path / "ov-int8"
    build_index(seed_corpus, index, backend="openvino-int8")

    assert read_manifest(index).embedding_backend == "openvino-int8"
    assert (query_model_dir(index, MODEL, quantize=False) / "config.json").exists()
    r = Retriever.open(index)
    hits = r.search("How long was the video call between Xi and Putin?", k=3)
    assert hits and r.mode == "hybrid"
    assert type(r._embedder) is OnnxEmbedder and not r._embedder.config.quantized
    # int8 vectors are close to fp32 ones, not equal: switching to or from it rebuilds.
    from qa.build.previous import load_previous

    previous, why = load_previous(index, MODEL, "openvino")
    assert previous is None and "openvino" in why


def test_openvino_and_nncf_write_no_telemetry_id_into_home(tmp_path) -> None:
    """Importing nncf (the openvino-int8 backend) made openvino_telemetry write a client id
    under ~/intel/ and count uses there (issue 22): qa writes only what it owns."""
    import os
    import subprocess

    if importlib.util.find_spec("nncf") is None:
        pytest.skip("nncf is not installed")
    home = tmp_path / "home"
    home.mkdir()
    code = ("import qa.embed.openvino, nncf, openvino\n"
            "from openvino.tools import ovc\n"
            "print('imported')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "HOME": str(home)})
    assert done.returncode == 0 and "imported" in done.stdout, done.stderr
    assert sorted(p.name for p in home.iterdir()) == []
