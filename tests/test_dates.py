import datetime as dt

import pytest

from qa.dates import dates_in_question

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
