"""Replaying the demo's events through rmsewatch's HTTP API in event-time order.

Both streams are merged by event time and cut into chunks of event time; each
chunk posts its predictions, then its labels, as NDJSON requests of at most
``MAX_EVENTS_PER_REQUEST`` events. Building the requests is vectorised; only
the posting loops, once per request.

Examples
--------
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
import pandas as pd
from numpy.typing import NDArray

from rmsewatch.demo.flights import SEGMENTS, require_columns
from rmsewatch.errors import InvalidInputError, RmsewatchError
from rmsewatch.times import parse_duration

__all__ = [
    "MAX_EVENTS_PER_REQUEST",
    "ReplayError",
    "ReplayReport",
    "StreamReport",
    "build_requests",
    "replay",
]

logger = logging.getLogger(__name__)

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
    require_columns(predictions, "predictions", _PREDICTION_COLUMNS)
    require_columns(predictions, "predictions", SEGMENTS)
    require_columns(labels, "labels", _LABEL_COLUMNS)

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
