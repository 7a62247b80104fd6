"""Tests of rmsewatch.times: durations and instants as users write them."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rmsewatch.errors import InvalidInputError
from rmsewatch.times import (
    MAX_TS,
    MIN_TS,
    format_duration,
    format_ts,
    parse_duration,
    parse_ts,
)

SECOND = 1_000_000
HOUR = 3_600 * SECOND
DAY = 24 * HOUR
# 2013-03-01T06:00:00Z is 1_362_117_600 seconds after the epoch.
MARCH_1_2013_6AM = 1_362_117_600 * SECOND

DURATION_RULE = re.escape(
    "is not a duration; write a positive whole number and a unit "
    "(s, m, h, d, w), e.g. 1h, 24h, 7d"
)


# --- durations ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "us"),
    [
        ("1s", SECOND),
        ("90s", 90 * SECOND),
        ("15m", 900 * SECOND),
        ("1h", HOUR),
        ("24h", DAY),
        ("7d", 7 * DAY),
        ("2w", 14 * DAY),
    ],
)
def test_parse_duration_reads_a_whole_number_and_a_unit(text: str, us: int) -> None:
    assert parse_duration(text) == us


@pytest.mark.parametrize(
    "text",
    [
        " 3 h ",
        "1h\n",
        "\u0661h",
        "0h",
        "1.5h",
        "-1h",
        "1y",
        "h",
        "",
        "1H",
        "1h30m",
        "one hour",
    ],
)
def test_parse_duration_rejects_other_spellings(text: str) -> None:
    with pytest.raises(InvalidInputError, match=f"^duration: {re.escape(repr(text))} "):
        parse_duration(text)
    with pytest.raises(InvalidInputError, match=DURATION_RULE):
        parse_duration(text)


@pytest.mark.parametrize("value", [3600, 1.0, None])
def test_parse_duration_rejects_values_that_are_not_text(value: Any) -> None:
    with pytest.raises(InvalidInputError, match=DURATION_RULE):
        parse_duration(value)


def test_parse_duration_names_the_field_in_its_error() -> None:
    with pytest.raises(InvalidInputError, match=r"^window: '1\.5h' is not a duration"):
        parse_duration("1.5h", field="window")


@pytest.mark.parametrize(
    ("us", "text"),
    [
        (SECOND, "1s"),
        (90 * SECOND, "90s"),
        (60 * SECOND, "1m"),
        (90 * 60 * SECOND, "90m"),
        (HOUR, "1h"),
        (25 * HOUR, "25h"),
        (DAY, "1d"),
        (14 * DAY, "14d"),
        (1_500_000, "1.5s"),
    ],
)
def test_format_duration_gives_the_largest_exact_unit(us: int, text: str) -> None:
    assert format_duration(us) == text


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 10_000_000).map(lambda s: s * SECOND))
def test_format_duration_reads_back_to_the_same_microseconds(us: int) -> None:
    assert parse_duration(format_duration(us)) == us


# --- instants -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "2013-03-01T06:00:00Z",
        "2013-03-01T06:00:00+00:00",
        "2013-03-01T07:00:00+01:00",
        "2013-03-01T01:00:00-05:00",
        "2013-03-01T06:00:00.000Z",
        1_362_117_600,
        1_362_117_600.0,
    ],
)
def test_parse_ts_reads_rfc3339_with_any_offset_and_epoch_seconds(
    value: str | float,
) -> None:
    assert parse_ts(value) == MARCH_1_2013_6AM


def test_parse_ts_keeps_microseconds() -> None:
    assert parse_ts("2013-03-01T06:00:00.000123Z") == MARCH_1_2013_6AM + 123
    assert parse_ts(1_362_117_600.25) == MARCH_1_2013_6AM + 250_000


def test_parse_ts_accepts_the_epoch_and_the_last_microsecond_before_2200() -> None:
    assert parse_ts(0) == MIN_TS == 0
    assert parse_ts("2199-12-31T23:59:59.999999Z") == MAX_TS - 1
    assert datetime.fromtimestamp(MAX_TS / SECOND, UTC) == datetime(
        2200, 1, 1, tzinfo=UTC
    )


@pytest.mark.parametrize(
    "value",
    [-1, -0.000001, "1969-12-31T23:59:59Z", "2200-01-01T00:00:00Z", 7_258_118_400],
)
def test_parse_ts_rejects_instants_before_1970_or_from_2200(value: str | float) -> None:
    with pytest.raises(
        InvalidInputError,
        match=re.escape(
            f"ts: {value!r} must lie between 1970-01-01 and 2200-01-01 (UTC)"
        ),
    ):
        parse_ts(value)


@pytest.mark.parametrize(
    "text", ["2013-03-01T06:00:00", "2013-03-01", "06:00:00Z", "soon", ""]
)
def test_parse_ts_rejects_text_without_an_offset_or_not_a_time(text: str) -> None:
    with pytest.raises(
        InvalidInputError,
        match=re.escape(
            f"ts: {text!r} is not an RFC 3339 time with a UTC offset "
            "(e.g. 2013-03-01T06:00:00Z)"
        ),
    ):
        parse_ts(text)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_parse_ts_rejects_non_finite_seconds(value: float) -> None:
    with pytest.raises(InvalidInputError, match="must be a finite number of seconds"):
        parse_ts(value)


@pytest.mark.parametrize("value", [True, None, [1], {"s": 1}])
def test_parse_ts_rejects_other_types(value: Any) -> None:
    with pytest.raises(
        InvalidInputError,
        match=re.escape(
            f"ts: {value!r} must be an RFC 3339 time with an offset or epoch seconds"
        ),
    ):
        parse_ts(value)


def test_parse_ts_names_the_field_in_its_error() -> None:
    with pytest.raises(InvalidInputError, match=r"^end: 'soon' is not an RFC 3339"):
        parse_ts("soon", field="end")


@pytest.mark.parametrize(
    ("us", "text"),
    [
        (0, "1970-01-01T00:00:00Z"),
        (MARCH_1_2013_6AM, "2013-03-01T06:00:00Z"),
        (MARCH_1_2013_6AM + 1, "2013-03-01T06:00:00.000001Z"),
        (MARCH_1_2013_6AM + 250_000, "2013-03-01T06:00:00.250000Z"),
        (MAX_TS - 1, "2199-12-31T23:59:59.999999Z"),
    ],
)
def test_format_ts_writes_utc_with_z_and_microseconds_only_when_needed(
    us: int, text: str
) -> None:
    assert format_ts(us) == text


@settings(max_examples=100, deadline=None)
@given(st.integers(MIN_TS, MAX_TS - 1))
def test_format_ts_reads_back_to_the_same_microsecond(us: int) -> None:
    assert parse_ts(format_ts(us)) == us
