"""Windows over event time, answered by merging bucket statistics.

A window is a whole number of buckets: its end is exclusive and snapped up to
the next bucket boundary, and its start is the end minus the window length.
The default end is just after the model's latest event time, so replayed
history behaves like live traffic. Reading a window merges one
:class:`~rmsewatch.stats.ErrorStats` per bucket and segment value in it, so
its cost grows with the number of buckets, not with the number of events.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np

from rmsewatch.errors import InvalidInputError
from rmsewatch.stats import ErrorStats
from rmsewatch.times import format_duration, format_ts

__all__ = [
    "MAX_SERIES_POINTS",
    "Span",
    "entry",
    "resolve_span",
    "segment_stats",
    "series_points",
]

MAX_SERIES_POINTS = 10_000
QUANTILES = (0.5, 0.9, 0.99)


@dataclass(frozen=True)
class Span:
    """A half-open event-time interval [start_us, end_us) on bucket boundaries."""

    start_us: int
    end_us: int

    def describe(self) -> dict[str, str]:
        return {
            "start": format_ts(self.start_us),
            "end": format_ts(self.end_us),
            "window": format_duration(self.end_us - self.start_us),
        }


def _ceil(us: int, bucket_us: int) -> int:
    return -(-us // bucket_us) * bucket_us


def resolve_span(
    bucket_us: int,
    clock_us: int,
    *,
    window_us: int | None = None,
    start_us: int | None = None,
    end_us: int | None = None,
) -> Span:
    """Snap a requested window onto bucket boundaries.

    Give either ``window_us`` (with an optional ``end_us``) or ``start_us``
    (with an optional ``end_us``); ``end_us`` defaults to just after
    ``clock_us``, the model's latest event time.
    """
    end = _ceil(clock_us + 1 if end_us is None else end_us, bucket_us)
    if start_us is not None and end_us is not None and start_us >= end_us:
        raise InvalidInputError("start", format_ts(start_us), "must be before end")
    if start_us is not None:
        if window_us is not None:
            raise InvalidInputError(
                "window", format_duration(window_us), "cannot be combined with start"
            )
        start = start_us // bucket_us * bucket_us
    elif window_us is not None:
        if window_us % bucket_us:
            raise InvalidInputError(
                "window",
                format_duration(window_us),
                f"must be a whole number of {format_duration(bucket_us)} buckets",
            )
        start = end - window_us
    else:
        raise InvalidInputError("window", None, "is required unless start is given")
    if start >= end:
        raise InvalidInputError("start", format_ts(start), "must be before end")
    # A window reaching before 1970 holds no events: it starts at the epoch.
    return Span(max(start, 0), end)


def segment_stats(
    con: duckdb.DuckDBPyConnection,
    model: str,
    span: Span,
    *,
    version: str | None = None,
    segment: str | None = None,
) -> dict[tuple[str, str], tuple[int, int, ErrorStats]]:
    """Merge the buckets of a span into one stats per (segment, value).

    The key ``("", "")`` holds the model's overall figures. With ``segment``
    given, only that segment's values are returned beside the overall.
    Values are (predicted, labelled, stats).
    """
    rows = con.execute(
        """
        SELECT segment, value, predicted, labelled, stats FROM bucket_stats
        WHERE model = $model
          AND bucket >= make_timestamp($start) AND bucket < make_timestamp($end)
          AND ($version IS NULL OR version = $version)
          AND ($segment IS NULL OR segment = '' OR segment = $segment)
        ORDER BY segment, value, bucket, version
        """,
        {
            "model": model,
            "start": span.start_us,
            "end": span.end_us,
            "version": version,
            "segment": segment,
        },
    ).fetchall()
    predicted: dict[tuple[str, str], int] = defaultdict(int)
    labelled: dict[tuple[str, str], int] = defaultdict(int)
    parts: dict[tuple[str, str], list[ErrorStats]] = defaultdict(list)
    for seg, value, n_pred, n_lab, blob in rows:
        key = (seg, value)
        predicted[key] += n_pred
        labelled[key] += n_lab
        if n_lab:
            parts[key].append(ErrorStats.from_bytes(blob))
    return {
        key: (predicted[key], labelled[key], _merge(parts[key])) for key in predicted
    }


def series_points(
    con: duckdb.DuckDBPyConnection,
    model: str,
    bucket_us: int,
    span: Span,
    step_us: int,
    window_us: int,
    *,
    version: str | None = None,
    segment: str | None = None,
    value: str | None = None,
) -> list[dict[str, Any]]:
    """Return one entry per window of ``window_us`` ending every ``step_us``.

    The first window ends at ``span.start_us + step_us`` and the last at or
    before ``span.end_us``.
    """
    for name, us in (("step", step_us), ("window", window_us)):
        if us % bucket_us:
            raise InvalidInputError(
                name,
                format_duration(us),
                f"must be a whole number of {format_duration(bucket_us)} buckets",
            )
    n_points = (span.end_us - span.start_us) // step_us
    if n_points > MAX_SERIES_POINTS:
        raise InvalidInputError(
            "step",
            format_duration(step_us),
            f"gives {n_points} points; at most {MAX_SERIES_POINTS} are served, "
            "so widen the step or narrow start..end",
        )
    first_start = span.start_us + step_us - window_us
    rows = con.execute(
        """
        SELECT epoch_us(bucket), sum(predicted), sum(labelled),
               list(stats ORDER BY version)
        FROM bucket_stats
        WHERE model = $model AND segment = $segment AND value = $value
          AND bucket >= make_timestamp($start) AND bucket < make_timestamp($end)
          AND ($version IS NULL OR version = $version)
        GROUP BY bucket ORDER BY bucket
        """,
        {
            "model": model,
            "segment": segment or "",
            "value": value or "",
            "start": first_start,
            "end": span.end_us,
            "version": version,
        },
    ).fetchall()
    starts = np.array([r[0] for r in rows], dtype=np.int64)
    points = []
    for k in range(1, n_points + 1):
        end = span.start_us + k * step_us
        lo, hi = np.searchsorted(starts, [end - window_us, end])
        chosen = rows[lo:hi]
        stats = _merge([ErrorStats.from_bytes(b) for r in chosen if r[2] for b in r[3]])
        point = {"start": format_ts(end - window_us), "end": format_ts(end)}
        point.update(entry(sum(r[1] for r in chosen), sum(r[2] for r in chosen), stats))
        points.append(point)
    return points


def entry(predicted: int, labelled: int, stats: ErrorStats) -> dict[str, Any]:
    """Return the JSON figures of one window: counts, coverage and every metric."""
    figures: dict[str, Any] = {
        "predicted": predicted,
        "labelled": labelled,
        "label_coverage": labelled / predicted if predicted else None,
    }
    for name, number in stats.summary(quantiles=QUANTILES).items():
        figures[name] = _finite_or_none(number)
    return figures


def _merge(parts: list[ErrorStats]) -> ErrorStats:
    return ErrorStats.merge_all(parts)


def _finite_or_none(number: float | int) -> float | int | None:
    if isinstance(number, float) and not np.isfinite(number):
        return None
    return number
