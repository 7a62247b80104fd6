"""Every window a Monitor serves equals a recompute from the raw events.

Hypothesis draws a small history (two versions, two segment names, labels in
either order, repeats, resends, conflicting predictions and labels for ids that
never come), shuffles its arrival order, cuts it into batches and feeds it to a
Monitor. An independent pandas recompute then applies the documented rules to
the raw rows: the first arrival of a prediction id is the stored one; each
prediction's label is chosen by the policy over its distinct labels ordered by
(label ts, first arrival); errors fall in the bucket of the prediction's time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

from rmsewatch import Monitor, Settings

T0 = datetime(2024, 3, 1, tzinfo=UTC)
T0_SECONDS = int(T0.timestamp())
HOUR = 3_600
DAY = 24 * HOUR
SPAN_DAYS = 3
SEGMENT_VALUES = {"carrier": ("AA", "UA", "DL"), "origin": ("JFK", "LGA")}
# Label delays come from a short list, so labels of different predictions
# often share a time.
LABEL_DELAYS = (-600, 0, 1_800, HOUR, 5 * HOUR, DAY)


@dataclass(frozen=True)
class Arrival:
    """One event as sent, with the instant its ``ts`` spells (seconds)."""

    kind: str  # "prediction" or "label"
    event: dict[str, Any]
    seconds: int


def spell(seconds: int, style: int) -> str | int | float:
    """Write an instant as epoch seconds or as RFC 3339 with some offset."""
    if style == 0:
        return seconds
    if style == 1:
        return float(seconds)
    moment = datetime.fromtimestamp(seconds, UTC)
    if style == 2:
        return moment.isoformat().replace("+00:00", "Z")
    return moment.astimezone(timezone(timedelta(hours=5, minutes=30))).isoformat()


_value = st.integers(-400, 400).map(lambda k: k / 4)
_style = st.integers(0, 3)


@st.composite
def histories(draw: st.DrawFn) -> list[Arrival]:
    """Draw the events of one model, already in a random arrival order."""
    arrivals: list[Arrival] = []
    labels: list[Arrival] = []
    for k in range(draw(st.integers(1, 10))):
        seconds = T0_SECONDS + draw(st.integers(0, SPAN_DAYS * DAY - 1))
        event: dict[str, Any] = {
            "prediction_id": f"p{k}",
            "model": "m",
            "ts": spell(seconds, draw(_style)),
            "y_pred": draw(_value),
        }
        version = draw(st.sampled_from(["v1", "v2", None]))
        if version is not None:
            event["model_version"] = version
        segments: dict[str, str] = {}
        for name, values in SEGMENT_VALUES.items():
            if draw(st.booleans()):
                segments[name] = draw(st.sampled_from(values))
        send_empty = draw(st.booleans())
        if segments or send_empty:
            event["segments"] = segments
        weight = draw(st.sampled_from([None, 0.5, 2.0]))
        if weight is not None:
            event["weight"] = weight
        arrivals.append(Arrival("prediction", event, seconds))
        if draw(st.integers(0, 4)) == 0:  # a conflicting version of it
            changed = event | {"y_pred": event["y_pred"] + 1}
            arrivals.append(Arrival("prediction", changed, seconds))
        if draw(st.integers(0, 4)) == 0:  # an identical resend, spelled anew
            same = event | {"ts": spell(seconds, draw(_style))}
            arrivals.append(Arrival("prediction", same, seconds))
        for j in range(draw(st.integers(0, 3))):
            # + j keeps different labels of one prediction off the same time:
            # ties go to arrival order, and two bugs break that (test_joiner.py).
            label_seconds = seconds + draw(st.sampled_from(LABEL_DELAYS)) + j
            labels.append(label_arrival(f"p{k}", label_seconds, draw(_value), draw))
    for k in range(draw(st.integers(0, 2))):
        seconds = T0_SECONDS + draw(st.integers(0, SPAN_DAYS * DAY - 1))
        labels.append(label_arrival(f"ghost{k}", seconds, draw(_value), draw))
    if labels:
        for original in draw(st.lists(st.sampled_from(labels), max_size=3)):
            labels.append(
                label_arrival(
                    original.event["prediction_id"],
                    original.seconds,
                    original.event["y_true"],
                    draw,
                )
            )
    arrivals.extend(labels)
    order: list[Arrival] = draw(st.permutations(arrivals))
    return order


def label_arrival(pid: str, seconds: int, y_true: float, draw: st.DrawFn) -> Arrival:
    event = {
        "prediction_id": pid,
        "model": "m",
        "ts": spell(seconds, draw(_style)),
        "y_true": y_true,
    }
    return Arrival("label", event, seconds)


def batches(arrivals: list[Arrival], cuts: list[bool]) -> list[list[Arrival]]:
    """Cut the arrivals into batches of one kind, keeping their order."""
    cut: list[list[Arrival]] = []
    for a, new_batch in zip(arrivals, cuts, strict=True):
        if not cut or cut[-1][0].kind != a.kind or new_batch:
            cut.append([])
        cut[-1].append(a)
    return cut


# --- the independent recompute ------------------------------------------------------


def recompute(arrivals: list[Arrival], policy: str) -> pd.DataFrame:
    """Return one row per stored prediction with its chosen label, if any."""
    stored: dict[str, Arrival] = {}
    for a in arrivals:
        if a.kind == "prediction":
            stored.setdefault(a.event["prediction_id"], a)
    first_arrival: dict[tuple[str, int, float], int] = {}
    for position, a in enumerate(arrivals):
        if a.kind == "label":
            key = (a.event["prediction_id"], a.seconds, a.event["y_true"])
            first_arrival.setdefault(key, position)

    rows = []
    for pid, a in stored.items():
        candidates = sorted(
            (seconds, position, y_true)
            for (lid, seconds, y_true), position in first_arrival.items()
            if lid == pid
        )
        chosen = None
        if candidates:
            chosen = candidates[0] if policy == "first" else candidates[-1]
        segments = a.event.get("segments", {})
        rows.append(
            {
                "version": a.event.get("model_version") or "",
                "bucket": (a.seconds - T0_SECONDS) // HOUR,
                "y_pred": a.event["y_pred"],
                "weight": a.event.get("weight", 1.0),
                "y_true": np.nan if chosen is None else chosen[2],
                "carrier": segments.get("carrier"),
                "origin": segments.get("origin"),
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "version",
            "bucket",
            "y_pred",
            "weight",
            "y_true",
            "carrier",
            "origin",
        ],
    )


def expected_figures(rows: pd.DataFrame) -> dict[str, Any]:
    """Compute a window's figures from its raw rows with numpy and sklearn."""
    labelled = rows[rows["y_true"].notna()]
    figures: dict[str, Any] = {
        "predicted": len(rows),
        "labelled": len(labelled),
        "count": len(labelled),
        "label_coverage": len(labelled) / len(rows) if len(rows) else None,
    }
    if labelled.empty:
        return figures | dict.fromkeys(["rmse", "mse", "mae", "mean_error"])
    y_true = labelled["y_true"].to_numpy(dtype=float)
    y_pred = labelled["y_pred"].to_numpy(dtype=float)
    weight = labelled["weight"].to_numpy(dtype=float)
    mse = mean_squared_error(y_true, y_pred, sample_weight=weight)
    constant = bool(np.all(y_true == y_true[0]))
    return figures | {
        "weight_sum": float(weight.sum()),
        "mse": mse,
        "rmse": math.sqrt(mse),
        "mae": mean_absolute_error(y_true, y_pred, sample_weight=weight),
        "mean_error": float(np.average(y_pred - y_true, weights=weight)),
        "r2_score": None
        if constant
        else r2_score(y_true, y_pred, sample_weight=weight),
    }


def assert_figures(actual: dict[str, Any], rows: pd.DataFrame, where: str) -> None:
    expected = expected_figures(rows)
    scale = 1.0 + float(np.abs(rows["y_pred"]).max()) if len(rows) else 1.0
    for name, value in expected.items():
        got = actual[name]
        if value is None or got is None:
            assert got == value, (where, name, got, value)
        else:
            assert math.isclose(got, value, rel_tol=1e-9, abs_tol=1e-9 * scale), (
                where,
                name,
                got,
                value,
            )


# --- the property ---------------------------------------------------------------------


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[str, list[list[Arrival]]]:
    policy = draw(st.sampled_from(["first", "last"]))
    arrivals = draw(histories())
    n = len(arrivals)
    cuts = draw(
        st.lists(st.integers(0, 3).map(lambda k: k == 0), min_size=n, max_size=n)
    )
    return policy, batches(arrivals, cuts)


def at_hour(h: int) -> str:
    return (T0 + timedelta(hours=h)).isoformat()


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(scenarios())
def test_every_window_equals_a_recompute_from_the_raw_events(
    scenario: tuple[str, list[list[Arrival]]],
) -> None:
    policy, cut = scenario
    m = Monitor(":memory:", Settings.from_text(orphan_ttl="3650d", label_policy=policy))
    for batch in cut:
        events = [a.event for a in batch]
        if batch[0].kind == "prediction":
            m.add_predictions(events)
        else:
            m.add_labels(events)
    arrivals = [a for batch in cut for a in batch]
    rows = recompute(arrivals, policy)

    series = m.series("m", step="1h", start=at_hour(0), end=at_hour(SPAN_DAYS * 24))
    assert len(series["points"]) == SPAN_DAYS * 24
    hours = dict(tuple(rows.groupby("bucket")))
    for h, point in enumerate(series["points"]):
        assert point["start"] == at_hour(h).replace("+00:00", "Z")
        assert_figures(point, hours.get(h, rows.iloc[:0]), f"hour {h}")

    for day in range(SPAN_DAYS):
        in_day = rows[rows["bucket"] // 24 == day]
        for version in (None, "v1"):
            chosen = in_day if version is None else in_day[in_day["version"] == "v1"]
            for name in SEGMENT_VALUES:
                window = m.metrics(
                    "m",
                    window="24h",
                    end=at_hour(24 * (day + 1)),
                    version=version,
                    segment=name,
                )
                where = f"day {day} version {version} segment {name}"
                assert_figures(window["overall"], chosen, where)
                present = chosen[chosen[name].notna()]
                served = {s["value"]: s for s in window["segments"]}
                assert sorted(served) == sorted(set(present[name])), where
                assert all(s["segment"] == name for s in window["segments"])
                for value, entry in served.items():
                    part = present[present[name] == value]
                    assert_figures(entry, part, f"{where}={value}")
