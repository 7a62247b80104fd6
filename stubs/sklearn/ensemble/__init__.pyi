from typing import Literal, Self

import numpy as np
import pandas as pd
from numpy.typing import NDArray

class HistGradientBoostingRegressor:
    n_iter_: int
    def __init__(
        self,
        loss: Literal["squared_error", "absolute_error", "gamma", "poisson"] = ...,
        *,
        learning_rate: float = ...,
        max_iter: int = ...,
        max_leaf_nodes: int | None = ...,
        min_samples_leaf: int = ...,
        categorical_features: Literal["from_dtype"] | list[str] | None = ...,
        early_stopping: Literal["auto"] | bool = ...,
        validation_fraction: float | None = ...,
        n_iter_no_change: int = ...,
        random_state: int | None = ...,
    ) -> None: ...
    def fit(self, x: pd.DataFrame, y: pd.Series[float], /) -> Self: ...
    def predict(self, x: pd.DataFrame, /) -> NDArray[np.float64]: ...
