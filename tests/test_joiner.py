"""Tests of the label joiner through Monitor, every figure worked out by hand.

Each test builds a small history on 2024-03-01 (``at(minutes)`` is that many
minutes after midnight UTC), feeds it through a Monitor and reads the windows
back. Errors are ``y_pred - y_true`` and count in the bucket of the
prediction's event time.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from rmsewatch import Monitor, Settings

DAY = 24 * 60
T0 = datetime(2024, 3, 1, tzinfo=UTC)


def at(minutes: float) -> str:
    """Return the RFC 3339 time ``minutes`` after 2024-03-01T00:00:00Z."""
    return (T0 + timedelta(minutes=minutes)).isoformat()


def pred(pid: str, minutes: float, y_pred: Any, **extra: Any) -> dict[str, Any]:
    event = {"prediction_id": pid, "model": "m", "ts": at(minutes), "y_pred": y_pred}
    return event | extra


def label(pid: str, minutes: float, y_true: float) -> dict[str, Any]:
    return {"prediction_id": pid, "model": "m", "ts": at(minutes), "y_true": y_true}


def monitor(
    *, label_ttl: str = "7d", orphan_ttl: str = "7d", label_policy: str = "first"
) -> Monitor:
    return Monitor(
        ":memory:",
        Settings.from_text(
            label_ttl=label_ttl, orphan_ttl=orphan_ttl, label_policy=label_policy
        ),
    )


def hour(m: Monitor, first_minute: int = 0) -> dict[str, Any]:
    """Return the overall figures of the 1h bucket starting at ``first_minute``."""
    figures: dict[str, Any] = m.metrics("m", window="1h", end=at(first_minute + 60))[
        "overall"
    ]
    return figures


def counts(result: Any) -> dict[str, int]:
    """Return the counts of an IngestResult, without the rejection list."""
    reply: dict[str, Any] = result.as_dict()
    return {k: v for k, v in reply.items() if k != "rejections"}


def ingest_counts(
    accepted: int = 0,
    duplicates: int = 0,
    rejected: int = 0,
    joined: int = 0,
    orphaned: int = 0,
    repeated: int = 0,
    corrected: int = 0,
) -> dict[str, int]:
    return {
        "accepted": accepted,
        "duplicates": duplicates,
        "rejected": rejected,
        "joined": joined,
        "orphaned": orphaned,
        "repeated": repeated,
        "corrected": corrected,
    }


# Three predictions in the first hour; a and b get labels, c never does.
# a: 3 - 1 = 2, b: 5 - 4 = 1.  MSE (4 + 1) / 2 = 2.5, MAE 1.5, bias 1.5.
# y_true = (1, 4): mean 2.5, SST 4.5, so R² = 1 - 5 / 4.5 = -1/9.
PREDICTIONS = [
    pred("a", 10, 3.0, segments={"carrier": "AA"}),
    pred("b", 20, 5.0, segments={"carrier": "UA"}),
    pred("c", 30, 0.0, segments={"carrier": "AA"}),
]
LABELS = [label("a", 40, 1.0), label("b", 50, 4.0)]


def assert_hand_figures(m: Monitor) -> None:
    window = m.metrics("m", window="1h", end=at(60), segment="carrier")
    overall = window["overall"]
    assert overall["predicted"] == 3
    assert overall["labelled"] == 2
    assert overall["label_coverage"] == pytest.approx(2 / 3, rel=1e-12)
    assert overall["count"] == 2
    assert overall["mse"] == pytest.approx(2.5, rel=1e-12)
    assert overall["rmse"] == pytest.approx(math.sqrt(2.5), rel=1e-12)
    assert overall["mae"] == pytest.approx(1.5, rel=1e-12)
    assert overall["mean_error"] == pytest.approx(1.5, rel=1e-12)
    assert overall["r2_score"] == pytest.approx(-1 / 9, rel=1e-12)
    by_value = {s["value"]: s for s in window["segments"]}
    assert sorted(by_value) == ["AA", "UA"]
    assert (by_value["AA"]["predicted"], by_value["AA"]["labelled"]) == (2, 1)
    assert by_value["AA"]["rmse"] == pytest.approx(2.0, rel=1e-12)
    assert (by_value["UA"]["predicted"], by_value["UA"]["labelled"]) == (1, 1)
    assert by_value["UA"]["rmse"] == pytest.approx(1.0, rel=1e-12)


# --- arrival order ------------------------------------------------------------------


def test_labels_after_predictions_give_the_hand_computed_figures() -> None:
    m = monitor()

    stored = m.add_predictions(PREDICTIONS)
    joined = m.add_labels(LABELS)

    assert counts(stored) == ingest_counts(accepted=3)
    assert counts(joined) == ingest_counts(accepted=2, joined=2)
    assert_hand_figures(m)


def test_labels_before_predictions_wait_as_orphans_then_give_the_same_figures() -> None:
    m = monitor()

    waiting = m.add_labels(LABELS)
    assert counts(waiting) == ingest_counts(accepted=2, orphaned=2)
    assert m.labels("m")["orphans_waiting"] == 2

    stored = m.add_predictions(PREDICTIONS)

    assert counts(stored) == ingest_counts(accepted=3, joined=2)
    assert m.labels("m")["orphans_waiting"] == 0
    assert m.labels("m")["orphans_expired"] == 0
    assert_hand_figures(m)


# --- duplicate and conflicting predictions ----------------------------------------


def test_identical_prediction_again_is_a_duplicate_and_changes_nothing() -> None:
    m = monitor()
    m.add_predictions(PREDICTIONS)
    m.add_labels(LABELS)

    again = m.add_predictions([PREDICTIONS[0], PREDICTIONS[1]])

    assert counts(again) == ingest_counts(duplicates=2)
    assert_hand_figures(m)


def test_prediction_id_again_with_other_fields_is_rejected_naming_the_id() -> None:
    m = monitor()
    m.add_predictions(PREDICTIONS)
    m.add_labels(LABELS)

    changed = m.add_predictions([pred("c", 45, 9.0), pred("a", 10, 30.0)])

    assert counts(changed) == ingest_counts(rejected=2)
    rejections = changed.as_dict()["rejections"]
    assert [(r["index"], r["field"], r["value"]) for r in rejections] == [
        (0, "prediction_id", "c"),
        (1, "prediction_id", "a"),
    ]
    assert "was stored before with different fields" in rejections[1]["reason"]
    assert_hand_figures(m)


def test_same_id_twice_in_one_batch_with_other_values_keeps_the_first() -> None:
    m = monitor()

    result = m.add_predictions(
        [pred("a", 10, 3.0), pred("a", 10, 4.0), pred("a", 10, 3.0)]
    )
    m.add_labels([label("a", 20, 1.0)])

    assert counts(result) == ingest_counts(accepted=1, duplicates=1, rejected=1)
    (rejection,) = result.as_dict()["rejections"]
    assert rejection == {
        "index": 1,
        "field": "prediction_id",
        "value": "a",
        "reason": "appears at index 0 of this batch with different fields",
    }
    assert hour(m)["rmse"] == pytest.approx(2.0, rel=1e-12)


def test_prediction_spelled_with_another_offset_is_the_same_prediction() -> None:
    m = monitor()
    m.add_predictions([pred("a", 70, 3.0)])

    again = m.add_predictions(
        [
            {
                "prediction_id": "a",
                "model": "m",
                "ts": "2024-03-01T02:10:00+01:00",
                "y_pred": 3.0,
            }
        ]
    )

    assert counts(again) == ingest_counts(duplicates=1)


# --- several labels for one prediction ------------------------------------------


def test_first_policy_keeps_the_label_with_the_earliest_label_time() -> None:
    m = monitor(label_policy="first")
    m.add_predictions([pred("a", 10, 10.0)])

    first = m.add_labels([label("a", 120, 7.0)])
    earlier = m.add_labels([label("a", 60, 4.0)])
    later = m.add_labels([label("a", 180, 0.0)])

    assert counts(first) == ingest_counts(accepted=1, joined=1)
    assert counts(earlier) == ingest_counts(accepted=1, corrected=1)
    assert counts(later) == ingest_counts(accepted=1, repeated=1)
    figures = hour(m)
    assert (figures["labelled"], figures["count"]) == (1, 1)
    assert figures["rmse"] == pytest.approx(6.0, rel=1e-12)  # 10 - 4
    assert figures["mean_error"] == pytest.approx(6.0, rel=1e-12)
    assert m.labels("m")["corrected_labels"] == 1


def test_last_policy_keeps_the_label_with_the_latest_label_time() -> None:
    m = monitor(label_policy="last")
    m.add_predictions([pred("a", 10, 10.0)])

    first = m.add_labels([label("a", 120, 7.0)])
    later = m.add_labels([label("a", 180, 9.0)])
    earlier = m.add_labels([label("a", 60, 4.0)])

    assert counts(first) == ingest_counts(accepted=1, joined=1)
    assert counts(later) == ingest_counts(accepted=1, corrected=1)
    assert counts(earlier) == ingest_counts(accepted=1, repeated=1)
    figures = hour(m)
    assert (figures["labelled"], figures["count"]) == (1, 1)
    assert figures["rmse"] == pytest.approx(1.0, rel=1e-12)  # 10 - 9
    assert m.labels("m")["corrected_labels"] == 1


def test_labels_in_one_batch_are_chosen_by_label_time_not_position() -> None:
    batch = [label("a", 120, 7.0), label("a", 60, 4.0), label("a", 180, 9.0)]
    first, last = monitor(label_policy="first"), monitor(label_policy="last")
    for m in (first, last):
        m.add_predictions([pred("a", 10, 10.0)])

    first_result = first.add_labels(batch)
    last_result = last.add_labels(batch)

    assert counts(first_result) == ingest_counts(accepted=3, joined=1, repeated=2)
    assert counts(last_result) == ingest_counts(accepted=3, joined=1, repeated=2)
    assert hour(first)["rmse"] == pytest.approx(6.0, rel=1e-12)  # label at 01:00
    assert hour(last)["rmse"] == pytest.approx(1.0, rel=1e-12)  # label at 03:00


# Ties on label time are broken by value, never by arrival: "first" keeps the
# smaller y_true (5, error 10 - 5), "last" the larger (7, error 10 - 7).
TIES = [("first", 5.0), ("last", 3.0)]


@pytest.mark.parametrize(("policy", "expected_rmse"), TIES)
@pytest.mark.parametrize("values", [(7.0, 5.0), (5.0, 7.0)])
def test_label_time_ties_go_to_the_value_the_policy_picks_in_any_order(
    policy: str, expected_rmse: float, values: tuple[float, float]
) -> None:
    m = monitor(label_policy=policy)
    m.add_predictions([pred("a", 10, 10.0)])

    m.add_labels([label("a", 60, values[0]), label("a", 60, values[1])])

    assert hour(m)["rmse"] == pytest.approx(expected_rmse, rel=1e-12)


@pytest.mark.parametrize(("policy", "expected_rmse"), TIES)
@pytest.mark.parametrize("values", [(7.0, 5.0), (5.0, 7.0)])
def test_tied_orphan_labels_go_to_the_value_the_policy_picks_in_any_order(
    policy: str, expected_rmse: float, values: tuple[float, float]
) -> None:
    m = monitor(label_policy=policy)
    m.add_labels([label("a", 60, values[0])])
    m.add_labels([label("a", 60, values[1])])

    m.add_predictions([pred("a", 10, 10.0)])

    assert hour(m)["rmse"] == pytest.approx(expected_rmse, rel=1e-12)


def test_identical_label_again_is_a_duplicate() -> None:
    m = monitor()
    m.add_predictions([pred("a", 10, 10.0)])
    m.add_labels([label("a", 60, 7.0)])

    again = m.add_labels([label("a", 60, 7.0), label("a", 60, 7.0)])

    assert counts(again) == ingest_counts(duplicates=2)
    assert hour(m)["rmse"] == pytest.approx(3.0, rel=1e-12)
    assert m.labels("m")["duplicate_labels"] == 2


@pytest.mark.parametrize("policy", ["first", "last"])
def test_resending_a_whole_label_batch_changes_no_figure(policy: str) -> None:
    m = monitor(label_policy=policy)
    m.add_predictions([*PREDICTIONS, pred("d", 15, 2.0)])
    batch = [
        *LABELS,
        label("d", 90, 1.0),
        label("d", 30, 0.0),
        label("a", 45, 2.0),
        label("ghost", 50, 1.0),
    ]
    m.add_labels(batch)
    before = m.metrics("m", window="1h", end=at(60), segment="carrier")
    before_labels = m.labels("m")

    again = m.add_labels(batch)

    assert again.as_dict()["joined"] == 0
    assert again.as_dict()["corrected"] == 0
    assert again.as_dict()["orphaned"] == 0
    assert m.metrics("m", window="1h", end=at(60), segment="carrier") == before
    after_labels = m.labels("m")
    assert after_labels["orphans_waiting"] == before_labels["orphans_waiting"] == 1
    assert after_labels["corrected_labels"] == before_labels["corrected_labels"]


def test_resending_labels_that_tie_on_time_changes_no_figure_under_last() -> None:
    m = monitor(label_policy="last")
    m.add_predictions([pred("a", 10, 3.0)])
    batch = [label("a", 60, 1.0), label("a", 60, 2.0)]
    m.add_labels(batch)
    assert hour(m)["rmse"] == pytest.approx(1.0, rel=1e-12)  # 3 - 2, larger value

    m.add_labels(batch)

    assert hour(m)["rmse"] == pytest.approx(1.0, rel=1e-12)


# --- orphans ------------------------------------------------------------------


def test_orphan_whose_prediction_never_comes_expires_after_the_orphan_ttl() -> None:
    m = monitor(orphan_ttl="1d")
    m.add_labels([label("ghost", 0, 5.0)])
    m.add_predictions([pred("x", DAY, 1.0)])  # clock - ttl == orphan ts: kept

    kept = m.labels("m")
    assert (kept["orphans_waiting"], kept["orphans_expired"]) == (1, 0)

    m.add_predictions([pred("y", DAY + 1, 1.0)])  # one minute past the TTL

    gone = m.labels("m")
    assert (gone["orphans_waiting"], gone["orphans_expired"]) == (0, 1)
    late = m.add_predictions([pred("ghost", DAY + 2, 8.0)])
    assert late.as_dict()["joined"] == 0
    assert m.metrics("m", window="1h", end=at(DAY + 60))["overall"]["labelled"] == 0


def test_orphan_already_past_its_ttl_on_the_event_clock_is_rejected() -> None:
    m = monitor(orphan_ttl="1d")
    m.add_predictions([pred("x", 3 * DAY, 1.0)])  # the clock is already 3 days on

    result = m.add_labels([label("ghost", 0, 5.0)]).as_dict()

    assert (result["orphaned"], result["accepted"], result["rejected"]) == (0, 0, 1)
    assert result["rejections"][0]["field"] == "prediction_id"
    assert (
        "older than the orphan TTL (1d) on the model's clock"
        in (result["rejections"][0]["reason"])
    )
    report = m.labels("m")
    assert (report["orphans_waiting"], report["orphans_expired"]) == (0, 0)


# --- label timing -----------------------------------------------------------------


def test_label_eight_days_late_joins_moves_its_old_bucket_and_counts_late() -> None:
    m = monitor(label_ttl="7d")
    m.add_predictions([pred("a", 10, 3.0), pred("b", 20, 5.0)])
    m.add_labels([label("a", 40, 1.0)])  # a: error 2
    m.add_predictions([pred("z", 8 * DAY, 0.0)])
    assert hour(m)["rmse"] == pytest.approx(2.0, rel=1e-12)
    assert m.labels("m", window="30d")["missing"] == 1  # b, 8 days unlabelled

    result = m.add_labels([label("b", 8 * DAY + 20, 1.0)])  # b: error 4

    assert counts(result) == ingest_counts(accepted=1, joined=1)
    figures = hour(m)
    assert (figures["labelled"], figures["count"]) == (2, 2)
    assert figures["rmse"] == pytest.approx(math.sqrt((4 + 16) / 2), rel=1e-12)
    report = m.labels("m", window="30d")
    assert (report["late"], report["missing"], report["labelled"]) == (1, 0, 2)
    assert report["latency_seconds"]["max"] == pytest.approx(8 * 86_400, rel=1e-12)


def test_label_exactly_one_ttl_after_its_prediction_is_not_late() -> None:
    m = monitor(label_ttl="1d")
    m.add_predictions([pred("a", 10, 3.0)])

    m.add_labels([label("a", DAY + 10, 1.0)])

    assert m.labels("m")["late"] == 0


def test_label_timestamped_before_its_prediction_counts_as_skewed_and_joins() -> None:
    m = monitor()
    m.add_predictions([pred("a", 30, 3.0), pred("b", 40, 2.0)])

    result = m.add_labels([label("a", 25, 1.0), label("b", 50, 2.0)])

    assert result.as_dict()["joined"] == 2
    report = m.labels("m")
    assert (report["skewed"], report["labelled"]) == (1, 2)
    assert report["latency_seconds"]["mean"] == pytest.approx(
        (-300 + 600) / 2, rel=1e-12
    )
    assert hour(m)["rmse"] == pytest.approx(math.sqrt(4 / 2), rel=1e-12)


def test_latency_quantiles_interpolate_between_label_delays() -> None:
    m = monitor()
    m.add_predictions([pred("a", 0, 1.0), pred("b", 0, 1.0), pred("c", 0, 1.0)])

    m.add_labels([label("a", 1, 1.0), label("b", 2, 1.0), label("c", 5, 1.0)])

    # Delays 60, 120, 300 s: p90 and p99 lie 0.8 and 0.98 of the way from 120 to 300.
    assert m.labels("m")["latency_seconds"] == pytest.approx(
        {"p50": 120.0, "p90": 264.0, "p99": 296.4, "mean": 160.0, "max": 300.0},
        rel=1e-12,
    )


def test_unlabelled_predictions_are_pending_until_the_label_ttl_then_missing() -> None:
    m = monitor(label_ttl="1d")
    m.add_predictions(
        [
            pred("old", 0, 1.0),  # two days before the clock: missing
            pred("edge", DAY, 1.0),  # exactly one TTL before the clock: pending
            pred("new", 2 * DAY, 1.0),  # the clock itself: pending
            pred("done", 0, 1.0),
        ]
    )
    m.add_labels([label("done", 30, 1.0)])

    report = m.labels("m", window="7d")

    assert (report["predicted"], report["labelled"]) == (4, 1)
    assert (report["pending"], report["missing"]) == (2, 1)
    assert report["missing_rate"] == pytest.approx(1 / 2, rel=1e-12)


def test_a_label_moves_the_clock_and_turns_pending_into_missing() -> None:
    m = monitor(label_ttl="1d")
    m.add_predictions([pred("a", 0, 1.0), pred("b", 10, 1.0)])
    assert m.labels("m")["pending"] == 2

    m.add_labels([label("b", 2 * DAY, 1.0)])

    report = m.labels("m")
    assert (report["pending"], report["missing"], report["late"]) == (0, 1, 1)


# --- batches and buckets -----------------------------------------------------------


def test_batch_with_one_bad_event_stores_the_good_ones() -> None:
    m = monitor()

    result = m.add_predictions(
        [pred("a", 10, 3.0), pred("b", 20, "4"), pred("c", 30, 5.0)]
    )
    m.add_labels([label("a", 40, 1.0), label("b", 40, 1.0), label("c", 40, 1.0)])

    assert counts(result) == ingest_counts(accepted=2, rejected=1)
    assert result.as_dict()["rejections"] == [
        {"index": 1, "field": "y_pred", "value": "4", "reason": "must be a JSON number"}
    ]
    figures = hour(m)
    assert (figures["predicted"], figures["labelled"]) == (2, 2)
    assert figures["rmse"] == pytest.approx(math.sqrt((4 + 16) / 2), rel=1e-12)
    assert m.labels("m")["orphans_waiting"] == 1  # b's label has no prediction


def test_rmse_over_buckets_pools_squared_errors_rather_than_averaging_rmse() -> None:
    m = monitor()
    m.add_predictions(
        [pred("a", 10, 2.0), pred("b", 20, 2.0), pred("c", 70, 1.0), pred("d", 80, 1.0)]
    )
    m.add_labels([label(p, 90, 0.0) for p in "abcd"])

    day = m.metrics("m", window="24h", end=at(120))["overall"]
    points = m.series("m", step="1h", start=at(0), end=at(120))["points"]

    assert day["rmse"] == pytest.approx(math.sqrt(2.5), rel=1e-12)  # not 1.5
    assert [p["rmse"] for p in points] == pytest.approx([2.0, 1.0], rel=1e-12)
    assert [p["start"] for p in points] == [
        "2024-03-01T00:00:00Z",
        "2024-03-01T01:00:00Z",
    ]


def test_errors_count_in_the_bucket_of_the_prediction_not_of_the_label() -> None:
    m = monitor()
    m.add_predictions([pred("a", 59, 4.0)])

    m.add_labels([label("a", 61, 1.0)])

    assert hour(m, 0)["rmse"] == pytest.approx(3.0, rel=1e-12)
    assert hour(m, 60)["predicted"] == 0
    assert hour(m, 60)["rmse"] is None


def test_rejected_prediction_does_not_move_the_model_clock() -> None:
    m = monitor()
    m.add_predictions([pred("a", 10, 3.0)])

    m.add_predictions([pred("a", 400 * DAY, 4.0)])

    assert m.models()[0]["clock"] == "2024-03-01T00:10:00Z"
