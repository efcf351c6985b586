"""`qa eval`: metric formulas, BEIR loading, dev-set scoring, and the command end to end."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from qa.errors import QAError
from qa.evaluation import (
    QAOutcome,
    beir_doc_id,
    contains_answer,
    documents_from_chunks,
    evaluate_qa,
    load_beir,
    load_qa_examples,
    mrr_at_k,
    ndcg_at_k,
    rank_documents,
    recall_at_k,
    summarise_qa,
)
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
# Dev-set QA scoring
# --------------------------------------------------------------------------------------------


def _hit(text: str) -> Hit:
    return Hit(chunk_id=1, article_id="a", title="t", date=None, source="", url=None,
               text=text, start=0, end=len(text), score=1.0, via="both")


def _answer(question: str, sentences: list[str], abstained: bool = False) -> Answer:
    citations = tuple(
        Citation(n=i + 1, article_id="a", title="t", date=None, source="", url=None, text=s,
                 start=0, end=len(s), score=1.0, chunk_text=s, chunk_start=0,
                 chunk_end=len(s))
        for i, s in enumerate(sentences)
    )
    return Answer(question=question, resolved_question=question, text=" ".join(sentences),
                  citations=citations, abstained=abstained, mode="hybrid")


class FakeRetriever:
    def __init__(self, passages: dict[str, list[str]]) -> None:
        self.passages = passages

    def search(self, query: str, k: int = 5, **_: object) -> list[Hit]:
        return [_hit(p) for p in self.passages.get(query, [])][:k]


class FakeAssistant:
    def __init__(self, replies: dict[str, Answer]) -> None:
        self.replies = replies

    def ask(self, question: str, history: object = None) -> Answer:
        return self.replies[question]


def test_evaluate_qa_scores_passages_citations_and_abstention(tmp_path: Path) -> None:
    dev = tmp_path / "dev.jsonl"
    lines = [
        {"question": "Q1", "answers": ["39 people"], "answerable": True},
        {"question": "Q2", "answers": ["Grindavik", "Grindavík"], "answerable": True},
        {"question": "Q3", "answers": ["half a point"], "answerable": True},
        {"question": "Q4", "answers": [], "answerable": False},
        {"question": "Q5", "answers": [], "answerable": False},
    ]
    dev.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    retriever = FakeRetriever({
        "Q1": ["A total of 39\n PEOPLE are confirmed dead."],  # case and line break differ
        "Q2": ["Lava flowed towards the town of Grindavik."],
        "Q3": ["Markets fell."],
    })
    assistant = FakeAssistant({
        "Q1": _answer("Q1", ["A total of 39 people are confirmed dead."]),
        "Q2": _answer("Q2", ["Residents had been evacuated."]),  # cited the wrong sentence
        "Q3": _answer("Q3", [], abstained=True),  # wrongly abstained
        "Q4": _answer("Q4", [], abstained=True),  # rightly abstained
        "Q5": _answer("Q5", ["Something unrelated."]),  # should have abstained
    })
    report = evaluate_qa(dev, k=5, assistant=assistant, retriever=retriever)
    assert report.questions == 5 and report.answerable == 3
    assert report.answer_in_top_k == pytest.approx(2 / 3)
    assert report.answer_in_citations == pytest.approx(1 / 3)
    assert report.abstention_precision == pytest.approx(1 / 2)  # Q3 wrong, Q4 right
    assert report.abstention_recall == pytest.approx(1 / 2)  # Q4 caught, Q5 missed
    out = report.as_json()
    assert out["answer_in_top_5"] == pytest.approx(0.6667, abs=1e-4)
    assert "abstention precision" in report.table()


def test_summarise_qa_leaves_undefined_rates_empty() -> None:
    outcomes = [QAOutcome("q", True, False, True, True)]
    report = summarise_qa("dev.jsonl", 5, outcomes)
    assert report.abstention_precision is None  # never abstained
    assert report.abstention_recall is None  # nothing unanswerable
    assert "n/a" in report.table()


def test_contains_answer_ignores_case_and_spacing_but_not_words() -> None:
    assert contains_answer("The  Bank of\nEngland said", ["bank of england"])
    assert not contains_answer("The Bank of France said", ["Bank of England"])
    assert not contains_answer("anything", [""])


def test_load_qa_examples_requires_a_question(tmp_path: Path) -> None:
    dev = tmp_path / "dev.jsonl"
    dev.write_text('{"question": "Who?", "answers": "Smith"}\n{"answers": ["x"]}\n')
    with pytest.raises(QAError, match=r"dev.jsonl:2"):
        load_qa_examples(dev)
    dev.write_text('{"question": "Who?", "answers": "Smith"}\n{"question": "Why?"}\n')
    examples = load_qa_examples(dev)
    assert examples[0].answers == ("Smith",) and examples[0].answerable
    assert not examples[1].answerable  # no expected answer and no flag: not answerable


# --------------------------------------------------------------------------------------------
# The command, end to end with the real model, FAISS and rank-bm25
# --------------------------------------------------------------------------------------------


def _qa(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "qa.cli", *args], cwd=cwd, capture_output=True, text=True,
        timeout=600,
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
def test_qa_eval_qa_on_a_tiny_dev_file(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for doc_id, title, text in TINY_DOCS:
        (corpus / f"{doc_id}.txt").write_text(f"{title}\n\n{text}\n")
    index = tmp_path / "index"
    built = _qa("index", "--corpus", str(corpus), "--index", str(index), cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    dev = tmp_path / "dev.jsonl"
    dev.write_text("\n".join(json.dumps(x) for x in [
        {"question": "Where did an apartment building collapse after a gas explosion?",
         "answers": ["Magnitogorsk"], "answerable": True},
        {"question": "By how much did the central bank raise its interest rate?",
         "answers": ["half a point"], "answerable": True},
        {"question": "Who won the 1987 Wimbledon tennis final?", "answers": [],
         "answerable": False},
    ]) + "\n")
    run = _qa("eval", "--qa", str(dev), "--index", str(index), "--k", "3", "--json",
              cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert out["questions"] == 3 and out["answerable"] == 2
    assert out["answer_in_top_3"] == pytest.approx(1.0)
    for key in ("answer_in_citations", "abstention_precision", "abstention_recall"):
        assert key in out


def test_eval_corpus_holds_only_the_corpus_file_and_is_stable(tmp_path: Path) -> None:
    from qa.evaluation import prepare_eval_corpus
    from qa.ingest import load_corpus

    data = load_beir(make_beir(tmp_path / "tiny"), "test")
    folder = prepare_eval_corpus(data, tmp_path / "eval" / "index.corpus")
    assert sorted(p.name for p in folder.iterdir()) == ["corpus.jsonl"]  # no queries.jsonl
    first = (folder / "corpus.jsonl").stat()
    prepare_eval_corpus(data, folder)  # a second run leaves the file alone
    assert (folder / "corpus.jsonl").stat().st_mtime_ns == first.st_mtime_ns
    articles, skipped = load_corpus(folder)
    assert not skipped
    assert sorted(beir_doc_id(a.id) for a in articles) == ["d1", "d2", "d3", "d4"]
