"""Dates written in a question ("in December 2021", "before February 2022").

`dates_in_question` turns them into an inclusive `since`/`until` publication-date filter and
returns the question without the date phrase, so the date words do not skew retrieval.
"""

from __future__ import annotations

import calendar
import datetime as _dt
import re

__all__ = ["dates_in_question"]

_MONTHS = {
    name.lower(): i
    for i, name in enumerate(calendar.month_name)
    if name
}
_MONTHS.update({name.lower(): i for i, name in enumerate(calendar.month_abbr) if name})
_MONTHS["sept"] = 9

_MONTH_RE = "|".join(sorted(_MONTHS, key=len, reverse=True))
# One date expression: ISO day, "26 February 2022", "February 26, 2022", "February 2022",
# "2022", or a month without a year (resolved against `today`).
_DATE = (
    r"(?:\d{4}-\d{2}-\d{2}"
    rf"|\d{{1,2}}\s+(?:{_MONTH_RE})\.?,?\s+\d{{4}}"
    rf"|(?:{_MONTH_RE})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}"
    rf"|(?:{_MONTH_RE})\.?,?\s+\d{{4}}"
    r"|(?:19|20)\d{2}"
    rf"|(?:{_MONTH_RE})\b)"
)
_BETWEEN = re.compile(rf"\b(?:between|from)\s+(?P<a>{_DATE})\s+(?:and|to|until)\s+(?P<b>{_DATE})", re.I)
_SINGLE = re.compile(
    rf"\b(?P<prep>in|during|on|before|after|since|until|till|by|prior to)\s+(?:the\s+year\s+)?(?P<d>{_DATE})(?![\w-])",
    re.I,
)


def _parse(expr: str, today: _dt.date) -> tuple[_dt.date, _dt.date] | None:
    """The first and last day an expression covers, or None when it is not a date."""
    s = re.sub(r"\s+", " ", expr.strip().lower().replace(",", " ").replace(".", " ")).strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", s):
            d = _dt.date.fromisoformat(s)
            return d, d
        m = re.fullmatch(rf"(\d{{1,2}}) ({_MONTH_RE}) (\d{{4}})", s)
        if m:
            d = _dt.date(int(m[3]), _MONTHS[m[2]], int(m[1]))
            return d, d
        m = re.fullmatch(rf"({_MONTH_RE}) (\d{{1,2}})(?:st|nd|rd|th)? (\d{{4}})", s)
        if m:
            d = _dt.date(int(m[3]), _MONTHS[m[1]], int(m[2]))
            return d, d
        m = re.fullmatch(rf"({_MONTH_RE}) (\d{{4}})", s)
        if m:
            return _month(int(m[2]), _MONTHS[m[1]])
        if re.fullmatch(r"\d{4}", s):
            y = int(s)
            return _dt.date(y, 1, 1), _dt.date(y, 12, 31)
        if s in _MONTHS:
            # A month without a year: the latest such month that is not in the future.
            month = _MONTHS[s]
            year = today.year if month <= today.month else today.year - 1
            return _month(year, month)
    except ValueError:  # "February 30, 2022" and the like: not a date after all
        return None
    return None


def _month(year: int, month: int) -> tuple[_dt.date, _dt.date]:
    return _dt.date(year, month, 1), _dt.date(year, month, calendar.monthrange(year, month)[1])


def _clean(question: str, span: tuple[int, int]) -> str:
    out = question[: span[0]] + question[span[1]:]
    out = re.sub(r"\s+([?.!,])", r"\1", out)
    return re.sub(r"\s{2,}", " ", out).strip()


def dates_in_question(
    question: str, today: _dt.date | None = None
) -> tuple[str | None, str | None, str]:
    """Find a publication-date filter written in the question.

    Args:
        question: the user's question.
        today: the reference day for a month without a year ("in December"); defaults to today.

    Returns:
        `(since, until, cleaned_question)`: inclusive ISO dates (either may be None) and the
        question with the date phrase removed. `(None, None, question)` when there is none.
        A bare month name is only read as a date after "in/before/after/since/until".
    """
    today = today or _dt.date.today()
    m = _BETWEEN.search(question)
    if m:
        a, b = _parse(m["a"], today), _parse(m["b"], today)
        if a and b:
            lo, hi = min(a[0], b[0]), max(a[1], b[1])
            return lo.isoformat(), hi.isoformat(), _clean(question, m.span())
    for m in _SINGLE.finditer(question):
        prep = m["prep"].lower()
        rng = _parse(m["d"], today)
        if rng is None:
            continue
        # "may" is both a month and a verb: only read it as a month when a year follows.
        if m["d"].strip().lower() == "may":
            continue
        first, last = rng
        one = _dt.timedelta(days=1)
        if prep in ("in", "during", "on"):
            since, until = first, last
        elif prep in ("before", "prior to"):
            since, until = None, first - one
        elif prep == "after":
            since, until = last + one, None
        elif prep == "since":
            since, until = first, None
        else:  # until, till, by
            since, until = None, last
        return (
            since.isoformat() if since else None,
            until.isoformat() if until else None,
            _clean(question, m.span()),
        )
    return None, None, question
