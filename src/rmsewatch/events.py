"""Prediction and label events: their fields, batches, rejections and rules.

A batch arrives as a list of JSON objects (HTTP, :mod:`rmsewatch.events_json`)
or as Arrow columns (files, :mod:`rmsewatch.events_arrow`). Both readers apply
the rules defined here, column by column with vectorised checks. Each event
that breaks a rule becomes a :class:`Rejection` naming its index in the batch,
the field, the value and the rule; the valid events of the same batch go on.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from rmsewatch.times import US_PER_SECOND

__all__ = [
    "LABEL_FIELDS",
    "LIMITS",
    "PREDICTION_FIELDS",
    "EventBatch",
    "Rejection",
    "UnparsedEvent",
    "json_safe",
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


TS_RANGE_RULE = "must lie between 1970-01-01 and 2200-01-01 (UTC)"


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


class Checker:
    """Collects rejections and the mask of events still valid."""

    def __init__(self, records: Sequence[Any]) -> None:
        self.records = records
        self.ok = np.ones(len(records), dtype=bool)
        self.rejections: list[Rejection] = []

    @classmethod
    def for_rows(cls, rows: int) -> Checker:
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


def string_lengths(array: pa.Array[Any]) -> NDArray[np.int64]:
    """Return the length in characters of each string (0 for a null)."""
    strings = cast(pa.StringArray, array.cast(pa.string()))
    return np.asarray(pc.utf8_length(strings).fill_null(0).to_numpy(), np.int64)


def sorted_rejections(check: Checker) -> list[Rejection]:
    return sorted(check.rejections, key=lambda r: r.index)


UNICODE_RULE = "must be valid Unicode (it holds a lone surrogate escape)"


def is_unicode(text: str) -> bool:
    """Whether a string can be stored as UTF-8 (JSON may carry lone surrogates)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_strings(
    check: Checker,
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
    lengths = string_lengths(array)
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


def check_numbers(
    check: Checker,
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


def default_weight(
    check: Checker, weight: NDArray[np.float64], shown: Any
) -> NDArray[np.float64]:
    """Reject negative weights; an absent weight (NaN here) is 1."""
    absent = np.isnan(weight)
    with np.errstate(invalid="ignore"):
        negative = ~absent & (weight < 0)
    check.reject(negative, "weight", shown, "must not be negative")
    return np.where(absent, 1.0, weight)


def check_not_future(check: Checker, us: NDArray[np.int64], shown: Any) -> None:
    """Reject event times more than a day past the server's clock."""
    limit = int(time.time() * US_PER_SECOND) + LIMITS.future_us
    check.reject(
        us > limit,
        "ts",
        shown,
        "lies more than 1 day after the server's current time; send the time "
        "the prediction was made or the truth observed",
    )


def only(i: int, n: int) -> NDArray[np.bool_]:
    mask = np.zeros(n, dtype=bool)
    mask[i] = True
    return mask


def json_safe(value: Any) -> Any:
    """Return a value fit to echo in a JSON reply: finite, UTF-8, and short."""
    if isinstance(value, float) and not np.isfinite(value):
        return str(value)
    if isinstance(value, str) and not is_unicode(value):
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
