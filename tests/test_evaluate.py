"""``rmsewatch evaluate`` on files, checked against numpy and the HTTP path."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

from tests.conftest import StartServer

START = pd.Timestamp("2024-03-01T00:00:00Z")


def _events(n: int = 3000, seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    ts = START + pd.to_timedelta(np.sort(rng.uniform(0, 3 * 86400, n)), unit="s")
    y_true = rng.normal(100, 20, n)
    predictions = pd.DataFrame(
        {
            "id": [f"e{i}" for i in range(n)],
            "served_at": ts,
            "forecast": y_true + rng.normal(0, 5, n),
            "region": rng.choice(["north", "south", "east"], n),
        }
    )
    has_label = rng.uniform(size=n) > 0.1
    labels = pd.DataFrame(
        {
            "id": predictions["id"][has_label],
            "observed_at": ts[has_label]
            + pd.to_timedelta(rng.uniform(60, 7200, has_label.sum()), unit="s"),
            "actual": y_true[has_label],
        }
    ).sample(frac=1.0, random_state=seed)
    return predictions, labels


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rmsewatch", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("files")
    predictions, labels = _events()
    predictions.to_csv(folder / "predictions.csv", index=False)
    labels.to_parquet(folder / "labels.parquet", index=False)
    return folder / "predictions.csv", folder / "labels.parquet"


EVALUATE_OPTIONS = (
    "--model", "demand", "--id", "id", "--time", "served_at",
    "--label-time", "observed_at", "--prediction", "forecast", "--truth", "actual",
    "--segment", "region", "--label-ttl", "1d",
)  # fmt: skip


@pytest.fixture(scope="module")
def report(files: tuple[Path, Path]) -> dict[str, Any]:
    done = _run("evaluate", *map(str, files), *EVALUATE_OPTIONS,
                "--window", "1d", "--format", "json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_evaluate_matches_numpy_on_the_joined_rows(report: dict[str, Any]) -> None:
    predictions, labels = _events()
    joined = predictions.merge(labels, on="id")
    error = joined["forecast"] - joined["actual"]
    (model,) = report["models"]
    overall = model["whole"]["overall"]
    assert overall["count"] == len(joined)
    assert overall["predicted"] == len(predictions)
    assert overall["rmse"] == pytest.approx(np.sqrt(np.mean(error**2)), rel=1e-12)
    assert overall["mae"] == pytest.approx(np.mean(np.abs(error)), rel=1e-12)
    assert overall["mean_error"] == pytest.approx(np.mean(error), rel=1e-9)
    for segment in model["whole"]["segments"]:
        part = error[joined["region"] == segment["value"]]
        assert segment["rmse"] == pytest.approx(np.sqrt(np.mean(part**2)), rel=1e-12)


def test_evaluate_reports_each_day_and_the_join(report: dict[str, Any]) -> None:
    predictions, labels = _events()
    (model,) = report["models"]
    points = model["windows"]["points"]
    assert [p["end"][:10] for p in points] == ["2024-03-02", "2024-03-03", "2024-03-04"]
    day = predictions["served_at"].dt.floor("D")
    assert [p["predicted"] for p in points] == day.value_counts().sort_index().tolist()
    join = model["join"]
    assert join["labelled"] == len(labels)
    assert join["missing"] + join["pending"] == len(predictions) - len(labels)
    assert report["ingest"]["labels"]["orphaned"] == 0


def test_evaluate_agrees_with_the_http_path(
    files: tuple[Path, Path], report: dict[str, Any], start_server: StartServer
) -> None:
    predictions, labels = _events()
    server = start_server("--label-ttl", "1d")
    with httpx.Client(base_url=server.url, timeout=60) as client:
        # Labels first this time, in two halves around the predictions.
        half = len(labels) // 2
        for frame, path in (
            (labels.iloc[:half], "/v1/labels"),
            (predictions, "/v1/predictions"),
            (labels.iloc[half:], "/v1/labels"),
        ):
            events = _as_events(frame, path)
            reply = client.post(path, json=events)
            assert reply.status_code == 200
            assert reply.json()["rejected"] == 0
        (model,) = report["models"]
        served = client.get(
            "/v1/models/demand/metrics",
            params={"start": model["whole"]["start"], "end": model["whole"]["end"]},
        ).json()
    _assert_same_figures(served["overall"], model["whole"]["overall"])
    for got, want in zip(served["segments"], model["whole"]["segments"], strict=True):
        _assert_same_figures(got, want)


# Figures read from the KLL sketches are approximate and the sketch compacts at
# random, so two stores of the same events agree on them only within the
# sketch's rank error. Counts agree exactly; sums were merged in another order
# (events arrived in another order), so floats agree to rounding.
SKETCHED = ("abs_error_p50", "abs_error_p90", "abs_error_p99", "nrmse_iqr")


def _assert_same_figures(got: dict[str, Any], want: dict[str, Any]) -> None:
    assert set(got) == set(want)
    for name in set(got) - set(SKETCHED):
        if isinstance(want[name], float):
            assert got[name] == pytest.approx(want[name], rel=1e-12), name
        else:
            assert got[name] == want[name], name
    predictions, labels = _events()
    joined = predictions.merge(labels, on="id")
    if "value" in got:
        joined = joined[joined["region"] == got["value"]]
    errors = np.sort((joined["forecast"] - joined["actual"]).abs().to_numpy())
    for q in (0.5, 0.9, 0.99):
        for figures in (got, want):
            rank = np.searchsorted(errors, figures[f"abs_error_p{round(q * 100)}"])
            # KLL at k=200: normalised rank error within 1.65% (99% of the time).
            assert abs(rank / len(errors) - q) <= 0.0165 + 1 / len(errors)


def _as_events(frame: pd.DataFrame, path: str) -> list[dict[str, Any]]:
    def iso(column: str) -> list[str]:
        return list(frame[column].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))

    if path == "/v1/predictions":
        return [
            {
                "prediction_id": pid,
                "model": "demand",
                "ts": ts,
                "y_pred": y,
                "segments": {"region": region},
            }
            for pid, ts, y, region in zip(
                frame["id"],
                iso("served_at"),
                frame["forecast"],
                frame["region"],
                strict=True,
            )
        ]
    return [
        {"prediction_id": pid, "model": "demand", "ts": ts, "y_true": y}
        for pid, ts, y in zip(
            frame["id"], iso("observed_at"), frame["actual"], strict=True
        )
    ]


def test_missing_column_is_a_clear_error(files: tuple[Path, Path]) -> None:
    done = _run("evaluate", *map(str, files), *EVALUATE_OPTIONS, "--prediction", "nope")
    assert done.returncode == 2
    assert "--prediction: 'nope' is not a column of" in done.stderr
    assert "its columns are: id, served_at, forecast, region" in done.stderr


def test_unreadable_and_absent_files_fail_with_their_path(tmp_path: Path) -> None:
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"not parquet")
    done = _run("evaluate", str(broken), str(broken))
    assert done.returncode == 2
    assert f"file: '{broken}' cannot be read as parquet" in done.stderr
    absent = _run("evaluate", str(tmp_path / "none.csv"), str(broken))
    assert absent.returncode == 3
    assert "not found" in absent.stderr


def test_table_output_names_the_sections(files: tuple[Path, Path]) -> None:
    done = _run("evaluate", *map(str, files), *EVALUATE_OPTIONS, "--window", "1d")
    assert done.returncode == 0, done.stderr
    for heading in ("whole set", "per segment", "per 1d window", "join"):
        assert heading in done.stdout
