import pytest

from qa.answer.conversation import (
    moving_on,
    refers_to_previous_answer,
    resolve_followup,
)
from qa.types import Answer, Citation


def test_pronoun_follow_up_names_the_previous_person():
    assert resolve_followup("What did he say about NATO?", ["Who is Zhao Lijian?"]) == \
        "What did Zhao Lijian say about NATO?"


def test_follow_up_uses_resolved_question_of_an_earlier_answer():
    prev = Answer(question="Who is he?", resolved_question="Who is Daniel Kritenbrink?",
                  text="", citations=(), abstained=False, mode="hybrid")
    assert "Daniel Kritenbrink" in resolve_followup("What did he warn?", [prev])


def test_when_was_that_refers_to_the_previous_question():
    q = resolve_followup("When was that?", ["What did Kritenbrink say about the meeting?"])
    assert refers_to_previous_answer("When was that?")
    assert "Kritenbrink" in q and q.startswith("When was that?")


def test_stand_alone_questions_and_empty_history_are_unchanged():
    assert resolve_followup("Who is Katrina Yu?", ["Who is Wang Yi?"]) == "Who is Katrina Yu?"
    assert resolve_followup("What did he say?", []) == "What did he say?"


def test_a_question_that_names_its_own_person_keeps_its_pronouns():
    """After a question about Okafor, "Why did Ben Carter end his campaign?" stays about
    Carter (it became "…end Tom Okafor's campaign?")."""
    history = ["What did Tom Okafor say about the election?"]
    q = "Why did Ben Carter end his campaign?"
    assert resolve_followup(q, history) == q
    assert resolve_followup("Why did he end his campaign?", ["Why did Ben Carter quit?"]) \
        == "Why did Ben Carter end Ben Carter’s campaign?"


# --- follow-ups that move on (issue 23) ------------------------------------------------------


def cited(article: str, start: int, end: int, date: str = "2022-03-01") -> Citation:
    return Citation(n=1, article_id=article, title="t", date=date, source="s", url=None,
                    text="x" * (end - start), start=start, end=end, score=0.9, chunk_text="",
                    chunk_start=0, chunk_end=end)


def said(*citations: Citation, abstained: bool = False) -> Answer:
    return Answer(question="What did Zhao Lijian say?", resolved_question="What did Zhao "
                  "Lijian say?", text="…", citations=citations, abstained=abstained,
                  mode="hybrid")


@pytest.mark.parametrize("question", ["What did he say next?", "What else did he say?",
                                      "Did he also mention NATO?", "Anything more?",
                                      "And then?", "What did he say later?"])
def test_a_follow_up_that_moves_on_keeps_off_what_was_cited(question):
    got = moving_on(question, [said(cited("a", 10, 50))])
    assert got is not None and got.cited == (("a", 10, 50),)
    assert not got.allows("a", "2022-03-01", 20, 60)  # overlaps the cited sentence


@pytest.mark.parametrize("question", ["What did he say about NATO?", "When was that?",
                                      "Were there more than ten ships?"])
def test_other_follow_ups_may_cite_anything(question):
    assert moving_on(question, [said(cited("a", 10, 50))]) is None


def test_next_keeps_to_what_comes_after_the_previous_answer():
    got = moving_on("What did he say next?", [said(cited("a", 10, 50, "2022-03-01"))])
    assert got.forward and got.allows("a", "2022-03-01", 60, 90)  # later in the article
    assert not got.allows("a", "2022-03-01", 0, 9)  # earlier in it
    assert got.allows("b", "2022-03-05", 0, 9) and got.allows("b", None, 0, 9)
    assert not got.allows("b", "2022-02-01", 0, 9)  # an older article
    more = moving_on("What else did he say?", [said(cited("a", 10, 50))])
    assert not more.forward and more.allows("a", "2022-03-01", 0, 9)


def test_closest_passages_of_an_abstention_were_not_cited():
    assert moving_on("What else?", [said(cited("a", 10, 50), abstained=True)]) is None
    assert moving_on("What else?", ["Who is Zhao Lijian?"]) is None  # a question string


def test_what_did_he_say_next_never_repeats_the_answer_before(seed_index):
    """Issue 23: "What did he say next?" printed the previous answer word for word."""
    from conftest import HashEmbedder

    from qa import Assistant, Retriever

    assistant = Assistant(Retriever.open(seed_index, embedder=HashEmbedder()))
    first = assistant.ask("What did Zhao Lijian say about NATO?", mode="bm25")
    assert not first.abstained and first.citations
    history: list = [first]
    seen = {(c.article_id, c.start, c.end) for c in first.citations}
    for question in ("What did he say next?", "What else did he say?", "Anything more?"):
        follow = assistant.ask(question, history, mode="bm25")
        assert "Zhao Lijian" in follow.resolved_question or question == "Anything more?"
        for c in follow.citations:
            assert not any(a == c.article_id and s < c.end and c.start < e for a, s, e in seen), \
                (question, c.text)
        if not follow.abstained:
            seen |= {(c.article_id, c.start, c.end) for c in follow.citations}
        history.append(follow)


def test_when_nothing_new_remains_the_answer_says_so(tmp_path, make_index):
    from conftest import HashEmbedder

    from qa import Assistant, Retriever

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "pier.md").write_text(
        "---\ntitle: Pier reopens\ndate: 2020-05-01\n---\n\nMayor Ada Okafor said the pier "
        "would reopen in June after repairs.\n", encoding="utf-8")
    for name, text in (("rain", "Heavy rain fell on the valley farms overnight."),
                       ("choir", "The school choir sang at the town hall on Sunday.")):
        # other articles, so that BM25 weighs the pier article's words above zero
        (corpus / f"{name}.md").write_text(f"---\ntitle: {name}\ndate: 2020-05-02\n---\n\n"
                                           f"{text}\n", encoding="utf-8")
    assistant = Assistant(Retriever.open(make_index(corpus), embedder=HashEmbedder()),
                          abstain_threshold=0.0)  # answer from one article, however unsure
    first = assistant.ask("What did Ada Okafor say about the pier?", mode="bm25")
    assert not first.abstained and "reopen in June" in first.text
    follow = assistant.ask("What else did she say about the pier?", [first], mode="bm25")
    assert follow.abstained and not follow.citations
    assert any("nothing more on this than what this conversation has already cited" in n
               for n in follow.notes), follow.notes
