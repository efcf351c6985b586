import datetime as dt

import pytest

from qa.dates import dates_in_question, parse_date
from qa.errors import QueryError

TODAY = dt.date(2022, 3, 20)


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
    assert dates_in_question(question, today=TODAY) == (since, until, cleaned)


@pytest.mark.parametrize("question", [
    "Who is Zhao Lijian?", "What may happen next?", "in February 30, 2022 what", "", "[bold]",
])
def test_questions_without_a_date_are_left_alone(question):
    since, until, _ = dates_in_question(question, today=TODAY)
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


@pytest.mark.parametrize("value", ["February", "2022-13", "2022-02-30", "0000", "22-02-01"])
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
        dates_in_question(question, today=TODAY)


def test_dates_at_the_edges_of_the_calendar():
    assert dates_in_question("What happened before December 31, 9998?", today=TODAY)[:2] == (
        None, "9998-12-30")
    assert dates_in_question("What happened after January 1, 0001?", today=TODAY)[:2] == (
        "0001-01-02", None)
    assert dates_in_question("What happened in December 9998?", today=TODAY)[:2] == (
        "9998-12-01", "9998-12-31")


# --- the forms every --since/--until and /since, /until read (issue 12) ----------------------
NEWEST = "2022-03-18"  # the newest article's date: what "last week" counts back from


@pytest.mark.parametrize("value, end, expected", [
    ("March 2022", False, "2022-03-01"), ("March 2022", True, "2022-03-31"),
    ("mar 2022", True, "2022-03-31"), ("  Feb   2024 ", True, "2024-02-29"),
    ("26 February 2022", True, "2022-02-26"), ("February 26, 2022", False, "2022-02-26"),
    ("last week", False, "2022-03-12"), ("last week", True, NEWEST),
    ("Last Month", False, "2022-02-19"), ("the past month", True, NEWEST),
    ("last year", False, "2021-03-19"),
    ("March", True, "2022-03-31"),  # a month alone: the latest one the articles reach
    ("December", False, "2021-12-01"),
])
def test_parse_date_reads_months_and_periods_before_the_newest_article(value, end, expected):
    assert parse_date(value, end=end, latest=NEWEST) == expected


def test_last_month_from_the_31st_keeps_to_the_calendar():
    assert parse_date("last month", latest="2022-03-31") == "2022-03-01"  # after 28 February
    assert parse_date("last month", latest="2024-03-31") == "2024-03-01"  # after 29 February


@pytest.mark.parametrize("value", ["last week", "past year"])
def test_a_period_without_a_newest_article_says_what_it_counts_from(value):
    with pytest.raises(QueryError, match=r"--since .* counts back from the newest article"):
        parse_date(value, name="--since")


def test_a_period_reaching_before_year_one_is_outside_the_calendar():
    with pytest.raises(QueryError, match="outside the dates qa can search"):
        parse_date("last year", latest="0001-03-01")


def test_date_range_refuses_since_after_until_naming_both():
    from qa.dates import date_range

    assert date_range("March 2022", "2022", latest=NEWEST) == ("2022-03-01", "2022-12-31")
    assert date_range(None, "last week", latest=NEWEST) == (None, NEWEST)
    with pytest.raises(QueryError, match=r"--since '2023' \(2023-01-01\) is after --until "
                                         r"'February 2022' \(2022-02-28\)"):
        date_range("2023", "February 2022", names=("--since", "--until"))
    with pytest.raises(QueryError, match=r"since 2022-03-02 is after until 2022-03-01"):
        date_range("2022-03-02", "2022-03-01")
