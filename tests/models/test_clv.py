"""CLV: the RFM summary, the BG/NBD + Gamma-Gamma oracle on CDNOW, predictions and errors."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pymc_marketing.clv import BetaGeoModel
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from customerlens.models.clv import (
    PREDICTION_COLUMNS,
    SUMMARY_COLUMNS,
    CLVModel,
    bg_nbd_conditional_pmf,
    rfm_summary,
)

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
CDNOW_SAMPLE = SHARED_DATA / "cdnow" / "CDNOW_sample.txt"
CALIBRATION_END = pd.Timestamp("1997-09-30")
HOLDOUT_END = pd.Timestamp("1998-06-30")
HOLDOUT_WEEKS = 39.0
#: Fader, Hardie & Lee (2005), "Counting your customers the easy way", Table 1 / Figure 2
PUBLISHED_BG_NBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
#: Fader & Hardie (2013), "The Gamma-Gamma model of monetary value", on the same customers
PUBLISHED_GAMMA_GAMMA = {"p": 6.25, "q": 3.74, "v": 15.44}
#: Fader, Hardie & Lee (2005), "A note on implementing the Pareto/NBD model in MATLAB"
PUBLISHED_PARETO_NBD = {"r": 0.55, "alpha": 10.58, "s": 0.61, "beta": 11.67}


def _cdnow_transactions() -> pd.DataFrame:
    if not CDNOW_SAMPLE.is_file():
        pytest.skip(
            f"{CDNOW_SAMPLE} is absent: the CDNOW sample is read in place from ../shared/data "
            "beside the repository (see its README.md)"
        )
    # columns: id in the full data set, id in the 1/10 sample, date, number of CDs, dollars
    frame = pd.read_csv(
        CDNOW_SAMPLE,
        sep=r"\s+",
        header=None,
        names=["master_id", "customer", "date", "cds", "dollars"],
        dtype={"date": str},
    )
    frame["date"] = pd.to_datetime(frame["date"], format="%Y%m%d")
    return frame


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    return _cdnow_transactions()


@pytest.fixture(scope="module")
def cdnow_summary(cdnow: pd.DataFrame) -> pd.DataFrame:
    return rfm_summary(
        cdnow,
        customer_col="customer",
        time_col="date",
        value_col="dollars",
        observation_end=CALIBRATION_END,
        time_unit="W",
    )


@pytest.fixture(scope="module")
def cdnow_model(cdnow_summary: pd.DataFrame) -> CLVModel:
    return CLVModel().fit(cdnow_summary)


@pytest.fixture(scope="module")
def cdnow_predictions(cdnow_model: CLVModel, cdnow_summary: pd.DataFrame) -> pd.DataFrame:
    return cdnow_model.predict(cdnow_summary, HOLDOUT_WEEKS)


def simulate_summary(
    rng: np.random.Generator,
    n: int,
    *,
    r: float = 0.243,
    alpha: float = 4.414,
    a: float = 0.793,
    b: float = 2.426,
    p: float = 6.25,
    q: float = 3.74,
    v: float = 15.44,
) -> pd.DataFrame:
    """RFM summaries drawn from the BG/NBD and Gamma-Gamma models (T uniform on 1..39)."""
    rate = rng.gamma(r, 1.0 / alpha, n)
    dropout = rng.beta(a, b, n)
    T = rng.uniform(1.0, 39.0, n)
    arrivals = rng.poisson(rate * T)  # purchases in (0, T] had the customer never dropped out
    x = np.minimum(arrivals, rng.geometric(dropout))  # drops out right after a geometric count
    ones = np.maximum(x, 1)
    # the x-th of `arrivals` uniform purchase times on (0, T]
    recency = np.where(x > 0, T * rng.beta(ones, np.maximum(arrivals - x + 1, 1)), 0.0)
    nu = rng.gamma(q, 1.0 / v, n)
    spend = np.where(x > 0, rng.gamma(p * ones, 1.0 / (ones * nu)), 0.0)
    return pd.DataFrame(
        {
            "customer_id": np.arange(n),
            "frequency": x.astype(float),
            "recency": recency,
            "T": T,
            "monetary_value": spend,
        }
    )


# --- rfm_summary -------------------------------------------------------------------------------


def test_rfm_summary_merges_days_and_scales_weeks() -> None:
    transactions = pd.DataFrame(
        {
            "who": ["a", "a", "a", "a", "b", "c", "c", "d"],
            "when": pd.to_datetime(
                [
                    "2024-01-01",
                    "2024-01-08 09:00",
                    "2024-01-08 17:00",  # same day as the one before: one purchase of 30
                    "2024-01-15",
                    "2024-01-03",
                    "2024-01-10",
                    "2024-01-22",  # after observation_end: ignored
                    "2024-01-20",  # only purchase after observation_end: not a customer yet
                ],
                format="ISO8601",
            ),
            "amount": [5.0, 10.0, 20.0, 40.0, 7.0, 3.0, 99.0, 1.0],
        }
    )
    days = rfm_summary(
        transactions,
        customer_col="who",
        time_col="when",
        value_col="amount",
        observation_end=pd.Timestamp("2024-01-15"),
    )
    assert list(days.columns) == list(SUMMARY_COLUMNS)
    assert days["customer_id"].tolist() == ["a", "b", "c"]
    assert days["frequency"].tolist() == [2.0, 0.0, 0.0]
    assert days["recency"].tolist() == [14.0, 0.0, 0.0]
    assert days["T"].tolist() == [14.0, 12.0, 5.0]
    assert days["monetary_value"].tolist() == [35.0, 0.0, 0.0]

    weeks = rfm_summary(
        transactions,
        customer_col="who",
        time_col="when",
        value_col="amount",
        observation_end=pd.Timestamp("2024-01-15"),
        time_unit="W",
    )
    np.testing.assert_allclose(weeks["T"], days["T"] / 7)
    np.testing.assert_allclose(weeks["recency"], days["recency"] / 7)
    assert weeks["frequency"].tolist() == days["frequency"].tolist()


def test_rfm_summary_cdnow_matches_the_published_summary(cdnow_summary: pd.DataFrame) -> None:
    # Fader & Hardie's calibration summary (as shipped by lifetimes) has customer 1 at x = 2,
    # t_x = 30.43, T = 38.86 and a mean repeat spend of 22.35; 2,457 repeat purchase days in all
    assert len(cdnow_summary) == 2357
    assert cdnow_summary["frequency"].sum() == 2457
    first = cdnow_summary.set_index("customer_id").loc[1]
    assert first["frequency"] == 2
    assert first["recency"] == pytest.approx(30.43, abs=0.005)
    assert first["T"] == pytest.approx(38.86, abs=0.005)
    assert first["monetary_value"] == pytest.approx(22.35, abs=0.006)


def test_rfm_summary_rejects_missing_columns_and_units() -> None:
    frame = pd.DataFrame({"who": [1], "when": [pd.Timestamp("2024-01-01")]})
    summarise = functools.partial(
        rfm_summary, customer_col="who", time_col="when", value_col="amount"
    )
    with pytest.raises(ValueError, match=r"lacks the column\(s\) \['amount'\]"):
        summarise(frame, observation_end=pd.Timestamp("2024-02-01"))
    frame["amount"] = 1.0
    with pytest.raises(ValueError, match="time_unit"):
        summarise(frame, observation_end=pd.Timestamp("2024-02-01"), time_unit="M")
    with pytest.raises(ValueError, match="no transaction"):
        summarise(frame, observation_end=pd.Timestamp("2023-12-31"))


# --- the oracle: published CDNOW estimates --------------------------------------------------


def test_bg_nbd_map_reproduces_published_cdnow_estimates(cdnow_model: CLVModel) -> None:
    for name, published in PUBLISHED_BG_NBD.items():
        assert cdnow_model.params_[name] == pytest.approx(published, rel=0.01), name


def test_gamma_gamma_reproduces_published_cdnow_estimates(cdnow_model: CLVModel) -> None:
    for name, published in PUBLISHED_GAMMA_GAMMA.items():
        assert cdnow_model.spend_params_[name] == pytest.approx(published, rel=0.01), name
    assert all(value > 0 for value in cdnow_model.spend_params_.values())


def test_holdout_purchases_are_forecast_within_15_percent(
    cdnow: pd.DataFrame, cdnow_predictions: pd.DataFrame
) -> None:
    holdout = cdnow[(cdnow["date"] > CALIBRATION_END) & (cdnow["date"] <= HOLDOUT_END)]
    # the BTYD count: purchase days per customer, as in calibration
    actual = len(holdout.drop_duplicates(["customer", "date"]))
    predicted = cdnow_predictions["expected_purchases"].sum()
    # measured: 1,653 predicted vs 1,882 purchase days (1,959 rows) in weeks 40-78
    assert actual > 1500
    assert predicted == pytest.approx(actual, rel=0.15)


# --- predictions -----------------------------------------------------------------------------


def test_predictions_have_the_documented_columns(
    cdnow_summary: pd.DataFrame, cdnow_predictions: pd.DataFrame
) -> None:
    assert list(cdnow_predictions.columns) == list(PREDICTION_COLUMNS)
    assert cdnow_predictions["customer_id"].tolist() == cdnow_summary["customer_id"].tolist()
    assert not cdnow_predictions.isna().any().any()
    assert (cdnow_predictions["p_no_purchase"].between(0.0, 1.0)).all()
    low, high = (
        cdnow_predictions["expected_purchases_low"],
        cdnow_predictions["expected_purchases_high"],
    )
    assert (low >= 0).all() and (low <= high).all()
    assert (low == np.round(low)).all() and (high == np.round(high)).all()


def test_p_no_purchase_is_not_one_minus_p_alive(
    cdnow_model: CLVModel, cdnow_summary: pd.DataFrame, cdnow_predictions: pd.DataFrame
) -> None:
    history = cdnow_summary[["customer_id", "frequency", "recency", "T"]]
    p_alive = cdnow_model.model_.expected_probability_alive(history).values.reshape(-1)
    one_timers = (cdnow_summary["frequency"] == 0).to_numpy()
    p_none = cdnow_predictions["p_no_purchase"].to_numpy()
    # a one-time buyer is surely alive under BG/NBD, yet likely not to buy in 39 weeks
    np.testing.assert_allclose(p_alive[one_timers], 1.0)
    assert (p_none[one_timers] > 0.5).all()
    # P(none) = P(dead) + P(alive) P(no purchase | alive), so never below 1 - P(alive)
    assert (p_none >= 1.0 - p_alive - 1e-12).all()
    params = cdnow_model.params_
    T = cdnow_summary["T"].to_numpy()[one_timers]
    expected = ((params["alpha"] + T) / (params["alpha"] + T + HOLDOUT_WEEKS)) ** params["r"]
    np.testing.assert_allclose(p_none[one_timers], expected, rtol=1e-10)


def test_count_distribution_matches_expected_purchases(
    cdnow_model: CLVModel, cdnow_summary: pd.DataFrame, cdnow_predictions: pd.DataFrame
) -> None:
    x, t_x, T = (cdnow_summary[c].to_numpy() for c in ("frequency", "recency", "T"))
    probs = np.array(
        [
            bg_nbd_conditional_pmf(k, cdnow_model.params_, x, t_x, T, HOLDOUT_WEEKS)
            for k in range(400)
        ]
    )
    np.testing.assert_allclose(probs.sum(axis=0), 1.0, atol=1e-9)
    mean = (np.arange(400)[:, None] * probs).sum(axis=0)
    np.testing.assert_allclose(mean, cdnow_predictions["expected_purchases"], rtol=1e-7)
    # the interval bounds are the 5 % and 95 % quantiles of that distribution
    cdf = probs.cumsum(axis=0)
    high = cdnow_predictions["expected_purchases_high"].to_numpy().astype(int)
    low = cdnow_predictions["expected_purchases_low"].to_numpy().astype(int)
    columns = np.arange(len(x))
    assert (cdf[high, columns] >= 0.95 - 1e-12).all()
    assert (cdf[np.maximum(high - 1, 0), columns][high > 0] < 0.95).all()
    assert (cdf[low, columns] >= 0.05).all()


def test_p_no_purchase_agrees_with_pymc_marketing_for_repeat_buyers(
    cdnow_model: CLVModel, cdnow_summary: pd.DataFrame, cdnow_predictions: pd.DataFrame
) -> None:
    # pymc-marketing's version drops the x > 0 condition, so only repeat buyers agree
    bg_nbd = cdnow_model.model_
    assert isinstance(bg_nbd, BetaGeoModel)
    theirs = bg_nbd.expected_probability_no_purchase(
        t=int(HOLDOUT_WEEKS), data=cdnow_summary[["customer_id", "frequency", "recency", "T"]]
    )
    repeat = (cdnow_summary["frequency"] > 0).to_numpy()
    np.testing.assert_allclose(
        cdnow_predictions["p_no_purchase"].to_numpy()[repeat],
        theirs.values.reshape(-1)[repeat],
        rtol=1e-9,
    )


def test_value_is_purchases_times_gamma_gamma_spend(
    cdnow_model: CLVModel, cdnow_summary: pd.DataFrame, cdnow_predictions: pd.DataFrame
) -> None:
    p, q, v = (cdnow_model.spend_params_[name] for name in ("p", "q", "v"))
    x = cdnow_summary["frequency"].to_numpy()
    m = cdnow_summary["monetary_value"].to_numpy()
    weight = np.where(m > 0, p * x / (p * x + q - 1), 0.0)
    spend = (1 - weight) * p * v / (q - 1) + weight * m
    np.testing.assert_allclose(
        cdnow_predictions["expected_value"], cdnow_predictions["expected_purchases"] * spend
    )
    np.testing.assert_allclose(
        cdnow_predictions["expected_value_high"],
        cdnow_predictions["expected_purchases_high"] * spend,
    )
    one_timer = cdnow_predictions[cdnow_summary["frequency"] == 0].iloc[0]
    population_mean = p * v / (q - 1)
    assert one_timer["expected_value"] == pytest.approx(
        one_timer["expected_purchases"] * population_mean
    )


def test_predict_keeps_the_index_and_order_of_new_customers(
    cdnow_model: CLVModel, cdnow_summary: pd.DataFrame, cdnow_predictions: pd.DataFrame
) -> None:
    shuffled = cdnow_summary.sample(frac=1.0, random_state=0).head(50)
    shuffled = shuffled.assign(customer_id=shuffled["customer_id"].map("c{}".format))
    again = cdnow_model.predict(shuffled, HOLDOUT_WEEKS)
    assert again.index.equals(shuffled.index)
    assert again["customer_id"].tolist() == shuffled["customer_id"].tolist()
    np.testing.assert_allclose(
        again["expected_purchases"], cdnow_predictions.loc[shuffled.index, "expected_purchases"]
    )


@settings(max_examples=60, deadline=None)
@given(
    r=st.floats(0.05, 5.0),
    alpha=st.floats(0.1, 50.0),
    a=st.floats(0.05, 5.0),
    b=st.floats(0.05, 5.0),
    x=st.integers(0, 40),
    recency_share=st.floats(0.0, 1.0),
    T=st.floats(0.5, 100.0),
    horizon=st.floats(0.1, 100.0),
)
def test_count_probabilities_lie_in_0_1(
    r: float,
    alpha: float,
    a: float,
    b: float,
    x: int,
    recency_share: float,
    T: float,
    horizon: float,
) -> None:
    params = {"r": r, "alpha": alpha, "a": a, "b": b}
    history = (np.array([float(x)]), np.array([recency_share * T if x else 0.0]), np.array([T]))
    probs = np.array([bg_nbd_conditional_pmf(k, params, *history, horizon) for k in range(30)])
    assert np.isfinite(probs).all()
    assert ((probs >= 0.0) & (probs <= 1.0 + 1e-12)).all()
    assert probs.sum() <= 1.0 + 1e-9


# --- the estimator contract and errors ---------------------------------------------------------


def test_estimator_contract(rng: np.random.Generator) -> None:
    model = CLVModel(model="bg_nbd", method="map", random_state=3)
    assert model.get_params() == {
        "model": "bg_nbd",
        "method": "map",
        "random_state": 3,
        "draws": 500,
        "tune": 500,
    }
    assert clone(model).get_params() == model.get_params()
    summary = simulate_summary(rng, 300)
    with pytest.raises(NotFittedError):
        model.predict(summary, 10.0)
    assert model.fit(summary) is model
    assert set(model.params_) == {"r", "alpha", "a", "b"}
    assert set(model.spend_params_) == {"p", "q", "v"}
    assert model.n_customers_ == 300


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: s.drop(columns=["T", "monetary_value"]), r"\['T', 'monetary_value'\]"),
        (lambda s: s.head(5), "at least 10 customers, got 5"),
        (
            lambda s: s.assign(frequency=0.0, recency=0.0, monetary_value=0.0),
            "no customer has a repeat purchase",
        ),
        (lambda s: s.assign(monetary_value=0.0), "Gamma-Gamma spend model needs"),
        (lambda s: s.assign(customer_id=0), "duplicate customer_id"),
        (lambda s: s.assign(recency=s["T"] + 1.0), "recency greater than T"),
        (lambda s: s.assign(T=np.nan), "missing or infinite"),
        (lambda s: s.assign(frequency="many"), "must be numeric"),
    ],
)
def test_fit_rejects_bad_summaries(
    rng: np.random.Generator, change: Callable[[pd.DataFrame], pd.DataFrame], message: str
) -> None:
    summary = simulate_summary(rng, 200)
    with pytest.raises(ValueError, match=message):
        CLVModel().fit(change(summary))


def test_fit_rejects_unknown_options(rng: np.random.Generator) -> None:
    summary = simulate_summary(rng, 200)
    with pytest.raises(ValueError, match="model must be one of"):
        CLVModel(model="pareto").fit(summary)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="method must be"):
        CLVModel(method="advi").fit(summary)  # type: ignore[arg-type]


def test_predict_rejects_bad_input(cdnow_model: CLVModel, cdnow_summary: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="horizon"):
        cdnow_model.predict(cdnow_summary, 0.0)
    with pytest.raises(ValueError, match=r"\['recency'\]"):
        cdnow_model.predict(cdnow_summary.drop(columns=["recency"]), 10.0)
    empty = cdnow_model.predict(cdnow_summary.head(0), 10.0)
    assert list(empty.columns) == list(PREDICTION_COLUMNS) and empty.empty


# --- slower: other model and method, scale ----------------------------------------------------


@pytest.mark.slow
def test_pareto_nbd_reproduces_published_cdnow_estimates(cdnow_summary: pd.DataFrame) -> None:
    model = CLVModel(model="pareto_nbd").fit(cdnow_summary)
    for name, published in PUBLISHED_PARETO_NBD.items():
        assert model.params_[name] == pytest.approx(published, rel=0.01), name
    sample = cdnow_summary.head(40)
    predicted = model.predict(sample, HOLDOUT_WEEKS)
    assert not predicted.isna().any().any()
    assert predicted["p_no_purchase"].between(0.0, 1.0).all()
    assert (predicted["expected_purchases_low"] <= predicted["expected_purchases_high"]).all()
    # one-time buyers: P(alive) < 1 under Pareto/NBD, and P(none) is still not 1 - P(alive)
    history = sample[["customer_id", "frequency", "recency", "T"]]
    p_alive = model.model_.expected_probability_alive(history).values.reshape(-1)
    one_timers = (sample["frequency"] == 0).to_numpy()
    p_none = predicted["p_no_purchase"].to_numpy()
    assert (p_none[one_timers] > 1.0 - p_alive[one_timers] + 0.05).all()


@pytest.mark.slow
def test_mcmc_samples_around_the_map_estimate(rng: np.random.Generator, random_state: int) -> None:
    summary = simulate_summary(rng, 2000)
    mode = CLVModel().fit(summary)
    sampled = CLVModel(method="mcmc", draws=200, tune=200, random_state=random_state)
    sampled.fit(summary)
    assert sampled.model_.fit_result.sizes["draw"] == 200
    assert sampled.params_["r"] == pytest.approx(mode.params_["r"], rel=0.15)
    assert sampled.params_["alpha"] == pytest.approx(mode.params_["alpha"], rel=0.15)
    # proper priors keep a and b off the improper ridge (flat priors let them drift to ~1e10)
    assert 0.1 < sampled.params_["a"] < 10 and 0.1 < sampled.params_["b"] < 50
    predicted = sampled.predict(summary.head(100), 20.0)
    assert not predicted.isna().any().any()
    assert predicted["p_no_purchase"].between(0.0, 1.0).all()


@pytest.mark.slow
def test_map_recovers_parameters_of_a_million_customers(rng: np.random.Generator) -> None:
    truth = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    summary = simulate_summary(rng, 1_000_000, **truth)
    model = CLVModel().fit(summary)
    for name, value in truth.items():
        assert model.params_[name] == pytest.approx(value, rel=0.05), name
    predicted = model.predict(summary, 39.0)
    assert len(predicted) == 1_000_000
    assert not predicted.isna().any().any()
