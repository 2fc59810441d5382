"""What every page shares: the warehouse it shows, notices for missing tables, number formats."""

from __future__ import annotations

import math
from typing import Any

import streamlit as st

from customerlens.dashboard import queries, warehouse_path
from customerlens.errors import CustomerLensError

#: the command that computes every table past resolution
RUN = "customerlens run --accounts A --crm C --transactions T --out DIR"


def current_path() -> str:
    """The warehouse this dashboard shows, opened; stops the page with an error if it cannot."""
    try:
        path = str(warehouse_path())
        queries.open_lens(path)
    except CustomerLensError as exc:
        st.error(str(exc), icon=":material/error:")
        if "lock" in str(exc).lower():
            st.caption(
                "DuckDB lets one process write a warehouse at a time: stop the process named "
                "above (a `customerlens run` or `serve`), then reload this page."
            )
        st.stop()
    return path


def has(path: str, *tables: str) -> bool:
    return all(t in queries.tables(path) for t in tables)


def need(path: str, *tables: str, what: str) -> bool:
    """True when every table exists; otherwise an info naming the command that computes them."""
    missing = [t for t in tables if t not in queries.tables(path)]
    if missing:
        names = ", ".join(f"`{t}`" for t in missing)
        st.info(
            f"{what}: not computed for this warehouse yet (no {names} "
            f"table{'s' if len(missing) > 1 else ''}). Run `{RUN}` to compute it.",
            icon=":material/info:",
        )
    return not missing


def number(value: Any, digits: int = 0) -> str:
    """Thousands separators; an em dash for a missing value."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{float(value):,.{digits}f}"


def percent(value: Any, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{100 * float(value):.{digits}f}%"


def share(part: Any, whole: Any) -> float | None:
    """``part / whole``, or None when there is no whole to share."""
    return float(part) / float(whole) if whole else None
