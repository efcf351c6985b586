"""What every answer-phrase test uses: an assistant over made-up articles added to the seed
corpus, and the check that the phrase is marked at the article's offsets."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from qa import Assistant, Retriever
from qa.types import Answer


def assistant_over(corpus: Path, make_index: Callable[..., Path],
                   articles: dict[str, str]) -> tuple[Retriever, Assistant]:
    """A retriever (BM25: no embedder) and an assistant that never abstains, over `corpus`
    with `articles` (file name: text) written into it: other articles beside them, as in a
    real folder (BM25 needs them)."""
    for name, text in articles.items():
        (corpus / name).write_text(text, encoding="utf-8")
    retriever = Retriever.open(make_index(corpus), embedder=None)
    return retriever, Assistant(retriever, abstain_threshold=0.0)


def assert_marked(retriever: Retriever, ans: Answer, text: str, question: str) -> None:
    """`ans` marks `text` as its answer phrase: an exact span of the article, inside the
    citation it belongs to."""
    assert not ans.abstained and ans.answer is not None, question
    assert ans.answer.text == text
    article = retriever.article(ans.answer.article_id)
    assert article.text[ans.answer.start:ans.answer.end] == text
    cited = next(c for c in ans.citations if c.n == ans.answer.n)
    assert cited.start <= ans.answer.start and ans.answer.end <= cited.end
