"""Feed bombs to one entry point in a fresh process and report time and peak-memory growth as JSON.

``python tests/data/bomb_probe.py MODE FILE...`` with MODE one of ``load`` (``load_ratings``), ``train``
(the CLI's ``main(["train", FILE])``), ``home`` (an AppTest of Home uploading each file), ``model``
(``SGDFactorizer.load``), ``recommend`` (the CLI's ``recommend``) or ``explore`` (an AppTest of Explore
uploading each file). Prints one JSON object: ``files`` (per file: ``seconds``, ``message`` (the error
text), ``status``, ``exception``) and ``extra_mb``, the growth of the process's peak RSS
(``ru_maxrss``) from just before the first file to just after the last, which bounds the extra memory
any single file took. Run in a subprocess so the test process's own allocations do not count.
"""

from __future__ import annotations

import contextlib
import io
import json
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def library(mode: str):
    from mfcore import DataError, SGDFactorizer, load_ratings
    from mfcore.models.model_file import ModelFileError

    def run(path: Path) -> dict:
        try:
            (load_ratings if mode == "load" else SGDFactorizer.load)(path)
        except (DataError, ModelFileError) as exc:
            return {"message": str(exc), "status": 2}
        return {"message": "", "status": 0}
    return run


def cli(mode: str):
    from mfcore.cli import main

    def run(path: Path) -> dict:
        err = io.StringIO()
        argv = ["train", str(path), "--epochs", "1"] if mode == "train" else ["recommend", str(path), "--user", "1"]
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            status = main(argv)
        return {"message": err.getvalue(), "status": status}
    return run


def page(mode: str):
    from apptest_helpers import TOY, home, upload
    from streamlit.testing.v1 import AppTest

    if mode == "home":
        app = upload(home(), "toy.csv", TOY)
    else:
        app = AppTest.from_file(str(ROOT / "pages" / "6_Explore.py"), default_timeout=60).run()
        app.radio(key="explore_source").set_value("Upload a model file").run()

    def run(path: Path) -> dict:
        nonlocal app
        start = time.perf_counter()
        if mode == "home":
            app = upload(app, path.name, path.read_bytes())
        else:
            app.get("file_uploader")[0].set_value((path.name, path.read_bytes(), "application/octet-stream"))
            app = app.run()
        errors, seconds = [element.value for element in app.error], time.perf_counter() - start
        app = app.run()  # a rerun with the same upload: still one error, no exception
        return {"message": errors[0] if len(errors) == 1 else errors, "status": 2 if errors else 0,
                "errors_on_rerun": len(app.error), "seconds": seconds,
                "exception": [element.value for element in app.exception]}
    return run


def main() -> None:
    mode, paths = sys.argv[1], [Path(p) for p in sys.argv[2:]]
    run = {"load": library, "model": library, "train": cli, "recommend": cli, "home": page,
           "explore": page}[mode](mode)
    run(paths[0])  # warm up: imports, JIT and the first page run are not the bombs' cost
    start_peak, files = peak_mb(), {}
    for path in paths:
        before, start = peak_mb(), time.perf_counter()
        result = run(path)
        files[path.name] = {"seconds": time.perf_counter() - start, **result,  # a page times its upload run only
                            "peak_growth_mb": peak_mb() - before}
    print(json.dumps({"files": files, "extra_mb": peak_mb() - start_peak}))


if __name__ == "__main__":
    main()
