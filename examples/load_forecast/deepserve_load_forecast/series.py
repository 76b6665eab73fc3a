"""Hourly load series: read from CSV or lists, checked, and the bundled synthetic data set."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

#: The synthetic series shipped with the package (see make_data.py and the README).
BUNDLED = Path(__file__).parent / "data" / "load.csv"

#: Columns of an uploaded or bundled CSV file.
COLUMNS = ("time", "load")

HOUR = pd.Timedelta(hours=1)


class SeriesError(ValueError):
    """A load series that cannot be used: a message for the user, and the column at fault."""

    def __init__(self, message: str, column: str = "load") -> None:
        super().__init__(message)
        self.column = column


def read_csv(path: str | Path) -> pd.Series:
    """A ``time,load`` CSV file as an hourly series (checked by :func:`hourly_series`)."""
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise SeriesError(f"Not a readable CSV file: {error}") from error
    frame.columns = [str(column).strip().lower() for column in frame.columns]
    missing = [column for column in COLUMNS if column not in frame.columns]
    if missing:
        raise SeriesError(
            f"The CSV file needs the columns {', '.join(COLUMNS)} (header line); "
            f"missing: {', '.join(missing)}."
        )
    # The first data row is line 2 of the file.
    return hourly_series(frame["time"].tolist(), frame["load"].tolist(), first_row=2, unit="line")


def hourly_series(
    times: Sequence[str], loads: Sequence, *, first_row: int = 0, unit: str = "index"
) -> pd.Series:
    """Check and combine timestamps and values into a series indexed by consecutive hours.

    Timestamps are ISO 8601; those with a UTC offset are converted to UTC, the others are
    taken as they are. ``first_row`` and ``unit`` number the rows in error messages.
    """
    if len(times) != len(loads):
        raise SeriesError(f"{len(times)} timestamps but {len(loads)} load values.")
    if not times:
        raise SeriesError("The series is empty.")
    index = _timestamps(times, first_row, unit)
    values = _numbers(loads, first_row, unit)
    steps = np.diff(index.to_numpy())
    wrong = np.flatnonzero(steps != np.timedelta64(1, "h"))
    if wrong.size:
        at = wrong[0]
        raise SeriesError(
            f"Timestamps must be consecutive hours: {index[at]:%Y-%m-%dT%H:%M} is followed by "
            f"{index[at + 1]:%Y-%m-%dT%H:%M} ({unit} {at + 1 + first_row}).",
            "time",
        )
    return pd.Series(values, index=index, name="load")


def _timestamps(times: Sequence[str], first_row: int, unit: str) -> pd.DatetimeIndex:
    texts = pd.Series([str(time).strip() for time in times])
    parsed = pd.to_datetime(texts, format="ISO8601", utc=True, errors="coerce")
    bad = np.flatnonzero(parsed.isna().to_numpy())
    if bad.size:
        raise SeriesError(
            f"{unit} {bad[0] + first_row}: {texts[bad[0]]!r} is not an ISO 8601 timestamp "
            "(e.g. 2019-12-01T13:00).",
            "time",
        )
    return pd.DatetimeIndex(parsed).tz_localize(None)


def _numbers(loads: Sequence, first_row: int, unit: str) -> np.ndarray:
    values = pd.to_numeric(pd.Series(list(loads), dtype=object), errors="coerce").to_numpy(
        dtype=float
    )
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        value = loads[bad[0]]
        problem = "the load is missing" if value in ("", None) else f"{value!r} is not a number"
        raise SeriesError(f"{unit} {bad[0] + first_row}: {problem}.")
    return values


def bundled() -> pd.Series:
    """The synthetic two-year series shipped with the package."""
    return read_csv(BUNDLED)
