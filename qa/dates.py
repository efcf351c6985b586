"""Publication dates: the one place qa reads a date a user wrote (and, below, one an article
gives).

A user's date is a *period* — a first and a last day — written in one grammar, whether it is a
`--since`/`--until` value, the chat's `/since`/`/until`, a `since`/`until` of `qa serve`, or
words in a question:

- days, months and years: "2022-02-26", "2022-02", "2022", "March 2022", "26 February 2022",
  "February 26, 2022", and a month alone ("March": the last March up to the reference day);
- periods counted from a reference day: "today", "yesterday", "this week", "this month",
  "this year", "last week", "last month", "last year", "the past 3 days" (a rolling period
  that ends on the reference day: "last week" is its seven days).

The reference day is today, or with the `relative_dates = "newest-article"` setting the newest
article's date (`reference_day`): one article dated 9999-12-31 never becomes the corpus's today.

`read_range` reads both bounds of a filter into the one `DateRange` that the commands, the
answerer and the retriever pass around; `dates_in_question` finds a period written in a
question ("in February 2022", "since 2013", "What happened last week?") and returns it with
the question less those words, so they do not skew the search.

Both keep to the years `FIRST_YEAR`..`LAST_YEAR`: the last day of a month is found from the
first of the next, and "after"/"before" move a day, so a date in year 9999 (or before the first
day of year 1) would fall off Python's calendar. Outside them, a QueryError says so.
"""

from __future__ import annotations

import calendar
import datetime as _dt
import re
from dataclasses import dataclass

from .errors import QueryError
from .types import ANY_DATE, DateRange

__all__ = [
    "ANY_DATE", "DATE_FORMS", "DateRange", "DatesInQuestion", "FIRST_YEAR", "LAST_YEAR",
    "dates_in_question", "parse_date", "read_range", "reference_day",
    "written_date",
]

FIRST_YEAR, LAST_YEAR = 1, 9998
_RANGE_ADVICE = f"use a year between {FIRST_YEAR} and {LAST_YEAR}"
#: An article dated later than this after today is a mistake (a typo, a placeholder such as
#: 9999-12-31), not the corpus's newest day; a day allows for time zones.
FUTURE_SLACK = _dt.timedelta(days=1)

DateLike = str | _dt.date | None


# How a date filter may be written: said once, for every message that asks for one.
DATE_FORMS = ("YYYY-MM-DD (e.g. 2022-02-01), YYYY-MM, YYYY, a month such as 'March 2022' or "
              "'March', or 'today', 'yesterday', 'this week', 'this month', 'this year', "
              "'last week', 'last month', 'last year', 'last 3 days' (counted from today, or "
              "from the newest article with relative_dates = \"newest-article\")")


EARLIEST_YEAR = 1800  # a news article's date before this is a mistake in the file


def impossible_date(value: DateLike, *, today: _dt.date | None = None) -> bool:
    """A publication date that cannot be right: after tomorrow, or before 1800. An article
    carrying one is indexed with its date unknown, so that no date filter depends on it."""
    day = _as_date(value)
    if day is None:
        return False
    return day > (today or _dt.date.today()) + FUTURE_SLACK or day.year < EARLIEST_YEAR


def reference_day(newest: DateLike, counting: str = "today", *,
                  today: _dt.date | None = None) -> _dt.date:
    """The day relative dates ("last week", "yesterday", "March") count from.

    Args:
        newest: the newest article's date (ISO), or None.
        counting: "today", or "newest-article" (the `relative_dates` setting,
            `qa.config.RELATIVE_COUNTING`).
        today: the calendar's today (default: the machine's).

    Returns:
        Today; with "newest-article", the newest article's date, unless there is none or it
        lies in the future (a date that cannot be right must not move every relative date).
    """
    today = today or _dt.date.today()
    if counting != "newest-article":
        return today
    day = _as_date(newest)
    return day if day is not None and day <= today + FUTURE_SLACK else today


def parse_date(value: DateLike, *, name: str = "date", end: bool = False,
               reference: _dt.date | None = None) -> str | None:
    """Normalise one bound of a date filter to 'YYYY-MM-DD'.

    Args:
        value: a period in the module's grammar (surrounding spaces and case ignored), a date
            or a datetime; None or '' for no filter.
        name: what the value is called in an error message ("since", "--until", "/since").
        end: an `until` bound: a month, a year or a period means its last day, not its first.
        reference: the day relative periods count from (`reference_day`; default today).

    Returns:
        The ISO day, or None for no filter.

    Raises:
        QueryError: the value is not a date, or its year is outside FIRST_YEAR..LAST_YEAR.
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
            found = _period(text, reference or _dt.date.today())
        except (ValueError, OverflowError):  # a period reaching before year 1
            raise QueryError(f"{name} {value!r} is outside the dates qa can search; "
                             f"{_RANGE_ADVICE}, e.g. 2022-02-01.") from None
        if found is None:
            raise QueryError(f"{name} {value!r} is not a date. Use {DATE_FORMS}.")
        day = found.last if end else found.first
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise QueryError(f"{name} {value!r} is outside the dates qa can search; "
                         f"{_RANGE_ADVICE}, e.g. 2022-02-01.")
    return day.isoformat()


def read_range(since: DateLike = None, until: DateLike = None, *,
               reference: _dt.date | None = None,
               names: tuple[str, str] = ("since", "until")) -> DateRange:
    """Read both bounds of a date filter (as `parse_date` does) and check their order.

    Args:
        since, until: the bounds as the user wrote them; None or '' for open.
        reference: the day relative periods count from (`reference_day`; default today).
        names: what the two are called in messages ("--since", "--until").

    Returns:
        The `DateRange` (`from_question` False).

    Raises:
        QueryError: a bound is not a date, or `since` falls after `until` (both are named).
    """
    lo = parse_date(since, name=names[0], reference=reference)
    hi = parse_date(until, name=names[1], end=True, reference=reference)
    if lo and hi and lo > hi:
        def shown(value: DateLike, iso: str) -> str:
            return iso if str(value).strip() == iso else f"{str(value).strip()!r} ({iso})"

        raise QueryError(f"{names[0]} {shown(since, lo)} is after {names[1]} "
                         f"{shown(until, hi)}: no article can be in that range. Swap the two "
                         "dates, or leave one out.")
    return DateRange(lo, hi)


@dataclass(frozen=True)
class DatesInQuestion:
    """A publication-date filter written in a question.

    Attributes:
        dates: the range, `from_question` set.
        words: the words it was read from, as written ("since March", "last week").
        recent: it runs up to the reference day ("last week", "yesterday", "this month",
            "since March"): about when articles appeared, never about an event years before.
        question: the question without those words.
    """

    dates: DateRange
    words: str
    recent: bool
    question: str


# --- one period ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Period:
    first: _dt.date
    last: _dt.date
    recent: bool = False  # counted back from the reference day ("last week")
    month_alone: bool = False  # "March": the last one begun by the reference day


_MONTHS = {
    name.lower(): i
    for i, name in enumerate(calendar.month_name)
    if name
}
_MONTHS.update({name.lower(): i for i, name in enumerate(calendar.month_abbr) if name})
_MONTHS["sept"] = 9
_MONTH_RE = "|".join(sorted(_MONTHS, key=len, reverse=True))

_NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
            "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12}
_NUMBER_RE = r"\d{1,4}|" + "|".join(sorted(_NUMBERS, key=len, reverse=True))
# Periods counted from the reference day, as one regex (no groups: `_recent` reads them).
_RECENT = (
    r"(?:today|yesterday"
    r"|this\s+(?:week|month|year)"
    rf"|(?:the\s+)?(?:last|past|previous)\s+(?:(?:{_NUMBER_RE})\s+)?(?:day|week|month|year)s?)"
)
_RECENT_PARTS = re.compile(
    rf"(?:the )?(?:last|past|previous) (?:(?P<n>{_NUMBER_RE}) )?(?P<unit>day|week|month|year)s?")
# Days, months and years, as a question writes them (a month alone included).
_DATE = (
    r"(?:\d{4}-\d{2}(?:-\d{2})?"
    rf"|\d{{1,2}}\s+(?:{_MONTH_RE})\.?,?\s+\d{{4}}"
    rf"|(?:{_MONTH_RE})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}"
    rf"|(?:{_MONTH_RE})\.?,?\s+\d{{4}}"
    r"|(?:1[89]|20)\d{2}"
    rf"|(?:{_MONTH_RE})\b)"
)
_PERIOD = rf"(?:{_RECENT}|{_DATE})"


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


def _period(text: str, reference: _dt.date) -> _Period | None:
    """The first and last day a period covers (see the module docstring), or None when
    `text` is not one. Raises ValueError or OverflowError past the calendar's ends."""
    for fmt in ("%Y-%m-%d", "%Y-%m", "%Y"):
        try:
            day = _dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
        if fmt == "%Y":
            return _Period(day, day.replace(month=12, day=31))
        if fmt == "%Y-%m":
            return _Period(*_month(day.year, day.month))
        return _Period(day, day)
    s = re.sub(r"\s+", " ", text.strip().lower().replace(",", " ").replace(".", " ")).strip()
    recent = _recent(s, reference)
    if recent is not None:
        return recent
    if re.fullmatch(r"\d{4}", s):
        return None  # a year outside strptime's, e.g. 0000
    found = _absolute(s, reference)
    return _Period(*found, month_alone=s in _MONTHS) if found else None


def _recent(s: str, reference: _dt.date) -> _Period | None:
    """A period counted back from `reference` ("yesterday", "this month", "last 3 weeks")."""
    one = _dt.timedelta(days=1)
    if s == "today":
        return _Period(reference, reference, True)
    if s == "yesterday":
        return _Period(reference - one, reference - one, True)
    if s in ("this week", "this month", "this year"):
        unit = s.split()[1]
        first = (reference - _dt.timedelta(days=reference.weekday()) if unit == "week"
                 else reference.replace(day=1) if unit == "month"
                 else reference.replace(month=1, day=1))
        return _Period(first, reference, True)
    m = _RECENT_PARTS.fullmatch(s)
    if m is None:
        return None
    word = m["n"] or "one"
    n = _NUMBERS[word] if word in _NUMBERS else int(word)
    if n < 1:
        return None
    unit = m["unit"]
    if unit in ("day", "week"):
        return _Period(reference - _dt.timedelta(days=n * (7 if unit == "week" else 1) - 1),
                       reference, True)
    months = n * (1 if unit == "month" else 12)
    return _Period(_months_before(reference, months) + one, reference, True)


def _months_before(day: _dt.date, months: int) -> _dt.date:
    """The same day `months` months earlier (the month's last day when it is shorter)."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    return _dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _absolute(s: str, reference: _dt.date) -> tuple[_dt.date, _dt.date] | None:
    """The first and last day of a day, month or year as a person writes it (`s` folded:
    lower case, no commas or dots), or None when it is not a date."""
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
            # A month without a year: the latest such month that has begun by the reference day.
            month = _MONTHS[s]
            year = reference.year if month <= reference.month else reference.year - 1
            return _month(year, month)
    except ValueError:  # "February 30, 2022" and the like: not a date after all
        return None
    return None


def _month(year: int, month: int) -> tuple[_dt.date, _dt.date]:
    """The first and last day of a month (monthrange: no step into the next month)."""
    return _dt.date(year, month, 1), _dt.date(year, month, calendar.monthrange(year, month)[1])


# --- periods written in a question ---------------------------------------------------------

# After the period: not a word going on ("Mayday"), not a possessive ("last year's budget"),
# not "of" ("the last day of the summit" is about an event, not when articles appeared).
_AFTER = r"(?![\w’'-])(?!\s+of\b)"
_BETWEEN = re.compile(
    rf"\b(?:between|from)\s+(?P<a>{_PERIOD})\s+(?:and|to|until|till)\s+(?P<b>{_PERIOD}){_AFTER}",
    re.IGNORECASE)
_SINGLE = re.compile(
    r"\b(?P<prep>in|during|on|over|within|before|after|since|until|till|by|prior\s+to)\s+"
    rf"(?:the\s+year\s+)?(?P<d>{_PERIOD}){_AFTER}",
    re.IGNORECASE,
)
# Without a preposition only a period counted from the reference day is a filter: "Who won
# the 2019 election?" is about an event, "What happened last week?" about the news.
_BARE = re.compile(rf"(?<![\w-])(?P<d>{_RECENT}){_AFTER}", re.IGNORECASE)


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


def _read(expr: str, reference: _dt.date, phrase: str) -> _Period | None:
    try:
        return _period(" ".join(expr.split()), reference)
    except (ValueError, OverflowError):  # "the last 9999 years" from year 2000
        raise _outside(phrase) from None


def dates_in_question(question: str, reference: _dt.date | None = None
                      ) -> DatesInQuestion | None:
    """Find a publication-date filter written in the question.

    "in February 2022", "during 2019", "on 26 February 2022" keep to the period; "since",
    "after", "before", "until" and "by" open it on one side; "between X and Y" joins two.
    A period counted from the reference day needs no preposition ("What happened last
    week?", "What did they say yesterday?"); a bare year or month does ("Who won the 2019
    election?" is not a filter), and "May" is read as a month only with its year.

    Args:
        question: the user's question.
        reference: the day relative periods count from (`reference_day`; default today).

    Returns:
        The filter and the question without its words, or None when it names no date.

    Raises:
        QueryError: the filter would reach outside the years FIRST_YEAR..LAST_YEAR ("after
            December 31, 9999", "before January 1, 0001").
    """
    reference = reference or _dt.date.today()
    m = _BETWEEN.search(question)
    if m:
        a, b = _read(m["a"], reference, m[0]), _read(m["b"], reference, m[0])
        if a and b:
            lo, hi = min(a.first, b.first), max(a.last, b.last)
            _check_range(m.group(0), lo, hi)
            return _found(question, m, lo, hi, a.recent or b.recent)
    for m in _SINGLE.finditer(question):
        prep = " ".join(m["prep"].lower().split())
        # "may" is both a month and a verb: only read it as a month when a year follows.
        if m["d"].strip().lower() == "may":
            continue
        found = _read(m["d"], reference, m[0])
        if found is None:
            continue
        one = _dt.timedelta(days=1)
        since: _dt.date | None
        until: _dt.date | None
        try:
            if prep in ("in", "during", "on", "over", "within"):
                since, until = found.first, found.last
            elif prep in ("before", "prior to"):
                since, until = None, found.first - one
            elif prep == "after":
                since, until = found.last + one, None
            elif prep == "since":
                since, until = found.first, None
            else:  # until, till, by
                since, until = None, found.last
        except OverflowError:  # the day before year 1, the day after year 9999
            raise _outside(m.group(0)) from None
        _check_range(m.group(0), since, until)
        # "since March" runs up to the reference day: recent; "in December" may be the
        # event's month ("the video call in December"), like a year.
        recent = found.recent or (found.month_alone and prep == "since")
        return _found(question, m, since, until, recent)
    m = _BARE.search(question)
    if m:
        found = _read(m["d"], reference, m[0])
        if found is not None:
            _check_range(m.group(0), found.first, found.last)
            return _found(question, m, found.first, found.last, True)
    return None


def _found(question: str, m: re.Match[str], since: _dt.date | None, until: _dt.date | None,
           recent: bool) -> DatesInQuestion:
    dates = DateRange(since.isoformat() if since else None,
                      until.isoformat() if until else None, from_question=True)
    return DatesInQuestion(dates, " ".join(m.group(0).split()), recent, _clean(question, m.span()))


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
    re.compile(r"(?P<year>\d{4})(?P<sep>[-/])(?P<mon>\d{1,2})(?P=sep)(?P<day>\d{1,2})(?:[T ][\d:.+\-Z ]*)?", re.IGNORECASE),
    re.compile(r"D:(?P<year>\d{4})(?P<mon>\d{2})(?P<day>\d{2})[\d+\-Z']*"),  # PDF metadata
    re.compile(_PREFIX + _MONTH + r"\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<year>\d{4})" + _TIME, re.IGNORECASE),
    re.compile(_PREFIX + r"(?P<day>\d{1,2})(?:st|nd|rd|th)?\s+" + _MONTH + r",?\s+(?P<year>\d{4})" + _TIME, re.IGNORECASE),
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
