"""The ONNX export gives sentence-transformers' vectors without importing torch at query time."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from qa.embed.onnx import CONFIG_FILE, OnnxEmbedder
from qa.embed.onnx_export import export_onnx
from qa.errors import ModelUnavailableError

pytestmark = pytest.mark.integration

MODEL = "all-MiniLM-L6-v2"
ROOT = Path(__file__).resolve().parents[2]

LONG = " ".join(
    f"Paragraph {i}: the committee reviewed the quarterly figures, questioned the minister "
    "about subsidies and adjourned until the following Tuesday." for i in range(40)
)  # ~800 word pieces: truncated at 256 by both paths
TEXTS = [
    "",
    "a",
    "Hi!",
    "What did the minister say about the budget?",
    "Zürich café: naïve façade, São Paulo, Kraków — Ελληνικά, русский, 東京都, 서울, عربى.",
    "emoji 🎉🚀 and symbols ©®™ ½ ∑ ∞",
    "[bold]markup[/] <b>html</b> \x1b[31mred\x1b[0m",
    "   leading and trailing whitespace   ",
    "UPPER CASE HEADLINE: SHARES FALL 3.5% AFTER Q3 EARNINGS MISS",
    "The Federal Reserve raised interest rates by 25 basis points on Wednesday.",
    "0-dimensional biomaterials lack inductive properties.",
    "Numbers 1,234,567.89 and dates 2024-01-15, 15/01/2024.",
    "Tab\tseparated\nnew\nlines\r\nand CRLF",
    LONG,
    LONG[: len(LONG) // 3],
    "word " * 300,
    "Apple Inc. reported record revenue, said CEO Tim Cook, citing strong iPhone sales in "
    "China and India during the holiday quarter.",
    "Die Bundesregierung hat am Montag neue Klimaziele beschlossen.",
    "supercalifragilisticexpialidocious antidisestablishmentarianism",
    "?",
]


@pytest.fixture(scope="module")
def st_vectors() -> np.ndarray:
    from sentence_transformers import SentenceTransformer

    from qa.config import resolve_model_path

    model = SentenceTransformer(resolve_model_path(MODEL), device="cpu")
    return model.encode(TEXTS, batch_size=8, normalize_embeddings=True)


@pytest.fixture(scope="module")
def fp32_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export_onnx(MODEL, tmp_path_factory.mktemp("onnx") / "model")


def test_vectors_match_sentence_transformers(fp32_dir: Path, st_vectors: np.ndarray) -> None:
    embedder = OnnxEmbedder(fp32_dir, threads=2)
    calls: list[tuple[int, int]] = []
    # A small batch size and mixed lengths exercise the sort-and-restore order.
    vectors = embedder.encode(TEXTS, batch_size=6, progress=lambda d, t: calls.append((d, t)))

    assert vectors.dtype == np.float32
    assert vectors.shape == (len(TEXTS), 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    cosines = (vectors * st_vectors).sum(axis=1)
    assert cosines.min() >= 0.999, dict(zip(TEXTS, cosines.round(5)))
    assert calls[-1] == (len(TEXTS), len(TEXTS))
    # Same vectors whatever the batching.
    np.testing.assert_allclose(
        embedder.encode(TEXTS, batch_size=32, sort_by_length=False), vectors, atol=1e-5
    )


def test_config_names_the_source_model(fp32_dir: Path) -> None:
    embedder = OnnxEmbedder(fp32_dir)
    config = json.loads((fp32_dir / CONFIG_FILE).read_text())

    assert embedder.name == MODEL  # the manifest name, so an index built either way opens
    assert embedder.dim == 384
    assert not embedder.loaded  # construction reads config.json only
    assert config["max_length"] == 256 and config["pooling"] == "mean"
    assert len(config["onnx_sha256"]) == 64
    assert embedder.encode([]).shape == (0, 384)


def test_query_path_imports_no_torch(fp32_dir: Path) -> None:
    script = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from qa.embed.onnx import OnnxEmbedder
        vectors = OnnxEmbedder(Path({str(fp32_dir)!r})).encode(["Who won the election?"])
        assert vectors.shape == (1, 384), vectors.shape
        heavy = sorted(m for m in ("torch", "transformers", "sentence_transformers")
                       if m in sys.modules)
        print(",".join(heavy) or "none")
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "none"


def test_re_export_replaces_the_folder_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "model"
    target.mkdir()
    (target / "stale.txt").write_text("from an older export")

    export_onnx(MODEL, target)

    assert not (target / "stale.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]
    assert OnnxEmbedder(target).encode(["x"]).shape == (1, 384)


def test_missing_or_broken_export_raises_model_unavailable(tmp_path: Path, fp32_dir: Path) -> None:
    with pytest.raises(ModelUnavailableError, match="qa index --full"):
        OnnxEmbedder(tmp_path / "nowhere")

    broken = tmp_path / "broken"
    broken.mkdir()
    for name in ("config.json", "tokenizer.json"):
        (broken / name).write_bytes((fp32_dir / name).read_bytes())
    (broken / "model.onnx").write_bytes((fp32_dir / "model.onnx").read_bytes()[:1000])
    embedder = OnnxEmbedder(broken)
    with pytest.raises(ModelUnavailableError, match="could not be loaded"):
        embedder.encode(["x"])


def test_int8_stays_close_but_is_opt_in(tmp_path: Path, st_vectors: np.ndarray) -> None:
    # int8 is not the default (see docs/benchmarks.md); when chosen, its vectors must stay
    # within what was measured on SciFact chunks (min cosine ~0.99).
    folder = export_onnx(MODEL, tmp_path / "int8", quantize=True)
    embedder = OnnxEmbedder(folder)
    cosines = (embedder.encode(TEXTS) * st_vectors).sum(axis=1)

    assert embedder.config.quantized and embedder.config.onnx_file == "model-int8.onnx"
    assert cosines.mean() >= 0.98, dict(zip(TEXTS, cosines.round(4)))
    assert cosines.min() >= 0.95, dict(zip(TEXTS, cosines.round(4)))
