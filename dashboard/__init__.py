"""UI helpers shared by the Streamlit pages: the session's dataset, settings, runs and charts.

Everything algorithmic lives in :mod:`mfcore`; this package only arranges it for the pages.
"""
