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


def test_help_imports_no_numpy_and_train_from_the_cache_no_pandas(tmp_path):
    """Start-up (issue 20): ``--help`` loads no NumPy either, and ``train`` on a file already in the
    binary cache loads neither pandas nor pyarrow (they are for parsing text, item titles and model
    files)."""
    env = {**__import__("os").environ, "MFCORE_CACHE_DIR": str(tmp_path)}
    probe = ("import runpy, sys\nsys.argv = ['mfcore', *sys.argv[1:]]\ntry:\n"
             "    runpy.run_module('mfcore', run_name='__main__')\nexcept SystemExit:\n    pass\n"
             "print('HEAVY', sorted(m for m in ('numpy', 'pandas', 'pyarrow') if m in sys.modules))")
    run = [sys.executable, "-c", probe]
    result = subprocess.run([*run, "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert "HEAVY []" in result.stdout, result.stdout + result.stderr
    train = ["train", "sample_data/toy.csv", "--epochs", "1", "--factors", "2"]
    subprocess.run([*run, *train], cwd=ROOT, capture_output=True, text=True, timeout=120, env=env, check=True)
    result = subprocess.run([*run, *train], cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)
    assert "HEAVY ['numpy']" in result.stdout, result.stdout + result.stderr


def test_the_first_python_block_runs_from_a_sparse_matrix():
    """The block `.ci/package` also runs against the installed wheel: a scipy sparse matrix in."""
    assert "scipy.sparse" in PYTHON_BLOCKS[0] and ".fit(R)" in PYTHON_BLOCKS[0]
    subprocess.run([sys.executable, "-c", PYTHON_BLOCKS[0]], cwd=ROOT, check=True, timeout=300)
