#!/usr/bin/env python3
"""Validate a question set written against a folder of news CSVs (default: the Wikinews set).

Checks, for every line of the JSONL file:
  * exactly the keys id, question, answers, kind, article, split; ids unique;
  * kind in {answerable, unanswerable, off_topic}, split in {dev, test};
  * answerable: `article` is a url present in the corpus, 1-3 non-empty answers, and each
    answer occurs verbatim in that article's text (case-insensitive, whitespace collapsed,
    curly quotes/apostrophes mapped to straight ones);
  * unanswerable: answers == [] and `article` is a url present in the corpus;
  * off_topic: answers == [] and article is null;
  * split is by article: all questions of one article share a split, and that split equals
    the documented rule (sha1(url) as an integer: even -> dev, odd -> test);
    off_topic questions alternate dev/test in file order.
    Test-only sets (wikinews_fresh.jsonl, or --all-test) instead require split == "test" on
    every line; dev-only sets (wikinews_dev.jsonl, or --all-dev) require split == "dev".
Prints counts per kind and split and exits non-zero on any error.

Usage: python3 bench/sets/check_sets.py [SET.jsonl] [--csv FILE ...] [--all-test | --all-dev]
"""
import argparse
import csv
import hashlib
import json
import os
import re
import sys
from collections import Counter, defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_SET = os.path.join(HERE, "wikinews.jsonl")
DEFAULT_CSVS = [
    "/work/shared/news/wikinews/wikinews_2019.csv",
    "/work/shared/news/wikinews/wikinews_2020.csv",
]
# Sets whose every question is in the test split (nothing is tuned on them).
ALL_TEST_SETS = {"wikinews_fresh.jsonl"}
# Sets whose every question is in the dev split (used only for fitting; nothing is reported).
ALL_DEV_SETS = {"wikinews_dev.jsonl"}
KEYS = {"id", "question", "answers", "kind", "article", "split"}
KINDS = {"answerable", "unanswerable", "off_topic"}
SPLITS = {"dev", "test"}
QUOTES = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
})


def norm(s):
    return re.sub(r"\s+", " ", s.translate(QUOTES)).strip().casefold()


def split_rule(url):
    return "dev" if int(hashlib.sha1(url.encode("utf-8")).hexdigest(), 16) % 2 == 0 else "test"


def load_corpus(paths):
    csv.field_size_limit(10**9)
    texts = {}
    for p in paths:
        with open(p, encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f):
                texts[row["url"]] = norm(row["text"])
    return texts


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("set", nargs="?", default=DEFAULT_SET)
    ap.add_argument("--csv", nargs="+", default=DEFAULT_CSVS)
    ap.add_argument("--all-test", action="store_true",
                    help="the set is test-only: every question must have split 'test'")
    ap.add_argument("--all-dev", action="store_true",
                    help="the set is dev-only: every question must have split 'dev'")
    args = ap.parse_args()
    all_test = args.all_test or os.path.basename(args.set) in ALL_TEST_SETS
    all_dev = args.all_dev or os.path.basename(args.set) in ALL_DEV_SETS
    if all_test and all_dev:
        ap.error("a set cannot be both test-only and dev-only")
    single = "test" if all_test else "dev" if all_dev else None

    texts = load_corpus(args.csv)
    errors = []
    ids = set()
    counts = Counter()
    article_split = defaultdict(set)
    off_splits = []
    n = 0
    with open(args.set, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            n += 1
            where = f"line {lineno}"
            try:
                q = json.loads(line)
            except json.JSONDecodeError as e:
                errors.append(f"{where}: bad JSON: {e}")
                continue
            if set(q) != KEYS:
                errors.append(f"{where}: keys {sorted(q)} != {sorted(KEYS)}")
                continue
            where = f"line {lineno} ({q['id']})"
            if q["id"] in ids:
                errors.append(f"{where}: duplicate id")
            ids.add(q["id"])
            kind, split, art, answers = q["kind"], q["split"], q["article"], q["answers"]
            if kind not in KINDS:
                errors.append(f"{where}: bad kind {kind!r}")
                continue
            if split not in SPLITS:
                errors.append(f"{where}: bad split {split!r}")
            elif single and split != single:
                errors.append(f"{where}: split {split} != {single} (this set is {single}-only)")
            if not isinstance(q["question"], str) or not q["question"].strip():
                errors.append(f"{where}: empty question")
            if not isinstance(answers, list):
                errors.append(f"{where}: answers is not a list")
                continue
            counts[(kind, split)] += 1
            if kind == "off_topic":
                if art is not None:
                    errors.append(f"{where}: off_topic must have article null")
                if answers:
                    errors.append(f"{where}: off_topic must have no answers")
                off_splits.append((where, split))
                continue
            if art not in texts:
                errors.append(f"{where}: article url not in corpus: {art!r}")
                continue
            article_split[art].add(split)
            if not single and split != split_rule(art):
                errors.append(f"{where}: split {split} != rule {split_rule(art)}")
            if kind == "unanswerable":
                if answers:
                    errors.append(f"{where}: unanswerable must have answers []")
            else:
                if not 1 <= len(answers) <= 3:
                    errors.append(f"{where}: answerable needs 1-3 answers, has {len(answers)}")
                for ans in answers:
                    if not isinstance(ans, str) or not ans.strip():
                        errors.append(f"{where}: empty answer string")
                    elif norm(ans) not in texts[art]:
                        errors.append(f"{where}: answer {ans!r} not found verbatim in article")

    for art, s in article_split.items():
        if len(s) > 1:
            errors.append(f"article in both splits: {art}")
    if not single:  # a single-split set's off_topic splits are already checked above
        for i, (where, split) in enumerate(off_splits):
            want = "dev" if i % 2 == 0 else "test"
            if split != want:
                errors.append(f"{where}: off_topic #{i} should be {want} (alternating)")

    print(f"{args.set}: {n} questions, {len(article_split)} distinct articles"
          + (f" ({single}-only set)" if single else ""))
    print(f"{'kind':<14}{'dev':>6}{'test':>6}{'total':>7}")
    for kind in ("answerable", "unanswerable", "off_topic"):
        d, t = counts[(kind, "dev")], counts[(kind, "test")]
        print(f"{kind:<14}{d:>6}{t:>6}{d + t:>7}")
    d = sum(v for (k, s), v in counts.items() if s == "dev")
    t = sum(v for (k, s), v in counts.items() if s == "test")
    print(f"{'all':<14}{d:>6}{t:>6}{d + t:>7}")
    if errors:
        print(f"\nFAIL: {len(errors)} error(s)")
        for e in errors:
            print("  " + e)
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
