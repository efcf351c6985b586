"""Search: the real model on the seed corpus, fusion, filters, fallback, bad queries."""

from __future__ import annotations

import pytest
from conftest import HashEmbedder

from qa import QueryError, Retriever
from qa.dates import DateRange, read_range
from qa.errors import ModelUnavailableError


@pytest.mark.integration
@pytest.mark.parametrize(
    "question, answer",
    [
        ("Who is Katrina Yu?", "Katrina Yu, Al Jazeera’s correspondent"),
        ("How long was the video call between Xi and Putin?", "90-minute video call"),
        ("What did Zhao Lijian say NATO should abandon?", "abandon the outdated Cold War mentality"),
    ],
)
def test_top3_hybrid_hits_contain_the_answer(real_retriever, question, answer):
    hits = real_retriever.search(question, k=3)
    assert real_retriever.mode == "hybrid" and real_retriever.fallback_reason is None
    assert any(answer in h.text for h in hits), [h.text[:80] for h in hits]
    assert {h.via for h in hits} <= {"dense", "bm25", "both"}
    assert [h.rank for h in hits] == [1, 2, 3]
    assert hits[0].score >= hits[1].score >= hits[2].score


@pytest.mark.integration
def test_hits_point_at_exact_article_spans(real_retriever):
    for h in real_retriever.search("China Russia NATO expansion", k=10):
        art = real_retriever.article(h.article_id)
        assert art.text[h.start : h.end] == h.text
        assert h.title == art.title and h.date == art.date
        for s, e in h.sentences:
            assert h.start <= s < e <= h.end


@pytest.mark.integration
def test_dense_alone_finds_meaning_without_shared_words(real_retriever):
    hits = real_retriever.search("length of the virtual summit between the two presidents", k=3, mode="dense")
    assert all(h.via == "dense" for h in hits)
    assert any("video call" in h.text or "virtual conference" in h.text for h in hits)


def test_date_filters(seed_index):
    r = Retriever.open(seed_index, embedder=HashEmbedder())
    hits = r.search("China Russia", k=50, dates=DateRange("2022-02-01", "2022-02-28"))
    assert hits and {h.date for h in hits} <= {"2022-02-05", "2022-02-26"}
    hits = r.search("China Russia", k=50, dates=read_range(until="2021-12"))
    assert hits and {h.date for h in hits} == {"2021-12-17"}
    assert r.search("China Russia", k=5, dates=DateRange(since="2030-01-01")) == []
    with pytest.raises(QueryError, match="YYYY-MM-DD"):
        read_range(since="last tuesday")


def test_relative_dates_leave_out_articles_dated_in_the_future(tmp_path, make_index,
                                                               monkeypatch):
    """One article dated 9999-12-31 (or next year) is not the corpus's newest day: relative
    dates still read, and with relative_dates = "newest-article" count from the real one."""
    import datetime as dt

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, date in (("a", "2020-05-01"), ("b", "2020-05-20"), ("stray", "9999-12-31"),
                       ("next", (dt.date.today() + dt.timedelta(days=400)).isoformat())):
        (corpus / f"{name}.md").write_text(
            f"---\ntitle: Harbour news {name}\ndate: {date}\n---\n\nThe harbour board met on "
            f"the pier to discuss the ferry timetable {name}.\n", encoding="utf-8")
    r = Retriever.open(make_index(corpus), embedder=HashEmbedder())
    assert r.latest_date == "2020-05-20"
    assert r.dates_near(DateRange("2020-05-02", "2020-05-19")) == ("2020-05-01", "2020-05-20")
    today = dt.date.today()
    assert r.reference_day() == today  # the default counts from today
    monkeypatch.setenv("QA_RELATIVE_DATES", "newest-article")
    week = read_range(since="last week", until="today", reference=r.reference_day())
    assert week == DateRange("2020-05-14", "2020-05-20")
    assert {h.date for h in r.search("harbour ferry", k=10, dates=week)} == {"2020-05-20"}


def test_k_larger_than_the_index_returns_every_match(seed_index):
    r = Retriever.open(seed_index, embedder=HashEmbedder())
    hits = r.search("China", k=10_000)
    assert 0 < len(hits) <= r.stats.chunks
    assert len({h.chunk_id for h in hits}) == len(hits)


@pytest.mark.parametrize("query", ["", "   ", "\n\t"])
def test_empty_query_is_a_clear_error(seed_index, query):
    r = Retriever.open(seed_index, embedder=HashEmbedder())
    with pytest.raises(QueryError, match="empty"):
        r.search(query)


def test_stopword_only_query_in_bm25_mode(seed_index):
    r = Retriever.open(seed_index, embedder=HashEmbedder())
    with pytest.raises(QueryError, match="no searchable words"):
        r.search("what is the ?", mode="bm25")


class BrokenModel(HashEmbedder):
    loaded = False

    def encode(self, texts, **kw):
        raise ModelUnavailableError("The embedding model 'x' could not be loaded (OSError: gone).")


def test_falls_back_to_bm25_when_the_model_cannot_load_and_says_so(seed_index):
    r = Retriever.open(seed_index, embedder=BrokenModel())
    hits = r.search("What did Zhao Lijian say about NATO?", k=3)
    assert hits and all(h.via == "bm25" for h in hits)
    assert r.mode == "bm25" and "could not be loaded" in r.fallback_reason
    assert "Zhao Lijian" in hits[0].text


def test_falls_back_to_bm25_when_the_dense_part_is_missing(seed_index):
    from qa.index import part_path

    part_path(seed_index, "dense.vectors").unlink()  # exact search is made from the vectors
    r = Retriever.open(seed_index, embedder=HashEmbedder())
    hits = r.search("Katrina Yu", k=2)
    assert all(h.via == "bm25" for h in hits) and "no dense part" in r.fallback_reason
    assert not r.stats.dense


def test_bm25_mode_never_touches_the_model(seed_index):
    r = Retriever.open(seed_index, embedder=BrokenModel())
    hits = r.search("Katrina Yu", k=2, mode="bm25")
    assert hits and r.fallback_reason is None


def test_quotes_by_speaker(seed_index):
    r = Retriever.open(seed_index, embedder=HashEmbedder())
    quotes = r.quotes("Kritenbrink")
    assert quotes and all("Kritenbrink" in q.speaker for q in quotes)
    for q in quotes:
        text = r.article(q.article_id).text
        assert text[q.start : q.end] == q.text
        assert q.sentence[0] <= q.start and q.end <= q.sentence[1]


def test_quote_lookups_by_article_and_by_name_agree_with_the_full_list(seed_index):
    r = Retriever.open(seed_index, embedder=HashEmbedder())
    everything = r.quotes()
    assert len(everything) > 5
    by_article = [q for a in r.articles() for q in r.quotes_in(a.id)]
    assert by_article == everything
    assert r.quotes_in("no-such-article") == []
    names = r.speakers()
    assert set(names) == {q.speaker for q in everything}
    one = names[0]
    assert r.quotes_by([one]) == [q for q in everything if q.speaker == one]
    assert r.quotes_by([]) == [] and r.quotes_by(["Nobody Atall"]) == []


def test_reload_picks_up_a_new_build(seed_corpus, seed_index):
    from qa import build_index

    r = Retriever.open(seed_index, embedder=HashEmbedder())
    assert r.reload_if_changed() is False
    (seed_corpus / "x.md").write_text("---\ntitle: Tulips\n---\nTulip growers in Lisse held a parade.\n")
    build_index(seed_corpus, seed_index, embedder=HashEmbedder())
    assert r.reload_if_changed() is True
    assert r.search("tulip parade Lisse", k=1, mode="bm25")[0].title == "Tulips"


def test_large_indexes_use_ivf_and_agree_with_exact_search(tmp_path, monkeypatch):
    """Above the threshold the dense part is IVF-SQ8; it must find what exact search finds."""
    import csv
    import json

    from conftest import SHARED

    from qa import build_index
    from qa.index import dense

    csv.field_size_limit(10**8)
    corpus = tmp_path / "c"
    corpus.mkdir()
    with open(SHARED / "news/wikinews/wikinews_2019.csv", encoding="utf-8", newline="") as fh, \
            open(corpus / "wiki.jsonl", "w", encoding="utf-8") as out:
        for i, row in enumerate(csv.DictReader(fh)):
            out.write(json.dumps({"id": str(i), "title": row["title"], "date": row["date"][:10],
                                  "text": row["text"]}) + "\n")
    build_index(corpus, tmp_path / "exact", embedder=HashEmbedder())
    monkeypatch.setattr(dense, "ANN_THRESHOLD", 100)
    build_index(corpus, tmp_path / "ivf", embedder=HashEmbedder())
    exact = Retriever.open(tmp_path / "exact", embedder=HashEmbedder())
    ivf = Retriever.open(tmp_path / "ivf", embedder=HashEmbedder())
    assert exact.manifest.dense["type"] == "Flat" and ivf.manifest.dense["type"] == "IVF-SQ8"
    overlap = []
    for q in ("election president", "earthquake tsunami", "football cup final", "court ruling judge"):
        a = {h.chunk_id for h in exact.search(q, k=10, mode="dense")}
        b = {h.chunk_id for h in ivf.search(q, k=10, mode="dense")}
        overlap.append(len(a & b) / len(a))
    assert sum(overlap) / len(overlap) >= 0.7, overlap
    hits = ivf.search("election president", k=5, dates=DateRange(since="2019-06-01"),
                      mode="dense")
    assert hits and all(h.date >= "2019-06-01" for h in hits)


def test_quotes_by_keeps_the_quotes_that_best_match_a_question_within_dates(seed_index):
    """A name quoted thousands of times must not make a question read every quote: with a
    limit, the quotes in the chunks that best match the question are kept."""
    r = Retriever.open(seed_index, embedder=HashEmbedder())
    everything = r.quotes_by(["Zhao Lijian"])
    assert len(everything) == 3
    best = r.quotes_by(["Zhao Lijian"], query="NATO Cold War mentality ideological bias", limit=1)
    assert len(best) == 1 and "Cold War mentality" in best[0].text
    other = r.quotes_by(["Zhao Lijian"], query="delude themselves countries", limit=1)
    assert len(other) == 1 and other[0] != best[0]
    in_march = r.quotes_by(["Zhao Lijian"], dates=DateRange(since="2022-03-01"))
    assert in_march and all(r.article(q.article_id).date >= "2022-03-01" for q in in_march)
    assert len(in_march) == 2
    assert r.quotes_by(["Zhao Lijian"], query="NATO", limit=1,
                       dates=DateRange(until="2021-12-31")) == []


def test_speakers_and_quote_lookups_follow_a_reload(seed_corpus, seed_index):
    """reload_if_changed swaps in the new generation: names and quote positions cached from
    the old one must go with it."""
    from qa import build_index

    r = Retriever.open(seed_index, embedder=HashEmbedder())
    assert "Zhao Lijian" in r.speakers()
    r.quotes_by(["Liu Xiaoming"], query="sovereignty", limit=1)  # fills the chunk lookup
    for path in seed_corpus.iterdir():
        if "Zhao Lijian" in path.read_text(encoding="utf-8"):
            path.unlink()
    build_index(seed_corpus, seed_index, embedder=HashEmbedder())
    assert r.reload_if_changed()
    fresh = Retriever.open(seed_index, embedder=HashEmbedder())
    assert "Zhao Lijian" not in r.speakers()
    assert r.speakers() == fresh.speakers()
    assert (r.quotes_by(["Liu Xiaoming"], query="sovereignty", limit=1)
            == fresh.quotes_by(["Liu Xiaoming"], query="sovereignty", limit=1))


def test_a_huge_query_is_capped_like_a_question(seed_index):
    """A pasted article as a query is cut at MAX_QUERY_CHARS (at a word), as `ask` does."""
    from qa.search.retriever import MAX_QUERY_CHARS

    r = Retriever.open(seed_index, embedder=HashEmbedder())
    head = "What did Zhao Lijian say about NATO? "
    huge = head + "filler words " * 50_000
    capped = huge[: huge.rfind(" ", 0, MAX_QUERY_CHARS)]
    assert [h.chunk_id for h in r.search(huge, k=3)] == [h.chunk_id for h in r.search(capped, k=3)]
