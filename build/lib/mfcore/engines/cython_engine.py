"""The Cython engine: the per-rating kernel written in Cython, compiled to C on first use.

Same equations and visiting order as ``numba`` (the textbook reshuffle every epoch), so it answers
"would Cython have been faster than Numba?" with the same loop. It needs Cython and a C compiler
at run time; where either is missing the engine is listed as unavailable with the reason
(:func:`unavailable_reason`) and nothing else changes, so the app never needs a compiler.

The extension is built once per source, Cython version and machine into a user cache folder
(``$MFCORE_CACHE_DIR``, else ``$XDG_CACHE_HOME/mfcore``, else ``~/.cache/mfcore``), never into the
source tree: ``cython`` turns ``cython_kernel.pyx`` into C, then the C compiler Python was built with
compiles it with ``-O3 -march=native -ffast-math`` (the counterpart of Numba's ``fastmath`` and host
CPU target).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import platform
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import threading
from pathlib import Path

from ..data.cache import cache_dir

SOURCE = Path(__file__).with_name("cython_kernel.pyx")
C_FLAGS = ("-O3", "-march=native", "-ffast-math", "-shared", "-fPIC")
_lock = threading.Lock()
_module = None


def _compiler() -> str | None:
    configured = (sysconfig.get_config_var("CC") or "cc").split()[0]
    return shutil.which(configured) or shutil.which("cc") or shutil.which("gcc")


def _cython_version() -> str | None:
    spec = importlib.util.find_spec("Cython")
    if spec is None:
        return None
    from Cython import __version__
    return __version__


def _module_path() -> Path:
    key = hashlib.sha256(SOURCE.read_bytes() + " ".join(
        [str(_cython_version()), platform.machine(), _cpu_flags(), sys.version, *C_FLAGS]).encode())
    return cache_dir() / f"mfcore_cython_{key.hexdigest()[:16]}{sysconfig.get_config_var('EXT_SUFFIX')}"


def _cpu_flags() -> str:
    try:
        with open("/proc/cpuinfo") as info:
            return next((line for line in info if line.startswith("flags")), "")
    except OSError:
        return ""


def unavailable_reason() -> str | None:
    """None when the engine can run (already compiled, or Cython and a C compiler are here), else
    a sentence saying what is missing."""
    if _module is not None or _module_path().exists():
        return None
    if _cython_version() is None:
        return "Cython is not installed (pip install -r requirements.txt)."
    if _compiler() is None:
        return "no C compiler was found to build the Cython kernel (install gcc or clang)."
    if not Path(sysconfig.get_paths()["include"], "Python.h").exists():
        return "the Python headers (Python.h) are missing, so the Cython kernel cannot be built."
    return None


def build() -> Path:
    """Compile the extension into the cache folder unless it is there; returns its path."""
    target = _module_path()
    if target.exists():
        return target
    reason = unavailable_reason()
    if reason:
        raise RuntimeError(f"the cython engine is unavailable: {reason}")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as work:
        c_file = Path(work) / (target.name.split(".")[0] + ".c")
        shutil.copy(SOURCE, c_file.with_suffix(".pyx"))
        _run([sys.executable, "-m", "cython", "-3", "--module-name", c_file.stem,
              str(c_file.with_suffix(".pyx")), "-o", str(c_file)])
        built = Path(work) / target.name
        _run([_compiler(), *C_FLAGS, f"-I{sysconfig.get_paths()['include']}", str(c_file), "-o", str(built)])
        os.replace(built, target)  # atomic: a concurrent build never sees half a file
    return target


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"building the cython kernel failed: {' '.join(command[:3])} ...\n{done.stderr[-2000:]}")


def compiled_module():
    """The compiled kernel module, built and loaded on first use (once per process)."""
    global _module
    with _lock:
        if _module is None:
            path = build()
            spec = importlib.util.spec_from_file_location(path.name.split(".")[0], path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            _module = module
    return _module


def run_epoch(users, items, ratings, mu, bu, bi, P, Q, lr, reg, biased):
    r"""Per-rating SGD in compiled Cython, same equations and order as
    :func:`mfcore.engines.python.run_epoch`:
    :math:`e = r - (\mu + b_u + b_i + p_u^\top q_i)`, biases :math:`b \mathrel{+}= \gamma (e - \lambda b)`,
    factors :math:`p_u \leftarrow (1 - \gamma\lambda) p_u + \gamma e\, q_i` and likewise :math:`q_i`
    (old :math:`p_u` on the right). Returns the squared-error sum."""
    return compiled_module().run_epoch(users, items, ratings, mu, bu, bi, P, Q, lr, reg, bool(biased))


if __name__ == "__main__":
    print(build())
