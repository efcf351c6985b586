"""Cited answers: behaviour a reader notices (cited words, exact spans, abstention)."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pytest

from qa import Assistant, Retriever
from qa.answer import NO_ANSWER, format_answer
from qa.dates import DateRange
from qa.errors import ModelUnavailableError, QueryError
from qa.evaluation import contains_answer, load_qa_examples

SEEDS = Path(__file__).resolve().parents[2] / "bench" / "sets" / "seeds.jsonl"


def assert_spans_exact(retriever, answer) -> None:
    """The citation-span property: every cited sentence is the article text at its offsets."""
    for c in answer.citations:
        article = retriever.article(c.article_id)
        assert article.text[c.start:c.end] == c.text
        assert article.text[c.chunk_start:c.chunk_end] == c.chunk_text
        assert c.chunk_start <= c.start and c.end <= c.chunk_end
        if not answer.abstained:
            assert f"[{c.n}]" in answer.text


def cited(answer) -> str:
    return "\n".join(c.text for c in answer.citations)


# ---------------------------------------------------------------- unit (HashEmbedder index)
@pytest.fixture
def assistant(seed_index):
    return Assistant(Retriever.open(seed_index, embedder=None))


def test_answer_cites_exact_spans_with_markers(assistant):
    ans = assistant.ask("Who is Katrina Yu?", mode="bm25")
    assert not ans.abstained and ans.mode == "bm25"
    assert "Al Jazeera’s correspondent" in cited(ans)
    assert_spans_exact(assistant.retriever, ans)
    assert 1 <= len(ans.citations) <= 4


@pytest.mark.parametrize("question", ["", "   \n\t", "the of and", "?!?", "…"])
def test_unsearchable_questions_get_a_clear_error(assistant, question):
    with pytest.raises(QueryError) as err:
        assistant.ask(question, mode="bm25")
    assert str(err.value)


def test_very_long_and_markup_questions_do_not_crash(assistant):
    long_q = "What did Zhao Lijian say about NATO? " * 300  # ~11,000 characters
    ans = assistant.ask(long_q, mode="bm25")
    assert any("shortened" in n for n in ans.notes)
    assert_spans_exact(assistant.retriever, ans)
    ans = assistant.ask("[bold]NATO[/] <script>alert(1)</script>", mode="bm25")
    assert_spans_exact(assistant.retriever, ans)
    # The question is kept as typed: markup in it is text, never interpreted or dropped.
    assert ans.question == ans.resolved_question == "[bold]NATO[/] <script>alert(1)</script>"


def test_model_unavailable_falls_back_to_lexical_scoring(seed_index):
    retriever = Retriever.open(seed_index)

    def broken(texts):
        raise ModelUnavailableError("no model here")

    retriever.encode = broken  # type: ignore[method-assign]
    ans = Assistant(retriever).ask("Who is Katrina Yu?")
    assert ans.mode == "bm25" and ans.fallback_reason
    assert "Al Jazeera’s correspondent" in cited(ans)


def best_cited(answer):
    return max(answer.citations, key=lambda c: c.score).text


@pytest.mark.parametrize("question, roles", [
    ("Who is Zhao Lijian?", ("spokesperson for the Chinese Ministry", "spokesman Zhao Lijian")),
    ("Who is Katrina Yu?", ("Al Jazeera’s correspondent",)),
    ("Who is Wang Yi?", ("China's foreign minister", "Foreign Minister Wang Yi")),
])
def test_who_is_puts_the_sentence_giving_the_role_first(assistant, question, roles):
    ans = assistant.ask(question, mode="bm25")
    assert not ans.abstained
    assert any(role in best_cited(ans) for role in roles)
    assert_spans_exact(assistant.retriever, ans)


def test_how_many_prefers_a_sentence_with_a_count(assistant):
    ans = assistant.ask("How many times have Putin and Xi met since 2013?", mode="bm25")
    assert "more than 30 times" in best_cited(ans)


def test_a_quotation_over_two_sentences_is_cited_whole(assistant):
    ans = assistant.ask("What did Liu Xiaoming write on Twitter?", mode="bm25")
    assert not ans.abstained
    tweet = next(c for c in ans.citations if "wrote on Twitter" in c.text)
    assert tweet.text.startswith('"China firmly believes')
    assert_spans_exact(assistant.retriever, ans)


def test_bm25_note_is_short_and_only_the_articles_quote_marks_are_shown(assistant):
    ans = assistant.ask("What did Katrina Yu say about China's role?", mode="bm25")
    assert "Scored by wording only (BM25)." in ans.notes
    shown = format_answer(ans)
    assert "““" not in shown and "“\"" not in shown
    assert "“Since the beginning of the invasion" in shown  # the article's own marks
    # No marks are added around a sentence nobody is quoted in.
    for c in ans.citations:
        if not c.text.lstrip().startswith(("“", '"')):
            assert f"“{' '.join(c.text.split())}" not in shown


def test_json_is_asdict_and_serialisable(assistant):
    ans = assistant.ask("What did Kritenbrink say about the meeting?", mode="bm25")
    payload = json.loads(json.dumps(asdict(ans), ensure_ascii=False))
    assert payload["citations"][0]["text"] == ans.citations[0].text


# ---------------------------------------------------------------- integration (real model)
@pytest.fixture(scope="module")
def real(real_retriever):
    return Assistant(real_retriever)


@pytest.mark.integration
def test_quote_question_answers_with_the_speakers_words(real, real_retriever):
    ans = real.ask("What did Kritenbrink say about the meeting?")
    assert not ans.abstained
    assert "The meeting should have provided China the opportunity" in cited(ans)
    assert all(c.speaker == "Daniel Kritenbrink" for c in ans.citations)
    assert_spans_exact(real_retriever, ans)


@pytest.mark.integration
def test_follow_up_pronoun_and_when_was_that(real, real_retriever):
    first = real.ask("Who is Zhao Lijian?")
    second = real.ask("What did he say about NATO?", history=[first])
    assert second.resolved_question == "What did Zhao Lijian say about NATO?"
    assert "NATO should abandon the outdated Cold War mentality" in cited(second)
    # Plain strings work as history too.
    again = real.ask("What did he say about NATO?", history=["Who is Zhao Lijian?"])
    assert cited(again) == cited(second)
    third = real.ask("When was that?", history=["Who is Zhao Lijian?", second])
    assert "re: What did Zhao Lijian say about NATO?" in third.resolved_question
    assert third.citations and third.citations[0].date == "2022-01-27"
    assert "Wednesday" in cited(third)
    for a in (first, second, third):
        assert_spans_exact(real_retriever, a)
    assert "Read as: What did Zhao Lijian say about NATO?" in format_answer(second)


@pytest.mark.integration
def test_date_in_question_narrows_to_articles_published_then(real, real_retriever):
    ans = real.ask("What did Xi say in December 2021?")
    assert ans.date_range == DateRange("2021-12-01", "2021-12-31", from_question=True)
    assert "(Dates: articles published from 2021-12-01 to 2021-12-31, as the question asks)" \
        in format_answer(ans)
    assert ans.citations and all(c.date.startswith("2021-12") for c in ans.citations)
    assert any(c.speaker == "Xi Jinping" for c in ans.citations)  # his words, of that month
    before = real.ask("What did China say about NATO before February 2022?")
    assert all(c.date < "2022-02-01" for c in before.citations)
    assert_spans_exact(real_retriever, ans)


@pytest.mark.integration
def test_since_until_arguments_filter(real):
    ans = real.ask("What did China say about NATO?", dates=DateRange(since="2022-02-20"))
    assert ans.citations and all(c.date >= "2022-02-20" for c in ans.citations)


@pytest.mark.integration
def test_near_topic_unanswerable_abstains_but_lists_closest_passages(real, real_retriever):
    ans = real.ask("What did Biden say to Xi on the call?")
    assert ans.abstained and ans.text == NO_ANSWER
    assert ans.citations  # the closest passages, marked as not an answer
    assert "not an answer" in format_answer(ans)
    assert_spans_exact(real_retriever, ans)


@pytest.mark.integration
def test_sources_are_in_date_order_with_dates_noted(real):
    ans = real.ask("What is China's position on Ukraine?")
    dates = [c.date for c in ans.citations]
    assert dates == sorted(dates)
    assert f"(as of {dates[0]})" in ans.text


@pytest.mark.integration
def test_dev_set_rates_and_span_property(real, real_retriever):
    examples = load_qa_examples(SEEDS, "dev")
    assert sum(e.answerable for e in examples) >= 30
    assert sum(not e.answerable for e in examples) >= 15
    answer_rate, abstain_recall = rates(real, real_retriever, "dev")
    # Floors just under the measured figures (33/35 answered, 13/18 abstained; the tables are
    # in docs/benchmarks.md), so a regression fails.
    assert answer_rate >= 0.94
    assert abstain_recall >= 0.70


def rates(real, real_retriever, split):
    examples = load_qa_examples(SEEDS, split)
    answerable = [e for e in examples if e.answerable]
    unanswerable = [e for e in examples if not e.answerable]
    hit = abstained = 0
    for e in examples:
        ans = real.ask(e.question)
        assert_spans_exact(real_retriever, ans)
        if e.answerable:
            hit += (not ans.abstained) and contains_answer(cited(ans), e.answers)
        else:
            abstained += ans.abstained
    return hit / len(answerable), abstained / len(unanswerable)


@pytest.mark.integration
def test_held_out_set_rates(real, real_retriever):
    # The test split of qa's own set (never tuned on): a drop here while the dev set holds
    # means a change overfits the dev set.
    assert len(load_qa_examples(SEEDS, "test")) == 15
    answer_rate, abstain_recall = rates(real, real_retriever, "test")
    assert answer_rate >= 0.89  # measured 9/10
    assert abstain_recall >= 0.39  # measured 2/5


@pytest.mark.integration
def test_who_is_answers_with_the_role(real, real_retriever):
    for question, roles in [
        ("Who is Zhao Lijian?", ("spokesperson for the Chinese Ministry", "spokesman Zhao Lijian")),
        ("Who is Daniel Kritenbrink?", ("State Department official Daniel Kritenbrink",)),
        ("Who is Liu Xiaoming?", ("special representative on Korean peninsula affairs",)),
        ("Who is Antony Blinken?", ("Secretary of State Antony Blinken",)),
    ]:
        ans = real.ask(question)
        assert not ans.abstained, question
        assert any(role in best_cited(ans) for role in roles), question
        assert_spans_exact(real_retriever, ans)


@pytest.mark.integration
def test_answer_rate_never_rises_with_the_threshold(real_retriever):
    answerable = [e for e in load_qa_examples(SEEDS, "dev") if e.answerable]
    previous = 1.0
    for t in (0.38, 0.46, 0.54):
        a = Assistant(real_retriever, abstain_threshold=t)
        rate = sum(
            contains_answer(cited(ans), e.answers) and not ans.abstained
            for e in answerable for ans in [a.ask(e.question)]
        ) / len(answerable)
        assert rate <= previous, t
        previous = rate


@pytest.mark.integration
def test_words_of_someone_else_do_not_answer_for_a_person(real):
    # Wang Yi's sentence names Blinken, but it is Wang Yi who speaks in it.
    ans = real.ask("What did Antony Blinken tell Wang Yi?")
    assert all(c.speaker in (None, "Antony Blinken") for c in ans.citations)


def test_a_month_without_a_year_counts_from_today_or_the_newest_article(assistant,
                                                                        monkeypatch):
    """The seeds end in 2022: "in December" is the reader's last December by default, and
    December 2021 with relative_dates = "newest-article"."""
    import datetime as dt

    from qa.answer.question import read_question

    question = "What did Xi and Putin discuss in December?"
    assert assistant.retriever.latest_date == "2022-03-18"
    today = dt.date.today()
    q = read_question(question, reference=assistant._evidence().reference_day())
    december = today.year if today.month == 12 else today.year - 1
    assert q.dates == DateRange(f"{december}-12-01", f"{december}-12-31", from_question=True)
    monkeypatch.setenv("QA_RELATIVE_DATES", "newest-article")
    q = read_question(question, reference=assistant._evidence().reference_day())
    assert q.dates == DateRange("2021-12-01", "2021-12-31", from_question=True)


@pytest.mark.integration
def test_a_date_that_leaves_no_article_searches_all_of_them(real_retriever):
    """A date in the question is often the event's, not the article's: when no article was
    published then, the question is answered from all articles, with a note saying so."""
    answer = Assistant(real_retriever).ask("What did Zhao Lijian say about NATO in 2019?")
    assert not answer.abstained
    assert any("searched all articles instead" in n for n in answer.notes)
    assert "NATO" in cited(answer)


def test_after_a_rebuild_answers_cite_the_new_text_of_a_changed_article(seed_corpus, tmp_path):
    """The assistant caches articles, sentence vectors and quotes; a rebuild that changes an
    article (same id, text shifted) must not leave it citing the old offsets."""
    from conftest import HashEmbedder

    from qa import build_index

    index = tmp_path / "ix"
    build_index(seed_corpus, index, embedder=HashEmbedder())
    retriever = Retriever.open(index, embedder=None)
    assistant = Assistant(retriever)
    before = assistant.ask("Who is Katrina Yu?", mode="bm25")
    assert_spans_exact(retriever, before)
    path = seed_corpus / next(f for f in sorted(p.name for p in seed_corpus.iterdir())
                              if "Katrina Yu" in (seed_corpus / f).read_text(encoding="utf-8"))
    text = path.read_text(encoding="utf-8")
    head, sep, body = text.partition("\n---\n")  # after the front matter
    path.write_text(head + sep + "\nA new opening sentence moves every offset below it.\n" + body,
                    encoding="utf-8")
    report = build_index(seed_corpus, index, embedder=HashEmbedder())
    assert report.changed and retriever.reload_if_changed()
    after = assistant.ask("Who is Katrina Yu?", mode="bm25")
    assert not after.abstained and "Al Jazeera’s correspondent" in cited(after)
    assert_spans_exact(Retriever.open(index, embedder=None), after)
    moved = [c for c in after.citations if c.article_id == report.changed[0]]
    assert moved and all(
        b.start != c.start for b in before.citations for c in moved if b.text == c.text
    )


def test_answers_carry_a_calibrated_confidence_that_decides_abstention(seed_index):
    retriever = Retriever.open(seed_index, embedder=None)
    ans = Assistant(retriever).ask("Who is Katrina Yu?", mode="bm25")
    assert ans.confidence is not None and 0.0 < ans.confidence <= 1.0
    assert ans.generation == retriever.generation
    assert not Assistant(retriever, abstain_threshold=0.0).ask("Who is Katrina Yu?",
                                                                mode="bm25").abstained
    assert Assistant(retriever, abstain_threshold=1.01).ask("Who is Katrina Yu?",
                                                            mode="bm25").abstained
    nothing = Assistant(retriever, abstain_threshold=0.0).ask(
        "What is the recipe for lemon cake?", mode="bm25")  # no passage shares a word
    assert nothing.abstained and nothing.confidence == 0.0


def test_the_shipped_model_matches_the_features_the_code_computes():
    from qa.answer.features import FEATURES
    from qa.answer.scoring import QUESTION_FEATURES, load_model

    for scoring in ("hybrid", "lexical"):
        model = load_model(scoring)
        assert len(model.sentence.weights) == len(FEATURES)
        assert len(model.question.weights) == len(QUESTION_FEATURES)
        assert 0.0 < model.threshold < 1.0 and 0.0 <= model.share <= 1.0
        assert model.most >= 1 and model.budget > 0
        # The calibration is a monotone map onto probabilities.
        assert len(model.calibration.x) >= 2
        assert all(0.0 <= y <= 1.0 for y in model.calibration.y)
        assert list(model.calibration.y) == sorted(model.calibration.y)


def test_adjacent_sentences_are_cited_as_one_exact_span(assistant):
    """An answer that runs over two sentences is one citation of both (the text between them
    included), so `article.text[start:end] == text` still holds."""
    from qa.answer.compose import joined as _joined

    cands = assistant.candidates_for("Who is Katrina Yu?", mode="bm25").candidates
    first = cands[0]
    after = next(c for c in cands if c.previous_start == first.start)
    joined = _joined([after, first])
    assert len(joined) == 1
    span = joined[0]
    assert (span.start, span.end) == (first.start, after.end)
    assert span.text == first.article.text[first.start:after.end]


def test_sides_come_from_what_the_article_attaches_to_a_speaker():
    """No list of countries: the side is the organisation or place the article names with
    the speaker (found by the NLP pipeline), in any world (football here), and a shared title
    is not a shared side."""
    from qa.answer.compose import affiliation, side_key
    from qa.corpus import nlp

    text = ("Harbour City manager Ellen Varga said the result was fair. "
            "Riverton captain Tom Okafor said the referee erred. "
            "Ana Duarte, a spokeswoman for the Riverton Supporters Trust, said fans were angry.")
    phrases = nlp.phrases_of(next(nlp.parse_texts([text])), "", [], text)
    assert affiliation(text, phrases, "Ellen Varga") == "Harbour City"
    assert affiliation(text, phrases, "Tom Okafor") == "Riverton"
    assert affiliation(text, phrases, "Ana Duarte") == "Riverton Supporters Trust"
    assert affiliation(text, phrases, "Nobody Here") is None
    assert side_key("Riverton") == side_key("Riverton Supporters Trust")
    assert side_key("Harbour City") != side_key("Riverton")
    assert side_key("Northland President") != side_key("Southland President")
    assert side_key("Northland's envoy") == side_key("Northland Foreign Minister")


def test_an_index_whose_nlp_pass_another_version_made_says_to_rebuild_it(assistant, monkeypatch):
    from qa.answer import assistant as answering
    from qa.corpus import nlp

    question = "What did Katrina Yu say about China's role?"
    assert answering.STALE_PIPELINE not in assistant.ask(question, mode="bm25").notes
    monkeypatch.setattr(nlp, "PIPELINE", {**nlp.PIPELINE, "quotes": nlp.PIPELINE["quotes"] + 1})
    ans = assistant.ask(question, mode="bm25")
    assert answering.STALE_PIPELINE in ans.notes
    assert "`qa index`" in answering.STALE_PIPELINE
    assert not ans.abstained and ans.citations  # it still answers, from what the index holds
