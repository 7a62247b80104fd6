"""Fixtures of the demo's tests: the real flights, model and events, built once."""

from __future__ import annotations

import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingRegressor

from rmsewatch.demo.flights import (
    label_events,
    load_flights,
    prediction_events,
    train_model,
)


@pytest.fixture(scope="session")
def flights() -> pd.DataFrame:
    return load_flights()


@pytest.fixture(scope="session")
def model(flights: pd.DataFrame) -> HistGradientBoostingRegressor:
    return train_model(flights)


@pytest.fixture(scope="session")
def predictions(
    flights: pd.DataFrame, model: HistGradientBoostingRegressor
) -> pd.DataFrame:
    return prediction_events(flights, model)


@pytest.fixture(scope="session")
def labels(flights: pd.DataFrame) -> pd.DataFrame:
    return label_events(flights)
