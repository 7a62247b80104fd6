"""Throughput of ``rmsewatch evaluate`` and of HTTP ingest, beside numpy.

Prints a markdown table: for each path, the rows (or events) per second and
numpy's time for RMSE, MAE, bias and R² over the same arrays, measured in the
same run. numpy does no join, no validation and no storage, so the ratio says
what the whole data path costs over the bare arithmetic.

    .venv/bin/python bench/throughput.py                 # 10M rows, 400k events
    .venv/bin/python bench/throughput.py --rows 1000000  # quicker
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import numpy as np
import pandas as pd

from rmsewatch.evaluate import Columns, evaluate_files
from rmsewatch.service.process import ServerProcess
from rmsewatch.settings import Settings

SEGMENTS = 100
DAYS = 30


def synthetic(rows: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return predictions and shuffled labels (90% of them) for ``rows`` events."""
    rng = np.random.default_rng(seed)
    start = np.datetime64("2024-01-01T00:00:00", "us")
    offsets = np.sort(rng.integers(0, DAYS * 86_400_000_000, rows))
    y_true = rng.normal(100.0, 20.0, rows)
    predictions = pd.DataFrame(
        {
            "prediction_id": np.char.add("p", np.arange(rows).astype(str)),
            "ts": pd.to_datetime(start + offsets, utc=True),
            "y_pred": y_true + rng.normal(0.0, 5.0, rows),
            "segment": np.char.add("s", rng.integers(0, SEGMENTS, rows).astype(str)),
        }
    )
    keep = rng.uniform(size=rows) < 0.9
    labels = pd.DataFrame(
        {
            "prediction_id": predictions["prediction_id"][keep],
            "label_ts": predictions["ts"][keep] + pd.Timedelta(hours=1),
            "y_true": y_true[keep],
        }
    ).sample(frac=1.0, random_state=seed)
    return predictions, labels


def numpy_seconds(y_true: np.ndarray, y_pred: np.ndarray, repeat: int = 5) -> float:
    """Return the best time of numpy's RMSE, MAE, bias and R² over the arrays."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        error = y_pred - y_true
        np.sqrt(np.mean(error * error))
        np.mean(np.abs(error))
        np.mean(error)
        1 - np.sum(error * error) / np.sum((y_true - y_true.mean()) ** 2)
        best = min(best, time.perf_counter() - started)
    return best


def joined_arrays(
    predictions: pd.DataFrame, labels: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray]:
    joined = predictions.merge(labels, on="prediction_id")
    return joined["y_true"].to_numpy(), joined["y_pred"].to_numpy()


def bench_evaluate(rows: int, folder: Path) -> dict[str, float | int | str]:
    predictions, labels = synthetic(rows)
    predictions.to_parquet(folder / "predictions.parquet", index=False)
    labels.to_parquet(folder / "labels.parquet", index=False)
    started = time.perf_counter()
    report = evaluate_files(
        folder / "predictions.parquet",
        folder / "labels.parquet",
        Columns(label_ts="label_ts", segments=("segment",)),
        settings=Settings.from_text(label_ttl="1d"),
        window="1d",
    )
    seconds = time.perf_counter() - started
    y_true, y_pred = joined_arrays(predictions, labels)
    overall = report["models"][0]["whole"]["overall"]
    expected = float(np.sqrt(np.mean((y_pred - y_true) ** 2)))
    if abs(overall["rmse"] - expected) > 1e-9 * expected:
        raise SystemExit(f"evaluate RMSE {overall['rmse']} != numpy {expected}")
    return {
        "path": f"`rmsewatch evaluate`, {rows:,} predictions + labels (Parquet)",
        "seconds": seconds,
        "per_second": rows / seconds,
        "numpy_seconds": numpy_seconds(y_true, y_pred),
    }


def bench_ingest(events: int, folder: Path, batch: int) -> dict[str, float | int | str]:
    predictions, labels = synthetic(events // 2, seed=1)
    pred_lines = [
        json.dumps(
            {
                "prediction_id": pid,
                "model": "bench",
                "ts": ts,
                "y_pred": y,
                "segments": {"segment": seg},
            }
        )
        for pid, ts, y, seg in zip(
            predictions["prediction_id"],
            predictions["ts"].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            predictions["y_pred"],
            predictions["segment"],
            strict=True,
        )
    ]
    label_lines = [
        json.dumps({"prediction_id": pid, "model": "bench", "ts": ts, "y_true": y})
        for pid, ts, y in zip(
            labels["prediction_id"],
            labels["label_ts"].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            labels["y_true"],
            strict=True,
        )
    ]
    bodies = [
        (path, "\n".join(lines[i : i + batch]).encode())
        for path, lines in (
            ("/v1/predictions", pred_lines),
            ("/v1/labels", label_lines),
        )
        for i in range(0, len(lines), batch)
    ]
    headers = {"content-type": "application/x-ndjson"}
    with (
        ServerProcess(folder / "ingest.duckdb", args=["--label-ttl", "1d"]) as server,
        httpx.Client(base_url=server.url, timeout=300) as client,
    ):
        started = time.perf_counter()
        for path, body in bodies:
            client.post(path, content=body, headers=headers).raise_for_status()
        seconds = time.perf_counter() - started
        served = client.get(
            "/v1/models/bench/metrics", params={"start": "2024-01-01T00:00:00Z"}
        ).json()["overall"]
    y_true, y_pred = joined_arrays(predictions, labels)
    expected = float(np.sqrt(np.mean((y_pred - y_true) ** 2)))
    if abs(served["rmse"] - expected) > 1e-9 * expected:
        raise SystemExit(f"served RMSE {served['rmse']} != numpy {expected}")
    sent = len(pred_lines) + len(label_lines)
    return {
        "path": f"HTTP ingest, {sent:,} NDJSON events in batches of {batch:,}",
        "seconds": seconds,
        "per_second": sent / seconds,
        "numpy_seconds": numpy_seconds(y_true, y_pred),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--events", type=int, default=400_000)
    parser.add_argument("--batch", type=int, default=10_000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        results = [
            bench_evaluate(args.rows, Path(folder)),
            bench_ingest(args.events, Path(folder), args.batch),
        ]
    print(
        f"{datetime.now(UTC):%Y-%m-%d}, {platform.machine()}, "
        f"{__import__('os').cpu_count()} cores, Python {platform.python_version()}\n"
    )
    print("| path | seconds | rows or events / s | numpy metrics (s) | ratio |")
    print("|---|---:|---:|---:|---:|")
    for r in results:
        ratio = float(r["seconds"]) / float(r["numpy_seconds"])
        print(
            f"| {r['path']} | {float(r['seconds']):.1f} | "
            f"{float(r['per_second']):,.0f} | {float(r['numpy_seconds']):.4f} | "
            f"{ratio:,.0f}x |"
        )


if __name__ == "__main__":
    main()
