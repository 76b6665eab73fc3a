"""The three regressors, fitting them on a load series, forecasting and scoring forecasts."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVR

from . import features

#: The regressors, by the name used in arguments and responses, with their display labels.
MODELS = {
    "linear_regression": "LinearRegression",
    "svr": "SVR",
    "random_forest": "RandomForestRegressor",
}

RANDOM_STATE = 0

#: Default hyper-parameters. ``*_rows``: how many (origin, lead time) rows, drawn at random,
#: SVR and the random forest are fitted on (linear regression takes them all).
DEFAULT_HYPER: dict[str, Any] = {
    "svr_c": 10.0,
    "svr_epsilon": 0.02,
    "svr_rows": 2000,
    "rf_n_estimators": 30,
    "rf_max_depth": 12,
    "rf_rows": 10000,
}
ROW_LIMITS = {"svr": "svr_rows", "random_forest": "rf_rows"}


def build(name: str, hyper: dict[str, Any]) -> Any:
    """An unfitted regressor of ``name`` with ``hyper`` (complete, see DEFAULT_HYPER)."""
    if name == "linear_regression":
        return LinearRegression()
    if name == "svr":
        return make_pipeline(StandardScaler(), SVR(C=hyper["svr_c"], epsilon=hyper["svr_epsilon"]))
    return RandomForestRegressor(
        n_estimators=hyper["rf_n_estimators"],
        max_depth=hyper["rf_max_depth"],
        max_features=0.5,
        random_state=RANDOM_STATE,
    )


@dataclasses.dataclass(frozen=True)
class Forecaster:
    """Fitted regressors by name, and the hyper-parameters they were fitted with."""

    regressors: dict[str, Any]
    hyper: dict[str, Any]

    def forecast(self, history: pd.Series, names: list[str]) -> dict[str, np.ndarray]:
        """The next 24 hourly loads after ``history`` (at least a week), per regressor."""
        return self.forecast_many([history], names)[0]

    def forecast_many(
        self, histories: list[pd.Series], names: list[str]
    ) -> list[dict[str, np.ndarray]]:
        """:meth:`forecast` for several histories, with one call of each regressor for all."""
        rows, levels = [], []
        for history in histories:
            recent = history.iloc[-features.HISTORY :]  # all that the features look at
            values = recent.to_numpy(dtype=float)
            last = np.array([len(values) - 1])
            rows.append(features.design(values, recent.index, last))
            levels.append(features.levels(values, last)[0])
        if not rows:
            return []
        stacked = np.vstack(rows)
        loads = {
            name: self.regressors[name].predict(stacked).reshape(len(rows), features.HORIZON)
            for name in names
        }
        return [
            {name: loads[name][number] * level for name in names}
            for number, level in enumerate(levels)
        ]

    def score(self, series: pd.Series, at: np.ndarray) -> dict[str, dict[str, float]]:
        """MAE and MAPE (%) of each regressor's day-ahead forecasts from the origins ``at``."""
        values = series.to_numpy(dtype=float)
        rows = features.design(values, series.index, at)
        level = np.repeat(features.levels(values, at), features.HORIZON)
        actual = features.targets(values, at) * level
        scores = {}
        for name, regressor in self.regressors.items():
            error = regressor.predict(rows) * level - actual
            scores[name] = {
                "mae": float(np.mean(np.abs(error))),
                "mape": float(100 * np.mean(np.abs(error / actual))),
            }
        return scores


def fit(
    series: pd.Series,
    hyper: dict[str, Any] | None = None,
    progress: Callable[[str, float], None] = lambda name, seconds: None,
) -> Forecaster:
    """Fit the three regressors on every full day-ahead window of ``series``.

    ``progress(name, seconds)`` is called after each regressor is fitted, with the time its
    fitting took.
    """
    hyper = {**DEFAULT_HYPER, **(hyper or {})}
    values = series.to_numpy(dtype=float)
    at = features.origins(len(values))
    if at.size == 0:
        raise ValueError(
            f"{len(values)} hours are too few to train on: a training window takes "
            f"{features.HISTORY + features.HORIZON} hours."
        )
    rows = features.design(values, series.index, at)
    target = features.targets(values, at)
    rng = np.random.default_rng(RANDOM_STATE)
    regressors = {}
    for name in MODELS:
        limit = hyper[ROW_LIMITS[name]] if name in ROW_LIMITS else len(rows)
        chosen = rng.permutation(len(rows))[:limit] if limit < len(rows) else slice(None)
        started = time.perf_counter()
        regressors[name] = build(name, hyper).fit(rows[chosen], target[chosen])
        progress(name, time.perf_counter() - started)
    return Forecaster(regressors, hyper)


def split(series: pd.Series, test_days: int) -> tuple[pd.Series, np.ndarray]:
    """The training part of ``series`` and the test origins: every hour of the last
    ``test_days`` days from which a full day ahead is known (their history may overlap the
    training part, their targets never do)."""
    test_hours = test_days * 24
    train = series.iloc[: len(series) - test_hours]
    first = len(series) - test_hours - 1
    return train, np.arange(max(first, features.HISTORY - 1), len(series) - features.HORIZON)
