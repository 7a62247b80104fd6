"""Mergeable sufficient statistics of regression errors.

:class:`ErrorStats` folds rows of ``(y_true, y_pred, weight)`` into a fixed set
of float64 sums, a few extremes and two KLL quantile sketches. Two holders merge
into the holder of their union, so any window, segment or worker can keep one
and combine them later; every metric of :mod:`rmsewatch.metrics` reads back from
the merged sums.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from statistics import NormalDist
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from datasketches import kll_doubles_sketch

from rmsewatch._stats_codec import (
    COUNT_FIELDS,
    FLOAT_FIELDS,
    SKETCH_FIELDS,
    decode_bytes,
    decode_dict,
    encode_bytes,
    encode_dict,
)
from rmsewatch._validation import F64, Summary, check_regression_inputs
from rmsewatch.errors import InvalidInputError, UndefinedMetricWarning
from rmsewatch.metrics import (
    NrmseMethod,
    Undefined,
    check_nrmse_method,
    finish_nrmse,
    finish_r2,
    smape_terms,
)

__all__ = ["SKETCH_K", "ErrorStats"]

#: KLL accuracy parameter: normalised rank error about 1.33% for one quantile
#: and 1.65% over all quantiles at once, with 99% confidence (DataSketches docs).
SKETCH_K: Final = 200

# The float fields that merge by plain addition.
_SUMMED_FIELDS: Final = tuple(
    name
    for name in FLOAT_FIELDS
    if name not in ("true_mean", "true_m2", "true_min", "true_max", "abs_error_max")
)

Outcome = tuple[float, Undefined | None]


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class ErrorStats:
    """Sufficient statistics of ``(y_true, y_pred, weight)`` rows, mergeable.

    Build one with :meth:`from_arrays` (or :meth:`empty`), combine with
    :meth:`merge` or ``+``, and read metrics by name. With ``e = y_pred -
    y_true`` and weights ``w`` (1 when none are given), the fields are:

    ``count``
        Rows seen, whatever their weight.
    ``weight_sum``, ``weight_sq_sum``
        ``Σ w`` and ``Σ w²`` (the latter for Kish's effective sample size).
    ``error_sum``, ``sq_error_sum``, ``abs_error_sum``, ``quartic_error_sum``
        ``Σ w e``, ``Σ w e²``, ``Σ w |e|`` and ``Σ w e⁴``.
    ``true_mean``, ``true_m2``
        Weighted mean of ``y_true`` and ``Σ w (y - mean)²``, merged with the
        parallel formula of Chan, Golub & LeVeque (1979).
    ``true_min``, ``true_max``, ``abs_error_max``
        Extremes over rows of positive weight (``inf``, ``-inf`` and 0 when
        there are none).
    ``mape_sum``, ``mape_weight``, ``mape_excluded``
        ``Σ w |e| / |y|`` and ``Σ w`` over rows with ``y != 0``, and how many
        rows of positive weight had ``y == 0``.
    ``smape_sum``
        ``Σ w 2|e| / (|y| + |p|)``, a row with ``y = p = 0`` counting 0.
    ``rmsle_sum``, ``rmsle_weight``, ``rmsle_excluded``
        ``Σ w (log1p p - log1p y)²`` and ``Σ w`` over rows with both values
        greater than -1, and how many rows of positive weight were left out.
    ``abs_error_sketch``, ``true_sketch``
        KLL sketches (k = 200) of ``|e|`` and of ``y_true`` over rows of positive
        weight, unweighted. Treat them as read-only: holders share them.

    Empty statistics, or statistics whose weights sum to 0, read NaN for every
    metric with an :class:`~rmsewatch.errors.UndefinedMetricWarning`;
    :meth:`summary` reads all metrics at once without warnings.

    Examples
    --------
    >>> first = ErrorStats.from_arrays([0.0, 0.0], [2.0, 2.0])
    >>> second = ErrorStats.from_arrays([0.0, 0.0], [1.0, 1.0])
    >>> (first + second).rmse
    1.5811388300841898
    >>> sum([first, second], ErrorStats.empty()).count
    4
    """

    count: int
    weight_sum: float
    weight_sq_sum: float
    error_sum: float
    sq_error_sum: float
    abs_error_sum: float
    quartic_error_sum: float
    true_mean: float
    true_m2: float
    true_min: float
    true_max: float
    abs_error_max: float
    mape_sum: float
    mape_weight: float
    mape_excluded: int
    smape_sum: float
    rmsle_sum: float
    rmsle_weight: float
    rmsle_excluded: int
    abs_error_sketch: kll_doubles_sketch
    true_sketch: kll_doubles_sketch

    # --- building -------------------------------------------------------------

    @classmethod
    def empty(cls) -> ErrorStats:
        """Return statistics of no rows, the identity of :meth:`merge`."""
        return cls(
            count=0,
            weight_sum=0.0,
            weight_sq_sum=0.0,
            error_sum=0.0,
            sq_error_sum=0.0,
            abs_error_sum=0.0,
            quartic_error_sum=0.0,
            true_mean=0.0,
            true_m2=0.0,
            true_min=math.inf,
            true_max=-math.inf,
            abs_error_max=0.0,
            mape_sum=0.0,
            mape_weight=0.0,
            mape_excluded=0,
            smape_sum=0.0,
            rmsle_sum=0.0,
            rmsle_weight=0.0,
            rmsle_excluded=0,
            abs_error_sketch=kll_doubles_sketch(SKETCH_K),
            true_sketch=kll_doubles_sketch(SKETCH_K),
        )

    @classmethod
    def from_arrays(
        cls,
        y_true: npt.ArrayLike,
        y_pred: npt.ArrayLike,
        sample_weight: npt.ArrayLike | None = None,
    ) -> ErrorStats:
        """Fold a batch of rows into statistics; an empty batch gives empty ones.

        Input is checked by the shared validator, so NaN, infinities, length
        mismatches and negative weights raise
        :class:`~rmsewatch.errors.InvalidInputError`. Rows of weight 0 add to
        ``count`` and nothing else.
        """
        true, pred, weight = check_regression_inputs(y_true, y_pred, sample_weight)
        rows = int(true.size)
        if weight is not None and rows and float(weight.min()) <= 0:
            # Drop them up front: a zero weight times an infinite term (a MAPE
            # ratio past float64's range) would otherwise be NaN, not 0.
            counted = weight > 0
            true, pred, weight = true[counted], pred[counted], weight[counted]
        if true.size == 0:
            return replace(cls.empty(), count=rows)

        error = pred - true
        abs_error = np.abs(error)
        sq_error = error * error
        scratch = np.multiply(sq_error, sq_error)
        total = _weighted_sum(weight)
        weight_sum = float(true.size) if weight is None else float(np.sum(weight))
        true_mean = total(true) / weight_sum
        quartic_error_sum = total(scratch)
        np.subtract(true, true_mean, out=scratch)
        np.multiply(scratch, scratch, out=scratch)
        true_m2 = total(scratch)

        mape_sum, mape_weight, mape_excluded = _mape_sums(true, abs_error, weight)
        rmsle_sum, rmsle_weight, rmsle_excluded = _rmsle_sums(true, pred, weight)
        abs_error_sketch = kll_doubles_sketch(SKETCH_K)
        abs_error_sketch.update(abs_error)
        true_sketch = kll_doubles_sketch(SKETCH_K)
        true_sketch.update(true)
        return cls(
            count=rows,
            weight_sum=weight_sum,
            weight_sq_sum=weight_sum if weight is None else total(weight),
            error_sum=total(error),
            sq_error_sum=total(sq_error),
            abs_error_sum=total(abs_error),
            quartic_error_sum=quartic_error_sum,
            true_mean=true_mean,
            true_m2=true_m2,
            true_min=float(true.min()),
            true_max=float(true.max()),
            abs_error_max=float(abs_error.max()),
            mape_sum=mape_sum,
            mape_weight=mape_weight,
            mape_excluded=mape_excluded,
            smape_sum=total(smape_terms(true, pred, abs_error)),
            rmsle_sum=rmsle_sum,
            rmsle_weight=rmsle_weight,
            rmsle_excluded=rmsle_excluded,
            abs_error_sketch=abs_error_sketch,
            true_sketch=true_sketch,
        )

    @classmethod
    def from_groups(
        cls,
        y_true: npt.ArrayLike,
        y_pred: npt.ArrayLike,
        sample_weight: npt.ArrayLike | None,
        sizes: npt.ArrayLike,
    ) -> list[ErrorStats]:
        """Fold consecutive groups of rows at once: group k is the next ``sizes[k]``.

        Gives the same statistics as :meth:`from_arrays` on each group (sums
        within a group are sequential rather than pairwise, so they may differ
        in the last bits), with one pass of numpy calls for all groups instead
        of one per group. Groups of size 0, or of zero weight only, give
        empty statistics.

        Examples
        --------
        >>> a, b = ErrorStats.from_groups([0, 0, 0], [3, 4, 1], None, [2, 1])
        >>> a.mse, b.rmse
        (12.5, 1.0)
        """
        true, pred, weight = check_regression_inputs(y_true, y_pred, sample_weight)
        group_sizes = np.asarray(sizes, dtype=np.int64)
        if group_sizes.ndim != 1 or int(group_sizes.sum()) != true.size:
            raise InvalidInputError(
                "sizes",
                Summary(f"{group_sizes.size} groups of {int(group_sizes.sum())} rows"),
                f"must split the {true.size} rows into consecutive groups",
            )
        counts = group_sizes
        if weight is not None:
            # As in from_arrays: rows of zero weight count, and nothing else.
            counted = weight > 0
            running = np.concatenate(([0], np.cumsum(counted)))
            bounds = np.concatenate(([0], np.cumsum(counts)))
            group_sizes = running[bounds[1:]] - running[bounds[:-1]]
            true, pred, weight = true[counted], pred[counted], weight[counted]
        w = np.ones_like(true) if weight is None else weight

        filled = np.flatnonzero(group_sizes > 0)
        starts = _starts(group_sizes)[filled]
        empty = cls.empty()  # read-only, so every empty group may share it
        result = [empty if n == 0 else replace(empty, count=int(n)) for n in counts]
        if filled.size == 0:
            return result

        def total(values: F64) -> F64:
            return np.add.reduceat(values, starts)

        error = pred - true
        abs_error = np.abs(error)
        sq_error = error * error
        weight_sum = total(w)
        true_mean = total(w * true) / weight_sum
        centred = true - np.repeat(true_mean, group_sizes[filled])
        nonzero = true != 0
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            ratio = np.where(nonzero, abs_error / np.abs(true), 0.0)
        in_domain = (true > -1) & (pred > -1)
        log_error = np.log1p(np.where(in_domain, pred, 0.0))
        log_error -= np.log1p(np.where(in_domain, true, 0.0))
        columns = {
            "weight_sum": weight_sum,
            "weight_sq_sum": total(w * w),
            "error_sum": total(w * error),
            "sq_error_sum": total(w * sq_error),
            "abs_error_sum": total(w * abs_error),
            "quartic_error_sum": total(w * sq_error * sq_error),
            "true_mean": true_mean,
            "true_m2": total(w * centred * centred),
            "true_min": np.minimum.reduceat(true, starts),
            "true_max": np.maximum.reduceat(true, starts),
            "abs_error_max": np.maximum.reduceat(abs_error, starts),
            "mape_sum": total(w * ratio),
            "mape_weight": total(w * nonzero),
            "smape_sum": total(w * smape_terms(true, pred, abs_error)),
            "rmsle_sum": total(w * log_error * log_error),
            "rmsle_weight": total(w * in_domain),
        }
        excluded = {
            "mape_excluded": total((~nonzero).astype(np.float64)),
            "rmsle_excluded": total((~in_domain).astype(np.float64)),
        }
        ends = starts + group_sizes[filled]
        for k, group in enumerate(filled):
            abs_error_sketch = kll_doubles_sketch(SKETCH_K)
            abs_error_sketch.update(abs_error[starts[k] : ends[k]])
            true_sketch = kll_doubles_sketch(SKETCH_K)
            true_sketch.update(true[starts[k] : ends[k]])
            fields: dict[str, Any] = {
                name: float(values[k]) for name, values in columns.items()
            }
            fields.update({name: int(values[k]) for name, values in excluded.items()})
            result[group] = cls(
                count=int(counts[group]),
                abs_error_sketch=abs_error_sketch,
                true_sketch=true_sketch,
                **fields,
            )
        return result

    # --- merging --------------------------------------------------------------

    def merge(self, other: ErrorStats) -> ErrorStats:
        """Return the statistics of the rows of both; neither input changes."""
        weight_sum = self.weight_sum + other.weight_sum
        true_mean, true_m2 = _merge_moments(
            (self.weight_sum, self.true_mean, self.true_m2),
            (other.weight_sum, other.true_mean, other.true_m2),
        )
        return ErrorStats(
            count=self.count + other.count,
            weight_sum=weight_sum,
            weight_sq_sum=self.weight_sq_sum + other.weight_sq_sum,
            error_sum=self.error_sum + other.error_sum,
            sq_error_sum=self.sq_error_sum + other.sq_error_sum,
            abs_error_sum=self.abs_error_sum + other.abs_error_sum,
            quartic_error_sum=self.quartic_error_sum + other.quartic_error_sum,
            true_mean=true_mean,
            true_m2=true_m2,
            true_min=min(self.true_min, other.true_min),
            true_max=max(self.true_max, other.true_max),
            abs_error_max=max(self.abs_error_max, other.abs_error_max),
            mape_sum=self.mape_sum + other.mape_sum,
            mape_weight=self.mape_weight + other.mape_weight,
            mape_excluded=self.mape_excluded + other.mape_excluded,
            smape_sum=self.smape_sum + other.smape_sum,
            rmsle_sum=self.rmsle_sum + other.rmsle_sum,
            rmsle_weight=self.rmsle_weight + other.rmsle_weight,
            rmsle_excluded=self.rmsle_excluded + other.rmsle_excluded,
            abs_error_sketch=_merge_sketches(
                self.abs_error_sketch, other.abs_error_sketch
            ),
            true_sketch=_merge_sketches(self.true_sketch, other.true_sketch),
        )

    @classmethod
    def merge_all(cls, parts: Iterable[ErrorStats]) -> ErrorStats:
        """Return the statistics of the rows of every part, in one pass.

        The same result as merging pairwise (up to rounding), without building
        an intermediate object and sketch per step: a window of thousands of
        buckets merges in one call.

        Examples
        --------
        >>> parts = [ErrorStats.from_arrays([0.0], [e]) for e in (2.0, 2.0, 1.0, 1.0)]
        >>> ErrorStats.merge_all(parts).rmse
        1.5811388300841898
        """
        items = [p for p in parts if p.count]
        if not items:
            return cls.empty()
        if len(items) == 1:
            return items[0]
        values = {
            name: np.array([getattr(p, name) for p in items], dtype=np.float64)
            for name in FLOAT_FIELDS
        }
        weight = values["weight_sum"]
        weight_sum = float(np.sum(weight))
        fields: dict[str, Any] = {
            name: int(sum(getattr(p, name) for p in items)) for name in COUNT_FIELDS
        }
        for name in _SUMMED_FIELDS:
            fields[name] = float(np.sum(values[name]))
        # The k-way form of Chan, Golub & LeVeque: M2 = Σ M2_i + Σ w_i (m_i - m)².
        weighted = weight > 0
        if weight_sum > 0:
            mean = float(np.sum(weight * values["true_mean"]) / weight_sum)
            spread = values["true_mean"][weighted] - mean
            m2 = float(
                np.sum(values["true_m2"]) + np.sum(weight[weighted] * spread * spread)
            )
        else:
            mean, m2 = 0.0, float(np.sum(values["true_m2"]))
        fields.update(
            true_mean=mean,
            true_m2=m2,
            true_min=float(np.min(values["true_min"])),
            true_max=float(np.max(values["true_max"])),
            abs_error_max=float(np.max(values["abs_error_max"])),
        )
        for name in SKETCH_FIELDS:
            merged = kll_doubles_sketch(SKETCH_K)
            for part in items:
                sketch = getattr(part, name)
                if not sketch.is_empty():
                    merged.merge(sketch)
            fields[name] = merged
        return cls(**fields)

    def __add__(self, other: object) -> ErrorStats:
        if not isinstance(other, ErrorStats):
            return NotImplemented
        return self.merge(other)

    def __radd__(self, other: int) -> ErrorStats:
        # sum() without a start value begins with the integer 0.
        if other != 0:
            return NotImplemented
        return self

    def __repr__(self) -> str:
        return (
            f"ErrorStats(count={self.count}, weight_sum={self.weight_sum!r}, "
            f"sq_error_sum={self.sq_error_sum!r})"
        )

    # --- reading --------------------------------------------------------------

    @property
    def mse(self) -> float:
        """Weighted mean squared error (NaN, with a warning, when undefined)."""
        return _emit(self._mse())

    @property
    def rmse(self) -> float:
        """Root of the pooled weighted mean squared error."""
        return _emit(self._rmse())

    @property
    def mae(self) -> float:
        """Weighted mean absolute error."""
        return _emit(self._mae())

    @property
    def mean_error(self) -> float:
        """Weighted mean of ``y_pred - y_true`` (bias)."""
        return _emit(self._mean_error())

    @property
    def mape(self) -> float:
        """Weighted MAPE, as a fraction, over rows with a non-zero target."""
        return _emit(self._mape())

    @property
    def smape(self) -> float:
        """Weighted symmetric MAPE, in ``[0, 2]``."""
        return _emit(self._smape())

    @property
    def rmsle(self) -> float:
        """Weighted RMSLE over rows whose values are all greater than -1."""
        return _emit(self._rmsle())

    @property
    def r2_score(self) -> float:
        """Weighted R²; -inf or NaN with a warning when the target is constant."""
        return _emit(self._r2_score())

    @property
    def max_abs_error(self) -> float:
        """Largest ``|y_pred - y_true|`` over rows of positive weight."""
        return _emit(self._max_abs_error())

    @property
    def effective_count(self) -> float:
        """Kish's effective sample size ``(Σ w)² / Σ w²``; 0 when no row counts."""
        if self.weight_sq_sum <= 0:
            return 0.0
        return self.weight_sum * self.weight_sum / self.weight_sq_sum

    def rmse_interval(self, level: float = 0.95) -> tuple[float, float]:
        """Return a confidence interval for the RMSE at ``level`` (delta method).

        The MSE is a weighted mean of ``e²``; its standard error comes from the
        second and fourth moments of the error, ``sqrt((E[e⁴] - MSE²) / n)``
        with Kish's effective count ``n``. The normal interval for the MSE,
        floored at 0, is carried to the RMSE by the square root, which is
        monotone, so the level is kept. (NaN, NaN) with fewer than 2
        effective rows.

        Examples
        --------
        Errors 1, -1, 3, -3: MSE 5, E[e⁴] 41, standard error sqrt(16 / 4) = 2,
        so the MSE interval is 5 ± 1.96 * 2 and the RMSE one its square root:

        >>> stats = ErrorStats.from_arrays([0.0] * 4, [1.0, -1.0, 3.0, -3.0])
        >>> [round(bound, 4) for bound in stats.rmse_interval()]
        [1.0393, 2.9866]
        """
        if not 0 < level < 1:
            raise InvalidInputError("level", level, "must lie strictly between 0 and 1")
        return self._rmse_interval(level)

    def _rmse_interval(self, level: float) -> tuple[float, float]:
        n = self.effective_count
        if n < 2 or self.weight_sum <= 0:
            return math.nan, math.nan
        mse = self.sq_error_sum / self.weight_sum
        fourth = self.quartic_error_sum / self.weight_sum
        spread = max(fourth - mse * mse, 0.0)
        z = NormalDist().inv_cdf(0.5 + level / 2)
        half_width = z * math.sqrt(spread / n)
        return math.sqrt(max(mse - half_width, 0.0)), math.sqrt(mse + half_width)

    def nrmse(self, method: NrmseMethod = "std") -> float:
        """Return the RMSE divided by the spread of ``y_true``.

        ``method`` is one of ``"std"``, ``"range"``, ``"mean"`` and ``"iqr"``, as
        in :func:`rmsewatch.metrics.nrmse`; ``"iqr"`` here reads the quartiles
        from the sketch of ``y_true``, so it is approximate once more than a
        couple of hundred rows have been seen.
        """
        check_nrmse_method(method)
        return _emit(self._nrmse(method))

    def error_quantile(self, q: float) -> float:
        """Return the approximate ``q``-quantile of ``|error|`` from the sketch.

        Unweighted, over rows of positive weight; rank error about 1.33% at
        k = 200 with 99% confidence.
        """
        _check_quantile(q)
        return _emit(self._error_quantile(q))

    def summary(
        self, quantiles: Iterable[float] = (0.5, 0.9, 0.99)
    ) -> dict[str, float | int]:
        """Read every metric into one flat dict, NaN where undefined, no warnings.

        Quantile keys are named from ``quantiles``: 0.5 gives ``abs_error_p50``
        and 0.999 gives ``abs_error_p99_9``.
        """
        quantiles = tuple(quantiles)
        for q in quantiles:
            _check_quantile(q)
        result: dict[str, float | int] = {
            "count": self.count,
            "weight_sum": self.weight_sum,
            "mse": self._mse()[0],
            "rmse": self._rmse()[0],
            "rmse_ci_low": self._rmse_interval(0.95)[0],
            "rmse_ci_high": self._rmse_interval(0.95)[1],
            "mae": self._mae()[0],
            "mean_error": self._mean_error()[0],
            "mape": self._mape()[0],
            "mape_excluded": self.mape_excluded,
            "smape": self._smape()[0],
            "rmsle": self._rmsle()[0],
            "rmsle_excluded": self.rmsle_excluded,
            "r2_score": self._r2_score()[0],
            "nrmse_std": self._nrmse("std")[0],
            "nrmse_range": self._nrmse("range")[0],
            "nrmse_mean": self._nrmse("mean")[0],
            "nrmse_iqr": self._nrmse("iqr")[0],
            "max_abs_error": self._max_abs_error()[0],
        }
        for q in quantiles:
            name = f"{q * 100:g}".replace(".", "_")
            result[f"abs_error_p{name}"] = self._error_quantile(q)[0]
        return result

    # The silent cores: each returns the value and, when it is undefined, the
    # warning the public reader raises. summary() uses them from service threads,
    # where a process-wide warnings filter must not be touched.

    def _no_weight(self, metric: str) -> Undefined | None:
        if self.weight_sum > 0:
            return None
        reason = (
            "no rows have been seen"
            if self.count == 0
            else f"the weights of all {self.count} rows are 0"
        )
        return Undefined(UndefinedMetricWarning, f"{metric} is NaN: {reason}")

    def _weighted_mean(self, metric: str, total: float) -> Outcome:
        issue = self._no_weight(metric)
        return (math.nan, issue) if issue else (total / self.weight_sum, None)

    def _mse(self) -> Outcome:
        return self._weighted_mean("MSE", self.sq_error_sum)

    def _rmse(self) -> Outcome:
        value, issue = self._weighted_mean("RMSE", self.sq_error_sum)
        return math.sqrt(value), issue

    def _mae(self) -> Outcome:
        return self._weighted_mean("MAE", self.abs_error_sum)

    def _mean_error(self) -> Outcome:
        return self._weighted_mean("mean error", self.error_sum)

    def _smape(self) -> Outcome:
        return self._weighted_mean("sMAPE", self.smape_sum)

    def _mape(self) -> Outcome:
        if self.mape_weight > 0:
            return self.mape_sum / self.mape_weight, None
        return math.nan, Undefined(
            UndefinedMetricWarning,
            "MAPE is NaN: no row of positive weight has a non-zero target "
            f"({self.mape_excluded} zero targets left out)",
        )

    def _rmsle(self) -> Outcome:
        if self.rmsle_weight > 0:
            return math.sqrt(self.rmsle_sum / self.rmsle_weight), None
        return math.nan, Undefined(
            UndefinedMetricWarning,
            "RMSLE is NaN: no row of positive weight has both values > -1 "
            f"({self.rmsle_excluded} rows left out)",
        )

    def _r2_score(self) -> Outcome:
        issue = self._no_weight("R²")
        if issue:
            return math.nan, issue
        return finish_r2(self.sq_error_sum, self.true_m2, constant=self._constant())

    def _nrmse(self, method: NrmseMethod) -> Outcome:
        root_mean_square, issue = self._weighted_mean("NRMSE", self.sq_error_sum)
        root_mean_square = math.sqrt(root_mean_square)
        if issue:
            return math.nan, issue
        constant = self._constant()
        if constant:
            normaliser = 0.0
        elif method == "std":
            normaliser = math.sqrt(self.true_m2 / self.weight_sum)
        elif method == "range":
            normaliser = self.true_max - self.true_min
        elif method == "mean":
            normaliser = abs(self.true_mean)
        else:
            lower, upper = self.true_sketch.get_quantiles([0.25, 0.75], True)
            normaliser = upper - lower
        return finish_nrmse(root_mean_square, normaliser, constant=constant)

    def _max_abs_error(self) -> Outcome:
        issue = self._no_weight("max abs error")
        return (math.nan, issue) if issue else (self.abs_error_max, None)

    def _error_quantile(self, q: float) -> Outcome:
        if self.abs_error_sketch.is_empty():
            return math.nan, Undefined(
                UndefinedMetricWarning,
                "error quantile is NaN: no row of positive weight has been seen",
            )
        return self.abs_error_sketch.get_quantile(q, True), None

    def _constant(self) -> bool:
        # Compare the extremes rather than the variance: rounding in the mean
        # can leave a tiny positive M2 for a constant target.
        return self.true_min == self.true_max

    # --- serialisation --------------------------------------------------------

    def to_bytes(self) -> bytes:
        """Encode as a compact versioned blob (see :mod:`rmsewatch._stats_codec`)."""
        return encode_bytes(self)

    @classmethod
    def from_bytes(cls, blob: bytes) -> ErrorStats:
        """Decode a blob from :meth:`to_bytes`; a bad blob raises InvalidInputError."""
        return cls(**decode_bytes(blob))

    def to_dict(self) -> dict[str, int | float | str]:
        """Encode as a JSON-safe dict: non-finite floats as strings, sketches base64."""
        return encode_dict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> ErrorStats:
        """Decode a dict from :meth:`to_dict`; a bad dict raises InvalidInputError."""
        return cls(**decode_dict(data))


# --- helpers ----------------------------------------------------------------------


def _starts(sizes: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Return the first row of each group for groups of the given sizes."""
    return np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.int64)


def _weighted_sum(weight: F64 | None) -> Callable[[F64], float]:
    """Return a function summing ``w * x`` pairwise in float64 (``x`` if no weights)."""
    if weight is None:
        return lambda values: float(np.sum(values))
    return lambda values: float(np.sum(weight * values))


def _mape_sums(
    true: F64, abs_error: F64, weight: F64 | None
) -> tuple[float, float, int]:
    """Return ``Σ w |e| / |y|`` and ``Σ w`` over non-zero targets, and the zeros."""
    zeros = 0
    if not (float(true.min()) > 0 or float(true.max()) < 0):
        keep = true != 0
        true, abs_error = true[keep], abs_error[keep]
        weight = None if weight is None else weight[keep]
        zeros = int(keep.size - true.size)
    # A target near the smallest float64 can push a ratio past the largest:
    # the MAPE is then infinite, which is what it is, not a numerical accident.
    with np.errstate(over="ignore"):
        ratio = abs_error / np.abs(true)
        ratio_sum = _weighted_sum(weight)(ratio)
    weight_sum = float(true.size) if weight is None else float(np.sum(weight))
    return ratio_sum, weight_sum, zeros


def _rmsle_sums(true: F64, pred: F64, weight: F64 | None) -> tuple[float, float, int]:
    """Return ``Σ w (log1p p - log1p y)²`` and ``Σ w`` over rows in the domain."""
    rows = true.size
    if float(true.min()) <= -1 or float(pred.min()) <= -1:
        keep = (true > -1) & (pred > -1)
        true, pred = true[keep], pred[keep]
        weight = None if weight is None else weight[keep]
    log_error = np.log1p(pred)
    log_error -= np.log1p(true)
    log_error *= log_error
    weight_sum = float(true.size) if weight is None else float(np.sum(weight))
    return _weighted_sum(weight)(log_error), weight_sum, int(rows - true.size)


def _merge_moments(
    first: tuple[float, float, float], second: tuple[float, float, float]
) -> tuple[float, float]:
    """Merge (weight, mean, M2) pairs with Chan, Golub & LeVeque's formula.

    Chan, T. F., Golub, G. H. and LeVeque, R. J. (1979), "Updating formulae and a
    pairwise algorithm for computing sample variances", Stanford CS report
    STAN-CS-79-773: the merged M2 adds ``delta² * w_a * w_b / (w_a + w_b)``.
    """
    weight_a, mean_a, m2_a = first
    weight_b, mean_b, m2_b = second
    if weight_b <= 0:
        return mean_a, m2_a + m2_b
    if weight_a <= 0:
        return mean_b, m2_a + m2_b
    weight = weight_a + weight_b
    delta = mean_b - mean_a
    mean = mean_a + delta * (weight_b / weight)
    return mean, m2_a + m2_b + delta * delta * weight_a * (weight_b / weight)


def _merge_sketches(
    first: kll_doubles_sketch, second: kll_doubles_sketch
) -> kll_doubles_sketch:
    # Holders never change their sketches, so an empty side lets us share one.
    if second.is_empty():
        return first
    if first.is_empty():
        return second
    merged = kll_doubles_sketch(SKETCH_K)
    merged.merge(first)
    merged.merge(second)
    return merged


def _emit(outcome: Outcome) -> float:
    value, issue = outcome
    if issue is not None:
        # stacklevel 3: past this helper and the property, to the reader's line.
        warnings.warn(issue.message, issue.category, stacklevel=3)
    return value


def _check_quantile(q: float) -> None:
    if not 0 <= q <= 1:
        raise InvalidInputError("q", q, "must be a quantile between 0 and 1")
