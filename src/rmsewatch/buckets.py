"""Folding joined errors into per-bucket :class:`~rmsewatch.stats.ErrorStats`.

Three moves keep ``bucket_stats`` equal to a recompute from the raw rows:

- a new prediction adds one to its buckets' ``predicted`` counts
  (:func:`count_predictions`);
- a prediction's first label folds its error into its buckets by merging
  (:func:`fold_labels`), so the cost follows the batch, not the bucket;
- a label that replaces another cannot be merged out of a sketch, so the
  buckets it touches are rebuilt from their raw rows (:func:`rebuild_buckets`).

Each row counts once in its model's overall bucket (segment ``''``) and once
in the bucket of each of its segments.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from rmsewatch.stats import ErrorStats

__all__ = ["count_predictions", "fold_labels", "rebuild_buckets"]

_EMPTY = ErrorStats.empty().to_bytes()
_KEY = "model, version, segment, value, bucket"


def _long(source: str, columns: str) -> str:
    """Return SQL giving each row of ``source`` once overall and once per segment."""
    return f"""
    WITH rows AS ({source})
    SELECT model, version, '' AS segment, '' AS value, bucket, {columns} FROM rows
    UNION ALL
    SELECT * FROM (
        -- Two unnests in one select list walk the keys and values in step; this
        -- is many times faster in DuckDB than unnesting map_entries().
        SELECT model, version, unnest(map_keys(segments)) AS segment,
               unnest(map_values(segments)) AS value, bucket, {columns}
        FROM rows
    )
    """


def count_predictions(con: duckdb.DuckDBPyConnection, source: str) -> None:
    """Add the predictions of ``source`` (SQL) to their buckets' predicted counts.

    ``source`` yields model, version, bucket and segments.
    """
    # Count per distinct segment map first: far fewer rows to unnest.
    grouped = (
        f"SELECT model, version, bucket, segments, count(*) AS n FROM ({source}) "
        "GROUP BY ALL"
    )
    con.execute(
        f"""
        INSERT INTO bucket_stats
        SELECT model, version, segment, value, bucket, sum(n), 0, $empty
        FROM ({_long(grouped, "n")}) GROUP BY ALL
        ON CONFLICT DO UPDATE SET predicted = predicted + excluded.predicted
        """,
        {"empty": _EMPTY},
    )


def fold_labels(con: duckdb.DuckDBPyConnection, source: str) -> int:
    """Merge the errors of newly labelled predictions into their buckets.

    ``source`` (SQL) yields model, version, bucket, segments, prediction_id,
    y_true, y_pred and weight of predictions that had no label before.
    Returns the number of bucket rows written.
    """
    rows = con.sql(
        f"""
        SELECT * FROM ({_long(source, "y_true, y_pred, weight")})
        ORDER BY {_KEY}
        """
    ).to_arrow_table()
    if rows.num_rows == 0:
        return 0
    starts, ends = _groups(rows)
    fresh = ErrorStats.from_groups(
        rows.column("y_true").to_numpy(),
        rows.column("y_pred").to_numpy(),
        rows.column("weight").to_numpy(),
        ends - starts,
    )
    keys = rows.select(["model", "version", "segment", "value", "bucket"]).take(
        pa.array(starts)
    )
    keys = keys.append_column("k", pa.array(np.arange(len(starts)), pa.int64()))
    con.register("folded_keys", keys)
    try:
        stored = con.execute(
            "SELECT k.k, s.stats FROM folded_keys k JOIN bucket_stats s "
            "USING (model, version, segment, value, bucket)"
        ).fetchall()
    finally:
        con.unregister("folded_keys")
    for k, blob in stored:
        fresh[k] = ErrorStats.from_bytes(blob).merge(fresh[k])
    table = (
        keys.drop_columns(["k"])
        .append_column("predicted", pa.array(np.zeros(len(starts), np.int64)))
        .append_column("labelled", pa.array(ends - starts, pa.int64()))
        .append_column("stats", pa.array([s.to_bytes() for s in fresh], pa.binary()))
    )
    con.register("folded_stats", table)
    try:
        con.execute(
            """
            INSERT INTO bucket_stats SELECT * FROM folded_stats
            ON CONFLICT DO UPDATE SET labelled = labelled + excluded.labelled,
                                      stats = excluded.stats
            """
        )
    finally:
        con.unregister("folded_stats")
    return len(fresh)


def _groups(rows: pa.Table) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Return where each run of equal keys starts and ends in rows sorted by key."""
    n = rows.num_rows
    change = np.zeros(n, dtype=bool)
    change[0] = True
    for name in _KEY.split(", "):
        column = rows.column(name)
        differs = pc.not_equal(column.slice(1), column.slice(0, n - 1))
        change[1:] |= np.asarray(differs.to_numpy(zero_copy_only=False), dtype=bool)
    starts = np.flatnonzero(change)
    ends = np.r_[starts[1:], n]
    return starts.astype(np.int64), ends.astype(np.int64)


_ROWS_OF_DIRTY_BUCKETS = """
SELECT p.model, p.version, p.bucket, p.prediction_id,
       p.y_true, p.y_pred, p.weight, p.segments
FROM predictions p SEMI JOIN (SELECT DISTINCT model, version, bucket FROM dirty) d
    ON p.model = d.model AND p.version = d.version AND p.bucket = d.bucket
-- Constant bounds let DuckDB skip row groups by their min/max (zone maps).
WHERE p.bucket BETWEEN make_timestamp({lo}) AND make_timestamp({hi})
"""


def rebuild_buckets(con: duckdb.DuckDBPyConnection) -> int:
    """Rebuild the stats of every bucket named in temp table ``dirty``.

    Returns the number of (model, version, segment, value, bucket) rows written.
    """
    ((lo, hi),) = con.execute(
        "SELECT min(epoch_us(bucket)), max(epoch_us(bucket)) FROM dirty"
    ).fetchall()
    if lo is None or hi is None:
        return 0
    source = _ROWS_OF_DIRTY_BUCKETS.format(lo=int(lo), hi=int(hi))
    rows = con.sql(
        f"""
        SELECT * FROM ({_long(source, "prediction_id, y_true, y_pred, weight")})
        -- A fixed row order makes a rebuilt bucket's sums the same bit for bit.
        ORDER BY {_KEY}, prediction_id
        """
    ).to_arrow_table()
    con.execute(
        "DELETE FROM bucket_stats s USING (SELECT DISTINCT * FROM dirty) d "
        "WHERE s.model = d.model AND s.version = d.version AND s.bucket = d.bucket"
    )
    if rows.num_rows == 0:
        return 0

    starts, ends = _groups(rows)
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
