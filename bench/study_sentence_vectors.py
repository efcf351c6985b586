"""Sentence vectors embedded alone or pooled from their chunk's pass: which ranks the right
sentence first? (docs/benchmarks.md, "Sentence vectors from the chunk's pass").

    .venv/bin/python bench/study_sentence_vectors.py

For every answerable DEV question of bench/sets/wikinews.jsonl and wikinews_dev.jsonl (over
../shared/news/wikinews) and of the SQuAD 2.0 subset (dev articles), every sentence of the
article the question was written from is ranked by cosine to the question, with sentence
vectors made three ways by the real model (sentence-transformers, fp32): each sentence alone;
pooled from its chunk's pass (qa.embed.pooling: the first chunk that reaches it, else alone);
and the mean of the two. A sentence is right when it holds an accepted answer (compared as
qa eval compares). Prints top-1, top-2 and the mean reciprocal rank of the first right one.
Dev splits only: it chose the build's sentence vectors, so test splits are never read here.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from qa.build.parts import new_part  # noqa: E402
from qa.corpus.ingest import load_corpus  # noqa: E402
from qa.embed.chunk_input import embedding_input, spans_in_input  # noqa: E402
from qa.embed.embedder import SentenceTransformerEmbedder  # noqa: E402
from qa.evaluation.qasets import QAExample, load_question_set  # noqa: E402
from qa.evaluation.run import contains_answer  # noqa: E402
from qa.types import Article  # noqa: E402


def sentence_vectors(article: Article, model: SentenceTransformerEmbedder,
                     ) -> tuple[list[tuple[int, int]], np.ndarray, np.ndarray]:
    """The article's sentences (once each), embedded alone and pooled from their chunks."""
    part = new_part(article)
    spans = sorted({span for chunk in part.sentences for span in chunk})
    alone = model.encode([article.text[a:b] for a, b in spans], batch_size=64)
    texts = [embedding_input(article.title, article.text[s:e])
             for s, e in zip(part.starts, part.ends)]
    asked = [spans_in_input(article.title, s, chunk)
             for s, chunk in zip(part.starts, part.sentences)]
    _, pooled_rows = model.encode_spans(texts, asked)
    pooled: dict[tuple[int, int], np.ndarray] = {}
    for span, row in zip((sp for chunk in part.sentences for sp in chunk), pooled_rows):
        if span not in pooled and row.any():
            pooled[span] = row
    late = np.stack([pooled.get(span, alone[i]) for i, span in enumerate(spans)])
    return spans, alone, late


def study(name: str, articles: dict[str, Article], examples: list[QAExample],
          model: SentenceTransformerEmbedder) -> None:
    ranks: dict[str, list[int]] = {"alone": [], "pooled": [], "mean of both": []}
    made: dict[str, tuple[list[tuple[int, int]], np.ndarray, np.ndarray]] = {}
    for ex in examples:
        article = articles.get(ex.article or "")
        if not ex.answerable or article is None:
            continue
        if article.id not in made:
            made[article.id] = sentence_vectors(article, model)
        spans, alone, late = made[article.id]
        right = [contains_answer(article.text[a:b], list(ex.answers)) for a, b in spans]
        if not any(right):
            continue
        q = model.encode([ex.question])[0]
        mixed = alone + late
        mixed /= np.linalg.norm(mixed, axis=1, keepdims=True)
        for kind, vectors in (("alone", alone), ("pooled", late), ("mean of both", mixed)):
            order = np.argsort(-(vectors @ q), kind="stable")
            ranks[kind].append(next(r for r, i in enumerate(order) if right[i]))
    for kind, found in ranks.items():
        r = np.asarray(found)
        print(f"| {name} | {kind} | {len(r)} | {np.mean(r == 0):.3f} | {np.mean(r < 2):.3f} "
              f"| {np.mean(1 / (r + 1)):.3f} |")


def main() -> None:
    model = SentenceTransformerEmbedder()
    print("| dev set | sentence vectors | questions | top-1 | top-2 | MRR |")
    print("|---|---|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for csv in sorted((SHARED / "news" / "wikinews").glob("*.csv")):
            shutil.copy(csv, Path(tmp) / csv.name)
        news, _ = load_corpus(tmp)
    by_url = {a.url: a for a in news if a.url}
    examples = [e for path in ("wikinews.jsonl", "wikinews_dev.jsonl")
                for e in load_question_set(REPO / "bench" / "sets" / path, "dev").examples]
    study("Wikinews", by_url, examples, model)
    squad = load_question_set(SHARED / "eval" / "squad2-dev-subset" / "dev-v2.0-first5.json",
                              "dev", split_file=REPO / "bench" / "sets" / "squad2-split.json")
    paragraphs = {r["id"]: Article(id=r["id"], title=r["title"], date=None, source="", url=None,
                                   path=r["id"], text=r["text"], hash=r["id"])
                  for r in squad.articles or ()}
    study("SQuAD 2.0 subset", paragraphs, list(squad.examples), model)


if __name__ == "__main__":
    main()
