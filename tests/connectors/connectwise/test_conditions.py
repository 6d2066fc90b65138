"""The connector's conditions builder against the Manage fake's parser: a quoted value reads back as itself, and
no expression ``checked`` lets through can make the customer filter match another company's record."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from msplex.connectors.connectwise._conditions import all_of, checked, date, quote
from msplex.connectors.framework import ToolError
from msplex.sandbox._cw_conditions import ConditionError, parse

FOREIGN = {"id": 7, "summary": 'x") or (y', "company": {"id": 250}, "closedFlag": False}
TRICKY = st.text(alphabet='"\\()=!<>[],%* abcdorn/12509', max_size=40)


@given(st.text(max_size=60))
def test_a_quoted_value_reads_back_as_itself(text: str) -> None:
    assert parse(f"summary = {quote(text)}")({"summary": text}) is True


@settings(max_examples=400)
@given(TRICKY)
def test_nothing_checked_lets_through_widens_the_customer_filter(text: str) -> None:
    try:
        expression = all_of("company/id=251", checked(text))
    except ToolError:
        return
    assert expression is not None
    try:
        matches = parse(expression)(FOREIGN)
    except ConditionError:
        return  # Manage refuses it: nothing is read
    assert matches is False


@pytest.mark.parametrize(
    "text", ['") or (company/id=250', 'a = "b', "a = 1)", "(a = 1", "a = 'b'", "a = 1; drop", "x" * 2001]
)
def test_expressions_that_could_escape_are_refused(text: str) -> None:
    with pytest.raises(ToolError):
        checked(text)


def test_dates_become_manages_bracketed_utc() -> None:
    assert date("2026-11-01") == "[2026-11-01T00:00:00Z]"
    assert date("2026-11-01T10:00:00+02:00") == "[2026-11-01T08:00:00Z]"
    with pytest.raises(ToolError):
        date("yesterday")
