"""The shop's product catalogue and how a person's taste picks products from it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from customerlens.synth.data import catalogue as data
from customerlens.synth.lexicon import Bool, Float, Int, Str, as_obj, draw

N_PRODUCTS = 3_000
MISSING_CATEGORY_CODE = 0.10  # products without a category code, as in real shop exports
MISSING_BRAND = 0.06


@dataclass(frozen=True)
class Catalogue:
    """Products sorted by (top-level category, brand, price).

    Attributes
    ----------
    product_id, category_id, category_code, brand, price_pence : per product
    top : top-level category index per product
    top_names : names of the top-level categories
    top_start, top_count : product range of each top-level category
    group_start, group_count, group_top : product range and category of each (category, brand)
    group_cum : cumulative brand popularity over groups, restarting per category
    popularity_cum : cumulative product popularity in product order
    multi_quantity : per top-level category, whether items are often bought several at once
    """

    product_id: Int
    category_id: Int
    category_code: Str
    brand: Str
    price_pence: Int
    top: Int
    top_names: Str
    top_start: Int
    top_count: Int
    group_start: Int
    group_count: Int
    group_top: Int
    group_cum: Float
    popularity_cum: Float
    multi_quantity: Bool

    @property
    def n_top(self) -> int:
        return len(self.top_names)


def _brands(top: str) -> tuple[list[str], Float, Float]:
    tokens = data.BRANDS[top].split()
    names = tokens[0::3]
    return names, np.array(tokens[1::3], dtype=float), np.array(tokens[2::3], dtype=float)


def _price_pence(raw: Float, rng: np.random.Generator) -> Int:
    """Shop-like prices: most end in .99, some in .49 or .00."""
    pounds = np.maximum(np.floor(raw), 1).astype(np.int64)
    u = rng.random(len(raw))
    pence = np.where(u < 0.65, 99, np.where(u < 0.8, 49, np.where(u < 0.9, 0, 95)))
    return pounds * 100 + np.where(pounds >= 100, np.where(u < 0.5, 0, 99), pence)


def make_catalogue(seed: int) -> Catalogue:
    """Build the catalogue of a shop: a few thousand products with ids, categories and prices."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(1,)))
    leaves = [line.split() for line in data.LEAVES.strip().splitlines()]
    tops = list(dict.fromkeys(code.split(".")[0] for code, _, _ in leaves))
    breadth = np.array([float(b) for _, _, b in leaves])
    per_leaf = rng.multinomial(N_PRODUCTS, breadth / breadth.sum())
    leaf = np.repeat(np.arange(len(leaves)), per_leaf)
    top = np.array([tops.index(leaves[i][0].split(".")[0]) for i in leaf], dtype=np.int64)
    brand_idx = np.zeros(len(leaf), dtype=np.int64)
    multiplier = np.ones(len(leaf))
    brand_names: list[list[str]] = []
    brand_weights: list[Float] = []
    for t, name in enumerate(tops):
        names, pop, mult = _brands(name)
        brand_names.append(names)
        brand_weights.append(pop)
        rows = np.flatnonzero(top == t)
        brand_idx[rows] = draw(np.cumsum(pop), rng.random(len(rows)))
        multiplier[rows] = mult[brand_idx[rows]]
    median = np.array([float(leaves[i][1]) for i in leaf])
    price = _price_pence(median * multiplier * rng.lognormal(0, 0.45, len(leaf)), rng)

    order = np.lexsort((price, brand_idx, top))
    leaf, top, brand_idx, price = leaf[order], top[order], brand_idx[order], price[order]
    code = as_obj(leaves[i][0] for i in leaf)
    code[rng.random(len(leaf)) < MISSING_CATEGORY_CODE] = None
    brand = as_obj(brand_names[t][b] for t, b in zip(top, brand_idx, strict=True))
    brand[rng.random(len(leaf)) < MISSING_BRAND] = None
    leaf_ids = 2_053_013_552_000_000_000 + np.sort(rng.choice(10**9, len(leaves), replace=False))
    product_id = 1_000_000 + rng.choice(9_000_000, len(leaf), replace=False)

    group_key = top * 100 + brand_idx
    starts = np.flatnonzero(np.r_[True, group_key[1:] != group_key[:-1]])
    counts = np.diff(np.r_[starts, len(leaf)])
    group_top = top[starts]
    group_pop = np.array([brand_weights[t][b] for t, b in zip(group_top, brand_idx[starts],
                                                              strict=True)])
    popularity = rng.pareto(1.2, len(leaf)) + 0.05
    top_start = np.searchsorted(top, np.arange(len(tops)))
    return Catalogue(
        product_id=product_id.astype(np.int64),
        category_id=leaf_ids[leaf].astype(np.int64),
        category_code=code,
        brand=brand,
        price_pence=price,
        top=top,
        top_names=as_obj(tops),
        top_start=top_start.astype(np.int64),
        top_count=np.bincount(top, minlength=len(tops)).astype(np.int64),
        group_start=starts.astype(np.int64),
        group_count=counts.astype(np.int64),
        group_top=group_top,
        group_cum=np.cumsum(group_pop),
        popularity_cum=np.cumsum(popularity),
        multi_quantity=np.array([t in data.MULTI_QUANTITY for t in tops]),
    )


def favourite_groups(cat: Catalogue, rng: np.random.Generator, n_people: int) -> Int:
    """Each person's favourite brand group in every top-level category, shape (n, n_top)."""
    out = np.empty((n_people, cat.n_top), dtype=np.int64)
    for t in range(cat.n_top):
        groups = np.flatnonzero(cat.group_top == t)
        lo = cat.group_cum[groups[0] - 1] if groups[0] > 0 else 0.0
        u = lo + rng.random(n_people) * (cat.group_cum[groups[-1]] - lo)
        out[:, t] = np.searchsorted(cat.group_cum, u, side="right")
    return out


def pick_products(
    cat: Catalogue, rng: np.random.Generator, top: Int, group: Int, loyal: Bool, price_z: Float
) -> Int:
    """Pick one product per line.

    Loyal lines pick from the person's favourite brand group, others from the whole category;
    half of the picks follow popularity, half the person's price level (a quantile of price).
    """
    n = len(top)
    start = np.where(loyal, cat.group_start[group], cat.top_start[top])
    count = np.where(loyal, cat.group_count[group], cat.top_count[top])
    q = 1.0 / (1.0 + np.exp(-(price_z + 0.8 * rng.normal(0, 1, n)) * 1.7))
    by_price = start + np.minimum(np.floor(q * count).astype(np.int64), count - 1)
    cum = cat.popularity_cum
    lo = np.where(start > 0, cum[np.maximum(start - 1, 0)], 0.0)
    hi = cum[start + count - 1]
    by_pop = np.searchsorted(cum, lo + rng.random(n) * (hi - lo), side="right")
    by_pop = np.clip(by_pop, start, start + count - 1)
    return np.where(rng.random(n) < 0.5, by_pop, by_price).astype(np.int64)
