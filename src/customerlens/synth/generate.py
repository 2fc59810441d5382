"""``generate_shop``: write a synthetic shop (accounts, CRM, transactions, truth) as CSV files."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from customerlens.synth.block import BLOCK_SIZE, Counters, Registries, make_block
from customerlens.synth.catalogue import make_catalogue
from customerlens.synth.csvout import CsvAppender, money
from customerlens.synth.lexicon import lexicon
from customerlens.synth.rates import get_rates

COLUMNS: dict[str, tuple[str, ...]] = {
    "accounts": ("customer_id", "first_name", "surname", "email", "phone", "postcode", "address",
                 "date_of_birth", "signup_date"),
    "crm": ("crm_id", "full_name", "email", "phone", "address", "postcode"),
    "transactions": ("event_time", "session_id", "product_id", "category_id", "category_code",
                     "brand", "price", "quantity", "customer_id", "guest_first_name",
                     "guest_surname", "guest_postcode", "guest_email"),
    "truth": ("source", "record_id", "person_id"),
}


@dataclass(frozen=True)
class ShopSummary:
    """What :func:`generate_shop` wrote.

    Attributes
    ----------
    people : number of simulated people (= distinct ``person_id`` in ``truth.csv``)
    accounts, crm, transactions : rows written to the files of the same name
    guest_sessions : guest checkouts (sessions with no ``customer_id``)
    orders : all orders (sessions), registered and guest
    files : file role (``accounts``, ``crm``, ``transactions``, ``truth``) -> path
    seconds : wall-clock time taken
    seed, difficulty : the arguments used
    """

    people: int
    accounts: int
    crm: int
    transactions: int
    guest_sessions: int
    orders: int
    files: dict[str, Path]
    seconds: float
    seed: int
    difficulty: str


def _check(people: int, seed: int, difficulty: str) -> None:
    if isinstance(people, bool) or not isinstance(people, int | np.integer) or people < 1:
        raise ValueError(f"people must be a positive integer (got {people!r}); try 20000")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer (got {seed!r}); try 42")
    get_rates(difficulty)


def generate_shop(
    people: int,
    out_dir: Path,
    seed: int = 42,
    difficulty: str = "default",
    progress: Callable[[int, int], None] | None = None,
) -> ShopSummary:
    """Generate a synthetic online shop with known ground truth and write it as CSV files.

    People are simulated in blocks of 10,000, each seeded by ``(seed, block index)``; the same
    arguments give byte-identical files, and a larger ``people`` with the same seed and
    difficulty contains the records of the smaller one unchanged (same ids, same values).

    Files (UTF-8, header row, comma separated, quoted only where needed; empty = missing):

    * ``accounts.csv`` -- customer_id (``A0000123``), first_name, surname, email, phone,
      postcode, address, date_of_birth (ISO), signup_date (ISO); sorted by customer_id.
    * ``crm.csv`` -- crm_id (``C000045``), full_name, email, phone, address, postcode.
    * ``transactions.csv`` -- one row per purchased item: event_time (``YYYY-MM-DD HH:MM:SS``),
      session_id (``S00001234``, one per order), product_id, category_id, category_code, brand,
      price (2 decimals), quantity, customer_id (registered orders) or guest_first_name,
      guest_surname, guest_postcode, guest_email (guest orders). Orders fall in 2023-2024 and
      are sorted by time within each block of 10,000 people, not across blocks.
    * ``truth.csv`` -- source, record_id, person_id: one row per account, CRM entry and guest
      session. Only for evaluation.

    Parameters
    ----------
    people : int
        Number of people (true customers) to simulate; at least 1.
    out_dir : pathlib.Path
        Directory for ``accounts.csv``, ``crm.csv``, ``transactions.csv`` and ``truth.csv``;
        created if missing, existing files of those names are replaced.
    seed : int, default 42
        Non-negative random seed.
    difficulty : {"easy", "default", "hard"}
        Noise level; see :mod:`customerlens.synth.rates`.
    progress : callable, optional
        Called as ``progress(people_done, people_total)`` after each block.

    Returns
    -------
    ShopSummary

    Raises
    ------
    ValueError
        If ``people`` < 1, ``seed`` is negative or ``difficulty`` is unknown.
    """
    _check(people, seed, difficulty)
    started = time.perf_counter()
    rates = get_rates(difficulty)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    lex = lexicon()
    catalogue = make_catalogue(int(seed))
    registries, counter = Registries(), Counters()
    final = {name: out / f"{name}.csv" for name in COLUMNS}
    writers = {name: CsvAppender(out / f".{name}.csv.partial", cols)
               for name, cols in COLUMNS.items()}
    guest_sessions = orders = 0
    done = False
    try:
        n_blocks = -(-int(people) // BLOCK_SIZE)
        for b in range(n_blocks):
            keep = min(BLOCK_SIZE, int(people) - b * BLOCK_SIZE)
            block = make_block(int(seed), b, keep, rates, lex, catalogue, registries, counter)
            tx = dict(block.transactions)
            tx["price"] = money(tx.pop("price_pence"))
            writers["accounts"].append(block.accounts)
            writers["crm"].append(block.crm)
            writers["transactions"].append(tx)
            writers["truth"].append(block.truth)
            guest_sessions += int((block.truth["source"] == "transactions").sum())
            orders += block.orders
            if progress is not None:
                progress(b * BLOCK_SIZE + keep, int(people))
        done = True
    finally:
        for w in writers.values():
            w.close()
            if not done:  # never leave half-written files behind
                w.path.unlink(missing_ok=True)
    for name, w in writers.items():
        os.replace(w.path, final[name])
    return ShopSummary(
        people=int(people),
        accounts=writers["accounts"].rows,
        crm=writers["crm"].rows,
        transactions=writers["transactions"].rows,
        guest_sessions=guest_sessions,
        orders=orders,
        files=final,
        seconds=time.perf_counter() - started,
        seed=int(seed),
        difficulty=difficulty,
    )
