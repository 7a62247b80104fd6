"""The main job end to end: the demo's figures against an independent oracle.

Runs the whole ``rmsewatch demo`` (real server process, real DuckDB file, the
full March-December replay over loopback) once, then compares what the
service reported per month with plain pandas over the same flights.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rich.console import Console

from rmsewatch.demo.run import (
    MONTHS,
    WORST_WEEK_MIN_LABELS,
    DemoSummary,
    run_demo,
)
from tests.demo.oracle import monthly_errors


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[DemoSummary, str]:
    out = io.StringIO()
    db = tmp_path_factory.mktemp("demo") / "flights.duckdb"
    summary = run_demo(db_path=str(db), console=Console(file=out, width=120))
    return summary, out.getvalue()


def test_monthly_rmse_matches_pandas_over_the_same_flights(
    demo: tuple[DemoSummary, str], flights: pd.DataFrame, predictions: pd.DataFrame
) -> None:
    summary, _ = demo
    oracle = monthly_errors(flights, predictions)
    assert sum(summary.months[m]["predicted"] for m in MONTHS) == len(predictions)
    for month in MONTHS:
        served, expected = summary.months[month], oracle.loc[month]
        assert served["count"] == expected["count"], month
        assert served["rmse"] == pytest.approx(expected["rmse"], rel=1e-9), month
        assert served["mae"] == pytest.approx(expected["mae"], rel=1e-9), month
        assert served["mean_error"] == pytest.approx(
            expected["mean_error"], rel=1e-9, abs=1e-9
        ), month


def test_cancelled_flights_show_up_as_missing_labels(
    demo: tuple[DemoSummary, str], flights: pd.DataFrame
) -> None:
    summary, _ = demo
    in_range = flights[flights["ts"] >= pd.Timestamp("2013-03-01T00:00:00Z")]
    landed = int(in_range["label_ts"].notna().sum())
    report = summary.labels
    assert report["predicted"] == len(in_range)
    assert report["labelled"] == landed
    # The last two days' flights are still pending: the 2d label TTL has not run.
    assert report["missing"] + report["pending"] == len(in_range) - landed
    assert report["pending"] < 100
    assert report["missing_rate"] == pytest.approx(
        report["missing"] / (report["predicted"] - report["pending"])
    )


def test_worst_week_is_the_weekly_maximum_and_matches_pandas(
    demo: tuple[DemoSummary, str], flights: pd.DataFrame, predictions: pd.DataFrame
) -> None:
    summary, _ = demo
    counted = [w for w in summary.weeks if w["labelled"] >= WORST_WEEK_MIN_LABELS]
    assert summary.worst_week["rmse"] == max(w["rmse"] for w in counted)
    joined = predictions.merge(flights[["prediction_id", "arr_delay"]])
    week = joined[
        (joined["ts"] >= pd.Timestamp(summary.worst_week["start"]))
        & (joined["ts"] < pd.Timestamp(summary.worst_week["end"]))
        & joined["arr_delay"].notna()
    ]
    error = week["y_pred"] - week["arr_delay"]
    assert summary.worst_week["rmse"] == pytest.approx(
        float(np.sqrt(np.mean(error**2))), rel=1e-9
    )


def test_summary_prints_every_section(demo: tuple[DemoSummary, str]) -> None:
    summary, printed = demo
    for text in (
        "arrival delay error per month",
        "worst week",
        "its worst segments",
        "label latency",
        "missing labels",
        f"database: {summary.db_path}",
    ):
        assert text in printed
    assert Path(summary.db_path).is_file()


def test_hourly_rmse_objective_matches_pandas_over_the_same_hours(
    demo: tuple[DemoSummary, str], flights: pd.DataFrame, predictions: pd.DataFrame
) -> None:
    summary, printed = demo
    (status,) = [s for s in summary.slos if s["name"] == "flights-rmse-1h"]
    start, end = pd.Timestamp(status["start"]), pd.Timestamp(status["end"])
    joined = predictions.merge(flights[["prediction_id", "arr_delay"]])
    window = joined[(joined["ts"] >= start) & (joined["ts"] < end)]
    labelled = window[window["arr_delay"].notna()]
    hours = labelled.groupby(labelled["ts"].dt.floor("h"))
    squared = (labelled["y_pred"] - labelled["arr_delay"]) ** 2
    rmse = np.sqrt(squared.groupby(labelled["ts"].dt.floor("h")).mean())
    counted = rmse[hours.size() >= 30]  # min_count in rmsewatch.yaml
    good, bad = int((counted <= 60).sum()), int((counted > 60).sum())
    assert (status["provisional"]["good"], status["provisional"]["bad"]) == (good, bad)
    assert "flights-rmse-1h" in printed
