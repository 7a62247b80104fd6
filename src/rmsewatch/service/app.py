"""The FastAPI application: ingest endpoints, window reads and health.

Errors map to status codes here and only here: a rule broken by the request is
422 with the field, value and rule; an unknown model 404; a body over the size
limit 413; a body that is not JSON 400.
"""

from __future__ import annotations

import json
import logging
from typing import Annotated, Any

from fastapi import FastAPI, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from rmsewatch import __version__
from rmsewatch.errors import InvalidInputError, NotFoundError, RmsewatchError
from rmsewatch.events import UnparsedEvent
from rmsewatch.events import json_safe as _json_safe
from rmsewatch.monitor import Monitor
from rmsewatch.service.schemas import (
    IngestReply,
    LabelEvent,
    LabelsReply,
    MetricsReply,
    ModelsReply,
    PredictionEvent,
    SeriesReply,
)

__all__ = ["NDJSON_TYPES", "create_app"]

log = logging.getLogger(__name__)

NDJSON_TYPES = frozenset(
    {"application/x-ndjson", "application/ndjson", "application/jsonl"}
)
DEFAULT_MAX_BODY = 64 * 1024 * 1024


class BodyError(RmsewatchError):
    """The request body cannot be read as events."""

    def __init__(self, status: int, rule: str, value: str | int | None = None) -> None:
        self.status = status
        self.rule = rule
        self.value = value
        super().__init__(f"body: {rule}")


def _ingest_body(event: type[PredictionEvent] | type[LabelEvent]) -> dict[str, Any]:
    schema = {"type": "array", "items": event.model_json_schema()}
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": schema},
                "application/x-ndjson": {
                    "schema": {
                        "type": "string",
                        "description": f"one {event.__name__} JSON object per line",
                    }
                },
            },
        }
    }


def create_app(monitor: Monitor, *, max_body: int = DEFAULT_MAX_BODY) -> FastAPI:
    """Return the HTTP application serving ``monitor``."""
    app = FastAPI(
        title="rmsewatch",
        version=__version__,
        description="RMSE of regression models in production, with late labels.",
    )
    _add_error_handlers(app)

    async def read_events(request: Request) -> list[Any]:
        body = await _read_body(request, max_body)
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BodyError(
                400,
                f"is not UTF-8 (invalid byte at offset {exc.start}); send UTF-8 JSON",
            ) from exc
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media in NDJSON_TYPES:
            return _parse_ndjson(text)
        return _parse_json_array(text)

    @app.api_route("/healthz", methods=["GET", "HEAD"], tags=["health"])
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    @app.post(
        "/v1/predictions",
        response_model=IngestReply,
        tags=["ingest"],
        openapi_extra=_ingest_body(PredictionEvent),
    )
    async def post_predictions(request: Request) -> dict[str, Any]:
        """Store prediction events; reply with what was accepted and rejected."""
        events = await read_events(request)
        result = await run_in_threadpool(monitor.add_predictions, events)
        return result.as_dict()

    @app.post(
        "/v1/labels",
        response_model=IngestReply,
        tags=["ingest"],
        openapi_extra=_ingest_body(LabelEvent),
    )
    async def post_labels(request: Request) -> dict[str, Any]:
        """Join label events to their predictions; reply with what happened."""
        events = await read_events(request)
        result = await run_in_threadpool(monitor.add_labels, events)
        return result.as_dict()

    @app.get("/v1/slos", tags=["objectives"])
    def get_slos() -> dict[str, Any]:
        """Every objective of the --config file, evaluated at its model's clock."""
        return {"slos": monitor.slo_status()}

    @app.get("/v1/slos/{name}", tags=["objectives"])
    def get_slo(name: str) -> dict[str, Any]:
        """One objective: SLI, budget, burn rates per alert window, slices' state."""
        (status,) = monitor.slo_status(name)
        return status

    @app.get("/v1/models", response_model=ModelsReply, tags=["read"])
    def get_models() -> dict[str, Any]:
        return {"models": monitor.models()}

    @app.get("/v1/models/{model}/metrics", response_model=MetricsReply, tags=["read"])
    def get_metrics(
        model: str,
        window: Annotated[
            str | None, Query(description="e.g. 1h, 24h, 7d; default 24h")
        ] = None,
        start: Annotated[str | None, Query(description="RFC 3339 or epoch s")] = None,
        end: Annotated[str | None, Query(description="default: latest event")] = None,
        version: str | None = None,
        segment: Annotated[str | None, Query(description="one segment name")] = None,
    ) -> dict[str, Any]:
        """Every metric of one window, overall and per segment value."""
        return monitor.metrics(
            model,
            window=window,
            start=_time(start),
            end=_time(end),
            version=version,
            segment=segment,
        )

    @app.get("/v1/models/{model}/series", response_model=SeriesReply, tags=["read"])
    def get_series(
        model: str,
        step: str = "1h",
        window: str | None = None,
        start: str | None = None,
        end: str | None = None,
        version: str | None = None,
        segment: str | None = None,
        value: str | None = None,
    ) -> dict[str, Any]:
        """The metrics of a window repeated every ``step`` (a time series)."""
        return monitor.series(
            model,
            step=step,
            window=window,
            start=_time(start),
            end=_time(end),
            version=version,
            segment=segment,
            value=value,
        )

    @app.get("/v1/models/{model}/labels", response_model=LabelsReply, tags=["read"])
    def get_labels(
        model: str,
        window: Annotated[str | None, Query(description="default 30d")] = None,
        start: str | None = None,
        end: str | None = None,
        version: str | None = None,
    ) -> dict[str, Any]:
        """Label latency quantiles and pending, missing, late, orphan, skew counts."""
        return monitor.labels(
            model, window=window, start=_time(start), end=_time(end), version=version
        )

    return app


def _time(text: str | None) -> str | float | None:
    """Accept epoch seconds in a query string as well as RFC 3339."""
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        return text


async def _read_body(request: Request, max_body: int) -> bytes:
    """Read the body, refusing it as soon as it passes ``max_body`` bytes."""
    too_big = f"exceeds the limit of {max_body} bytes; split the batch"
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_body:
        raise BodyError(413, too_big, int(declared))
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > max_body:
                raise BodyError(413, too_big, size)
            chunks.append(chunk)
    except ClientDisconnect as exc:
        raise BodyError(400, "the client went away before the body ended") from exc
    return b"".join(chunks)


def _parse_json_array(text: str) -> list[Any]:
    if not text.strip():
        raise BodyError(400, "is empty; send a JSON array of events")
    try:
        events = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BodyError(
            400,
            f"is not valid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}; "
            "send a JSON array, or NDJSON with Content-Type application/x-ndjson",
        ) from exc
    except (ValueError, RecursionError) as exc:
        # Integers of over 4300 digits, or nesting past Python's recursion limit.
        raise BodyError(400, f"cannot be read as JSON: {exc}"[:300]) from exc
    if not isinstance(events, list):
        kind = "object" if isinstance(events, dict) else "single value"
        raise BodyError(422, f"is a JSON {kind}; send a JSON array of events")
    return events


def _parse_ndjson(text: str) -> list[Any]:
    events: list[Any] = []
    # Split on newlines only: U+2028 and friends may stand inside JSON strings.
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError as exc:
            reason = f"line {number} is not valid JSON: {exc.msg}"
            events.append(UnparsedEvent(line[:200], reason))
        except (ValueError, RecursionError) as exc:
            reason = f"line {number} cannot be read as JSON: {exc}"[:300]
            events.append(UnparsedEvent(line[:200], reason))
    return events


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(InvalidInputError)
    async def invalid(request: Request, exc: InvalidInputError) -> JSONResponse:
        value = _json_safe(exc.value)
        if not isinstance(value, str | int | float | None):
            value = str(value)[:200]
        return JSONResponse(
            status_code=422,
            content={
                "detail": str(exc),
                "field": exc.field,
                "value": value,
                "rule": exc.rule,
            },
        )

    @app.exception_handler(NotFoundError)
    async def not_found(request: Request, exc: NotFoundError) -> JSONResponse:
        return JSONResponse(
            status_code=404,
            content={
                "detail": str(exc)[:500],
                "field": exc.kind,
                "value": exc.name[:200],
                "rule": "not found",
            },
        )

    @app.exception_handler(BodyError)
    async def bad_body(request: Request, exc: BodyError) -> JSONResponse:
        return JSONResponse(
            status_code=exc.status,
            content={
                "detail": str(exc),
                "field": "body",
                "value": exc.value,
                "rule": exc.rule,
            },
        )
