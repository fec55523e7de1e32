"""The README's code samples keep working: every ``from mfcore... import`` line of its Python blocks
imports, and ``python -m mfcore --help`` starts without pandas or Numba."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from paths import ROOT

README = (ROOT / "README.md").read_text()
PYTHON_BLOCKS = re.findall(r"```python\n(.*?)```", README, re.S)
IMPORT_LINES = [line.strip() for block in PYTHON_BLOCKS for line in block.splitlines()
                if re.match(r"\s*(from mfcore[\w.]* import|import mfcore)", line)]


def test_the_readme_has_import_lines():
    assert len(IMPORT_LINES) >= 3


@pytest.mark.parametrize("line", IMPORT_LINES)
def test_every_readme_import_works(line):
    statement = line.split("#")[0].strip()
    subprocess.run([sys.executable, "-c", statement], cwd=ROOT, check=True, timeout=120)


def test_help_imports_neither_pandas_nor_numba():
    probe = ("import runpy, sys\nsys.argv = ['mfcore', '--help']\ntry:\n"
             "    runpy.run_module('mfcore', run_name='__main__')\nexcept SystemExit:\n    pass\n"
             "heavy = sorted(m for m in ('pandas', 'numba', 'optuna', 'pyarrow') if m in sys.modules)\n"
             "print('HEAVY', heavy)")
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert "HEAVY []" in result.stdout, result.stdout + result.stderr
