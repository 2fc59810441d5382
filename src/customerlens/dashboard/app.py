"""The dashboard's entry script (``streamlit run``): checks the warehouse, routes the pages.

The warehouse path comes from the ``CUSTOMERLENS_DASHBOARD_WAREHOUSE`` environment variable,
which ``customerlens dashboard --warehouse DIR/lens.duckdb`` sets.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from customerlens.dashboard import queries
from customerlens.dashboard.views.common import current_path, has
from customerlens.tables import RUN_METADATA

#: the page scripts; not named ``pages/``: Streamlit would take a ``pages/`` folder beside the
#: entry script for its older multipage mode and run a page without this script on a fresh
#: server's first request
PAGES = Path(__file__).with_name("views")

st.set_page_config(page_title="customerlens", page_icon=":material/insights:", layout="wide")
path = current_path()

#: script, title, icon and URL path of each page; the first is the default, served at "/"
PAGE_SPECS = (
    ("overview.py", "Overview", ":material/dashboard:", "overview"),
    ("identity.py", "Identity", ":material/join:", "identity"),
    ("segments.py", "Segments", ":material/donut_large:", "segments"),
    ("customer.py", "Customer 360", ":material/person_search:", "customer"),
    ("targets.py", "Target list", ":material/target:", "targets"),
)

navigation = st.navigation(
    [
        st.Page(PAGES / script, title=title, icon=icon, url_path=url, default=n == 0)
        for n, (script, title, icon, url) in enumerate(PAGE_SPECS)
    ]
)

with st.sidebar:
    st.caption(f"Warehouse `{path}`")
    if has(path, RUN_METADATA):
        runs = queries.last_runs(path)
        st.caption(
            "Last runs: "
            + ", ".join(f"{r.stage} {r.finished_at:%Y-%m-%d %H:%M}" for r in runs.itertuples())
        )
    if st.button("Reload data", icon=":material/refresh:", help="Forget cached query results"):
        st.cache_data.clear()

navigation.run()
