"""The build backend is chosen by measuring this machine once, then remembered per CPU and
library versions; an explicit backend always wins."""

from __future__ import annotations

import json

import pytest

from qa.embed import calibrate
from qa.embed.calibrate import Choice, Cpu, choose_backend, decide

_installed_candidates = calibrate.candidates  # the real one: the fixture below replaces it


@pytest.fixture(autouse=True)
def cache_home(tmp_path, monkeypatch):
    """A private XDG cache and no choice remembered in this process."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(calibrate, "_memo", {})
    monkeypatch.setattr(calibrate, "candidates", lambda: ("onnx", "openvino", "openvino-int8"))
    return tmp_path / "cache"


class FakeMeasure:
    def __init__(self, speeds: dict[str, float], failed: dict[str, str] | None = None) -> None:
        self.speeds, self.failed, self.calls = speeds, failed or {}, []

    def __call__(self, backends, texts):
        self.calls.append((tuple(backends), len(texts)))
        return {b: s for b, s in self.speeds.items() if b in backends}, self.failed


def test_the_fastest_wins_but_int8_only_by_a_margin() -> None:
    assert decide({"onnx": 10, "openvino": 17, "openvino-int8": 40}).backend == "openvino-int8"
    # Within 15% of the best exact backend: the exact one, whose vectors equal fp32's.
    assert decide({"onnx": 10, "openvino": 17, "openvino-int8": 19}).backend == "openvino"
    assert decide({"onnx": 20, "openvino": 17}).backend == "onnx"
    assert decide({}, {"onnx": "export failed"}).backend == "torch"
    reason = decide({"onnx": 10, "openvino-int8": 30}).reason
    assert "openvino-int8 30.0" in reason and "onnx 10.0" in reason


def test_measured_once_then_read_from_the_cache(cache_home, monkeypatch) -> None:
    measure = FakeMeasure({"onnx": 10.0, "openvino": 12.0, "openvino-int8": 30.0})
    first = choose_backend("all-MiniLM-L6-v2", measure=measure)
    assert first.backend == "openvino-int8"
    assert measure.calls == [(("onnx", "openvino", "openvino-int8"), calibrate.SAMPLE)]
    assert "this CPU" in first.reason and first.chunks_per_s["openvino-int8"] == 30.0

    monkeypatch.setattr(calibrate, "_memo", {})  # a new process
    again = choose_backend("all-MiniLM-L6-v2", measure=measure)
    assert again == first and len(measure.calls) == 1
    saved = json.loads((cache_home / "qa" / "backend.json").read_text())
    assert list(saved["machines"].values())[0]["backend"] == "openvino-int8"


def test_another_cpu_or_library_version_measures_again(monkeypatch) -> None:
    measure = FakeMeasure({"onnx": 10.0, "openvino": 25.0})
    assert choose_backend("m", measure=measure).backend == "openvino"
    monkeypatch.setattr(calibrate, "_memo", {})
    monkeypatch.setattr(calibrate, "cpu", lambda: Cpu("Other CPU", ("avx2", "fma")))
    measure.speeds = {"onnx": 10.0, "openvino": 9.0}
    assert choose_backend("m", measure=measure).backend == "onnx"
    assert len(measure.calls) == 2

    real_version = calibrate.importlib.metadata.version
    monkeypatch.setattr(calibrate, "_memo", {})
    monkeypatch.setattr(calibrate.importlib.metadata, "version",
                        lambda p: "99.0" if p == "openvino" else real_version(p))
    choose_backend("m", measure=measure)
    assert len(measure.calls) == 3


def test_a_backend_that_cannot_load_is_left_out_with_its_reason() -> None:
    measure = FakeMeasure({"onnx": 10.0}, {"openvino-int8": "nncf is missing"})
    choice = choose_backend("m", measure=measure)
    assert choice.backend == "onnx" and choice.failed == {"openvino-int8": "nncf is missing"}


def test_a_damaged_or_unwritable_cache_only_costs_a_measurement(cache_home, monkeypatch) -> None:
    path = cache_home / "qa" / "backend.json"
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    measure = FakeMeasure({"onnx": 10.0, "openvino": 20.0})
    assert choose_backend("m", measure=measure).backend == "openvino"
    assert json.loads(path.read_text())["version"] == calibrate.CACHE_VERSION

    monkeypatch.setattr(calibrate, "_memo", {})
    monkeypatch.setenv("XDG_CACHE_HOME", "/proc/no-such-place")  # cannot be written
    assert choose_backend("m", measure=measure).backend == "openvino"


@pytest.mark.parametrize("missing, expected", [
    ((), ("onnx", "openvino", "openvino-int8")),
    (("nncf",), ("onnx", "openvino")),
    (("openvino",), ("onnx",)),
])
def test_the_candidates_are_the_checked_backends_whose_packages_are_installed(
        monkeypatch, missing, expected) -> None:
    """openvino-int8 is measured like the others (its SciFact nDCG@10 is within 0.005 of
    fp32's); it needs nncf to quantise and openvino to run."""
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name in missing else real(name, *a))
    assert _installed_candidates() == expected


def test_without_openvino_the_only_candidate_is_taken_without_measuring(monkeypatch) -> None:
    monkeypatch.setattr(calibrate, "candidates", lambda: ("onnx",))
    measure = FakeMeasure({})
    assert choose_backend("m", measure=measure).backend == "onnx" and measure.calls == []


def test_an_explicit_backend_is_never_second_guessed(monkeypatch) -> None:
    from qa.embed.embedder import SentenceTransformerEmbedder

    def no_calibration(*a, **kw):
        raise AssertionError("calibrated although a backend was given")

    monkeypatch.setattr(calibrate, "choose_backend", no_calibration)
    assert isinstance(calibrate.build_embedder("all-MiniLM-L6-v2", "torch"),
                      SentenceTransformerEmbedder)
    monkeypatch.setenv("QA_RUNTIME", "torch")
    assert isinstance(calibrate.build_embedder("all-MiniLM-L6-v2", None),
                      SentenceTransformerEmbedder)
    monkeypatch.delenv("QA_RUNTIME")
    monkeypatch.setattr(calibrate, "choose_backend",
                        lambda model, **kw: Choice("openvino-int8", "measured"))
    assert calibrate.default_backend() == "openvino-int8"


def test_cpu_describes_what_the_runtimes_can_use() -> None:
    here = calibrate.cpu()
    assert here.model and set(here.flags) <= set(calibrate.FLAGS)
    text = Cpu("Some Xeon", ("avx2", "fma", "avx512f", "avx512_vnni")).describe()
    assert text == "Some Xeon; avx2 fma avx512f avx512_vnni (no avx512_bf16, no amx_bf16)"


def test_calibration_text_is_invented_news_chunks_shaped_like_a_builds() -> None:
    """qa/embed/calibration_text.jsonl: 64 news chunks written for qa (no corpus's text), each
    the shape a build embeds (title, newline, chunk text) and spread in length like a news
    build's chunks (the Wikinews chunks it replaced: words 44/162/168.5/176/212 min/quartiles/
    max, word pieces 61/204/218.5/241.5/453, 10 of 64 past 256), so that int8 calibration and
    the backend timing see the shapes a build gives them."""
    import importlib.resources
    import statistics
    from pathlib import Path

    from tokenizers import Tokenizer

    from qa.build.parts import CHUNKING
    from qa.config import resolve_model_path
    from qa.embed.chunk_input import embedding_input
    from qa.embed.exports import calibration_texts

    texts = calibration_texts(64)
    assert len(texts) == 64 and len(set(texts)) == 64
    raw = importlib.resources.files("qa.embed").joinpath("calibration_text.jsonl").read_text("utf-8")
    rows = [json.loads(line) for line in raw.splitlines() if line.strip()]
    assert [r["text"] for r in rows] == texts
    for row in rows:
        assert set(row) == {"title", "text"}  # no url: nothing is quoted from a site
        title, text = row["title"], row["text"]
        body = text.removeprefix(f"{title}\n")
        assert title and "\n" not in title and body != text and body.strip(), title
        assert text == embedding_input(title, body)
        assert len(body.split()) <= CHUNKING["max_words"] + 10, title  # a chunk, not an article
        assert "http" not in text and "www." not in text

    words = [len(t.split()) for t in texts]
    q1, median, q3 = statistics.quantiles(words, n=4)
    assert min(words) >= 20 and sum(w < 100 for w in words) >= 4  # a few short chunks
    assert 145 <= q1 <= median <= q3 <= 200 and 150 <= median <= 190 and max(words) <= 230

    model_dir = Path(resolve_model_path("all-MiniLM-L6-v2"))
    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tokenizer.no_truncation()
    pieces = [len(e.ids) for e in tokenizer.encode_batch(texts)]  # [CLS] and [SEP] included
    q1, median, q3 = statistics.quantiles(pieces, n=4)
    assert 185 <= q1 <= median <= q3 <= 260 and 200 <= median <= 240
    # Most within the model's 256 word pieces, some close to it, and a few past it (the
    # tokenizer truncates those, as it does a build's longest chunks).
    assert sum(240 < p <= 256 for p in pieces) >= 3
    assert 3 <= sum(p > 256 for p in pieces) <= 12 and max(pieces) <= 512


def test_qa_config_shows_the_runtime_and_why(capsys, monkeypatch) -> None:
    from qa.cli import main

    monkeypatch.delenv("QA_RUNTIME", raising=False)
    assert main(["config"]) == 0
    line = [x for x in capsys.readouterr().out.splitlines() if x.startswith("runtime")][0]
    assert line.split()[1:5] == ["=", "(not", "measured", "yet)"], line

    choose_backend("all-MiniLM-L6-v2", measure=FakeMeasure({"onnx": 10.0, "openvino": 21.0}))
    assert main(["config"]) == 0
    line = [x for x in capsys.readouterr().out.splitlines() if x.startswith("runtime")][0]
    assert "openvino" in line and "openvino 21.0, onnx 10.0 chunks/s" in line

    monkeypatch.setenv("QA_RUNTIME", "torch")
    assert main(["config", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)["settings"]["runtime"]
    assert shown == {"value": "torch", "source": "QA_RUNTIME", "env": "QA_RUNTIME"}


def test_the_int8_recipe_follows_the_calibration_text(monkeypatch) -> None:
    """An edit to the calibration text names a new int8 recipe (a new cached model, and the
    backend measured again), with no version to bump by hand."""
    from qa.embed import exports

    before = exports.ov_int8_recipe()
    assert exports.ov_int8_recipe() == before
    raw = exports._calibration_file()
    monkeypatch.setattr(exports, "_calibration_file", lambda: raw + b"\n")
    assert exports.ov_int8_recipe() != before
