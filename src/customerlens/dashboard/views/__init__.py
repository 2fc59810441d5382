"""The dashboard's pages: one Streamlit script each, routed by ``dashboard/app.py``."""
