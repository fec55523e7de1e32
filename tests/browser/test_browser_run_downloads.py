"""Issue 19's must-show in a real browser: after three runs, run 1's model file is run 1's (the runs
table's "Files of run" picker, "Retrain run 1 for its downloads" when its model is not held)."""

from conftest import no_exception, wait_idle, wait_rows

from mfcore.models.persist import load_bundle


def _train(page, lr: float, number: int) -> None:
    page.get_by_role("spinbutton", name="Learning rate γ").fill(str(lr))
    page.get_by_role("button", name="Train", exact=True).click()
    page.get_by_text(f"run {number}: epoch 5/5").wait_for(timeout=60_000)
    wait_rows(page, number)
    wait_idle(page)


def test_run_1_model_downloads_after_three_runs(streamlit_server, browser_page):
    page = browser_page
    page.goto(f"{streamlit_server}/Train?n_epochs=5&n_factors=8&engine=numba")
    page.get_by_text("Dataset: bundled sample").wait_for()
    for number, lr in enumerate((0.01, 0.02, 0.03), 1):
        _train(page, lr, number)
    no_exception(page)

    picker = page.get_by_role("combobox", name="Files of run")
    picker.click()
    picker.fill("run 1")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.querySelector('input[aria-label=\"Files of run\"]').value == 'run 1'")
    model_button = page.get_by_role("button", name="Model of run 1 (.npz, opens on Explore)")
    retrain = page.get_by_role("button", name="Retrain run 1 for its downloads")
    model_button.or_(retrain).first.wait_for(timeout=60_000)
    if retrain.count():  # only the newest run and the last one retrained keep their models
        retrain.click()
    model_button.wait_for(timeout=60_000)
    with page.expect_download() as download:
        model_button.click()
    bundle = load_bundle(download.value.path())
    assert bundle.model.lr == 0.01 and len(bundle.model.history_) == 5
    no_exception(page)
