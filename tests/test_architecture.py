"""The architecture holds: mfcore's layers (import-linter's contracts in pyproject.toml), no import
cycle in mfcore or dashboard, no module grown past what one reader takes in, and proof that the
checks can fail."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from import_graph import cycles, module_graph
from paths import ROOT

MAX_MODULE_LINES = 450
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def import_cycles(package: str, root: Path = ROOT) -> list[list[str]]:
    """The cycles of modules in ``package``'s import graph under ``root``."""
    return cycles(module_graph(root, package))


def _lint_imports(cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=cwd, capture_output=True, text=True,
                          timeout=120, env={"PYTHONPATH": str(cwd), "PATH": "/usr/bin:/bin", "COLUMNS": "1000"})


def test_the_layers_contract_is_kept():
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize("package", ["mfcore", "dashboard"])
def test_no_import_cycle(package):
    assert import_cycles(package) == []


def test_no_module_is_over_the_size_limit():
    sources = [*ROOT.glob("mfcore/**/*.py"), *ROOT.glob("dashboard/**/*.py"), *ROOT.glob("pages/*.py"),
               ROOT / "Home.py"]
    sizes = {str(path.relative_to(ROOT)): len(path.read_text().splitlines()) for path in sources}
    assert {name: lines for name, lines in sizes.items() if lines > MAX_MODULE_LINES} == {}


@pytest.fixture
def tree_copy(tmp_path):
    """A copy of the packages and the contracts, to break on purpose."""
    for package in ("mfcore", "dashboard"):
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    return tmp_path


def test_the_checks_fail_on_an_upward_import_and_a_cycle(tree_copy):
    data_module = tree_copy / "mfcore" / "data" / "errors.py"  # the bottom layer imports the CLI on top
    data_module.write_text(data_module.read_text() + "\nfrom mfcore.cli import common  # noqa: E402\n")
    result = _lint_imports(tree_copy)
    assert result.returncode != 0 and "mfcore.data.errors -> mfcore.cli" in result.stdout
    common = tree_copy / "mfcore" / "cli" / "common.py"  # and the CLI imports the data layer back
    common.write_text(common.read_text() + "\nimport mfcore.data.errors  # noqa: E402\n")
    assert any({"mfcore.data.errors", "mfcore.cli.common"} <= set(cycle)
               for cycle in import_cycles("mfcore", tree_copy))


def test_mfcore_never_imports_streamlit_and_a_violation_is_caught(tree_copy):
    engine = tree_copy / "mfcore" / "engines" / "order.py"
    engine.write_text(engine.read_text() + "\nimport streamlit  # noqa: E402\n")
    result = _lint_imports(tree_copy)
    assert result.returncode != 0 and "mfcore.engines.order -> streamlit" in result.stdout


def test_the_architecture_doc_names_every_module():
    """docs/architecture.md section 1 names each module of mfcore and dashboard (by its path, or by
    its file name in a row that names its folder), so a newcomer finds where any feature lives."""
    doc = (ROOT / "docs" / "architecture.md").read_text()
    rows = [line for line in doc.splitlines() if line.startswith("| `")]
    unnamed = []
    for path in sorted([*ROOT.glob("mfcore/**/*.py"), *ROOT.glob("dashboard/**/*.py")]):
        relative = path.relative_to(ROOT).as_posix()
        folder = path.parent.relative_to(ROOT).as_posix()
        if path.name == "__init__.py" and folder == "dashboard":
            continue  # the dashboard package's __init__ is empty
        if not any(f"`{relative}`" in row or (f"`{folder}/" in row and f"`{path.name}`" in row) for row in rows):
            unnamed.append(relative)
    assert unnamed == []
