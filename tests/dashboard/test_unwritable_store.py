"""A store that cannot be written (``MFP_STORE_DIR`` and ``MFCORE_DATA_DIR`` on a read-only or a full
disk) costs only keeping across reloads: Home loads a file, Train trains, Explore explores the run and
Tune searches, each page saying so in one sentence that names the setting. The disks are real where the
test may mount one (a tmpfs remounted read-only; a 64 KiB tmpfs filled up), else a directory without
write permission and a writer patched to fail with ENOSPC."""

import contextlib
import errno
import os
import subprocess

import pytest
from apptest_helpers import TOY, button, home, no_exception, plain, upload

from dashboard.server import store
from mfcore.tuning import storage as tuning_storage


def _mount(path, options: str) -> bool:
    path.mkdir()
    return os.geteuid() == 0 and subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)],
                                                capture_output=True).returncode == 0


@pytest.fixture(params=["read-only", "full"])
def bad_disk(request, tmp_path, monkeypatch):
    """A directory that cannot be written, and which kind of disk it is."""
    disk = tmp_path / "disk"
    mounted = _mount(disk, "size=64k")
    if request.param == "read-only":
        if mounted:
            subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        else:
            disk.chmod(0o555)
    elif mounted:  # fill it up
        with contextlib.suppress(OSError), open(disk / "filler", "wb") as filler:
            while True:
                filler.write(b"\0" * 4096)
                filler.flush()
    else:  # no tmpfs: every write of the store and of studies fails as on a full disk
        def full(*args, **kwargs):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        monkeypatch.setattr(store, "_write_atomic", full)
        monkeypatch.setattr(store, "_save_dataset", full)
        monkeypatch.setattr(store.os, "open", full)
        monkeypatch.setattr(tuning_storage, "open_storage", full)
    monkeypatch.setattr(store, "ROOT", disk / "store")
    monkeypatch.setattr(store, "_state", {"failure": "", "probed_at": -float("inf"), "probe": ""})
    monkeypatch.setenv("MFCORE_DATA_DIR", str(disk / "data"))
    yield request.param
    if mounted:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def warnings_of(app) -> list[str]:
    return [w.value for w in app.warning]


def test_every_page_works_in_memory_and_says_so_once(bad_disk):
    app = upload(home(), "toy.csv", TOY)  # Home
    no_exception(app)
    assert not app.error, [e.value for e in app.error]
    assert any("Dataset in use: toy.csv" in plain(s.value) for s in app.subheader)
    said = [w for w in warnings_of(app) if "MFP" in w]
    assert len(said) == 1 and "cannot be written" in said[0] and "in memory only" in said[0]

    app.switch_page("pages/1_Train.py").run()  # Train
    app.slider(key="train_n_epochs").set_value(5)
    button(app, "Train").click().run()
    no_exception(app)
    assert not app.error, [e.value for e in app.error]
    row = app.table[0].value.iloc[0]
    assert row["status"] == "done" and row["epochs"] == "5/5"
    assert len([w for w in warnings_of(app) if "MFP" in w]) == 1

    app.switch_page("pages/6_Explore.py").run()  # Explore: the run trained above
    no_exception(app)
    assert not app.error, [e.value for e in app.error]
    assert app.radio(key="explore_source").value == "run 1" and len(app.table) >= 2
    assert len([w for w in warnings_of(app) if "MFP" in w]) == 1

    app.default_timeout = 120
    app.switch_page("pages/5_Tune.py").run()  # Tune: the study in memory
    app.number_input(key="tune_n_epochs_high").set_value(20)
    app.number_input(key="tune_budget").set_value(6)
    app.button(key="FormSubmitter:tune_form-Start search").click().run()
    no_exception(app)
    assert not app.error, [e.value for e in app.error]
    assert any("Search **finished**: 6 trials" in plain(m.value) for m in app.markdown)
    assert any(m.value.startswith("Best trial") for m in app.markdown)
    memory = [w for w in warnings_of(app) if "MFCORE_DATA_DIR" in w]
    assert len(memory) == 1 and "kept in memory only" in memory[0]
