"""Quote speakers: who said it, scored against bench/sets/quote_speakers.jsonl, and the time
extraction takes over the 295 Wikinews articles.

    .venv/bin/python bench/bench_quotes.py [--split dev|test|both] [--against /tmp/qa-before]
        [--errors] [--no-write]

Each labelled article is read through qa's own ingest (`load_corpus` on corpus/ and on the
Wikinews folder; rows are matched by `Article.url`, seeds by path), so offsets are the stored
text's. A label's `quote` is its `occurrence`-th occurrence in the stored text (whitespace-
normalised when the stored text differs). Sentences come from `chunk_article` as `qa.build.builder`
makes them, the parse from `qa.corpus.nlp.parse_texts`; then `extract_quotes` runs.

The scores, fixed before any result was seen:

- a qa quote *matches* a label row when both are in the same article and their character
  spans overlap;
- a speaker is *right* when `speaker_matches(label_speaker, qa_speaker)`, or when the two are
  equal ignoring case and a leading "the";
- recall: over rows of kind direct or reported whose speaker_kind is person or organisation,
  the share that some matching qa quote attributes to the right speaker;
- precision (strict): over the qa quotes in the labelled articles, the share that match a
  direct/reported row with a person/organisation speaker and name that row's speaker rightly.
  A quote that matches no row ("no row"), only not_speech / null / country / group rows ("not
  a speaker's row"), or names the wrong speaker ("wrong speaker") is wrong. The lenient
  precision leaves out the quotes that match no row at all.

Timing: `extract_quotes` over all 295 Wikinews articles (the parse is done first and not
timed), best of three passes.

`--against PATH` scores a second checkout of qa (an export of an earlier commit) in the same
run; its extractor may be the one from before the parse, `extract_quotes(article, sentences)`.
Each checkout is measured in a child process. `--errors` lists dev's errors (never test's:
tuning reads dev only).
"""

from __future__ import annotations

import argparse
import inspect
import json
import logging
import re
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402  (needs the path above)

SECTION = "Quote speakers"
LABELS = common.ROOT / "bench" / "sets" / "quote_speakers.jsonl"
SEEDS = common.ROOT / "corpus"
WIKINEWS = common.NEWS / "wikinews"
SPEAKER_KINDS = ("person", "organisation")
SPEECH = ("direct", "reported")
PASSES = 3
WIKINEWS_TEST = "test (Wikinews only)"


# --------------------------------------------------------------------------------------------
# The child: read, parse, extract, time
# --------------------------------------------------------------------------------------------


def load_articles() -> tuple[dict[str, object], list[object]]:
    """The labelled articles by key, and every Wikinews article (for the timing)."""
    from qa.corpus.ingest import load_corpus

    seeds, _ = load_corpus(SEEDS)
    news, _ = load_corpus(WIKINEWS)
    by_key: dict[str, object] = {f"corpus/{a.path}": a for a in seeds}
    for a in news:
        if a.url:
            by_key[a.url] = a
    return by_key, news


def sentences_of(article) -> list[tuple[int, int]]:  # type: ignore[no-untyped-def]
    """The article's sentence spans, once each, as `qa.build.builder` gives them to the analysis."""
    from qa.build.builder import CHUNKING
    from qa.corpus.chunking import chunk_article

    chunks = chunk_article(article, target_words=CHUNKING["target_words"],
                           max_words=CHUNKING["max_words"],
                           overlap_sentences=CHUNKING["overlap_sentences"])
    return sorted({sp for c in chunks for sp in c.sentences})


def extract(keys: list[str]) -> dict:
    """Quotes of the labelled articles `keys`, and the extraction time over Wikinews."""
    from qa.corpus import nlp
    from qa.corpus.quotes import extract_quotes

    failures: list[str] = []

    class Failures(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            failures.append(record.getMessage())

    logging.getLogger("qa").addHandler(Failures(logging.ERROR))
    by_key, news = load_articles()
    wanted = [by_key[k] for k in keys if k in by_key]
    todo = list({id(a): a for a in [*wanted, *news]}.values())
    sentences = {id(a): sentences_of(a) for a in todo}
    takes_parse = len(inspect.signature(extract_quotes).parameters) >= 3
    parsed: dict[int, object] = {}
    t0 = time.perf_counter()
    if takes_parse:
        for a, p in zip(todo, nlp.parse_texts([a.text for a in todo])):
            parsed[id(a)] = p
    parse_s = time.perf_counter() - t0

    def run(article):  # type: ignore[no-untyped-def]
        if takes_parse:
            return extract_quotes(article, sentences[id(article)], parsed[id(article)])
        return extract_quotes(article, sentences[id(article)])

    passes = []
    for _ in range(PASSES):
        t0 = time.perf_counter()
        for a in news:
            run(a)
        passes.append(time.perf_counter() - t0)
    quotes = {}
    for k in keys:
        a = by_key.get(k)
        if a is not None:
            quotes[k] = [[q.start, q.end, q.speaker, q.cue, q.text] for q in run(a)]
    return {"quotes": quotes, "seconds": min(passes), "passes": passes, "parse_s": parse_s,
            "timed_articles": len(news), "timed_chars": sum(len(a.text) for a in news),
            "commit": common.code_commit(None), "failures": failures}


# --------------------------------------------------------------------------------------------
# The parent: locate the labels, score
# --------------------------------------------------------------------------------------------


def read_labels() -> list[dict]:
    return [json.loads(line) for line in LABELS.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def locate(text: str, quote: str, occurrence: int) -> tuple[int, int] | None:
    """The span of the `occurrence`-th occurrence of `quote`, exactly or with whitespace runs
    read as one space."""
    at = -1
    for _ in range(occurrence):
        at = text.find(quote, at + 1)
        if at < 0:
            break
    if at >= 0:
        return at, at + len(quote)
    pattern = r"\s+".join(re.escape(w) for w in quote.split())
    found = list(re.finditer(pattern, text))
    if len(found) >= occurrence:
        m = found[occurrence - 1]
        return m.start(), m.end()
    return None


def _plain(name: str) -> str:
    return re.sub(r"^the\s+", "", name.strip().lower())


def is_right(label_speaker: str, qa_speaker: str) -> bool:
    from qa.corpus.quotes import speaker_matches

    return speaker_matches(label_speaker, qa_speaker) or _plain(label_speaker) == _plain(qa_speaker)


def score(rows: list[dict], spans: dict[str, tuple[int, int]], quotes: dict[str, list]) -> dict:
    """Recall, strict and lenient precision, and error counts over one split's rows."""
    by_article: dict[str, list[dict]] = {}
    for r in rows:
        if r["id"] in spans:
            by_article.setdefault(r["article"], []).append(r)

    def eligible(r: dict) -> bool:
        return r["kind"] in SPEECH and r["speaker_kind"] in SPEAKER_KINDS

    def overlaps(q: list, r: dict) -> bool:
        a, b = spans[r["id"]]
        return q[0] < b and a < q[1]

    errors: Counter[str] = Counter()
    listed: list[str] = []
    hit = 0
    wanted = [r for r in rows if eligible(r) and r["id"] in spans]
    for r in wanted:
        matching = [q for q in quotes.get(r["article"], []) if overlaps(q, r)]
        if any(is_right(r["speaker"], q[2]) for q in matching):
            hit += 1
        elif matching:
            errors["recall: wrong speaker"] += 1
            listed.append(f"  MISS-WRONG {r['id']} {r['speaker']!r} got "
                          f"{sorted({q[2] for q in matching})}: {r['quote'][:70]!r}")
        else:
            errors["recall: not found"] += 1
            listed.append(f"  MISS {r['id']} {r['speaker']!r} ({r['kind']}, cue "
                          f"{r['cue']!r}): {r['quote'][:70]!r}")
    right = no_row = 0
    total = 0
    for art in by_article:
        for q in quotes.get(art, []):
            total += 1
            matching = [r for r in by_article[art] if overlaps(q, r)]
            good = [r for r in matching if eligible(r)]
            if any(is_right(r["speaker"], q[2]) for r in good):
                right += 1
                continue
            if not matching:
                no_row += 1
                kind = "precision: no row"
            elif not good:
                kind = "precision: not a speaker's row (" + "/".join(sorted(
                    {r["kind"] if r["kind"] == "not_speech" else str(r["speaker_kind"])
                     for r in matching})) + ")"
            else:
                kind = "precision: wrong speaker"
            errors[kind] += 1
            listed.append(f"  {kind.split(': ')[1].upper()} {q[2]!r} ({q[3]}) in {art[-50:]}: "
                          f"{q[4][:70]!r}" + (f" [label {good[0]['speaker']!r}]" if good else ""))
    return {
        "recall": hit / len(wanted) if wanted else 0.0, "recall_n": (hit, len(wanted)),
        "precision": right / total if total else 0.0, "precision_n": (right, total),
        "lenient": right / (total - no_row) if total - no_row else 0.0,
        "lenient_n": (right, total - no_row),
        "errors": dict(sorted(errors.items())), "listed": listed,
    }


def measure(code: str | None, keys: list[str]) -> dict:
    return common.run_json([__file__, "--child", json.dumps(keys)], code=code)


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def report(name: str, result: dict, split_scores: dict[str, dict]) -> list[str]:
    lines = [f"{name} ({result['commit']}): extract_quotes over {result['timed_articles']} "
             f"Wikinews articles ({result['timed_chars']:,} characters): {result['seconds']:.2f} s "
             f"(best of {PASSES}: " + ", ".join(f"{s:.2f}" for s in result["passes"]) + ")"]
    if result.get("failures"):
        lines.append(f"  extraction failures logged: {len(result['failures'])} "
                     f"({result['failures'][0]})")
    for split, s in split_scores.items():
        lines.append(
            f"  {split}: recall {_pct(s['recall'])} ({s['recall_n'][0]}/{s['recall_n'][1]}), "
            f"precision {_pct(s['precision'])} ({s['precision_n'][0]}/{s['precision_n'][1]}), "
            f"lenient precision {_pct(s['lenient'])} ({s['lenient_n'][0]}/{s['lenient_n'][1]})")
        for kind, n in s["errors"].items():
            lines.append(f"      {kind}: {n}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", choices=("dev", "test", "both"), default="both")
    parser.add_argument("--against", help="another checkout of qa to score beside this one")
    parser.add_argument("--errors", action="store_true", help="list dev's errors")
    parser.add_argument("--no-write", action="store_true", help="do not update docs/benchmarks.md")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(extract(json.loads(args.child))))
        return


    rows = read_labels()
    splits = ("dev", "test") if args.split == "both" else (args.split,)
    rows = [r for r in rows if r["split"] in splits]
    keys = sorted({r["article"] for r in rows})
    by_key, _ = load_articles()
    spans: dict[str, tuple[int, int]] = {}
    missing = []
    for r in rows:
        a = by_key.get(r["article"])
        span = locate(a.text, r["quote"], r["occurrence"]) if a is not None else None
        if span is None:
            missing.append(r["id"])
        else:
            spans[r["id"]] = span
    codes = {"before": args.against, "after": None} if args.against else {"after": None}
    out: list[str] = []
    results = {}
    for name, code in codes.items():
        result = measure(code, keys)
        result["commit"] = f"export at {code}" if code else result["commit"]
        scores = {s: score([r for r in rows if r["split"] == s], spans, result["quotes"])
                  for s in splits}
        if "test" in splits:
            # The seed articles are test articles that the seed tests (tests/test_quotes.py)
            # read; test without them is the split no one looked at while tuning.
            scores[WIKINEWS_TEST] = score(
                [r for r in rows if r["split"] == "test" and not r["article"].startswith("corpus/")],
                spans, result["quotes"])
        results[name] = (result, scores)
        out.extend(report(name, result, scores))
    if missing:
        out.append(f"labels not found in the stored text: {len(missing)} ({', '.join(missing)})")
    print("\n".join(out))
    if args.errors and "dev" in splits:
        for name, (_, scores) in results.items():
            print(f"\n{name}, dev errors:")
            print("\n".join(scores["dev"]["listed"]))
    if not args.no_write:
        common.replace_section(SECTION, markdown(results, missing))


def markdown(results: dict[str, tuple[dict, dict[str, dict]]], missing: list[str]) -> str:
    """The docs/benchmarks.md section: scores per checkout and split, error types, timing."""
    articles = {r["article"] for r in read_labels()}
    seeds = sum(a.startswith("corpus/") for a in articles)
    lines = [common.section_header().rstrip("\n"), "",
             "Speakers of the labelled quotations in bench/sets/quote_speakers.jsonl "
             f"({len(articles) - seeds} Wikinews articles and the {seeds} seeds, labelled in "
             "rounds, each before any measurement of its articles; split by article). The "
             "scores are defined in bench/bench_quotes.py's docstring: a qa quote matches a label "
             "when their spans overlap; recall is over direct/reported labels with a person or "
             "organisation speaker; strict precision counts every qa quote in the labelled "
             "articles, lenient leaves out those that match no label at all.", "",
             "| extractor | split | recall | precision (strict) | precision (lenient) |",
             "|---|---|---|---|---|"]
    for name, (result, scores) in results.items():
        for split, sc in scores.items():
            lines.append(
                f"| {name} ({result['commit']}) | {split} | {_pct(sc['recall'])} "
                f"({sc['recall_n'][0]}/{sc['recall_n'][1]}) | {_pct(sc['precision'])} "
                f"({sc['precision_n'][0]}/{sc['precision_n'][1]}) | {_pct(sc['lenient'])} "
                f"({sc['lenient_n'][0]}/{sc['lenient_n'][1]}) |")
    kinds = sorted({k for _, scores in results.values() for sc in scores.values()
                    for k in sc["errors"]})
    columns = [(name, split) for name, (_, scores) in results.items() for split in scores]
    lines += ["", "Errors by type:", "",
              "| error | " + " | ".join(f"{n} {s}" for n, s in columns) + " |",
              "|---|" + "---|" * len(columns)]
    for kind in kinds:
        lines.append(f"| {kind} | " + " | ".join(
            str(results[n][1][s]["errors"].get(kind, 0)) for n, s in columns) + " |")
    lines += ["", "Time of `extract_quotes` over the 295 Wikinews articles (1.29 M characters; "
              "the parse, made once per article at index time, is not counted), best of "
              f"{PASSES} passes:", ""]
    for name, (result, _) in results.items():
        lines.append(f"- {name}: {result['seconds']:.2f} s (passes: "
                     + ", ".join(f"{x:.2f}" for x in result["passes"]) + ")")
    if missing:
        lines += ["", f"Labels not found in the stored text: {', '.join(missing)}."]
    lines += ["", "Tune on dev only: --errors lists dev's errors, never test's. The 4 seed "
              "articles of the test split are also read by the seed tests (tests/test_quotes.py), "
              "so \"test (Wikinews only)\" is the part of the split no one looks at."]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
