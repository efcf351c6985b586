"""The check every answer-phrase test makes: the phrase marked, at the article's offsets."""

from __future__ import annotations

from qa import Retriever
from qa.types import Answer


def assert_marked(retriever: Retriever, ans: Answer, text: str, question: str) -> None:
    """`ans` marks `text` as its answer phrase: an exact span of the article, inside the
    citation it belongs to."""
    assert not ans.abstained and ans.answer is not None, question
    assert ans.answer.text == text
    article = retriever.article(ans.answer.article_id)
    assert article.text[ans.answer.start:ans.answer.end] == text
    cited = next(c for c in ans.citations if c.n == ans.answer.n)
    assert cited.start <= ans.answer.start and ans.answer.end <= cited.end
