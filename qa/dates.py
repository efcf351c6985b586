"""Publication-date filters: the one place qa reads a date a user wrote.

`parse_date` reads a `--since`/`--until` value, and the chat's `/since`/`/until`: "2022-02-26",
"2022-02", "2022", "March 2022", "26 February 2022", or "last week" / "last month" / "last year",
counted back from the newest article's date (`Retriever.latest_date`), not from today: a folder
of 2020 news has no articles from the calendar's last week. `date_range` reads both bounds and
refuses a range whose start is after its end.
`dates_in_question` finds dates written in a question ("in December 2021", "before February
2022"), turns them into an inclusive `since`/`until` filter and returns the question without
the date phrase, so the date words do not skew retrieval.

Both keep to the years `FIRST_YEAR`..`LAST_YEAR`: the last day of a month is found from the
first of the next, and "after"/"before" move a day, so a date in year 9999 (or before the first
day of year 1) would fall off Python's calendar. Outside them, a QueryError says so.
"""

from __future__ import annotations

import calendar
import datetime as _dt
import re

from .errors import QueryError

__all__ = ["dates_in_question", "date_range", "parse_date", "DATE_FORMS", "FIRST_YEAR", "LAST_YEAR"]

FIRST_YEAR, LAST_YEAR = 1, 9998
_RANGE_ADVICE = f"use a year between {FIRST_YEAR} and {LAST_YEAR}"

DateLike = str | _dt.date | None


# How a date filter may be written: said once, for every message that asks for one.
DATE_FORMS = ("YYYY-MM-DD (e.g. 2022-02-01), YYYY-MM, YYYY, a month such as 'March 2022', or "
              "'last week', 'last month', 'last year' (counted back from the newest article)")


def parse_date(value: DateLike, *, name: str = "date", end: bool = False,
               latest: DateLike = None) -> str | None:
    """Normalise a date filter to 'YYYY-MM-DD'.

    Args:
        value: 'YYYY-MM-DD', 'YYYY-MM', 'YYYY', 'March 2022', '26 February 2022', 'last week',
            'last month' or 'last year' (surrounding spaces and case ignored), a date or a
            datetime; None or '' for no filter.
        name: what the value is called in an error message ("since", "--until", "/since").
        end: an `until` bound: a month, a year or a period means its last day, not its first.
        latest: the newest article's date, which 'last week' and a month without a year
            ('March') count back from; without it those are refused.

    Returns:
        The ISO day, or None for no filter.

    Raises:
        QueryError: the value is not a date, is relative with no `latest`, or its year is
            outside FIRST_YEAR..LAST_YEAR.
    """
    if value is None or value == "":
        return None
    if isinstance(value, _dt.datetime):
        day = value.date()
    elif isinstance(value, _dt.date):
        day = value
    else:
        text = " ".join(str(value).split())
        try:
            span = _period(text, _as_date(latest))
        except (ValueError, OverflowError):  # a period reaching before year 1
            raise QueryError(f"{name} {value!r} is outside the dates qa can search; "
                             f"{_RANGE_ADVICE}, e.g. 2022-02-01.") from None
        if span is None:
            if _RELATIVE.fullmatch(text.lower()):
                raise QueryError(
                    f"{name} {value!r} counts back from the newest article, and there is no "
                    "dated article to count from here. Give a date, e.g. 2022-02-01.")
            if text.lower().strip(". ") in _MONTHS:
                raise QueryError(f"{name} {value!r} is not a date. Use YYYY-MM-DD, or a month "
                                 f"with its year: '{text.strip('. ').title()} 2022'.")
            raise QueryError(f"{name} {value!r} is not a date. Use {DATE_FORMS}.")
        day = span[1] if end else span[0]
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise QueryError(f"{name} {value!r} is outside the dates qa can search; "
                         f"{_RANGE_ADVICE}, e.g. 2022-02-01.")
    return day.isoformat()


def date_range(since: DateLike, until: DateLike, *, latest: DateLike = None,
               names: tuple[str, str] = ("since", "until")) -> tuple[str | None, str | None]:
    """Read both bounds of a date filter (as `parse_date` does) and check their order.

    Args:
        since, until: the bounds as the user wrote them; None or '' for open.
        latest: the newest article's date, for 'last week' and the like.
        names: what the two are called in messages ("--since", "--until").

    Returns:
        (since, until) as ISO days, either None when open.

    Raises:
        QueryError: a bound is not a date, or `since` falls after `until` (both are named).
    """
    lo = parse_date(since, name=names[0], latest=latest)
    hi = parse_date(until, name=names[1], end=True, latest=latest)
    if lo and hi and lo > hi:
        def shown(value: DateLike, iso: str) -> str:
            return iso if str(value).strip() == iso else f"{str(value).strip()!r} ({iso})"

        raise QueryError(f"{names[0]} {shown(since, lo)} is after {names[1]} "
                         f"{shown(until, hi)}: no article can be in that range. Swap the two "
                         "dates, or leave one out.")
    return lo, hi


_RELATIVE = re.compile(r"(?:the\s+)?(?:last|past)\s+(week|month|year)")


def _as_date(value: DateLike) -> _dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, _dt.datetime):
        return value.date()
    if isinstance(value, _dt.date):
        return value
    try:
        return _dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _period(text: str, latest: _dt.date | None) -> tuple[_dt.date, _dt.date] | None:
    """The first and last day a filter value covers, or None when it is not one."""
    for fmt in ("%Y-%m-%d", "%Y-%m", "%Y"):
        try:
            day = _dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
        if fmt == "%Y":
            return day, day.replace(month=12, day=31)
        if fmt == "%Y-%m":
            return _month(day.year, day.month)
        return day, day
    lowered = text.lower()
    relative = _RELATIVE.fullmatch(lowered)
    if relative:
        if latest is None:
            return None
        unit = relative[1]
        if unit == "week":
            return latest - _dt.timedelta(days=6), latest
        months = 1 if unit == "month" else 12
        return _months_before(latest, months) + _dt.timedelta(days=1), latest
    if lowered.strip(". ") in _MONTHS and latest is None:
        return None  # "March" alone: which March depends on the articles
    if re.fullmatch(r"\d{4}", lowered):
        return None  # a year outside strptime's, e.g. 0000
    return _parse(text, latest or _dt.date.today())


def _months_before(day: _dt.date, months: int) -> _dt.date:
    """The same day `months` months earlier (the month's last day when it is shorter)."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    return _dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))

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
    """The first and last day of a month (monthrange: no step into the next month)."""
    return _dt.date(year, month, 1), _dt.date(year, month, calendar.monthrange(year, month)[1])


def _outside(phrase: str) -> QueryError:
    return QueryError(f"“{' '.join(phrase.split())}” is outside the dates qa can search; "
                      f"{_RANGE_ADVICE}.")


def _check_range(phrase: str, *days: _dt.date | None) -> None:
    if any(d is not None and not FIRST_YEAR <= d.year <= LAST_YEAR for d in days):
        raise _outside(phrase)


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

    Raises:
        QueryError: the filter would reach outside the years FIRST_YEAR..LAST_YEAR ("after
            December 31, 9999", "before January 1, 0001").
    """
    today = today or _dt.date.today()
    m = _BETWEEN.search(question)
    if m:
        a, b = _parse(m["a"], today), _parse(m["b"], today)
        if a and b:
            lo, hi = min(a[0], b[0]), max(a[1], b[1])
            _check_range(m.group(0), lo, hi)
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
        try:
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
        except OverflowError:  # the day before year 1, the day after year 9999
            raise _outside(m.group(0)) from None
        _check_range(m.group(0), since, until)
        return (
            since.isoformat() if since else None,
            until.isoformat() if until else None,
            _clean(question, m.span()),
        )
    return None, None, question


# --- dates written in articles ---------------------------------------------------------------

_MONTH = r"(?P<month>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_PREFIX = (
    r"(?:(?:published|updated|posted)(?:\s+on)?:?\s+)?"
    r"(?:(?:mon|tue|tues|wed|wednes|thu|thur|thurs|fri|sat|satur|sun)(?:day)?\.?,?\s+)?"
)
# A time after the date, as e-mail and RSS write it: "Tue, 15 Mar 2022 10:00:00 +0000 (UTC)".
_TIME = (
    r"(?:,?\s+(?:at\s+)?\d{1,2}:\d{2}(?::\d{2})?(?:\s*[ap]\.?m\.?)?"
    r"(?:\s*(?:[+-]\d{2}:?\d{2}|[a-z]{1,5}))?(?:\s*\([^)]{1,10}\))?)?"
)
_DATE_FORMS = [
    re.compile(r"(?P<year>\d{4})(?P<sep>[-/])(?P<mon>\d{1,2})(?P=sep)(?P<day>\d{1,2})(?:[T ][\d:.+\-Z ]*)?", re.I),
    re.compile(r"D:(?P<year>\d{4})(?P<mon>\d{2})(?P<day>\d{2})[\d+\-Z']*"),  # PDF metadata
    re.compile(_PREFIX + _MONTH + r"\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<year>\d{4})" + _TIME, re.I),
    re.compile(_PREFIX + r"(?P<day>\d{1,2})(?:st|nd|rd|th)?\s+" + _MONTH + r",?\s+(?P<year>\d{4})" + _TIME, re.I),
]  # fmt: skip


def written_date(value: str) -> str | None:
    """Read a whole string as a date written in an article or a file's metadata.

    Args:
        value: e.g. `2021-12-17`, `2021/12/17`, `December 17, 2021`,
            `Friday, December 17, 2021`, `17 December 2021`, `Dec. 17, 2021`,
            `2022-02-26T10:00:00Z`, an e-mail or RSS date (`Fri, 17 Dec 2021 10:00:00 +0000`)
            or a PDF date (`D:20211217100000Z`). The date is the one written, whatever the
            time zone.

    Returns:
        The ISO date `YYYY-MM-DD`, or None when the string is not (only) a valid date.
    """
    value = value.strip()
    if len(value) > 60:  # a dateline is short; this also bounds the regex work
        return None
    for form in _DATE_FORMS:
        m = form.fullmatch(value)
        if not m:
            continue
        groups = m.groupdict()
        month = int(groups["mon"]) if groups.get("mon") else _MONTHS[groups["month"].lower()]
        try:
            return _dt.date(int(groups["year"]), month, int(groups["day"])).isoformat()
        except ValueError:
            return None
    return None
