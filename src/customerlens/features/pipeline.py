"""The features stage: sales -> revenue gap -> customer features -> RFM.

Writes ``sales``, ``revenue_gap``, ``customer_features`` (as of the data's last day) and
``rfm``; returns the figures ``metrics.json`` reports, and the dates the models stage uses.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from customerlens.config import FeatureOptions
from customerlens.errors import ConfigError
from customerlens.features.customer import features_sql
from customerlens.features.revenue import revenue_gap
from customerlens.features.rfm import rfm_sql
from customerlens.features.sales import build_sales
from customerlens.tables import CUSTOMER_FEATURES, RFM, SALES
from customerlens.warehouse import DuckDBWarehouse


@dataclass
class Dates:
    """The data's range and the cutoffs the models use.

    ``cutoff`` (T) is where models are evaluated: features up to T, outcome in (T, T + H].
    ``train_cutoff`` is T - H: models train there, so nothing they are judged on was seen.
    ``last_day``: the data's end, where the customer tables are computed for use.
    """

    first_day: dt.date
    last_day: dt.date
    cutoff: dt.date
    train_cutoff: dt.date
    horizon_days: int


@dataclass
class FeaturesReport:
    dates: Dates
    metrics: dict[str, Any] = field(default_factory=dict)


def choose_dates(first: dt.date, last: dt.date, options: FeatureOptions) -> Dates:
    """Validate the cutoff and horizon against the data's range (clear errors, no NaN)."""
    h = dt.timedelta(days=options.horizon_days)
    cutoff = options.cutoff or (last - h)
    if not first <= cutoff <= last:
        raise ConfigError(
            f"cutoff {cutoff} is outside the data, which runs from {first} to {last}; "
            "choose a date in between (or leave --cutoff out: last day minus the horizon)."
        )
    if cutoff + h > last:
        raise ConfigError(
            f"horizon of {options.horizon_days} days after cutoff {cutoff} runs past the data's "
            f"last day {last}: only {(last - cutoff).days} days are observed. Use an earlier "
            f"--cutoff (at most {last - h}) or a --horizon-days of at most {(last - cutoff).days}."
        )
    train = cutoff - h
    if train <= first:
        raise ConfigError(
            f"the data ({first} to {last}) is too short to train at {train} and evaluate at "
            f"{cutoff} with a {options.horizon_days}-day horizon: it needs more than "
            f"{2 * options.horizon_days} days before the data's end. Use a shorter --horizon-days."
        )
    return Dates(first, last, cutoff, train, options.horizon_days)


def run_features(
    wh: DuckDBWarehouse,
    options: FeatureOptions,
    on_step: Callable[[str], None] | None = None,
) -> FeaturesReport:
    step = on_step or (lambda _m: None)
    step("netting sales and attributing them to customers")
    build_sales(wh, options)
    span = wh.query(
        f"SELECT min(day) AS first, max(day) AS last FROM {SALES} "
        "WHERE kind = 'product' AND customer_id IS NOT NULL"
    ).to_pylist()[0]
    if span["first"] is None:
        raise ConfigError(
            "No product purchase is attributed to any customer: the transactions carry no "
            "customer id and no guest session has a name, email or postcode to resolve."
        )
    dates = choose_dates(span["first"], span["last"], options)
    step("revenue gap")
    metrics: dict[str, Any] = {"revenue": revenue_gap(wh)}
    step("customer features")
    wh.create_table_as(CUSTOMER_FEATURES, features_sql(dates.last_day))
    wh.create_table_as(RFM, rfm_sql(CUSTOMER_FEATURES))
    metrics["customers"] = wh.row_count(CUSTOMER_FEATURES)
    metrics["rfm"] = {
        "segments": dict(
            wh.query(f"SELECT segment, count(*) AS n FROM {RFM} GROUP BY 1 ORDER BY 2 DESC")
            .to_pandas()
            .itertuples(index=False, name=None)
        )
    }
    metrics["dates"] = {
        "first_day": str(dates.first_day),
        "last_day": str(dates.last_day),
        "cutoff": str(dates.cutoff),
        "train_cutoff": str(dates.train_cutoff),
        "horizon_days": dates.horizon_days,
    }
    return FeaturesReport(dates, metrics)
