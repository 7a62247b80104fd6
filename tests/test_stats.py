"""Tests of rmsewatch.stats.ErrorStats: building, merging, reading, serialising."""

from __future__ import annotations

import base64
import doctest
import functools
import itertools
import json
import math
import warnings
from collections.abc import Callable
from typing import cast

import numpy as np
import pandas as pd
import pytest
from datasketches import kll_doubles_sketch

from rmsewatch import _stats_codec, metrics, stats
from rmsewatch._validation import F64
from rmsewatch.errors import (
    ConstantTargetWarning,
    InvalidInputError,
    UndefinedMetricWarning,
)
from rmsewatch.stats import SKETCH_K, ErrorStats

SUMMARY_KEYS = [
    "count",
    "weight_sum",
    "mse",
    "rmse",
    "rmse_ci_low",
    "rmse_ci_high",
    "mae",
    "mean_error",
    "mape",
    "mape_excluded",
    "smape",
    "rmsle",
    "rmsle_excluded",
    "r2_score",
    "nrmse_std",
    "nrmse_range",
    "nrmse_mean",
    "nrmse_iqr",
    "max_abs_error",
    "abs_error_p50",
    "abs_error_p90",
    "abs_error_p99",
]

# KLL's normalised rank error at k = 200 over all quantiles at once (the
# "PMF" bound, about 1.65%), which holds with 99% confidence; the bound for a
# single quantile is tighter (about 1.33%). Karnin, Lang & Liberty (2016).
RANK_ERROR = kll_doubles_sketch.get_normalized_rank_error(SKETCH_K, True)


def sample(rows: int, seed: int = 0) -> tuple[F64, F64, F64]:
    """Return y_true, y_pred and weights of a noisy, biased model."""
    rng = np.random.default_rng(seed)
    true = rng.gamma(2.0, 10.0, rows)
    pred = np.abs(true + rng.normal(1.0, 4.0, rows))
    weight = rng.uniform(0.0, 3.0, rows)
    return true, pred, weight


def same_summary(first: dict[str, float | int], second: dict[str, float | int]) -> bool:
    """Compare two summaries exactly, NaN equal to NaN."""
    return first.keys() == second.keys() and all(
        first[key] == second[key]
        or (math.isnan(first[key]) and math.isnan(second[key]))
        for key in first
    )


# --- Building and merging ---------------------------------------------------------


def test_rmse_of_merged_stats_is_the_root_of_the_pooled_mean_square() -> None:
    first = ErrorStats.from_arrays([0.0, 0.0], [2.0, 2.0])
    second = ErrorStats.from_arrays([0.0, 0.0], [1.0, 1.0])

    merged = first.merge(second)

    assert merged.rmse == 1.5811388300841898  # sqrt(2.5), not the mean RMSE 1.5
    assert merged.rmse == math.sqrt(2.5)


def test_from_arrays_fills_every_sufficient_statistic() -> None:
    stats_ = ErrorStats.from_arrays(
        [1.0, 0.0, 2.0, 4.0], [2.0, 1.0, 2.0, 1.0], [1.0, 2.0, 0.0, 1.0]
    )

    assert stats_.count == 4
    assert stats_.weight_sum == 4.0
    assert stats_.weight_sq_sum == 6.0
    assert stats_.error_sum == 1.0 + 2.0 - 3.0
    assert stats_.sq_error_sum == 1.0 + 2.0 + 9.0
    assert stats_.abs_error_sum == 1.0 + 2.0 + 3.0
    assert stats_.quartic_error_sum == 1.0 + 2.0 + 81.0
    assert stats_.true_mean == (1.0 + 0.0 + 4.0) / 4
    assert stats_.true_m2 == 0.0625 + 2 * 1.5625 + 7.5625
    # Extremes, the maximum error and the sketches skip the zero-weight row.
    assert (stats_.true_min, stats_.true_max) == (0.0, 4.0)
    assert stats_.abs_error_max == 3.0
    assert stats_.abs_error_sketch.n == 3
    assert stats_.true_sketch.n == 3
    assert (stats_.mape_sum, stats_.mape_weight, stats_.mape_excluded) == (
        1.0 + 0.75,
        2.0,
        1,
    )
    assert stats_.smape_sum == 2 / 3 + 2 * 2.0 + 2 * 3 / 5
    assert stats_.rmsle_excluded == 0
    assert stats_.effective_count == 16 / 6


def test_empty_arrays_give_empty_stats() -> None:
    built = ErrorStats.from_arrays([], [])

    assert built.to_bytes() == ErrorStats.empty().to_bytes()
    assert built.count == 0


def test_from_arrays_validates_its_input() -> None:
    with pytest.raises(
        InvalidInputError, match=r"y_pred: 1 non-finite value \(first at index 1\)"
    ):
        ErrorStats.from_arrays([1.0, 2.0], [1.0, math.nan])


def test_from_arrays_accepts_any_real_dtype_and_series() -> None:
    reference = ErrorStats.from_arrays([1.0, 2.0, 4.0], [2.0, 2.0, 1.0])

    built = ErrorStats.from_arrays(
        pd.Series([1, 2, 4]), np.array([2, 2, 1], dtype=np.float16)
    )

    assert built.to_bytes() == reference.to_bytes()


def test_merging_returns_a_new_object_and_changes_neither_input() -> None:
    first = ErrorStats.from_arrays(*sample(300, seed=1))
    second = ErrorStats.from_arrays(*sample(300, seed=2))
    before = (first.to_bytes(), second.to_bytes())

    merged = first + second

    assert merged is not first
    assert merged is not second
    assert (first.to_bytes(), second.to_bytes()) == before
    assert merged.count == 600


def test_empty_stats_are_the_identity_of_merge() -> None:
    stats_ = ErrorStats.from_arrays(*sample(500))

    assert (stats_ + ErrorStats.empty()).to_bytes() == stats_.to_bytes()
    assert (ErrorStats.empty() + stats_).to_bytes() == stats_.to_bytes()


def test_sum_works_with_and_without_a_start_value() -> None:
    parts = [ErrorStats.from_arrays(*sample(50, seed=seed)) for seed in range(4)]

    with_start = sum(parts, ErrorStats.empty())
    without_start = sum(parts)

    assert isinstance(without_start, ErrorStats)
    assert with_start.to_bytes() == without_start.to_bytes()
    assert (0 + parts[0]) is parts[0]
    assert with_start.count == 200


def test_adding_something_else_is_a_type_error() -> None:
    stats_ = ErrorStats.empty()

    with pytest.raises(TypeError):
        _ = stats_ + 1.5
    with pytest.raises(TypeError):
        _ = 1 + stats_


def test_chan_merge_matches_the_two_pass_moments_of_the_whole() -> None:
    # A large offset makes a naive sum-of-squares variance lose every digit.
    true, pred, weight = sample(10_000)
    true = true + 1e9
    pieces = np.array_split(np.arange(true.size), 7)

    merged = sum(
        (ErrorStats.from_arrays(true[i], pred[i] + 1e9, weight[i]) for i in pieces),
        ErrorStats.empty(),
    )

    mean = np.average(true, weights=weight)
    m2 = float(np.sum(weight * (true - mean) ** 2))
    assert math.isclose(merged.true_mean, mean, rel_tol=1e-15)
    assert math.isclose(merged.true_m2, m2, rel_tol=1e-9)


def test_merging_with_an_all_zero_weight_batch_keeps_the_moments() -> None:
    stats_ = ErrorStats.from_arrays([1.0, 3.0], [1.0, 3.0])
    ignored = ErrorStats.from_arrays([100.0], [0.0], [0.0])

    merged = ignored + stats_

    assert (merged.true_mean, merged.true_m2) == (2.0, 2.0)
    assert merged.count == 3
    assert merged.max_abs_error == 0.0


# --- Reading metrics --------------------------------------------------------------


def test_metric_properties_match_the_metric_functions() -> None:
    true, pred, weight = sample(2_000)
    stats_ = ErrorStats.from_arrays(true, pred, weight)
    readings = {
        "rmse": stats_.rmse,
        "mse": stats_.mse,
        "mae": stats_.mae,
        "mean_error": stats_.mean_error,
        "mape": stats_.mape,
        "smape": stats_.smape,
        "rmsle": stats_.rmsle,
        "r2_score": stats_.r2_score,
        "nrmse": stats_.nrmse(),
        "max_abs_error": stats_.max_abs_error,
    }

    for name, value in readings.items():
        function = getattr(metrics, name)
        expected = function(true, pred, sample_weight=weight)
        assert math.isclose(value, expected, rel_tol=1e-12), name
    for method in ("range", "mean"):
        expected = metrics.nrmse(true, pred, method=method, sample_weight=weight)
        assert math.isclose(stats_.nrmse(method), expected, rel_tol=1e-12)


def test_nrmse_iqr_reads_the_quartiles_from_the_sketch() -> None:
    true, pred, _ = sample(100_000)
    stats_ = ErrorStats.from_arrays(true, pred)

    iqr = stats_.rmse / stats_.nrmse("iqr")

    # Each sketched quartile lies within the rank error of the exact one.
    outer = np.quantile(true, [0.25 - RANK_ERROR, 0.75 + RANK_ERROR])
    inner = np.quantile(true, [0.25 + RANK_ERROR, 0.75 - RANK_ERROR])
    assert inner[1] - inner[0] <= iqr <= outer[1] - outer[0]
    exact = metrics.nrmse(true, pred, method="iqr")
    assert math.isclose(stats_.nrmse("iqr"), exact, rel_tol=0.05)


def test_nrmse_refuses_an_unknown_method() -> None:
    with pytest.raises(InvalidInputError, match="method: 'median' is not a known"):
        ErrorStats.empty().nrmse(cast("metrics.NrmseMethod", "median"))


def test_unweighted_stats_have_an_effective_count_of_the_row_count() -> None:
    assert ErrorStats.from_arrays([1.0, 2.0, 3.0], [1.0, 2.0, 3.0]).effective_count == 3
    assert ErrorStats.empty().effective_count == 0.0


METRIC_READERS: dict[str, Callable[[ErrorStats], float]] = {
    "rmse": lambda s: s.rmse,
    "mse": lambda s: s.mse,
    "mae": lambda s: s.mae,
    "mean_error": lambda s: s.mean_error,
    "mape": lambda s: s.mape,
    "smape": lambda s: s.smape,
    "rmsle": lambda s: s.rmsle,
    "r2_score": lambda s: s.r2_score,
    "max_abs_error": lambda s: s.max_abs_error,
    "nrmse": lambda s: s.nrmse(),
    "error_quantile": lambda s: s.error_quantile(0.5),
}


@pytest.mark.parametrize("reader", METRIC_READERS.values(), ids=METRIC_READERS.keys())
def test_empty_stats_read_nan_with_a_warning(
    reader: Callable[[ErrorStats], float],
) -> None:
    with pytest.warns(UndefinedMetricWarning, match="no row"):
        value = reader(ErrorStats.empty())

    assert math.isnan(value)


def test_stats_whose_weights_are_all_zero_read_nan_with_a_warning() -> None:
    stats_ = ErrorStats.from_arrays([1.0, 2.0], [3.0, 4.0], [0.0, 0.0])

    with pytest.warns(UndefinedMetricWarning, match="the weights of all 2 rows are 0"):
        assert math.isnan(stats_.rmse)


def test_the_warning_points_at_the_reading_line() -> None:
    with pytest.warns(UndefinedMetricWarning) as record:
        _ = ErrorStats.empty().mae

    assert record[0].filename == __file__


@pytest.mark.parametrize(("offset", "expected"), [(1.0, -math.inf), (0.0, math.nan)])
def test_r2_of_a_constant_target_is_minus_inf_or_nan_with_a_warning(
    offset: float, expected: float
) -> None:
    # Merged batches of a constant 0.1 whose merged M2 is a tiny rounding residue.
    parts = [
        ErrorStats.from_arrays(np.full(3, 0.1), np.full(3, 0.1), np.full(3, 3.0)),
        ErrorStats.from_arrays([0.1, 0.1], [0.1, 0.1 + offset], [0.7, 1.1]),
    ]
    merged = sum(parts, ErrorStats.empty())

    with pytest.warns(ConstantTargetWarning, match="y_true is constant"):
        value = merged.r2_score

    assert value == expected or (math.isnan(value) and math.isnan(expected))
    assert parts[0].true_m2 > 0  # a variance-based test would call this non-constant


def test_nrmse_of_a_constant_target_is_inf_with_a_warning() -> None:
    stats_ = ErrorStats.from_arrays([2.0, 2.0], [2.0, 3.0])

    with pytest.warns(ConstantTargetWarning):
        assert stats_.nrmse("range") == math.inf


def test_mape_leaves_zero_targets_out_and_counts_them() -> None:
    stats_ = ErrorStats.from_arrays([0.0, 2.0, 0.0, 4.0], [1.0, 2.0, 5.0, 5.0])

    assert stats_.mape == 0.125
    assert stats_.mape_excluded == 2


def test_mape_of_only_zero_targets_is_nan_with_a_warning() -> None:
    stats_ = ErrorStats.from_arrays([0.0, 0.0], [1.0, 2.0])

    with pytest.warns(UndefinedMetricWarning, match=r"2 zero targets left out"):
        assert math.isnan(stats_.mape)


def test_rmsle_leaves_values_at_or_below_minus_one_out_and_counts_them() -> None:
    stats_ = ErrorStats.from_arrays([1.0, 2.0, 3.0, -1.0], [1.0, -2.0, 3.0, 0.0])

    assert stats_.rmsle == 0.0
    assert stats_.rmsle_excluded == 2
    with pytest.warns(UndefinedMetricWarning, match=r"1 rows left out"):
        assert math.isnan(ErrorStats.from_arrays([-3.0], [0.0]).rmsle)


def test_zero_weight_rows_count_as_rows_and_nothing_else() -> None:
    # The first row's MAPE term overflows to inf; times weight 0 it must not
    # turn the sum into NaN.
    stats_ = ErrorStats.from_arrays([1e-308, 2.0], [1.0, 3.0], [0.0, 1.0])

    assert stats_.count == 2
    assert stats_.mape == 0.5
    assert stats_.mape == metrics.mape([1e-308, 2.0], [1.0, 3.0], sample_weight=[0, 1])
    assert stats_.true_min == 2.0


def test_max_abs_error_and_quantiles_skip_zero_weight_rows() -> None:
    stats_ = ErrorStats.from_arrays([0.0, 0.0, 0.0], [1.0, 2.0, 50.0], [1.0, 1.0, 0.0])

    assert stats_.max_abs_error == 2.0
    assert stats_.error_quantile(1.0) == 2.0
    assert stats_.error_quantile(0.0) == 1.0


def test_error_quantile_is_within_the_rank_error_of_the_exact_quantile() -> None:
    true, pred, _ = sample(100_000)
    errors = np.sort(np.abs(pred - true))
    stats_ = ErrorStats.from_arrays(true, pred)

    for q in (0.01, 0.25, 0.5, 0.9, 0.99):
        estimate = stats_.error_quantile(q)
        rank = np.searchsorted(errors, estimate, side="right") / errors.size
        assert abs(rank - q) <= RANK_ERROR, (q, rank)
        assert math.isclose(
            estimate, float(np.quantile(errors, q)), rel_tol=0.1, abs_tol=0.05
        )


def test_error_quantile_of_merged_stats_is_within_the_rank_error() -> None:
    true, pred, _ = sample(100_000, seed=3)
    errors = np.sort(np.abs(pred - true))
    parts = np.array_split(np.arange(true.size), 10)

    merged = sum(
        (ErrorStats.from_arrays(true[i], pred[i]) for i in parts), ErrorStats.empty()
    )

    assert merged.abs_error_sketch.n == true.size
    for q in (0.1, 0.5, 0.9, 0.99):
        rank = np.searchsorted(errors, merged.error_quantile(q), "right") / errors.size
        assert abs(rank - q) <= RANK_ERROR, (q, rank)


@pytest.mark.parametrize("q", [-0.1, 1.5, math.nan])
def test_error_quantile_refuses_a_rank_outside_zero_to_one(q: float) -> None:
    with pytest.raises(InvalidInputError, match=r"q: .* must be a quantile between 0"):
        ErrorStats.empty().error_quantile(q)


# --- Summary ----------------------------------------------------------------------


def test_summary_has_every_metric_and_matches_the_properties() -> None:
    true, pred, weight = sample(1_000)
    stats_ = ErrorStats.from_arrays(true, pred, weight)

    summary = stats_.summary()

    assert list(summary) == SUMMARY_KEYS
    assert summary["count"] == 1_000
    assert summary["rmse"] == stats_.rmse
    assert (summary["rmse_ci_low"], summary["rmse_ci_high"]) == stats_.rmse_interval()
    assert summary["r2_score"] == stats_.r2_score
    assert summary["nrmse_iqr"] == stats_.nrmse("iqr")
    assert summary["abs_error_p90"] == stats_.error_quantile(0.9)
    assert isinstance(summary["mape_excluded"], int)


def test_summary_of_empty_stats_is_nan_without_any_warning() -> None:
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        summary = ErrorStats.empty().summary()
        constant = ErrorStats.from_arrays([1.0, 1.0], [1.0, 2.0]).summary()

    assert record == []
    assert summary["count"] == 0
    assert all(math.isnan(summary[key]) for key in ("rmse", "r2_score", "mape"))
    assert constant["r2_score"] == -math.inf
    assert constant["nrmse_std"] == math.inf


def test_summary_names_quantile_keys_from_the_quantiles() -> None:
    summary = ErrorStats.from_arrays([0.0], [1.0]).summary(quantiles=(0.25, 0.999))

    assert summary["abs_error_p25"] == 1.0
    assert summary["abs_error_p99_9"] == 1.0
    assert "abs_error_p50" not in summary


def test_summary_refuses_a_quantile_outside_zero_to_one() -> None:
    with pytest.raises(InvalidInputError, match=r"q: 99 must be a quantile between"):
        ErrorStats.empty().summary(quantiles=(0.5, 99))


# --- Serialisation ----------------------------------------------------------------


@pytest.mark.parametrize("rows", [0, 1, 150, 20_000])
def test_bytes_round_trip_is_exact(rows: int) -> None:
    stats_ = ErrorStats.from_arrays(*sample(rows))

    restored = ErrorStats.from_bytes(stats_.to_bytes())

    assert restored.to_bytes() == stats_.to_bytes()
    assert same_summary(restored.summary(), stats_.summary())


@pytest.mark.parametrize("rows", [0, 1, 20_000])
def test_dict_round_trip_through_strict_json_is_exact(rows: int) -> None:
    stats_ = ErrorStats.from_arrays(*sample(rows))

    text = json.dumps(stats_.to_dict(), allow_nan=False)
    restored = ErrorStats.from_dict(json.loads(text))

    assert restored.to_bytes() == stats_.to_bytes()
    assert same_summary(restored.summary(), stats_.summary())


def test_bytes_are_compact() -> None:
    # The numbers, then two sketches that stay a few kilobytes however many rows.
    assert len(ErrorStats.empty().to_bytes()) == _stats_codec._HEADER.size + 2 * (4 + 8)
    assert len(ErrorStats.from_arrays(*sample(1_000_000)).to_bytes()) < 12_000


def test_from_bytes_refuses_an_unknown_format() -> None:
    blob = bytearray(ErrorStats.empty().to_bytes())
    blob[0] = 9

    with pytest.raises(InvalidInputError, match="blob: format byte 9 is not an Error"):
        ErrorStats.from_bytes(bytes(blob))
    with pytest.raises(InvalidInputError, match="blob: no format byte is not an Error"):
        ErrorStats.from_bytes(b"")


@pytest.mark.parametrize("keep", [1, 50, 160, -3])
def test_from_bytes_refuses_a_truncated_blob(keep: int) -> None:
    blob = ErrorStats.from_arrays(*sample(10)).to_bytes()

    with pytest.raises(InvalidInputError, match=r"blob: \d+ bytes? is truncated"):
        ErrorStats.from_bytes(blob[:keep])


def test_from_bytes_refuses_trailing_bytes() -> None:
    blob = ErrorStats.empty().to_bytes() + b"\x00\x00"

    with pytest.raises(InvalidInputError, match="blob: 2 bytes after the last sketch"):
        ErrorStats.from_bytes(blob)


def test_from_bytes_refuses_a_corrupt_sketch() -> None:
    blob = ErrorStats.empty().to_bytes()
    header = _stats_codec._HEADER.size
    corrupt = blob[: header + 4] + b"\xff" * 8 + blob[header + 12 :]

    with pytest.raises(
        InvalidInputError, match="abs_error_sketch: 8 bytes is not a valid KLL"
    ):
        ErrorStats.from_bytes(corrupt)


@pytest.mark.parametrize(
    ("change", "pattern"),
    [
        ({"format": 2}, "format: 2 is not a known ErrorStats format"),
        ({"count": -1}, "count: -1 must be a non-negative integer"),
        ({"count": 1.5}, "count: 1.5 must be a non-negative integer"),
        ({"true_min": "big"}, "true_min: 'big' must be a number"),
        ({"weight_sum": True}, "weight_sum: True must be a number"),
        ({"true_sketch": 7}, "true_sketch: 7 must be a base64 string"),
        ({"true_sketch": "@@@"}, "true_sketch: 3 characters must be valid base64"),
        (
            {"true_sketch": base64.b64encode(b"\x01\x02").decode()},
            "true_sketch: 2 bytes is not a valid KLL doubles sketch",
        ),
    ],
)
def test_from_dict_refuses_bad_values(change: dict[str, object], pattern: str) -> None:
    data: dict[str, object] = {**ErrorStats.empty().to_dict(), **change}

    with pytest.raises(InvalidInputError, match=pattern):
        ErrorStats.from_dict(data)


def test_from_dict_names_a_missing_key() -> None:
    data = ErrorStats.empty().to_dict()
    del data["smape_sum"]

    with pytest.raises(InvalidInputError, match="smape_sum: missing is required"):
        ErrorStats.from_dict(data)


def test_repr_shows_the_count_without_reading_metrics() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        text = repr(ErrorStats.empty())

    assert text.startswith("ErrorStats(count=0,")


def test_stats_examples_in_docstrings_run() -> None:
    result = doctest.testmod(stats)

    assert result.failed == 0
    assert result.attempted > 0


# --- folding many groups and merging many parts at once ---------------------------

# Every summary figure but the sketch-based ones, which are approximate.
_EXACT_KEYS = [
    key
    for key in SUMMARY_KEYS
    if not key.startswith("abs_error_p") and key != "nrmse_iqr"
]


def _assert_summaries_agree(got: ErrorStats, want: ErrorStats) -> None:
    a, b = got.summary(), want.summary()
    for key in _EXACT_KEYS:
        if math.isnan(b[key]):
            assert math.isnan(a[key]), key
        else:
            assert a[key] == pytest.approx(b[key], rel=1e-12, abs=1e-12), key


def test_from_groups_equals_from_arrays_on_each_group() -> None:
    rng = np.random.default_rng(3)
    n = 2_000
    true = rng.normal(10, 3, n)
    true[::13] = 0.0  # zero targets for MAPE
    true[::17] = -2.0  # outside RMSLE's domain
    pred = true + rng.normal(0, 1, n)
    weight = rng.uniform(0, 2, n)
    weight[::7] = 0.0
    sizes = np.array([0, 1, 700, 0, 299, 1000])

    groups = ErrorStats.from_groups(true, pred, weight, sizes)

    bounds = np.concatenate(([0], np.cumsum(sizes)))
    for k, got in enumerate(groups):
        part = slice(bounds[k], bounds[k + 1])
        _assert_summaries_agree(
            got, ErrorStats.from_arrays(true[part], pred[part], weight[part])
        )


def test_from_groups_refuses_sizes_that_do_not_cover_the_rows() -> None:
    with pytest.raises(InvalidInputError, match="must split the 3 rows"):
        ErrorStats.from_groups([1, 2, 3], [1, 2, 3], None, [1, 1])


def test_merge_all_equals_the_whole_and_pairwise_merging() -> None:
    rng = np.random.default_rng(4)
    true = rng.normal(5, 2, 1_000)
    pred = true + rng.normal(0, 1, 1_000)
    weight = rng.uniform(0.1, 2, 1_000)
    cuts = [0, 10, 11, 400, 999, 1_000]
    parts = [
        ErrorStats.from_arrays(true[a:b], pred[a:b], weight[a:b])
        for a, b in itertools.pairwise(cuts)
    ]

    merged = ErrorStats.merge_all([*parts, ErrorStats.empty()])

    _assert_summaries_agree(merged, ErrorStats.from_arrays(true, pred, weight))
    _assert_summaries_agree(merged, functools.reduce(ErrorStats.merge, parts))
    assert merged.abs_error_sketch.n == 1_000
    assert ErrorStats.merge_all([]).count == 0


# --- the RMSE confidence interval --------------------------------------------------


def test_rmse_interval_matches_the_delta_method_by_hand() -> None:
    # Errors 1, -1, 3, -3: MSE 5, mean e^4 41, se sqrt((41 - 25) / 4) = 2.
    stats = ErrorStats.from_arrays([0.0] * 4, [1.0, -1.0, 3.0, -3.0])
    z = 1.959963984540054

    low, high = stats.rmse_interval()

    assert low == pytest.approx(math.sqrt(5 - 2 * z), rel=1e-12)
    assert high == pytest.approx(math.sqrt(5 + 2 * z), rel=1e-12)
    assert stats.summary()["rmse_ci_low"] == low


def test_rmse_interval_covers_the_true_rmse_about_95_times_in_100() -> None:
    rng = np.random.default_rng(11)
    covered = 0
    for _ in range(2_000):
        errors = rng.normal(0.0, 2.0, 400)  # true RMSE 2
        low, high = ErrorStats.from_arrays(np.zeros(400), errors).rmse_interval()
        covered += low <= 2.0 <= high
    assert 0.93 <= covered / 2_000 <= 0.97


def test_rmse_interval_of_merged_parts_equals_that_of_the_whole() -> None:
    rng = np.random.default_rng(12)
    errors = rng.standard_t(5, 1_000)
    weight = rng.uniform(0.5, 2.0, 1_000)
    whole = ErrorStats.from_arrays(np.zeros(1_000), errors, weight)
    parts = ErrorStats.merge_all(
        ErrorStats.from_arrays(np.zeros(100), errors[i : i + 100], weight[i : i + 100])
        for i in range(0, 1_000, 100)
    )
    assert parts.rmse_interval() == pytest.approx(whole.rmse_interval(), rel=1e-12)


def test_rmse_interval_needs_two_effective_rows_and_a_level_inside_0_1() -> None:
    one = ErrorStats.from_arrays([0.0], [1.0])
    assert all(math.isnan(bound) for bound in one.rmse_interval())
    with pytest.raises(InvalidInputError, match=r"level: 1\.0 must lie strictly"):
        one.rmse_interval(1.0)
