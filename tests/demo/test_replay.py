"""The demo's HTTP replay: its requests on the real data, and its posting."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

from rmsewatch.demo.flights import (
    MODEL,
    MODEL_VERSION,
)
from rmsewatch.demo.replay import ReplayError, build_requests, replay
from rmsewatch.errors import InvalidInputError

Requests = list[tuple[str, bytes]]


@pytest.fixture(scope="module")
def monthly_requests(predictions: pd.DataFrame, labels: pd.DataFrame) -> Requests:
    # A 30-day chunk holds ~28,000 predictions, so requests must be split.
    return list(build_requests(predictions, labels, chunk="30d"))


# --- build_requests ---------------------------------------------------------------


def _predictions(*times: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "prediction_id": [f"p{i}" for i in range(len(times))],
            "model": MODEL,
            "model_version": MODEL_VERSION,
            "ts": pd.to_datetime(list(times), utc=True),
            "y_pred": [0.1 * i + 1 / 3 for i in range(len(times))],
            "carrier": "UA",
            "origin": "EWR",
            "dest": "IAH",
            "distance": 1400,
        }
    )


def _labels(*times: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "prediction_id": [f"l{i}" for i in range(len(times))],
            "model": MODEL,
            "ts": pd.to_datetime(list(times), utc=True),
            "y_true": [float(i) for i in range(len(times))],
        }
    )


def _ids(requests: Requests) -> list[tuple[str, list[str]]]:
    return [
        (path, [json.loads(line)["prediction_id"] for line in body.splitlines()])
        for path, body in requests
    ]


def test_requests_go_chunk_by_chunk_with_predictions_first() -> None:
    predictions = _predictions(
        "2013-03-01T07:00Z", "2013-03-01T00:10Z", "2013-03-01T05:00Z"
    )
    labels = _labels("2013-03-01T13:00Z", "2013-03-01T01:00Z", "2013-03-01T06:30Z")

    requests = list(build_requests(predictions, labels, chunk="6h"))

    assert _ids(requests) == [
        ("/v1/predictions", ["p1", "p2"]),
        ("/v1/labels", ["l1"]),
        ("/v1/predictions", ["p0"]),
        ("/v1/labels", ["l2"]),
        ("/v1/labels", ["l0"]),
    ]


def test_requests_hold_at_most_max_events() -> None:
    times = [f"2013-03-01T00:{minute:02d}Z" for minute in range(25)]

    requests = list(
        build_requests(_predictions(*times), _labels(), chunk="1h", max_events=10)
    )

    assert [len(ids) for _, ids in _ids(requests)] == [10, 10, 5]


def test_prediction_lines_are_json_objects_with_segments_and_features() -> None:
    predictions = _predictions("2013-03-01T10:15Z")

    [(_, body)] = build_requests(predictions, _labels())

    assert body.endswith(b"\n")
    event = json.loads(body)
    assert event == {
        "prediction_id": "p0",
        "model": MODEL,
        "model_version": MODEL_VERSION,
        "ts": "2013-03-01T10:15:00.000Z",
        "y_pred": pytest.approx(1 / 3, rel=1e-14),
        "segments": {"carrier": "UA", "origin": "EWR"},
        "features": {"dest": "IAH", "distance": 1400},
    }


def test_label_lines_are_json_objects() -> None:
    [(path, body)] = build_requests(_predictions(), _labels("2013-03-01T10:15Z"))

    assert path == "/v1/labels"
    assert json.loads(body) == {
        "prediction_id": "l0",
        "model": MODEL,
        "ts": "2013-03-01T10:15:00.000Z",
        "y_true": 0.0,
    }


def test_real_requests_cover_every_event_once(
    predictions: pd.DataFrame, labels: pd.DataFrame, monthly_requests: Requests
) -> None:
    sizes = {"/v1/predictions": 0, "/v1/labels": 0}
    for path, body in monthly_requests:
        events = body.count(b"\n")
        assert 0 < events <= 10_000
        sizes[path] += events

    assert sizes == {"/v1/predictions": len(predictions), "/v1/labels": len(labels)}


def test_real_requests_are_in_event_time_order_per_stream(
    monthly_requests: Requests,
) -> None:
    previous = {"/v1/predictions": "", "/v1/labels": ""}
    for path, body in monthly_requests:
        times = [json.loads(line)["ts"] for line in body.splitlines()]
        assert times == sorted(times)
        assert previous[path] <= times[0]
        previous[path] = times[-1]


def test_real_requests_round_trip_the_predictions(
    predictions: pd.DataFrame, monthly_requests: Requests
) -> None:
    path, body = monthly_requests[0]
    events = [json.loads(line) for line in body.splitlines()]
    sent = pd.DataFrame(events).set_index("prediction_id")
    expected = predictions.set_index("prediction_id").loc[sent.index]

    assert path == "/v1/predictions"
    assert (pd.to_datetime(sent["ts"], utc=True) == expected["ts"]).all()
    # 15 decimals: tiny values lose relative, never absolute, precision.
    np.testing.assert_allclose(
        sent["y_pred"], expected["y_pred"], rtol=1e-13, atol=1e-14
    )
    assert sent["segments"].iloc[0].keys() == {"carrier", "origin"}
    assert sent["features"].iloc[0].keys() == {"dest", "distance", "hour"}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"chunk": "6 hours"}, r"chunk: '6 hours' is not a duration"),
        ({"chunk": "0h"}, r"chunk: '0h' is not a duration"),
        ({"max_events": 0}, r"max_events: 0 must be at least 1"),
        ({"max_events": 2.5}, r"max_events: 2.5 must be an integer"),
    ],
)
def test_bad_request_options_are_refused(kwargs: Any, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        build_requests(_predictions(), _labels(), **kwargs)


def test_times_without_a_zone_are_refused() -> None:
    naive = _labels("2013-03-01T10:15").assign(
        ts=lambda f: f["ts"].dt.tz_localize(None)
    )

    with pytest.raises(InvalidInputError, match=r"labels.ts: .* must be a timezone"):
        build_requests(_predictions(), naive)


def test_missing_times_are_refused() -> None:
    missing = _predictions("2013-03-01T10:15Z", "2013-03-01T10:15Z")
    missing.loc[1, "ts"] = pd.NaT

    with pytest.raises(InvalidInputError, match=r"'NaT in row 1' must be set"):
        build_requests(missing, _labels())


def test_predictions_need_their_segment_columns() -> None:
    with pytest.raises(InvalidInputError, match=r"\['origin'\] are required columns"):
        build_requests(_predictions().drop(columns="origin"), _labels())


# --- replay ---------------------------------------------------------------------


Handler = Callable[[httpx.Request], httpx.Response]


def _client(handler: Handler) -> httpx.Client:
    return httpx.Client(transport=httpx.MockTransport(handler))


def _counts(accepted: int, rejected: int = 0, **extra: Any) -> dict[str, Any]:
    return {"accepted": accepted, "duplicates": 0, "rejected": rejected, **extra}


def test_replay_posts_ndjson_in_order_and_sums_the_replies() -> None:
    predictions = _predictions("2013-03-01T00:10Z", "2013-03-01T07:00Z")
    labels = _labels("2013-03-01T01:00Z")
    seen: list[tuple[str, str, int]] = []
    progress: list[tuple[int, int]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        events = request.content.count(b"\n")
        seen.append((request.url.path, request.headers["content-type"], events))
        if request.url.path == "/v1/labels":
            return httpx.Response(200, json=_counts(events, joined=events))
        return httpx.Response(200, json={**_counts(events - 1), "duplicates": 1})

    report = replay(
        "http://rmsewatch.test/",
        predictions,
        labels,
        client=_client(handler),
        progress=lambda done, total: progress.append((done, total)),
    )

    assert seen == [
        ("/v1/predictions", "application/x-ndjson", 1),
        ("/v1/labels", "application/x-ndjson", 1),
        ("/v1/predictions", "application/x-ndjson", 1),
    ]
    assert progress == [(1, 3), (2, 3), (3, 3)]
    assert report.requests == 3
    assert (report.predictions.sent, report.predictions.accepted) == (2, 0)
    assert report.predictions.duplicates == 2
    assert (report.labels.sent, report.labels.accepted) == (1, 1)
    assert report.labels.extra == {"joined": 1}


def test_replay_stops_at_the_first_rejection() -> None:
    predictions = _predictions("2013-03-01T00:10Z", "2013-03-01T00:20Z")
    rejection = {"index": 1, "field": "ts", "value": "x", "reason": "must be a time"}

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=_counts(1, 1, rejections=[rejection]))

    with pytest.raises(ReplayError, match=r"rejected 1 of 2 events") as caught:
        replay("http://rmsewatch.test", predictions, _labels(), client=_client(handler))

    assert '[1] ts=\'x\' must be a time in {"prediction_id":"p1"' in str(caught.value)
    assert caught.value.rejections == [rejection]


@pytest.mark.parametrize(
    ("response", "message"),
    [
        (httpx.Response(500, text="boom"), r"answered HTTP 500: boom"),
        (httpx.Response(200, text="<html>"), r"body that is not JSON"),
        (httpx.Response(200, json=[1]), r"expected a JSON object of counts"),
        (
            httpx.Response(200, json={"accepted": 1, "rejected": 0}),
            r"reply field 'duplicates' is None; expected an integer count",
        ),
    ],
)
def test_replay_refuses_a_bad_reply(response: httpx.Response, message: str) -> None:
    with pytest.raises(ReplayError, match=message):
        replay(
            "http://rmsewatch.test",
            _predictions("2013-03-01T00:10Z"),
            _labels(),
            client=_client(lambda request: response),
        )


def test_replay_says_when_the_server_is_unreachable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(ReplayError, match=r"is `rmsewatch serve` running there\?"):
        replay(
            "http://rmsewatch.test",
            _predictions("2013-03-01T00:10Z"),
            _labels(),
            client=_client(handler),
        )
