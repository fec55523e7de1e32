"""How things are shown: escaping of user text for Markdown, labels and LaTeX; Plotly figures; the error
boundary every page runs in. Imports no other part of the dashboard."""
