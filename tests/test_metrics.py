"""Tests of rmsewatch.metrics and of the shared input validator behind it."""

from __future__ import annotations

import doctest
import functools
import importlib
import itertools
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from rmsewatch import _validation, metrics
from rmsewatch._validation import F64, check_regression_inputs
from rmsewatch.errors import (
    ConstantTargetWarning,
    InvalidInputError,
    UndefinedMetricWarning,
)
from rmsewatch.stats import ErrorStats

# pyarrow ships no type information and the project has no stub for it yet;
# loaded as a plain module object, its calls here are simply untyped.
pa = importlib.import_module("pyarrow")

Metric = Callable[..., float]
Arrays = tuple[F64, F64, F64 | None]

IGNORE_UNDEFINED = pytest.mark.filterwarnings(
    "ignore::rmsewatch.errors.UndefinedMetricWarning"
)


def assert_close(
    actual: float, expected: float, *, rel: float = 1e-12, abs_: float = 0.0
) -> None:
    """Compare floats, with NaN equal to NaN and infinities equal to themselves."""
    if math.isnan(expected) or math.isinf(expected):
        assert actual == expected or (math.isnan(actual) and math.isnan(expected))
        return
    assert math.isclose(actual, expected, rel_tol=rel, abs_tol=abs_), (
        actual,
        expected,
    )


# --- Data for property tests -------------------------------------------------------

_values = st.floats(-1e3, 1e3, allow_nan=False, allow_subnormal=False)
_weights = st.floats(0.0, 10.0, allow_subnormal=False)


@st.composite
def regression_rows(draw: st.DrawFn, *, weighted: bool | None = None) -> Arrays:
    """Draw matching y_true, y_pred and (maybe) weights with a positive sum."""
    size = draw(st.integers(1, 20))
    true = np.array(draw(st.lists(_values, min_size=size, max_size=size)))
    pred = np.array(draw(st.lists(_values, min_size=size, max_size=size)))
    use_weights = draw(st.booleans()) if weighted is None else weighted
    if not use_weights:
        return true, pred, None
    weight = np.array(draw(st.lists(_weights, min_size=size, max_size=size)))
    assume(np.sum(weight) > 1e-3)
    return true, pred, weight


# --- The property table -------------------------------------------------------------


@dataclass(frozen=True)
class MetricCase:
    """One metric and the rules it obeys, for the shared property checks."""

    name: str
    function: Metric
    read: Callable[[ErrorStats], float]
    # How the value changes when every error is multiplied by c; None when the
    # metric is not homogeneous in the errors (sMAPE, RMSLE).
    scale: Callable[[float, float], float] | None
    # Data must be moved into the metric's domain (non-zero targets for MAPE,
    # values > -1 for RMSLE): both columns are mapped to |x| + 0.5.
    positive_only: bool = False
    # The statistics read back the same value as the function (the IQR comes
    # from a sketch, with another quantile definition, so it does not).
    stats_match_function: bool = True


def _r2_scaled(value: float, c: float) -> float:
    return 1.0 - c * c * (1.0 - value)


CASES = [
    MetricCase("rmse", metrics.rmse, lambda s: s.rmse, lambda v, c: abs(c) * v),
    MetricCase("mse", metrics.mse, lambda s: s.mse, lambda v, c: c * c * v),
    MetricCase("mae", metrics.mae, lambda s: s.mae, lambda v, c: abs(c) * v),
    MetricCase(
        "mean_error", metrics.mean_error, lambda s: s.mean_error, lambda v, c: c * v
    ),
    MetricCase(
        "mape",
        metrics.mape,
        lambda s: s.mape,
        lambda v, c: abs(c) * v,
        positive_only=True,
    ),
    MetricCase("smape", metrics.smape, lambda s: s.smape, None),
    MetricCase("rmsle", metrics.rmsle, lambda s: s.rmsle, None, positive_only=True),
    MetricCase("r2_score", metrics.r2_score, lambda s: s.r2_score, _r2_scaled),
    MetricCase("nrmse", metrics.nrmse, lambda s: s.nrmse(), lambda v, c: abs(c) * v),
    MetricCase(
        "nrmse[range]",
        functools.partial(metrics.nrmse, method="range"),
        lambda s: s.nrmse("range"),
        lambda v, c: abs(c) * v,
    ),
    MetricCase(
        "nrmse[mean]",
        functools.partial(metrics.nrmse, method="mean"),
        lambda s: s.nrmse("mean"),
        lambda v, c: abs(c) * v,
    ),
    MetricCase(
        "nrmse[iqr]",
        functools.partial(metrics.nrmse, method="iqr"),
        lambda s: s.nrmse("iqr"),
        lambda v, c: abs(c) * v,
        stats_match_function=False,
    ),
    MetricCase(
        "max_abs_error",
        metrics.max_abs_error,
        lambda s: s.max_abs_error,
        lambda v, c: abs(c) * v,
    ),
]
CASE_IDS = [case.name for case in CASES]


def _in_domain(case: MetricCase, rows: Arrays) -> Arrays:
    true, pred, weight = rows
    if case.positive_only:
        return np.abs(true) + 0.5, np.abs(pred) + 0.5, weight
    return rows


def _tolerance(case: MetricCase, rows: Arrays) -> float:
    """Absolute tolerance for values summed in another order or merged.

    Sums of signed terms cancel, so their rounding is relative to the sum of
    magnitudes, not to the result: the bias to the mean |error|, R² and NRMSE
    to the ratio of mean² to variance of y_true (Chan's merge of M2 versus the
    two-pass M2 of the whole).
    """
    true, pred, weight = rows
    w = np.ones_like(true) if weight is None else weight
    error = pred - true
    scale = float(np.sum(w * np.abs(error)) / np.sum(w))
    if case.name == "mean_error":
        return 1e-12 * scale
    if case.name == "r2_score" or case.name.startswith("nrmse"):
        mean = float(np.sum(w * true) / np.sum(w))
        variance = float(np.sum(w * (true - mean) ** 2) / np.sum(w))
        if variance == 0:
            return 0.0
        conditioning = 1.0 + mean * mean / variance
        mse = float(np.sum(w * error * error) / np.sum(w))
        return 1e-12 * conditioning * (1.0 + mse / variance)
    return 0.0


def _call(case: MetricCase, rows: Arrays) -> float:
    true, pred, weight = rows
    return case.function(true, pred, sample_weight=weight)


def test_every_metric_is_in_the_property_table() -> None:
    tabled = {case.name.split("[")[0] for case in CASES}
    missing = set(metrics.__all__) - tabled
    assert not missing, f"add {sorted(missing)} to CASES"


@IGNORE_UNDEFINED
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
@settings(max_examples=50, deadline=None)
@given(rows=regression_rows(), data=st.data())
def test_metric_does_not_depend_on_row_order(
    case: MetricCase, rows: Arrays, data: st.DataObject
) -> None:
    rows = _in_domain(case, rows)
    true, pred, weight = rows
    order = np.array(data.draw(st.permutations(range(true.size))))
    shuffled = (true[order], pred[order], None if weight is None else weight[order])

    assert_close(_call(case, shuffled), _call(case, rows), abs_=_tolerance(case, rows))


@IGNORE_UNDEFINED
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
@settings(max_examples=50, deadline=None)
@given(rows=regression_rows(), data=st.data())
def test_merged_stats_equal_stats_of_the_whole_and_the_function(
    case: MetricCase, rows: Arrays, data: st.DataObject
) -> None:
    rows = _in_domain(case, rows)
    true, pred, weight = rows
    cuts = sorted(data.draw(st.lists(st.integers(0, true.size), max_size=4)))
    bounds = [0, *cuts, true.size]
    parts = [
        ErrorStats.from_arrays(
            true[start:stop],
            pred[start:stop],
            None if weight is None else weight[start:stop],
        )
        for start, stop in itertools.pairwise(bounds)
    ]
    merged = sum(parts, ErrorStats.empty())
    whole = ErrorStats.from_arrays(true, pred, weight)
    tolerance = _tolerance(case, rows)

    assert_close(case.read(merged), case.read(whole), abs_=tolerance)
    if case.stats_match_function:
        assert_close(case.read(whole), _call(case, rows), abs_=tolerance)


@IGNORE_UNDEFINED
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
@settings(max_examples=50, deadline=None)
@given(rows=regression_rows(weighted=False))
def test_unit_weights_equal_no_weights(case: MetricCase, rows: Arrays) -> None:
    true, pred, _ = _in_domain(case, rows)

    unweighted = case.function(true, pred)
    weighted = case.function(true, pred, sample_weight=np.ones_like(true))

    assert_close(weighted, unweighted, rel=0.0)


_SCALABLE = [case for case in CASES if case.scale is not None]
_small_ints = st.integers(-1000, 1000)


@IGNORE_UNDEFINED
@pytest.mark.parametrize("case", _SCALABLE, ids=[case.name for case in _SCALABLE])
@settings(max_examples=50, deadline=None)
@given(
    true=st.lists(_small_ints, min_size=1, max_size=30),
    errors=st.lists(_small_ints, min_size=30, max_size=30),
    c=st.integers(-8, 8),
)
def test_metric_scales_with_the_errors(
    case: MetricCase, true: list[int], errors: list[int], c: int
) -> None:
    # Integers keep y_true + c * error exact, so only the metric itself rounds.
    y_true = np.array(true, dtype=np.float64)
    if case.positive_only:
        y_true = np.abs(y_true) + 1.0
    error = np.array(errors[: y_true.size], dtype=np.float64)
    base = case.function(y_true, y_true + error)
    assume(math.isfinite(base))
    assert case.scale is not None

    scaled = case.function(y_true, y_true + c * error)

    assert_close(scaled, case.scale(base, c), abs_=1e-12)


@settings(max_examples=50, deadline=None)
@given(rows=regression_rows())
def test_rmse_is_at_least_mae(rows: Arrays) -> None:
    true, pred, weight = rows

    root_mean_square = metrics.rmse(true, pred, sample_weight=weight)
    mean_absolute = metrics.mae(true, pred, sample_weight=weight)

    assert root_mean_square >= mean_absolute * (1 - 1e-12)


@settings(max_examples=50, deadline=None)
@given(rows=regression_rows())
def test_smape_lies_between_zero_and_two(rows: Arrays) -> None:
    true, pred, weight = rows

    value = metrics.smape(true, pred, sample_weight=weight)

    assert 0.0 <= value <= 2.0


# --- scikit-learn as the oracle -------------------------------------------------------

ORACLES: list[tuple[Metric, Metric]] = [
    (metrics.mse, skm.mean_squared_error),
    (metrics.rmse, skm.root_mean_squared_error),
    (metrics.mae, skm.mean_absolute_error),
    (metrics.mape, skm.mean_absolute_percentage_error),
    (metrics.rmsle, skm.root_mean_squared_log_error),
    (metrics.r2_score, functools.partial(skm.r2_score, force_finite=False)),
]
ORACLE_IDS = ["mse", "rmse", "mae", "mape", "rmsle", "r2_score"]

FIXED_TRUE = np.array([3.0, -0.5, 2.0, 7.0, 4.2, 0.3])
FIXED_PRED = np.array([2.5, 0.0, 2.0, 8.0, 3.9, 0.1])
FIXED_WEIGHT = np.array([1.0, 2.0, 0.0, 0.5, 3.0, 1.5])


@pytest.mark.parametrize(("ours", "oracle"), ORACLES, ids=ORACLE_IDS)
@pytest.mark.parametrize("weight", [None, FIXED_WEIGHT], ids=["plain", "weighted"])
def test_metric_matches_sklearn_on_fixed_data(
    ours: Metric, oracle: Metric, weight: F64 | None
) -> None:
    expected = oracle(FIXED_TRUE, FIXED_PRED, sample_weight=weight)

    assert_close(ours(FIXED_TRUE, FIXED_PRED, sample_weight=weight), expected)


@pytest.mark.parametrize(("ours", "oracle"), ORACLES, ids=ORACLE_IDS)
@settings(max_examples=50, deadline=None)
@given(rows=regression_rows())
def test_metric_matches_sklearn_on_generated_data(
    ours: Metric, oracle: Metric, rows: Arrays
) -> None:
    true, pred, weight = rows
    true, pred = np.abs(true) + 0.5, np.abs(pred) + 0.5
    active = true if weight is None else true[weight > 0]
    # Our constant-target rule (min == max) is stricter than sklearn's, which
    # only sees a zero denominator; that case has tests of its own.
    assume(active.min() < active.max())
    mse = float(np.average((pred - true) ** 2, weights=weight))
    variance = float(np.average((true - np.average(true, weights=weight)) ** 2))
    tolerance = 1e-12 * (1 + mse / variance) if ours is metrics.r2_score else 0.0

    expected = oracle(true, pred, sample_weight=weight)

    assert_close(ours(true, pred, sample_weight=weight), expected, abs_=tolerance)


@settings(max_examples=50, deadline=None)
@given(rows=regression_rows(weighted=False))
def test_max_abs_error_matches_sklearn_max_error(rows: Arrays) -> None:
    true, pred, _ = rows

    assert metrics.max_abs_error(true, pred) == skm.max_error(true, pred)


@pytest.mark.parametrize(
    "true", [[1.0, 1.0, 1.0], [0.1, 0.1, 0.1]], ids=["exact", "rounding"]
)
@pytest.mark.parametrize(
    ("pred_offset", "expected"), [(0.5, -math.inf), (0.0, math.nan)]
)
def test_r2_of_constant_target_is_minus_inf_or_nan_with_a_warning(
    true: list[float], pred_offset: float, expected: float
) -> None:
    pred = np.array(true) + np.array([0.0, pred_offset, 0.0])

    with pytest.warns(ConstantTargetWarning, match="y_true is constant"):
        value = metrics.r2_score(true, pred)

    assert_close(value, expected)


@pytest.mark.parametrize("pred", [[1.0, 1.5, 1.0], [1.0, 1.0, 1.0]])
def test_r2_of_constant_target_matches_sklearn_without_force_finite(
    pred: list[float],
) -> None:
    true = [1.0, 1.0, 1.0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        expected = skm.r2_score(true, pred, force_finite=False)

    with pytest.warns(ConstantTargetWarning):
        assert_close(metrics.r2_score(true, pred), expected)


def test_r2_guards_against_a_rounding_variance_of_a_weighted_constant() -> None:
    true = np.full(3, 0.1)
    weight = np.full(3, 3.0)
    mean = np.sum(weight * true) / np.sum(weight)
    assert np.sum(weight * (true - mean) ** 2) > 0  # what a naive R² would divide by

    with pytest.warns(ConstantTargetWarning):
        value = metrics.r2_score(true, [0.1, 0.2, 0.1], sample_weight=weight)

    assert value == -math.inf


def test_r2_treats_a_target_constant_over_weighted_rows_as_constant() -> None:
    with pytest.warns(ConstantTargetWarning):
        value = metrics.r2_score(
            [5.0, 1.0, 1.0], [0.0, 1.0, 2.0], sample_weight=[0, 1, 1]
        )

    assert value == -math.inf


def test_mse_and_rmse_of_a_constant_target_are_ordinary() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert metrics.mse([2.0, 2.0], [3.0, 4.0]) == 2.5
        assert metrics.rmse([2.0, 2.0], [2.0, 2.0]) == 0.0


# --- Exact values -------------------------------------------------------------------


def test_rmse_is_the_root_of_the_mean_square() -> None:
    assert metrics.rmse([0, 0], [3, 4]) == 3.5355339059327378
    assert metrics.mse([0, 0], [3, 4]) == 12.5


def test_float32_errors_of_a_tenth_accumulate_in_float64() -> None:
    rows = 1_392_640
    pred = np.full(rows, 0.1, dtype=np.float32)
    true = np.zeros(rows, dtype=np.float32)
    expected = float(np.float64(np.float32(0.1))) ** 2

    value = metrics.mse(true, pred)

    assert_close(value, expected, rel=1e-12)
    assert_close(value, 0.01, rel=1e-7)


def test_twenty_million_float32_unit_errors_give_mse_exactly_one() -> None:
    rows = 20_000_000
    true = np.zeros(rows, dtype=np.float32)
    pred = np.ones(rows, dtype=np.float32)

    assert metrics.mse(true, pred) == 1.0


def test_float16_errors_do_not_overflow() -> None:
    true = np.zeros(200, dtype=np.float16)
    pred = np.full(200, 20, dtype=np.float16)

    assert metrics.mse(true, pred) == 400.0


def test_weighted_means_are_normalised_by_the_weight_sum() -> None:
    assert metrics.mae([1, 2], [2, 3], sample_weight=[0, 1]) == 1.0
    assert metrics.rmse([1, 2], [2, 3], sample_weight=[0, 1]) == 1.0
    assert metrics.mse([0, 0], [1, 3], sample_weight=[3, 1]) == 3.0


def test_mean_error_is_the_signed_bias() -> None:
    assert metrics.mean_error([0, 0, 0], [1, 2, -6]) == -1.0
    assert metrics.mean_error([0, 0], [1, -6], sample_weight=[6, 1]) == 0.0


def test_mape_is_a_fraction() -> None:
    assert metrics.mape([2, 4], [1, 5]) == 0.375
    assert metrics.mape([2, 4], [1, 5], sample_weight=[1, 0]) == 0.5


def test_mape_refuses_zero_targets_and_names_the_option() -> None:
    with pytest.raises(
        InvalidInputError,
        match=r"y_true: 1 zero target \(first at index 0\).*skip_zero_targets=True",
    ):
        metrics.mape([0, 2], [1, 2])


def test_mape_skips_zero_targets_when_asked() -> None:
    assert metrics.mape([0, 2], [1, 2], skip_zero_targets=True) == 0.0
    assert metrics.mape([0, 2, 4], [1, 1, 5], skip_zero_targets=True) == 0.375


def test_mape_with_only_zero_targets_left_is_an_error() -> None:
    with pytest.raises(
        InvalidInputError, match=r"2 zero targets.*no row with a positive"
    ):
        metrics.mape(
            [0, 0, 3], [1, 1, 1], sample_weight=[1, 1, 0], skip_zero_targets=True
        )


def test_smape_counts_zero_over_zero_as_zero_and_tops_out_at_two() -> None:
    assert metrics.smape([0, 0], [0, 0]) == 0.0
    assert metrics.smape([1], [-1]) == 2.0
    assert metrics.smape([0, 1, 1], [0, 3, -1]) == 1.0
    assert metrics.smape([1, 3], [3, 3], sample_weight=[1, 3]) == 0.25


def test_rmsle_uses_log1p() -> None:
    expected = math.sqrt((math.log1p(1.0) - math.log1p(0.0)) ** 2 / 2)

    assert_close(metrics.rmsle([0, 1], [1, 1]), expected)
    assert_close(metrics.rmsle([-0.5], [0.0]), math.log(2.0))


@pytest.mark.parametrize(
    ("true", "pred", "pattern"),
    [
        ([1, 2, 3], [1, -2, 3], r"y_pred: -2\.0 at index 1 \(1 value <= -1\)"),
        ([1, -1, -3], [1, 2, 3], r"y_true: -1\.0 at index 1 \(2 values <= -1\)"),
    ],
)
def test_rmsle_refuses_values_at_or_below_minus_one(
    true: list[float], pred: list[float], pattern: str
) -> None:
    with pytest.raises(InvalidInputError, match=pattern + ".*needs values > -1"):
        metrics.rmsle(true, pred)


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        ("std", math.sqrt(2 / 3) / math.sqrt(8 / 3)),
        ("range", math.sqrt(2 / 3) / 4),
        ("mean", math.sqrt(2 / 3) / 2),
        ("iqr", math.sqrt(2 / 3) / 2),
    ],
)
def test_nrmse_divides_by_the_chosen_spread(
    method: metrics.NrmseMethod, expected: float
) -> None:
    value = metrics.nrmse([0, 2, 4], [1, 2, 3], method=method)

    assert_close(value, expected)


def test_nrmse_iqr_interpolates_linearly_and_ignores_weights() -> None:
    true = np.array([0.0, 1.0, 2.0, 10.0, 50.0])
    pred = true + 1.0
    lower, upper = np.quantile(true, [0.25, 0.75])

    value = metrics.nrmse(true, pred, method="iqr", sample_weight=[1, 9, 1, 9, 1])

    assert value == 1.0 / (upper - lower)


def test_nrmse_std_uses_the_weighted_population_std() -> None:
    true, weight = np.array([0.0, 1.0, 5.0]), np.array([1.0, 2.0, 1.0])
    mean = np.average(true, weights=weight)
    std = math.sqrt(np.average((true - mean) ** 2, weights=weight))

    value = metrics.nrmse(true, true + 2.0, sample_weight=weight)

    assert_close(value, 2.0 / std)


@pytest.mark.parametrize("method", ["std", "range", "iqr"])
@pytest.mark.parametrize(("offset", "expected"), [(1.0, math.inf), (0.0, math.nan)])
def test_nrmse_of_a_constant_target_is_inf_or_nan_with_a_warning(
    method: metrics.NrmseMethod, offset: float, expected: float
) -> None:
    with pytest.warns(ConstantTargetWarning, match="y_true is constant"):
        value = metrics.nrmse([3.0, 3.0], [3.0, 3.0 + offset], method=method)

    assert_close(value, expected)


def test_nrmse_with_a_zero_mean_is_inf_with_an_undefined_warning() -> None:
    with pytest.warns(UndefinedMetricWarning, match="normaliser is zero") as record:
        value = metrics.nrmse([-1.0, 1.0], [0.0, 0.0], method="mean")

    assert value == math.inf
    assert not any(issubclass(w.category, ConstantTargetWarning) for w in record)


def test_nrmse_refuses_an_unknown_method_listing_the_allowed_ones() -> None:
    with pytest.raises(
        InvalidInputError,
        match=r"method: 'variance' is not a known NRMSE normaliser; use one of "
        r"'std', 'range', 'mean', 'iqr'",
    ):
        metrics.nrmse([1], [1], method=cast("metrics.NrmseMethod", "variance"))


def test_max_abs_error_ignores_rows_of_zero_weight() -> None:
    assert metrics.max_abs_error([0, 0, 0], [1, -5, 9]) == 9.0
    assert metrics.max_abs_error([0, 0, 0], [1, -5, 9], sample_weight=[1, 1, 0]) == 5.0


def test_metric_examples_in_docstrings_run() -> None:
    for module in (metrics, _validation):
        result = doctest.testmod(module)
        assert result.failed == 0
        assert result.attempted > 0


# --- The shared validator -----------------------------------------------------------

_CONTAINERS: list[Callable[[list[float]], object]] = [
    list,
    np.array,
    lambda values: np.array(values, dtype=np.float16),
    lambda values: np.array(values, dtype=np.float32),
    lambda values: np.array(values, dtype=np.int32),
    lambda values: np.array(values, dtype=np.uint8),
    pd.Series,
    pa.array,
    lambda values: pa.chunked_array([values[:1], values[1:]]),
]


@pytest.mark.parametrize(
    "container",
    _CONTAINERS,
    ids=["list", "f64", "f16", "f32", "i32", "u8", "series", "arrow", "chunked"],
)
def test_validator_accepts_array_likes_and_returns_contiguous_float64(
    container: Callable[[list[float]], npt.ArrayLike],
) -> None:
    true, pred, weight = check_regression_inputs(
        container([1.0, 2.0, 4.0]), container([2.0, 2.0, 1.0]), container([1, 0, 2])
    )

    for array in (true, pred, weight):
        assert isinstance(array, np.ndarray)
        assert array.dtype == np.float64
        assert array.ndim == 1
        assert array.flags.c_contiguous
    assert true.tolist() == [1.0, 2.0, 4.0]
    assert metrics.rmse(container([0, 0]), container([3, 4])) == 3.5355339059327378


def test_validator_makes_strided_input_contiguous() -> None:
    true, _, _ = check_regression_inputs(np.arange(10.0)[::2], np.zeros(5))

    assert true.flags.c_contiguous
    assert true.tolist() == [0.0, 2.0, 4.0, 6.0, 8.0]


def test_validator_accepts_empty_input_but_metrics_do_not() -> None:
    true, _, _ = check_regression_inputs([], [])
    assert true.size == 0

    with pytest.raises(
        InvalidInputError, match="y_true: 0 rows needs at least one row"
    ):
        metrics.rmse([], [])


def test_validator_counts_and_locates_non_finite_values() -> None:
    pred = [0.0, 1, 2, np.nan, 4, 5, 6, np.inf]

    with pytest.raises(
        InvalidInputError,
        match=r"y_pred: 2 non-finite values \(first at indices \[3, 7\]\) must be fin",
    ):
        metrics.rmse(np.zeros(8), pred)


@pytest.mark.parametrize(
    "missing",
    [
        [1.0, None, 3.0],
        pa.array([1.0, None, 3.0]),
        pd.Series([1, None, 3], dtype="Int64"),
    ],
    ids=["list", "arrow", "nullable-series"],
)
def test_validator_treats_missing_values_as_non_finite(missing: npt.ArrayLike) -> None:
    with pytest.raises(
        InvalidInputError, match=r"y_true: 1 non-finite value \(first at index 1\)"
    ):
        metrics.rmse(missing, [1.0, 2.0, 3.0])


def test_validator_names_both_lengths_when_they_differ() -> None:
    with pytest.raises(
        InvalidInputError, match=r"y_pred: 2 rows must have as many rows as y_true \(3"
    ):
        metrics.mae([1, 2, 3], [1, 2])
    with pytest.raises(InvalidInputError, match=r"sample_weight: 1 row must have as"):
        metrics.mae([1, 2], [1, 2], sample_weight=[1])


def test_validator_refuses_arrays_that_are_not_one_dimensional() -> None:
    with pytest.raises(InvalidInputError, match=r"y_true: an array of shape \(2, 1\)"):
        metrics.rmse([[1.0], [2.0]], [1.0, 2.0])
    with pytest.raises(InvalidInputError, match=r"y_pred: an array of shape \(\) must"):
        metrics.rmse([1.0], 1.0)


@pytest.mark.parametrize(
    ("values", "pattern"),
    [
        (["a", "b"], r"y_true: an array of dtype <U1 must hold real numbers"),
        ([True, False], r"y_true: an array of dtype bool must hold real numbers"),
        ([1 + 2j, 1], r"y_true: an array of dtype complex128 must hold real numbers"),
        ([1.0, {}], r"y_true: a non-numeric value \{\} at index 1 must be numeric"),
    ],
)
def test_validator_refuses_non_numeric_input(
    values: npt.ArrayLike, pattern: str
) -> None:
    with pytest.raises(InvalidInputError, match=pattern):
        metrics.rmse(values, [1.0, 2.0])


def test_validator_refuses_errors_whose_square_overflows() -> None:
    with pytest.raises(
        InvalidInputError,
        match=r"y_pred: 1 error too large \(first at index 1\) must lie within 1\.34e",
    ):
        metrics.rmse([0.0, 0.0], [1.0, 1e200])
    # Large values with small errors are fine.
    assert metrics.rmse([1e200, 1e200], [1e200, 1e200]) == 0.0


def test_validator_refuses_negative_and_non_finite_weights() -> None:
    with pytest.raises(
        InvalidInputError,
        match=r"sample_weight: 2 negative weights \(first at indices \[0, 2\]\) "
        "must be non-negative",
    ):
        metrics.rmse([1, 2, 3], [1, 2, 3], sample_weight=[-1, 1, -2])
    with pytest.raises(
        InvalidInputError,
        match=r"sample_weight: 1 non-finite value \(first at index 1\)",
    ):
        metrics.rmse([1, 2], [1, 2], sample_weight=[1, np.inf])


def test_validator_refuses_weights_whose_sum_overflows() -> None:
    with pytest.raises(InvalidInputError, match="sample_weight: a sum that overflows"):
        metrics.rmse([1, 2], [1, 2], sample_weight=[1e308, 1e308])


def test_metrics_refuse_weights_that_sum_to_zero() -> None:
    with pytest.raises(
        InvalidInputError,
        match="sample_weight: 2 weights that are all 0 must have a positive sum",
    ):
        metrics.rmse([1, 2], [1, 2], sample_weight=[0, 0])


def test_zero_weights_are_allowed() -> None:
    assert metrics.rmse([1, 2, 3], [1, 2, 30], sample_weight=[1, 1, 0]) == 0.0
