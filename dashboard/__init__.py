"""What the Streamlit pages share: the server's state and jobs, each page's logic, and rendering.

Everything algorithmic lives in :mod:`mfcore`; this package only arranges it for the pages. Three
subpackages, each importing only the ones below it (``pyproject.toml`` ``[tool.importlinter]``):

- :mod:`dashboard.logic`: what each page does with widgets, runs and models (forms, the run driver,
  searches, Explore's views, teaching figures);
- :mod:`dashboard.server`: process-wide state and work shared by every session (the dataset store,
  run records and their files, the job scheduler);
- :mod:`dashboard.render`: how things are shown (escaping, Plotly figures, the error boundary).

No ``__init__`` here imports anything, so importing one module never drags in Streamlit.
"""
