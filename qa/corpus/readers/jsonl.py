"""JSON lines (`.jsonl`): one article per line.

Each line is an object with `text` and optionally `id` (or `_id`), `title`, `date`, `url` and
`source`/`outlet`. An article's id is `<file slug>/<id>`, the record's id kept verbatim (so
BEIR's qrels map back), else `<file slug>/<line number>`. A line that cannot be read is
skipped as `<path>:<line number>`; the text is taken as written (no header recovery: the
fields are the record's).
"""

from __future__ import annotations

import json

from qa.corpus import limits
from qa.corpus.article import article_id, make_article, normalise, str_or_none
from qa.corpus.boilerplate import strip_boilerplate
from qa.corpus.readers.registry import Read, SourceFile, register
from qa.dates import written_date
from qa.types import Article, Skipped


@register(".jsonl")
def read_jsonl(file: SourceFile) -> Read:
    """An article per line that holds a JSON object with text."""
    text, rel = file.text or "", file.rel
    articles: list[Article] = []
    skipped: list[Skipped] = []
    file_id = article_id(rel)
    records = 0
    lines = text.split("\n")
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        records += 1
        if records > limits.MAX_RECORDS:
            more = sum(1 for rest in lines[number - 1 :] if rest.strip())
            skipped.append(limits.more_records(rel, limits.MAX_RECORDS, more))
            break
        where = f"{rel}:{number}"
        try:
            limits.check_length(line)
            record = json.loads(line)
        except limits.LimitHit as limit:
            skipped.append(Skipped(where, f"line {number}: {limit}"))
            continue
        except json.JSONDecodeError as exc:
            skipped.append(Skipped(where, f"line {number}: not valid JSON ({exc.msg})"))
            continue
        except RecursionError:
            skipped.append(Skipped(where, f"line {number}: JSON nested too deeply"))
            continue
        if not isinstance(record, dict):
            skipped.append(Skipped(where, f"line {number}: not a JSON object"))
            continue
        body = record.get("text")
        if body is not None and not isinstance(body, str):
            skipped.append(Skipped(where, f"line {number}: 'text' is not a string"))
            continue
        body = strip_boilerplate(normalise(body or ""))
        if not body:
            skipped.append(Skipped(where, f"line {number}: no text"))
            continue
        raw_id = record.get("id", record.get("_id"))
        line_id = str(raw_id).strip() if raw_id is not None else ""
        date_value = record.get("date")
        articles.append(
            make_article(
                id=f"{file_id}/{line_id or number}",
                rel=rel,
                text=body,
                title=str_or_none(record.get("title")),
                date=written_date(date_value) if isinstance(date_value, str) else None,
                source=str_or_none(record.get("outlet")) or str_or_none(record.get("source")),
                url=str_or_none(record.get("url")),
                fallback_title=line_id or f"line {number}",
            )
        )
    return articles, skipped

