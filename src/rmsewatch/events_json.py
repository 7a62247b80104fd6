"""Validating events that arrive as JSON objects (the HTTP API).

Field values are gathered column by column from the parsed objects, checked
for their JSON type one by one (the only per-event Python step), then held to
the rules of :mod:`rmsewatch.events` with vectorised checks.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from rmsewatch.errors import InvalidInputError
from rmsewatch.events import (
    LABEL_FIELDS,
    LABEL_SCHEMA,
    LIMITS,
    PREDICTION_FIELDS,
    PREDICTION_SCHEMA,
    UNICODE_RULE,
    Checker,
    EventBatch,
    Rejection,
    UnparsedEvent,
    check_not_future,
    check_numbers,
    check_strings,
    default_weight,
    is_unicode,
    json_safe,
    only,
    sorted_rejections,
)
from rmsewatch.times import MAX_TS, MIN_TS, US_PER_SECOND, parse_rfc3339, parse_ts

__all__ = [
    "parse_labels",
    "parse_predictions",
]


def parse_predictions(records: Sequence[Any]) -> tuple[EventBatch, list[Rejection]]:
    """Validate prediction events; return the valid ones and the rejections."""
    check = Checker(records)
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
    return EventBatch("predictions", table, len(records)), sorted_rejections(check)


def parse_labels(records: Sequence[Any]) -> tuple[EventBatch, list[Rejection]]:
    """Validate label events; return the valid ones and the rejections."""
    check = Checker(records)
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
    return EventBatch("labels", table, len(records)), sorted_rejections(check)


def _check_objects(check: Checker, fields: tuple[str, ...]) -> None:
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
    check: Checker, field: str, max_length: int, *, required: bool = False
) -> pa.Array[Any]:
    values = check.column(field)
    wrong_type = _per_element(values, lambda v: v is None or isinstance(v, str))
    check.reject(wrong_type, field, values, "must be a string")
    broken = _per_element(values, lambda v: not isinstance(v, str) or is_unicode(v))
    check.reject(broken, field, values, UNICODE_RULE)
    clean = [v if isinstance(v, str) and is_unicode(v) else None for v in values]
    array = pa.array(clean, pa.string())
    check_strings(check, field, array, values, max_length, required=required)
    return array


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _number_column(
    check: Checker, field: str, *, required: bool = False
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
    check_numbers(check, field, numbers, ~absent & ~wrong, values)
    return numbers


def _as_float(value: int | float) -> float:
    """Return a JSON number as a float; an integer past float64's range is clamped.

    Clamped to the largest float64, it then breaks the magnitude rule.
    """
    try:
        return float(value)
    except OverflowError:
        largest = float(np.finfo(np.float64).max)
        return largest if value > 0 else -largest


def _weight_column(check: Checker) -> NDArray[np.float64]:
    weight = _number_column(check, "weight")
    return default_weight(check, weight, check.column("weight"))


def _ts_column(check: Checker) -> NDArray[np.int64]:
    us = _parse_ts_column(check)
    check_not_future(check, us, check.column("ts"))
    return us


def _parse_ts_column(check: Checker) -> NDArray[np.int64]:
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
            check.reject(only(i, len(values)), "ts", values, exc.rule)
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


def _segments_column(check: Checker) -> pa.Array[Any]:
    values = check.column("segments")
    clean: list[list[tuple[str, str]] | None] = [None] * len(values)
    for i in np.flatnonzero(check.ok).tolist():
        segments = values[i]
        if segments is None:
            clean[i] = []
            continue
        rule = _segments_rule(segments)
        if rule:
            check.reject(only(i, len(values)), "segments", values, rule)
        else:
            clean[i] = sorted(segments.items())
    return pa.array(clean, pa.map_(pa.string(), pa.string()))


def _segments_rule(segments: Any) -> str:
    if not isinstance(segments, dict):
        return "must be a JSON object of segment names to string values"
    if len(segments) > LIMITS.segments:
        return f"must have at most {LIMITS.segments} entries"
    for name, value in segments.items():
        if not is_unicode(name) or (isinstance(value, str) and not is_unicode(value)):
            return UNICODE_RULE
        if not name or len(name) > LIMITS.name_length:
            return f"names must be 1 to {LIMITS.name_length} characters"
        if not isinstance(value, str):
            return f"value of {name!r} must be a string"
        if len(value) > LIMITS.segment_length:
            return f"value of {name!r} must be at most {LIMITS.segment_length} chars"
    return ""


def _features_column(check: Checker) -> pa.Array[Any]:
    values = check.column("features")
    encoded: list[str | None] = [None] * len(values)
    for i in np.flatnonzero(check.ok).tolist():
        features = values[i]
        if features is None:
            continue
        if not isinstance(features, dict):
            check.reject(only(i, len(values)), "features", values, "must be an object")
            continue
        try:
            text = json.dumps(
                features, sort_keys=True, separators=(",", ":"), allow_nan=False
            )
        except ValueError:
            check.reject(
                only(i, len(values)),
                "features",
                ["<object>"] * len(values),
                "must not hold NaN or Infinity (they are not JSON)",
            )
            continue
        if len(text) > LIMITS.features_bytes:
            check.reject(
                only(i, len(values)),
                "features",
                ["<object>"] * len(values),
                f"must encode to at most {LIMITS.features_bytes} bytes of JSON",
            )
            continue
        encoded[i] = text
    return pa.array(encoded, pa.string())
