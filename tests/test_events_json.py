"""Tests of event validation: each rule, its message, and the batch around it.

A rejected event is reported with its index in the batch, the field, the value
and the rule it broke; the valid events of the same batch are kept. Python
dicts can carry values JSON cannot (NaN, infinities, huge integers), so those
are checked here too.
"""

from __future__ import annotations

import math
import re
from typing import Any

import pyarrow as pa
import pytest

from rmsewatch import InvalidInputError, Monitor, Settings
from rmsewatch.events import LABEL_FIELDS, PREDICTION_FIELDS, UnparsedEvent
from rmsewatch.events_json import parse_labels, parse_predictions

TS = "2024-03-01T00:10:00Z"
TS_US = 1_709_251_800_000_000


def prediction(**fields: Any) -> dict[str, Any]:
    """Return a valid prediction event, changed by ``fields`` (None deletes)."""
    event: dict[str, Any] = {
        "prediction_id": "p1",
        "model": "m",
        "ts": TS,
        "y_pred": 3.0,
    }
    event.update(fields)
    return {k: v for k, v in event.items() if v is not None}


def label(**fields: Any) -> dict[str, Any]:
    """Return a valid label event, changed by ``fields`` (None deletes)."""
    event: dict[str, Any] = {"prediction_id": "p1", "model": "m", "ts": TS}
    event["y_true"] = 1.0
    event.update(fields)
    return {k: v for k, v in event.items() if v is not None}


def only_rejection(records: list[Any], *, labels: bool = False) -> dict[str, Any]:
    """Validate one bad event and return its single rejection as JSON."""
    batch, rejections = (parse_labels if labels else parse_predictions)(records)
    assert len(batch) == len(records) - 1
    (rejection,) = rejections
    reply: dict[str, Any] = rejection.as_dict()
    return reply


def assert_rejected(
    event: dict[str, Any], field: str, reason: str, *, labels: bool = False
) -> dict[str, Any]:
    """Check that ``event`` alone is rejected on ``field`` with ``reason``."""
    rejection = only_rejection([event], labels=labels)
    assert rejection["index"] == 0
    assert rejection["field"] == field
    assert re.fullmatch(reason, rejection["reason"]), rejection["reason"]
    return rejection


# --- required fields and types -----------------------------------------------------


@pytest.mark.parametrize("field", ["prediction_id", "model", "ts", "y_pred"])
def test_prediction_without_a_required_field_is_rejected(field: str) -> None:
    assert_rejected(prediction(**{field: None}), field, "is required")


@pytest.mark.parametrize("field", ["prediction_id", "model", "ts", "y_true"])
def test_label_without_a_required_field_is_rejected(field: str) -> None:
    assert_rejected(label(**{field: None}), field, "is required", labels=True)


@pytest.mark.parametrize("value", ["3.0", True, False, [3.0], {"v": 3.0}])
def test_y_pred_that_is_not_a_json_number_is_rejected(value: Any) -> None:
    rejection = assert_rejected(
        prediction(y_pred=value), "y_pred", "must be a JSON number"
    )
    assert rejection["value"] == value


def test_y_true_given_as_a_string_is_rejected() -> None:
    assert_rejected(label(y_true="1"), "y_true", "must be a JSON number", labels=True)


@pytest.mark.parametrize("field", ["prediction_id", "model", "model_version"])
def test_names_that_are_not_strings_are_rejected(field: str) -> None:
    assert_rejected(prediction(**{field: 7}), field, "must be a string")


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_values_are_rejected_and_reported_as_text(value: float) -> None:
    rejection = assert_rejected(prediction(y_pred=value), "y_pred", "must be finite")
    assert rejection["value"] == str(value)  # the reply stays valid JSON


def test_nan_y_true_is_rejected() -> None:
    assert_rejected(label(y_true=math.nan), "y_true", "must be finite", labels=True)


@pytest.mark.parametrize("value", [1.0000001e50, -2e50, 10**51, 1e200])
def test_values_above_1e50_in_magnitude_are_rejected(value: float) -> None:
    assert_rejected(
        prediction(y_pred=value),
        "y_pred",
        re.escape(
            "must be at most 1e+50 in magnitude (larger values overflow the error sums)"
        ),
    )


def test_values_of_exactly_1e50_are_accepted() -> None:
    batch, rejections = parse_predictions([prediction(y_pred=1e50)])

    assert rejections == []
    assert batch.table.column("y_pred").to_pylist() == [1e50]


def test_integer_too_large_for_a_float_is_rejected_not_raised() -> None:
    assert_rejected(prediction(y_pred=10**400), "y_pred", "must be at most .*")


def test_ts_integer_too_large_for_a_float_is_rejected_not_raised() -> None:
    assert_rejected(prediction(ts=10**400), "ts", "must lie between .*")


# --- weights, ids and unknown fields -----------------------------------------------


def test_negative_weight_is_rejected() -> None:
    assert_rejected(prediction(weight=-0.5), "weight", "must not be negative")


def test_zero_weight_is_accepted_and_absent_weight_counts_one() -> None:
    batch, rejections = parse_predictions(
        [prediction(weight=0), prediction(prediction_id="p2")]
    )

    assert rejections == []
    assert batch.table.column("weight").to_pylist() == [0.0, 1.0]


def test_weight_given_as_a_string_is_rejected() -> None:
    assert_rejected(prediction(weight="2"), "weight", "must be a JSON number")


def test_unknown_field_is_rejected_naming_the_allowed_fields() -> None:
    rejection = assert_rejected(
        prediction(y_true=1.0),
        "y_true",
        re.escape(
            "is not a field of this event; allowed: prediction_id, model, "
            "model_version, ts, y_pred, segments, features, weight"
        ),
    )
    assert rejection["value"] == 1.0
    assert ", ".join(PREDICTION_FIELDS) in rejection["reason"]


def test_label_with_a_prediction_field_is_rejected() -> None:
    assert_rejected(
        label(y_pred=1.0),
        "y_pred",
        re.escape(f"is not a field of this event; allowed: {', '.join(LABEL_FIELDS)}"),
        labels=True,
    )


def test_empty_prediction_id_is_rejected() -> None:
    assert_rejected(prediction(prediction_id=""), "prediction_id", "must not be empty")


def test_empty_model_version_is_accepted_as_no_version() -> None:
    batch, rejections = parse_predictions([prediction(model_version="")])

    assert rejections == []
    assert batch.table.column("version").to_pylist() == [""]


def test_prediction_id_of_256_characters_is_accepted_and_257_rejected() -> None:
    batch, rejections = parse_predictions(
        [prediction(prediction_id="x" * 256), prediction(prediction_id="y" * 257)]
    )

    assert len(batch) == 1
    (rejection,) = rejections
    assert rejection.index == 1
    assert rejection.reason == "must be at most 256 characters"
    assert rejection.as_dict()["value"] == "y" * 200 + "..."  # shortened in replies


def test_model_name_over_128_characters_is_rejected() -> None:
    assert_rejected(
        prediction(model="m" * 129), "model", "must be at most 128 characters"
    )


def test_event_that_is_not_an_object_is_rejected() -> None:
    rejection = only_rejection([prediction(), ["p2", "m"]])

    assert rejection == {
        "index": 1,
        "field": "event",
        "value": ["p2", "m"],
        "reason": "each event must be a JSON object",
    }


def test_unparsed_line_is_rejected_with_its_own_reason() -> None:
    rejection = only_rejection(
        [UnparsedEvent("{oops", "is not valid JSON: line 1"), prediction()]
    )

    assert rejection == {
        "index": 0,
        "field": "event",
        "value": "{oops",
        "reason": "is not valid JSON: line 1",
    }


# --- times -------------------------------------------------------------------------


@pytest.mark.parametrize("ts", ["2024-03-01T00:10:00", "2024-03-01", "yesterday"])
def test_ts_without_an_offset_or_unreadable_is_rejected(ts: str) -> None:
    assert_rejected(
        prediction(ts=ts),
        "ts",
        re.escape(
            "is not an RFC 3339 time with a UTC offset (e.g. 2013-03-01T06:00:00Z)"
        ),
    )


@pytest.mark.parametrize(
    "ts", ["1969-12-31T23:59:59Z", "2200-01-01T00:00:00Z", -1, 7_258_118_400]
)
def test_ts_before_1970_or_from_2200_is_rejected(ts: str | int) -> None:
    assert_rejected(
        prediction(ts=ts),
        "ts",
        re.escape("must lie between 1970-01-01 and 2200-01-01 (UTC)"),
    )


@pytest.mark.parametrize("ts", [True, [TS], {"at": TS}])
def test_ts_of_another_type_is_rejected(ts: Any) -> None:
    assert_rejected(
        prediction(ts=ts),
        "ts",
        "must be an RFC 3339 time with an offset or epoch seconds",
    )


def test_ts_nan_seconds_is_rejected() -> None:
    assert_rejected(prediction(ts=math.nan), "ts", "must be a finite number of seconds")


@pytest.mark.parametrize(
    "ts",
    [
        1_709_251_800,
        1_709_251_800.0,
        "2024-03-01T00:10:00Z",
        "2024-03-01T01:10:00+01:00",
        "2024-02-29T19:10:00-05:00",
    ],
)
def test_epoch_seconds_and_offsets_name_the_same_instant(ts: str | float) -> None:
    batch, rejections = parse_predictions([prediction(ts=ts)])

    assert rejections == []
    assert batch.table.column("ts").cast(pa.int64()).to_pylist() == [TS_US]


def test_mixed_spellings_of_ts_in_one_batch_are_all_read() -> None:
    batch, rejections = parse_predictions(
        [
            prediction(prediction_id="a", ts=1_709_251_800.25),
            prediction(prediction_id="b", ts="2024-03-01T00:10:00.5Z"),
            prediction(prediction_id="c", ts="1960-01-01T00:00:00Z"),
        ]
    )

    assert [r.index for r in rejections] == [2]
    assert batch.table.column("ts").cast(pa.int64()).to_pylist() == [
        TS_US + 250_000,
        TS_US + 500_000,
    ]


# --- segments and features ---------------------------------------------------------


@pytest.mark.parametrize("segments", [["carrier", "AA"], "AA", 3])
def test_segments_that_are_not_an_object_are_rejected(segments: Any) -> None:
    assert_rejected(
        prediction(segments=segments),
        "segments",
        "must be a JSON object of segment names to string values",
    )


@pytest.mark.parametrize("value", [1, None, True, ["AA"]])
def test_segment_value_that_is_not_a_string_is_rejected(value: Any) -> None:
    assert_rejected(
        prediction(segments={"origin": "JFK", "carrier": value}),
        "segments",
        re.escape("value of 'carrier' must be a string"),
    )


def test_segment_name_empty_is_rejected() -> None:
    assert_rejected(
        prediction(segments={"": "AA"}),
        "segments",
        "names must be 1 to 128 characters",
    )


def test_more_than_16_segments_are_rejected() -> None:
    assert_rejected(
        prediction(segments={f"s{k}": "v" for k in range(17)}),
        "segments",
        "must have at most 16 entries",
    )


def test_segment_value_over_256_characters_is_rejected() -> None:
    assert_rejected(
        prediction(segments={"carrier": "A" * 257}),
        "segments",
        re.escape("value of 'carrier' must be at most 256 chars"),
    )


def test_segments_are_stored_sorted_by_name() -> None:
    batch, _ = parse_predictions([prediction(segments={"z": "1", "a": "2"})])

    assert batch.table.column("segments").to_pylist() == [[("a", "2"), ("z", "1")]]


@pytest.mark.parametrize("features", [[1, 2], "x=1", 3.0])
def test_features_that_are_not_an_object_are_rejected(features: Any) -> None:
    assert_rejected(prediction(features=features), "features", "must be an object")


def test_features_over_16384_bytes_of_json_are_rejected_without_echoing() -> None:
    rejection = assert_rejected(
        prediction(features={"text": "x" * 16_400}),
        "features",
        "must encode to at most 16384 bytes of JSON",
    )
    assert rejection["value"] == "<object>"


def test_features_are_stored_as_canonical_json() -> None:
    batch, _ = parse_predictions([prediction(features={"b": 1, "a": [1.5, "x"]})])

    assert batch.table.column("features").to_pylist() == ['{"a":[1.5,"x"],"b":1}']


# --- whole batches -----------------------------------------------------------------


def test_rejections_name_each_events_position_and_the_rest_survive() -> None:
    records: list[Any] = [
        prediction(prediction_id="a"),
        prediction(prediction_id="b", y_pred="x"),
        prediction(prediction_id="c"),
        prediction(prediction_id="d", ts="2024-03-01"),
        prediction(prediction_id="e", weight=-1),
        prediction(prediction_id="f"),
    ]

    batch, rejections = parse_predictions(records)

    assert [(r.index, r.field) for r in rejections] == [
        (1, "y_pred"),
        (3, "ts"),
        (4, "weight"),
    ]
    assert batch.table.column("prediction_id").to_pylist() == ["a", "c", "f"]
    assert batch.table.column("idx").to_pylist() == [0, 2, 5]
    assert batch.received == 6


def test_event_with_several_faults_is_rejected_once() -> None:
    _, rejections = parse_predictions([prediction(prediction_id="", y_pred="x")])

    assert [(r.field, r.reason) for r in rejections] == [
        ("prediction_id", "must not be empty")
    ]


def test_monitor_stores_the_valid_events_of_a_batch_with_bad_ones() -> None:
    m = Monitor(":memory:")

    result = m.add_predictions(
        [prediction(prediction_id="a"), {"y_pred": 1.0}, prediction(prediction_id="b")]
    ).as_dict()

    assert (result["accepted"], result["rejected"]) == (2, 1)
    assert [(r["index"], r["field"]) for r in result["rejections"]] == [
        (1, "prediction_id")
    ]
    assert m.metrics("m", window="1h")["overall"]["predicted"] == 2


def test_monitor_refuses_a_batch_over_the_limit_as_a_whole() -> None:
    m = Monitor(":memory:", Settings(max_batch=2))

    with pytest.raises(
        InvalidInputError,
        match=re.escape(
            "events: '3 events' exceeds the batch limit of 2; split the batch "
            "(or raise --max-batch)"
        ),
    ):
        m.add_labels([label(), label(), label()])


def test_rejections_echo_values_short_and_safe() -> None:
    _, rejections = parse_predictions(
        [prediction(y_pred=10**400), prediction(**{"x" * 300: 1})]
    )

    assert rejections[0].as_dict()["value"] == "<integer of 401 digits>"
    assert rejections[1].as_dict()["field"] == "x" * 200 + "..."
