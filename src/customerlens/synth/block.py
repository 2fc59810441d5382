"""One block of people: simulate their lives, then write their accounts, CRM entries and orders.

A block is always simulated in full (``BLOCK_SIZE`` people, seeded by ``(seed, block_index)``)
and only then cut to the people asked for, so a block's records never depend on how many people
the caller wanted: a larger shop with the same seed contains the smaller one unchanged.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from customerlens.synth.behaviour import Orders, make_lines, make_orders, make_taste
from customerlens.synth.catalogue import Catalogue
from customerlens.synth.emails import Mailboxes, make_mailboxes, render_emails
from customerlens.synth.geography import (
    Homes,
    first_districts,
    make_homes,
    region_of,
    render_addresses,
    render_postcodes,
)
from customerlens.synth.identity import full_names, name_fields, render_dobs
from customerlens.synth.lexicon import Int, Lexicon, Str, as_obj
from customerlens.synth.lifecycle import Lifecycle, make_lifecycle
from customerlens.synth.noise import blank_out
from customerlens.synth.phones import Phones, make_phones, render_phones
from customerlens.synth.population import People, make_households, make_people
from customerlens.synth.rates import ChannelNoise, Rates
from customerlens.synth.registry import UniqueKeys
from customerlens.synth.timeline import WINDOW_END, iso_dates

BLOCK_SIZE = 10_000
CRM_UPDATED = 0.15  # CRM entries whose details staff brought up to date later
FAMILY_EMAIL_USE = 0.4  # records of a family-mailbox household showing the family address

Table = dict[str, np.ndarray]


@dataclass
class Counters:
    """Running id counters across blocks (full blocks are counted, so ids are prefix-stable)."""

    accounts: int = 0
    crm: int = 0
    sessions: int = 0


@dataclass(frozen=True)
class Registries:
    """Values that must stay unique across blocks."""

    email: UniqueKeys = dataclasses.field(default_factory=UniqueKeys)
    phone: UniqueKeys = dataclasses.field(default_factory=UniqueKeys)


@dataclass(frozen=True)
class World:
    """Everything simulated about one block of people."""

    people: People
    homes: Homes
    life: Lifecycle
    mail: Mailboxes
    phones: Phones
    orders: Orders


@dataclass(frozen=True)
class BlockTables:
    """The rows a block contributes to each output file."""

    accounts: Table
    crm: Table
    transactions: Table
    truth: Table
    orders: int


def _ids(prefix: str, width: int, numbers: Int) -> Str:
    return as_obj(f"{prefix}{k:0{width}d}" for k in numbers)


def _numbered(rng: np.random.Generator, n: int, counter: int) -> Int:
    """Ids ``counter+1 .. counter+n`` in random order (so ids reveal nothing about people)."""
    return counter + 1 + rng.permutation(n).astype(np.int64)


def _contact(world: World, idx: Int, days: Int, noise: ChannelNoise, rng: np.random.Generator,
             lex: Lexicon) -> tuple[Str, Str, Str]:
    """Address line, postcode and phone of people on given days."""
    book = world.homes.book
    addr = world.homes.at(idx, days)
    line = render_addresses(book, addr, noise.address_variant, noise.address_typo, rng, lex)
    line = blank_out(line, noise.address_missing, rng)
    postcode = render_postcodes(book.postcode[addr], noise.postcode_format, noise.postcode_typo,
                                rng)
    postcode = blank_out(postcode, noise.postcode_missing, rng)
    mobile = world.phones.mobile_at(idx, days)
    phone = render_phones(mobile, world.phones.landline[addr], noise, rng)
    return line, postcode, phone


def _emails_on(world: World, idx: Int, days: Int, noise: ChannelNoise,
               rng: np.random.Generator) -> Str:
    stale = rng.random(len(idx)) < noise.stale_email
    mailbox = world.mail.at(idx, days, stale)
    family = world.mail.family[idx]
    use_family = np.array([f is not None for f in family]) & (rng.random(len(idx))
                                                              < FAMILY_EMAIL_USE)
    mailbox = np.where(use_family, family, mailbox)
    return render_emails(mailbox, noise, rng)


def _accounts(world: World, rng: np.random.Generator, rates: Rates, lex: Lexicon,
              counter: Counters) -> tuple[Table, Int, Int]:
    life = world.life
    person = np.repeat(np.arange(len(life.start), dtype=np.int64), life.n_accounts)
    slot = np.arange(len(person)) - np.repeat(np.cumsum(life.n_accounts) - life.n_accounts,
                                              life.n_accounts)
    signup = life.signup[person, slot]
    updated = rng.random(len(person)) < rates.profile_updated
    state = np.where(updated, WINDOW_END - 1, signup)
    noise = rates.accounts
    first, surname = name_fields(world.people, person, state, noise, rng, lex)
    typed = dataclasses.replace(noise, email_variant=0.0)
    email = render_emails(world.mail.account_email[person, slot], typed, rng)
    address, postcode, phone = _contact(world, person, state, noise, rng, lex)
    number = _numbered(rng, len(person), counter.accounts)
    table = {
        "customer_id": _ids("A", 7, number), "first_name": first, "surname": surname,
        "email": email, "phone": phone, "postcode": postcode, "address": address,
        "date_of_birth": render_dobs(world.people.dob[person], rates, rng),
        "signup_date": iso_dates(signup),
    }
    account_no = np.full((len(life.start), 3), -1, dtype=np.int64)
    account_no[person, slot] = number
    return table, person, account_no


def _crm(world: World, rng: np.random.Generator, rates: Rates, lex: Lexicon,
         counter: Counters) -> tuple[Table, Int]:
    life = world.life
    person = np.repeat(np.arange(len(life.start), dtype=np.int64), life.n_crm)
    slot = np.arange(len(person)) - np.repeat(np.cumsum(life.n_crm) - life.n_crm, life.n_crm)
    created = life.crm_day[person, slot]
    state = np.where(rng.random(len(person)) < CRM_UPDATED, WINDOW_END - 1, created)
    noise = rates.crm
    name = full_names(world.people, person, state, noise, rng, lex)
    email = _emails_on(world, person, state, noise, rng)
    address, postcode, phone = _contact(world, person, state, noise, rng, lex)
    table = {
        "crm_id": _ids("C", 6, _numbered(rng, len(person), counter.crm)), "full_name": name,
        "email": email, "phone": phone, "address": address, "postcode": postcode,
    }
    return table, person


def _guest_fields(world: World, guest: Int, rng: np.random.Generator, rates: Rates,
                  lex: Lexicon) -> Table:
    person, days = world.orders.person[guest], world.orders.day[guest]
    noise = rates.guest
    first, surname = name_fields(world.people, person, days, noise, rng, lex)
    addr = world.homes.at(person, days)
    used = np.unique(world.homes.slots[world.homes.slots >= 0])
    gift = rng.random(len(guest)) < rates.gift_address
    addr = np.where(gift, used[rng.integers(0, len(used), len(guest))], addr)
    postcode = render_postcodes(world.homes.book.postcode[addr], noise.postcode_format,
                                noise.postcode_typo, rng)
    return {
        "guest_first_name": first, "guest_surname": surname,
        "guest_postcode": blank_out(postcode, noise.postcode_missing, rng),
        "guest_email": _emails_on(world, person, days, noise, rng),
    }


def simulate(rng: np.random.Generator, rates: Rates, lex: Lexicon, cat: Catalogue,
             registries: Registries) -> tuple[World, Int, Int, Int]:
    """Simulate a full block.

    Returns the world and the order lines as arrays: order index, product index, and a (2, n)
    array of quantity and unit price in pence.
    """
    hh = make_households(rng, BLOCK_SIZE, rates)
    first = first_districts(rng, hh.n_households, lex)
    people = make_people(rng, hh, region_of(first, lex), rates, lex)
    homes = make_homes(rng, hh, first, people.dob, rates, lex)
    life = make_lifecycle(rng, people.dob, rates)
    mail = make_mailboxes(rng, hh, people, homes, life, rates, lex, registries.email)
    phones = make_phones(rng, hh, people, homes, rates, lex, registries.phone)
    taste = make_taste(rng, people, cat, rates)
    orders = make_orders(rng, life, taste, rates)
    lines = make_lines(rng, orders, taste, cat)
    world = World(people, homes, life, mail, phones, orders)
    return world, lines.order, lines.product, np.stack([lines.quantity, lines.price_pence])


def _transactions(world: World, rng: np.random.Generator, rates: Rates, lex: Lexicon,
                  cat: Catalogue, lines: tuple[Int, Int, Int], account_no: Int,
                  counter: Counters) -> tuple[Table, Int, Int]:
    orders = world.orders
    n_orders = len(orders.person)
    session = _numbered(rng, n_orders, counter.sessions)
    guest = np.flatnonzero(orders.account < 0)
    fields = _guest_fields(world, guest, rng, rates, lex)
    customer = np.full(n_orders, None, dtype=object)
    registered = np.flatnonzero(orders.account >= 0)
    customer[registered] = _ids("A", 7, account_no[orders.person[registered],
                                                     orders.account[registered]])
    order, product, qty_price = lines
    by_time = np.lexsort((np.arange(len(order)), session[order], orders.time[order]))
    order, product, qty_price = order[by_time], product[by_time], qty_price[:, by_time]
    stamp = np.datetime_as_string(orders.time.astype("datetime64[s]")).astype(object)
    table: Table = {
        "event_time": np.array([s.replace("T", " ") for s in stamp], dtype=object)[order],
        "session_id": _ids("S", 8, session)[order],
        "product_id": cat.product_id[product], "category_id": cat.category_id[product],
        "category_code": cat.category_code[product], "brand": cat.brand[product],
        "price_pence": qty_price[1], "quantity": qty_price[0],
        "customer_id": customer[order],
    }
    for name, values in fields.items():
        full = np.full(n_orders, None, dtype=object)
        full[guest] = values
        table[name] = full[order]
    return table, order, session


def make_block(seed: int, block: int, keep: int, rates: Rates, lex: Lexicon, cat: Catalogue,
               registries: Registries, counter: Counters) -> BlockTables:
    """Simulate block ``block`` in full, then return the rows of its first ``keep`` people.

    ``counter`` and ``registries`` are advanced by the full block.
    """
    rng = np.random.default_rng([seed, block])
    world, order, product, qty_price = simulate(rng, rates, lex, cat, registries)
    accounts, acc_person, account_no = _accounts(world, rng, rates, lex, counter)
    crm, crm_person = _crm(world, rng, rates, lex, counter)
    tx, line_order, session = _transactions(world, rng, rates, lex, cat,
                                            (order, product, qty_price), account_no, counter)
    counter.accounts += len(acc_person)
    counter.crm += len(crm_person)
    counter.sessions += len(session)

    base = block * BLOCK_SIZE
    orders = world.orders
    guest = np.flatnonzero(orders.account < 0)
    truth = {
        "source": as_obj(["accounts"] * len(acc_person) + ["crm"] * len(crm_person)
                         + ["transactions"] * len(guest)),
        "record_id": np.concatenate([accounts["customer_id"], crm["crm_id"],
                                     _ids("S", 8, session[guest])]),
        "person": np.concatenate([acc_person, crm_person, orders.person[guest]]),
    }
    acc_keep = _sorted_keep(accounts["customer_id"], acc_person < keep)
    crm_keep = _sorted_keep(crm["crm_id"], crm_person < keep)
    tx_keep = np.flatnonzero(orders.person[line_order] < keep)
    truth_keep = np.flatnonzero(truth["person"] < keep)
    truth_keep = truth_keep[np.lexsort((truth["record_id"][truth_keep],
                                        truth["source"][truth_keep]))]
    truth_out = {
        "source": truth["source"][truth_keep], "record_id": truth["record_id"][truth_keep],
        "person_id": _ids("P", 7, base + 1 + truth["person"][truth_keep]),
    }
    return BlockTables(
        accounts={k: v[acc_keep] for k, v in accounts.items()},
        crm={k: v[crm_keep] for k, v in crm.items()},
        transactions={k: v[tx_keep] for k, v in tx.items()},
        truth=truth_out,
        orders=int((orders.person < keep).sum()),
    )


def _sorted_keep(ids: Str, keep: np.ndarray) -> Int:
    rows = np.flatnonzero(keep)
    return rows[np.argsort(ids[rows], kind="stable")]
