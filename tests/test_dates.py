import datetime as dt

import pytest

from qa.dates import DateRange, dates_in_question, parse_date, read_range, reference_day
from qa.errors import QueryError

TODAY = dt.date(2022, 3, 20)


def in_question(question, reference=TODAY):
    """(since, until, the question without its date words), as the old tuple read."""
    found = dates_in_question(question, reference)
    if found is None:
        return None, None, question
    assert found.dates.from_question
    return found.dates.since, found.dates.until, found.question


@pytest.mark.parametrize("question, since, until, cleaned", [
    ("What did Xi say in December 2021?", "2021-12-01", "2021-12-31", "What did Xi say?"),
    ("What did China say before February 2022?", None, "2022-01-31", "What did China say?"),
    ("What happened after 2022-02-01?", "2022-02-02", None, "What happened?"),
    ("What happened between January 2022 and February 2022?", "2022-01-01", "2022-02-28",
     "What happened?"),
    ("What did Putin say in 2021?", "2021-01-01", "2021-12-31", "What did Putin say?"),
    ("What was said on February 26, 2022?", "2022-02-26", "2022-02-26", "What was said?"),
    ("Anything since 1 March 2022?", "2022-03-01", None, "Anything?"),
    ("What did Xi say in December?", "2021-12-01", "2021-12-31", "What did Xi say?"),
])
def test_dates_written_in_questions(question, since, until, cleaned):
    assert in_question(question) == (since, until, cleaned)


@pytest.mark.parametrize("question", [
    "Who is Zhao Lijian?", "What may happen next?", "in February 30, 2022 what", "", "[bold]",
])
def test_questions_without_a_date_are_left_alone(question):
    since, until, _ = in_question(question)
    assert since is None and until is None


@pytest.mark.parametrize("value, end, expected", [
    ("2022-02-26", False, "2022-02-26"),
    ("2022-02", False, "2022-02-01"),
    ("2022-02", True, "2022-02-28"),
    ("2024-02", True, "2024-02-29"),
    ("2022", True, "2022-12-31"),
    (" 2021-12 ", True, "2021-12-31"),
    ("9998-12", True, "9998-12-31"),
    ("0001-01-01", False, "0001-01-01"),
    (dt.date(2022, 2, 1), True, "2022-02-01"),
    (dt.datetime(2022, 2, 1, 13, 5), False, "2022-02-01"),
    (None, True, None),
    ("", False, None),
])
def test_parse_date(value, end, expected):
    assert parse_date(value, end=end) == expected


@pytest.mark.parametrize("value", ["Februar", "2022-13", "2022-02-30", "0000", "22-02-01", "last"])
def test_parse_date_refuses_what_is_not_a_date(value):
    with pytest.raises(QueryError, match=r"since .* is not a date\. Use YYYY-MM-DD"):
        parse_date(value, name="since")


@pytest.mark.parametrize("value, end", [
    ("9999-12", True),  # its last day is found from the first of the next month: year 10000
    ("9999-12", False), ("9999-12-31", False), ("9999", True), (dt.date(9999, 1, 1), False),
])
def test_parse_date_says_which_years_can_be_searched(value, end):
    with pytest.raises(QueryError, match=r"until .*outside the dates qa can search; use a "
                                         r"year between 1 and 9998"):
        parse_date(value, name="until", end=end)


@pytest.mark.parametrize("question", [
    "What happened after December 31, 9999?",
    "What happened after 9999-12-31?",
    "What happened before January 1, 0001?",
    "What happened before 0001-01-01?",
    "What happened after December 31, 9998?",  # the day after is in 9999
    "What happened in December 9999?",
    "What happened between January 2022 and March 9999?",
])
def test_dates_in_questions_outside_the_calendar_are_a_query_error(question):
    with pytest.raises(QueryError, match=r"outside the dates qa can search; use a year between "
                                         r"1 and 9998"):
        dates_in_question(question, TODAY)


def test_dates_at_the_edges_of_the_calendar():
    assert in_question("What happened before December 31, 9998?")[:2] == (None, "9998-12-30")
    assert in_question("What happened after January 1, 0001?")[:2] == ("0001-01-02", None)
    assert in_question("What happened in December 9998?")[:2] == ("9998-12-01", "9998-12-31")


# --- the forms every --since/--until and /since, /until read (issue 12) ----------------------
NEWEST = dt.date(2022, 3, 18)  # the reference day: what "last week" counts back from


@pytest.mark.parametrize("value, end, expected", [
    ("March 2022", False, "2022-03-01"), ("March 2022", True, "2022-03-31"),
    ("mar 2022", True, "2022-03-31"), ("  Feb   2024 ", True, "2024-02-29"),
    ("26 February 2022", True, "2022-02-26"), ("February 26, 2022", False, "2022-02-26"),
    ("last week", False, "2022-03-12"), ("last week", True, "2022-03-18"),
    ("Last Month", False, "2022-02-19"), ("the past month", True, "2022-03-18"),
    ("last year", False, "2021-03-19"),
    ("March", True, "2022-03-31"),  # a month alone: the latest one begun by the reference day
    ("December", False, "2021-12-01"),
    ("today", False, "2022-03-18"), ("yesterday", True, "2022-03-17"),
    ("this week", False, "2022-03-14"), ("this month", False, "2022-03-01"),
    ("this year", False, "2022-01-01"), ("this year", True, "2022-03-18"),
    ("last 3 days", False, "2022-03-16"), ("the past two weeks", False, "2022-03-05"),
    ("last 2 months", False, "2022-01-19"),
])
def test_parse_date_reads_months_and_periods_before_the_reference_day(value, end, expected):
    assert parse_date(value, end=end, reference=NEWEST) == expected


def test_last_month_from_the_31st_keeps_to_the_calendar():
    assert parse_date("last month", reference=dt.date(2022, 3, 31)) == "2022-03-01"
    assert parse_date("last month", reference=dt.date(2024, 3, 31)) == "2024-03-01"


def test_relative_dates_count_from_today_without_a_reference():
    today = dt.date.today()
    assert parse_date("today") == today.isoformat()
    assert parse_date("last week") == (today - dt.timedelta(days=6)).isoformat()


def test_the_reference_day_is_today_unless_the_setting_says_the_newest_article():
    today = dt.date(2026, 12, 6)
    assert reference_day("2020-05-01", "today", today=today) == today
    assert reference_day("2020-05-01", "newest-article", today=today) == dt.date(2020, 5, 1)
    assert reference_day(None, "newest-article", today=today) == today


@pytest.mark.parametrize("newest", ["9999-12-31", "2031-01-01", "2026-12-08"])
def test_an_article_dated_in_the_future_never_becomes_the_reference_day(newest):
    today = dt.date(2026, 12, 6)
    assert reference_day(newest, "newest-article", today=today) == today
    # and relative dates still read, rather than failing for the whole corpus
    ref = reference_day(newest, "newest-article", today=today)
    assert parse_date("last week", reference=ref) == "2026-11-30"


def test_a_period_reaching_before_year_one_is_outside_the_calendar():
    with pytest.raises(QueryError, match="outside the dates qa can search"):
        parse_date("last year", reference=dt.date(1, 3, 1))


def test_read_range_refuses_since_after_until_naming_both():
    assert read_range("March 2022", "2022", reference=NEWEST) == DateRange(
        "2022-03-01", "2022-12-31")
    assert read_range(None, "last week", reference=NEWEST) == DateRange(None, "2022-03-18")
    assert read_range(None, None) == DateRange()
    with pytest.raises(QueryError, match=r"--since '2023' \(2023-01-01\) is after --until "
                                         r"'February 2022' \(2022-02-28\)"):
        read_range("2023", "February 2022", names=("--since", "--until"))
    with pytest.raises(QueryError, match=r"since 2022-03-02 is after until 2022-03-01"):
        read_range("2022-03-02", "2022-03-01")


# --- one reading everywhere: what --since accepts, a question applies (issue 23) ------------
FORMS = ["2022-02-26", "2022-02", "2021", "March 2022", "26 February 2022", "February 2022",
         "March", "today", "yesterday", "this week", "this month", "this year", "last week",
         "last month", "last year", "the past 3 days", "last two weeks"]
RECENT = ["today", "yesterday", "this week", "this month", "this year", "last week",
          "last month", "last year", "the past 3 days", "last two weeks"]


@pytest.mark.parametrize("form", FORMS)
def test_every_since_form_written_in_a_question_is_the_same_filter(form):
    found = dates_in_question(f"What did the union say since {form}?", NEWEST)
    assert found is not None and found.question == "What did the union say?"
    assert found.dates == DateRange(parse_date(form, reference=NEWEST), None, True)
    found = dates_in_question(f"What did the union say until {form}?", NEWEST)
    assert found.dates == DateRange(None, parse_date(form, end=True, reference=NEWEST), True)


@pytest.mark.parametrize("form", RECENT)
def test_a_recent_period_needs_no_preposition(form):
    found = dates_in_question(f"What happened {form}?", NEWEST)
    assert found is not None and found.recent and found.question == "What happened?"
    assert found.dates == DateRange(parse_date(form, reference=NEWEST),
                                    parse_date(form, end=True, reference=NEWEST), True)


@pytest.mark.parametrize("question, since, until, words", [
    ("What happened last week?", "2026-11-30", "2026-12-06", "last week"),
    ("What did they say yesterday?", "2026-12-05", "2026-12-05", "yesterday"),
    ("Any news since March?", "2026-03-01", None, "since March"),
    ("What happened this month?", "2026-12-01", "2026-12-06", "this month"),
    ("Who resigned in 2019?", "2019-01-01", "2019-12-31", "in 2019"),
    ("What did he say in February 2022?", "2022-02-01", "2022-02-28", "in February 2022"),
    ("Anything on the strike since 2013?", "2013-01-01", None, "since 2013"),
    ("What happened in the last 3 days?", "2026-12-04", "2026-12-06", "in the last 3 days"),
    ("What happened over the past month?", "2026-11-07", "2026-12-06", "over the past month"),
])
def test_the_issues_questions_read_as_filters_from_today(question, since, until, words):
    found = dates_in_question(question, dt.date(2026, 12, 6))
    assert (found.dates.since, found.dates.until, found.words) == (since, until, words)


@pytest.mark.parametrize("question", [
    "Who won the 2019 election?",             # a year without a preposition: the event's
    "What was the last year of the war?",     # "the last year of": not a period of the news
    "What about last year's budget?",         # a possessive: the budget's year
    "What did this week's report find?",
    "What was said on the last day of the summit?",
])
def test_periods_that_are_about_an_event_are_not_filters(question):
    assert dates_in_question(question, NEWEST) is None


def test_since_a_month_is_recent_but_in_a_month_may_be_the_events():
    """'Any news since March?' runs up to today: never widened to other dates; 'the video call
    in December' may name the event's month, like a year, so it may be."""
    assert dates_in_question("Any news since March?", NEWEST).recent
    assert not dates_in_question("What was agreed in December?", NEWEST).recent
    assert not dates_in_question("What was agreed in December 2021?", NEWEST).recent
