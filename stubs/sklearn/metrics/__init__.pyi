# The regression metrics rmsewatch's tests use as an independent oracle.

from typing import Literal

from numpy.typing import ArrayLike

_Multioutput = Literal["raw_values", "uniform_average", "variance_weighted"]

def mean_squared_error(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    sample_weight: ArrayLike | None = ...,
    multioutput: _Multioutput | ArrayLike = ...,
) -> float: ...
def root_mean_squared_error(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    sample_weight: ArrayLike | None = ...,
    multioutput: _Multioutput | ArrayLike = ...,
) -> float: ...
def mean_absolute_error(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    sample_weight: ArrayLike | None = ...,
    multioutput: _Multioutput | ArrayLike = ...,
) -> float: ...
def mean_absolute_percentage_error(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    sample_weight: ArrayLike | None = ...,
    multioutput: _Multioutput | ArrayLike = ...,
) -> float: ...
def root_mean_squared_log_error(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    sample_weight: ArrayLike | None = ...,
    multioutput: _Multioutput | ArrayLike = ...,
) -> float: ...
def r2_score(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    sample_weight: ArrayLike | None = ...,
    multioutput: _Multioutput | ArrayLike | None = ...,
    force_finite: bool = ...,
) -> float: ...
def max_error(y_true: ArrayLike, y_pred: ArrayLike) -> float: ...
