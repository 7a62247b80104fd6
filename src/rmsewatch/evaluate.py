"""Offline evaluation: join prediction and label files, report like the service.

``rmsewatch evaluate`` reads CSV, Parquet or NDJSON files, feeds them through
the same validation, joiner and bucket statistics as the HTTP API (into a
DuckDB store, in memory by default) and reads the same windows back, so a file
evaluation and the service agree on the same events.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json
import pyarrow.parquet as pq

from rmsewatch.errors import InvalidInputError, NotFoundError
from rmsewatch.events import Rejection
from rmsewatch.joiner import IngestResult
from rmsewatch.monitor import Monitor
from rmsewatch.settings import Settings
from rmsewatch.times import US_PER_SECOND

__all__ = ["Columns", "evaluate_files", "read_events_file"]

log = logging.getLogger(__name__)

BATCH_ROWS = 50_000
SHOWN_REJECTIONS = 20
_READERS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".ndjson": "ndjson",
    ".jsonl": "ndjson",
    ".json": "ndjson",
}


@dataclass(frozen=True)
class Columns:
    """Which file column holds each event field."""

    prediction_id: str = "prediction_id"
    ts: str = "ts"
    label_ts: str = "ts"
    y_pred: str = "y_pred"
    y_true: str = "y_true"
    weight: str | None = None
    segments: tuple[str, ...] = ()
    model: str | None = None
    version: str | None = None


def read_events_file(path: Path) -> pa.Table:
    """Read a CSV, Parquet or NDJSON file into an Arrow table."""
    if not path.is_file():
        raise NotFoundError("file", str(path), "check the path")
    kind = _READERS.get(path.suffix.lower())
    if kind is None:
        raise InvalidInputError(
            "file",
            str(path),
            f"has an unknown extension; use one of {', '.join(sorted(_READERS))}",
        )
    try:
        if kind == "csv":
            delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
            return pa_csv.read_csv(
                path, parse_options=pa_csv.ParseOptions(delimiter=delimiter)
            )
        if kind == "parquet":
            return pq.read_table(path)
        return pa_json.read_json(path)
    except (pa.ArrowException, OSError) as exc:
        raise InvalidInputError(
            "file", str(path), f"cannot be read as {kind}: {exc}"
        ) from exc


def evaluate_files(
    predictions: Path,
    labels: Path,
    columns: Columns,
    *,
    model: str = "model",
    settings: Settings | None = None,
    window: str | None = None,
    db_path: str = ":memory:",
    progress: bool = False,
) -> dict[str, Any]:
    """Join two event files and return the report ``rmsewatch evaluate`` prints."""
    pred_table = read_events_file(predictions)
    label_table = read_events_file(labels)
    pred_records = _prediction_batches(pred_table, columns, model, predictions)
    label_records = _label_batches(label_table, columns, model, labels)

    monitor = Monitor(db_path, settings)
    try:
        total = pred_table.num_rows + label_table.num_rows
        with _Progress(progress, total) as bar:
            pred_result = _ingest_all(monitor, "predictions", pred_records, bar)
            label_result = _ingest_all(monitor, "labels", label_records, bar)
        models = [_model_report(monitor, m["model"], window) for m in monitor.models()]
    finally:
        monitor.close()
    return {
        "files": {"predictions": str(predictions), "labels": str(labels)},
        "settings": monitor.settings.describe(),
        "ingest": {
            "predictions": _ingest_summary(pred_result),
            "labels": _ingest_summary(label_result),
        },
        "models": models,
    }


def _model_report(monitor: Monitor, model: str, window: str | None) -> dict[str, Any]:
    first = next(m["first_bucket"] for m in monitor.models() if m["model"] == model)
    report: dict[str, Any] = {
        "model": model,
        "whole": monitor.metrics(model, start=first),
        "join": monitor.labels(model, start=first),
    }
    if window is not None:
        report["windows"] = monitor.series(model, step=window, start=first)
    return report


def _ingest_all(
    monitor: Monitor,
    kind: str,
    batches: Iterator[tuple[int, list[dict[str, Any]]]],
    bar: _Progress,
) -> IngestResult:
    total = IngestResult(kind, 0)
    add = monitor.add_predictions if kind == "predictions" else monitor.add_labels
    for offset, records in batches:
        result = add(records)
        result.rejections = [
            Rejection(r.index + offset, r.field, r.value, r.reason)
            for r in result.rejections
        ]
        total.add(result)
        bar.advance(len(records))
    return total


def _ingest_summary(result: IngestResult) -> dict[str, Any]:
    return {
        "rows": result.received,
        "accepted": result.accepted,
        "duplicates": result.duplicates,
        "rejected": result.rejected,
        "joined": result.joined,
        "orphaned": result.orphaned,
        "repeated": result.repeated,
        "corrected": result.corrected,
        "rejections": [r.as_dict() for r in result.rejections[:SHOWN_REJECTIONS]],
    }


def _require(table: pa.Table, column: str, option: str, path: Path) -> None:
    if column not in table.column_names:
        raise InvalidInputError(
            option,
            column,
            f"is not a column of {path}; its columns are: "
            f"{', '.join(table.column_names)}",
        )


def _prediction_batches(
    table: pa.Table, columns: Columns, model: str, path: Path
) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    wanted = {
        "prediction_id": (columns.prediction_id, "--id"),
        "ts": (columns.ts, "--time"),
        "y_pred": (columns.y_pred, "--prediction"),
    }
    if columns.weight:
        wanted["weight"] = (columns.weight, "--weight")
    if columns.model:
        wanted["model"] = (columns.model, "--model-column")
    if columns.version:
        wanted["model_version"] = (columns.version, "--version-column")
    for segment in columns.segments:
        _require(table, segment, "--segment", path)
    events = _select(table, wanted, path)
    segments = table.select(list(columns.segments)) if columns.segments else None
    return _batches(events, model, segments)


def _label_batches(
    table: pa.Table, columns: Columns, model: str, path: Path
) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    wanted = {
        "prediction_id": (columns.prediction_id, "--id"),
        "ts": (columns.label_ts, "--label-time"),
        "y_true": (columns.y_true, "--truth"),
    }
    if columns.model:
        wanted["model"] = (columns.model, "--model-column")
    return _batches(_select(table, wanted, path), model, None)


def _select(
    table: pa.Table, wanted: dict[str, tuple[str, str]], path: Path
) -> pa.Table:
    arrays = []
    for field, (column, option) in wanted.items():
        _require(table, column, option, path)
        arrays.append(_as_event_values(field, table.column(column)))
    return pa.Table.from_arrays(arrays, names=list(wanted))


def _as_event_values(field: str, column: pa.ChunkedArray[Any]) -> pa.ChunkedArray[Any]:
    """Cast a file column to the JSON types the event rules expect."""
    if field in ("prediction_id", "model", "model_version"):
        return column.cast(pa.string())
    if field == "ts" and pa.types.is_timestamp(column.type):
        # Timezone-naive file timestamps are taken as UTC.
        # Digits past the microsecond are dropped, as for RFC 3339 strings.
        in_us = pc.cast(column, pa.timestamp("us", tz=column.type.tz), safe=False)
        micros = pc.cast(in_us, pa.int64())
        return pc.divide(pc.cast(micros, pa.float64()), float(US_PER_SECOND))
    if field == "ts" and pa.types.is_date(column.type):
        return _as_event_values(field, column.cast(pa.timestamp("us")))
    return column


def _batches(
    events: pa.Table, model: str, segments: pa.Table | None
) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    for offset in range(0, max(events.num_rows, 1), BATCH_ROWS):
        part = events.slice(offset, BATCH_ROWS)
        if part.num_rows == 0:
            return
        records = part.to_pylist()
        if "model" not in events.column_names:
            for record in records:
                record["model"] = model
        if segments is not None:
            seg_part = segments.slice(offset, BATCH_ROWS)
            names = seg_part.column_names
            values = [seg_part.column(n).cast(pa.string()).to_pylist() for n in names]
            for record, row in zip(records, zip(*values, strict=True), strict=True):
                record["segments"] = {
                    n: v for n, v in zip(names, row, strict=True) if v is not None
                }
        for record in records:
            if record.get("weight", 0) is None:
                del record["weight"]
        yield offset, records


class _Progress:
    """A rich progress bar over rows, or nothing."""

    def __init__(self, enabled: bool, total: int) -> None:
        self.enabled = enabled
        self.total = total

    def __enter__(self) -> _Progress:
        if self.enabled:
            from rich.progress import Progress

            self._bar = Progress(transient=True)
            self._bar.start()
            self._task = self._bar.add_task("joining", total=self.total)
        return self

    def advance(self, rows: int) -> None:
        if self.enabled:
            self._bar.advance(self._task, rows)

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            self._bar.stop()
