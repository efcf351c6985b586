"""The answer path: from a question's words to verbatim, cited sentences.

    question      reading the question: follow-up, dates, speaker (conversation, answer_type)
    candidates    the sentences that may answer: those of the chunks a search found
    phrase        inside a sentence, the phrases of the kind the question asks for
    phrase_parse  the answer phrase among the cited sentences' phrases, by their parse
    features      what describes each candidate (numbers that mean the same on any corpus)
    scoring       the fitted models: P(a sentence answers), the answer's calibrated confidence
    compose       the answer: which sentences, in what order, the answer phrase, the text
    evidence      what a question reads of one index generation, cached per generation
    assistant     `Assistant.ask`: the path above
    baseline      the naive ranker every figure is reported beside
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .assistant import Assistant
from .compose import NO_ANSWER, format_answer
from .question import MAX_QUESTION_CHARS

if TYPE_CHECKING:  # mypy proves qa's assistant is what the chat and qa serve ask
    from ..search.searcher import Asker

    def _asker(local: Assistant) -> Asker:
        return local

__all__ = ["Assistant", "format_answer", "NO_ANSWER", "MAX_QUESTION_CHARS"]
