"""dashboard/ has no import cycle (tests/import_graph.py reads the source; tests/test_architecture.py
checks mfcore the same way); the check is shown to fail on a cycle put into a copy of the package on
purpose, and ``Run`` lives in a module that reaches no Streamlit import."""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

from import_graph import cycles, module_graph, reachable

ROOT = Path(__file__).resolve().parents[2]


def imports_streamlit(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = ([alias.name for alias in node.names] if isinstance(node, ast.Import) else
                 [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
        if any(name == "streamlit" or name.startswith("streamlit.") for name in names):
            return True
    return False


def test_dashboard_has_no_import_cycle():
    graph = module_graph(ROOT, "dashboard")
    assert {"dashboard.server.run_record", "dashboard.logic.session_runs", "dashboard.server.saved_runs",
            "dashboard.logic.run_driver"} <= set(graph)
    assert cycles(graph) == []


def test_the_check_finds_a_cycle_put_in_on_purpose(tmp_path):
    shutil.copytree(ROOT / "dashboard", tmp_path / "dashboard")
    assert cycles(module_graph(tmp_path, "dashboard")) == []
    # saved runs reaching the run driver for a refit, the driver reaching the session's runs
    for name, line in (("server/saved_runs", "from ..logic import run_driver"),
                       ("logic/run_driver", "from .session_runs import all_runs")):
        path = tmp_path / "dashboard" / f"{name}.py"
        path.write_text(path.read_text(encoding="utf-8") + f"\n\ndef _late():\n    {line}\n", encoding="utf-8")
    assert cycles(module_graph(tmp_path, "dashboard")) == [
        ["dashboard.logic.run_driver", "dashboard.logic.session_runs", "dashboard.server.saved_runs"]]


def test_the_check_reads_absolute_and_relative_imports(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from pkg import b\n")
    (package / "b.py").write_text("from .c import thing\n")
    (package / "c.py").write_text("import pkg.a\nthing = 1\n")
    (package / "d.py").write_text("from . import a\n")
    assert cycles(module_graph(tmp_path, "pkg")) == [["pkg.a", "pkg.b", "pkg.c"]]


def test_run_reaches_no_streamlit_import():
    graph = module_graph(ROOT, "dashboard")
    reached = reachable(graph, "dashboard.server.run_record")
    assert reached == {"dashboard.server.run_record", "dashboard.server.store", "dashboard.server.lease",
                       "dashboard.server.pg_store"}  # dashboard/__init__ imports nothing
    for module in reached | {"dashboard"}:
        path = ROOT / Path(*module.split("."))
        path = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
        assert not imports_streamlit(path), module
