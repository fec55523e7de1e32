"""AppTest: the Train page's early-stopping checkbox stops at the patience and keeps the best epoch."""

import json

from apptest_helpers import button, home, no_exception


def test_early_stopping_keeps_the_best_epoch_and_says_so():
    app = home().switch_page("pages/1_Train.py").run()
    app.slider(key="train_n_epochs").set_value(200)
    app.number_input(key="train_lr").set_value(0.05)
    app.number_input(key="train_reg").set_value(0.0)
    app.checkbox(key="train_early_stopping").check()
    button(app, "Train").click().run()
    no_exception(app)
    message = app.info[0].value
    assert message.startswith("Early stopping: run 1 ran ") and " of 200 epochs and kept epoch " in message
    ran = int(message.split(" ran ")[1].split(" of ")[0])
    kept = int(message.split("kept epoch ")[1].split(",")[0])
    assert kept + 3 == ran < 200
    spec = json.loads(app.get("plotly_chart")[0].proto.spec)
    validation = next(trace for trace in spec["data"] if trace["name"] == "run 1 validation")
    assert len(validation["y"]) == ran and min(validation["y"]) == validation["y"][kept - 1]
    assert f"{validation['y'][kept - 1]:.4f}" in message
    assert any(shape.get("x0") == kept for shape in spec["layout"]["shapes"])
