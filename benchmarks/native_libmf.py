"""Native LibMF, built here from its C++ sources, and the machine it runs on.

``build()`` fetches the ``libmf`` source distribution from PyPI (``pip download --no-binary :all:
--no-deps libmf==LIBMF_VERSION``), takes LibMF's own ``src_cpp/mf.cpp`` and ``mf.h`` from it and
compiles them with our driver ``benchmarks/libmf_driver.cpp`` using LibMF's Makefile flags for its AVX
and OpenMP build (:data:`LIBMF_FLAGS`: ``-Wall -O3 -pthread -std=c++0x -march=native`` plus ``-DUSEAVX
-mavx`` and ``-DUSEOMP -fopenmp``). The executable is cached under ``$MFCORE_CACHE_DIR`` (default
``~/.cache/mfcore``) in ``libmf-<hash>``, the hash covering the sources, the flags and the compiler's
version, so a second run builds nothing. ``build()`` returns None with the reason in
``build.reason`` when there is no C++ compiler or the sources cannot be had.

``write_problem`` writes ratings in the driver's binary format; ``run`` trains once in a fresh
process and returns the driver's JSON (training seconds with loading excluded, CPU seconds, test
RMSE with predictions clipped to the rating scale).

``cpu_info()`` reads /proc/cpuinfo: the CPU model, its widest vector unit from the flags
(AVX-512 when ``avx512f``, else AVX2 + FMA, AVX, SSE), floats per vector, and the clock: measured
with ``perf stat`` when the kernel exposes a cycles counter, else the nominal "cpu MHz".
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np

import results

LIBMF_VERSION = "0.9.2"
"""The PyPI ``libmf`` source distribution whose ``src_cpp/mf.cpp`` we build (LibMF 2.x's C++)."""
LIBMF_FLAGS = ("-Wall", "-O3", "-pthread", "-std=c++0x", "-march=native",  # LibMF's Makefile CXXFLAGS
               "-DUSEAVX", "-mavx",                                          # its "use AVX" lines
               "-DUSEOMP", "-fopenmp")                                       # its OpenMP lines
DRIVER = Path(__file__).with_name("libmf_driver.cpp")
NODE = np.dtype([("u", "<i4"), ("v", "<i4"), ("r", "<f4")])
"""LibMF's ``mf_node``: the record the driver reads."""


def cache_dir() -> Path:
    return Path(os.environ.get("MFCORE_CACHE_DIR") or Path.home() / ".cache" / "mfcore")


def _compiler() -> str | None:
    return os.environ.get("CXX") or shutil.which("g++") or shutil.which("c++") or shutil.which("clang++")


def _sources(folder: Path) -> Path | None:
    """The sdist's ``src_cpp`` folder, downloaded into ``folder`` once."""
    source = folder / f"libmf-{LIBMF_VERSION}" / "src_cpp"
    if (source / "mf.cpp").exists():
        return source
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as download:
        done = subprocess.run([sys.executable, "-m", "pip", "download", "--no-binary", ":all:", "--no-deps",
                               f"libmf=={LIBMF_VERSION}", "-d", download, "-q"],
                              capture_output=True, text=True, check=False)
        archives = list(Path(download).glob("libmf-*.tar.gz"))
        if done.returncode != 0 or not archives:
            build.reason = f"could not download the libmf {LIBMF_VERSION} sdist: {done.stderr.strip()[-300:]}"
            return None
        with tarfile.open(archives[0]) as archive:
            members = [m for m in archive.getmembers() if "/src_cpp/" in m.name and m.isfile()]
            archive.extractall(folder, members=members, filter="data")
    return source if (source / "mf.cpp").exists() else None


def build() -> Path | None:
    """The driver executable linked with native LibMF, built once and cached; None (and
    ``build.reason``) when it cannot be built here."""
    compiler = _compiler()
    if compiler is None:
        build.reason = "no C++ compiler (g++, c++ or clang++) on this machine"
        return None
    source = _sources(cache_dir() / "libmf-src")
    if source is None:
        return None
    version = subprocess.run([compiler, "--version"], capture_output=True, text=True, check=False).stdout
    digest = hashlib.sha256()
    for part in ((source / "mf.cpp").read_bytes(), (source / "mf.h").read_bytes(), DRIVER.read_bytes(),
                 " ".join(LIBMF_FLAGS).encode(), version.encode()):
        digest.update(part)
    folder = cache_dir() / f"libmf-{digest.hexdigest()[:16]}"
    executable = folder / "libmf_driver"
    if executable.exists():
        return executable
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / "libmf_driver.partial"
    done = subprocess.run([compiler, *LIBMF_FLAGS, "-I", str(source), "-o", str(partial), str(DRIVER),
                           str(source / "mf.cpp")], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        build.reason = f"the LibMF build failed: {done.stderr.strip()[-500:]}"
        return None
    partial.replace(executable)
    return executable


build.reason = ""


def write_problem(path: Path, users, items, values, n_users: int, n_items: int) -> None:
    """Ratings as the driver reads them: int64 (m, n, nnz), then nnz ``mf_node`` records."""
    nodes = np.empty(len(values), NODE)
    nodes["u"], nodes["v"], nodes["r"] = users, items, values
    with open(path, "wb") as out:
        out.write(np.asarray([n_users, n_items, len(values)], "<i8").tobytes())
        out.write(nodes.tobytes())


def run(executable: Path, train: Path, test: Path, *, k: int, iters: int, threads: int,
        scale: tuple[float, float], lam: float | None = None, eta: float | None = None,
        bins: int | None = None, trace: bool = False, trace_only: bool = False) -> dict:
    """One training in a fresh process; the driver's JSON, plus ``trace``: LibMF's per-iteration
    (iteration, va RMSE unclipped) when ``trace`` (``trace_only``: that traced training alone, nothing
    timed). ``lam``/``eta``/``bins`` None keep LibMF's defaults (``mf_get_default_param``: lambda 0.1,
    eta 0.1, 26 bins)."""
    command = [str(executable), str(train), str(test), "-k", str(k), "-t", str(iters), "-s", str(threads),
               "--clip", str(scale[0]), str(scale[1])]
    for flag, value in (("-l2", lam), ("-r", eta), ("-n", bins)):
        if value is not None:
            command += [flag, str(value)]
    if trace or trace_only:
        command.append("--trace-only" if trace_only else "--trace")
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"native LibMF failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    lines = done.stdout.strip().splitlines()
    result = json.loads(lines[-1])
    result["trace"] = [(int(fields[0]) + 1, float(fields[2])) for fields in map(str.split, lines[:-1])
                       if len(fields) >= 4 and fields[0].isdigit()]
    return result


# --- the machine -----------------------------------------------------------------------------------

cpu_info = results.cpu_info
"""This machine's CPU model, vector unit and nominal clock (:func:`results.cpu_info`)."""


def measured_ghz(seconds: float = 0.3) -> float | None:
    """The clock a busy loop runs at, from ``perf stat -e cycles`` (cycles / task-clock); None when
    perf or its hardware counter is not available (as in many VMs)."""
    if shutil.which("perf") is None:
        return None
    loop = f"import time\nend=time.perf_counter()+{seconds}\nwhile time.perf_counter()<end: pass"
    done = subprocess.run(["perf", "stat", "-x,", "-e", "cycles,task-clock", sys.executable, "-c", loop],
                          capture_output=True, text=True, check=False)
    values = {}
    for line in done.stderr.splitlines():
        parts = line.split(",")
        if len(parts) > 2:
            try:
                values[parts[2]] = float(parts[0])
            except ValueError:
                return None
    cycles, msec = values.get("cycles"), values.get("task-clock")
    return cycles / (msec * 1e6) if cycles and msec else None


def split_and_build(path: Path):
    """``(executable, train, test)``: native LibMF built here and the ratings at ``path`` split 90/10
    (seed 0, the split every peer benchmark uses); None, after one ``error:`` line on stderr, when the
    file is missing or LibMF cannot be built."""
    if not path.exists():
        print(f"error: {path} not found (set --data-dir or MF_SHARED_DATA)", file=sys.stderr)
        return None
    executable = build()
    if executable is None:
        print(f"error: native LibMF cannot be built here: {build.reason}", file=sys.stderr)
        return None
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from mfcore import load_ratings, random_split
    train, test = random_split(load_ratings(path), 0.1, seed=0)
    return executable, train, test
