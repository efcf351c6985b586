"""One answer, one generation (issue 14, "High"): searches and answers running in threads
while another thread reloads through rebuilds each equal what one generation gives, exactly.
"""

from __future__ import annotations

import shutil
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import SEED_CORPUS, HashEmbedder

from qa import Assistant, Retriever, build_index
from qa.citation import locate_citation
from qa.errors import IndexChangedError

QUESTIONS = ("What did Zhao Lijian say about NATO?", "Who is Katrina Yu?",
             "What did the US say China could do?", "What did Xi say in December?")
ROUNDS = 8  # rebuilds by the writer
SECONDS = 60  # and never longer than this


def _variant(corpus: Path, n: int) -> None:
    """Corpus variant n: the seed articles, with one of them edited so that offsets, chunks
    and scores all change between variants."""
    shutil.rmtree(corpus, ignore_errors=True)
    shutil.copytree(SEED_CORPUS, corpus)
    if n % 2:
        path = sorted(corpus.glob("*.md"))[1]
        text = path.read_text()
        head, sep, body = text.partition("\n---\n")
        path.write_text(head + sep + "Zhao Lijian said NATO should change course at once. "
                        "Katrina Yu reported it from Beijing.\n\n" + body)


def _search_key(hits) -> tuple:
    return tuple((h.article_id, h.start, h.end, h.text, round(h.score, 9)) for h in hits)


def _answer_key(answer) -> tuple:
    """What a reader sees: the text, the citations with their dates, and the notes and date
    range the answer states (the chat printed a new generation's citation beside the old
    one's "no article of that month" note)."""
    return (answer.text, answer.abstained, answer.date_range, answer.notes,
            answer.generation is not None,
            tuple((c.article_id, c.start, c.end, c.text, c.date) for c in answer.citations))


def _references(tmp_path: Path) -> dict[str, set[tuple]]:
    refs: dict[str, set[tuple]] = {"search": set(), "ask": set()}
    for n in (0, 1):
        corpus, index = tmp_path / f"ref{n}-corpus", tmp_path / f"ref{n}-index"
        _variant(corpus, n)
        build_index(corpus, index, embedder=HashEmbedder())
        r = Retriever.open(index, embedder=HashEmbedder())
        a = Assistant(r)
        for q in QUESTIONS:
            refs["search"].add((q, _search_key(r.search(q, k=5))))
            refs["ask"].add((q, _answer_key(a.ask(q))))
    return refs


def test_searches_and_answers_during_reloads_each_come_from_one_generation(tmp_path):
    refs = _references(tmp_path)
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    _variant(corpus, 0)
    build_index(corpus, index, embedder=HashEmbedder())
    retriever = Retriever.open(index, embedder=HashEmbedder())
    assistant = Assistant(retriever)
    deadline = time.monotonic() + SECONDS
    stop = threading.Event()
    seen = {"search": 0, "ask": 0, "changed": 0}
    wrong: list[str] = []
    errors: list[BaseException] = []

    def reader(kind: str) -> None:
        i = 0
        while not stop.is_set() and time.monotonic() < deadline and i < 2000:
            q = QUESTIONS[i % len(QUESTIONS)]
            i += 1
            try:
                if kind == "search":
                    key = (q, _search_key(retriever.search(q, k=5)))
                else:
                    key = (q, _answer_key(assistant.ask(q)))
            except IndexChangedError:
                seen["changed"] += 1  # a generation two builds old vanished: ask again
                continue
            except BaseException as exc:  # noqa: BLE001 - any error is a failure here
                errors.append(exc)
                return
            seen[kind] += 1
            if key not in refs[kind]:
                wrong.append(f"{kind}: {key[0]!r} matches neither generation")

    threads = [threading.Thread(target=reader, args=(k,)) for k in ("search", "search", "ask")]
    for t in threads:
        t.start()
    try:
        for n in range(1, ROUNDS + 1):
            if time.monotonic() > deadline:
                break
            _variant(corpus, n)
            build_index(corpus, index, embedder=HashEmbedder())
            assert retriever.reload_if_changed()
            time.sleep(0.05)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=SECONDS)
    assert not errors, errors[:3]
    assert not wrong, wrong[:3]
    assert seen["search"] > 20 and seen["ask"] > 5, seen


def test_a_pinned_retriever_keeps_its_generation_across_a_reload(tmp_path):
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    _variant(corpus, 0)
    build_index(corpus, index, embedder=HashEmbedder())
    retriever = Retriever.open(index, embedder=HashEmbedder())
    pinned = retriever.pinned()
    before = _search_key(pinned.search(QUESTIONS[0]))
    _variant(corpus, 1)
    build_index(corpus, index, embedder=HashEmbedder())
    assert retriever.reload_if_changed() and not pinned.reload_if_changed()
    assert pinned.generation != retriever.generation
    assert _search_key(pinned.search(QUESTIONS[0])) == before
    assert _search_key(retriever.search(QUESTIONS[0])) != before


def test_an_index_rebuilt_by_another_process_is_picked_up_not_called_damaged(tmp_path):
    """Two full builds elsewhere delete the segments a reader opened; its first quote lookup
    said "run `qa index --full`" (wrong: the index is fine). Now: IndexChangedError, and a
    reload answers."""
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    _variant(corpus, 0)
    build_index(corpus, index, embedder=HashEmbedder())
    retriever = Retriever.open(index, embedder=HashEmbedder())
    for n in (1, 2):
        _variant(corpus, n)
        build_index(corpus, index, embedder=HashEmbedder(), full=True)
    with pytest.raises(IndexChangedError, match="Ask again") as raised:
        retriever.quotes("Kritenbrink")
    assert "--full" not in str(raised.value)
    assert retriever.reload_if_changed()
    assert retriever.quotes("Kritenbrink")


def test_a_citation_is_found_again_after_its_article_changed(real_text="One. Two three. Four."):
    from qa.types import Citation

    c = Citation(n=1, article_id="a", title="t", date=None, source="", url=None,
                 text="Two three.", start=5, end=15, score=1.0, chunk_text=real_text,
                 chunk_start=0, chunk_end=len(real_text))
    assert locate_citation(c, real_text) == c
    moved = locate_citation(c, "New first line. " + real_text)
    assert moved is not None and moved.start == 21 and moved.end == 31
    assert ("New first line. " + real_text)[moved.start:moved.end] == c.text
    assert locate_citation(c, "Entirely rewritten.") is None
    assert locate_citation(replace(c, text="", start=3, end=4), "abcdef") is None


def test_a_reader_keeps_its_segments_through_updates(tmp_path):
    """Updates write new segments and leave the old ones as they are: a reader that opened
    the index before two updates still answers from the set of segments it opened, exactly
    as before, quotes included (they load on first use)."""
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    _variant(corpus, 0)
    build_index(corpus, index, embedder=HashEmbedder())
    reader = Retriever.open(index, embedder=HashEmbedder())
    fresh = Retriever.open(index, embedder=HashEmbedder())
    before = [_search_key(fresh.search(q, k=5)) for q in QUESTIONS]
    quotes_before = fresh.quotes("Kritenbrink")
    for n in (1, 2, 3):
        _variant(corpus, n)
        build_index(corpus, index, embedder=HashEmbedder())
    assert reader.quotes("Kritenbrink") == quotes_before
    assert [_search_key(reader.search(q, k=5)) for q in QUESTIONS] == before
    assert reader.reload_if_changed()
    assert [_search_key(reader.search(q, k=5)) for q in QUESTIONS] != before
