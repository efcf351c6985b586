"""Tables (`.csv`, `.tsv`) with a header row: one article per row.

The header names a text column (`text`, `body`, `content`, `article`, ...) and optionally
`title`/`headline`, `date`/`published`/`pubdate`, `url`/`link`, `source`/`outlet`/`publisher`
and `id` (names compared case-insensitively, spaces and dashes as `_`). A `.csv` is split on
`,` unless its header has none and uses `;` or a tab. An article's id is `<file slug>/<id>`,
else `<file slug>/<row number>` (1 = the first row after the header); a row that cannot be
read is skipped as `<path>:<row number>`.
"""

from __future__ import annotations

import csv
import itertools
import re
from collections.abc import Iterator
from typing import Any

from qa.corpus import limits
from qa.corpus.article import article_from_body, article_id
from qa.corpus.readers.registry import Read, SourceFile, register
from qa.dates import written_date
from qa.types import Article, Skipped


@register(".csv")
def read_csv(file: SourceFile) -> Read:
    """An article per row of a comma- (or semicolon-) separated table."""
    text = file.text or ""
    return _read_table(text, file.rel, delimiter=_csv_delimiter(text))


@register(".tsv")
def read_tsv(file: SourceFile) -> Read:
    """An article per row of a tab-separated table."""
    return _read_table(file.text or "", file.rel, delimiter="\t")


# The header names a table's columns may have (compared lower-cased, spaces and dashes as `_`),
# the preferred name first.
_COLUMNS = {
    "text": ("text", "body", "content", "article", "story", "full_text", "article_text",
             "maintext"),
    "title": ("title", "headline", "heading"),
    "date": ("date", "published", "pubdate", "pub_date", "publish_date", "published_date",
             "published_at", "publication_date", "datetime"),
    "url": ("url", "link", "href", "article_url", "source_url"),
    "source": ("source", "outlet", "publisher", "publication", "site"),
    "id": ("id", "_id"),
}  # fmt: skip


def _csv_delimiter(text: str) -> str:
    """`,` unless the header row has none and uses `;` (a European spreadsheet) or a tab."""
    header = text.split("\n", 1)[0]
    for delimiter in (",", ";", "\t"):
        if delimiter in header:
            return delimiter
    return ","


def _read_table(text: str, rel: str, *, delimiter: str) -> Read:
    """One article per row of a CSV/TSV whose header names a text column."""
    # Article bodies are longer than csv's default 128 KB field limit (a process-wide setting).
    csv.field_size_limit(max(csv.field_size_limit(), 2**31 - 1))
    parts = text.split("\n")
    lines = [line + "\n" for line in parts[:-1]] + ([parts[-1]] if parts[-1] else [])
    reader = csv.reader(iter(lines), delimiter=delimiter)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        return [], [Skipped(rel, f"the header row could not be parsed ({exc})")]
    names = [re.sub(r"[\s\-]+", "_", name.strip().lower()) for name in header or []]
    column: dict[str, int] = {}
    for field, synonyms in _COLUMNS.items():
        found = next((names.index(n) for n in synonyms if n in names), None)
        if found is not None:
            column[field] = found
    if "text" not in column:
        have = ", ".join(name.strip() for name in header or [] if name.strip()) or "none"
        return [], [
            Skipped(
                rel,
                f"no text column: its header names {have}; qa wants a column named "
                f"{', '.join(_COLUMNS['text'][:4])} (or {', '.join(_COLUMNS['text'][4:])}), "
                "and reads title, date, url, source and id columns when present",
            )
        ]
    articles: list[Article] = []
    skipped: list[Skipped] = []
    file_id = article_id(rel)
    number = 0
    rows = _table_rows(lines, reader.line_num, delimiter)
    for line_no, row in rows:
        if not row:
            continue  # a blank line
        number += 1
        where = f"{rel}:{number}"
        if number > limits.MAX_RECORDS:
            more = 1 + sum(1 for _, rest in rows if rest)
            skipped.append(limits.more_records(rel, limits.MAX_RECORDS, more))
            break
        if isinstance(row, str):
            skipped.append(Skipped(where, f"row {number} (line {line_no}): {row}"))
            continue

        def cell(field: str, row: list[str] = row) -> str:
            at = column.get(field)
            return row[at].strip() if at is not None and at < len(row) else ""

        record_id = cell("id")
        try:
            article = article_from_body(
                cell("text"),
                id=f"{file_id}/{record_id or number}",
                rel=rel,
                title=cell("title") or None,
                date=written_date(cell("date")) if cell("date") else None,
                source=cell("source") or None,
                url=cell("url") or None,
                fallback_title=record_id or f"row {number}",
            )
        except limits.LimitHit as limit:
            skipped.append(Skipped(where, f"row {number}: {limit}"))
            continue
        if article is None:
            skipped.append(Skipped(where, f"row {number}: no text"))
        else:
            articles.append(article)
    return articles, skipped


_MAX_BROKEN_ROWS = 100  # rows a table may break before the rest of it is left unread


def _table_rows(lines: list[str], first: int, delimiter: str) -> Iterator[tuple[int, Any]]:
    """The rows of a table from line index `first` on, each with the line it starts on
    (1-based): its fields, or (a str) why it could not be read.

    Read strictly: a quote opened in a field and never closed would otherwise run on,
    silently, to the next quote anywhere in the file, merging the rows between into one
    field. A row that breaks strict reading on its own line (`"Quoted," he said`) is read
    leniently, as written; one that ran on over several lines is reported, and reading starts
    again on its second line, so the rows it swallowed are read.
    """
    broken = 0
    at = first
    while at < len(lines):
        reader = csv.reader(itertools.islice(lines, at, None), delimiter=delimiter, strict=True)
        done = 0  # lines of the rows read so far, from `at`
        try:
            for row in reader:
                yield at + done + 1, row
                done = reader.line_num
            return
        except csv.Error as exc:
            begin = at + done  # the broken row's first line
            if reader.line_num - done <= 1:
                try:
                    yield begin + 1, next(csv.reader([lines[begin]], delimiter=delimiter), [])
                except csv.Error as lenient:
                    yield begin + 1, f"not valid CSV ({lenient})"
            else:
                broken += 1
                if broken > _MAX_BROKEN_ROWS:
                    yield begin + 1, (f"not valid CSV ({exc}), and {_MAX_BROKEN_ROWS} rows "
                                      "before it were not either: the rest is unread")
                    return
                yield begin + 1, (
                    f"a quote opened on this line is not closed before the next row starts "
                    f"(a stray quote?), so this line is skipped and the lines after it are read "
                    f"as rows; fix the quotes to index it ({exc})")
            at = begin + 1

