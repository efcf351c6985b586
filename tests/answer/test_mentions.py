"""A question naming what no article found mentions is not answered with something else."""

from __future__ import annotations

import pytest

from qa import Assistant, Retriever
from qa.answer.answer_type import Name, answer_type
from qa.answer.evidence import ArticleTerms
from qa.answer.mentions import unmentioned
from qa.types import Article


def article(text: str, title: str = "A title", id: str = "a1") -> frozenset[str]:
    """The words the name check reads of an article (`ArticleTerms.folded`)."""
    return ArticleTerms.of(Article(id=id, title=title, date=None, source="", url=None,
                                   path=f"{id}.txt", text=text, hash=id)).folded


def test_a_person_is_found_by_surname_and_other_names_by_all_their_words():
    arts = [article("Dana Orlov met the Pioneer Club on Monday. Orlov spoke first.")]
    assert unmentioned([Name("Mira Orlov", person=True)], arts) == []  # surname enough
    assert unmentioned([Name("Pioneers Club")], arts) == []  # stems: Pioneers -> pioneer
    club = Name("Harbour Club")
    assert unmentioned([club], arts) == [club]  # "club" alone is not the Harbour Club
    assert unmentioned([Name("Orla Harbour", person=True)], arts) == [
        Name("Orla Harbour", person=True)]


def test_accents_are_folded_and_acronyms_never_count_as_missing():
    arts = [article("The mayor of Nordvík said the plan would go ahead.")]
    assert unmentioned([Name("Nordvik")], arts) == []
    assert unmentioned([Name("Nordvík")], [article("Nordvik is a small town.")]) == []
    assert unmentioned([Name("UNHCR"), Name("U.K.")], arts) == []


def test_the_names_of_a_question_come_from_its_parse():
    names = answer_type("How tall is Mount Orla?").names
    assert [n.text for n in names] == ["Mount Orla"]
    who = answer_type("Who was Dana Orlov's running mate?").names
    assert who == (Name("Dana Orlov", person=True),)  # no possessive
    bowl = answer_type("Who won the Harbour Bowl last year?").names
    assert [n.text for n in bowl] == ["Harbour Bowl"]  # no leading article


def test_no_names_no_check():
    assert unmentioned([], [article("Anything at all.")]) == []


@pytest.mark.integration
def test_a_question_about_what_the_articles_never_name_abstains_and_says_so(seed_index):
    assistant = Assistant(Retriever.open(seed_index, embedder=None))
    ans = assistant.ask("How tall is Mount Kilimanjaro?", mode="bm25")
    assert ans.abstained and ans.confidence == 0.0
    assert "No article found mentions “Mount Kilimanjaro”." in ans.notes
    # A question naming someone the articles do name is answered as before.
    named = assistant.ask("Who is Katrina Yu?", mode="bm25")
    assert not named.abstained
    assert not any("No article found mentions" in n for n in named.notes)
