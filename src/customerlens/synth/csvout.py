"""Append tables to UTF-8 CSV files with minimal quoting (like Python's ``csv.QUOTE_MINIMAL``).

pyarrow's own CSV writer quotes every string; shop exports usually quote only values that need it,
so rows are assembled here with pyarrow compute kernels and written as one buffer per block.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_NEEDS_QUOTES = r'[",\r\n]'


def money(pence: np.ndarray) -> pa.Array:
    """Amounts in pence as decimal strings with two places (``1299`` -> ``"12.99"``)."""
    values = np.asarray(pence, dtype=np.int64)
    pounds = pa.array(values // 100).cast(pa.string())
    cents = pc.utf8_lpad(pa.array(values % 100).cast(pa.string()), 2, "0")
    return pc.binary_join_element_wise(pounds, cents, ".")


def _text(values: np.ndarray | pa.Array) -> pa.Array:
    if isinstance(values, pa.Array):
        arr = values
    elif values.dtype == object:
        arr = pa.array(values, type=pa.string(), from_pandas=True)
    else:
        arr = pa.array(values)
    if not pa.types.is_string(arr.type):
        return arr.cast(pa.string()).fill_null("")
    quoted = pc.binary_join_element_wise('"', pc.replace_substring(arr, '"', '""'), '"', "")
    arr = pc.if_else(pc.match_substring_regex(arr, _NEEDS_QUOTES), quoted, arr)
    return arr.fill_null("")


class CsvAppender:
    """One output file: header on open, then whole blocks of rows appended."""

    def __init__(self, path: Path, columns: tuple[str, ...]) -> None:
        self.path = path
        self.columns = columns
        self.rows = 0
        self._file: IO[bytes] = path.open("wb")
        self._file.write((",".join(columns) + "\n").encode("utf-8"))

    def append(self, table: dict[str, np.ndarray | pa.Array]) -> None:
        """Write the rows of ``table`` (every column of the file must be present)."""
        missing = [c for c in self.columns if c not in table]
        if missing:
            raise KeyError(f"{self.path.name}: columns missing from block: {missing}")
        cols = [_text(table[c]) for c in self.columns]
        n = len(cols[0])
        if n == 0:
            return
        lines = pc.binary_join_element_wise(*cols, ",") if len(cols) > 1 else cols[0]
        body = pc.binary_join(pa.ListArray.from_arrays(pa.array([0, n], pa.int32()), lines), "\n")
        self._file.write(body[0].as_buffer())
        self._file.write(b"\n")
        self.rows += n

    def close(self) -> None:
        self._file.close()
