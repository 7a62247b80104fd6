"""An independent oracle for the demo: errors per month with plain pandas.

It shares no code with rmsewatch beyond the frames it reads: the truth comes
from ``arr_delay`` in the flights frame (not from the label events) and the
month from the flight's scheduled departure ``ts`` (not from the prediction
events), so the end-to-end demo test can compare what the service reports with
numbers computed here.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["monthly_errors"]


def monthly_errors(
    flights: pd.DataFrame, predictions: pd.DataFrame, *, by: Sequence[str] = ()
) -> pd.DataFrame:
    """Return count, rmse, mae and mean_error per UTC calendar month of ``ts``.

    Parameters
    ----------
    flights
        A frame with ``prediction_id``, ``ts`` (timezone-aware), ``arr_delay``
        and any ``by`` columns; flights without ``arr_delay`` are left out.
    predictions
        A frame with ``prediction_id`` and ``y_pred``; only flights that have
        a prediction count.
    by
        Further columns of ``flights`` to group by, e.g. ``("carrier",)``.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``month`` (``"2013-03"``) and the ``by`` columns, with
        ``count``, ``rmse`` = sqrt(mean((y_pred - arr_delay)^2)), ``mae`` =
        mean(|y_pred - arr_delay|) and ``mean_error`` = mean(y_pred - arr_delay).
    """
    truth = flights[["prediction_id", "ts", "arr_delay", *by]]
    joined = predictions[["prediction_id", "y_pred"]].merge(
        truth, on="prediction_id", how="inner", validate="one_to_one"
    )
    labelled = joined[joined["arr_delay"].notna()]

    error = labelled["y_pred"] - labelled["arr_delay"]
    keys = pd.DataFrame(
        {
            "month": labelled["ts"].dt.tz_convert("UTC").dt.strftime("%Y-%m"),
            **{column: labelled[column].astype(str) for column in by},
        }
    )
    parts = pd.concat(
        [
            keys,
            pd.DataFrame(
                {"error": error, "squared": error**2, "absolute": error.abs()}
            ),
        ],
        axis=1,
    )
    grouped = parts.groupby(["month", *by], sort=True)

    return pd.DataFrame(
        {
            "count": grouped.size(),
            "rmse": np.sqrt(grouped["squared"].mean()),
            "mae": grouped["absolute"].mean(),
            "mean_error": grouped["error"].mean(),
        }
    )
