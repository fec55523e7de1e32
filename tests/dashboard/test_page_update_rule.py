"""AppTest of the Update rule page: steps, one epoch, reset, settings, the slice, divergence."""

import json

from apptest_helpers import TOY, button, home, no_exception, plain, upload

from mfcore import load_ratings
from mfcore.teaching import BPRStepper, UpdateStepper


def update_page(app=None):
    return (app or home()).switch_page("pages/3_Update_rule.py").run()


def summary(app) -> str:
    return next(m.value for m in app.markdown if plain(m.value).startswith("**Step "))


def rmse_points(app) -> list:
    spec = json.loads(next(c for c in app.get("plotly_chart") if c.proto.id and "ur_rmse" in c.proto.id).proto.spec)
    return spec["data"][0]["x"]


def test_steps_match_mfcore_then_epoch_and_reset():
    app = update_page()
    no_exception(app)
    assert len(app.get("plotly_chart")) == 4 and not app.latex
    expected = UpdateStepper(load_ratings(TOY), n_factors=3, lr=0.05, reg=0.02, seed=0)
    for step in (1, 2):
        app = button(app, "Next update").click().run()
        record = expected.step()
        assert summary(app).startswith(f"**Step {step}** (epoch 1, rating {step} of 50)")
        assert f"(u = {record.u})" in summary(app) and f"prediction **{record.prediction:.4f}**" in summary(app)
    assert len(app.latex) == 6 and f"{record.error:.4f}" in app.latex[1].value
    assert rmse_points(app) == [0, 1, 2]
    app = button(app, "One epoch").click().run()
    no_exception(app)
    assert summary(app).startswith("**Step 50** (epoch 1, rating 50 of 50)")
    assert any(plain(c.value).startswith("Finished epoch 1: 48 updates, ratings 3 to 50 of its 50")
               for c in app.caption)
    assert rmse_points(app) == list(range(51))
    app = button(app, "One epoch").click().run()
    assert summary(app).startswith("**Step 100** (epoch 2, rating 50 of 50)")
    assert any(plain(c.value).startswith("One epoch: 50 updates") for c in app.caption)
    app = button(app, "Reset").click().run()
    assert rmse_points(app) == [0] and not app.latex


def test_settings_restart_and_no_biases_hides_them():
    app = update_page()
    app.slider(key="ur_k").set_value(5)
    app.checkbox(key="ur_bias").set_value(False)
    app = button(app.run(), "Next update").click().run()
    no_exception(app)
    assert len(app.latex) == 4  # prediction, error, p_u, q_i
    assert len(app.table) == 2 and app.table[0].value.shape == (3, 5)


def test_slice_of_the_loaded_dataset_and_divergence_message():
    app = update_page(upload(home(), "toy.csv", TOY))
    app.radio(key="ur_source").set_value(app.radio(key="ur_source").options[1]).run()
    app = button(app, "Next update").click().run()
    no_exception(app)
    assert "of 50)" in summary(app)  # the toy has only 8 x 10, all of it in the slice
    app.number_input(key="ur_lr").set_value(1.0).run()
    for _ in range(4):
        app = button(app, "One epoch").click().run()
    no_exception(app)
    assert len(app.error) == 1 and "lower the learning rate" in app.error[0].value
    assert "\n" not in app.error[0].value


def test_a_slice_of_movielens_names_items_by_title(ml100k_path):
    """Titles, not ids, in the sentence and the heatmap columns (issue 19)."""
    from dashboard.server.datasets import Dataset
    items = ml100k_path.parent / "u.item"
    app = home()
    app.session_state["dataset"] = Dataset("ml-100k", str(ml100k_path), "-",
                                           load_ratings(ml100k_path, items=items))
    app = update_page(app)
    app.radio(key="ur_source").set_value(app.radio(key="ur_source").options[1]).run()
    app = button(app, "Next update").click().run()
    no_exception(app)
    assert "Star Wars (1977) (item 50)" in " ".join(m.value for m in app.markdown) or "(item " in summary(app)
    spec = json.loads(next(c for c in app.get("plotly_chart") if "ur_R" in c.proto.id).proto.spec)
    assert "Star Wars (1977)" in spec["data"][0]["x"]


def test_bpr_pairwise_step_beside_the_rating_step():
    app = update_page()
    assert any("Next BPR step" in plain(i.value) for i in app.info)
    expected = BPRStepper(load_ratings(TOY), n_factors=3, lr=0.05, reg=0.02, seed=0)
    for _ in range(2):
        app = button(app, "Next BPR step").click().run()
        record = expected.step()
    no_exception(app)
    assert not app.error
    lines = [latex.value.strip("$\n") for latex in app.latex]
    assert len(lines) == 12  # no rating step taken: only BPR's 4 + 3 gradients + 5 updates
    assert lines[2].endswith(f"= {record.x_uij:.4f}")
    assert f"z = 1 - \\sigma(\\hat x_{{uij}}) = {record.z:.4f}" in lines[3]
    assert lines[6].endswith(r"\end{bmatrix}") and f"{record.grad_qj[0]:.4f}" in lines[6]
    assert any(m.value.startswith("**2** BPR steps done") for m in app.markdown)
    app = button(app, "Reset BPR").click().run()
    assert any(m.value.startswith("**0** BPR steps done") for m in app.markdown)


def test_bprs_positives_are_trains_in_trains_words():
    """The slice of the loaded dataset keeps the file's scale; BPR's caption names its positives in
    the phrase Train's BPR form uses, and the stepper takes exactly those ratings."""
    from dashboard.render.texts import positives
    from mfcore.models.params import BPR_PARAMETERS

    app = update_page(upload(home(), "toy.csv", TOY))
    app.radio(key="ur_source").set_value(app.radio(key="ur_source").options[1]).run()
    no_exception(app)
    scale = app.session_state["dataset"].ratings.scale
    phrase = positives(scale, BPR_PARAMETERS["positive_level"].default)
    assert any(f"it learns from positives, {phrase}." in plain(c.value) for c in app.caption)
    assert any(f"positives: {phrase}" in plain(m.value) for m in app.markdown)
    assert app.session_state["update_rule_bpr"]["stepper"].threshold == 4.25  # 2 + 0.75 (5 - 2)
    train = app.switch_page("pages/1_Train.py").run()
    train.radio(key="train_kind").set_value("bpr").run()
    assert any(f"learns from positives, {phrase}" in plain(c.value) for c in train.caption)
