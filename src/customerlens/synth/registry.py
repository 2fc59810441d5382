"""Global uniqueness of mailboxes and phone numbers across blocks.

Two different people never share a mailbox or a mobile number by accident (only on purpose, as a
household does). Blocks are generated in order; a value taken by an earlier block, or by an
earlier row of the same block, wins, and the loser is redrawn. So the first blocks never depend
on later ones, which keeps the prefix property of the generator.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pandas as pd

from customerlens.synth.lexicon import Int

U64 = npt.NDArray[np.uint64]
MAX_ROUNDS = 50


def string_keys(values: npt.NDArray[np.object_]) -> U64:
    """Stable 64-bit keys of strings (pandas' keyed SipHash, the same in every process)."""
    return np.asarray(pd.util.hash_array(values.astype(object)), dtype=np.uint64)


def int_keys(values: npt.NDArray[np.int64]) -> U64:
    """Integers as keys."""
    return values.astype(np.uint64)


class UniqueKeys:
    """Keys handed out so far; :meth:`settle` makes a block's values unique against them.

    Keys are kept as a few sorted arrays of decreasing size (merged like a binary counter), so
    lookups stay cheap and adding a block never re-sorts everything seen so far.
    """

    def __init__(self) -> None:
        self._levels: list[U64] = []

    def __len__(self) -> int:
        return sum(len(level) for level in self._levels)

    def __contains__(self, key: object) -> bool:
        return bool(self._taken(np.array([key], dtype=np.uint64))[0])

    def _taken(self, keys: U64) -> npt.NDArray[np.bool_]:
        order = np.argsort(keys)  # sorted queries make searchsorted cache-friendly
        ordered = keys[order]
        found = np.zeros(len(keys), dtype=bool)
        for level in self._levels:
            found[order] |= _in_sorted(ordered, level)
        return found

    def _add(self, keys: U64) -> None:
        """Add sorted keys that are new and distinct."""
        self._levels.append(keys)
        while len(self._levels) > 1 and len(self._levels[-2]) <= 2 * len(self._levels[-1]):
            newest, older = self._levels.pop(), self._levels.pop()
            self._levels.append(_merge(older, newest))

    def settle(
        self,
        values: np.ndarray,
        key: Callable[[np.ndarray], U64],
        redraw: Callable[[Int, int], np.ndarray],
    ) -> np.ndarray:
        """Return ``values`` with clashing entries redrawn until all keys are new and distinct.

        Parameters
        ----------
        values : numpy.ndarray
            Candidate values (strings or integers), one per owner, in priority order.
        key : callable
            Maps values to 64-bit keys; equal keys mean "the same mailbox / number".
        redraw : callable
            ``redraw(positions, round)`` returns new candidates for ``values[positions]``.
        """
        values = values.copy()
        accepted: U64 = np.empty(0, dtype=np.uint64)
        pending = np.arange(len(values), dtype=np.int64)
        for round_ in range(MAX_ROUNDS):
            keys = key(values[pending])
            clash = self._taken(keys) | _in_sorted(keys, accepted) | _repeats(keys)
            accepted = _merge(accepted, np.sort(keys[~clash]))
            pending = pending[clash]
            if len(pending) == 0:
                break
            values[pending] = redraw(pending, round_)
        else:
            raise RuntimeError("could not draw unique values; the value space is too small")
        self._add(accepted)
        return values


def _merge(a: U64, b: U64) -> U64:
    """Merge two sorted, disjoint key arrays (timsort merges the two runs in linear time)."""
    return np.sort(np.concatenate([a, b]), kind="stable")


def _repeats(keys: U64) -> npt.NDArray[np.bool_]:
    """True for every key equal to one earlier in the array (the first occurrence wins)."""
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    out = np.zeros(len(keys), dtype=bool)
    out[order[1:]] = ordered[1:] == ordered[:-1]
    return out


def _in_sorted(keys: U64, sorted_keys: U64) -> npt.NDArray[np.bool_]:
    if len(sorted_keys) == 0:
        return np.zeros(len(keys), dtype=bool)
    pos = np.minimum(np.searchsorted(sorted_keys, keys), len(sorted_keys) - 1)
    return np.asarray(sorted_keys[pos] == keys)
