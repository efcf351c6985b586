"""Quality figures: BEIR retrieval metrics, and answers of qa beside a naive baseline.

Two evaluations, both headless (no `textual`, nothing heavy at import time):

- `evaluate_beir` (`beir`) builds (or reuses) an index of a BEIR folder and scores each
  retrieval mode with nDCG@10, Recall@100 and MRR@10 at the *document* level (`metrics`).
- `evaluate_qa` (`run`) asks a question set (`qasets`: a `.jsonl` of questions, or SQuAD 2.0's
  JSON) of the assistant and of the naive baseline in `qa.answer.baseline`, in the same run
  over the same index, and reports both side by side (`report`).

Each evaluation keeps its index in a folder of its own, a cache by default (`folders`); an
`--index` folder that holds anything else is refused, never rebuilt.

Every name below is importable from `qa.evaluation` itself.
"""

from __future__ import annotations

from qa.evaluation.beir import (
    BEIR_MODES,
    CHUNK_DEPTH,
    BeirDataset,
    BeirReport,
    ModeScores,
    Qrels,
    SearchFn,
    beir_doc_id,
    evaluate_beir,
    load_beir,
    rank_documents,
)
from qa.evaluation.folders import (
    CORPUS_FILE,
    SQUAD_CORPUS_FILE,
    check_eval_corpus_dir,
    check_eval_index,
    corpus_beside,
    default_eval_index,
    default_qa_index,
    eval_cache_root,
    eval_folders,
    prepare_eval_corpus,
    write_squad_corpus,
)
from qa.evaluation.metrics import documents_from_chunks, mean, mrr_at_k, ndcg_at_k, recall_at_k
from qa.evaluation.qasets import (
    QA_KINDS,
    QA_SPLITS,
    QAExample,
    QuestionSet,
    load_qa_examples,
    load_question_set,
    read_jsonl_records,
)
from qa.evaluation.report import (
    CEILING_K,
    CURVE_THRESHOLDS,
    SURE,
    CurvePoint,
    QAOutcome,
    QAReport,
    ReliabilityBin,
    SystemFigures,
    SystemOutcome,
    abstention_curve,
    reliability,
    summarise_qa,
    system_figures,
)
from qa.evaluation.run import answer_confidence, contains_answer, evaluate_qa, score_answer

__all__ = [
    "BEIR_MODES", "CHUNK_DEPTH", "BeirDataset", "BeirReport", "ModeScores", "Qrels", "SearchFn",
    "beir_doc_id", "evaluate_beir", "load_beir", "rank_documents",
    "CORPUS_FILE", "SQUAD_CORPUS_FILE", "check_eval_corpus_dir", "check_eval_index",
    "corpus_beside", "default_eval_index", "default_qa_index", "eval_cache_root", "eval_folders",
    "prepare_eval_corpus", "write_squad_corpus",
    "documents_from_chunks", "mean", "mrr_at_k", "ndcg_at_k", "recall_at_k",
    "QA_KINDS", "QA_SPLITS", "QAExample", "QuestionSet", "load_qa_examples",
    "load_question_set", "read_jsonl_records",
    "CEILING_K", "CURVE_THRESHOLDS", "SURE", "CurvePoint", "QAOutcome", "QAReport",
    "ReliabilityBin", "SystemFigures", "SystemOutcome", "abstention_curve", "reliability",
    "summarise_qa", "system_figures",
    "answer_confidence", "contains_answer", "evaluate_qa", "score_answer",
]  # fmt: skip
