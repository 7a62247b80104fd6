"""Validating Arrow columns (files) by the same rules as JSON events."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pytest

from rmsewatch.events_arrow import labels_from_table, predictions_from_table

TS = datetime(2024, 3, 1, 0, 10, tzinfo=UTC)
TS_US = 1_709_251_800_000_000


def _predictions(**columns: pa.Array[Any]) -> pa.Table:
    base: dict[str, pa.Array[Any]] = {
        "prediction_id": pa.array(["a", "b", "c"]),
        "model": pa.array(["m"] * 3),
        "ts": pa.array([TS] * 3, pa.timestamp("us", tz="UTC")),
        "y_pred": pa.array([1.0, 2.0, 3.0]),
    }
    base.update(columns)
    return pa.table(base)


def test_valid_columns_become_a_batch_with_their_positions() -> None:
    batch, rejections = predictions_from_table(_predictions())

    assert rejections == []
    table = batch.table
    assert table.column("idx").to_pylist() == [0, 1, 2]
    assert table.column("ts").cast(pa.int64()).to_pylist() == [TS_US] * 3
    assert table.column("weight").to_pylist() == [1.0, 1.0, 1.0]
    assert table.column("version").to_pylist() == ["", "", ""]


def test_naive_timestamps_and_epoch_seconds_are_utc() -> None:
    naive = pa.array([TS.replace(tzinfo=None)] * 3, pa.timestamp("ns"))
    seconds = pa.array([TS_US / 1e6] * 3)
    for ts in (naive, seconds):
        batch, rejections = predictions_from_table(_predictions(ts=ts))
        assert rejections == []
        assert batch.table.column("ts").cast(pa.int64()).to_pylist() == [TS_US] * 3


def test_each_bad_row_is_rejected_with_its_field_and_rule() -> None:
    table = _predictions(
        prediction_id=pa.array(["a", None, "c"]),
        y_pred=pa.array([1.0, 2.0, float("inf")]),
        weight=pa.array([1.0, -1.0, 1.0]),
    )

    batch, rejections = predictions_from_table(table)

    assert [(r.index, r.field, r.reason) for r in rejections] == [
        (1, "prediction_id", "is required"),
        (2, "y_pred", "must be finite"),
    ]
    assert batch.table.column("prediction_id").to_pylist() == ["a"]


def test_text_in_a_number_column_is_rejected_row_by_row() -> None:
    batch, rejections = labels_from_table(
        pa.table(
            {
                "prediction_id": ["a", "b"],
                "model": ["m", "m"],
                "ts": pa.array([TS] * 2, pa.timestamp("us", tz="UTC")),
                "y_true": ["1.5", None],
            }
        )
    )

    assert [(r.index, r.field, r.value, r.reason) for r in rejections] == [
        (0, "y_true", "1.5", "must be a number"),
        (1, "y_true", None, "is required"),
    ]
    assert len(batch) == 0


def test_string_times_parse_or_name_the_bad_row() -> None:
    ts = pa.array(["2024-03-01T00:10:00Z", "yesterday", "2024-03-01T01:10:00+01:00"])

    batch, rejections = predictions_from_table(_predictions(ts=ts))

    assert [(r.index, r.field) for r in rejections] == [(1, "ts")]
    assert "is not an RFC 3339 time" in rejections[0].reason
    assert batch.table.column("ts").cast(pa.int64()).to_pylist() == [TS_US] * 2


def test_times_far_in_the_future_are_refused() -> None:
    future = pa.array([datetime(2190, 1, 1, tzinfo=UTC)] * 3, pa.timestamp("us", "UTC"))

    _, rejections = predictions_from_table(_predictions(ts=future))

    assert {r.reason for r in rejections} == {
        "lies more than 1 day after the server's current time; send the time the "
        "prediction was made or the truth observed"
    }


def test_segment_values_over_the_limit_reject_their_row() -> None:
    segments = pa.array(
        [[("region", "north")], [("region", "x" * 257)], []],
        pa.map_(pa.string(), pa.string()),
    )

    batch, rejections = predictions_from_table(_predictions(segments=segments))

    assert [(r.index, r.field, r.reason) for r in rejections] == [
        (1, "segments", "values must be at most 256 chars")
    ]
    assert len(batch) == 2


@pytest.mark.parametrize("kind", [pa.bool_(), pa.binary()])
def test_time_columns_of_other_types_are_refused(kind: pa.DataType) -> None:
    values = [True] * 3 if kind == pa.bool_() else [b"x"] * 3
    _, rejections = predictions_from_table(_predictions(ts=pa.array(values, kind)))
    assert {r.reason for r in rejections} == {"must be a time, a string or a number"}
