"""What kind of answer a question asks for, the answer phrase inside the cited sentence, and
sentences that are never answers (qa.answer.answer_type, qa.answer.phrase, candidates)."""

from __future__ import annotations

import json
from dataclasses import asdict

import pytest

from qa.answer import format_answer
from qa.answer.answer_type import answer_type

from .marked import assert_marked, assistant_over

STRIKE = """---
title: Harbour strike ends after nine days
date: 2024-05-02
---
Harbour strike ends after nine days

By Staff Reporter

The dockworkers of Port Elm ended their strike on Thursday after nine days, the union said.

Maria Okafor, who leads the Elm Dockworkers Union, said 1,200 members voted to accept a 4% pay rise.

Will the port recover its lost trade?

Shipping companies had diverted 30 vessels to Northgate during the strike because the cranes stood idle.
"""

INTERVIEW = """---
title: Candidate explains her run for mayor
date: 2024-06-10
---
Jane Arrow, a teacher from Elmwood, is running for mayor of Elmwood.

Why did you decide to run for mayor of Elmwood?

I decided to run because the library closed and nobody in the council fought for it.
"""


@pytest.mark.parametrize("question, kind, some_label", [
    ("Who leads the union?", "person", "PERSON"),
    ("When did the strike end?", "time", "DATE"),
    ("Where did the ships go?", "place", "GPE"),
    ("How many members voted?", "number", "CARDINAL"),
    ("What percentage did the pay rise by?", "number", "PERCENT"),
    ("Which company bought the port?", "organisation", "ORG"),
    ("In which city was the summit held?", "place", "GPE"),
    ("Why did the union end the strike?", "reason", None),
    ("What did the union agree to accept?", "thing", "NP"),
    ("What was the name of the ship?", "thing", "PRODUCT"),
    ("What was her birth name?", "name", "PERSON"),
    ("What is the new vaccine called?", "name", "PRODUCT"),
])
def test_the_kind_of_answer_is_read_from_the_question(question, kind, some_label):
    asked = answer_type(question)
    assert asked.kind == kind
    if some_label:
        assert some_label in asked.labels


def test_who_is_a_named_person_asks_for_a_role():
    asked = answer_type("Who is Maria Okafor?")
    assert asked.kind == "role" and asked.subject == "Maria Okafor"
    assert answer_type("Who is the spokesman?").kind == "person"


def test_a_question_without_a_kind_marks_no_phrase():
    assert answer_type("What did the union say about the strike?").kind == "thing"
    assert answer_type("Tell me about the strike").kind is None


@pytest.fixture
def strike(seed_corpus, make_index):
    return assistant_over(seed_corpus, make_index,
                          {"strike.md": STRIKE, "interview.md": INTERVIEW})


@pytest.mark.parametrize("question, phrase", [
    ("When did the dockworkers of Port Elm end their strike?", "Thursday"),
    ("How many union members voted on the pay rise?", "1,200"),
    ("Who leads the Elm Dockworkers Union?", "Maria Okafor"),
    ("By what percentage will the dockworkers' pay rise?", "4%"),
    ("How many vessels were diverted during the strike?", "30"),
])
def test_the_answer_phrase_is_an_exact_span_of_the_asked_kind(strike, question, phrase):
    retriever, assistant = strike
    ans = assistant.ask(question, mode="bm25")
    assert_marked(retriever, ans, phrase, question)
    payload = json.loads(json.dumps(asdict(ans)))
    assert {payload["answer"][k] for k in ("text", "start", "end")} == {
        phrase, ans.answer.start, ans.answer.end}


def test_a_reason_is_the_clause_after_because(strike):
    _, assistant = strike
    ans = assistant.ask("Why did shipping companies divert vessels to Northgate?", mode="bm25")
    assert ans.answer is not None and ans.answer.text == "because the cranes stood idle"


def test_the_phrase_is_marked_where_the_answer_is_shown(strike):
    _, assistant = strike
    ans = assistant.ask("How many union members voted on the pay rise?", mode="bm25")
    shown = format_answer(ans, marks=("<<", ">>"))
    assert "<<1,200>>" in shown
    assert "1,200" in format_answer(ans) and "<<" not in format_answer(ans)
    from qa.answer.compose import phrase_in_text

    start, end = phrase_in_text(ans)
    assert ans.text[start:end] == "1,200"


def test_what_someone_said_is_marked_as_their_words(strike):
    retriever, assistant = strike
    question = "What did Maria Okafor say about the vote?"
    ans = assistant.ask(question, mode="bm25")
    assert_marked(retriever, ans, "1,200 members voted to accept a 4% pay rise", question)
    assert ans.answer.label == "QUOTE"  # not a noun phrase near her name ("the Elm Dockworkers")
    shown = format_answer(ans, marks=("<<", ">>"))
    assert "<<1,200 members voted to accept a 4% pay rise>>" in shown
    assert f"the answer: the words quoted in [{ans.answer.n}]" in shown
    # a who-said-what question that asks for a kind of thing keeps that kind's phrase
    counted = assistant.ask("According to Maria Okafor, how many members voted?", mode="bm25")
    assert counted.answer is not None and counted.answer.text == "1,200"


def test_questions_headlines_and_bylines_are_never_cited_as_answers(strike):
    _, assistant = strike
    for question in ("Why did Jane Arrow decide to run for mayor of Elmwood?",
                     "Will the port recover its lost trade?",
                     "Who reported on the harbour strike ending after nine days?"):
        ans = assistant.ask(question, mode="bm25")
        for c in ans.citations:
            assert not c.text.rstrip().endswith("?"), (question, c.text)
            assert c.text.strip() not in ("By Staff Reporter",
                                          "Harbour strike ends after nine days"), question
    ans = assistant.ask("Why did Jane Arrow decide to run for mayor of Elmwood?", mode="bm25")
    assert "because the library closed" in " ".join(c.text for c in ans.citations)


def test_confidence_reads_as_words():
    from qa.answer.compose import certainty

    assert [certainty(x) for x in (0.95, 0.8, 0.79, 0.5, 0.2, None)] == [
        "sure", "sure", "likely", "likely", "unsure", None]


def _best_phrase(sentence: str, question: str, phrases: list[tuple[str, str]]) -> str | None:
    """The answer phrase `qa.answer.phrase` marks in one sentence, given its phrases as the
    index holds them ((text, label), each found in the sentence)."""
    from qa.answer import phrase
    from qa.types import Phrase

    found = [Phrase(sentence.index(t), sentence.index(t) + len(t), label) for t, label in phrases]
    best = phrase.best(sentence, 0, len(sentence), sorted(found, key=lambda p: p.start),
                       answer_type(question), question)
    return sentence[best.start:best.end] if best else None


def test_how_many_marks_the_number_of_what_is_counted():
    sentence = "The deal covers 301 stores, two depots and the head office."
    assert _best_phrase(sentence, "How many stores does the deal cover?",
                        [("301", "CARDINAL"), ("two", "CARDINAL")]) == "301"


def test_a_person_is_marked_with_what_they_are_of():
    sentence = "Under Richard I of Elmshire the duchy grew into a strong state."
    assert _best_phrase(sentence, "Who ruled the duchy?",
                        [("Richard I", "PERSON")]) == "Richard I of Elmshire"


def test_a_relative_with_the_same_surname_can_be_the_answer():
    sentence = "Her mother is the wrestler Kyoko Arrow, who retired in 2001."
    assert _best_phrase(sentence, "Who is Jane Arrow's mother?",
                        [("Kyoko Arrow", "PERSON")]) == "Kyoko Arrow"
    assert _best_phrase("Ms Arrow thanked her mother.", "Who is Jane Arrow's mother?",
                        [("Ms Arrow", "PERSON")]) is None


@pytest.mark.parametrize("sentence, phrase, shown", [
    ('Okafor called it a "smash and grab on our harbour" on Monday.', 'a "smash',
     'a "smash and grab on our harbour"'),  # runs on to the closing mark
    ("Okafor called it “a smash and grab” on Monday.", "grab”", "“a smash and grab”"),
    ('The virus causes the "fever', '"fever', "fever"),  # no closing mark: the mark goes
    ('He said the "fever spreads fast" here.', "fever spreads", "fever spreads"),  # paired
])
def test_an_answer_phrase_never_shows_half_a_quotation(sentence, phrase, shown):
    from qa.answer.phrase import paired_quotes

    start = sentence.index(phrase)
    lo, hi = paired_quotes(sentence, start, start + len(phrase), 0, len(sentence))
    assert sentence[lo:hi] == shown
