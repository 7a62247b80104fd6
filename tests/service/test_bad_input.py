"""Hostile and malformed input against a real server: never a 5xx, never data lost.

Each case was once found to break the service; the known-good events posted
first must read back the same after every one of them.
"""

from __future__ import annotations

import json
import math
import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from rmsewatch.service.process import ServerProcess

GOOD = [
    {
        "prediction_id": "g1",
        "model": "good",
        "ts": "2024-05-01T10:00:00Z",
        "y_pred": 3.0,
    },
    {
        "prediction_id": "g2",
        "model": "good",
        "ts": "2024-05-01T10:30:00Z",
        "y_pred": 5.0,
    },
]
GOOD_LABELS = [
    {
        "prediction_id": "g1",
        "model": "good",
        "ts": "2024-05-01T11:00:00Z",
        "y_true": 1.0,
    },
    {
        "prediction_id": "g2",
        "model": "good",
        "ts": "2024-05-01T11:00:00Z",
        "y_true": 1.0,
    },
]
GOOD_RMSE = math.sqrt((4.0 + 16.0) / 2)  # errors 2 and 4


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    db = tmp_path_factory.mktemp("bad") / "store.duckdb"
    with (
        ServerProcess(db, args=["--label-ttl", "1d", "--orphan-ttl", "7d"]) as server,
        httpx.Client(base_url=server.url, timeout=60) as http,
    ):
        assert http.post("/v1/predictions", json=GOOD).json()["accepted"] == 2
        assert http.post("/v1/labels", json=GOOD_LABELS).json()["joined"] == 2
        yield http


@pytest.fixture(autouse=True)
def good_events_survive(client: httpx.Client) -> Iterator[None]:
    yield
    body = client.get(
        "/v1/models/good/metrics",
        params={"start": "2024-05-01T10:00:00Z", "end": "2024-05-01T11:00:00Z"},
    ).json()
    assert body["overall"]["count"] == 2
    assert body["overall"]["rmse"] == pytest.approx(GOOD_RMSE, rel=1e-12)


def _event(**fields: Any) -> dict[str, Any]:
    return {
        "prediction_id": "x",
        "model": "hostile",
        "ts": "2024-05-01T10:00:00Z",
        "y_pred": 1.0,
        **fields,
    }


def _raw(client: httpx.Client, body: str, *, ndjson: bool = False) -> httpx.Response:
    media = "application/x-ndjson" if ndjson else "application/json"
    return client.post(
        "/v1/predictions", content=body.encode(), headers={"content-type": media}
    )


def test_lone_surrogate_is_rejected_not_a_server_error(client: httpx.Client) -> None:
    body = '[{"prediction_id":"\\ud800","model":"hostile","ts":1714557600,"y_pred":1},'
    body += '{"prediction_id":"ok-1","model":"hostile","ts":1714557600,"y_pred":1}]'
    reply = _raw(client, body)
    assert reply.status_code == 200
    result = reply.json()
    assert (result["accepted"], result["rejected"]) == (1, 1)
    assert result["rejections"][0]["field"] == "prediction_id"
    assert "must be valid Unicode" in result["rejections"][0]["reason"]


def test_integer_of_5000_digits_is_one_rejected_line(client: httpx.Client) -> None:
    lines = [json.dumps(_event(prediction_id="ok-2")), '{"y_pred":' + "1" * 5000 + "}"]
    reply = _raw(client, "\n".join(lines), ndjson=True)
    assert reply.status_code == 200
    assert reply.json()["rejections"][0]["index"] == 1
    assert "line 2 cannot be read as JSON" in reply.json()["rejections"][0]["reason"]
    array = _raw(client, "[" + "1" * 5000 + "]")
    assert array.status_code == 400
    assert array.json()["field"] == "body"


def test_huge_float_epoch_is_rejected_with_its_range(client: httpx.Client) -> None:
    reply = client.post(
        "/v1/predictions",
        json=[_event(prediction_id="ok-3"), _event(prediction_id="big", ts=1e308)],
    )
    assert reply.status_code == 200
    (rejection,) = reply.json()["rejections"]
    assert rejection["reason"] == "must lie between 1970-01-01 and 2200-01-01 (UTC)"
    assert reply.json()["accepted"] == 1


@pytest.mark.parametrize(
    ("params", "field", "rule"),
    [
        ({"start": "1e308"}, "start", "must lie between 1970-01-01"),
        ({"end": "nan"}, "end", "must be a finite number of seconds"),
        ({"window": "1000000d"}, "window", "must be at most 36500d"),
        ({"window": "99999999999999d"}, "window", "is not a duration"),
        ({"window": "1" * 5000 + "h"}, "window", "is not a duration"),
        ({"window": "1d", "start": "2024-05-01T00:00:00Z"}, "window", "cannot be"),
    ],
)
def test_bad_query_values_are_422_naming_the_parameter(
    client: httpx.Client, params: dict[str, str], field: str, rule: str
) -> None:
    reply = client.get("/v1/models/good/metrics", params=params)
    assert reply.status_code == 422
    assert reply.json()["field"] == field
    assert rule in reply.json()["rule"]


def test_magnitudes_that_would_overflow_the_sums_are_rejected(
    client: httpx.Client,
) -> None:
    reply = client.post(
        "/v1/predictions",
        json=[
            _event(prediction_id="w", y_pred=1e49, weight=1e60),
            _event(prediction_id="y", y_pred=1e60),
        ],
    )
    fields = [(r["field"], r["reason"]) for r in reply.json()["rejections"]]
    rule = "must be at most 1e+50 in magnitude (larger values overflow the error sums)"
    assert fields == [("weight", rule), ("y_pred", rule)]


def test_event_far_in_the_future_cannot_drag_the_model_clock(
    client: httpx.Client,
) -> None:
    reply = client.post(
        "/v1/labels",
        json=[{"prediction_id": "t", "model": "good", "ts": "2199-05-01T11:00:00Z",
               "y_true": 1.0}],
    )  # fmt: skip
    assert (
        "more than 1 day after the server's current time"
        in (reply.json()["rejections"][0]["reason"])
    )
    (good,) = [
        m for m in client.get("/v1/models").json()["models"] if m["model"] == "good"
    ]
    assert good["clock"] == "2024-05-01T11:00:00Z"


def test_label_too_old_to_ever_join_is_rejected_not_dropped(
    client: httpx.Client,
) -> None:
    reply = client.post(
        "/v1/labels",
        json=[{"prediction_id": "gone", "model": "good", "ts": "2024-04-01T00:00:00Z",
               "y_true": 1.0}],
    )  # fmt: skip
    result = reply.json()
    assert (result["accepted"], result["orphaned"], result["rejected"]) == (0, 0, 1)
    assert "older than the orphan TTL (7d)" in result["rejections"][0]["reason"]


def test_ndjson_splits_on_newlines_only(client: httpx.Client) -> None:
    lines = [
        json.dumps(_event(prediction_id="ok-4", segments={"s": "a\u2028b"}),
                   ensure_ascii=False),
        json.dumps(_event(prediction_id="ok-5")),
    ]  # fmt: skip
    reply = _raw(client, "\r\n".join(lines), ndjson=True)
    assert (reply.json()["accepted"], reply.json()["rejected"]) == (2, 0)


def test_model_name_with_a_slash_is_refused(client: httpx.Client) -> None:
    reply = client.post("/v1/predictions", json=[_event(model="a/b")])
    (rejection,) = reply.json()["rejections"]
    assert rejection["reason"] == "must not contain '/' or control characters"


def test_body_over_the_limit_is_refused_from_its_declared_length(
    client: httpx.Client,
) -> None:
    # httpx will not send a length it does not mean to honour: speak HTTP by hand.
    url = httpx.URL(str(client.base_url))
    with socket.create_connection((url.host, url.port or 80), timeout=30) as sock:
        sock.sendall(
            b"POST /v1/predictions HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\nContent-Length: 100000000000\r\n\r\n[]"
        )
        received = b""
        while b'"rule"' not in received:  # the reply may come in several pieces
            piece = sock.recv(4096)
            if not piece:
                break
            received += piece
        reply = received.decode()
    assert reply.startswith("HTTP/1.1 413")
    assert '"field":"body"' in reply


def test_features_with_nan_are_rejected(client: httpx.Client) -> None:
    body = json.dumps([_event(prediction_id="f", features={"f": float("nan")})])
    reply = _raw(client, body)
    assert reply.json()["rejections"][0]["reason"] == (
        "must not hold NaN or Infinity (they are not JSON)"
    )


def test_head_healthz_answers(client: httpx.Client) -> None:
    assert client.head("/healthz").status_code == 200
