"""`qa eval`: metric formulas, BEIR loading, question sets, the baseline, the figures, the
refusal to touch a user's index, and the command end to end."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import SHARED, HashEmbedder

from qa.answer.baseline import BaselineAssistant, candidate_sentences, rrf_rank
from qa.errors import QAError, QueryError
from qa.evaluation import (
    SQUAD_CORPUS_FILE,
    answer_confidence,
    beir_doc_id,
    contains_answer,
    default_qa_index,
    documents_from_chunks,
    eval_cache_root,
    evaluate_beir,
    evaluate_qa,
    load_beir,
    load_qa_examples,
    load_question_set,
    mrr_at_k,
    ndcg_at_k,
    rank_documents,
    recall_at_k,
)
from qa.index import LOCK, manifest_path
from qa.types import Answer, Citation, Hit

# --------------------------------------------------------------------------------------------
# Metrics, against figures worked out by hand
# --------------------------------------------------------------------------------------------


def test_ndcg_uses_graded_gain_and_log2_rank_plus_one_discount() -> None:
    # b (rel 2) at rank 2, c (rel 1) at rank 3; d (rel 1) never retrieved.
    # DCG = 2/log2(3) + 1/log2(4); ideal = 2/log2(2) + 1/log2(3) + 1/log2(4).
    judged = {"b": 2, "c": 1, "d": 1}
    dcg = 2 / math.log2(3) + 1 / 2
    idcg = 2 + 1 / math.log2(3) + 1 / 2
    assert ndcg_at_k(["a", "b", "c"], judged, 10) == pytest.approx(dcg / idcg)
    assert ndcg_at_k(["a", "b", "c"], judged, 10) == pytest.approx(0.562727, abs=1e-6)
    # An exponential gain (2^rel - 1) would give 0.5793 here: the figure pins the formula.
    assert ndcg_at_k(["a", "b", "c"], judged, 10) != pytest.approx(0.5793, abs=1e-3)


def test_ndcg_perfect_ranking_is_one_and_cutoff_applies() -> None:
    judged = {"x": 1, "y": 2}
    assert ndcg_at_k(["y", "x", "z"], judged, 10) == pytest.approx(1.0)
    # Cut at 1: only "x" (rel 1) counts against an ideal first place of rel 2.
    assert ndcg_at_k(["x", "y"], judged, 1) == pytest.approx(0.5)
    # The relevant document at rank 11 is outside nDCG@10.
    assert ndcg_at_k([f"n{i}" for i in range(10)] + ["x"], {"x": 1}, 10) == 0.0


def test_ndcg_ideal_ranking_is_cut_at_k_too() -> None:
    # 12 relevant documents, one found at rank 1: IDCG@10 sums ten ideal places, not twelve.
    judged = {f"r{i}": 1 for i in range(12)}
    idcg10 = sum(1 / math.log2(r + 1) for r in range(1, 11))
    assert ndcg_at_k(["r0"], judged, 10) == pytest.approx(1 / idcg10)


def test_recall_counts_only_positive_judgements() -> None:
    judged = {"a": 0, "b": 1, "c": 1, "d": 2}
    assert recall_at_k(["a", "b", "z"], judged, 100) == pytest.approx(1 / 3)
    assert recall_at_k(["b", "c", "d"], judged, 2) == pytest.approx(2 / 3)
    assert recall_at_k(["a"], {"a": 0}, 100) == 0.0


def test_mrr_is_reciprocal_rank_of_first_relevant_within_k() -> None:
    judged = {"a": 0, "b": 1, "c": 1}
    assert mrr_at_k(["a", "b", "c"], judged, 10) == pytest.approx(0.5)  # "a" is judged 0
    assert mrr_at_k(["z", "y", "c"], judged, 10) == pytest.approx(1 / 3)
    assert mrr_at_k(["z", "y", "c"], judged, 2) == 0.0
    assert mrr_at_k([], judged, 10) == 0.0


def test_documents_take_the_rank_of_their_best_chunk() -> None:
    chunk_articles = ["corpus/7", "corpus/3", "corpus/7", "corpus/9", "corpus/3"]
    assert documents_from_chunks(chunk_articles) == ["corpus/7", "corpus/3", "corpus/9"]


def test_beir_doc_id_strips_the_file_slug_only() -> None:
    assert beir_doc_id("corpus/4983") == "4983"
    assert beir_doc_id("corpus/a/b") == "a/b"  # BEIR ids may hold a slash themselves
    assert beir_doc_id("4983") == "4983"


def test_rank_documents_searches_deeper_when_chunks_repeat_documents() -> None:
    # Twenty chunks per document: 1000 chunks hold only 50 documents, so it searches deeper.
    calls = []

    def search(query: str, k: int, mode: str) -> list[str]:
        calls.append(k)
        return [f"corpus/d{i // 20}" for i in range(min(k, 20 * 500))]

    ranked = rank_documents(search, "q", "bm25", depth=1000, need=100)
    assert calls == [1000, 4000]
    assert ranked[:3] == ["d0", "d1", "d2"] and len(ranked) == 200


# --------------------------------------------------------------------------------------------
# BEIR folders
# --------------------------------------------------------------------------------------------

TINY_DOCS = [
    ("d1", "Cocoa harvest in Bahia",
     "Showers continued throughout the week in the Bahia cocoa zone, alleviating the drought. "
     "Arrivals of cocoa bags rose against the same stage last year."),
    ("d2", "Magnitogorsk building collapse",
     "An apartment building collapsed in Magnitogorsk after a gas explosion. "
     "Rescuers worked in temperatures well below freezing to find survivors."),
    ("d3", "Central bank raises rates",
     "The central bank raised its benchmark interest rate by half a point to fight inflation. "
     "Markets had expected a smaller increase."),
    ("d4", "Volcano erupts in Iceland",
     "A volcano erupted on the Reykjanes peninsula, sending lava towards the town of Grindavik. "
     "Residents had been evacuated weeks before."),
]
TINY_QUERIES = [
    ("q1", "drought in the cocoa growing region"),
    ("q2", "gas explosion destroys apartment block"),
    ("q3", "interest rate increase to curb inflation"),
    ("q9", "a query with no judgements in the test split"),
]
TINY_QRELS = [("q1", "d1", 1), ("q2", "d2", 2), ("q3", "d3", 1), ("q3", "d4", 0)]


def make_beir(root: Path) -> Path:
    """A four-document BEIR folder in the real on-disk format."""
    root.mkdir(parents=True, exist_ok=True)
    with (root / "corpus.jsonl").open("w") as f:
        for doc_id, title, text in TINY_DOCS:
            f.write(json.dumps({"_id": doc_id, "title": title, "text": text, "metadata": {}}) + "\n")
    with (root / "queries.jsonl").open("w") as f:
        for qid, text in TINY_QUERIES:
            f.write(json.dumps({"_id": qid, "text": text, "metadata": {}}) + "\n")
    (root / "qrels").mkdir(exist_ok=True)
    with (root / "qrels" / "test.tsv").open("w") as f:
        f.write("query-id\tcorpus-id\tscore\n")
        for qid, doc, rel in TINY_QRELS:
            f.write(f"{qid}\t{doc}\t{rel}\n")
    return root


def test_load_beir_reads_judged_queries_and_graded_qrels(tmp_path: Path) -> None:
    data = load_beir(make_beir(tmp_path / "tiny"), "test")
    assert data.name == "tiny"
    assert data.documents == 4
    assert data.queries == {
        "q1": "drought in the cocoa growing region",
        "q2": "gas explosion destroys apartment block",
        "q3": "interest rate increase to curb inflation",
    }  # q9 has no judgements in this split, so it is not scored
    assert data.qrels == {"q1": {"d1": 1}, "q2": {"d2": 2}, "q3": {"d3": 1, "d4": 0}}


def test_load_beir_names_the_missing_file(tmp_path: Path) -> None:
    root = make_beir(tmp_path / "tiny")
    with pytest.raises(QAError, match=r"qrels/dev\.tsv is missing"):
        load_beir(root, "dev")
    (root / "queries.jsonl").unlink()
    with pytest.raises(QAError, match="queries.jsonl is missing"):
        load_beir(root, "test")


def test_load_beir_rejects_qrels_for_unknown_queries(tmp_path: Path) -> None:
    root = make_beir(tmp_path / "tiny")
    with (root / "qrels" / "test.tsv").open("a") as f:
        f.write("q404\td1\t1\n")
    with pytest.raises(QAError, match="q404"):
        load_beir(root, "test")


# --------------------------------------------------------------------------------------------
# Question sets: JSONL and SQuAD 2.0, kinds and splits
# --------------------------------------------------------------------------------------------


def _write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def test_jsonl_set_reads_kinds_splits_and_history(tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "set.jsonl", [
        {"id": "a", "question": "Who?", "answers": ["Smith"], "split": "dev"},
        {"question": "Why?", "kind": "off_topic", "split": "test"},
        {"question": "When?", "answers": [], "answerable": False, "split": "dev"},  # old field
        {"question": "And then?", "answers": "Paris", "history": ["Who?"], "article": "x/1",
         "kind": "answerable", "split": "test"},
        {"question": "Where?"},  # no split: only in "all"
    ])
    every = load_question_set(path)
    assert [e.kind for e in every.examples] == [
        "answerable", "off_topic", "unanswerable", "answerable", "unanswerable"]
    assert every.format == "jsonl" and every.articles is None
    assert every.examples[0].id == "a" and every.examples[1].id == "set:2"  # file:line
    follow_up = every.examples[3]
    assert follow_up.answers == ("Paris",) and follow_up.history == ("Who?",)
    assert follow_up.article == "x/1" and follow_up.answerable
    assert [e.question for e in load_question_set(path, "dev").examples] == ["Who?", "When?"]
    assert [e.question for e in load_question_set(path, "test").examples] == ["Why?", "And then?"]


def test_jsonl_set_rejects_bad_kinds_splits_and_empty_splits(tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "set.jsonl", [{"question": "Who?", "kind": "maybe"}])
    with pytest.raises(QAError, match=r"set.jsonl:1: kind 'maybe'"):
        load_question_set(path)
    _write_jsonl(path, [{"question": "Who?", "split": "train"}])
    with pytest.raises(QAError, match=r"split 'train'"):
        load_question_set(path)
    _write_jsonl(path, [{"question": "Who?", "split": "dev"}])
    with pytest.raises(QAError, match=r"no question in split 'test'"):
        load_question_set(path, "test")
    with pytest.raises(QAError, match="Unknown split"):
        load_question_set(path, "train")


def test_load_qa_examples_requires_a_question(tmp_path: Path) -> None:
    dev = tmp_path / "dev.jsonl"
    dev.write_text('{"question": "Who?", "answers": "Smith"}\n{"answers": ["x"]}\n')
    with pytest.raises(QAError, match=r"dev.jsonl:2"):
        load_qa_examples(dev)
    dev.write_text('{"question": "Who?", "answers": "Smith"}\n{"question": "Why?"}\n')
    examples = load_qa_examples(dev)
    assert examples[0].answers == ("Smith",) and examples[0].answerable
    assert not examples[1].answerable  # no expected answer and no flag: not answerable


SQUAD_TITLES = {
    "Magnitogorsk": [
        "An apartment building collapsed in Magnitogorsk after a gas explosion. Rescuers "
        "worked in temperatures well below freezing to find survivors.",
        "The city lies on the Ural River. Its steel works are among the largest in Russia.",
    ],
    "Central_bank": [
        "The central bank raised its benchmark interest rate by half a point to fight "
        "inflation. Markets had expected a smaller increase.",
        "The bank's governor said further increases were possible. The currency rose.",
    ],
}


def make_squad(root: Path) -> tuple[Path, Path]:
    """A SQuAD 2.0 file of two titles (two paragraphs each) and a split file naming them."""
    questions = {
        ("Magnitogorsk", 0): [
            ("m1", "Where did an apartment building collapse?", ["Magnitogorsk", "Magnitogorsk"]),
            ("m2", "How many survivors were found in the river?", None),
        ],
        ("Magnitogorsk", 1): [("m3", "Which river does the city lie on?", ["Ural River",
                                                                           "the Ural River"])],
        ("Central_bank", 0): [
            ("c1", "By how much did the bank raise its rate?", ["half a point"]),
            ("c2", "Who cut the rate by a full point?", None),
        ],
        ("Central_bank", 1): [],
    }
    data = []
    for title, contexts in SQUAD_TITLES.items():
        paragraphs = []
        for n, context in enumerate(contexts):
            qas = []
            for qid, question, answers in questions[(title, n)]:
                qas.append({
                    "id": qid, "question": question, "is_impossible": answers is None,
                    "answers": [{"text": a, "answer_start": context.find(a)}
                                for a in answers or []],
                    **({"plausible_answers": [{"text": "three", "answer_start": 0}]}
                       if answers is None else {}),
                })
            paragraphs.append({"context": context, "qas": qas})
        data.append({"title": title, "paragraphs": paragraphs})
    root.mkdir(parents=True, exist_ok=True)
    squad = root / "squad-tiny.json"
    squad.write_text(json.dumps({"version": "v2.0", "data": data}), encoding="utf-8")
    split = root / "split.json"
    split.write_text(json.dumps({"dev": ["Magnitogorsk"], "test": ["Central_bank"]}))
    return squad, split


def test_squad_is_told_by_content_and_split_by_article(tmp_path: Path) -> None:
    squad, split = make_squad(tmp_path)
    every = load_question_set(squad, "all", split_file=split)
    assert every.format == "squad"
    assert [(e.id, e.kind, e.split, e.article) for e in every.examples] == [
        ("m1", "answerable", "dev", "Magnitogorsk#1"),
        ("m2", "unanswerable", "dev", "Magnitogorsk#1"),
        ("m3", "answerable", "dev", "Magnitogorsk#2"),
        ("c1", "answerable", "test", "Central_bank#1"),
        ("c2", "unanswerable", "test", "Central_bank#1"),
    ]
    assert every.examples[0].answers == ("Magnitogorsk",)  # duplicates collapsed
    assert every.examples[2].answers == ("Ural River", "the Ural River")
    assert every.examples[1].answers == ()  # plausible answers are not answers
    # Every paragraph is an article, whatever the split: the others are distractors.
    assert [a["id"] for a in every.articles] == [
        "Magnitogorsk#1", "Magnitogorsk#2", "Central_bank#1", "Central_bank#2"]
    assert every.articles[2]["title"] == "Central bank"
    assert every.articles[0]["text"] == SQUAD_TITLES["Magnitogorsk"][0]
    test = load_question_set(squad, "test", split_file=split)
    assert [e.id for e in test.examples] == ["c1", "c2"] and len(test.articles) == 4
    (tmp_path / "other.json").write_text(json.dumps({"dev": ["Normans"], "test": []}))
    with pytest.raises(QAError, match="No article of .* is in split 'dev'"):
        load_question_set(squad, "dev", split_file=tmp_path / "other.json")


def test_a_squad_split_needs_the_split_file_from_the_caller(
    tmp_path: Path, eval_cache: Path
) -> None:
    """The evaluation never reads bench/: asked for a SQuAD split without a split file, it
    says which flag gives one, before building anything; every question can still be asked."""
    squad, _ = make_squad(tmp_path)
    for split in ("dev", "test"):
        with pytest.raises(QAError, match=r"--split-file FILE.*or use --split all"):
            load_question_set(squad, split)
    with pytest.raises(QAError, match=r"--split-file"):
        evaluate_qa(squad, split="dev", embedder=HashEmbedder())
    assert not eval_cache.exists()  # refused before any index was built
    every = load_question_set(squad, "all")
    assert len(every.examples) == 5 and {e.split for e in every.examples} == {None}


def test_packaged_sets_are_split_once() -> None:
    root = Path(__file__).resolve().parent.parent
    dev = load_qa_examples(root / "bench" / "sets" / "seeds.jsonl", "dev")
    held_out = load_qa_examples(root / "bench" / "sets" / "seeds.jsonl", "test")
    assert len(dev) == 53 and {e.split for e in dev} == {"dev"}
    assert len(held_out) == 15 and {e.split for e in held_out} == {"test"}
    assert sum(e.answerable for e in dev) == 35 and sum(e.answerable for e in held_out) == 10
    assert {e.kind for e in dev} == {"answerable", "unanswerable", "off_topic"}
    split_file = root / "bench" / "sets" / "squad2-split.json"
    named = json.loads(split_file.read_text())
    assert not set(named["dev"]) & set(named["test"])
    squad = SHARED / "eval" / "squad2-dev-subset" / "dev-v2.0-first5.json"
    if squad.exists():  # the split names exactly the file's articles
        titles = [a["title"] for a in json.loads(squad.read_text())["data"]]
        assert sorted(named["dev"] + named["test"]) == sorted(titles)
        dev_squad = load_question_set(squad, "dev", split_file=split_file)
        assert {e.article.split("#")[0] for e in dev_squad.examples} == set(named["dev"])
        assert len(dev_squad.articles) == 173


# --------------------------------------------------------------------------------------------
# The naive baseline
# --------------------------------------------------------------------------------------------


def test_rrf_rank_fuses_two_rankings_with_k_60() -> None:
    # BM25 ranks 0, 2, 1; cosine ranks 1, 2, 0. Fused: 0 and 1 get 1/61 + 1/63, 2 gets 2/62
    # (a hair less); the tie keeps retrieval order.
    assert rrf_rank([3.0, 1.0, 2.0], [0.1, 0.9, 0.5]) == [0, 1, 2]
    assert rrf_rank([0.0, 0.0, 5.0], [0.9, 0.1, 0.2]) == [0, 2, 1]
    assert rrf_rank([1.0, 2.0], [0.5, 0.4], k=0) == [0, 1]  # 1/1 + 1/2 each: position decides


@pytest.fixture
def tiny_index(tmp_path: Path, make_index) -> Path:
    corpus = tmp_path / "tiny-corpus"
    corpus.mkdir()
    for doc_id, title, text in TINY_DOCS:
        (corpus / f"{doc_id}.txt").write_text(f"{title}\n\n{text}\n")
    return make_index(corpus, tmp_path / "tiny-index")


def test_baseline_cites_the_two_best_sentences_verbatim(tiny_index: Path, hash_embedder) -> None:
    from qa import Retriever

    retriever = Retriever.open(tiny_index, embedder=hash_embedder)
    baseline = BaselineAssistant(retriever)
    answer = baseline.ask("Where did an apartment building collapse after a gas explosion?")
    assert not answer.abstained and len(answer.citations) == 2
    assert contains_answer(" ".join(c.text for c in answer.citations[:2]), ["Magnitogorsk"])
    for c in answer.citations:  # the citation-span property
        assert retriever.article(c.article_id).text[c.start:c.end] == c.text
    # It never abstains, even when nothing answers.
    off_topic = baseline.ask("Who won the 1987 Wimbledon tennis final?")
    assert not off_topic.abstained and len(off_topic.citations) == 2
    # The same question gives the same answer (vectors cached between questions).
    again = baseline.ask("Where did an apartment building collapse after a gas explosion?")
    assert [c.text for c in again.citations] == [c.text for c in answer.citations]


def test_baseline_candidates_are_each_sentence_once_in_retrieval_order() -> None:
    text = "One. Two. Three."
    first = Hit(chunk_id=1, article_id="a", title="t", date=None, source="", url=None,
                text=text[:9], start=0, end=9, score=1.0, via="both",
                sentences=((0, 4), (5, 9)))
    second = Hit(chunk_id=2, article_id="a", title="t", date=None, source="", url=None,
                 text=text[5:], start=5, end=16, score=0.5, via="both",
                 sentences=((5, 9), (10, 16)))  # chunks overlap by one sentence
    spans = [(h.chunk_id, s, e) for h, s, e in candidate_sentences([first, second])]
    assert spans == [(1, 0, 4), (1, 5, 9), (2, 10, 16)]


# --------------------------------------------------------------------------------------------
# The figures, on outcomes worked out by hand
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConfidentAnswer(Answer):
    """An `Answer` with the `confidence` the assistant is gaining (issue 11)."""

    confidence: float | None = None


def _hit(text: str) -> Hit:
    return Hit(chunk_id=1, article_id="a", title="t", date=None, source="", url=None,
               text=text, start=0, end=len(text), score=1.0, via="both")


def _answer(question: str, sentences: list[str], abstained: bool = False,
            confidence: float | None = None) -> Answer:
    citations = tuple(
        Citation(n=i + 1, article_id="a", title="t", date=None, source="", url=None, text=s,
                 start=0, end=len(s), score=1.0, chunk_text=s, chunk_start=0,
                 chunk_end=len(s))
        for i, s in enumerate(sentences)
    )
    return ConfidentAnswer(question=question, resolved_question=question,
                           text=" ".join(sentences), citations=citations, abstained=abstained,
                           mode="hybrid", confidence=confidence)


class FakeRetriever:
    def __init__(self, passages: dict[str, list[str]]) -> None:
        self.passages = passages

    def search(self, query: str, k: int = 5, **_: object) -> list[Hit]:
        return [_hit(p) for p in self.passages.get(query, [])][:k]

    def warm_up(self) -> None:
        pass

    def articles(self) -> list[object]:
        return []


class FakeAssistant:
    def __init__(self, replies: dict[str, Answer]) -> None:
        self.replies = replies
        self.histories: dict[str, list] = {}

    def ask(self, question: str, history: object = ()) -> Answer:
        self.histories[question] = list(history)  # type: ignore[call-overload]
        if question not in self.replies:
            raise QueryError("nothing to search for")
        return self.replies[question]


SYNTHETIC = [
    {"question": "A1", "answers": ["39 people"]},
    {"question": "A2", "answers": ["Grindavik", "Grindavík"]},
    {"question": "A3", "answers": ["half a point"], "history": ["A1"]},
    {"question": "U1", "kind": "unanswerable"},
    {"question": "U2", "kind": "unanswerable"},
    {"question": "O1", "kind": "off_topic"},
]
RIGHT = "A total of 39\n PEOPLE are confirmed dead."  # case and line break differ
LAVA = "Lava flowed towards the town of Grindavik."
WRONG = "Markets fell."


def _synthetic_report(tmp_path: Path, with_confidence: bool = True):
    path = _write_jsonl(tmp_path / "set.jsonl", SYNTHETIC)
    c = (lambda x: x) if with_confidence else (lambda x: None)
    qa = FakeAssistant({
        "A1": _answer("A1", [RIGHT], confidence=c(0.9)),
        "A2": _answer("A2", [LAVA], abstained=True, confidence=c(0.3)),  # wrongly abstained
        "A3": _answer("A3", [WRONG], confidence=c(0.6)),  # cited the wrong sentence
        "U1": _answer("U1", [WRONG], abstained=True, confidence=c(0.2)),  # rightly abstained
        "U2": _answer("U2", ["Something else entirely."], confidence=c(0.7)),  # should not answer
        # O1 raises QueryError: counted as an abstention, for another reason (no confidence)
    })
    baseline = FakeAssistant({
        "A1": _answer("A1", [RIGHT, WRONG]), "A2": _answer("A2", [LAVA, WRONG]),
        "A3": _answer("A3", [WRONG, WRONG]), "U1": _answer("U1", [WRONG, LAVA]),
        "U2": _answer("U2", [WRONG, LAVA]), "O1": _answer("O1", [WRONG, LAVA]),
    })
    retriever = FakeRetriever({"A1": [RIGHT], "A2": [WRONG, LAVA], "A3": [WRONG]})
    report = evaluate_qa(path, retriever=retriever, assistant=qa, baseline=baseline)
    return report, qa


def test_figures_per_system_and_kind(tmp_path: Path) -> None:
    report, qa = _synthetic_report(tmp_path)
    assert report.questions == 6
    assert report.kinds == {"answerable": 3, "unanswerable": 2, "off_topic": 1}
    assert report.answer_in_top_k == pytest.approx(2 / 3)  # A3's passages lack it
    assert qa.histories["A3"] == ["A1"] and qa.histories["A1"] == []  # asked with history
    q, b = report.qa, report.baseline
    assert q.answer_in_citations == pytest.approx(1 / 3)  # A1 only: A2 abstained, A3 wrong
    assert q.false_abstention == pytest.approx(1 / 3)
    assert q.correct_abstention_unanswerable == pytest.approx(1 / 2)
    assert q.correct_abstention_off_topic == pytest.approx(1.0)
    assert q.answered == 3  # A1, A3, U2
    assert q.cited_sentences == pytest.approx(1.0)
    assert q.cited_characters == pytest.approx(
        (len(RIGHT) + len(WRONG) + len("Something else entirely.")) / 3)
    assert b.answer_in_citations == pytest.approx(2 / 3)
    assert b.false_abstention == 0.0 and b.correct_abstention_unanswerable == 0.0
    assert b.correct_abstention_off_topic == 0.0
    assert b.answered == 6 and b.cited_sentences == pytest.approx(2.0)
    assert q.p50_ms is not None and q.p50_ms >= 0
    table = report.table()
    assert "qa" in table and "baseline" in table and "0.333" in table and "0.667" in table
    out = report.as_json()
    assert out["qa"]["false_abstention"] == pytest.approx(0.3333)
    by_id = {o["id"]: o for o in out["outcomes"]}
    assert by_id["set:2"]["qa"]["abstained"] and not by_id["set:2"]["qa"]["in_citations"]
    assert by_id["set:2"]["baseline"]["in_citations"]
    assert by_id["set:2"]["qa"]["confidence"] == pytest.approx(0.3)
    assert by_id["set:6"]["qa"] == {"abstained": True, "in_citations": False, "cited": [],
                                    "ms": by_id["set:6"]["qa"]["ms"], "confidence": None,
                                    "phrase": None, "phrase_holds_answer": False}
    assert by_id["set:1"]["baseline"]["cited"] == [RIGHT, WRONG]


def test_abstention_curve_over_confidence_thresholds(tmp_path: Path) -> None:
    report, _ = _synthetic_report(tmp_path)
    curve = {p.threshold: p for p in report.curve}
    assert sorted(curve) == [round(0.05 * i, 2) for i in range(21)]
    # Confidences: answerable .9 .3 .6; unanswerable .2 .7; off-topic abstained without one.
    assert curve[0.0].false_abstention == 0.0
    assert curve[0.0].correct_abstention_unanswerable == 0.0
    assert curve[0.0].correct_abstention_off_topic == 1.0  # abstained for another reason
    assert curve[0.0].correct_abstention == pytest.approx(1 / 3)
    assert curve[0.5].false_abstention == pytest.approx(1 / 3)  # A2
    assert curve[0.5].correct_abstention == pytest.approx(2 / 3)  # U1, O1
    assert curve[0.65].false_abstention == pytest.approx(2 / 3)  # A2, A3
    assert curve[0.65].correct_abstention_unanswerable == pytest.approx(1 / 2)
    assert curve[1.0].false_abstention == 1.0 and curve[1.0].correct_abstention == 1.0
    assert "abstention curve (qa abstains iff confidence < threshold)" in report.table()


def test_no_curve_when_answers_carry_no_confidence(tmp_path: Path) -> None:
    report, _ = _synthetic_report(tmp_path, with_confidence=False)
    assert report.curve is None
    assert report.as_json()["curve"] is None
    assert "n/a (qa's answers carry no confidence)" in report.table()
    # A bare Answer, without the field at all, reads as no confidence too.
    assert answer_confidence(Answer("q", "q", "", (), False, "hybrid")) is None


def test_contains_answer_ignores_case_and_spacing_but_not_words() -> None:
    assert contains_answer("The  Bank of\nEngland said", ["bank of england"])
    assert not contains_answer("The Bank of France said", ["Bank of England"])
    assert not contains_answer("anything", [""])


# --------------------------------------------------------------------------------------------
# Evaluation indexes live in their own folder; the user's index is refused, not rebuilt
# --------------------------------------------------------------------------------------------


def _files(root: Path) -> dict[str, bytes | None]:
    """Every file (bytes) and folder (None) under root, by relative path."""
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None)
            for p in sorted(root.rglob("*"))}


@pytest.fixture
def eval_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "cache"
    monkeypatch.setenv("QA_EVAL_CACHE", str(cache))
    return cache


def test_eval_beir_refuses_the_users_index_and_leaves_it_unchanged(
    tmp_path: Path, tiny_index: Path, eval_cache: Path
) -> None:
    beir = make_beir(tmp_path / "tiny")
    before = _files(tmp_path)
    with pytest.raises(QAError) as refused:
        evaluate_beir(beir, index=tiny_index, embedder=HashEmbedder())
    message = str(refused.value)
    assert "holds an index built from" in message and "tiny-corpus" in message
    assert str(eval_cache / "tiny" / "index") in message  # where to go instead
    assert _files(tmp_path) == before  # not a byte changed, no `tiny-index.corpus` made


def test_eval_refuses_a_folder_of_other_files(tmp_path: Path, eval_cache: Path) -> None:
    beir = make_beir(tmp_path / "tiny")
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "todo.txt").write_text("keep me\n")
    (notes / "data-2024").mkdir()  # looks like one of qa's generations: still not ours
    before = _files(tmp_path)
    with pytest.raises(QAError, match=r"holds other files \(data-2024, todo.txt\)"):
        evaluate_beir(beir, index=notes, embedder=HashEmbedder())
    assert _files(tmp_path) == before
    squad, split = make_squad(tmp_path / "squad")
    before = _files(tmp_path)
    with pytest.raises(QAError, match="holds other files"):
        evaluate_qa(squad, split_file=split, index=notes, embedder=HashEmbedder())
    assert _files(tmp_path) == before


def test_eval_qa_refuses_an_index_of_another_corpus(
    tmp_path: Path, tiny_index: Path, eval_cache: Path
) -> None:
    squad, split = make_squad(tmp_path / "squad")
    questions = _write_jsonl(tmp_path / "q.jsonl", [{"question": "Who?", "answers": ["x"]}])
    other = tmp_path / "other-corpus"
    other.mkdir()
    (other / "a.txt").write_text("Title\n\nSome text here.\n")
    before = _files(tmp_path)
    with pytest.raises(QAError, match="holds an index built from"):
        evaluate_qa(squad, split_file=split, index=tiny_index, embedder=HashEmbedder())
    with pytest.raises(QAError, match=re.escape(str(eval_cache))):
        evaluate_qa(questions, corpus=other, index=tiny_index, embedder=HashEmbedder())
    assert _files(tmp_path) == before


def test_eval_refuses_to_write_its_corpus_over_a_users_folder(
    tmp_path: Path, eval_cache: Path
) -> None:
    beir = make_beir(tmp_path / "tiny")
    mine = tmp_path / "mine.corpus"  # beside --index mine: where the eval corpus would go
    mine.mkdir()
    (mine / "corpus.jsonl").write_text('{"_id": "x", "text": "my own article"}\n')
    before = _files(tmp_path)
    with pytest.raises(QAError, match="already holds files"):
        evaluate_beir(beir, index=tmp_path / "mine", embedder=HashEmbedder())
    assert _files(tmp_path) == before


def test_eval_index_of_its_own_corpus_is_reused(tmp_path: Path, eval_cache: Path) -> None:
    beir = make_beir(tmp_path / "tiny")
    index = tmp_path / "eval-index"
    first = evaluate_beir(beir, index=index, modes=["bm25"], embedder=HashEmbedder())
    assert first.embedded_chunks > 0 and (tmp_path / "eval-index.corpus").is_dir()
    again = evaluate_beir(beir, index=index, modes=["bm25"], embedder=HashEmbedder())
    assert again.embedded_chunks == 0  # its own index: accepted, nothing re-embedded


def test_eval_cache_follows_xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("QA_EVAL_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert eval_cache_root() == tmp_path / "xdg" / "qa" / "eval"
    assert default_qa_index(tmp_path / "corpus").parent.parent == tmp_path / "xdg" / "qa" / "eval"
    # Two corpus folders of the same name get two indexes.
    assert default_qa_index(tmp_path / "a" / "corpus") != default_qa_index(tmp_path / "corpus")
    monkeypatch.setenv("QA_EVAL_CACHE", str(tmp_path / "mine"))
    assert eval_cache_root() == tmp_path / "mine"


def test_evaluate_qa_on_squad_builds_its_own_index_once(tmp_path: Path, eval_cache: Path) -> None:
    squad, split = make_squad(tmp_path / "squad")
    report = evaluate_qa(squad, split="dev", split_file=split, embedder=HashEmbedder())
    assert report.questions == 3 and report.kinds["unanswerable"] == 1
    assert report.articles == 4  # all paragraphs, the test split's as distractors
    index = Path(report.index)
    assert index.parent.parent == eval_cache and manifest_path(index).is_file()
    corpus_file = Path(report.corpus) / SQUAD_CORPUS_FILE
    lines = [json.loads(x) for x in corpus_file.read_text().splitlines()]
    assert [x["id"] for x in lines][:2] == ["Magnitogorsk#1", "Magnitogorsk#2"]
    written = corpus_file.stat().st_mtime_ns
    for outcome in report.outcomes:  # the baseline never abstains
        assert not outcome.baseline.abstained and len(outcome.baseline.cited) == 2
    again = evaluate_qa(squad, split="test", split_file=split, embedder=HashEmbedder(),
                        limit=1)
    assert again.index == report.index and again.questions == 1
    assert corpus_file.stat().st_mtime_ns == written  # unchanged corpus: left alone
    with pytest.raises(QAError, match="leave out --corpus"):
        evaluate_qa(squad, corpus=tmp_path, split_file=split, embedder=HashEmbedder())


# --------------------------------------------------------------------------------------------
# The command, end to end with the real model, FAISS and rank-bm25
# --------------------------------------------------------------------------------------------


def _qa(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "qa.cli", *args], cwd=cwd, capture_output=True, text=True,
        timeout=600, env={**os.environ, **(env or {})},
    )


@pytest.mark.integration
def test_qa_eval_beir_json_reports_three_modes(tmp_path: Path) -> None:
    beir = make_beir(tmp_path / "tiny")
    index = tmp_path / "eval-index"
    run = _qa("eval", "--beir", str(beir), "--index", str(index), "--json", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    for mode in ("hybrid", "dense", "bm25"):
        assert set(out[mode]) >= {"ndcg@10", "recall@100", "mrr@10"}
        assert out[mode]["queries"] == 3
        # Three easy queries over four documents: each relevant document must be found.
        assert out[mode]["recall@100"] == pytest.approx(1.0)
        assert out[mode]["mrr@10"] > 0.5
    assert out["dataset"]["documents"] == 4

    # A second run reuses the index (nothing re-embedded) and prints a table for one mode.
    again = _qa("eval", "--beir", str(beir), "--index", str(index), "--mode", "bm25",
                cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "nDCG@10" in again.stdout and "bm25" in again.stdout
    assert "hybrid" not in again.stdout.split("nDCG@10", 1)[1]



@pytest.mark.integration
def test_qa_eval_qa_on_a_tiny_squad_file(tmp_path: Path) -> None:
    squad, split = make_squad(tmp_path / "squad")
    env = {"QA_EVAL_CACHE": str(tmp_path / "cache")}
    out_file = tmp_path / "outcomes.jsonl"
    run = _qa("eval", "--qa", str(squad), "--json", "--out", str(out_file), cwd=tmp_path,
              env=env)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert out["questions"] == 5 and out["kinds"]["answerable"] == 3
    assert out["answer_in_top_k"] == pytest.approx(1.0)  # four paragraphs: all retrieved
    # Easy questions over four short paragraphs: the baseline cites each answer.
    assert out["baseline"]["answer_in_citations"] == pytest.approx(1.0)
    assert set(out["qa"]) >= {"answer_in_citations", "false_abstention", "cited_characters",
                              "correct_abstention_unanswerable", "p50_ms"}
    assert len(out_file.read_text().splitlines()) == 5
    table = _qa("eval", "--qa", str(squad), "--split", "all", cwd=tmp_path, env=env)
    assert table.returncode == 0, table.stderr
    assert "baseline" in table.stdout and "answer inside cited text" in table.stdout


@pytest.mark.integration
def test_qa_eval_qa_on_a_tiny_dev_file(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for doc_id, title, text in TINY_DOCS:
        (corpus / f"{doc_id}.txt").write_text(f"{title}\n\n{text}\n")
    index = tmp_path / "index"
    built = _qa("index", "--corpus", str(corpus), "--index", str(index), cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    dev = _write_jsonl(tmp_path / "dev.jsonl", [
        {"question": "Where did an apartment building collapse after a gas explosion?",
         "answers": ["Magnitogorsk"]},
        {"question": "By how much did the central bank raise its interest rate?",
         "answers": ["half a point"]},
        {"question": "Who won the 1987 Wimbledon tennis final?", "kind": "off_topic"},
    ])
    before = _files(index)
    # The user's index of this very corpus is this evaluation's index: reused as it is.
    run = _qa("eval", "--qa", str(dev), "--corpus", str(corpus), "--index", str(index),
              "--k", "3", "--json", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert out["questions"] == 3 and out["kinds"] == {
        "answerable": 2, "unanswerable": 0, "off_topic": 1}
    assert out["answer_in_top_k"] == pytest.approx(1.0) and out["k"] == 3
    assert out["baseline"]["correct_abstention_off_topic"] == 0.0  # it never abstains
    after = _files(index)
    after.pop(LOCK), before.pop(LOCK)  # the up-to-date check held the lock: its pid
    assert after == before


def test_eval_corpus_holds_only_the_corpus_file_and_is_stable(tmp_path: Path) -> None:
    from qa.corpus.ingest import load_corpus
    from qa.evaluation import prepare_eval_corpus

    data = load_beir(make_beir(tmp_path / "tiny"), "test")
    folder = prepare_eval_corpus(data.corpus_path, tmp_path / "eval" / "index.corpus")
    assert sorted(p.name for p in folder.iterdir()) == ["corpus.jsonl"]  # no queries.jsonl
    first = (folder / "corpus.jsonl").stat()
    prepare_eval_corpus(data.corpus_path, folder)  # a second run leaves the file alone
    assert (folder / "corpus.jsonl").stat().st_mtime_ns == first.st_mtime_ns
    articles, skipped = load_corpus(folder)
    assert not skipped
    assert sorted(beir_doc_id(a.id) for a in articles) == ["d1", "d2", "d3", "d4"]


def test_qa_eval_passes_its_split_file_flag(tmp_path: Path, eval_cache: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    """`qa eval --split-file` is the flag the library's message names: the CLI hands it on, and
    refuses it beside --beir."""
    from qa.cli import main

    squad, split = make_squad(tmp_path)
    assert main(["eval", "--qa", str(squad), "--split", "dev"]) != 0
    assert "--split-file" in capsys.readouterr().err
    assert not eval_cache.exists()
    assert main(["eval", "--beir", str(tmp_path), "--split-file", str(split)]) != 0
    assert "--split-file" in capsys.readouterr().err
