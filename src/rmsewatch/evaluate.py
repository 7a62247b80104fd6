"""Offline evaluation: join prediction and label files, report like the service.

``rmsewatch evaluate`` reads CSV, Parquet or NDJSON files, feeds them through
the same validation, joiner and bucket statistics as the HTTP API (into a
DuckDB store, in memory by default) and reads the same windows back, so a file
evaluation and the service agree on the same events.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json
import pyarrow.parquet as pq

from rmsewatch.errors import InvalidInputError, NotFoundError
from rmsewatch.events import LIMITS, EventBatch, Rejection
from rmsewatch.events_arrow import labels_from_table, predictions_from_table
from rmsewatch.ingest_result import IngestResult
from rmsewatch.monitor import Monitor
from rmsewatch.settings import Settings

__all__ = ["Columns", "evaluate_files", "read_events_file"]

log = logging.getLogger(__name__)

# Rows validated and joined per step; the progress bar moves once a step.
BATCH_ROWS = 1_000_000
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
    pred_events = _prediction_table(pred_table, columns, model, predictions)
    label_events = _label_table(label_table, columns, model, labels)

    monitor = Monitor(db_path, settings)
    try:
        total = pred_table.num_rows + label_table.num_rows
        with _Progress(progress, total) as bar:
            pred_result = _ingest_all(monitor, "predictions", pred_events, bar)
            label_result = _ingest_all(monitor, "labels", label_events, bar)
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
    monitor: Monitor, kind: str, events: pa.Table, bar: _Progress
) -> IngestResult:
    """Validate and ingest a whole table, a slice of rows at a time."""
    total = IngestResult(kind, 0)
    validate = predictions_from_table if kind == "predictions" else labels_from_table
    for offset in range(0, events.num_rows, BATCH_ROWS):
        batch, rejections = validate(events.slice(offset, BATCH_ROWS))
        shifted = batch.table.set_column(
            0, "idx", pc.add(batch.table.column("idx"), offset)
        )
        result = monitor.ingest(
            EventBatch(batch.kind, shifted, batch.received),
            [
                Rejection(r.index + offset, r.field, r.value, r.reason)
                for r in rejections
            ],
        )
        total.add(result)
        bar.advance(batch.received)
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


def _prediction_table(
    table: pa.Table, columns: Columns, model: str, path: Path
) -> pa.Table:
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
    if len(columns.segments) > LIMITS.segments:
        raise InvalidInputError(
            "--segment",
            f"{len(columns.segments)} columns",
            f"must name at most {LIMITS.segments} segment columns",
        )
    events = _select(table, wanted, model, path)
    if columns.segments:
        events = events.append_column(
            "segments", _segment_map(table, sorted(columns.segments))
        )
    return events


def _label_table(table: pa.Table, columns: Columns, model: str, path: Path) -> pa.Table:
    wanted = {
        "prediction_id": (columns.prediction_id, "--id"),
        "ts": (columns.label_ts, "--label-time"),
        "y_true": (columns.y_true, "--truth"),
    }
    if columns.model:
        wanted["model"] = (columns.model, "--model-column")
    return _select(table, wanted, model, path)


def _select(
    table: pa.Table, wanted: dict[str, tuple[str, str]], model: str, path: Path
) -> pa.Table:
    """Return the wanted file columns under their event field names."""
    arrays = []
    for column, option in wanted.values():
        _require(table, column, option, path)
        arrays.append(table.column(column))
    events = pa.Table.from_arrays(arrays, names=list(wanted))
    if "model" not in wanted:
        events = events.append_column(
            "model", pa.array([model] * table.num_rows, pa.string())
        )
    return events


def _segment_map(table: pa.Table, names: list[str]) -> pa.MapArray[Any, Any]:
    """Build each row's {name: value} map from segment columns, nulls left out."""
    values = [
        np.asarray(table.column(n).cast(pa.string()).to_numpy(zero_copy_only=False))
        for n in names
    ]
    grid = np.stack(values, axis=1)  # rows x segments, None where null
    present = grid != None  # noqa: E711 (element-wise comparison with None)
    offsets = np.concatenate(([0], np.cumsum(present.sum(axis=1))))
    keys = np.broadcast_to(np.array(names, dtype=object), grid.shape)[present]
    return pa.MapArray.from_arrays(
        pa.array(offsets, pa.int64()),
        pa.array(keys.tolist(), pa.string()),
        pa.array(grid[present].tolist(), pa.string()),
    )


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
