"""Regression error metrics as small pure numpy functions.

Every function takes ``(y_true, y_pred, *, sample_weight=None)``, validates its
input with :func:`rmsewatch._validation.check_regression_inputs`, accumulates in
float64 with numpy's pairwise sums whatever the input dtype, and returns a
Python float. Weighted means are normalised by the sum of the weights. Names
ending in ``_error`` are lower-is-better and ``_score`` higher-is-better; the
rest (``rmse``, ``mse``, ``mae``, ``mape``, ``smape``, ``rmsle``, ``nrmse``) are
errors too. See ``docs/metrics.md`` for the formulas and the edge cases.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
import numpy.typing as npt

from rmsewatch._validation import (
    F64,
    Summary,
    check_regression_inputs,
    describe_positions,
)
from rmsewatch.errors import (
    ConstantTargetWarning,
    InvalidInputError,
    UndefinedMetricWarning,
)

__all__ = [
    "mae",
    "mape",
    "max_abs_error",
    "mean_error",
    "mse",
    "nrmse",
    "r2_score",
    "rmse",
    "rmsle",
    "smape",
]

NrmseMethod = Literal["std", "range", "mean", "iqr"]
NRMSE_METHODS: Final[tuple[NrmseMethod, ...]] = ("std", "range", "mean", "iqr")


def rmse(
    y_true: npt.ArrayLike,
    y_pred: npt.ArrayLike,
    *,
    sample_weight: npt.ArrayLike | None = None,
) -> float:
    """Root mean squared error: the square root of the weighted mean of e².

    With ``e = y_pred - y_true`` and weights ``w``, ``sqrt(Σ w e² / Σ w)``.
    Lower is better.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_rows,)
        True and predicted values.
    sample_weight : array-like of shape (n_rows,), optional
        Non-negative weights; zero-weight rows do not count.

    Returns
    -------
    float
        The RMSE, in the units of ``y_true``.

    Examples
    --------
    >>> rmse([0, 0], [3, 4])
    3.5355339059327378
    >>> rmse([1, 2], [2, 3], sample_weight=[0, 1])
    1.0
    """
    true, pred, weight = _validate(y_true, y_pred, sample_weight)

    error = pred - true
    # Scale by a power of two near the largest |error| (exact in binary), so
    # that squares of tiny errors do not underflow to 0.
    scale = _power_of_two(error)
    scaled = error / scale

    return scale * math.sqrt(_mean(scaled * scaled, weight))


def mse(
    y_true: npt.ArrayLike,
    y_pred: npt.ArrayLike,
    *,
    sample_weight: npt.ArrayLike | None = None,
) -> float:
    """Mean squared error: the weighted mean of e², with ``e = y_pred - y_true``.

    Lower is better.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_rows,)
        True and predicted values.
    sample_weight : array-like of shape (n_rows,), optional
        Non-negative weights; zero-weight rows do not count.

    Returns
    -------
    float
        The MSE, in squared units of ``y_true``.

    Examples
    --------
    >>> mse([0, 0], [3, 4])
    12.5
    """
    true, pred, weight = _validate(y_true, y_pred, sample_weight)

    error = pred - true

    return _mean(error * error, weight)


def mae(
    y_true: npt.ArrayLike,
    y_pred: npt.ArrayLike,
    *,
    sample_weight: npt.ArrayLike | None = None,
) -> float:
    """Mean absolute error: the weighted mean of ``|y_pred - y_true|``.

    Lower is better.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_rows,)
        True and predicted values.
    sample_weight : array-like of shape (n_rows,), optional
        Non-negative weights; zero-weight rows do not count.

    Returns
    -------
    float
        The MAE, in the units of ``y_true``.

    Examples
    --------
    >>> mae([0, 0], [3, -4])
    3.5
    """
    true, pred, weight = _validate(y_true, y_pred, sample_weight)

    error = pred - true

    return _mean(np.abs(error), weight)


def mean_error(
    y_true: npt.ArrayLike,
    y_pred: npt.ArrayLike,
    *,
    sample_weight: npt.ArrayLike | None = None,
) -> float:
    """Mean signed error (bias): the weighted mean of ``y_pred - y_true``.

    Positive means the model over-predicts on average. Closer to zero is
    better; the sign says in which direction the model is off.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_rows,)
        True and predicted values.
    sample_weight : array-like of shape (n_rows,), optional
        Non-negative weights; zero-weight rows do not count.

    Returns
    -------
    float
        The bias, in the units of ``y_true``.

    Examples
    --------
    >>> mean_error([0, 0], [3, -4])
    -0.5
    """
    true, pred, weight = _validate(y_true, y_pred, sample_weight)

    error = pred - true

    return _mean(error, weight)


def mape(
    y_true: npt.ArrayLike,
    y_pred: npt.ArrayLike,
    *,
    sample_weight: npt.ArrayLike | None = None,
    skip_zero_targets: bool = False,
) -> float:
    """Mean absolute percentage error, as a fraction: weighted mean of ``|e| / |y|``.

    Lower is better. ``0.25`` means predictions are off by 25% of the true
    value on average. A zero target makes its term a division by zero; it is
    never clamped with an epsilon. Zero targets are looked for in every row
    given, including rows of weight 0.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_rows,)
        True and predicted values.
    sample_weight : array-like of shape (n_rows,), optional
        Non-negative weights; zero-weight rows do not count.
    skip_zero_targets : bool, default False
        Leave rows whose true value is 0 out of the mean instead of raising.

    Returns
    -------
    float
        The MAPE as a fraction (not multiplied by 100).

    Raises
    ------
    InvalidInputError
        If a true value is 0 and ``skip_zero_targets`` is False, or if no row
        with a positive weight and a non-zero target is left.

    Examples
    --------
    >>> mape([2, 4], [1, 5])
    0.375
    >>> mape([0, 2], [1, 2], skip_zero_targets=True)
    0.0
    """
    true, pred, weight = _validate(y_true, y_pred, sample_weight)
    zero = true == 0
    if zero.any():
        if not skip_zero_targets:
            raise InvalidInputError(
                "y_true",
                describe_positions(zero, "zero target", "zero targets"),
                "found, and MAPE divides by the target; pass "
                "skip_zero_targets=True to leave those rows out, or use smape or mae",
            )
        keep = ~zero
        true, pred = true[keep], pred[keep]
        weight = None if weight is None else weight[keep]
        if true.size == 0 or (weight is not None and not np.sum(weight) > 0):
            raise InvalidInputError(
                "y_true",
                describe_positions(zero, "zero target", "zero targets"),
                "found, and skipping them leaves no row with a positive weight; "
                "MAPE is undefined here, use smape or mae",
            )

    with np.errstate(over="ignore"):  # a ratio past float64's range is inf
        relative = np.abs(pred - true) / np.abs(true)

        return _mean(relative, weight)


def smape(
    y_true: npt.ArrayLike,
    y_pred: npt.ArrayLike,
    *,
    sample_weight: npt.ArrayLike | None = None,
) -> float:
    """Symmetric MAPE: the weighted mean of ``2 |p - y| / (|y| + |p|)``.

    A row with ``y = p = 0`` is a perfect prediction and counts as 0. The value
    lies in ``[0, 2]``; lower is better.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_rows,)
        True and predicted values.
    sample_weight : array-like of shape (n_rows,), optional
        Non-negative weights; zero-weight rows do not count.

    Returns
    -------
    float
        The sMAPE as a fraction in ``[0, 2]``.

    Examples
    --------
    >>> smape([0, 1, 1], [0, 3, -1])
    1.0
    """
    true, pred, weight = _validate(y_true, y_pred, sample_weight)

    terms = smape_terms(true, pred, np.abs(pred - true))

    return _mean(terms, weight)


def rmsle(
    y_true: npt.ArrayLike,
    y_pred: npt.ArrayLike,
    *,
    sample_weight: npt.ArrayLike | None = None,
) -> float:
    """Root mean squared logarithmic error, with ``log1p``.

    ``sqrt(Σ w (log1p(p) - log1p(y))² / Σ w)``. Defined for values greater
    than -1 only, which every row given must respect, including rows of weight
    0. Lower is better.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_rows,)
        True and predicted values, each greater than -1.
    sample_weight : array-like of shape (n_rows,), optional
        Non-negative weights; zero-weight rows do not count.

    Returns
    -------
    float
        The RMSLE.

    Raises
    ------
    InvalidInputError
        If a true or predicted value is less than or equal to -1.

    Examples
    --------
    >>> round(rmsle([0, 1], [1, 1]), 6)
    0.490129
    """
    true, pred, weight = _validate(y_true, y_pred, sample_weight)
    _check_log1p_domain("y_true", true)
    _check_log1p_domain("y_pred", pred)

    log_error = np.log1p(pred) - np.log1p(true)

    return math.sqrt(_mean(log_error * log_error, weight))


def r2_score(
    y_true: npt.ArrayLike,
    y_pred: npt.ArrayLike,
    *,
    sample_weight: npt.ArrayLike | None = None,
) -> float:
    """Coefficient of determination: ``1 - Σ w e² / Σ w (y - ȳ)²``.

    ``ȳ`` is the weighted mean of ``y_true``. Higher is better; 1 is a perfect
    fit and 0 is no better than predicting ``ȳ``.

    When the true values are constant the denominator is zero: the result is
    ``-inf`` if any residual is non-zero and NaN for a perfect fit, with a
    :class:`~rmsewatch.errors.ConstantTargetWarning` (never a silent 0 or 1).
    The target counts as constant when its smallest and largest values among
    rows of positive weight are equal, so rounding cannot fake a tiny variance.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_rows,)
        True and predicted values.
    sample_weight : array-like of shape (n_rows,), optional
        Non-negative weights; zero-weight rows do not count.

    Returns
    -------
    float
        The R² score, at most 1.

    Examples
    --------
    >>> r2_score([1, 2, 3], [1, 2, 4])
    0.5
    """
    true, pred, weight = _validate(y_true, y_pred, sample_weight)

    error = pred - true
    deviation = true - _mean(true, weight)
    active = _active(true, weight)

    value, issue = finish_r2(
        _total(error * error, weight),
        _total(deviation * deviation, weight),
        constant=bool(active.min() == active.max()),
    )
    _warn(issue)
    return value


def nrmse(
    y_true: npt.ArrayLike,
    y_pred: npt.ArrayLike,
    *,
    method: NrmseMethod = "std",
    sample_weight: npt.ArrayLike | None = None,
) -> float:
    """Normalised RMSE: the RMSE divided by a measure of the spread of ``y_true``.

    Lower is better. The normaliser depends on ``method``:

    - ``"std"``: the weighted population standard deviation of ``y_true``
      (``sqrt(Σ w (y - ȳ)² / Σ w)``);
    - ``"range"``: ``max(y_true) - min(y_true)`` over rows of positive weight;
    - ``"mean"``: ``|ȳ|``, the absolute weighted mean of ``y_true``;
    - ``"iqr"``: the interquartile range ``q75 - q25`` of ``y_true`` over rows of
      positive weight, unweighted, with linear interpolation between order
      statistics (numpy's default ``"linear"`` quantile method).

    A zero normaliser gives ``inf`` when any residual is non-zero and NaN for a
    perfect fit, with a :class:`~rmsewatch.errors.ConstantTargetWarning` when
    the target is constant and an
    :class:`~rmsewatch.errors.UndefinedMetricWarning` otherwise (a zero mean, or
    a zero IQR of a target that is not constant).

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_rows,)
        True and predicted values.
    method : {"std", "range", "mean", "iqr"}, default "std"
        How to measure the spread of ``y_true``.
    sample_weight : array-like of shape (n_rows,), optional
        Non-negative weights; zero-weight rows do not count.

    Returns
    -------
    float
        The RMSE as a multiple of the normaliser.

    Raises
    ------
    InvalidInputError
        If ``method`` is not one of the four above.

    Examples
    --------
    >>> nrmse([0, 2, 4], [1, 2, 3], method="range")
    0.2041241452319315
    >>> round(nrmse([0, 2, 4], [1, 2, 3]), 12)
    0.5
    """
    check_nrmse_method(method)
    true, pred, weight = _validate(y_true, y_pred, sample_weight)

    error = pred - true
    root_mean_square = math.sqrt(_mean(error * error, weight))
    active = _active(true, weight)
    constant = bool(active.min() == active.max())
    if constant:
        normaliser = 0.0
    elif method == "std":
        deviation = true - _mean(true, weight)
        normaliser = math.sqrt(_mean(deviation * deviation, weight))
    elif method == "range":
        normaliser = float(active.max() - active.min())
    elif method == "mean":
        normaliser = abs(_mean(true, weight))
    else:
        lower, upper = np.quantile(active, [0.25, 0.75])
        normaliser = float(upper - lower)

    value, issue = finish_nrmse(root_mean_square, normaliser, constant=constant)
    _warn(issue)
    return value


def max_abs_error(
    y_true: npt.ArrayLike,
    y_pred: npt.ArrayLike,
    *,
    sample_weight: npt.ArrayLike | None = None,
) -> float:
    """Largest absolute error, ``max |y_pred - y_true|``, over rows that count.

    Weights do not scale the errors; they only decide which rows count: a row
    with weight 0 is left out. Lower is better.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_rows,)
        True and predicted values.
    sample_weight : array-like of shape (n_rows,), optional
        Non-negative weights; only whether a weight is zero matters.

    Returns
    -------
    float
        The maximum absolute error, in the units of ``y_true``.

    Examples
    --------
    >>> max_abs_error([0, 0, 0], [1, -5, 9], sample_weight=[1, 1, 0])
    5.0
    """
    true, pred, weight = _validate(y_true, y_pred, sample_weight)

    absolute = np.abs(pred - true)

    return float(_active(absolute, weight).max())


# --- Shared pieces, also used by rmsewatch.stats --------------------------------


@dataclass(frozen=True, slots=True)
class Undefined:
    """Why a metric has no finite value: the warning to raise and its message."""

    category: type[UndefinedMetricWarning]
    message: str


def finish_r2(
    sum_squared_error: float, sum_squared_deviation: float, *, constant: bool
) -> tuple[float, Undefined | None]:
    """Turn the two sums of R² into its value, or say why it is undefined."""
    if constant or sum_squared_deviation <= 0:
        value = -math.inf if sum_squared_error > 0 else math.nan
        return value, Undefined(
            ConstantTargetWarning,
            f"R² is {value} because y_true is constant, so its variance is zero; "
            "report the RMSE or MAE instead",
        )
    return 1.0 - sum_squared_error / sum_squared_deviation, None


def finish_nrmse(
    root_mean_square: float, normaliser: float, *, constant: bool
) -> tuple[float, Undefined | None]:
    """Divide the RMSE by its normaliser, or say why the ratio is undefined."""
    if normaliser > 0:
        return root_mean_square / normaliser, None
    value = math.inf if root_mean_square > 0 else math.nan
    if constant:
        return value, Undefined(
            ConstantTargetWarning,
            f"NRMSE is {value} because y_true is constant, so its spread is zero; "
            "report the RMSE instead",
        )
    return value, Undefined(
        UndefinedMetricWarning,
        f"NRMSE is {value} because its normaliser is zero; choose another method "
        "or report the RMSE instead",
    )


def check_nrmse_method(method: str) -> None:
    """Refuse an unknown NRMSE normaliser, listing the allowed ones."""
    if method not in NRMSE_METHODS:
        allowed = ", ".join(repr(name) for name in NRMSE_METHODS)
        raise InvalidInputError(
            "method", method, f"is not a known NRMSE normaliser; use one of {allowed}"
        )


def smape_terms(true: F64, pred: F64, absolute_error: F64) -> F64:
    """Per-row sMAPE terms ``2 |e| / (|y| + |p|)``, with 0 where ``y = p = 0``."""
    denominator = np.abs(true) + np.abs(pred)
    terms = np.zeros_like(denominator)
    np.divide(absolute_error, denominator, out=terms, where=denominator > 0)
    terms *= 2.0
    return terms


def _check_log1p_domain(field: str, values: F64) -> None:
    if values.size and float(values.min()) <= -1:
        outside = values <= -1
        first = int(np.argmax(outside))
        count = int(np.count_nonzero(outside))
        noun = "value" if count == 1 else "values"
        raise InvalidInputError(
            field,
            Summary(
                f"{float(values[first])!r} at index {first} ({count} {noun} <= -1)"
            ),
            "is outside the domain of RMSLE, which takes log1p and needs values "
            "> -1; use rmse or mae for such data",
        )


def _validate(
    y_true: npt.ArrayLike,
    y_pred: npt.ArrayLike,
    sample_weight: npt.ArrayLike | None,
) -> tuple[F64, F64, F64 | None]:
    true, pred, weight = check_regression_inputs(
        y_true, y_pred, sample_weight, allow_empty=False
    )
    if weight is not None and not np.sum(weight) > 0:
        raise InvalidInputError(
            "sample_weight",
            Summary(f"{weight.size} weights that are all 0"),
            "must have a positive sum, since weighted means divide by it; give "
            "at least one row a positive weight",
        )
    return true, pred, weight


def _total(values: F64, weight: F64 | None) -> float:
    """Weighted sum over rows of positive weight, pairwise in float64."""
    if weight is None:
        return float(np.sum(values))
    if float(weight.min()) > 0:
        return float(np.sum(weight * values))
    # Leave zero-weight rows out rather than multiply: 0 * inf would be NaN.
    counted = weight > 0
    return float(np.sum(weight[counted] * values[counted]))


def _power_of_two(values: F64) -> float:
    """Return 2**k with 2**k <= max|values| < 2**(k+1), or 1.0 for all zeros."""
    largest = float(np.max(np.abs(values))) if values.size else 0.0
    if largest == 0.0 or not math.isfinite(largest):
        return 1.0
    return math.ldexp(1.0, math.frexp(largest)[1] - 1)


def _mean(values: F64, weight: F64 | None) -> float:
    """Weighted mean, normalised by the sum of the weights."""
    if weight is None:
        return float(np.sum(values)) / values.size
    return _total(values, weight) / float(np.sum(weight))


def _active(values: F64, weight: F64 | None) -> F64:
    """The values of the rows that count: those with a positive weight."""
    if weight is None or float(weight.min()) > 0:
        return values
    return values[weight > 0]


def _warn(issue: Undefined | None) -> None:
    if issue is not None:
        # stacklevel 3 points at the caller of the public metric function.
        warnings.warn(issue.message, issue.category, stacklevel=3)
