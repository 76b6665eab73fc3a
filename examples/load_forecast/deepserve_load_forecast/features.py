"""Features of a day-ahead forecast, one row per (forecast origin, lead time).

A forecast made at the end of hour ``origin`` predicts the 24 hours after it. Its row for lead
time ``h`` (1 to 24 hours) holds

* the last 24 hourly loads up to the origin (oldest first),
* the hour of day and the day of year of the target hour, each as a sine and a cosine,
* whether the target hour falls on a weekend,
* the lead time ``h`` itself, since one regressor serves all 24 lead times.

Loads, lags and targets alike, are divided by the mean load of the week up to the origin, so a
model fitted on one grid's data forecasts a series of another size, and the weekly mean is
free of the day-of-week pattern. That is why a forecast needs a week of history.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

LAGS = 24
HORIZON = 24
#: Hours of history a forecast needs: the weekly mean level.
HISTORY = 7 * 24
LEADS = np.arange(1, HORIZON + 1)
NAMES = (
    *(f"load_t-{lag}" for lag in range(LAGS - 1, -1, -1)),
    "hour_sin",
    "hour_cos",
    "day_of_year_sin",
    "day_of_year_cos",
    "weekend",
    "lead_hours",
)


def origins(length: int) -> np.ndarray:
    """Positions in a series of ``length`` hours from which a full 24-hour target is known."""
    return np.arange(HISTORY - 1, length - HORIZON)


def levels(values: np.ndarray, at: np.ndarray) -> np.ndarray:
    """The mean of the week up to and including each position in ``at``."""
    return sliding_window_view(values, HISTORY).mean(axis=1)[at - HISTORY + 1]


def design(values: np.ndarray, times: pd.DatetimeIndex, at: np.ndarray) -> np.ndarray:
    """Feature rows for the origins ``at``: ``len(at) * 24`` rows, lead times 1 to 24 each."""
    level = levels(values, at)[:, None]
    lags = sliding_window_view(values, LAGS)[at - LAGS + 1] / level
    targets = times[at].to_numpy()[:, None] + LEADS * np.timedelta64(1, "h")
    calendar = calendar_features(pd.DatetimeIndex(targets.ravel()))
    rows = np.repeat(lags, HORIZON, axis=0)
    leads = np.tile(LEADS, len(at))[:, None]
    return np.hstack([rows, calendar, leads])


def calendar_features(times: pd.DatetimeIndex) -> np.ndarray:
    """Hour of day and day of year as sine and cosine, and the weekend flag."""
    hour = 2 * np.pi * times.hour.to_numpy() / 24
    day = 2 * np.pi * (times.day_of_year.to_numpy() - 1) / 365.25
    weekend = times.day_of_week.to_numpy() >= 5
    return np.column_stack(
        [np.sin(hour), np.cos(hour), np.sin(day), np.cos(day), weekend.astype(float)]
    )


def targets(values: np.ndarray, at: np.ndarray) -> np.ndarray:
    """The next 24 loads after each origin, relative to its weekly level, as one column."""
    following = sliding_window_view(values, HORIZON)[at + 1]
    return (following / levels(values, at)[:, None]).ravel()
