"""Objectives evaluated against a store, with figures worked out by hand.

One model, hourly buckets, label TTL 1 day. Hours of 2024-03-01 (UTC):

====  ============================  =======================
hour  errors (prediction - truth)   1h RMSE
====  ============================  =======================
0     1, -1                         1   (good: <= 2)
1     3, -3                         3   (bad)
2     1, -1                         1   (good)
3     1                             -   (no data: 1 < min_count 2)
4     3, -3                         3   (bad)
5     1, -1                         1   (good)
6     one prediction, no label      -   (open: holds the clock)
====  ============================  =======================
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from rmsewatch import Monitor, Settings
from rmsewatch.objectives import parse_objectives
from rmsewatch.sli import alert_windows

DAY = "2024-03-01T"
ERRORS = {0: [1, -1], 1: [3, -3], 2: [1, -1], 3: [1], 4: [3, -3], 5: [1, -1]}


def events(
    labelled: dict[int, list[int]] = ERRORS,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Return the predictions and labels of the table above."""
    predictions, labels = [], []
    for hour, errors in ERRORS.items():
        for k, error in enumerate(errors):
            pid = f"h{hour}-{k}"
            ts = f"{DAY}{hour:02d}:{10 + k:02d}:00Z"
            region = "north" if k == 0 else "south"
            predictions.append(
                {
                    "prediction_id": pid,
                    "model": "m",
                    "ts": ts,
                    "y_pred": 10.0 + error,
                    "segments": {"region": region},
                }
            )
            if k < len(labelled.get(hour, [])):
                labels.append({"prediction_id": pid, "model": "m", "ts": ts,
                               "y_true": 10.0})  # fmt: skip
    predictions.append(
        {"prediction_id": "open", "model": "m", "ts": f"{DAY}06:30:00Z", "y_pred": 1.0}
    )
    return predictions, labels


def _monitor(slos: str, *, labelled: dict[int, list[int]] = ERRORS) -> Monitor:
    m = Monitor(":memory:", Settings.from_text(label_ttl="1d"), parse_objectives(slos))
    predictions, labels = events(labelled)
    assert m.add_predictions(predictions).rejected == 0
    assert m.add_labels(labels).rejected == 0
    return m


THRESHOLD = """
slos:
  - name: hourly-rmse
    model: m
    sli: {kind: rmse_threshold, value: 2, window: 1h, min_count: 2}
    target: 0.9
    time_window: 1d
    alerting:
      page: [{long: 2h, short: 1h, burn_rate: 4}]
      ticket: [{long: 3h, short: 2h, burn_rate: 3}]
"""


def _only(m: Monitor) -> dict[str, Any]:
    (status,) = m.slo_status()
    return status


def test_time_slices_count_good_bad_and_no_data() -> None:
    status = _only(_monitor(THRESHOLD))

    assert (status["start"], status["end"]) == (
        "2024-02-29T06:00:00Z",
        f"{DAY}06:00:00Z",
    )
    final = status["final"]
    assert (final["good"], final["bad"]) == (3, 2)
    assert final["no_data"] == 19  # 18 empty hours of the day before, and hour 3
    assert final["error_ratio"] == pytest.approx(0.4)
    # Burn rate 0.4 / 0.1 = 4 over the whole window: the budget is spent 4 times.
    assert final["budget_remaining"] == pytest.approx(1 - 4, rel=1e-12)
    assert status["last_slice"]["rmse"] == pytest.approx(1.0)


def test_burn_rates_over_each_alert_window_pair() -> None:
    page, ticket = _only(_monitor(THRESHOLD))["alerts"]

    # Page: 2h = hours 4 (bad) and 5 (good): 0.5 / 0.1 = 5 > 4; 1h = hour 5: 0.
    assert page["long_burn_rate"] == pytest.approx(5.0)
    assert page["short_burn_rate"] == 0.0
    assert page["breaching"] is False
    # Ticket: 3h = hours 3 (no data), 4, 5 -> 5; 2h -> 5; both over 3.
    assert ticket["long_burn_rate"] == pytest.approx(5.0)
    assert ticket["short_burn_rate"] == pytest.approx(5.0)
    assert ticket["breaching"] is True


def test_slices_short_of_label_coverage_stay_provisional() -> None:
    # Hour 5 has one of its two labels: coverage 0.5 < 0.9, inside the 1d TTL.
    status = _only(
        _monitor(THRESHOLD.replace("min_count: 2", "min_count: 1"),
                 labelled={**ERRORS, 5: [1]})
    )  # fmt: skip

    assert status["last_slice"]["provisional"] is True
    assert status["last_slice"]["label_coverage"] == 0.5
    # Final leaves hour 5 out; provisional counts it (its one error is 1: good).
    assert (status["final"]["good"], status["final"]["bad"]) == (3, 2)
    assert (status["provisional"]["good"], status["provisional"]["bad"]) == (4, 2)


def test_a_slice_counts_bad_only_when_the_interval_lower_bound_breaches() -> None:
    lenient = THRESHOLD.replace(
        "min_count: 2}", "min_count: 2, confidence: lower_bound}"
    )
    status = _only(_monitor(lenient))
    # Errors 3, -3: MSE 9, E[e^4] 81, spread 0: the interval is [3, 3]; still bad.
    assert (status["final"]["good"], status["final"]["bad"]) == (3, 2)
    loose = lenient.replace("value: 2,", "value: 2.9,")
    assert _only(_monitor(loose))["final"]["bad"] == 2


def test_occurrences_count_predictions_over_the_bound() -> None:
    slos = """
slos:
  - name: abs-error
    model: m
    sli: {kind: abs_error_ratio, bound: 2, min_count: 3}
    target: 0.5
    time_window: 1d
"""
    status = _only(_monitor(slos))

    # 11 labelled errors; |3| four times is over the bound of 2.
    assert (status["final"]["good"], status["final"]["bad"]) == (7, 4)
    assert status["final"]["budget_remaining"] == pytest.approx(1 - (4 / 11) / 0.5)
    page = status["alerts"][0]
    # 1h long window: hour 5 only (2 labelled < min_count 3): no data.
    assert page["long_burn_rate"] is None
    assert page["breaching"] is False


def test_relative_slices_compare_with_the_trailing_baseline() -> None:
    slos = """
slos:
  - name: drift
    model: m
    sli: {kind: relative, window: 1h, max_increase: 0.5, min_count: 2,
          baseline: {trailing: 2h}}
    target: 0.9
    time_window: 1d
"""
    status = _only(_monitor(slos))

    # Hour 1 (RMSE 3) against hour 0 (1): bad. Hour 2 (1) against hours 0-1
    # (sqrt(5)): good. Hour 4 (3) against hours 2-3 (1): bad. Hour 5 (1)
    # against hours 3-4 (sqrt(19/3)): good. Hours 0 and 3: no data.
    assert (status["final"]["good"], status["final"]["bad"]) == (2, 2)
    assert status["last_slice"]["baseline_rmse"] == pytest.approx(math.sqrt(19 / 3))


def test_per_segment_objectives_report_each_value() -> None:
    per_region = THRESHOLD.replace("model: m\n", "model: m\n    per_segment: region\n")
    per_region = per_region.replace("min_count: 2", "min_count: 1")
    status = _only(_monitor(per_region))

    by_value = {s["value"]: s["final"] for s in status["segments"]}
    # North holds errors 1, 3, 1, 1, 3, 1 (one per hour): bad in hours 1 and 4.
    assert (by_value["north"]["good"], by_value["north"]["bad"]) == (4, 2)
    # South holds -1, -3, -1, -3, -1 (no hour 3): bad in hours 1 and 4.
    assert (by_value["south"]["good"], by_value["south"]["bad"]) == (3, 2)


def test_unknown_objective_and_model_without_events() -> None:
    m = Monitor(":memory:", objectives=parse_objectives(THRESHOLD))
    assert m.slo_status() == [
        {"name": "hourly-rmse", "model": "m", "status": "no_events"}
    ]
    with pytest.raises(LookupError, match="objective 'nope' not found"):
        m.slo_status("nope")


def test_sli_window_must_be_whole_buckets_of_the_store() -> None:
    odd = parse_objectives(THRESHOLD.replace("window: 1h", "window: 90m"))
    with pytest.raises(
        ValueError, match=r"slos\[0\]\.sli\.window: '90m' must be a whole number"
    ):
        Monitor(":memory:", objectives=odd)


def test_default_alert_windows_scale_with_the_time_window() -> None:
    one_day = THRESHOLD.split("    alerting:")[0]  # the defaults, time window 1d
    m = _monitor(one_day)

    windows = [
        (severity, w.long_us // 1_000_000, w.short_us // 1_000_000, w.rate)
        for severity, w in alert_windows(m.objectives[0])
    ]

    # 1h/5m, 6h/30m and 3d/6h of 30 days, scaled to 1 day (divided by 30).
    assert windows == [
        ("page", 120, 10, 14.4),
        ("page", 720, 60, 6),
        ("ticket", 8640, 720, 1),
    ]
    page, _, ticket = _only(m)["alerts"]
    assert page["evaluated_over"] == ["1h", "1h"]  # widened to one 1h slice
    assert ticket["evaluated_over"] == ["2h", "1h"]  # 144 min cut to whole slices
    # Hour 5 is good, hour 4 bad: 1 of 2 slices over the 2h ticket window.
    assert ticket["long_burn_rate"] == pytest.approx(5.0)
