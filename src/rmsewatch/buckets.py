"""Folding joined errors into per-bucket :class:`~rmsewatch.stats.ErrorStats`.

A bucket's statistics are rebuilt from its raw joined rows whenever a batch
touches it (a new prediction, a first label, a correction). Rebuilding rather
than patching keeps every aggregate equal to a recompute from the raw rows,
whatever order events and corrections arrived in. The cost of a batch is the
size of the buckets it touches, never the size of the store.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa

from rmsewatch.stats import ErrorStats

__all__ = ["refresh_buckets"]

# Each joined row counts once in its model's overall bucket (segment '') and
# once in the bucket of each of its segments.
_ROWS_OF_DIRTY_BUCKETS = """
WITH touched AS (SELECT DISTINCT model, version, bucket FROM dirty),
rows AS (
    SELECT p.model, p.version, p.bucket, p.prediction_id,
           p.y_true, p.y_pred, p.weight, p.segments
    FROM predictions p SEMI JOIN touched d
        ON p.model = d.model AND p.version = d.version AND p.bucket = d.bucket
    -- Constant bounds let DuckDB skip row groups by their min/max (zone maps).
    WHERE p.bucket BETWEEN make_timestamp({lo}) AND make_timestamp({hi})
),
long AS (
    SELECT model, version, '' AS segment, '' AS value, bucket,
           prediction_id, y_true, y_pred, weight
    FROM rows
    UNION ALL
    SELECT model, version, e.key, e.value, bucket, prediction_id,
           y_true, y_pred, weight
    FROM rows, unnest(map_entries(rows.segments)) AS t(e)
)
SELECT *, dense_rank() OVER (ORDER BY model, version, segment, value, bucket) AS g
FROM long
-- A fixed row order makes a bucket's float sums the same bit for bit however
-- its events arrived.
ORDER BY g, prediction_id
"""


def refresh_buckets(con: duckdb.DuckDBPyConnection) -> int:
    """Rebuild the stats of every bucket named in temp table ``dirty``.

    Returns the number of (model, version, segment, value, bucket) rows written.
    """
    ((lo, hi),) = con.execute(
        "SELECT min(epoch_us(bucket)), max(epoch_us(bucket)) FROM dirty"
    ).fetchall()
    if lo is None or hi is None:
        return 0
    query = _ROWS_OF_DIRTY_BUCKETS.format(lo=int(lo), hi=int(hi))
    rows = con.sql(query).to_arrow_table()
    con.execute(
        "DELETE FROM bucket_stats s USING (SELECT DISTINCT * FROM dirty) d "
        "WHERE s.model = d.model AND s.version = d.version AND s.bucket = d.bucket"
    )
    if rows.num_rows == 0:
        return 0

    group = rows.column("g").to_numpy()
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    ends = np.r_[starts[1:], len(group)]
    y_true = rows.column("y_true").to_numpy(zero_copy_only=False)
    y_pred = rows.column("y_pred").to_numpy()
    weight = rows.column("weight").to_numpy()
    labelled = ~np.isnan(y_true)

    group_of_labelled = np.repeat(np.arange(len(starts)), ends - starts)[labelled]
    counts = np.bincount(group_of_labelled, minlength=len(starts))
    stats = ErrorStats.from_groups(
        y_true[labelled], y_pred[labelled], weight[labelled], counts
    )
    blobs = [s.to_bytes() for s in stats]

    keys = rows.select(["model", "version", "segment", "value", "bucket"]).take(
        pa.array(starts)
    )
    table = keys.append_column(
        "predicted", pa.array(ends - starts, pa.int64())
    ).append_column("labelled", pa.array(counts, pa.int64()))
    table = table.append_column("stats", pa.array(blobs, pa.binary()))
    con.register("fresh_stats", table)
    try:
        con.execute("INSERT INTO bucket_stats SELECT * FROM fresh_stats")
    finally:
        con.unregister("fresh_stats")
    return len(blobs)
