"""The one object the service, the command line and library users talk to.

A :class:`Monitor` owns a store and offers the whole data path: ingest
predictions and labels, then read windows, series, label figures and models.
Durations and times are taken as users write them (``"24h"``, RFC 3339 or
epoch seconds) and checked here, so the HTTP API and the CLI accept the same
spellings and reject the same mistakes.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rmsewatch.errors import InvalidInputError, NotFoundError
from rmsewatch.events import EventBatch, Rejection
from rmsewatch.events_json import parse_labels, parse_predictions
from rmsewatch.ingest_result import IngestResult
from rmsewatch.joiner import ingest_labels, ingest_predictions
from rmsewatch.objectives import Objective, ObjectivesFile
from rmsewatch.reports import label_report, model_list
from rmsewatch.settings import Settings
from rmsewatch.sli import evaluate_objective
from rmsewatch.stats import ErrorStats
from rmsewatch.store import Store
from rmsewatch.times import format_duration, parse_duration, parse_ts
from rmsewatch.windows import Span, entry, resolve_span, segment_stats, series_points

__all__ = ["Monitor"]

TimeArg = str | float | int | None


class Monitor:
    """Ingest events into a DuckDB store and answer windows from it.

    Parameters
    ----------
    path
        The DuckDB file, created if absent; ``":memory:"`` for a throwaway store.
    settings
        Bucket width, label and orphan TTLs, label policy and batch limit.

    Examples
    --------
    >>> m = Monitor(":memory:")
    >>> _ = m.add_predictions([{"prediction_id": "a", "model": "m",
    ...     "ts": "2024-01-01T00:10:00Z", "y_pred": 3.0}])
    >>> _ = m.add_labels([{"prediction_id": "a", "model": "m",
    ...     "ts": "2024-01-01T01:00:00Z", "y_true": 1.0}])
    >>> m.metrics("m", window="1h")["overall"]["rmse"]
    2.0
    """

    def __init__(
        self,
        path: str | Path,
        settings: Settings | None = None,
        objectives: ObjectivesFile | None = None,
    ) -> None:
        self.store = Store(path, settings)
        self.settings = self.store.settings
        self.objectives: list[Objective] = list(objectives.slos) if objectives else []
        self._check_objective_windows()

    def close(self) -> None:
        """Close the store."""
        self.store.close()

    # Ingest

    def add_predictions(self, records: Sequence[Any]) -> IngestResult:
        """Validate and store prediction events (JSON objects)."""
        self._check_batch_size(len(records))
        batch, rejections = parse_predictions(records)
        return self.ingest(batch, rejections)

    def add_labels(self, records: Sequence[Any]) -> IngestResult:
        """Validate and join label events (JSON objects)."""
        self._check_batch_size(len(records))
        batch, rejections = parse_labels(records)
        return self.ingest(batch, rejections)

    def ingest(
        self, batch: EventBatch, rejections: Sequence[Rejection] = ()
    ) -> IngestResult:
        """Store an already validated batch in one transaction."""
        ingest = ingest_predictions if batch.kind == "predictions" else ingest_labels
        with self.store.transaction() as con:
            return ingest(con, self.settings, batch, list(rejections))

    def _check_batch_size(self, n: int) -> None:
        if n > self.settings.max_batch:
            raise InvalidInputError(
                "events",
                f"{n} events",
                f"exceeds the batch limit of {self.settings.max_batch}; "
                "split the batch (or raise --max-batch)",
            )

    # Reads

    def models(self) -> list[dict[str, Any]]:
        """Return every model with its versions, counts, segments and clock."""
        with self.store.reading() as con:
            return model_list(con)

    def metrics(
        self,
        model: str,
        *,
        window: str | None = None,
        start: TimeArg = None,
        end: TimeArg = None,
        version: str | None = None,
        segment: str | None = None,
    ) -> dict[str, Any]:
        """Return every metric of a window, overall and per segment value.

        The window is ``window`` (default 24h) ending at ``end``, or
        ``start``..``end``.
        """
        with self.store.reading() as con:
            span = self._span(model, window, start, end, default="24h")
            groups = segment_stats(con, model, span, version=version, segment=segment)
        overall = groups.pop(("", ""), None)
        segments = [
            {"segment": seg, "value": value, **entry(*groups[(seg, value)])}
            for seg, value in sorted(groups)
        ]
        return {
            "model": model,
            "version": version,
            **span.describe(),
            "overall": entry(*overall) if overall else entry(0, 0, ErrorStats.empty()),
            "segments": segments,
        }

    def series(
        self,
        model: str,
        *,
        step: str = "1h",
        window: str | None = None,
        start: TimeArg = None,
        end: TimeArg = None,
        version: str | None = None,
        segment: str | None = None,
        value: str | None = None,
    ) -> dict[str, Any]:
        """Return a window's figures every ``step``; ``window`` defaults to ``step``."""
        step_us = parse_duration(step, field="step")
        window_us = (
            step_us if window is None else parse_duration(window, field="window")
        )
        if (segment is None) != (value is None):
            raise InvalidInputError(
                "segment" if value is None else "value",
                segment if value is None else value,
                "needs its partner: give both segment and value, or neither",
            )
        with self.store.reading() as con:
            clock = self._clock(model)
            end_us = None if end is None else parse_ts(end, field="end")
            if start is None:
                # By default the series covers the 24 steps before its end.
                last = resolve_span(
                    self.settings.bucket_us, clock, start_us=0, end_us=end_us
                )
                start_us = max(0, last.end_us - 24 * step_us)
            else:
                start_us = parse_ts(start, field="start")
            span = resolve_span(
                self.settings.bucket_us, clock, start_us=start_us, end_us=end_us
            )
            points = series_points(
                con,
                model,
                self.settings.bucket_us,
                span,
                step_us,
                window_us,
                version=version,
                segment=segment,
                value=value,
            )
        return {
            "model": model,
            "version": version,
            "segment": segment,
            "value": value,
            "step": format_duration(step_us),
            "window": format_duration(window_us),
            "start": span.describe()["start"],
            "end": span.describe()["end"],
            "points": points,
        }

    def labels(
        self,
        model: str,
        *,
        window: str | None = None,
        start: TimeArg = None,
        end: TimeArg = None,
        version: str | None = None,
    ) -> dict[str, Any]:
        """Return label latency quantiles and pending, missing, orphan, skew counts.

        The window defaults to the 30 days before ``end``.
        """
        with self.store.reading() as con:
            span = self._span(model, window, start, end, default="30d")
            return label_report(con, self.settings, model, span, version=version)

    def _check_objective_windows(self) -> None:
        """Refuse SLI windows that are not whole buckets of this store."""
        bucket = self.settings.bucket_us
        for i, objective in enumerate(self.objectives):
            window = getattr(objective.sli, "window", None)
            if window is not None and parse_duration(window) % bucket:
                raise InvalidInputError(
                    f"slos[{i}].sli.window",
                    window,
                    f"must be a whole number of this store's "
                    f"{format_duration(bucket)} buckets",
                )

    def slo_status(self, name: str | None = None) -> list[dict[str, Any]]:
        """Evaluate the objectives (or the one named) at their models' clocks.

        An objective whose model has no events yet reports ``"no_events"``.
        """
        chosen = [o for o in self.objectives if name is None or o.name == name]
        if name is not None and not chosen:
            raise NotFoundError(
                "objective", name, "list them with GET /v1/slos or rmsewatch slo check"
            )
        statuses = []
        with self.store.reading() as con:
            for objective in chosen:
                try:
                    clock = self._clock(objective.model)
                except NotFoundError:
                    statuses.append(
                        {"name": objective.name, "model": objective.model,
                         "status": "no_events"}
                    )  # fmt: skip
                    continue
                status = evaluate_objective(con, self.settings, objective, clock)
                statuses.append({"status": "evaluated", **status})
        return statuses

    def _span(
        self,
        model: str,
        window: str | None,
        start: TimeArg,
        end: TimeArg,
        *,
        default: str,
    ) -> Span:
        clock = self._clock(model)
        if window is None and start is None:
            window = default
        return resolve_span(
            self.settings.bucket_us,
            clock,
            window_us=None
            if window is None
            else parse_duration(window, field="window"),
            start_us=None if start is None else parse_ts(start, field="start"),
            end_us=None if end is None else parse_ts(end, field="end"),
        )

    def _clock(self, model: str) -> int:
        rows = self.store.con.execute(
            "SELECT epoch_us(clock) FROM models WHERE model = ?", [model]
        ).fetchall()
        if not rows:
            raise NotFoundError(
                "model", model, "list the known models with GET /v1/models"
            )
        return int(rows[0][0])
