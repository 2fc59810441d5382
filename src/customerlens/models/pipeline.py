"""The models stage: lifetime value, churn and value prediction, evaluated out of time.

With T the evaluation cutoff and H the horizon (``features.pipeline.Dates``):

- CLV (BG/NBD or Pareto/NBD + Gamma-Gamma) is fitted on the purchases up to T and its expected
  purchases over H are compared with the purchases that happened in (T, T + H] (the holdout);
  its P(no purchase in H) is scored as a churn predictor on the same customers. Refitted on all
  the data, it writes the ``clv`` table (expected purchases and value over the next H).
- Churn and value models train on features up to T - H with outcomes in (T - H, T] (and on two
  more windows 30 and 60 days earlier), are judged on features up to T with outcomes in
  (T, T + H], beside baselines (recency alone for churn, the CLV model for both). Their features
  include the CLV model's own predictions, fitted at each cutoff on data up to it. Refitted on
  the latest windows (outcomes up to the data's end), they score every customer as of the last
  day: the ``churn`` table.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import mean_absolute_error, roc_auc_score

from customerlens.config import FeatureOptions
from customerlens.errors import ConfigError
from customerlens.features.customer import (
    btyd_summary_sql,
    labelled_sql,
    purchase_days_sql,
)
from customerlens.features.pipeline import Dates
from customerlens.models.churn import (
    CLV_FEATURES,
    ChurnModel,
    ValueModel,
    classification_metrics,
    reliability_table,
)
from customerlens.models.clv import CLVModel
from customerlens.tables import CHURN, CHURN_EVALUATION, CLV, CUSTOMER_FEATURES
from customerlens.warehouse import DuckDBWarehouse

DAYS_PER_UNIT = {"day": 1, "week": 7}
#: risk bands of P(churn) for people who act on them
RISK_BANDS = ((0.7, "high"), (0.4, "medium"), (0.0, "low"))


def _clv(options: FeatureOptions) -> CLVModel:
    return CLVModel(
        model=options.clv_model, method=options.clv_method, random_state=options.random_state
    )


def _fit_clv(
    wh: DuckDBWarehouse, cutoff: Any, options: FeatureOptions
) -> tuple[CLVModel, pd.DataFrame, float]:
    unit = DAYS_PER_UNIT[options.time_unit]
    summary = wh.query_df(btyd_summary_sql(cutoff, unit))
    try:
        model = _clv(options).fit(summary)
    except ValueError as exc:
        raise ConfigError(f"lifetime-value model cannot be fitted at {cutoff}: {exc}") from exc
    return model, summary, options.horizon_days / unit


def _band(p: np.ndarray) -> np.ndarray:
    out = np.full(p.shape, "low", dtype=object)
    for threshold, name in reversed(RISK_BANDS):
        out[p >= threshold] = name
    return out


#: extra training cutoffs before T - H, this many days apart: more customers and more seasons
#: to learn from than one window gives
TRAIN_STEP_DAYS = 30
TRAIN_WINDOWS = 3


def training_cutoffs(dates: Dates, last_labelled: Any) -> list[Any]:
    """``last_labelled`` and up to two cutoffs before it, each with 30+ days of history."""
    step = dt.timedelta(days=TRAIN_STEP_DAYS)
    found = [last_labelled - k * step for k in range(TRAIN_WINDOWS)]
    return [c for c in found if c - dates.first_day >= step] or [last_labelled]


def _labelled(
    wh: DuckDBWarehouse, cutoff: Any, h: int, options: FeatureOptions
) -> tuple[pd.DataFrame, CLVModel, pd.DataFrame]:
    """Buyers' features and outcome at ``cutoff``, with the CLV model fitted at that cutoff as
    features too (its P(no purchase), expected purchases and value: no data after the cutoff)."""
    frame = _buyers(wh.query_df(labelled_sql(cutoff, h)))
    clv, summary, units = _fit_clv(wh, cutoff, options)
    predicted = clv.predict(summary, units)
    return _with_clv(frame, predicted), clv, predicted


def _with_clv(frame: pd.DataFrame, predicted: pd.DataFrame) -> pd.DataFrame:
    columns = {f"{c.removeprefix('clv_')}": c for c in CLV_FEATURES}
    return frame.merge(
        predicted[["customer_id", *columns]].rename(columns=columns), on="customer_id", how="left"
    )


def _stack(
    wh: DuckDBWarehouse,
    cutoffs: list[Any],
    h: int,
    options: FeatureOptions,
    known: dict[Any, pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """The labelled windows at ``cutoffs``, one under the other; ``known`` ones are reused."""
    known = known or {}
    frames = [known[c] if c in known else _labelled(wh, c, h, options)[0] for c in cutoffs]
    return pd.concat(frames, ignore_index=True)


def run_models(
    wh: DuckDBWarehouse,
    dates: Dates,
    options: FeatureOptions,
    on_step: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Fit, evaluate and apply the CLV, churn and value models; return their metrics."""
    step = on_step or (lambda _m: None)
    h = dates.horizon_days
    step("lifetime value: holdout fit")
    test, clv_t, predicted_t = _labelled(wh, dates.cutoff, h, options)
    actual = wh.query_df(purchase_days_sql(dates.cutoff, h))
    holdout = predicted_t[["customer_id"]].merge(actual, on="customer_id", how="left")
    metrics: dict[str, Any] = {
        "clv": {
            "model": options.clv_model,
            "method": options.clv_method,
            "time_unit": options.time_unit,
            "horizon_units": options.horizon_days / DAYS_PER_UNIT[options.time_unit],
            "params": clv_t.params_,
            "spend_params": clv_t.spend_params_,
            "holdout": {
                "cutoff": str(dates.cutoff),
                "customers": len(predicted_t),
                "predicted": round(float(predicted_t["expected_purchases"].sum()), 2),
                "actual": float(holdout["purchase_days"].fillna(0).sum()),
            },
        }
    }

    step("churn and value: train at earlier cutoffs, evaluate at the later one")
    cutoffs = training_cutoffs(dates, dates.train_cutoff)
    train = _stack(wh, cutoffs, h, options)
    try:
        churn = ChurnModel(random_state=options.random_state).fit(train, train["churned"])
    except ValueError as exc:
        raise ConfigError(f"churn model at {dates.train_cutoff}: {exc}") from exc
    p_test = churn.predict_proba(test)[:, 1]
    y_test = test["churned"].to_numpy(dtype=bool)
    try:
        scores = classification_metrics(y_test, p_test)
    except ValueError as exc:
        raise ConfigError(f"churn evaluation at {dates.cutoff}: {exc}") from exc
    metrics["churn"] = {
        "horizon_days": h,
        "cutoff": str(dates.cutoff),
        "train_cutoffs": [str(c) for c in cutoffs],
        **scores,
        "baseline_recency_auc": round(float(roc_auc_score(y_test, test["recency_days"])), 4),
        "clv_model_auc": round(
            float(roc_auc_score(y_test, test["clv_p_no_purchase"].fillna(1.0))), 4
        ),
        "clv_model_brier": round(
            float(np.mean((test["clv_p_no_purchase"].fillna(1.0) - y_test) ** 2)), 4
        ),
        "churn_rate_train": round(float(train["churned"].mean()), 4),
        "churn_rate_eval": round(float(y_test.mean()), 4),
        "customers_train": len(train),
        "customers_eval": len(test),
        "reliability": reliability_table(y_test, p_test),
    }
    # kept for segment transitions and the reliability curve: the scores as of the cutoff
    wh.write_table(
        CHURN_EVALUATION,
        pd.DataFrame(
            {
                "customer_id": test["customer_id"],
                "cutoff": dates.cutoff,
                "p_churn": np.round(p_test, 6),
                "churned": y_test,
                "clv_p_no_purchase": test["clv_p_no_purchase"],
                "clv_expected_value": test["clv_expected_value"],
            }
        ),
    )
    value = ValueModel(random_state=options.random_state).fit(train, train["future_spend"])
    v_test = value.predict(test)
    clv_value = test["clv_expected_value"].fillna(0.0).to_numpy()
    metrics["value"] = {
        "horizon_days": h,
        "mae": round(float(mean_absolute_error(test["future_spend"], v_test)), 2),
        "clv_model_mae": round(float(mean_absolute_error(test["future_spend"], clv_value)), 2),
        "predicted_total": round(float(v_test.sum()), 2),
        "clv_model_total": round(float(clv_value.sum()), 2),
        "actual_total": round(float(test["future_spend"].sum()), 2),
    }

    step("scoring every customer as of the last day")
    _apply(wh, dates, options, test)
    return metrics


def _buyers(frame: pd.DataFrame) -> pd.DataFrame:
    # churn is about people who have bought: all-cancelled customers have no purchase to repeat
    return frame[frame["orders"] > 0].reset_index(drop=True)


def _apply(
    wh: DuckDBWarehouse, dates: Dates, options: FeatureOptions, at_cutoff: pd.DataFrame
) -> None:
    """Refit on the latest labelled windows and score everyone as of the data's last day.

    ``at_cutoff`` is the window at the evaluation cutoff, already built for the evaluation
    (its features, outcome and CLV fit): reused, not computed again.
    """
    latest = _stack(
        wh,
        training_cutoffs(dates, dates.cutoff),
        dates.horizon_days,
        options,
        known={dates.cutoff: at_cutoff},
    )
    churn = ChurnModel(random_state=options.random_state).fit(latest, latest["churned"])
    value = ValueModel(random_state=options.random_state).fit(latest, latest["future_spend"])
    clv, summary, horizon_units = _fit_clv(wh, dates.last_day, options)
    predicted = clv.predict(summary, horizon_units)
    now = _with_clv(
        _buyers(wh.query_df(f"SELECT * FROM {CUSTOMER_FEATURES} ORDER BY customer_id")),
        predicted,
    )
    p = churn.predict_proba(now)[:, 1]
    wh.write_table(
        CHURN,
        pd.DataFrame(
            {
                "customer_id": now["customer_id"],
                "p_churn": np.round(p, 6),
                "risk_band": _band(p),
                "predicted_spend": np.round(value.predict(now), 2),
                "horizon_days": dates.horizon_days,
                "as_of": dates.last_day,
            }
        ),
    )
    predicted.insert(1, "horizon_days", dates.horizon_days)
    predicted.insert(2, "as_of", dates.last_day)
    wh.write_table(CLV, predicted)
