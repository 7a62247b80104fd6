"""Objectives over HTTP and on the command line, against a real server."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from rmsewatch.service.process import ServerProcess
from tests.test_sli import THRESHOLD, events


def test_slos_endpoint_and_status_command_agree_on_the_budget(tmp_path: Path) -> None:
    config = tmp_path / "rmsewatch.yaml"
    config.write_text(THRESHOLD)
    db = tmp_path / "store.duckdb"
    predictions, labels = events()

    with ServerProcess(db, args=["--label-ttl", "1d", "--config", str(config)]) as s:
        assert (
            httpx.post(f"{s.url}/v1/predictions", json=predictions).status_code == 200
        )
        assert httpx.post(f"{s.url}/v1/labels", json=labels).status_code == 200
        (listed,) = httpx.get(f"{s.url}/v1/slos").json()["slos"]
        one = httpx.get(f"{s.url}/v1/slos/hourly-rmse").json()
        missing = httpx.get(f"{s.url}/v1/slos/nope")

    assert listed == one
    assert (one["final"]["good"], one["final"]["bad"]) == (3, 2)
    assert one["final"]["budget_remaining"] == pytest.approx(-3.0)
    assert [a["breaching"] for a in one["alerts"]] == [False, True]
    assert missing.status_code == 404

    done = subprocess.run(
        [sys.executable, "-m", "rmsewatch", "slo", "status", "--config", str(config),
         "--db", str(db), "--format", "json", "--label-ttl", "1d"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (status,) = json.loads(done.stdout)
    assert status["final"] == one["final"]
    table = subprocess.run(
        [sys.executable, "-m", "rmsewatch", "slo", "status", "--config", str(config),
         "--db", str(db)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert "hourly-rmse" in table.stdout
    assert "ticket 3h/2h" in table.stdout


def test_serve_refuses_an_objectives_file_with_mistakes(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("slos:\n  - {name: x, model: m, target: 2}\n")
    done = subprocess.run(
        [sys.executable, "-m", "rmsewatch", "serve", "--db", str(tmp_path / "s.duckdb"),
         "--config", str(config)],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert "slos[0].target: 2 must be less than 1" in done.stderr
    assert "slos[0].sli: is required" in done.stderr
