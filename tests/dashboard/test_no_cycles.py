"""dashboard/ has no import cycle, read from the source with ``ast`` (nothing is imported): every
``import`` counts, also one inside a function (a lazy import hides a cycle, it does not break it).
The check is shown to fail on a cycle put into a copy of the package on purpose, and ``Run`` lives in
a module that reaches no Streamlit import."""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def module_graph(root: Path, package: str) -> dict[str, set[str]]:
    """``{module: modules of the package it imports}``, module names dotted from ``root``."""
    paths = {}
    for path in sorted((root / package).rglob("*.py")):
        name = ".".join(path.relative_to(root).with_suffix("").parts)
        paths[name.removesuffix(".__init__")] = path

    def resolve(name: str) -> str | None:  # the longest known module prefix of an imported name
        while name and name not in paths:
            name = name.rpartition(".")[0]
        return name or None

    graph = {}
    for module, path in paths.items():
        package_of = module if path.name == "__init__.py" else module.rpartition(".")[0]
        imported = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package_of.split(".")[:len(package_of.split(".")) - node.level + 1]
                    base = ".".join(parts + ([base] if base else []))
                names = [base] + [f"{base}.{alias.name}" for alias in node.names]
            else:
                continue
            for name in names:
                found = resolve(name)
                if found and found != module and not module.startswith(found + "."):  # own package: no cycle
                    imported.add(found)
        graph[module] = imported
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for other in graph.get(module, ()):
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in on_stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            component = []
            while True:
                other = stack.pop()
                on_stack.discard(other)
                component.append(other)
                if other == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in graph:
        if module not in index:
            visit(module)
    return found


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo.extend(graph.get(module, ()))
    return seen


def imports_streamlit(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = ([alias.name for alias in node.names] if isinstance(node, ast.Import) else
                 [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
        if any(name == "streamlit" or name.startswith("streamlit.") for name in names):
            return True
    return False


def test_dashboard_has_no_import_cycle():
    graph = module_graph(ROOT, "dashboard")
    assert {"dashboard.run", "dashboard.runs", "dashboard.run_store", "dashboard.training"} <= set(graph)
    assert cycles(graph) == []


def test_the_check_finds_a_cycle_put_in_on_purpose(tmp_path):
    shutil.copytree(ROOT / "dashboard", tmp_path / "dashboard")
    assert cycles(module_graph(tmp_path, "dashboard")) == []
    # the old shape: refit in run_store reaching the run driver, the driver reaching the session's runs
    for name, line in (("run_store", "from . import training"), ("training", "from .runs import all_runs")):
        path = tmp_path / "dashboard" / f"{name}.py"
        path.write_text(path.read_text(encoding="utf-8") + f"\n\ndef _late():\n    {line}\n", encoding="utf-8")
    assert cycles(module_graph(tmp_path, "dashboard")) == [
        ["dashboard.run_store", "dashboard.runs", "dashboard.training"]]


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
    reached = reachable(graph, "dashboard.run")
    assert reached == {"dashboard.run", "dashboard.store"}  # and dashboard/__init__ imports nothing
    for module in reached | {"dashboard"}:
        path = ROOT / Path(*module.split("."))
        path = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
        assert not imports_streamlit(path), module
