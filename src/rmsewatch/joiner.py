"""The label joiner: matches labels to predictions by id, in either arrival order.

Every step is a set operation in DuckDB over the whole batch; nothing here
loops over events in Python.

Rules (docs/architecture.md tells the same in prose):

- A prediction is immutable. The same id again with identical fields is a
  duplicate and changes nothing; with different fields it is rejected.
- A label for a stored prediction joins it. A label for an unknown prediction
  is kept as an orphan until its prediction arrives or the orphan TTL passes
  on the model's event-time clock.
- When a prediction receives several different labels, the label policy picks
  one: ``first`` keeps the label with the earliest ``ts``, ``last`` the latest.
  Two different labels with the same ``ts`` are told apart by value (the
  smaller ``y_true`` for ``first``, the larger for ``last``). The choice thus
  depends only on the set of labels received, never on their arrival order,
  so a resent or reordered batch changes nothing.
- A label identical (same ``ts`` and ``y_true``) to one already held is a
  duplicate.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any

import duckdb
import pyarrow as pa

from rmsewatch.buckets import count_predictions, fold_labels, rebuild_buckets
from rmsewatch.events import LABEL_FIELDS, PREDICTION_FIELDS, EventBatch, Rejection
from rmsewatch.ingest_result import IngestResult
from rmsewatch.settings import Settings
from rmsewatch.times import format_duration

__all__ = ["IngestResult", "ingest_labels", "ingest_predictions"]

log = logging.getLogger(__name__)


_SAME_PREDICTION = """
    {a}.version = {b}.version AND {a}.ts = {b}.ts AND {a}.y_pred = {b}.y_pred
    AND {a}.weight = {b}.weight
    AND {a}.segments IS NOT DISTINCT FROM {b}.segments
    AND {a}.features IS NOT DISTINCT FROM {b}.features
"""


def ingest_predictions(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    batch: EventBatch,
    rejections: list[Rejection],
) -> IngestResult:
    """Store new predictions, join waiting orphan labels, refresh their buckets.

    Runs inside the caller's transaction.
    """
    started = time.perf_counter()
    result = IngestResult("predictions", batch.received, rejections=list(rejections))
    con.register("batch_in", batch.table)
    try:
        _classify_predictions(con)
        verdicts = con.execute(
            "SELECT verdict, idx, prediction_id, first_idx FROM verdicts "
            "WHERE verdict <> 'new' ORDER BY idx"
        ).fetchall()
        for verdict, idx, prediction_id, first_idx in verdicts:
            if verdict == "duplicate":
                result.duplicates += 1
            elif verdict == "conflict_stored":
                result.rejections.append(
                    Rejection(
                        idx,
                        "prediction_id",
                        prediction_id,
                        "was stored before with different fields; predictions are "
                        "immutable, so send a correction as a new prediction id",
                    )
                )
            else:
                result.rejections.append(
                    Rejection(
                        idx,
                        "prediction_id",
                        prediction_id,
                        f"appears at index {first_idx} of this batch with different "
                        "fields",
                    )
                )
        con.execute(
            """
            INSERT INTO predictions
            SELECT i.model, i.prediction_id, i.version, i.ts,
                   make_timestamp(epoch_us(i.ts) // $w * $w),
                   i.y_pred, i.weight, i.segments, i.features,
                   $now, NULL, NULL
            FROM inc i JOIN verdicts v USING (idx)
            WHERE v.verdict = 'new'
            """,
            {"w": settings.bucket_us, "now": datetime.now(UTC).replace(tzinfo=None)},
        )
        result.accepted = _count(
            con, "SELECT count(*) FROM verdicts WHERE verdict = 'new'"
        )
        _create_dirty(con)
        count_predictions(
            con,
            "SELECT i.model, i.version, i.segments, "
            f"make_timestamp(epoch_us(i.ts) // {settings.bucket_us} "
            f"* {settings.bucket_us}) AS bucket "
            "FROM inc i JOIN verdicts v USING (idx) WHERE v.verdict = 'new'",
        )
        _advance_clocks(
            con,
            "SELECT i.model, i.ts FROM inc i JOIN verdicts v USING (idx) "
            "WHERE v.verdict = 'new'",
        )
        _join_waiting_orphans(con, settings, result)
        _expire_orphans(con, settings)
        result.buckets += rebuild_buckets(con)
        _count_rejections(con, result)
    finally:
        con.unregister("batch_in")
        _drop_temp(con, "inc", "verdicts", "dirty")
    _log_batch(result, started)
    return result


def ingest_labels(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    batch: EventBatch,
    rejections: list[Rejection],
) -> IngestResult:
    """Join labels to their predictions or keep them as orphans; refresh buckets.

    Runs inside the caller's transaction.
    """
    started = time.perf_counter()
    result = IngestResult("labels", batch.received, rejections=list(rejections))
    con.register("batch_in", batch.table)
    try:
        con.execute(
            "CREATE TEMP TABLE incoming AS "
            "SELECT model, prediction_id, ts, y_true, idx AS seq FROM batch_in"
        )
        _create_dirty(con)
        _advance_clocks(con, "SELECT model, ts FROM incoming")
        _apply_labels(con, settings, result, keep_orphans=True)
        _expire_orphans(con, settings)
        result.buckets += rebuild_buckets(con)
        _count_rejections(con, result)
    finally:
        con.unregister("batch_in")
        _drop_temp(con, "incoming", "dirty")
    _log_batch(result, started)
    return result


def _classify_predictions(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        "CREATE TEMP TABLE inc AS SELECT *, row_number() OVER "
        "(PARTITION BY model, prediction_id ORDER BY idx) AS rn FROM batch_in"
    )
    same_stored = _SAME_PREDICTION.format(a="i", b="p")
    same_first = _SAME_PREDICTION.format(a="i", b="f")
    con.execute(
        f"""
        CREATE TEMP TABLE verdicts AS
        SELECT i.idx, i.prediction_id, f.idx AS first_idx,
            CASE
                WHEN p.prediction_id IS NOT NULL THEN
                    CASE WHEN {same_stored} THEN 'duplicate' ELSE 'conflict_stored' END
                WHEN i.rn = 1 THEN 'new'
                WHEN {same_first} THEN 'duplicate'
                ELSE 'conflict_batch'
            END AS verdict
        FROM inc i
        LEFT JOIN predictions p USING (model, prediction_id)
        LEFT JOIN (SELECT * FROM inc WHERE rn = 1) f USING (model, prediction_id)
        """
    )


def _join_waiting_orphans(
    con: duckdb.DuckDBPyConnection, settings: Settings, result: IngestResult
) -> None:
    """Replay orphan labels of the new predictions through the label path."""
    con.execute(
        """
        CREATE TEMP TABLE incoming AS
        SELECT o.model, o.prediction_id, o.ts, o.y_true, o.seq
        FROM orphan_labels o SEMI JOIN inc i
            ON o.model = i.model AND o.prediction_id = i.prediction_id
        """
    )
    try:
        if _count(con, "SELECT count(*) FROM incoming") == 0:
            return
        con.execute(
            "DELETE FROM orphan_labels o USING incoming i "
            "WHERE o.model = i.model AND o.prediction_id = i.prediction_id"
        )
        labels = IngestResult("labels", 0)
        _apply_labels(con, settings, labels, keep_orphans=False)
        result.joined += labels.joined
        result.buckets += labels.buckets
        result.repeated += labels.repeated
        result.corrected += labels.corrected
    finally:
        _drop_temp(con, "incoming")


def _apply_labels(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    result: IngestResult,
    *,
    keep_orphans: bool,
) -> None:
    """Join the rows of temp table ``incoming`` by the label policy."""
    first = settings.label_policy == "first"
    pick = "arg_min" if first else "arg_max"
    # Row comparison: by label time, then by value (see the module docstring).
    beats = "(b['ts'], b['y_true']) {} (cur_ts, cur_y)".format("<" if first else ">")
    con.execute(
        """
        CREATE TEMP TABLE candidates AS
        SELECT l.model, l.prediction_id, l.ts, l.y_true, l.seq,
               p.label_ts AS cur_ts, p.y_true AS cur_y, p.version, p.bucket,
               p.y_pred, p.weight, p.segments,
               (p.label_ts IS NOT DISTINCT FROM l.ts
                    AND p.y_true IS NOT DISTINCT FROM l.y_true)
               OR row_number() OVER (PARTITION BY l.model, l.prediction_id, l.ts,
                                     l.y_true ORDER BY l.seq) > 1 AS duplicate
        FROM incoming l JOIN predictions p USING (model, prediction_id)
        """
    )
    con.execute(
        f"""
        CREATE TEMP TABLE winners AS
        WITH best AS (
            SELECT model, prediction_id,
                   {pick}(struct_pack(ts := ts, y_true := y_true),
                          struct_pack(ts := ts, y_true := y_true)) AS b
            FROM candidates WHERE NOT duplicate GROUP BY model, prediction_id
        ), current AS (
            SELECT DISTINCT ON (model, prediction_id) model, prediction_id, cur_ts,
                   cur_y, version, bucket, y_pred, weight, segments
            FROM candidates
        )
        SELECT model, prediction_id, b['ts'] AS ts, b['y_true'] AS y_true,
               cur_ts IS NULL AS first_label, version, bucket, y_pred, weight,
               segments
        FROM best JOIN current USING (model, prediction_id)
        WHERE cur_ts IS NULL OR {beats}
        """
    )
    try:
        con.execute(
            """
            UPDATE predictions p SET y_true = w.y_true, label_ts = w.ts
            FROM winners w
            WHERE p.model = w.model AND p.prediction_id = w.prediction_id
            """
        )
        result.buckets += fold_labels(
            con,
            "SELECT model, version, bucket, segments, prediction_id, y_true, y_pred, "
            "weight FROM winners WHERE first_label",
        )
        # A replaced label cannot be merged out of a sketch: rebuild its buckets.
        con.execute(
            "INSERT INTO dirty SELECT DISTINCT model, version, bucket FROM winners "
            "WHERE NOT first_label"
        )
        joined, corrected = con.execute(
            "SELECT count(*) FILTER (WHERE first_label), "
            "count(*) FILTER (WHERE NOT first_label) FROM winners"
        ).fetchall()[0]
        matched, duplicates = con.execute(
            "SELECT count(*), count(*) FILTER (WHERE duplicate) FROM candidates"
        ).fetchall()[0]
        result.joined += joined
        result.corrected += corrected
        result.duplicates += duplicates
        result.repeated += matched - duplicates - joined - corrected
        result.accepted += matched - duplicates
        _add_counters(
            con,
            "SELECT model, 'labels_joined', count(*) FILTER (WHERE first_label) "
            "FROM winners GROUP BY model UNION ALL "
            "SELECT model, 'labels_corrected', count(*) FILTER (WHERE NOT first_label) "
            "FROM winners GROUP BY model UNION ALL "
            "SELECT model, 'labels_duplicate', count(*) FILTER (WHERE duplicate) "
            "FROM candidates GROUP BY model UNION ALL "
            "SELECT c.model, 'labels_repeated', count(*) FROM candidates c "
            "ANTI JOIN winners w USING (model, prediction_id) "
            "WHERE NOT c.duplicate GROUP BY c.model UNION ALL "
            "SELECT c.model, 'labels_repeated', count(*) FROM candidates c "
            "JOIN winners w USING (model, prediction_id) WHERE NOT c.duplicate "
            "AND (c.ts <> w.ts OR c.y_true <> w.y_true) GROUP BY c.model",
        )
        if keep_orphans:
            _keep_orphans(con, settings, result)
    finally:
        _drop_temp(con, "candidates", "winners")


def _keep_orphans(
    con: duckdb.DuckDBPyConnection, settings: Settings, result: IngestResult
) -> None:
    """Store unmatched labels as orphans, skipping exact copies already held.

    A label older than the orphan TTL on its model's clock would be dropped at
    once, so it is rejected instead of acknowledged and then lost.
    """
    con.execute(
        """
        CREATE TEMP TABLE unmatched AS
        SELECT l.*,
               l.ts < m.clock - to_microseconds($ttl) AS stale,
               row_number() OVER (PARTITION BY l.model, l.prediction_id, l.ts,
                                  l.y_true ORDER BY l.seq) > 1
               OR EXISTS (SELECT 1 FROM orphan_labels o
                          WHERE o.model = l.model
                            AND o.prediction_id = l.prediction_id
                            AND o.ts = l.ts AND o.y_true = l.y_true) AS duplicate
        FROM incoming l ANTI JOIN predictions p USING (model, prediction_id)
        JOIN models m ON m.model = l.model
        """,
        {"ttl": settings.orphan_ttl_us},
    )
    try:
        con.execute(
            "INSERT INTO orphan_labels SELECT model, prediction_id, ts, y_true, "
            "nextval('label_seq') FROM unmatched WHERE NOT duplicate AND NOT stale"
        )
        orphaned, duplicates = con.execute(
            "SELECT count(*) FILTER (WHERE NOT duplicate AND NOT stale), "
            "count(*) FILTER (WHERE duplicate AND NOT stale) FROM unmatched"
        ).fetchall()[0]
        result.orphaned += orphaned
        result.duplicates += duplicates
        result.accepted += orphaned
        ttl = format_duration(settings.orphan_ttl_us)
        for seq, prediction_id in con.execute(
            "SELECT seq, prediction_id FROM unmatched WHERE stale ORDER BY seq"
        ).fetchall():
            result.rejections.append(
                Rejection(
                    seq,
                    "prediction_id",
                    prediction_id,
                    f"has no prediction, and the label is older than the orphan TTL "
                    f"({ttl}) on the model's clock, so it could never join",
                )
            )
        _add_counters(
            con,
            "SELECT model, 'labels_duplicate', count(*) FILTER (WHERE duplicate) "
            "FROM unmatched GROUP BY model",
        )
    finally:
        _drop_temp(con, "unmatched")


def _expire_orphans(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """Drop orphans older than the orphan TTL on their model's event-time clock."""
    expired = (
        "FROM orphan_labels o JOIN models m USING (model) "
        "WHERE o.ts < m.clock - to_microseconds($ttl)"
    )
    params = {"ttl": settings.orphan_ttl_us}
    _add_counters(
        con,
        f"SELECT o.model, 'orphans_expired', count(*) {expired} GROUP BY o.model",
        params,
    )
    con.execute(
        f"DELETE FROM orphan_labels WHERE rowid IN (SELECT o.rowid {expired})",
        params,
    )


def _advance_clocks(con: duckdb.DuckDBPyConnection, source: str) -> None:
    con.execute(
        f"""
        INSERT INTO models SELECT model, max(ts) FROM ({source}) GROUP BY model
        ON CONFLICT DO UPDATE SET clock = greatest(clock, excluded.clock)
        """
    )


def _count_rejections(con: duckdb.DuckDBPyConnection, result: IngestResult) -> None:
    if not result.rejections:
        return
    known = {*PREDICTION_FIELDS, *LABEL_FIELDS, "event"}
    rows = pa.table(
        {
            "field": [
                r.field if r.field in known else "unknown_field"
                for r in result.rejections
            ]
        },
    )
    con.register("rejected_fields", rows)
    try:
        _add_counters(
            con,
            f"SELECT '', 'rejected_{result.kind}:' || field, count(*) "
            "FROM rejected_fields GROUP BY field",
        )
    finally:
        con.unregister("rejected_fields")


def _add_counters(
    con: duckdb.DuckDBPyConnection, query: str, params: dict[str, Any] | None = None
) -> None:
    con.execute(
        f"INSERT INTO counters SELECT * FROM ({query}) AS c(model, name, value) "
        "WHERE value > 0 ON CONFLICT DO UPDATE SET value = value + excluded.value",
        params or {},
    )


def _create_dirty(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        "CREATE TEMP TABLE dirty (model VARCHAR, version VARCHAR, bucket TIMESTAMP)"
    )


def _drop_temp(con: duckdb.DuckDBPyConnection, *names: str) -> None:
    for name in names:
        con.execute(f"DROP TABLE IF EXISTS temp.{name}")


def _count(con: duckdb.DuckDBPyConnection, query: str) -> int:
    ((count,),) = con.execute(query).fetchall()
    return int(count)


def _log_batch(result: IngestResult, started: float) -> None:
    log.info(
        "event=ingest kind=%s received=%d accepted=%d duplicates=%d rejected=%d "
        "joined=%d orphaned=%d repeated=%d corrected=%d buckets=%d ms=%.1f",
        result.kind,
        result.received,
        result.accepted,
        result.duplicates,
        result.rejected,
        result.joined,
        result.orphaned,
        result.repeated,
        result.corrected,
        result.buckets,
        (time.perf_counter() - started) * 1000,
    )
