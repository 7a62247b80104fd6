"""The embedded DuckDB store: its schema, its settings and its transactions.

One file holds everything: the raw predictions with their current label,
labels still waiting for their prediction, the per-bucket error statistics and
the per-model counters. A write is acknowledged only after its transaction
commits, and every change a batch makes lands in one transaction.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from rmsewatch.errors import InvalidInputError, RmsewatchError
from rmsewatch.settings import Settings
from rmsewatch.times import format_duration

__all__ = ["SCHEMA_VERSION", "Store", "StoreError"]

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);

-- One row per prediction, holding its current label once one has joined.
CREATE TABLE IF NOT EXISTS predictions (
    model VARCHAR NOT NULL,
    prediction_id VARCHAR NOT NULL,
    version VARCHAR NOT NULL,
    ts TIMESTAMP NOT NULL,
    bucket TIMESTAMP NOT NULL,
    y_pred DOUBLE NOT NULL,
    weight DOUBLE NOT NULL,
    segments MAP(VARCHAR, VARCHAR),
    features VARCHAR,
    received_at TIMESTAMP NOT NULL,
    y_true DOUBLE,
    label_ts TIMESTAMP,
    PRIMARY KEY (model, prediction_id)
);

-- Labels that arrived before their prediction, kept until the orphan TTL.
CREATE TABLE IF NOT EXISTS orphan_labels (
    model VARCHAR NOT NULL,
    prediction_id VARCHAR NOT NULL,
    ts TIMESTAMP NOT NULL,
    y_true DOUBLE NOT NULL,
    seq BIGINT NOT NULL
);

-- Mergeable error statistics per model, version, segment and event-time bucket.
-- segment = '' and value = '' hold the model's overall figures.
CREATE TABLE IF NOT EXISTS bucket_stats (
    model VARCHAR NOT NULL,
    version VARCHAR NOT NULL,
    segment VARCHAR NOT NULL,
    value VARCHAR NOT NULL,
    bucket TIMESTAMP NOT NULL,
    predicted BIGINT NOT NULL,
    labelled BIGINT NOT NULL,
    stats BLOB NOT NULL,
    PRIMARY KEY (model, version, segment, value, bucket)
);

-- The event-time clock of each model: the latest event time it has seen.
CREATE TABLE IF NOT EXISTS models (
    model VARCHAR PRIMARY KEY,
    clock TIMESTAMP NOT NULL
);

-- Cumulative counts of what the joiner saw (duplicates, repeats, rejections).
CREATE TABLE IF NOT EXISTS counters (
    model VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    value BIGINT NOT NULL,
    PRIMARY KEY (model, name)
);

CREATE SEQUENCE IF NOT EXISTS label_seq;
"""


class StoreError(RmsewatchError):
    """The store file cannot be opened or does not match these settings."""


class Store:
    """An open DuckDB store; use it from one process at a time.

    DuckDB allows one writing process per file; within the process every call
    goes through ``lock``, so the service's worker threads never interleave
    inside a transaction.
    """

    def __init__(self, path: str | Path, settings: Settings | None = None) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self.con = duckdb.connect(self.path)
        except duckdb.Error as exc:
            raise StoreError(f"cannot open store {self.path!r}: {exc}") from exc
        self.lock = threading.RLock()
        self.con.execute(_SCHEMA)
        self.settings = self._reconcile(settings or Settings())
        log.info(
            "event=store_open path=%s bucket=%s",
            self.path,
            format_duration(self.settings.bucket_us),
        )

    def _reconcile(self, settings: Settings) -> Settings:
        """Record the bucket width on creation; refuse a different one later."""
        rows = dict(self.con.execute("SELECT key, value FROM meta").fetchall())
        if not rows:
            self.con.executemany(
                "INSERT INTO meta VALUES (?, ?)",
                [
                    ["schema_version", str(SCHEMA_VERSION)],
                    ["bucket_us", str(settings.bucket_us)],
                ],
            )
            return settings
        if int(rows["schema_version"]) > SCHEMA_VERSION:
            raise StoreError(
                f"store {self.path!r} has schema version {rows['schema_version']}, "
                f"newer than this rmsewatch understands ({SCHEMA_VERSION}); upgrade"
            )
        stored_bucket = int(rows["bucket_us"])
        if stored_bucket != settings.bucket_us:
            raise InvalidInputError(
                "bucket",
                format_duration(settings.bucket_us),
                f"differs from the {format_duration(stored_bucket)} buckets this "
                f"store was created with; pass --bucket "
                f"{format_duration(stored_bucket)} or use a new store",
            )
        return settings

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """Run a block in one transaction under the store lock; roll back on error."""
        with self.lock:
            self.con.execute("BEGIN TRANSACTION")
            try:
                yield self.con
            except BaseException:
                self.con.execute("ROLLBACK")
                raise
            self.con.execute("COMMIT")

    @contextmanager
    def reading(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """Give the connection to a block of reads under the store lock."""
        with self.lock:
            yield self.con

    def close(self) -> None:
        """Checkpoint and close the file."""
        with self.lock:
            self.con.close()
