"""Synthetic online shop with ground truth: accounts, CRM entries, transactions, truth.

>>> from customerlens.synth import generate_shop
>>> summary = generate_shop(20_000, Path("shop"), seed=42)   # doctest: +SKIP

See :func:`generate_shop` for the files written and :mod:`customerlens.synth.rates` for the
noise of each difficulty.
"""

from __future__ import annotations

from customerlens.synth.generate import COLUMNS, ShopSummary, generate_shop
from customerlens.synth.rates import DIFFICULTIES

__all__ = ["COLUMNS", "DIFFICULTIES", "ShopSummary", "generate_shop"]
