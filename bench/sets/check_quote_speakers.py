#!/usr/bin/env python3
"""Validate the quote-attribution set (default: bench/sets/quote_speakers.jsonl).

Checks, for every line of the JSONL file:
  * valid JSON object with exactly the keys id, article, kind, quote, occurrence, speaker,
    speaker_kind, cue, split; ids unique and of the form qs-NNN;
  * kind in {direct, reported, not_speech}; split in {dev, test};
  * article is a url present in the Wikinews CSVs or "corpus/<file>.md" naming one of the
    seed files (article text = the body after the front matter);
  * quote is a non-empty string that occurs in the article text *exactly* (no normalisation)
    at least `occurrence` times; occurrence is an integer >= 1, and it is 1 when the quote
    occurs only once;
  * speaker is null or a non-empty string; speaker_kind is null exactly when speaker is null,
    otherwise one of person, organisation, country, group; not_speech rows have speaker null;
  * cue is a string;
  * no two rows share (article, kind, quote, occurrence);
  * split follows the rule: sha1(article.encode("utf-8")) read as an integer, even -> dev,
    odd -> test, so all rows of one article share a split.
Prints counts per kind, split and speaker_kind and exits non-zero on any error.

Usage: python3 bench/sets/check_quote_speakers.py [SET.jsonl]
"""
import csv
import hashlib
import json
import os
import re
import sys
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DEFAULT_SET = os.path.join(HERE, "quote_speakers.jsonl")
CSVS = [
    "/work/shared/news/wikinews/wikinews_2019.csv",
    "/work/shared/news/wikinews/wikinews_2020.csv",
]
CORPUS_DIR = os.path.join(ROOT, "corpus")
KEYS = ["id", "article", "kind", "quote", "occurrence", "speaker", "speaker_kind", "cue", "split"]
KINDS = {"direct", "reported", "not_speech"}
SPLITS = {"dev", "test"}
SPEAKER_KINDS = {"person", "organisation", "country", "group"}


def split_rule(article):
    return "dev" if int(hashlib.sha1(article.encode("utf-8")).hexdigest(), 16) % 2 == 0 else "test"


def seed_body(path):
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    if not lines or lines[0] != "---":
        raise ValueError(f"{path}: no front matter")
    end = lines.index("---", 1)
    return "\n".join(lines[end + 1:])


def load_texts():
    csv.field_size_limit(10**9)
    texts = {}
    for p in CSVS:
        with open(p, encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f):
                texts[row["url"]] = row["text"]
    for name in sorted(os.listdir(CORPUS_DIR)):
        if name.endswith(".md"):
            texts["corpus/" + name] = seed_body(os.path.join(CORPUS_DIR, name))
    return texts


def main(argv):
    path = argv[1] if len(argv) > 1 else DEFAULT_SET
    texts = load_texts()
    errors = []
    rows = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                errors.append(f"line {n}: empty line")
                continue
            try:
                r = json.loads(line)
            except json.JSONDecodeError as e:
                errors.append(f"line {n}: bad JSON: {e}")
                continue
            if not isinstance(r, dict) or sorted(r) != sorted(KEYS):
                errors.append(f"line {n}: keys {sorted(r) if isinstance(r, dict) else type(r)} != {sorted(KEYS)}")
                continue
            rows.append((n, r))

    ids = Counter(r["id"] for _, r in rows)
    for i, c in ids.items():
        if c > 1:
            errors.append(f"id {i!r} used {c} times")
    seen = set()
    for n, r in rows:
        where = f"line {n} ({r['id']})"
        if not isinstance(r["id"], str) or not re.fullmatch(r"qs-\d{3,}", r["id"]):
            errors.append(f"{where}: bad id")
        if r["kind"] not in KINDS:
            errors.append(f"{where}: bad kind {r['kind']!r}")
        if r["split"] not in SPLITS:
            errors.append(f"{where}: bad split {r['split']!r}")
        art = r["article"]
        if not isinstance(art, str) or art not in texts:
            errors.append(f"{where}: unknown article {art!r}")
            continue
        if r["split"] != split_rule(art):
            errors.append(f"{where}: split {r['split']!r} but the rule gives {split_rule(art)!r}")
        q, occ = r["quote"], r["occurrence"]
        if not isinstance(q, str) or not q:
            errors.append(f"{where}: empty or non-string quote")
            continue
        if not isinstance(occ, int) or isinstance(occ, bool) or occ < 1:
            errors.append(f"{where}: bad occurrence {occ!r}")
            continue
        count = texts[art].count(q)
        if count < occ:
            errors.append(f"{where}: quote occurs {count} times in the article text, occurrence is {occ}: {q[:70]!r}")
        elif count == 1 and occ != 1:
            errors.append(f"{where}: quote occurs once but occurrence is {occ}")
        sp, sk = r["speaker"], r["speaker_kind"]
        if sp is None:
            if sk is not None:
                errors.append(f"{where}: speaker null but speaker_kind {sk!r}")
        else:
            if not isinstance(sp, str) or not sp.strip():
                errors.append(f"{where}: speaker must be null or a non-empty string")
            if sk not in SPEAKER_KINDS:
                errors.append(f"{where}: bad speaker_kind {sk!r}")
        if r["kind"] == "not_speech" and sp is not None:
            errors.append(f"{where}: not_speech row with a speaker")
        if not isinstance(r["cue"], str):
            errors.append(f"{where}: cue must be a string")
        key = (art, r["kind"], q, occ)
        if key in seen:
            errors.append(f"{where}: duplicate row for the same quote, occurrence and kind")
        seen.add(key)

    rs = [r for _, r in rows]
    named = [r for r in rs if r["kind"] in ("direct", "reported") and r["speaker"] is not None]
    print(f"{len(rs)} rows, {len({r['article'] for r in rs})} articles "
          f"({sum(1 for a in {r['article'] for r in rs} if a.startswith('corpus/'))} seeds)")
    print("per kind:", dict(sorted(Counter(r["kind"] for r in rs).items())))
    print("per split:", dict(sorted(Counter(r["split"] for r in rs).items())))
    print("per kind and split:", dict(sorted(Counter(f"{r['kind']}/{r['split']}" for r in rs).items())))
    print("per speaker_kind:", dict(sorted(Counter(str(r["speaker_kind"]) for r in rs).items())))
    print("articles per split:", dict(sorted(Counter(split_rule(a) for a in {r["article"] for r in rs}).items())))
    print("direct+reported with a named speaker per split:",
          dict(sorted(Counter(r["split"] for r in named).items())), "total", len(named))
    if errors:
        for e in errors:
            print("ERROR:", e, file=sys.stderr)
        print(f"{len(errors)} error(s)", file=sys.stderr)
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
