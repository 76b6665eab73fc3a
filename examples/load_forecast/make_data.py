"""Generate the synthetic hourly load series shipped with the example.

    python examples/load_forecast/make_data.py

writes ``deepserve_load_forecast/data/load.csv`` (columns ``time,load``; two years of hourly
values in MW, 2018-01-01 00:00 to 2019-12-31 23:00, no time zone). The series is made up, not
measured: it is shaped like the load of a central European country and built from

* a level of 55 GW growing by 1 % a year;
* a seasonal cycle: higher in winter (heating, lighting), a small summer bump (cooling);
* a daily profile: a night trough, a daytime plateau with a midday high and an evening peak
  that comes earlier and is higher in winter;
* a weekly cycle: on Saturdays and even more on Sundays the day starts later and stays lower;
* public holidays (German federal ones) that look like Sundays, and a quieter Christmas;
* weather-like noise: a day-to-day anomaly (AR(1), a few days' memory) that matters more in
  winter, and hour-to-hour noise (AR(1)).

The random generator is seeded, so the file is the same on every run.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

SEED = 20180101
START, END = "2018-01-01 00:00", "2019-12-31 23:00"
OUTPUT = Path(__file__).parent / "deepserve_load_forecast" / "data" / "load.csv"

#: German federal public holidays of 2018 and 2019.
HOLIDAYS = pd.to_datetime(
    [
        "2018-01-01", "2018-03-30", "2018-04-02", "2018-05-01", "2018-05-10", "2018-05-21",
        "2018-10-03", "2018-12-25", "2018-12-26",
        "2019-01-01", "2019-04-19", "2019-04-22", "2019-05-01", "2019-05-30", "2019-06-10",
        "2019-10-03", "2019-12-25", "2019-12-26",
    ]
)  # fmt: skip


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def bump(hour: np.ndarray, centre: np.ndarray | float, width: float) -> np.ndarray:
    """A smooth peak around ``centre`` o'clock."""
    return np.exp(-0.5 * ((hour - centre) / width) ** 2)


def synthetic_load(times: pd.DatetimeIndex, rng: np.random.Generator) -> np.ndarray:
    """Hourly load in MW at ``times``."""
    hour = times.hour.to_numpy().astype(float)
    late = np.where(hour < 3, hour + 24, hour)  # the evening decline runs past midnight
    day_of_year = times.day_of_year.to_numpy()
    years = (times - times[0]).total_seconds().to_numpy() / (365.25 * 86400)
    winter = np.cos(2 * np.pi * (day_of_year - 15) / 365.25)  # 1 mid-January, -1 mid-July
    level = 55_000 * (1 + 0.01 * years)
    seasonal = 1 + 0.10 * winter + 0.03 * bump(day_of_year, 200, 20)

    day = times.normalize()
    sunday_like = (times.day_of_week == 6) | day.isin(HOLIDAYS)
    saturday = (times.day_of_week == 5) & ~sunday_like
    christmas = (times.month == 12) & (times.day >= 24)
    # Activity: 0 at night, about 1 by day; the weekend starts later and is quieter.
    start = np.where(sunday_like | saturday, 8.0, 6.5)
    daytime = sigmoid((hour - start) / 0.9) * sigmoid((21.0 - late) / 1.2)
    evening_peak = 19.5 - 1.5 * winter  # 18:00 in winter, 21:00 in summer
    evening = (0.5 + 0.3 * winter) * bump(late, evening_peak, 1.5)
    activity = daytime * (0.75 + 0.25 * bump(hour, 12.5, 2.5)) + 0.2 * evening
    day_level = np.select([saturday, sunday_like], [0.65, 0.45], 1.0) * np.where(
        christmas, 0.8, 1.0
    )
    profile = 0.62 + 0.45 * day_level * activity

    days = (day - day[0]).days.to_numpy()
    anomaly = ar1(days.max() + 1, 0.75, 0.015, rng)[days] * (1 + 0.8 * np.clip(winter, 0, None))
    noise = ar1(len(times), 0.8, 0.006, rng)
    return level * seasonal * profile * (1 + anomaly + noise)


def ar1(length: int, phi: float, scale: float, rng: np.random.Generator) -> np.ndarray:
    """An AR(1) series with coefficient ``phi`` and stationary standard deviation ``scale``."""
    shocks = rng.normal(0, scale * np.sqrt(1 - phi**2), length)
    values = np.empty(length)
    values[0] = rng.normal(0, scale)
    for i in range(1, length):
        values[i] = phi * values[i - 1] + shocks[i]
    return values


def main() -> None:
    times = pd.date_range(START, END, freq="h")
    load = synthetic_load(times, np.random.default_rng(SEED))
    frame = pd.DataFrame({"time": times.strftime("%Y-%m-%dT%H:%M"), "load": load.round(1)})
    frame.to_csv(OUTPUT, index=False)
    print(f"wrote {len(frame)} hours to {OUTPUT}")


if __name__ == "__main__":
    main()
