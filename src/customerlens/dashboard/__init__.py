"""The Streamlit dashboard over a warehouse: ``customerlens dashboard --warehouse DIR``.

``APP_FILE`` is the script Streamlit runs; it reads the warehouse path from ``WAREHOUSE_ENV``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from customerlens.errors import ConfigError
from customerlens.warehouse import DEFAULT_FILENAME

#: the Streamlit script (``streamlit run APP_FILE``)
APP_FILE = Path(__file__).with_name("app.py")
#: environment variable naming the warehouse file the dashboard opens
WAREHOUSE_ENV = "CUSTOMERLENS_DASHBOARD_WAREHOUSE"


def warehouse_path(environ: Mapping[str, str] | None = None) -> Path:
    """The warehouse file named by ``WAREHOUSE_ENV`` (a folder means its ``lens.duckdb``).

    Raises
    ------
    ConfigError
        When the variable is unset or names no warehouse, saying how to start the dashboard.
    """
    value = (os.environ if environ is None else environ).get(WAREHOUSE_ENV, "").strip()
    if not value:
        raise ConfigError(
            f"{WAREHOUSE_ENV} is not set: start the dashboard with "
            "`customerlens dashboard --warehouse DIR/lens.duckdb`."
        )
    path = Path(value)
    if path.is_dir():
        path = path / DEFAULT_FILENAME
    if not path.is_file():
        raise ConfigError(
            f"No warehouse at {path}: run `customerlens run --out DIR` (or `customerlens "
            "resolve --out DIR`) first, then `customerlens dashboard --warehouse DIR/lens.duckdb`."
        )
    return path
