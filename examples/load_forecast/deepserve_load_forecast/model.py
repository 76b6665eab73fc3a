"""The load forecasting example model: the next 24 hours of electrical load from the last week.

Three scikit-learn regressors (linear regression, SVR, random forest) forecast hourly load one
day ahead from the features in :mod:`.features`. A default set is fitted on the bundled
synthetic series by :meth:`LoadForecastModel.warm`; :meth:`LoadForecastModel.train` fits a new
set with the user's data and hyper-parameters and stores it, and from then on every serving
process answers with the newest stored set.
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd
from marshmallow import Schema, fields, validate

from deepserve import File, UploadedFile, report
from deepserve.artefacts import DEFAULT_VERSION, ArtefactStore
from deepserve.errors import ArgumentError
from deepserve.model import BaseModel
from deepserve_load_forecast import __version__, features, render
from deepserve_load_forecast.forecaster import DEFAULT_HYPER, MODELS, Forecaster, fit, split
from deepserve_load_forecast.series import SeriesError, bundled, hourly_series, read_csv

log = logging.getLogger(__name__)

NAME = "load-forecast"
DEFAULT_TEST_DAYS = 28
PNG, CSV = "image/png", "text/csv"

_HISTORY_HELP = (
    "hourly, consecutive, oldest first, at least one week "
    f"({features.HISTORY} values); ISO 8601 timestamps (with a UTC offset: converted to UTC)"
)


def fit_default() -> Forecaster:
    """The default regressors: fitted on the bundled series as train does by default."""
    return fit(split(bundled(), DEFAULT_TEST_DAYS)[0])


class HistorySpan(Schema):
    """The history a forecast was made from."""

    start = fields.Str(required=True, metadata={"description": "First hour of the history"})
    end = fields.Str(required=True, metadata={"description": "Last hour of the history"})
    hours = fields.Int(required=True, metadata={"description": "Number of hourly values"})


class ModelForecast(Schema):
    """One regressor's forecast of the next 24 hours."""

    model = fields.Str(
        required=True,
        validate=validate.OneOf(list(MODELS)),
        metadata={"description": "Regressor name, as in the models argument"},
    )
    estimator = fields.Str(
        required=True, metadata={"description": "The scikit-learn estimator class"}
    )
    time = fields.List(
        fields.Str(),
        required=True,
        validate=validate.Length(equal=features.HORIZON),
        metadata={"description": "The 24 forecast hours (ISO 8601), after the history's end"},
    )
    load = fields.List(
        fields.Float(),
        required=True,
        validate=validate.Length(equal=features.HORIZON),
        metadata={"description": "Forecast load at each hour, in the unit of the history"},
    )


class LoadForecast(Schema):
    """The response of the load forecasting model's ``predict``."""

    model_version = fields.Str(
        required=True,
        metadata={
            "description": f'Which trained regressors answered: "{DEFAULT_VERSION}" for the '
            "ones fitted on the bundled data at start-up, else the version made by train"
        },
    )
    history = fields.Nested(HistorySpan, required=True)
    forecasts = fields.List(
        fields.Nested(ModelForecast),
        required=True,
        metadata={"description": "One forecast per requested regressor"},
    )


class LoadForecastModel(BaseModel):
    """Forecasts the next 24 hours of electrical load from at least a week of hourly load."""

    schema = LoadForecast
    predict_media_types = ("application/json", PNG, CSV)
    #: Concurrent forecasts share one call of each regressor.
    max_batch_size = 16
    max_batch_wait_ms = 5.0
    #: The trained versions, shared by the instances of a process.
    store = ArtefactStore(NAME, default=fit_default)

    # -- the deepserve contract ----------------------------------------------------

    def warm(self) -> None:
        """Fit the default regressors now (about a second) rather than on first use."""
        self.store.current()

    def get_metadata(self) -> dict:
        return {
            "name": NAME,
            "description": (
                "Forecasts the next 24 hours of electrical load from at least one week of "
                "hourly load, with three scikit-learn regressors: LinearRegression, SVR and "
                "RandomForestRegressor. Features: the last 24 hourly loads, hour of day and "
                "day of year as sine/cosine, a weekend flag and the lead time, relative to "
                "the mean load of the last week. Default regressors are fitted on a bundled "
                "synthetic series; train fits them on your data."
            ),
            "version": __version__,
            "author": "deepserve",
            "license": "Apache-2.0",
            "url": "https://scikit-learn.org/stable/supervised_learning.html",
            "models": dict(MODELS),
            "features": list(features.NAMES),
            "dataset": "synthetic hourly load, 2018-2019 (see make_data.py; not measured data)",
        }

    def get_predict_args(self) -> dict[str, fields.Field]:
        return {
            "data": File(
                metadata={"description": f"CSV file with a time,load header: {_HISTORY_HELP}"}
            ),
            "time": fields.List(
                fields.Str(),
                metadata={"description": f"Instead of data: the timestamps, {_HISTORY_HELP}"},
            ),
            "load": fields.List(
                fields.Float(),
                metadata={"description": "Instead of data: the load at each timestamp (any unit)"},
            ),
            "models": fields.List(
                fields.Str(validate=validate.OneOf(list(MODELS))),
                load_default=list(MODELS),
                validate=validate.Length(min=1),
                metadata={"description": "Which regressors forecast (one or several)"},
            ),
        }

    def predict(
        self,
        *,
        data: UploadedFile | None = None,
        time: list[str] | None = None,
        load: list[float] | None = None,
        models: list[str] | None = None,
        accept: str = "application/json",
    ) -> Any:
        request = {"data": data, "time": time, "load": load, "models": models, "accept": accept}
        output = self.predict_batch([request])[0]
        if isinstance(output, Exception):
            raise output
        return output

    def predict_batch(self, batch: list[dict[str, Any]]) -> list[Any]:
        """Forecast for several requests (each a dict of :meth:`predict`'s arguments) with one
        call of each regressor; a request with a bad history gets its 422 in its place."""
        histories: list[Any] = []
        for request in batch:
            try:
                histories.append(
                    _history(request.get("data"), request.get("time"), request.get("load"))
                )
            except ArgumentError as error:
                histories.append(error)
        chosen = [list(dict.fromkeys(request.get("models") or MODELS)) for request in batch]
        names = list(dict.fromkeys(name for subset in chosen for name in subset))
        current = self.store.current()
        valid = [history for history in histories if not isinstance(history, Exception)]
        forecasts = iter(current.value.forecast_many(valid, names))
        outputs = []
        for request, history, subset in zip(batch, histories, chosen, strict=True):
            if isinstance(history, Exception):
                outputs.append(history)
                continue
            forecast = next(forecasts)
            accept = request.get("accept", "application/json")
            outputs.append(
                _answer(history, {name: forecast[name] for name in subset}, current.version, accept)
            )
        return outputs

    def get_train_args(self) -> dict[str, fields.Field]:
        def number(field, default, low, high, description):
            return field(
                load_default=default,
                validate=validate.Range(min=low, max=high),
                metadata={"description": description},
            )

        return {
            "data": File(
                metadata={
                    "description": "CSV file with a time,load header, hourly and consecutive: "
                    "the series to fit and test on (default: the bundled synthetic series)"
                }
            ),
            "test_days": number(
                fields.Int, DEFAULT_TEST_DAYS, 1, 366, "Days at the end kept out for testing"
            ),
            "svr_c": number(fields.Float, DEFAULT_HYPER["svr_c"], 1e-3, 1e4, "SVR: C"),
            "svr_epsilon": number(
                fields.Float, DEFAULT_HYPER["svr_epsilon"], 0, 1, "SVR: epsilon (relative load)"
            ),
            "svr_rows": number(
                fields.Int, DEFAULT_HYPER["svr_rows"], 100, 50_000, "SVR: training rows drawn"
            ),
            "rf_n_estimators": number(
                fields.Int, DEFAULT_HYPER["rf_n_estimators"], 1, 500, "Random forest: trees"
            ),
            "rf_max_depth": number(
                fields.Int, DEFAULT_HYPER["rf_max_depth"], 1, 50, "Random forest: maximum depth"
            ),
            "rf_rows": number(
                fields.Int,
                DEFAULT_HYPER["rf_rows"],
                100,
                1_000_000,
                "Random forest: training rows drawn",
            ),
        }

    def train(
        self, *, data: UploadedFile | None = None, test_days: int = DEFAULT_TEST_DAYS, **hyper
    ) -> dict:
        """Fit the three regressors on all but the last ``test_days`` days, score them on
        those days, and store them as the new current version."""
        series = _csv_argument("data", data) if data is not None else bundled()
        hyper = {**DEFAULT_HYPER, **hyper}
        needed = features.HISTORY + features.HORIZON + test_days * 24
        if len(series) < needed:
            raise ArgumentError(
                {
                    "data": [
                        f"{len(series)} hours are too few: a week of history, a day ahead and "
                        f"{test_days} test days take {needed}."
                    ]
                }
            )
        train, test_origins = split(series, test_days)
        report(progress=0.0, message=f"fitting on {len(train)} hours")
        done = []

        def fitted(name: str, seconds: float) -> None:
            done.append(name)
            message = f"fitted {MODELS[name]} in {seconds:.1f} s"
            log.info(message)  # in a training job, a line of the job's log
            report(progress=0.8 * len(done) / len(MODELS), message=message)

        forecaster = fit(train, hyper, progress=fitted)
        scores = forecaster.score(series, test_origins)
        report(
            progress=0.9,
            metrics={
                f"{name}_{key}": value for name, s in scores.items() for key, value in s.items()
            },
            message="scored on the test days",
        )
        result = {
            "train_hours": len(train),
            "test_hours": test_days * 24,
            "test_forecasts": len(test_origins),
            "hyper_parameters": hyper,
            "test_scores": scores,
        }
        version = self.store.save(forecaster, info=result)
        report(progress=1.0, message=f"stored version {version}")
        return {"model_version": version, **result}


def _answer(history: pd.Series, forecasts: dict, version: str, accept: str) -> Any:
    """One request's answer: a plot, a table or the JSON document of its forecasts."""
    times = history.index[-1] + pd.to_timedelta(features.LEADS, unit="h")
    if accept == PNG:
        return render.plot_png(history, times, forecasts)
    if accept == CSV:
        return render.table_csv(times, forecasts)
    hours = render.format_times(times)
    return {
        "model_version": version,
        "history": {
            "start": render.format_times(history.index[:1])[0],
            "end": render.format_times(history.index[-1:])[0],
            "hours": len(history),
        },
        "forecasts": [
            {"model": name, "estimator": MODELS[name], "time": hours, "load": values.tolist()}
            for name, values in forecasts.items()
        ],
    }


def _history(data: UploadedFile | None, time: list[str] | None, load: list[float] | None):
    """The history to forecast from, given as a CSV upload or as two lists."""
    if data is not None:
        if time is not None or load is not None:
            raise ArgumentError({"data": ["Give either data or time and load, not both."]})
        history = _csv_argument("data", data)
        column = "data"
    elif time is None or load is None:
        missing = [name for name, value in (("time", time), ("load", load)) if value is None]
        raise ArgumentError(
            {name: ["Missing: give data (a CSV file), or both time and load."] for name in missing}
        )
    else:
        try:
            history = hourly_series(time, load)
        except SeriesError as error:
            raise ArgumentError({error.column: [str(error)]}) from error
        column = "load"
    if len(history) < features.HISTORY:
        raise ArgumentError(
            {
                column: [
                    f"At least one week of hourly history is needed ({features.HISTORY} "
                    f"values); got {len(history)}."
                ]
            }
        )
    return history


def _csv_argument(name: str, upload: UploadedFile) -> pd.Series:
    try:
        return read_csv(upload.filename)
    except SeriesError as error:
        raise ArgumentError({name: [str(error)]}) from error
