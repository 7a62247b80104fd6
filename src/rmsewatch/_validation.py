"""The one input validator every metric and every statistics holder goes through.

It turns whatever the caller holds (a list, a numpy array of any real dtype, a
pandas Series, a pyarrow Array or ChunkedArray) into 1-D contiguous float64
arrays, and refuses input that would make a metric silently wrong: NaN or
infinite values, mismatched lengths, negative weights and errors so large that
their square overflows float64.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from rmsewatch.errors import InvalidInputError

__all__ = ["F64", "Summary", "check_regression_inputs", "describe_positions"]

F64 = npt.NDArray[np.float64]

# Largest |error| whose square is still a finite float64.
_MAX_SQUARABLE = math.sqrt(np.finfo(np.float64).max)

# How many offending positions an error message lists.
_SHOWN = 5


class Summary(str):
    """A description used as an error's value; its repr has no quotes.

    :class:`~rmsewatch.errors.InvalidInputError` shows the value with ``repr``,
    which suits a value received but would quote a description of one.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return str(self)


def describe_positions(
    mask: npt.NDArray[np.bool_], singular: str, plural: str
) -> Summary:
    """Describe where ``mask`` is true: how many rows and the first few indices.

    Examples
    --------
    >>> describe_positions(np.array([False, True, True]), "zero", "zeros")
    2 zeros (first at indices [1, 2])
    >>> describe_positions(np.array([True, False]), "zero", "zeros")
    1 zero (first at index 0)
    """
    positions = np.flatnonzero(mask)
    shown = [int(i) for i in positions[:_SHOWN]]
    what = singular if positions.size == 1 else plural
    where = f"index {shown[0]}" if len(shown) == 1 else f"indices {shown}"
    return Summary(f"{positions.size} {what} (first at {where})")


def check_regression_inputs(
    y_true: npt.ArrayLike,
    y_pred: npt.ArrayLike,
    sample_weight: npt.ArrayLike | None = None,
    *,
    allow_empty: bool = True,
) -> tuple[F64, F64, F64 | None]:
    """Validate one batch of rows and return it as 1-D contiguous float64 arrays.

    Parameters
    ----------
    y_true, y_pred
        True and predicted values, one per row. Any real dtype is accepted
        (integers, float16, float32, float64) and converted to float64.
    sample_weight
        Optional non-negative finite weight per row. Zero weights are allowed.
    allow_empty
        If False, zero rows is an error. The metric functions pass False; the
        mergeable statistics accept empty batches.

    Returns
    -------
    tuple
        ``(y_true, y_pred, sample_weight)``, the last one None when no weights
        were given.

    Raises
    ------
    InvalidInputError
        If an input is not 1-D or not numeric, the lengths differ, a value is
        NaN or infinite, a weight is negative, an error is too large to square
        in float64, or there are no rows and ``allow_empty`` is False.

    Examples
    --------
    >>> true, pred, weight = check_regression_inputs([1, 2], [1.5, 2.5])
    >>> pred.dtype, weight is None
    (dtype('float64'), True)
    """
    true, true_magnitude = _as_finite_float64("y_true", y_true)
    pred, pred_magnitude = _as_finite_float64("y_pred", y_pred)
    _check_same_length("y_pred", pred, true)
    if not allow_empty and true.size == 0:
        raise InvalidInputError(
            "y_true", Summary("0 rows"), "needs at least one row to define a metric"
        )
    # |pred - true| <= max|pred| + max|true|, so ordinary data is cleared
    # without computing the errors here.
    if true_magnitude + pred_magnitude > _MAX_SQUARABLE:
        _check_squarable(true, pred)

    if sample_weight is None:
        return true, pred, None
    weight, _ = _as_finite_float64("sample_weight", sample_weight)
    _check_same_length("sample_weight", weight, true)
    if weight.size and float(weight.min()) < 0:
        negative = weight < 0
        raise InvalidInputError(
            "sample_weight",
            describe_positions(negative, "negative weight", "negative weights"),
            "must be non-negative; give rows you want to ignore a weight of 0",
        )
    with np.errstate(over="ignore"):
        weight_sum = float(np.sum(weight))
    if not math.isfinite(weight_sum):
        raise InvalidInputError(
            "sample_weight",
            Summary("a sum that overflows float64"),
            "must sum to a finite number; rescale the weights",
        )
    return true, pred, weight


def _as_finite_float64(field: str, values: npt.ArrayLike) -> tuple[F64, float]:
    """Convert one input to 1-D contiguous finite float64; return it and max |x|."""
    array = _as_float64(field, values)
    if array.ndim != 1:
        raise InvalidInputError(
            field,
            Summary(f"an array of shape {array.shape}"),
            "must be 1-D with one value per row; flatten it with .ravel() first",
        )
    if array.size == 0:
        return np.ascontiguousarray(array, dtype=np.float64), 0.0
    # min and max propagate NaN and keep infinities, and they allocate nothing,
    # so the common all-finite case costs two fast reductions.
    low, high = float(array.min()), float(array.max())
    if not (math.isfinite(low) and math.isfinite(high)):
        raise InvalidInputError(
            field,
            describe_positions(
                ~np.isfinite(array), "non-finite value", "non-finite values"
            ),
            "must be finite; drop or impute the rows holding NaN, missing or "
            "infinite values",
        )
    return np.ascontiguousarray(array, dtype=np.float64), max(-low, high)


def _as_float64(field: str, values: npt.ArrayLike) -> npt.NDArray[Any]:
    """Convert any real numeric array-like to float64, naming what is not numeric."""
    array = np.asarray(values)
    if array.dtype.kind in "iuf":
        return array.astype(np.float64, copy=False)
    if array.dtype.kind == "O":
        try:
            return array.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(
                field,
                _first_non_number(array),
                "must be numeric; drop missing rows or convert the column to a "
                "numeric dtype",
            ) from exc
    raise InvalidInputError(
        field,
        Summary(f"an array of dtype {array.dtype}"),
        "must hold real numbers (integer or floating dtype); convert it first",
    )


def _first_non_number(array: npt.NDArray[Any]) -> Summary:
    """Find the first element of an object array that float() rejects."""
    # Only reached on the error path, so a Python loop is affordable here.
    for index, item in enumerate(array.ravel()):
        try:
            float(item)
        except (TypeError, ValueError):
            return Summary(f"a non-numeric value {item!r} at index {index}")
    return Summary("an object array")


def _check_same_length(field: str, values: F64, reference: F64) -> None:
    if values.size != reference.size:
        raise InvalidInputError(
            field,
            Summary(f"{values.size} row{'' if values.size == 1 else 's'}"),
            f"must have as many rows as y_true ({reference.size} rows); pass one "
            "value per row",
        )


def _check_squarable(true: F64, pred: F64) -> None:
    """Refuse errors whose square overflows float64, such as 1e200."""
    with np.errstate(over="ignore"):
        too_large = ~(np.abs(pred - true) <= _MAX_SQUARABLE)
    if too_large.any():
        raise InvalidInputError(
            "y_pred",
            describe_positions(too_large, "error too large", "errors too large"),
            f"must lie within {_MAX_SQUARABLE:.3g} of y_true so that the squared "
            "error fits in float64; check the units of y_true and y_pred",
        )
