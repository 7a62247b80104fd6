"""rmsewatch: RMSE as a production signal for regression and forecasting models.

The public surface:

- :mod:`rmsewatch.metrics`: RMSE and its family as pure functions.
- :class:`ErrorStats`: mergeable sufficient statistics of errors.
- :class:`Monitor`: ingest predictions and late labels, read windows.
- ``rmsewatch serve``: the HTTP service (:func:`rmsewatch.service.create_app`).
"""

__version__ = "0.1.0"

from rmsewatch.errors import (
    ConstantTargetWarning,
    InvalidInputError,
    NotFoundError,
    RmsewatchError,
    UndefinedMetricWarning,
)
from rmsewatch.monitor import Monitor
from rmsewatch.settings import Settings
from rmsewatch.stats import ErrorStats

__all__ = [
    "ConstantTargetWarning",
    "ErrorStats",
    "InvalidInputError",
    "Monitor",
    "NotFoundError",
    "RmsewatchError",
    "Settings",
    "UndefinedMetricWarning",
    "__version__",
]
