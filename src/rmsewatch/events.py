"""Prediction and label events: their fields, and validation of whole batches.

A batch arrives as a list of JSON objects (HTTP) or as an Arrow table (files).
Validation works column by column with vectorised checks, so its cost does not
grow with a Python object per event beyond the JSON parse itself. Each event
that breaks a rule becomes a :class:`Rejection` naming its index in the batch,
the field, the value and the rule; the valid events of the same batch go on.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from rmsewatch.errors import InvalidInputError
from rmsewatch.times import MAX_TS, MIN_TS, US_PER_SECOND, parse_rfc3339, parse_ts

__all__ = [
    "LABEL_FIELDS",
    "LIMITS",
    "PREDICTION_FIELDS",
    "EventBatch",
    "Rejection",
    "UnparsedEvent",
    "json_safe",
    "labels_from_table",
    "parse_labels",
    "parse_predictions",
    "predictions_from_table",
]

Kind = Literal["predictions", "labels"]

PREDICTION_FIELDS = (
    "prediction_id",
    "model",
    "model_version",
    "ts",
    "y_pred",
    "segments",
    "features",
    "weight",
)
LABEL_FIELDS = ("prediction_id", "model", "ts", "y_true")


@dataclass(frozen=True)
class Limits:
    """Sizes past which an event is rejected rather than stored."""

    id_length: int = 256
    name_length: int = 128
    segments: int = 16
    segment_length: int = 256
    features_bytes: int = 16_384
    # Bounds on |y| and on weights that keep every sum the statistics hold,
    # up to weight * error**4 over billions of rows, inside float64.
    magnitude: float = 1e50
    # How far past the server's clock an event time may lie: further is almost
    # always a unit or clock mistake, and would drag the model clock along.
    future_us: int = 86_400_000_000


LIMITS = Limits()
_TS_RANGE_RULE = "must lie between 1970-01-01 and 2200-01-01 (UTC)"

_PREDICTION_FIELDS: list[tuple[str, pa.DataType]] = [
    ("idx", pa.int64()),
    ("model", pa.string()),
    ("prediction_id", pa.string()),
    ("version", pa.string()),
    ("ts", pa.timestamp("us")),
    ("y_pred", pa.float64()),
    ("weight", pa.float64()),
    ("segments", pa.map_(pa.string(), pa.string())),
    ("features", pa.string()),
]
_LABEL_FIELDS: list[tuple[str, pa.DataType]] = [
    ("idx", pa.int64()),
    ("model", pa.string()),
    ("prediction_id", pa.string()),
    ("ts", pa.timestamp("us")),
    ("y_true", pa.float64()),
]
PREDICTION_SCHEMA = pa.schema(_PREDICTION_FIELDS)
LABEL_SCHEMA = pa.schema(_LABEL_FIELDS)


@dataclass(frozen=True)
class UnparsedEvent:
    """Stands in a batch for a line of NDJSON that is not valid JSON."""

    text: str
    reason: str


@dataclass(frozen=True)
class Rejection:
    """One event that was not stored, and why."""

    index: int
    field: str
    value: Any
    reason: str

    def as_dict(self) -> dict[str, Any]:
        """Return the JSON form used in ingest replies."""
        return {
            "index": self.index,
            "field": self.field,
            "value": json_safe(self.value),
            "reason": self.reason,
        }


@dataclass(frozen=True)
class EventBatch:
    """The valid events of one batch as an Arrow table, in arrival order.

    ``table`` follows ``PREDICTION_SCHEMA`` or ``LABEL_SCHEMA``; its ``idx``
    column is each event's position in the batch as received.
    """

    kind: Kind
    table: pa.Table
    received: int

    def __len__(self) -> int:
        return int(self.table.num_rows)


class _Checker:
    """Collects rejections and the mask of events still valid."""

    def __init__(self, records: Sequence[Any]) -> None:
        self.records = records
        self.ok = np.ones(len(records), dtype=bool)
        self.rejections: list[Rejection] = []

    @classmethod
    def for_rows(cls, rows: int) -> _Checker:
        """Return a checker for a table of ``rows`` rows (no JSON records)."""
        check = cls(())
        check.ok = np.ones(rows, dtype=bool)
        return check

    def reject(
        self, bad: NDArray[np.bool_], field: str, values: Any, rule: str
    ) -> None:
        for i in np.flatnonzero(bad & self.ok).tolist():
            value = values[i]
            if isinstance(value, pa.Scalar):
                value = value.as_py()
            self.rejections.append(Rejection(i, field, value, rule))
        self.ok &= ~bad

    def column(self, field: str) -> list[Any]:
        return [r.get(field) if isinstance(r, dict) else None for r in self.records]


def parse_predictions(records: Sequence[Any]) -> tuple[EventBatch, list[Rejection]]:
    """Validate prediction events; return the valid ones and the rejections."""
    check = _Checker(records)
    _check_objects(check, PREDICTION_FIELDS)
    ids = _string_column(check, "prediction_id", LIMITS.id_length, required=True)
    models = _string_column(check, "model", LIMITS.name_length, required=True)
    versions = _string_column(check, "model_version", LIMITS.name_length)
    ts = _ts_column(check)
    y_pred = _number_column(check, "y_pred", required=True)
    weight = _weight_column(check)
    segments = _segments_column(check)
    features = _features_column(check)

    keep = np.flatnonzero(check.ok)
    table = pa.table(
        {
            "idx": pa.array(keep, pa.int64()),
            "model": models.take(keep),
            "prediction_id": ids.take(keep),
            "version": versions.take(keep).fill_null(""),
            "ts": pa.array(ts[keep].astype("datetime64[us]")),
            "y_pred": pa.array(y_pred[keep]),
            "weight": pa.array(weight[keep]),
            "segments": segments.take(keep),
            "features": features.take(keep),
        },
        schema=PREDICTION_SCHEMA,
    )
    return EventBatch("predictions", table, len(records)), _sorted(check)


def parse_labels(records: Sequence[Any]) -> tuple[EventBatch, list[Rejection]]:
    """Validate label events; return the valid ones and the rejections."""
    check = _Checker(records)
    _check_objects(check, LABEL_FIELDS)
    ids = _string_column(check, "prediction_id", LIMITS.id_length, required=True)
    models = _string_column(check, "model", LIMITS.name_length, required=True)
    ts = _ts_column(check)
    y_true = _number_column(check, "y_true", required=True)

    keep = np.flatnonzero(check.ok)
    table = pa.table(
        {
            "idx": pa.array(keep, pa.int64()),
            "model": models.take(keep),
            "prediction_id": ids.take(keep),
            "ts": pa.array(ts[keep].astype("datetime64[us]")),
            "y_true": pa.array(y_true[keep]),
        },
        schema=LABEL_SCHEMA,
    )
    return EventBatch("labels", table, len(records)), _sorted(check)


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
    check = _Checker.for_rows(n)
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
        weight = _default_weight(check, weight, table.column("weight"))
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
    return EventBatch("predictions", batch, n), _sorted(check)


def labels_from_table(table: pa.Table) -> tuple[EventBatch, list[Rejection]]:
    """Validate label rows of an Arrow table (see :func:`predictions_from_table`)."""
    n = table.num_rows
    check = _Checker.for_rows(n)
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
    return EventBatch("labels", batch, n), _sorted(check)


def _table_strings(
    check: _Checker,
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
    _check_strings(check, field, column, column, max_length, required=required)
    return column


def _table_numbers(
    check: _Checker, table: pa.Table, field: str, *, required: bool = True
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
    _check_numbers(check, field, numbers, present, column)
    return numbers


def _table_times(check: _Checker, chunked: pa.ChunkedArray[Any]) -> NDArray[np.int64]:
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
        check.reject(present & ~inside, "ts", column, _TS_RANGE_RULE)
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
                    check.reject(_only(i, len(column)), "ts", column, exc.rule)
    else:
        check.reject(present, "ts", column, "must be a time, a string or a number")
        return np.zeros(len(column), dtype=np.int64)
    check.reject(
        present & ((us < MIN_TS) | (us >= MAX_TS)), "ts", column, _TS_RANGE_RULE
    )
    return us


def _lengths(array: pa.Array[Any]) -> NDArray[np.int64]:
    """Return the length in characters of each string (0 for a null)."""
    strings = cast(pa.StringArray, array.cast(pa.string()))
    return np.asarray(pc.utf8_length(strings).fill_null(0).to_numpy(), np.int64)


def _map_column(column: pa.ChunkedArray[Any]) -> pa.MapArray[Any, Any]:
    combined = column.combine_chunks()
    if not isinstance(combined, pa.MapArray):
        raise InvalidInputError(
            "segments", str(combined.type), "must be a map of strings to strings"
        )
    return combined


def _table_segments(
    check: _Checker, segments: pa.MapArray[Any, Any]
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
        lengths = _lengths(part)
        bad_rows = np.zeros(len(segments), dtype=bool)
        bad_rows[row_of_entry[(lengths < low) | (lengths > limit)]] = True
        check.reject(bad_rows, "segments", segments, rule)
    return segments


def _sorted(check: _Checker) -> list[Rejection]:
    return sorted(check.rejections, key=lambda r: r.index)


def _check_objects(check: _Checker, fields: tuple[str, ...]) -> None:
    allowed = frozenset(fields)
    unparsed = np.array([isinstance(r, UnparsedEvent) for r in check.records], bool)
    for i in np.flatnonzero(unparsed).tolist():
        event = check.records[i]
        check.rejections.append(Rejection(int(i), "event", event.text, event.reason))
    check.ok &= ~unparsed
    not_object = np.array([not isinstance(r, dict) for r in check.records], bool)
    check.reject(not_object, "event", check.records, "each event must be a JSON object")
    for i in np.flatnonzero(check.ok).tolist():
        unknown = sorted(set(check.records[i]) - allowed)
        if unknown:
            check.rejections.append(
                Rejection(
                    int(i),
                    json_safe(unknown[0]),
                    check.records[i][unknown[0]],
                    f"is not a field of this event; allowed: {', '.join(fields)}",
                )
            )
            check.ok[i] = False


def _per_element(values: list[Any], test: Callable[[Any], bool]) -> NDArray[np.bool_]:
    return np.fromiter((not test(v) for v in values), dtype=bool, count=len(values))


def _string_column(
    check: _Checker, field: str, max_length: int, *, required: bool = False
) -> pa.Array[Any]:
    values = check.column(field)
    wrong_type = _per_element(values, lambda v: v is None or isinstance(v, str))
    check.reject(wrong_type, field, values, "must be a string")
    broken = _per_element(values, lambda v: not isinstance(v, str) or _is_unicode(v))
    check.reject(broken, field, values, _UNICODE_RULE)
    clean = [v if isinstance(v, str) and _is_unicode(v) else None for v in values]
    array = pa.array(clean, pa.string())
    _check_strings(check, field, array, values, max_length, required=required)
    return array


_UNICODE_RULE = "must be valid Unicode (it holds a lone surrogate escape)"


def _is_unicode(text: str) -> bool:
    """Whether a string can be stored as UTF-8 (JSON may carry lone surrogates)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_strings(
    check: _Checker,
    field: str,
    array: pa.Array[Any],
    shown: Any,
    max_length: int,
    *,
    required: bool,
) -> None:
    """Apply the presence and length rules to a string column."""
    missing = np.asarray(pc.is_null(array).to_numpy(zero_copy_only=False))
    if required:
        check.reject(missing, field, shown, "is required")
    lengths = _lengths(array)
    if required:
        check.reject(lengths == 0, field, shown, "must not be empty")
    check.reject(
        lengths > max_length, field, shown, f"must be at most {max_length} characters"
    )
    if field == "model":
        # Model names are path segments of the read endpoints.
        unfit = pc.match_substring_regex(array, r"[/\x00-\x1f\x7f]").fill_null(False)
        check.reject(
            np.asarray(unfit.to_numpy(zero_copy_only=False), dtype=bool),
            field,
            shown,
            "must not contain '/' or control characters",
        )


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _number_column(
    check: _Checker, field: str, *, required: bool = False
) -> NDArray[np.float64]:
    values = check.column(field)
    absent = np.array([v is None for v in values], dtype=bool)
    if required:
        check.reject(absent, field, values, "is required")
    wrong = _per_element(values, lambda v: v is None or _is_number(v))
    check.reject(wrong, field, values, "must be a JSON number")
    numbers = np.array(
        [_as_float(v) if _is_number(v) else np.nan for v in values], dtype=np.float64
    )
    _check_numbers(check, field, numbers, ~absent & ~wrong, values)
    return numbers


def _check_numbers(
    check: _Checker,
    field: str,
    numbers: NDArray[np.float64],
    present: NDArray[np.bool_],
    shown: Any,
) -> None:
    """Apply the finiteness and magnitude rules to the present numbers."""
    with np.errstate(invalid="ignore"):
        check.reject(present & ~np.isfinite(numbers), field, shown, "must be finite")
        check.reject(
            present & (np.abs(numbers) > LIMITS.magnitude),
            field,
            shown,
            f"must be at most {LIMITS.magnitude:g} in magnitude "
            "(larger values overflow the error sums)",
        )


def _as_float(value: int | float) -> float:
    """Return a JSON number as a float; an integer past float64's range is clamped.

    Clamped to the largest float64, it then breaks the magnitude rule.
    """
    try:
        return float(value)
    except OverflowError:
        largest = float(np.finfo(np.float64).max)
        return largest if value > 0 else -largest


def _weight_column(check: _Checker) -> NDArray[np.float64]:
    weight = _number_column(check, "weight")
    return _default_weight(check, weight, check.column("weight"))


def _default_weight(
    check: _Checker, weight: NDArray[np.float64], shown: Any
) -> NDArray[np.float64]:
    """Reject negative weights; an absent weight (NaN here) is 1."""
    absent = np.isnan(weight)
    with np.errstate(invalid="ignore"):
        negative = ~absent & (weight < 0)
    check.reject(negative, "weight", shown, "must not be negative")
    return np.where(absent, 1.0, weight)


def _check_not_future(check: _Checker, us: NDArray[np.int64], shown: Any) -> None:
    """Reject event times more than a day past the server's clock."""
    limit = int(time.time() * US_PER_SECOND) + LIMITS.future_us
    check.reject(
        us > limit,
        "ts",
        shown,
        "lies more than 1 day after the server's current time; send the time "
        "the prediction was made or the truth observed",
    )


def _ts_column(check: _Checker) -> NDArray[np.int64]:
    us = _parse_ts_column(check)
    _check_not_future(check, us, check.column("ts"))
    return us


def _parse_ts_column(check: _Checker) -> NDArray[np.int64]:
    values = check.column("ts")
    out = np.zeros(len(values), dtype=np.int64)
    absent = np.array([v is None for v in values], dtype=bool)
    check.reject(absent, "ts", values, "is required")
    fast = _ts_fast_path(values, check.ok)
    if fast is not None:
        return fast
    for i in np.flatnonzero(check.ok).tolist():
        try:
            out[i] = parse_ts(values[i])
        except InvalidInputError as exc:
            check.reject(_only(i, len(values)), "ts", values, exc.rule)
    return out


def _ts_fast_path(values: list[Any], ok: NDArray[np.bool_]) -> NDArray[np.int64] | None:
    """Parse a column of all-string or all-number times in one vectorised call.

    Returns None when the column is mixed or any value is out of range, so the
    per-event path can name the offending ones.
    """
    chosen = [values[i] for i in np.flatnonzero(ok)]
    try:
        if all(isinstance(v, str) for v in chosen):
            us = parse_rfc3339(pa.array(chosen, pa.string()))
        elif all(_is_number(v) for v in chosen):
            seconds = np.array(chosen, dtype=np.float64)
            finite = np.isfinite(seconds)
            if not (finite.all() and np.all(np.abs(seconds) < MAX_TS / US_PER_SECOND)):
                return None
            us = np.round(seconds * US_PER_SECOND).astype(np.int64)
        else:
            return None
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OverflowError):
        return None
    if len(us) and (us.min() < MIN_TS or us.max() >= MAX_TS):
        return None
    out = np.zeros(len(values), dtype=np.int64)
    out[ok] = us
    return out


def _only(i: int, n: int) -> NDArray[np.bool_]:
    mask = np.zeros(n, dtype=bool)
    mask[i] = True
    return mask


def _segments_column(check: _Checker) -> pa.Array[Any]:
    values = check.column("segments")
    clean: list[list[tuple[str, str]] | None] = [None] * len(values)
    for i in np.flatnonzero(check.ok).tolist():
        segments = values[i]
        if segments is None:
            clean[i] = []
            continue
        rule = _segments_rule(segments)
        if rule:
            check.reject(_only(i, len(values)), "segments", values, rule)
        else:
            clean[i] = sorted(segments.items())
    return pa.array(clean, pa.map_(pa.string(), pa.string()))


def _segments_rule(segments: Any) -> str:
    if not isinstance(segments, dict):
        return "must be a JSON object of segment names to string values"
    if len(segments) > LIMITS.segments:
        return f"must have at most {LIMITS.segments} entries"
    for name, value in segments.items():
        if not _is_unicode(name) or (isinstance(value, str) and not _is_unicode(value)):
            return _UNICODE_RULE
        if not name or len(name) > LIMITS.name_length:
            return f"names must be 1 to {LIMITS.name_length} characters"
        if not isinstance(value, str):
            return f"value of {name!r} must be a string"
        if len(value) > LIMITS.segment_length:
            return f"value of {name!r} must be at most {LIMITS.segment_length} chars"
    return ""


def _features_column(check: _Checker) -> pa.Array[Any]:
    values = check.column("features")
    encoded: list[str | None] = [None] * len(values)
    for i in np.flatnonzero(check.ok).tolist():
        features = values[i]
        if features is None:
            continue
        if not isinstance(features, dict):
            check.reject(_only(i, len(values)), "features", values, "must be an object")
            continue
        try:
            text = json.dumps(
                features, sort_keys=True, separators=(",", ":"), allow_nan=False
            )
        except ValueError:
            check.reject(
                _only(i, len(values)),
                "features",
                ["<object>"] * len(values),
                "must not hold NaN or Infinity (they are not JSON)",
            )
            continue
        if len(text) > LIMITS.features_bytes:
            check.reject(
                _only(i, len(values)),
                "features",
                ["<object>"] * len(values),
                f"must encode to at most {LIMITS.features_bytes} bytes of JSON",
            )
            continue
        encoded[i] = text
    return pa.array(encoded, pa.string())


def json_safe(value: Any) -> Any:
    """Return a value fit to echo in a JSON reply: finite, UTF-8, and short."""
    if isinstance(value, float) and not np.isfinite(value):
        return str(value)
    if isinstance(value, str) and not _is_unicode(value):
        value = value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, str) and len(value) > 200:
        return value[:200] + "..."
    if isinstance(value, int) and abs(value) > 10**20:
        return f"<integer of {len(str(abs(value)))} digits>"
    if isinstance(value, dict | list):
        text = json.dumps(value, default=str)  # escapes surrogates, NaN as NaN
        if len(text) > 200 or "NaN" in text or "Infinity" in text:
            return "<" + type(value).__name__ + ">"
    return value
