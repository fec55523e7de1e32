"""The server's state and jobs, shared by every session of the process: the dataset store, run records
and the runs kept across reloads, the training scheduler. Imports :mod:`dashboard.render` only (for
escaping a message); :mod:`dashboard.server.run_record` and :mod:`dashboard.server.store` import no
Streamlit at all."""
