"""Forecasts as a PNG plot (matplotlib's Agg renderer, no GUI) or as CSV text."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

#: Hours of history shown before the forecasts.
SHOWN_HISTORY = 7 * 24


def plot_png(
    history: pd.Series, times: pd.DatetimeIndex, forecasts: dict[str, np.ndarray]
) -> bytes:
    """The last week of ``history`` and each model's forecast, as a PNG image."""
    figure = Figure(figsize=(9, 4), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    shown = history.iloc[-SHOWN_HISTORY:]
    axes.plot(shown.index, shown.to_numpy(), color="black", linewidth=1.2, label="history")
    for name, values in forecasts.items():
        # Start each forecast line at the last known hour, so it continues the history.
        axes.plot(
            [history.index[-1], *times],
            [history.iloc[-1], *values],
            linewidth=1.5,
            label=name,
        )
    axes.axvline(history.index[-1], color="grey", linestyle=":", linewidth=1)
    axes.set_ylabel("load")
    axes.grid(alpha=0.3)
    figure.legend(loc="outside upper center", ncols=1 + len(forecasts), fontsize="small")
    figure.autofmt_xdate()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def table_csv(times: pd.DatetimeIndex, forecasts: dict[str, np.ndarray]) -> str:
    """One row per forecast hour: ``time`` then one column of load per model."""
    frame = pd.DataFrame({"time": format_times(times), **forecasts})
    return frame.to_csv(index=False, lineterminator="\n")


def format_times(times: pd.DatetimeIndex) -> list[str]:
    """ISO 8601 timestamps to the minute, as in the input."""
    return list(times.strftime("%Y-%m-%dT%H:%M"))
