"""Explore's recommendation tables: a predicted rating clipped to the scale is marked, and a sentence
says how many and why, from the numbers."""

import pandas as pd

from dashboard.logic import model_views as view


def table(parts):
    return pd.DataFrame({"title": [f"item {n}" for n in range(len(parts))],
                         "predicted": [min(max(a + b, 1.0), 5.0) for a, b in parts],
                         "μ + b_u + b_i": [a for a, _ in parts], "p_u · q_i": [b for _, b in parts]})


def test_clipped_predictions_are_marked_and_said_in_words():
    recommended = table([(4.1, 1.2), (4.0, 1.05), (3.9, 0.6)])
    shown = view.recommendation_view(recommended, (1.0, 5.0))
    assert list(shown["predicted"]) == ["5.000 *", "5.000 *", "4.500"]
    sentence = view.clipped_sentence(recommended, (1.0, 5.0))
    assert sentence.startswith("* 2 of these 3 predicted ratings are clipped to the rating scale (1 to 5)")
    assert "above 5 (up to 5.30)" in sentence


def test_nothing_clipped_says_nothing():
    recommended = table([(3.5, 0.4), (3.4, 0.3)])
    assert view.clipped_sentence(recommended, (1.0, 5.0)) == ""
    assert list(view.recommendation_view(recommended, (1.0, 5.0))["predicted"]) == ["3.900", "3.700"]
    low = table([(1.2, -0.5)])
    assert "below 1 (down to 0.70)" in view.clipped_sentence(low, (1.0, 5.0))


def test_static_tables_show_titles_as_written():
    """st.table renders Markdown in its cells: a hostile title is escaped, numbers keep their format."""
    from types import SimpleNamespace

    from dashboard.render import safe
    frame = pd.DataFrame({"title": ["[click](http://x) **bold**", "support >= 5"], "cosine": [0.5, 0.25]})
    drawn = SimpleNamespace(table=lambda styler: setattr(drawn, "styler", styler))  # a container's table()
    safe.table(drawn, frame, {"cosine": "{:.3f}"}, hide_index=True)
    html = drawn.styler.to_html()
    assert "\\[click\\](http\\:\u2060//x) \\*\\*bold\\*\\*" in html and "support \\>= 5" in html
    assert "0.500" in html and "[click](" not in html
