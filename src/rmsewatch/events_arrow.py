"""Validating events that arrive as Arrow columns (files, for ``evaluate``).

Every check is a vectorised pass over a column, so files of millions of rows
validate without a Python object per row, by the same rules as the JSON path.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from rmsewatch.errors import InvalidInputError
from rmsewatch.events import (
    LABEL_SCHEMA,
    LIMITS,
    PREDICTION_SCHEMA,
    TS_RANGE_RULE,
    Checker,
    EventBatch,
    Rejection,
    check_not_future,
    check_numbers,
    check_strings,
    default_weight,
    only,
    sorted_rejections,
    string_lengths,
)
from rmsewatch.times import MAX_TS, MIN_TS, US_PER_SECOND, parse_rfc3339, parse_ts

__all__ = [
    "labels_from_table",
    "predictions_from_table",
]


def predictions_from_table(table: pa.Table) -> tuple[EventBatch, list[Rejection]]:
    """Validate prediction rows of an Arrow table by the rules of the JSON path.

    Columns are the event fields (``prediction_id``, ``model``, ``ts``,
    ``y_pred``, and optionally ``model_version``, ``weight`` and ``segments`` as
    a map of strings). Times may be timestamps (naive ones are taken as UTC),
    RFC 3339 strings or epoch seconds. Every check is a vectorised pass over a
    column, so files of millions of rows validate without a Python object per
    row.
    """
    n = table.num_rows
    check = Checker.for_rows(n)
    ids = _table_strings(check, table, "prediction_id", LIMITS.id_length)
    models = _table_strings(check, table, "model", LIMITS.name_length)
    versions = (
        _table_strings(
            check, table, "model_version", LIMITS.name_length, required=False
        )
        if "model_version" in table.column_names
        else pa.array([""] * n, pa.string())
    )
    ts = _table_times(check, table.column("ts"))
    y_pred = _table_numbers(check, table, "y_pred")
    if "weight" in table.column_names:
        weight = _table_numbers(check, table, "weight", required=False)
        weight = default_weight(check, weight, table.column("weight"))
    else:
        weight = np.ones(n)
    segments = (
        _table_segments(check, _map_column(table.column("segments")))
        if "segments" in table.column_names
        else pa.array([[]] * n, pa.map_(pa.string(), pa.string()))
    )

    keep = pa.array(np.flatnonzero(check.ok), pa.int64())
    batch = pa.table(
        {
            "idx": keep,
            "model": models.take(keep),
            "prediction_id": ids.take(keep),
            "version": versions.take(keep).fill_null(""),
            "ts": pa.array(ts[check.ok].astype("datetime64[us]")),
            "y_pred": pa.array(y_pred[check.ok]),
            "weight": pa.array(weight[check.ok]),
            "segments": segments.take(keep),
            "features": pa.nulls(len(keep), pa.string()),
        },
        schema=PREDICTION_SCHEMA,
    )
    return EventBatch("predictions", batch, n), sorted_rejections(check)


def labels_from_table(table: pa.Table) -> tuple[EventBatch, list[Rejection]]:
    """Validate label rows of an Arrow table (see :func:`predictions_from_table`)."""
    n = table.num_rows
    check = Checker.for_rows(n)
    ids = _table_strings(check, table, "prediction_id", LIMITS.id_length)
    models = _table_strings(check, table, "model", LIMITS.name_length)
    ts = _table_times(check, table.column("ts"))
    y_true = _table_numbers(check, table, "y_true")

    keep = pa.array(np.flatnonzero(check.ok), pa.int64())
    batch = pa.table(
        {
            "idx": keep,
            "model": models.take(keep),
            "prediction_id": ids.take(keep),
            "ts": pa.array(ts[check.ok].astype("datetime64[us]")),
            "y_true": pa.array(y_true[check.ok]),
        },
        schema=LABEL_SCHEMA,
    )
    return EventBatch("labels", batch, n), sorted_rejections(check)


def _table_strings(
    check: Checker,
    table: pa.Table,
    field: str,
    max_length: int,
    *,
    required: bool = True,
) -> pa.Array[Any]:
    column = table.column(field).combine_chunks()
    if not pa.types.is_string(column.type) and not pa.types.is_large_string(
        column.type
    ):
        column = column.cast(pa.string())
    check_strings(check, field, column, column, max_length, required=required)
    return column


def _table_numbers(
    check: Checker, table: pa.Table, field: str, *, required: bool = True
) -> NDArray[np.float64]:
    column = table.column(field).combine_chunks()
    present = np.asarray(pc.is_valid(column).to_numpy(zero_copy_only=False))
    if required:
        check.reject(~present, field, column, "is required")
    if not (pa.types.is_integer(column.type) or pa.types.is_floating(column.type)):
        check.reject(present, field, column, "must be a number")
        return np.full(len(column), np.nan)
    numbers = np.asarray(
        column.cast(pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64
    )
    check_numbers(check, field, numbers, present, column)
    return numbers


def _table_times(check: Checker, chunked: pa.ChunkedArray[Any]) -> NDArray[np.int64]:
    column = chunked.combine_chunks()
    present = np.asarray(pc.is_valid(column).to_numpy(zero_copy_only=False))
    check.reject(~present, "ts", column, "is required")
    kind = column.type
    us: NDArray[np.int64] | None = None
    if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
        as_us = pc.cast(column, pa.timestamp("us", tz="UTC"), safe=False)
        us = np.asarray(pc.cast(as_us, pa.int64()).fill_null(0).to_numpy())
    elif pa.types.is_integer(kind) or pa.types.is_floating(kind):
        seconds = np.asarray(column.cast(pa.float64()).fill_null(0.0).to_numpy())
        with np.errstate(invalid="ignore", over="ignore"):
            inside = np.isfinite(seconds) & (np.abs(seconds) < MAX_TS / US_PER_SECOND)
        check.reject(present & ~inside, "ts", column, TS_RANGE_RULE)
        us = np.round(np.where(inside, seconds, 0.0) * US_PER_SECOND).astype(np.int64)
    elif pa.types.is_string(kind) or pa.types.is_large_string(kind):
        try:
            us = parse_rfc3339(column.fill_null("1970-01-01T00:00:00Z"))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            us = np.zeros(len(column), dtype=np.int64)
            for i in np.flatnonzero(check.ok & present).tolist():
                try:
                    us[i] = parse_ts(column[i].as_py())
                except InvalidInputError as exc:
                    check.reject(only(i, len(column)), "ts", column, exc.rule)
    else:
        check.reject(present, "ts", column, "must be a time, a string or a number")
        return np.zeros(len(column), dtype=np.int64)
    check.reject(
        present & ((us < MIN_TS) | (us >= MAX_TS)), "ts", column, TS_RANGE_RULE
    )
    check_not_future(check, us, column)
    return us


def _map_column(column: pa.ChunkedArray[Any]) -> pa.MapArray[Any, Any]:
    combined = column.combine_chunks()
    if not isinstance(combined, pa.MapArray):
        raise InvalidInputError(
            "segments", str(combined.type), "must be a map of strings to strings"
        )
    return combined


def _table_segments(
    check: Checker, segments: pa.MapArray[Any, Any]
) -> pa.MapArray[Any, Any]:
    """Apply the segment rules to a map column without a Python object per row."""
    offsets = np.asarray(segments.offsets.to_numpy())
    entries = np.diff(offsets)
    check.reject(
        entries > LIMITS.segments,
        "segments",
        segments,
        f"must have at most {LIMITS.segments} entries",
    )
    row_of_entry = np.repeat(np.arange(len(segments)), entries)
    for part, low, limit, rule in (
        (segments.keys, 1, LIMITS.name_length, "names must be 1 to 128 characters"),
        (segments.items, 0, LIMITS.segment_length, "values must be at most 256 chars"),
    ):
        lengths = string_lengths(part)
        bad_rows = np.zeros(len(segments), dtype=bool)
        bad_rows[row_of_entry[(lengths < low) | (lengths > limit)]] = True
        check.reject(bad_rows, "segments", segments, rule)
    return segments
