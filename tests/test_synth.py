"""Tests of the synthetic shop generator (customerlens.synth)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from customerlens.synth import COLUMNS, ShopSummary, generate_shop
from customerlens.synth.behaviour import make_orders, make_taste
from customerlens.synth.catalogue import make_catalogue
from customerlens.synth.lexicon import lexicon
from customerlens.synth.lifecycle import make_lifecycle
from customerlens.synth.population import make_households, make_people
from customerlens.synth.rates import DIFFICULTIES, RATES, ChannelNoise
from customerlens.synth.timeline import NEVER, REFERENCE, YEAR

PEOPLE = 6_000
UK_POSTCODE = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]?[0-9][ABD-HJLNP-UW-Z]{2}$")


def read(directory: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(directory / f"{name}.csv", dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> tuple[ShopSummary, dict[str, pd.DataFrame]]:
    out = tmp_path_factory.mktemp("shop")
    summary = generate_shop(PEOPLE, out, seed=11)
    return summary, {name: read(out, name) for name in COLUMNS}


def guest_sessions(tx: pd.DataFrame) -> pd.DataFrame:
    return tx[tx.customer_id == ""].drop_duplicates("session_id")


def norm_postcode(values: pd.Series) -> pd.Series:
    return values.str.upper().str.replace(r"[^A-Z0-9]", "", regex=True)


def test_same_arguments_give_identical_files(tmp_path: Path) -> None:
    a = generate_shop(1_500, tmp_path / "a", seed=5)
    b = generate_shop(1_500, tmp_path / "b", seed=5)
    c = generate_shop(1_500, tmp_path / "c", seed=6)
    for name in COLUMNS:
        assert a.files[name].read_bytes() == b.files[name].read_bytes(), name
    assert a.files["accounts"].read_bytes() != c.files["accounts"].read_bytes()


def test_larger_shop_contains_smaller_one_unchanged(tmp_path: Path) -> None:
    small = generate_shop(4_000, tmp_path / "small", seed=9)
    big = generate_shop(10_300, tmp_path / "big", seed=9)  # crosses a block boundary
    truth_small, truth_big = read(tmp_path / "small", "truth"), read(tmp_path / "big", "truth")
    kept = truth_big[truth_big.person_id.isin(set(truth_small.person_id))]
    pd.testing.assert_frame_equal(truth_small, kept.reset_index(drop=True))
    assert truth_big.person_id.nunique() == 10_300
    for name, key in (("accounts", "customer_id"), ("crm", "crm_id")):
        a, b = read(tmp_path / "small", name), read(tmp_path / "big", name)
        pd.testing.assert_frame_equal(a, b[b[key].isin(set(a[key]))].reset_index(drop=True))
    a, b = read(tmp_path / "small", "transactions"), read(tmp_path / "big", "transactions")
    sub = b[b.session_id.isin(set(a.session_id))].reset_index(drop=True)
    pd.testing.assert_frame_equal(a, sub)
    assert small.people == 4_000 and big.people == 10_300


def test_files_have_the_documented_headers(shop: tuple[ShopSummary, dict]) -> None:
    summary, tables = shop
    assert set(summary.files) == {"accounts", "crm", "transactions", "truth"}
    assert list(tables["accounts"].columns) == [
        "customer_id",
        "first_name",
        "surname",
        "email",
        "phone",
        "postcode",
        "address",
        "date_of_birth",
        "signup_date",
    ]
    assert list(tables["crm"].columns) == [
        "crm_id",
        "full_name",
        "email",
        "phone",
        "address",
        "postcode",
    ]
    assert list(tables["transactions"].columns) == [
        "event_time",
        "session_id",
        "product_id",
        "category_id",
        "category_code",
        "brand",
        "price",
        "quantity",
        "customer_id",
        "guest_first_name",
        "guest_surname",
        "guest_postcode",
        "guest_email",
    ]
    assert list(tables["truth"].columns) == ["source", "record_id", "person_id"]
    for path in summary.files.values():
        path.read_bytes().decode("utf-8")


def test_summary_counts_match_files(shop: tuple[ShopSummary, dict]) -> None:
    summary, t = shop
    assert summary.people == PEOPLE
    assert summary.accounts == len(t["accounts"])
    assert summary.crm == len(t["crm"])
    assert summary.transactions == len(t["transactions"])
    assert summary.guest_sessions == len(guest_sessions(t["transactions"]))
    assert summary.orders == t["transactions"].session_id.nunique()
    assert summary.seconds > 0


def test_truth_covers_every_identity_record_exactly_once(shop: tuple[ShopSummary, dict]) -> None:
    _, t = shop
    truth = t["truth"]
    assert not truth.duplicated(["source", "record_id"]).any()
    expected = (
        {("accounts", i) for i in t["accounts"].customer_id}
        | {("crm", i) for i in t["crm"].crm_id}
        | {("transactions", i) for i in guest_sessions(t["transactions"]).session_id}
    )
    assert set(zip(truth.source, truth.record_id, strict=True)) == expected
    assert truth.person_id.nunique() == PEOPLE  # everyone leaves at least one record
    assert t["accounts"].customer_id.is_unique and t["crm"].crm_id.is_unique


def test_ids_look_like_the_documented_examples(shop: tuple[ShopSummary, dict]) -> None:
    _, t = shop
    assert t["accounts"].customer_id.str.fullmatch(r"A\d{7}").all()
    assert t["crm"].crm_id.str.fullmatch(r"C\d{6}").all()
    assert t["transactions"].session_id.str.fullmatch(r"S\d{8}").all()
    assert t["truth"].person_id.str.fullmatch(r"P\d{7}").all()


def test_orders_are_consistent(shop: tuple[ShopSummary, dict]) -> None:
    _, t = shop
    tx = t["transactions"]
    per_session = tx.groupby("session_id").agg(
        times=("event_time", "nunique"),
        customers=("customer_id", "nunique"),
        names=("guest_surname", "nunique"),
    )
    assert (per_session.times == 1).all() and (per_session.customers == 1).all()
    assert (per_session.names == 1).all()
    registered = tx[tx.customer_id != ""]
    assert set(registered.customer_id) <= set(t["accounts"].customer_id)
    guest_cols = ["guest_first_name", "guest_surname", "guest_postcode", "guest_email"]
    assert (registered[guest_cols] == "").all().all()
    guests = guest_sessions(tx)
    assert (guests.guest_first_name != "").all() and (guests.guest_surname != "").all()
    assert (guests.guest_postcode != "").mean() > 0.98
    assert 0.25 < (guests.guest_email != "").mean() < 0.6
    # nobody orders with an account before signing up for it
    signup = t["accounts"].set_index("customer_id").signup_date
    assert (registered.event_time.str[:10] >= registered.customer_id.map(signup)).all()


def test_transaction_values_are_well_formed(shop: tuple[ShopSummary, dict]) -> None:
    _, t = shop
    tx = t["transactions"]
    assert tx.event_time.str.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d").all()
    assert tx.event_time.min() >= "2023-01-01" and tx.event_time.max() < "2025-01-01"
    assert tx.price.str.fullmatch(r"\d+\.\d\d").all()
    assert (tx.price.astype(float) > 0).all()
    assert (tx.quantity.astype(int) >= 1).all()
    coded = tx.category_code[tx.category_code != ""]
    assert coded.str.fullmatch(r"[a-z_]+(\.[a-z_]+)+").all()
    assert 0.8 < len(coded) / len(tx) < 0.97  # some products lack a category code, as in reality
    assert tx.groupby("product_id").category_id.nunique().max() == 1
    assert 1_000 < tx.product_id.nunique() <= 3_000


def test_volumes_per_person_are_as_designed(shop: tuple[ShopSummary, dict]) -> None:
    summary, _ = shop
    assert 0.85 < summary.accounts / PEOPLE < 1.15
    assert 0.2 < summary.crm / PEOPLE < 0.4
    assert 3.5 < summary.orders / PEOPLE < 6.5
    assert 0.28 < summary.guest_sessions / summary.orders < 0.45
    assert 1.6 < summary.transactions / summary.orders < 2.5


def test_population_is_realistically_hard(shop: tuple[ShopSummary, dict]) -> None:
    _, t = shop
    truth = t["truth"]
    acc = t["accounts"].merge(truth, left_on="customer_id", right_on="record_id")
    per_person = truth[truth.source == "accounts"].groupby("person_id").size()
    assert 0.05 < (per_person > 1).sum() / PEOPLE < 0.3  # several accounts per person
    assert 0.1 < 1 - len(per_person) / PEOPLE < 0.35  # people without any account
    people = acc.drop_duplicates("person_id")
    surname = people.surname.str.lower().str.replace(r"[^a-z]", "", regex=True)
    assert 0.005 < surname.value_counts(normalize=True).iloc[0] < 0.03
    assert surname.nunique() > 0.25 * len(people)  # a long tail of rare surnames
    full = people.first_name.str.lower() + " " + surname
    owners = people.groupby(full).person_id.nunique()
    assert (owners > 1).sum() > 50  # different people with the same name
    postcode = norm_postcode(people.postcode)
    household = people[postcode != ""].groupby([surname, postcode]).person_id.nunique()
    assert household[household > 1].sum() > 0.08 * len(people)  # families at one address
    email = acc.email.str.lower()
    assert acc.groupby(email).person_id.nunique().max() == 1  # a mailbox is one person's


def test_contact_fields_look_british(shop: tuple[ShopSummary, dict]) -> None:
    _, t = shop
    postcodes = pd.concat([t["accounts"].postcode, t["crm"].postcode])
    postcodes = norm_postcode(postcodes[postcodes != ""])
    assert postcodes.str.match(UK_POSTCODE).mean() > 0.97
    phones = pd.concat([t["accounts"].phone, t["crm"].phone])
    digits = phones[phones != ""].str.replace("(0)", "").str.replace(r"\D", "", regex=True)
    national = digits.str.replace(r"^(0044|44|0)", "", regex=True)
    assert national.str.fullmatch(r"[127]\d{9}").mean() > 0.99
    emails = pd.concat([t["accounts"].email, t["crm"].email])
    assert emails[emails != ""].str.fullmatch(r"[^@\s]+@[^@\s]+\.[a-z]{2,}", case=False).all()
    assert t["crm"].full_name.str.contains(", ").mean() > 0.1  # "Smith, John" formats


def test_harder_difficulty_is_noisier(tmp_path: Path) -> None:
    def messiness(difficulty: str) -> float:
        out = tmp_path / difficulty
        generate_shop(2_000, out, seed=3, difficulty=difficulty)
        acc = read(out, "accounts")
        odd_name = ~acc.first_name.str.fullmatch(r"[A-Z][a-z]+")
        odd_postcode = ~acc.postcode.str.fullmatch(r"[A-Z0-9]{2,4} [0-9][A-Z]{2}")
        return float(odd_name.mean() + odd_postcode.mean())

    easy, hard = messiness("easy"), messiness("hard")
    assert hard > 1.5 * easy


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"people": 0}, "positive integer"),
        ({"people": -3}, "positive integer"),
        ({"people": 2.5}, "positive integer"),
        ({"people": True}, "positive integer"),
        ({"people": 10, "difficulty": "medium"}, "easy, default, hard"),
        ({"people": 10, "seed": -1}, "non-negative"),
    ],
)
def test_bad_arguments_raise_value_error(tmp_path: Path, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        generate_shop(out_dir=tmp_path / "x", **kwargs)
    assert not (tmp_path / "x").exists()


def test_progress_reports_people_done(tmp_path: Path) -> None:
    calls: list[tuple[int, int]] = []
    generate_shop(700, tmp_path, seed=1, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(700, 700)]


def test_orders_use_the_buyers_own_accounts_after_signup() -> None:
    rng = np.random.default_rng(0)
    rates, lex = RATES["default"], lexicon()
    hh = make_households(rng, 3_000, rates)
    people = make_people(rng, hh, np.zeros(hh.n_households, dtype=np.int64), rates, lex)
    life = make_lifecycle(rng, people.dob, rates)
    taste = make_taste(rng, people, make_catalogue(0), rates)
    orders = make_orders(rng, life, taste, rates)
    registered = orders.account >= 0
    assert (orders.account[registered] < life.n_accounts[orders.person[registered]]).all()
    signup = life.signup[orders.person[registered], orders.account[registered]]
    assert (signup <= orders.day[registered]).all()
    assert (
        life.signup[life.n_accounts > 0, 0] >= people.dob[life.n_accounts > 0] + 16 * YEAR - 1
    ).all()


def test_people_have_plausible_households() -> None:
    rng = np.random.default_rng(1)
    rates, lex = RATES["default"], lexicon()
    hh = make_households(rng, 10_000, rates)
    people = make_people(rng, hh, np.zeros(hh.n_households, dtype=np.int64), rates, lex)
    age = (REFERENCE - people.dob) / YEAR
    assert age.min() >= 16 and age.max() < 100
    assert hh.size.sum() == 10_000 and hh.size.max() <= 5
    changed = people.name_change < NEVER
    assert 0 < changed.mean() < 0.1
    assert (people.surname_old[changed] != people.surname_new[changed]).all()
    assert np.isin(people.gender[changed], [1]).mean() > 0.95  # mostly women marrying


def test_rates_are_probabilities_and_ordered() -> None:
    assert set(RATES) == set(DIFFICULTIES)
    for rates in RATES.values():
        for channel in (rates.accounts, rates.crm, rates.guest):
            assert isinstance(channel, ChannelNoise)
            assert all(0.0 <= v <= 1.0 for v in vars(channel).values())
        assert abs(sum(rates.household_sizes) - 1.0) < 1e-9
    for field in ("typo", "nickname", "postcode_format"):
        values = [getattr(RATES[d].guest, field) for d in DIFFICULTIES]
        assert values == sorted(values)
