"""Tests of windows: snapping spans onto buckets, and series point boundaries."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from rmsewatch import InvalidInputError, Monitor, NotFoundError
from rmsewatch.windows import MAX_SERIES_POINTS, Span, resolve_span

SECOND = 1_000_000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR
T0 = datetime(2024, 3, 1, tzinfo=UTC)
T0_US = 1_709_251_200 * SECOND  # 2024-03-01T00:00:00Z


def at(hours: float) -> str:
    """Return the RFC 3339 time ``hours`` after 2024-03-01T00:00:00Z."""
    return (T0 + timedelta(hours=hours)).isoformat()


def z(hours: float) -> str:
    """Return the same instant as served in replies (``...Z``)."""
    return at(hours).replace("+00:00", "Z")


# --- resolve_span ------------------------------------------------------------------


def test_default_end_is_the_bucket_boundary_just_after_the_clock() -> None:
    span = resolve_span(HOUR, T0_US + 10 * HOUR + 30 * MINUTE, window_us=DAY)

    assert span == Span(T0_US - 13 * HOUR, T0_US + 11 * HOUR)


def test_default_end_includes_the_bucket_that_starts_at_the_clock() -> None:
    span = resolve_span(HOUR, T0_US + 10 * HOUR, window_us=HOUR)

    assert span == Span(T0_US + 10 * HOUR, T0_US + 11 * HOUR)


@pytest.mark.parametrize(
    ("end_us", "snapped"),
    [
        (T0_US + 10 * HOUR, T0_US + 10 * HOUR),  # a boundary stays (exclusive)
        (T0_US + 10 * HOUR + 1, T0_US + 11 * HOUR),  # one microsecond past: up
        (T0_US + 10 * HOUR + 59 * MINUTE, T0_US + 11 * HOUR),
    ],
)
def test_given_end_is_snapped_up_to_a_bucket_boundary(
    end_us: int, snapped: int
) -> None:
    span = resolve_span(HOUR, 0, window_us=2 * HOUR, end_us=end_us)

    assert span == Span(snapped - 2 * HOUR, snapped)


def test_given_end_ignores_the_clock() -> None:
    far_clock = T0_US + 400 * DAY

    span = resolve_span(HOUR, far_clock, window_us=HOUR, end_us=T0_US + HOUR)

    assert span == Span(T0_US, T0_US + HOUR)


def test_given_start_is_snapped_down_to_a_bucket_boundary() -> None:
    span = resolve_span(
        HOUR, 0, start_us=T0_US + 9 * HOUR + 15 * MINUTE, end_us=T0_US + 12 * HOUR
    )

    assert span == Span(T0_US + 9 * HOUR, T0_US + 12 * HOUR)


def test_buckets_of_a_day_snap_on_utc_midnight() -> None:
    span = resolve_span(DAY, T0_US + 5 * HOUR, window_us=7 * DAY)

    assert span == Span(T0_US - 6 * DAY, T0_US + DAY)


def test_window_that_is_not_a_whole_number_of_buckets_is_refused() -> None:
    with pytest.raises(
        InvalidInputError,
        match=re.escape("window: '90m' must be a whole number of 1h buckets"),
    ):
        resolve_span(HOUR, T0_US, window_us=90 * MINUTE)


def test_window_and_start_together_are_refused() -> None:
    with pytest.raises(
        InvalidInputError, match=re.escape("window: '1d' cannot be combined with start")
    ):
        resolve_span(HOUR, T0_US, window_us=DAY, start_us=T0_US - DAY)


def test_neither_window_nor_start_is_refused() -> None:
    with pytest.raises(
        InvalidInputError,
        match=re.escape("window: None is required unless start is given"),
    ):
        resolve_span(HOUR, T0_US)


@pytest.mark.parametrize(
    ("start_us", "end_us", "start_text"),
    [
        (T0_US + 11 * HOUR, T0_US + 11 * HOUR, "2024-03-01T11:00:00Z"),
        (T0_US + 12 * HOUR + MINUTE, T0_US + 11 * HOUR, "2024-03-01T12:01:00Z"),
    ],
)
def test_start_not_before_end_is_refused(
    start_us: int, end_us: int, start_text: str
) -> None:
    with pytest.raises(
        InvalidInputError,
        match=re.escape(f"start: '{start_text}' must be before end"),
    ):
        resolve_span(HOUR, 0, start_us=start_us, end_us=end_us)


def test_start_after_end_inside_one_bucket_is_refused_before_snapping() -> None:
    # Snapped, 10:40..10:20 would become the bucket 10:00..11:00; the request
    # is refused instead of silently widened.
    with pytest.raises(InvalidInputError, match="must be before end"):
        resolve_span(
            HOUR,
            0,
            start_us=T0_US + 10 * HOUR + 40 * MINUTE,
            end_us=T0_US + 10 * HOUR + 20 * MINUTE,
        )


def test_span_describes_itself_as_users_write_times() -> None:
    assert Span(T0_US, T0_US + 36 * HOUR).describe() == {
        "start": "2024-03-01T00:00:00Z",
        "end": "2024-03-02T12:00:00Z",
        "window": "36h",
    }


# --- windows through a Monitor -------------------------------------------------------

# One prediction per hour 0..5, with error k + 1 in hour k (y_pred k + 1, y_true 0).


@pytest.fixture(scope="module")
def hourly() -> Monitor:
    m = Monitor(":memory:")
    m.add_predictions(
        [
            {"prediction_id": f"p{k}", "model": "m", "ts": at(k + 0.5), "y_pred": k + 1}
            for k in range(6)
        ]
    )
    m.add_labels(
        [
            {"prediction_id": f"p{k}", "model": "m", "ts": at(k + 0.75), "y_true": 0}
            for k in range(6)
        ]
    )
    return m


def rmse_of(errors: list[int]) -> float:
    return math.sqrt(sum(e * e for e in errors) / len(errors))


def test_metrics_window_defaults_to_end_just_after_the_clock(hourly: Monitor) -> None:
    window = hourly.metrics("m", window="2h")  # the clock is 05:45

    assert (window["start"], window["end"], window["window"]) == (z(4), z(6), "2h")
    assert window["overall"]["rmse"] == pytest.approx(rmse_of([5, 6]), rel=1e-12)


def test_metrics_window_end_is_exclusive(hourly: Monitor) -> None:
    window = hourly.metrics("m", window="3h", end=at(3))

    assert window["overall"]["predicted"] == 3  # hours 0, 1, 2; not hour 3
    assert window["overall"]["rmse"] == pytest.approx(rmse_of([1, 2, 3]), rel=1e-12)


def test_metrics_window_with_start_covers_whole_buckets(hourly: Monitor) -> None:
    window = hourly.metrics("m", start=at(1.9), end=at(3.1))

    assert (window["start"], window["end"]) == (z(1), z(4))
    assert window["overall"]["rmse"] == pytest.approx(rmse_of([2, 3, 4]), rel=1e-12)


def test_metrics_window_not_a_whole_number_of_buckets_is_refused(
    hourly: Monitor,
) -> None:
    with pytest.raises(
        InvalidInputError,
        match=re.escape("window: '90m' must be a whole number of 1h buckets"),
    ):
        hourly.metrics("m", window="90m")


def test_metrics_of_an_unknown_model_is_not_found(hourly: Monitor) -> None:
    with pytest.raises(
        NotFoundError,
        match=re.escape(
            "model 'x' not found; list the known models with GET /v1/models"
        ),
    ):
        hourly.metrics("x")


def test_series_points_end_every_step_and_look_back_one_window(
    hourly: Monitor,
) -> None:
    series = hourly.series("m", step="2h", window="3h", start=at(2), end=at(6))

    points = series["points"]
    assert [(p["start"], p["end"]) for p in points] == [(z(1), z(4)), (z(3), z(6))]
    assert [p["predicted"] for p in points] == [3, 3]
    assert [p["rmse"] for p in points] == pytest.approx(
        [rmse_of([2, 3, 4]), rmse_of([4, 5, 6])], rel=1e-12
    )
    assert (series["start"], series["end"], series["step"], series["window"]) == (
        z(2),
        z(6),
        "2h",
        "3h",
    )


def test_series_drops_a_last_step_that_would_pass_the_end(hourly: Monitor) -> None:
    points = hourly.series("m", step="2h", start=at(0), end=at(5))["points"]

    assert [p["end"] for p in points] == [z(2), z(4)]
    assert [p["rmse"] for p in points] == pytest.approx(
        [rmse_of([1, 2]), rmse_of([3, 4])], rel=1e-12
    )


def test_series_of_empty_buckets_reports_zero_counts_and_no_metric(
    hourly: Monitor,
) -> None:
    (point,) = hourly.series("m", step="1h", start=at(10), end=at(11))["points"]

    assert (point["predicted"], point["labelled"], point["count"]) == (0, 0, 0)
    assert point["label_coverage"] is None
    assert point["rmse"] is None


def test_series_defaults_to_24_steps_ending_just_after_the_clock(
    hourly: Monitor,
) -> None:
    series = hourly.series("m", step="1h")

    points = series["points"]
    assert len(points) == 24
    assert (series["start"], series["end"]) == (z(-18), z(6))
    assert [p["rmse"] for p in points[-6:]] == pytest.approx(
        [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], rel=1e-12
    )
    assert all(p["predicted"] == 0 for p in points[:-6])


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"step": "30m"}, "step: '30m' must be a whole number of 1h buckets"),
        (
            {"step": "1h", "window": "90m"},
            "window: '90m' must be a whole number of 1h buckets",
        ),
    ],
)
def test_series_step_and_window_must_be_whole_buckets(
    hourly: Monitor, arguments: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidInputError, match=re.escape(message)):
        hourly.series("m", start=at(0), end=at(6), **arguments)


def test_series_step_error_names_the_step_without_start(hourly: Monitor) -> None:
    with pytest.raises(InvalidInputError, match=re.escape("step: '7m'")):
        hourly.series("m", step="7m")


def test_series_with_too_many_points_is_refused(hourly: Monitor) -> None:
    hours = MAX_SERIES_POINTS + 1

    with pytest.raises(
        InvalidInputError,
        match=re.escape(
            f"step: '1h' gives {hours} points; at most {MAX_SERIES_POINTS} are "
            "served, so widen the step or narrow start..end"
        ),
    ):
        hourly.series("m", step="1h", start=at(0), end=at(hours))


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            {"segment": "carrier"},
            "segment: 'carrier' needs its partner: give both segment and value, "
            "or neither",
        ),
        (
            {"value": "AA"},
            "value: 'AA' needs its partner: give both segment and value, or neither",
        ),
    ],
)
def test_series_segment_and_value_come_together(
    hourly: Monitor, arguments: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidInputError, match=re.escape(message)):
        hourly.series("m", **arguments)


def test_window_reaching_before_1970_starts_at_the_epoch() -> None:
    span = resolve_span(HOUR, 2 * HOUR, window_us=10 * HOUR)

    assert span == Span(0, 3 * HOUR)
    assert span.describe()["start"] == "1970-01-01T00:00:00Z"
