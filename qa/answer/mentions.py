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

import unicodedata
from collections.abc import Iterable, Sequence

from ..text import terms
from ..types import Article
from .answer_type import Name


def folded_terms(text: str) -> list[str]:
    """`qa.text.terms` of `text` with accents folded ("Nordvík" -> "nordvik")."""
    decomposed = unicodedata.normalize("NFKD", text)
    return terms("".join(ch for ch in decomposed if not unicodedata.combining(ch)))


def _acronym(name: Name) -> bool:
    letters = name.text.replace(".", "")
    return letters.isupper() and len(letters) <= 5


def unmentioned(names: Sequence[Name], articles: Iterable[Article]) -> list[Name]:
    """The names no article of `articles` mentions (acronyms never count as unmentioned)."""
    wanted = [(n, folded_terms(n.text)) for n in names if not _acronym(n)]
    wanted = [(n, words) for n, words in wanted if words]
    if not wanted:
        return []
    seen: dict[str, set[str]] = {}
    for article in articles:
        if article.id not in seen:
            seen[article.id] = set(folded_terms(f"{article.title}\n{article.text}"))
    missing = []
    for name, words in wanted:
        needed = words[-1:] if name.person else words
        if not any(all(w in held for w in needed) for held in seen.values()):
            missing.append(name)
    return missing
