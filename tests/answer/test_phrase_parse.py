"""The answer phrase chosen by its place in the sentence's parse (qa.answer.phrase_parse): real
sentences parsed by the real pipeline, their phrases found as the index finds them."""

from __future__ import annotations

import pytest

from qa.answer import phrase, phrase_parse
from qa.answer.answer_type import answer_type
from qa.corpus import nlp

from .marked import assert_marked, assistant_over

BRIDGE = """---
title: New bridge opens over the Elm
date: 2024-07-01
---
New bridge opens over the Elm

Anna Berg, who studied under Tom Reed at the academy in Elmport for six years, designed the new bridge.

The ferry company Blue Line, whose chief executive Tom Reed resigned last year, operated the boat that sank near Elmport.
"""

DELAY = """---
title: Ferry timetable slips at Elmport
date: 2024-07-02
---
Ferry timetable slips at Elmport

The delay to the new ferry timetable was caused by a shortage of spare parts, the harbour office said.
"""


def _found(sentence: str, question: str) -> list[phrase.Found]:
    """The phrases of one sentence of the kind the question asks for, found by the pipeline
    as the index finds them, first by characters (`qa.answer.phrase.candidates`)."""
    parsed = next(nlp.parse_texts([sentence]))
    phrases = [p for p in nlp.phrases_of(parsed, "", [(0, len(sentence))], sentence)
               if p.label not in ("QUESTION", "HEADLINE", "FRAGMENT")]
    return phrase.candidates(sentence, 0, len(sentence), phrases, answer_type(question),
                             question)


def _choices(sentence: str, question: str) -> tuple[str | None, str | None]:
    """(the first phrase by characters, as `qa.answer.phrase` ranks them; the phrase
    `phrase_parse.best` chooses) of one sentence."""
    asked = answer_type(question)
    found = _found(sentence, question)
    chosen = phrase_parse.best([phrase_parse.Cited(sentence, 0, len(sentence), found, 1.0)],
                               question, asked)
    first = sentence[found[0].start:found[0].end] if found else None
    return first, sentence[chosen[1].start:chosen[1].end] if chosen else None


@pytest.mark.parametrize("sentence, question, answer", [
    # The subject of "designed", though the text puts another name nearer the verb.
    ("Anna Berg, who studied under Tom Reed at the academy in Elmport for six years, "
     "designed the new bridge.", "Who designed the new bridge?", "Anna Berg"),
    ("The ferry company Blue Line, whose chief executive Tom Reed resigned last year, "
     "operated the boat that sank near Elmport.",
     "Which company operated the boat that sank?", "Blue Line"),
    # What stands beside "show" in the tree, not the noun nearest the question's words.
    ("Outside of rowing, Okafor was one of the stars on the reality television show "
     "Island Life.", "Which reality show was Okafor on?", "Island Life"),
    # The object of "by" hanging from "lawsuit", not the judge who "ruled".
    ("In response to a lawsuit by the rights group Fair Draft Coalition, District Judge Gray "
     "Miller ruled the draft violated the constitution.",
     "Which group brought the lawsuit against the draft?", "Fair Draft Coalition"),
])
def test_the_parse_chooses_the_phrase_the_characters_miss(sentence, question, answer):
    first, chosen = _choices(sentence, question)
    assert chosen == answer
    assert first != answer  # nearness and the words around alone choose another phrase


@pytest.mark.parametrize("sentence, question, answer", [
    ("The bakers ended their strike on Thursday after nine days, and the union met again on "
     "Monday.", "When did the bakers end their strike?", "Thursday"),
    ("The town council elected Jane Arrow as its mayor, replacing Tom Reed, who had served "
     "since 2010.", "Who did the council elect as mayor?", "Jane Arrow"),
    ("Started in July 2008 by Peter Lindqvist, the tool is a script which can download files "
     "from websites including Tubely and Vidster.", "Who created the tool?", "Peter Lindqvist"),
])
def test_the_parse_keeps_what_the_characters_got_right(sentence, question, answer):
    assert _choices(sentence, question) == (answer, answer)


@pytest.mark.parametrize("sentence, question, shorter, answer", [
    # A noun that says little without its prepositional phrase is extended by it.
    ("The delay at the Elmport plant was caused by a shortage of spare parts.",
     "What was the delay at the plant caused by?", "a shortage", "a shortage of spare parts"),
    ("The rise in fares followed an increase in the price of diesel.",
     "What did the rise in fares follow?", "an increase", "an increase in the price of diesel"),
])
def test_the_chosen_phrase_is_extended_in_the_parse(sentence, question, shorter, answer):
    index = [sentence[f.start:f.end] for f in _found(sentence, question)]
    assert shorter in index and answer not in index  # the parse adds it
    assert _choices(sentence, question)[1] == answer


@pytest.mark.parametrize("sentence, question, answer", [
    # A name stays a name: its apposition and a second name are extensions it is not given.
    ("Orla Penn married Tomas Reyes, the owner of a bakery in Elmport.",
     "Who did Orla Penn marry?", "Tomas Reyes"),
    ("The council chose Ada Lind and Bo Crane as its new delegates.",
     "Who did the council choose as delegates?", "Ada Lind"),
])
def test_a_name_is_not_extended(sentence, question, answer):
    assert _choices(sentence, question) == (answer, answer)


def _extended(sentence: str, phrase_text: str) -> list[str]:
    """The extensions (`phrase_parse.extensions`) of a phrase of one sentence, as text, each
    checked to be the sentence's text at its offsets."""
    start = sentence.index(phrase_text)
    found = phrase.Found(start, start + len(phrase_text), "NP", 0.0)
    cited = phrase_parse.Cited(sentence, 0, len(sentence), [found], 1.0)
    question = "What happened?"
    out = []
    for wider, features in phrase_parse.extensions(cited, found, question,
                                                   answer_type(question)):
        assert wider.start <= found.start and found.end <= wider.end
        assert len(features) == len(phrase_parse.EXTENSION_FEATURES)
        out.append(sentence[wider.start:wider.end])
    return out


def test_extensions_are_phrases_of_the_parse_at_exact_offsets():
    sentence = ("Ada Lind, who chairs the Elmport board, and Bo Crane voted for the plan "
                "of the Marlow Group and its partners.")
    plan = _extended(sentence, "the plan")
    assert "the plan of the Marlow Group and its partners" in plan
    assert all(len(phrase_parse.parse_sentence(p)) <= phrase_parse.MAX_TOKENS for p in plan)
    # Never across a clause: the relative clause keeps the two names apart.
    assert all("chairs" not in p for p in _extended(sentence, "Ada Lind"))
    # A coordination, from its second member; a modifier, to the noun it modifies.
    assert "the Elmport board" in _extended(sentence, "Elmport")
    sentence = "Prices rose by 20 percent of the old fare after the Elm and Ash ferries merged."
    assert "20 percent of the old fare" in _extended(sentence, "20 percent")


@pytest.mark.parametrize("question, role, prep, anchor", [
    ("Who founded the bakery?", "agent", None, "found"),
    ("What did the bakers found?", "patient", None, "found"),
    ("Which ship did the crew find?", "patient", None, "find"),
    ("What did she die of?", "prep", "of", "die"),
    ("In which city did the leaders meet?", "prep", "in", "meet"),
    ("When did the strike end?", "adjunct", None, "end"),
    ("What is the capital of Elmshire?", "attribute", None, None),
])
def test_the_slot_is_read_from_the_question(question, role, prep, anchor):
    slot = phrase_parse.slot_of(question)
    assert (slot.role, slot.prep, slot.anchor) == (role, prep, anchor)


def test_no_phrase_no_choice():
    asked = answer_type("Who designed the bridge?")
    assert phrase_parse.best([], "Who designed the bridge?", asked) is None
    assert phrase_parse.best([phrase_parse.Cited("No one.", 0, 7, [], 1.0)],
                             "Who designed the bridge?", asked) is None


@pytest.fixture
def bridge(seed_corpus, make_index):
    return assistant_over(seed_corpus, make_index, {"bridge.md": BRIDGE, "delay.md": DELAY})


@pytest.mark.parametrize("question, answer", [
    ("Who designed the new bridge?", "Anna Berg"),
    ("Which company operated the boat that sank near Elmport?", "Blue Line"),
    ("What was the delay to the new ferry timetable caused by?", "a shortage of spare parts"),
])
def test_the_answer_marks_the_parsed_choice_at_the_articles_offsets(bridge, question, answer):
    retriever, assistant = bridge
    assert_marked(retriever, assistant.ask(question, mode="bm25"), answer, question)


def test_cited_sentences_are_parsed_apart_from_questions():
    """A chat's questions stay in their own parse cache: the sentences each answer parses
    (one to three) do not push them out."""
    question = "Who designed the new bridge over the Elm?"
    nlp.parse_question(question)
    before = nlp.parse_question.cache_info()
    for n in range(300):
        phrase_parse.parse_sentence(f"Sentence number {n} was cited by an answer.")
    after = nlp.parse_question.cache_info()
    assert after.currsize == before.currsize and after.misses == before.misses
    nlp.parse_question(question)
    assert nlp.parse_question.cache_info().hits == after.hits + 1
