"""A headless core: the library never imports textual, and opening an index or searching
BM25-only never imports torch or sentence-transformers (seconds of start-up)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

HEAVY = ("textual", "torch", "sentence_transformers", "transformers")


def _loaded_after(code: str) -> set[str]:
    probe = textwrap.dedent(code) + textwrap.dedent(
        f"""
        import sys
        print(",".join(m for m in {HEAVY!r} if m in sys.modules))
        """
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    last = out.stdout.rstrip("\n").split("\n")[-1]
    return set(filter(None, last.split(",")))


def test_import_qa_is_light():
    assert _loaded_after("import qa, qa.cli, qa.search.retriever, qa.build.builder, qa.index, qa.corpus.ingest") == set()


def test_open_and_bm25_search_need_no_model_libraries(seed_index):
    loaded = _loaded_after(
        f"""
        import sys; sys.path.insert(0, {str(seed_index.parent.parent)!r})
        from qa import Retriever
        from qa.embed.embedder import SentenceTransformerEmbedder
        r = Retriever.open({str(seed_index)!r}, embedder=SentenceTransformerEmbedder("test-hash-64"))
        assert r.search("Katrina Yu", k=2, mode="bm25")
        """
    )
    assert loaded == set()


def test_core_modules_never_import_textual():
    from pathlib import Path

    import qa

    for path in Path(qa.__file__).parent.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "import textual" not in text and "from textual" not in text, path.name


def test_a_hybrid_question_never_imports_torch(real_seed_index):
    """The built index carries an ONNX export of the model: questions run without torch."""
    loaded = _loaded_after(
        f"""
        from qa import Retriever
        r = Retriever.open({str(real_seed_index)!r})
        hits = r.search("How long was the video call between Xi and Putin?", k=3)
        assert r.mode == "hybrid", r.fallback_reason
        assert any("90-minute video call" in h.text for h in hits)
        """
    )
    assert loaded == set()


def test_the_question_parse_loads_spacy_without_its_command_line_or_torch():
    """spaCy's own import of `spacy.cli` (typer, requests, httpx, jinja2, weasel: a third of
    its import time) and thinc's of torch are skipped; `spacy.info` and `import spacy.cli`
    still work afterwards, and a load started in the background is the one the parse uses."""
    probe = textwrap.dedent(
        """
        import sys
        from qa.corpus import nlp
        nlp.load_in_background()
        doc = nlp.parse_question("Which company did Ada Lovelace found in London?")
        assert [e.label_ for e in doc.ents] and nlp.load_pipeline() is nlp.load_pipeline()
        print(",".join(m for m in ("torch", "typer", "requests", "httpx", "jinja2", "weasel",
                                   "spacy.cli") if m in sys.modules))
        import spacy, spacy.cli
        assert spacy.cli.__file__ and callable(spacy.info)
        """
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", out.stdout


def test_an_answer_never_imports_scipy_nor_faiss_on_a_small_index(real_seed_index):
    """SciPy (with the numpy submodules its array layer touches, ~0.1 s of a cold `qa ask`)
    serves builds and merges only: a question's BM25 scores are one `np.bincount`. FAISS
    (~30 ms) is not imported while every segment is small enough to be scored exactly."""
    probe = textwrap.dedent(
        f"""
        import sys
        from qa import Retriever
        from qa.answer import Assistant
        r = Retriever.open({str(real_seed_index)!r})
        answer = Assistant(r).ask("How long was the video call between Xi and Putin?")
        assert answer.citations, answer
        assert r.search("video call", k=2, mode="bm25")
        print("scipy" in sys.modules, "faiss" in sys.modules)
        """
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().split("\n")[-1] == "False False", out.stdout
