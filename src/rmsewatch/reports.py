"""What the joiner knows about labels and models, read from the store.

Label figures are counted over predictions whose event time lies in a span,
judged against the model's event-time clock: a prediction without a label is
*pending* while it is younger than the label TTL and *missing* after that; a
label that came after the TTL still joins and counts as *late*; a label
timestamped before its prediction counts as *skewed* (clock skew) and is
joined all the same.
"""

from __future__ import annotations

from typing import Any

import duckdb

from rmsewatch.settings import Settings
from rmsewatch.times import format_ts
from rmsewatch.windows import Span

__all__ = ["label_report", "model_list"]

_LABEL_FIGURES = """
SELECT
    count(*) AS predicted,
    count(p.y_true) AS labelled,
    count(*) FILTER (WHERE p.y_true IS NULL
                     AND p.ts < m.clock - to_microseconds($ttl)) AS missing,
    count(*) FILTER (WHERE p.y_true IS NULL
                     AND p.ts >= m.clock - to_microseconds($ttl)) AS pending,
    count(*) FILTER (WHERE p.label_ts - p.ts > to_microseconds($ttl)) AS late,
    count(*) FILTER (WHERE p.label_ts < p.ts) AS skewed,
    quantile_cont(epoch(p.label_ts - p.ts), [0.5, 0.9, 0.99]) AS latency_q,
    avg(epoch(p.label_ts - p.ts)) AS latency_mean,
    max(epoch(p.label_ts - p.ts)) AS latency_max
FROM predictions p JOIN models m USING (model)
WHERE p.model = $model
  AND p.ts >= make_timestamp($start) AND p.ts < make_timestamp($end)
  AND ($version IS NULL OR p.version = $version)
"""


def label_report(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    model: str,
    span: Span,
    *,
    version: str | None = None,
) -> dict[str, Any]:
    """Return label latency, coverage, pending, missing, late, skew and orphans."""
    ((predicted, labelled, missing, pending, late, skewed, q, mean, longest),) = (
        con.execute(
            _LABEL_FIGURES,
            {
                "model": model,
                "ttl": settings.label_ttl_us,
                "start": span.start_us,
                "end": span.end_us,
                "version": version,
            },
        ).fetchall()
    )
    waited = predicted - pending
    ((orphans,),) = con.execute(
        "SELECT count(*) FROM orphan_labels WHERE model = ?", [model]
    ).fetchall()
    counters = dict(
        con.execute(
            "SELECT name, value FROM counters WHERE model = ? ORDER BY name", [model]
        ).fetchall()
    )
    return {
        "model": model,
        **span.describe(),
        "predicted": predicted,
        "labelled": labelled,
        "label_coverage": labelled / predicted if predicted else None,
        "pending": pending,
        "missing": missing,
        "missing_rate": missing / waited if waited else None,
        "late": late,
        "skewed": skewed,
        "latency_seconds": {
            "p50": q[0] if q else None,
            "p90": q[1] if q else None,
            "p99": q[2] if q else None,
            "mean": mean,
            "max": longest,
        },
        "orphans_waiting": orphans,
        "orphans_expired": counters.get("orphans_expired", 0),
        "duplicate_labels": counters.get("labels_duplicate", 0),
        "corrected_labels": counters.get("labels_corrected", 0),
        "repeated_labels": counters.get("labels_repeated", 0),
        "label_ttl_seconds": settings.label_ttl_us / 1e6,
    }


def model_list(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Return every model with its versions, counts, segments and clock."""
    rows = con.execute(
        """
        SELECT m.model, epoch_us(m.clock),
               coalesce(list(DISTINCT s.version ORDER BY s.version)
                        FILTER (WHERE s.segment = ''), []),
               coalesce(sum(s.predicted) FILTER (WHERE s.segment = ''), 0),
               coalesce(sum(s.labelled) FILTER (WHERE s.segment = ''), 0),
               epoch_us(min(s.bucket)),
               coalesce(list(DISTINCT s.segment ORDER BY s.segment)
                        FILTER (WHERE s.segment <> ''), [])
        FROM models m LEFT JOIN bucket_stats s USING (model)
        GROUP BY m.model, m.clock ORDER BY m.model
        """
    ).fetchall()
    return [
        {
            "model": model,
            "versions": [v or None for v in versions],
            "predicted": int(predicted),
            "labelled": int(labelled),
            "first_bucket": format_ts(first) if first is not None else None,
            "clock": format_ts(clock),
            "segments": segments,
        }
        for model, clock, versions, predicted, labelled, first, segments in rows
    ]
