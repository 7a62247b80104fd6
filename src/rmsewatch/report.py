"""Printing reports in the terminal: rich tables, or JSON for machines."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.table import Table

__all__ = [
    "fmt",
    "render_evaluation",
    "render_slo_status",
    "wide_console",
    "window_table",
]

_WINDOW_COLUMNS = (
    ("labelled", "labelled"),
    ("label_coverage", "coverage"),
    ("rmse", "RMSE"),
    ("mae", "MAE"),
    ("mean_error", "bias"),
    ("r2_score", "R²"),
    ("abs_error_p90", "|e| p90"),
)


def wide_console() -> Console:
    """Return a console; when output is not a terminal, wide enough for tables."""
    console = Console()
    return console if console.is_terminal else Console(width=160)


def fmt(value: Any, digits: int = 4) -> str:
    """Format a figure for a table: counts whole, fractions short, None as '-'."""
    if value is None:
        return "-"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.{digits}g}" if abs(value) < 1e6 else f"{value:.4e}"
    return str(value)


def window_table(title: str, key_names: list[str], rows: list[dict[str, Any]]) -> Table:
    """Return a table of window figures with the given leading key columns."""
    table = Table(title=title, title_justify="left")
    for name in key_names:
        table.add_column(name)
    for _, label in _WINDOW_COLUMNS:
        table.add_column(label, justify="right")
    for row in rows:
        keys = [fmt(row.get(name)) for name in key_names]
        table.add_row(*keys, *(fmt(row.get(field)) for field, _ in _WINDOW_COLUMNS))
    return table


def render_evaluation(report: dict[str, Any], output_format: str) -> None:
    """Print an evaluation report as tables or as JSON on standard output."""
    console = wide_console()
    if output_format == "json":
        console.print_json(json.dumps(report))
        return
    for kind, summary in report["ingest"].items():
        console.print(
            f"[bold]{kind}[/]: {summary['rows']:,} rows, "
            f"{summary['accepted']:,} accepted, {summary['duplicates']:,} duplicates, "
            f"{summary['rejected']:,} rejected"
        )
        for rejection in summary["rejections"]:
            console.print(
                f"  row {rejection['index']}: {rejection['field']} = "
                f"{rejection['value']!r} {rejection['reason']}",
                markup=False,
            )
    for model in report["models"]:
        _render_model(console, model)


def _render_model(console: Console, model: dict[str, Any]) -> None:
    whole = model["whole"]
    console.print()
    console.print(
        f"[bold]model {model['model']}[/]  {whole['start']} .. {whole['end']}"
    )
    overall = Table(title="whole set", title_justify="left")
    overall.add_column("metric")
    overall.add_column("value", justify="right")
    for name, value in whole["overall"].items():
        overall.add_row(name, fmt(value, 6))
    console.print(overall)
    if whole["segments"]:
        console.print(
            window_table("per segment", ["segment", "value"], whole["segments"])
        )
    if "windows" in model:
        series = model["windows"]
        console.print(
            window_table(f"per {series['step']} window", ["end"], series["points"])
        )
    join = model["join"]
    latency = join["latency_seconds"]
    table = Table(title="join", title_justify="left")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for name in (
        "predicted",
        "labelled",
        "label_coverage",
        "pending",
        "missing",
        "missing_rate",
        "late",
        "skewed",
        "orphans_waiting",
        "orphans_expired",
        "duplicate_labels",
        "repeated_labels",
        "corrected_labels",
    ):
        table.add_row(name, fmt(join[name]))
    for q in ("p50", "p90", "p99", "max"):
        seconds = latency[q]
        table.add_row(
            f"label latency {q} (min)", fmt(None if seconds is None else seconds / 60)
        )
    console.print(table)


def render_slo_status(
    statuses: list[dict[str, Any]], output_format: str, console: Console | None = None
) -> None:
    """Print objectives' budgets and burn rates as a table or as JSON."""
    console = console or wide_console()
    if output_format == "json":
        console.print_json(json.dumps(statuses))
        return
    table = Table(title="objectives", title_justify="left")
    for name in ("objective", "segment", "at", "good", "bad", "no data",
                 "budget left", "provisional", "breaching"):  # fmt: skip
        table.add_column(name, justify="left" if name == "objective" else "right")
    for status in statuses:
        rows = [status, *status.get("segments", [])]
        for row in rows:
            if row.get("status") == "no_events":
                table.add_row(row["name"], "-", "no events yet", *["-"] * 6)
                continue
            final, provisional = row["final"], row["provisional"]
            breaching = [
                f"{a['severity']} {a['long']}/{a['short']}"
                for a in row["alerts"]
                if a["breaching"]
            ]
            table.add_row(
                row["name"],
                f"{row['segment']}={row['value']}" if row.get("segment") else "-",
                row["at"],
                fmt(final["good"]),
                fmt(final["bad"]),
                fmt(final["no_data"]),
                fmt(final["budget_remaining"], 3),
                fmt(provisional["budget_remaining"], 3),
                ", ".join(breaching) or "-",
            )
    console.print(table)
