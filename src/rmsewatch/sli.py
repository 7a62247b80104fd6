"""Evaluating objectives against the store: slices, error ratios, budgets, burns.

An objective is evaluated at its model's clock, in event time, so a replay
gives the figures live traffic would have given. Time slices are aligned to
multiples of the SLI window; the slice holding the clock is still open and
does not count. A slice is:

- *no data* when fewer than ``min_count`` predictions in it are labelled;
- *provisional* while its label coverage is under ``provisional.coverage``
  and its end is younger than the label TTL: late labels may still change it;
- otherwise good or bad by the SLI's rule.

Figures come twice: *final* (settled slices only) and *provisional* (all
slices with data). Burn rates use the provisional figures, since an alert
that waits for every label comes too late. With Timeslices budgeting an alert
window shorter than one slice is widened to one slice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
from numpy.typing import NDArray

from rmsewatch.budget import BurnWindow, Spend, scale_windows
from rmsewatch.objectives import (
    AbsErrorRatio,
    Objective,
    Relative,
    RmseThreshold,
)
from rmsewatch.settings import Settings
from rmsewatch.stats import ErrorStats
from rmsewatch.times import format_duration, format_ts, parse_duration

__all__ = ["alert_windows", "evaluate_objective"]

_Z95 = 1.959963984540054


@dataclass(frozen=True)
class _Totals:
    """Additive per-bucket sums, sorted by bucket start, with prefix sums."""

    start_us: NDArray[np.int64]
    columns: dict[str, NDArray[np.float64]]

    def window(self, start_us: int, end_us: int) -> dict[str, float]:
        lo, hi = np.searchsorted(self.start_us, [start_us, end_us])
        return {name: float(c[hi] - c[lo]) for name, c in self.columns.items()}


_SUMS = ("predicted", "labelled", "weight", "weight_sq", "sq_error", "quartic")


def _totals(
    con: duckdb.DuckDBPyConnection,
    objective: Objective,
    segment: tuple[str, str],
    start_us: int,
    end_us: int,
    version: str | None,
) -> _Totals:
    rows = con.execute(
        """
        SELECT epoch_us(bucket), sum(predicted), sum(labelled), list(stats)
        FROM bucket_stats
        WHERE model = $model AND segment = $segment AND value = $value
          AND bucket >= make_timestamp($start) AND bucket < make_timestamp($end)
          AND ($version IS NULL OR version = $version)
        GROUP BY bucket ORDER BY bucket
        """,
        {
            "model": objective.model,
            "segment": segment[0],
            "value": segment[1],
            "start": start_us,
            "end": end_us,
            "version": version,
        },
    ).fetchall()
    values: dict[str, list[float]] = {name: [0.0] for name in _SUMS}
    for _, predicted, labelled, blobs in rows:
        stats = ErrorStats.merge_all(ErrorStats.from_bytes(b) for b in blobs)
        for name, value in (
            ("predicted", predicted),
            ("labelled", labelled),
            ("weight", stats.weight_sum),
            ("weight_sq", stats.weight_sq_sum),
            ("sq_error", stats.sq_error_sum),
            ("quartic", stats.quartic_error_sum),
        ):
            values[name].append(float(value))
    return _Totals(
        np.array([r[0] for r in rows], dtype=np.int64),
        {name: np.cumsum(v) for name, v in values.items()},
    )


def _rmse(sums: dict[str, float], *, lower_bound: bool = False) -> float | None:
    """RMSE of a window from its sums, or the lower end of its 95% interval."""
    if sums["weight"] <= 0:
        return None
    mse = sums["sq_error"] / sums["weight"]
    if lower_bound:
        n = sums["weight"] ** 2 / sums["weight_sq"] if sums["weight_sq"] else 0.0
        if n < 2:
            return None
        spread = max(sums["quartic"] / sums["weight"] - mse * mse, 0.0)
        mse = max(mse - _Z95 * float(np.sqrt(spread / n)), 0.0)
    return float(np.sqrt(mse))


def evaluate_objective(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    objective: Objective,
    clock_us: int,
) -> dict[str, Any]:
    """Return one objective's status at ``clock_us``, per segment value if asked."""
    if objective.per_segment is None:
        segment = ("", "")
        if objective.segment:
            ((name, value),) = objective.segment.items()
            segment = (name, value)
        return _status(con, settings, objective, clock_us, segment)
    values = [
        v
        for (v,) in con.execute(
            "SELECT DISTINCT value FROM bucket_stats WHERE model = ? AND segment = ? "
            "ORDER BY value",
            [objective.model, objective.per_segment],
        ).fetchall()
    ]
    overall = _status(con, settings, objective, clock_us, ("", ""))
    overall["segments"] = [
        _status(con, settings, objective, clock_us, (objective.per_segment, v))
        for v in values
    ]
    return overall


def _status(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    objective: Objective,
    clock_us: int,
    segment: tuple[str, str],
) -> dict[str, Any]:
    sli = objective.sli
    period = parse_duration(objective.time_window)
    if isinstance(sli, AbsErrorRatio):
        step = settings.bucket_us
    else:
        step = max(parse_duration(sli.window), settings.bucket_us)
    end = clock_us // step * step  # the slice holding the clock is still open
    start = end - period // step * step
    slices = _slices(con, settings, objective, segment, start, end, step, clock_us)
    final = _spend(slices, objective, settled_only=True)
    provisional = _spend(slices, objective, settled_only=False)
    status: dict[str, Any] = {
        "name": objective.name,
        "model": objective.model,
        "segment": segment[0] or None,
        "value": segment[1] or None,
        "kind": sli.kind,
        "budgeting": objective.budgeting,
        "target": objective.target,
        "time_window": objective.time_window,
        "at": format_ts(clock_us),
        "start": format_ts(start),
        "end": format_ts(end),
        "final": final,
        "provisional": provisional,
        "last_slice": slices[-1] if slices else None,
        "alerts": [
            _burn(slices, objective, window, severity, step)
            for severity, window in alert_windows(objective)
        ],
    }
    return status


def _slices(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    objective: Objective,
    segment: tuple[str, str],
    start: int,
    end: int,
    step: int,
    clock_us: int,
) -> list[dict[str, Any]]:
    sli = objective.sli
    lookback = 0
    if isinstance(sli, Relative) and sli.baseline.trailing is not None:
        lookback = parse_duration(sli.baseline.trailing)
    totals = _totals(con, objective, segment, start - lookback, end, objective.version)
    baseline = None
    if isinstance(sli, Relative) and sli.baseline.version is not None:
        baseline = _totals(con, objective, segment, start, end, sli.baseline.version)
    bad_counts = (
        _bad_occurrences(con, objective, sli, segment, start, end)
        if isinstance(sli, AbsErrorRatio)
        else None
    )
    slices = []
    for s in range(start, end, step):
        sums = totals.window(s, s + step)
        labelled, predicted = sums["labelled"], sums["predicted"]
        coverage = labelled / predicted if predicted else None
        entry: dict[str, Any] = {
            "start": format_ts(s),
            "end": format_ts(s + step),
            "predicted": int(predicted),
            "labelled": int(labelled),
            "label_coverage": coverage,
            # An empty slice waits for nothing; one short of labels may change.
            "provisional": coverage is not None
            and coverage < objective.provisional.coverage
            and clock_us - (s + step) < settings.label_ttl_us,
        }
        entry.update(_judge(sli, sums, totals, baseline, bad_counts, s, step))
        slices.append(entry)
    return slices


def _judge(
    sli: RmseThreshold | AbsErrorRatio | Relative,
    sums: dict[str, float],
    totals: _Totals,
    baseline: _Totals | None,
    bad_counts: dict[int, tuple[int, int]] | None,
    start: int,
    step: int,
) -> dict[str, Any]:
    """Return a slice's figures: good and bad counts, or no data."""
    if sums["labelled"] < sli.min_count and not isinstance(sli, AbsErrorRatio):
        return {"status": "no_data", "good": 0, "bad": 0}
    if isinstance(sli, AbsErrorRatio):
        labelled, bad = bad_counts.get(start, (0, 0)) if bad_counts else (0, 0)
        return {"status": "counted", "good": labelled - bad, "bad": bad}
    if isinstance(sli, RmseThreshold):
        rmse = _rmse(sums)
        judged = _rmse(sums, lower_bound=sli.confidence == "lower_bound")
        if judged is None:
            return {"status": "no_data", "good": 0, "bad": 0, "rmse": rmse}
        good = judged <= sli.value if sli.op == "lte" else judged < sli.value
        return {"status": "good" if good else "bad", "good": int(good),
                "bad": int(not good), "rmse": rmse}  # fmt: skip
    if baseline is not None:
        base = baseline.window(start, start + step)
    else:
        trailing = parse_duration(sli.baseline.trailing or "7d")
        base = totals.window(start - trailing, start)
    rmse, base_rmse = _rmse(sums), _rmse(base)
    if base["labelled"] < sli.min_count or rmse is None or base_rmse is None:
        return {"status": "no_data", "good": 0, "bad": 0, "rmse": rmse}
    good = rmse <= base_rmse * (1 + sli.max_increase)
    return {"status": "good" if good else "bad", "good": int(good),
            "bad": int(not good), "rmse": rmse, "baseline_rmse": base_rmse}  # fmt: skip


def _bad_occurrences(
    con: duckdb.DuckDBPyConnection,
    objective: Objective,
    sli: AbsErrorRatio,
    segment: tuple[str, str],
    start: int,
    end: int,
) -> dict[int, tuple[int, int]]:
    """Labelled and bad (|error| > bound) predictions per bucket, from raw rows."""
    rows = con.execute(
        """
        SELECT epoch_us(bucket), count(y_true),
               count(*) FILTER (WHERE abs(y_pred - y_true) > $bound)
        FROM predictions
        WHERE model = $model
          AND bucket >= make_timestamp($start) AND bucket < make_timestamp($end)
          AND ($version IS NULL OR version = $version)
          AND ($segment = '' OR segments[$segment] = $value)
        GROUP BY bucket
        """,
        {
            "bound": sli.bound,
            "model": objective.model,
            "start": start,
            "end": end,
            "version": objective.version,
            "segment": segment[0],
            "value": segment[1],
        },
    ).fetchall()
    return {int(b): (int(n), int(bad)) for b, n, bad in rows}


def _counted(objective: Objective, slices: list[dict[str, Any]]) -> Spend:
    """Good and bad over slices; too few occurrences in all of them is no data."""
    good = sum(s["good"] for s in slices)
    bad = sum(s["bad"] for s in slices)
    if objective.budgeting == "Occurrences" and good + bad < objective.sli.min_count:
        good = bad = 0
    return Spend(good, bad, objective.target)


def _spend(
    slices: list[dict[str, Any]], objective: Objective, *, settled_only: bool
) -> dict[str, Any]:
    counted = [s for s in slices if not (settled_only and s["provisional"])]
    spend = _counted(objective, counted)
    good, bad = spend.good, spend.bad
    return {
        "good": good,
        "bad": bad,
        "no_data": sum(s["status"] == "no_data" for s in counted),
        "error_ratio": spend.error_ratio,
        "sli": None if spend.error_ratio is None else 1 - spend.error_ratio,
        "budget_remaining": spend.budget_remaining,
    }


def alert_windows(objective: Objective) -> list[tuple[str, BurnWindow]]:
    """Return each (severity, window) of an objective, durations in microseconds.

    Windows the file states are used as stated. The defaults are the SRE
    workbook's for a 30-day time window, so they scale with the time window.
    """
    time_window = parse_duration(objective.time_window)
    chosen = []
    for severity in ("page", "ticket"):
        windows = [
            BurnWindow(parse_duration(w.long), parse_duration(w.short), w.burn_rate)
            for w in getattr(objective.alerting, severity)
        ]
        if severity not in objective.alerting.model_fields_set:
            windows = scale_windows(windows, time_window)
        chosen += [(severity, w) for w in windows]
    return chosen


def _burn(
    slices: list[dict[str, Any]],
    objective: Objective,
    window: BurnWindow,
    severity: str,
    step: int,
) -> dict[str, Any]:
    rates = []
    # Whole slices only: a window is widened to one slice and cut to whole ones.
    spans = [max(w, step) // step * step for w in (window.long_us, window.short_us)]
    for span in spans:
        within = slices[-(span // step) :] if slices else []
        rates.append(_counted(objective, within).burn_rate)
    long_rate, short_rate = rates
    return {
        "severity": severity,
        "long": format_duration(window.long_us),
        "short": format_duration(window.short_us),
        "evaluated_over": [format_duration(span) for span in spans],
        "threshold": window.rate,
        "long_burn_rate": long_rate,
        "short_burn_rate": short_rate,
        "breaching": long_rate is not None
        and short_rate is not None
        and long_rate > window.rate
        and short_rate > window.rate,
    }
