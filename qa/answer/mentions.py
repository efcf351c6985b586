"""Whether the articles found mention what a question names.

A question that names someone or something ("How tall is Mount Orla?") is answered
only by an article that names it too. When none of the articles a search found does, the
question is about something the articles do not cover: qa says which name it could not find
instead of citing the nearest sentence about something else.

Names are compared by their words, stemmed as BM25 stems them and with accents folded
("Nordvik" finds "Nordvík", "Pioneers" finds "Pioneer"): a person's name by its last
word (articles name people by surname after the first mention), any other name by all its
words in one article. Acronyms are left out: an article that says "United States" does not
say "US".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ..text import folded_terms
from .answer_type import Name


def _acronym(name: Name) -> bool:
    letters = name.text.replace(".", "")
    return letters.isupper() and len(letters) <= 5


def unmentioned(names: Sequence[Name], articles: Iterable[frozenset[str]]) -> list[Name]:
    """The names no article mentions (acronyms never count as unmentioned).

    Args:
        names: the question's names.
        articles: each article's words, `qa.text.folded_term_set` of its title and text.
    """
    wanted = [(n, folded_terms(n.text)) for n in names if not _acronym(n)]
    wanted = [(n, words) for n, words in wanted if words]
    if not wanted:
        return []
    held = list(articles)
    missing = []
    for name, words in wanted:
        needed = words[-1:] if name.person else words
        if not any(all(w in words_of for w in needed) for words_of in held):
            missing.append(name)
    return missing
