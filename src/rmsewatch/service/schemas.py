"""Pydantic models of the HTTP API's bodies, for validation docs and OpenAPI.

Ingest bodies are validated column by column in :mod:`rmsewatch.events_json`; the
event models here describe them in the OpenAPI schema.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

__all__ = [
    "IngestReply",
    "LabelEvent",
    "LabelsReply",
    "MetricsReply",
    "ModelsReply",
    "PredictionEvent",
    "SeriesReply",
]


class PredictionEvent(BaseModel):
    """A prediction served by a model."""

    prediction_id: str = Field(max_length=256, description="unique within the model")
    model: str = Field(max_length=128)
    model_version: str | None = Field(default=None, max_length=128)
    ts: str | float = Field(description="event time: RFC 3339 with offset or epoch s")
    y_pred: float
    segments: dict[str, str] | None = Field(
        default=None, description="segment name to value, e.g. carrier, region"
    )
    features: dict[str, Any] | None = None
    weight: float | None = Field(default=None, ge=0)


class LabelEvent(BaseModel):
    """The observed truth for a prediction."""

    prediction_id: str = Field(max_length=256)
    model: str = Field(max_length=128)
    ts: str | float = Field(description="when the truth was observed")
    y_true: float


class RejectionOut(BaseModel):
    index: int
    field: str
    value: Any
    reason: str


class IngestReply(BaseModel):
    accepted: int
    duplicates: int
    rejected: int
    joined: int
    orphaned: int
    repeated: int
    corrected: int
    rejections: list[RejectionOut]


class Figures(BaseModel):
    """Counts, label coverage and every metric of one window (null if undefined)."""

    predicted: int
    labelled: int
    label_coverage: float | None
    count: int
    weight_sum: float | None
    mse: float | None
    rmse: float | None
    rmse_ci_low: float | None
    rmse_ci_high: float | None
    mae: float | None
    mean_error: float | None
    mape: float | None
    mape_excluded: int
    smape: float | None
    rmsle: float | None
    rmsle_excluded: int
    r2_score: float | None
    nrmse_std: float | None
    nrmse_range: float | None
    nrmse_mean: float | None
    nrmse_iqr: float | None
    max_abs_error: float | None
    abs_error_p50: float | None
    abs_error_p90: float | None
    abs_error_p99: float | None


class SegmentFigures(Figures):
    segment: str
    value: str


class MetricsReply(BaseModel):
    model: str
    version: str | None
    start: str
    end: str
    window: str
    overall: Figures
    segments: list[SegmentFigures]


class Point(Figures):
    start: str
    end: str


class SeriesReply(BaseModel):
    model: str
    version: str | None
    segment: str | None
    value: str | None
    step: str
    window: str
    start: str
    end: str
    points: list[Point]


class Latency(BaseModel):
    p50: float | None
    p90: float | None
    p99: float | None
    mean: float | None
    max: float | None


class LabelsReply(BaseModel):
    model: str
    start: str
    end: str
    window: str
    predicted: int
    labelled: int
    label_coverage: float | None
    pending: int
    missing: int
    missing_rate: float | None
    late: int
    skewed: int
    latency_seconds: Latency
    orphans_waiting: int
    orphans_expired: int
    duplicate_labels: int
    corrected_labels: int
    repeated_labels: int
    label_ttl_seconds: float


class ModelOut(BaseModel):
    model: str
    versions: list[str | None]
    predicted: int
    labelled: int
    first_bucket: str | None
    clock: str
    segments: list[str]


class ModelsReply(BaseModel):
    models: list[ModelOut]
