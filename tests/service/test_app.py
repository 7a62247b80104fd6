"""The HTTP API end to end, against a real ``rmsewatch serve`` on loopback.

The scenario below is small enough to compute by hand. Model ``price``, hourly
buckets, label TTL 1 day, policy ``first``:

==== ===== ====== ====== ======= ================ ======= =====================
id   ts    y_pred region version label ts         y_true  error (pred - true)
==== ===== ====== ====== ======= ================ ======= =====================
p1   10:00 10     north  v1      10:30            12      -2
p2   10:15 20     south  v1      10:10 (skewed)   17      3
p3   10:30 30     north  v1      11:00 (+ 12:00)  28      2 (the later 35 loses)
p4   11:05 40     south  v2      3 May 11:05      44      -4 (late: 2 days)
p5   11:20 50     north  v2      11:40 (first)    55      -5 (orphan, then joins)
p6   11:30 60     south  v2      never            -       missing
==== ===== ====== ====== ======= ================ ======= =====================

All on 2024-05-01 UTC. Errors -2, 3, 2, -4, -5: MSE 58/5 = 11.6, MAE 16/5,
bias -6/5. North -2, 2, -5: MSE 33/3 = 11. South 3, -4: MSE 25/2.
Hour 10: -2, 3, 2 (MSE 17/3); hour 11: -4, -5 (MSE 41/2).
"""

from __future__ import annotations

import json
import math
from typing import Any

import httpx
import pytest

from tests.conftest import StartServer

DAY = "2024-05-01T"


def _pred(pid: str, hhmm: str, y: float, region: str, version: str) -> dict[str, Any]:
    return {
        "prediction_id": pid,
        "model": "price",
        "model_version": version,
        "ts": f"{DAY}{hhmm}:00Z",
        "y_pred": y,
        "segments": {"region": region},
    }


def _label(pid: str, ts: str, y: float) -> dict[str, Any]:
    return {"prediction_id": pid, "model": "price", "ts": ts, "y_true": y}


def _post(client: httpx.Client, path: str, events: list[Any]) -> dict[str, Any]:
    reply = client.post(path, json=events)
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


def _post_ndjson(client: httpx.Client, path: str, events: list[Any]) -> dict[str, Any]:
    body = "\n".join(json.dumps(e) for e in events) + "\n"
    reply = client.post(
        path, content=body, headers={"content-type": "application/x-ndjson"}
    )
    assert reply.status_code == 200, reply.text
    result: dict[str, Any] = reply.json()
    return result


@pytest.fixture(scope="module")
def scenario(
    tmp_path_factory: pytest.TempPathFactory,
) -> Any:
    """Play the scenario into a real server once; yield (client, replies)."""
    from rmsewatch.service.process import ServerProcess

    db = tmp_path_factory.mktemp("app") / "store.duckdb"
    with ServerProcess(db, args=["--label-ttl", "1d"]) as server:
        client = httpx.Client(base_url=server.url, timeout=30)
        replies = {
            "orphan_first": _post(
                client,
                "/v1/labels",
                [
                    _label("p5", f"{DAY}11:40:00Z", 55),
                    _label("p9", f"{DAY}11:50:00Z", 9),
                ],
            ),
            "predictions": _post_ndjson(
                client,
                "/v1/predictions",
                [
                    _pred("p1", "10:00", 10, "north", "v1"),
                    _pred("p2", "10:15", 20, "south", "v1"),
                    _pred("p3", "10:30", 30, "north", "v1"),
                    _pred("p4", "11:05", 40, "south", "v2"),
                    {**_pred("px", "11:10", 0, "north", "v2"), "y_pred": "abc"},
                    _pred("p1", "10:00", 10, "north", "v1"),
                    _pred("p5", "11:20", 50, "north", "v2"),
                    _pred("p6", "11:30", 60, "south", "v2"),
                ],
            ),
            "labels": _post(
                client,
                "/v1/labels",
                [
                    _label("p1", f"{DAY}10:30:00Z", 12),
                    _label("p2", f"{DAY}10:10:00Z", 17),
                    _label("p3", f"{DAY}12:00:00Z", 35),
                    _label("p3", f"{DAY}11:00:00Z", 28),
                    {"prediction_id": "p4", "model": "price", "ts": f"{DAY}12:00:00Z"},
                ],
            ),
            "resend": _post(
                client, "/v1/labels", [_label("p1", f"{DAY}10:30:00Z", 12)]
            ),
            "late": _post(
                client, "/v1/labels", [_label("p4", "2024-05-03T11:05:00Z", 44)]
            ),
        }
        yield client, replies
        client.close()


def test_ingest_replies_count_accepted_duplicate_and_rejected(scenario: Any) -> None:
    _, replies = scenario
    assert replies["orphan_first"]["orphaned"] == 2
    predictions = replies["predictions"]
    assert (predictions["accepted"], predictions["duplicates"]) == (6, 1)
    assert predictions["joined"] == 1  # p5's waiting label
    assert predictions["rejections"] == [
        {
            "index": 4,
            "field": "y_pred",
            "value": "abc",
            "reason": "must be a JSON number",
        }
    ]
    labels = replies["labels"]
    assert labels["joined"] == 3
    assert labels["repeated"] == 1  # p3's later label loses under policy first
    assert labels["rejections"][0]["index"] == 4
    assert labels["rejections"][0]["field"] == "y_true"
    assert replies["resend"]["duplicates"] == 1
    assert replies["resend"]["accepted"] == 0


def test_metrics_match_hand_computed_values(scenario: Any) -> None:
    client, _ = scenario
    body = client.get(
        "/v1/models/price/metrics",
        params={
            "start": f"{DAY}10:00:00Z",
            "end": f"{DAY}12:00:00Z",
            "segment": "region",
        },
    ).json()
    overall = body["overall"]
    assert (overall["predicted"], overall["labelled"]) == (6, 5)
    assert overall["label_coverage"] == pytest.approx(5 / 6)
    assert overall["mse"] == pytest.approx(11.6, rel=1e-12)
    assert overall["rmse"] == pytest.approx(math.sqrt(11.6), rel=1e-12)
    assert overall["mae"] == pytest.approx(3.2, rel=1e-12)
    assert overall["mean_error"] == pytest.approx(-1.2, rel=1e-12)
    assert overall["max_abs_error"] == 5.0
    by_region = {s["value"]: s for s in body["segments"]}
    assert by_region["north"]["rmse"] == pytest.approx(math.sqrt(11), rel=1e-12)
    assert by_region["north"]["count"] == 3
    assert by_region["south"]["rmse"] == pytest.approx(math.sqrt(12.5), rel=1e-12)
    assert by_region["south"]["label_coverage"] == pytest.approx(2 / 3)


def test_metrics_filter_by_version(scenario: Any) -> None:
    client, _ = scenario
    body = client.get(
        "/v1/models/price/metrics",
        params={"start": f"{DAY}10:00:00Z", "end": f"{DAY}12:00:00Z", "version": "v1"},
    ).json()
    assert body["overall"]["rmse"] == pytest.approx(math.sqrt(17 / 3), rel=1e-12)


def test_series_gives_one_point_per_hour(scenario: Any) -> None:
    client, _ = scenario
    body = client.get(
        "/v1/models/price/series",
        params={"step": "1h", "start": f"{DAY}10:00:00Z", "end": f"{DAY}12:00:00Z"},
    ).json()
    points = body["points"]
    assert [p["end"] for p in points] == [f"{DAY}11:00:00Z", f"{DAY}12:00:00Z"]
    assert points[0]["mse"] == pytest.approx(17 / 3, rel=1e-12)
    assert points[1]["mse"] == pytest.approx(41 / 2, rel=1e-12)
    assert [p["predicted"] for p in points] == [3, 3]


def test_label_report_counts_latency_missing_orphans_and_skew(scenario: Any) -> None:
    client, _ = scenario
    body = client.get(
        "/v1/models/price/labels",
        params={"start": f"{DAY}00:00:00Z", "end": "2024-05-04T00:00:00Z"},
    ).json()
    assert (body["predicted"], body["labelled"]) == (6, 5)
    assert (body["missing"], body["pending"]) == (1, 0)
    assert body["missing_rate"] == pytest.approx(1 / 6)
    assert (body["late"], body["skewed"]) == (1, 1)
    assert body["orphans_waiting"] == 1  # p9 never gets its prediction
    assert body["duplicate_labels"] == 1
    # Latencies: p1 1800 s, p2 -300 s, p3 1800 s, p4 172800 s, p5 1200 s.
    assert body["latency_seconds"]["p50"] == 1800.0
    assert body["latency_seconds"]["max"] == 172800.0


def test_models_lists_versions_and_segments(scenario: Any) -> None:
    client, _ = scenario
    (model,) = client.get("/v1/models").json()["models"]
    assert model["model"] == "price"
    assert model["versions"] == ["v1", "v2"]
    assert model["segments"] == ["region"]
    assert (model["predicted"], model["labelled"]) == (6, 5)
    assert model["clock"] == "2024-05-03T11:05:00Z"


def test_errors_name_the_field_and_rule(scenario: Any) -> None:
    client, _ = scenario
    reply = client.get("/v1/models/price/metrics", params={"window": "90x"})
    assert reply.status_code == 422
    assert reply.json()["field"] == "window"
    assert "is not a duration" in reply.json()["rule"]
    missing = client.get("/v1/models/nope/metrics")
    assert missing.status_code == 404
    assert "model 'nope' not found" in missing.json()["detail"]
    not_json = client.post("/v1/predictions", content=b"[{")
    assert not_json.status_code == 400
    assert "not valid JSON" in not_json.json()["detail"]
    not_array = client.post("/v1/predictions", json={"prediction_id": "x"})
    assert not_array.status_code == 422
    assert not_array.json()["field"] == "body"
    assert not_array.json()["rule"] == "is a JSON object; send a JSON array of events"


def test_openapi_describes_the_versioned_api(scenario: Any) -> None:
    client, _ = scenario
    paths = client.get("/openapi.json").json()["paths"]
    assert {
        "/v1/predictions",
        "/v1/labels",
        "/v1/models",
        "/v1/models/{model}/metrics",
        "/v1/models/{model}/series",
        "/v1/models/{model}/labels",
        "/healthz",
    } <= set(paths)


def test_batch_over_the_limit_is_refused_whole(start_server: StartServer) -> None:
    server = start_server("--max-batch", "2")
    events = [_pred(f"q{i}", "10:00", 1, "north", "v1") for i in range(3)]
    reply = httpx.post(f"{server.url}/v1/predictions", json=events)
    assert reply.status_code == 422
    assert "exceeds the batch limit of 2" in reply.json()["detail"]
    models = httpx.get(f"{server.url}/v1/models").json()["models"]
    assert models == []
