"""One base error and a subclass per area.

Every message says what is wrong, where (file, row, column) and what to do about it. The CLI
prints these without a traceback and exits non-zero; anything else is a bug and keeps its
traceback.
"""

from __future__ import annotations


class CustomerLensError(Exception):
    """Base class of every error customerlens raises on purpose."""

    exit_code = 2


class ConfigError(CustomerLensError):
    """A bad option, a bad ``customerlens.toml`` or an inconsistent set of arguments."""


class IngestError(CustomerLensError):
    """An input file that cannot be read or does not satisfy the input contract."""


class WarehouseError(CustomerLensError):
    """The warehouse engine failed; carries the SQL (or table) that failed."""

    def __init__(self, message: str, sql: str | None = None) -> None:
        self.sql = sql
        if sql:
            message = f"{message}\n  while running: {_shorten(sql)}"
        super().__init__(message)


def _shorten(sql: str, limit: int = 400) -> str:
    flat = " ".join(sql.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."
