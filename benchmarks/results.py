"""Benchmark results files, and the Markdown tables rendered from them.

Every benchmark that publishes numbers writes one JSON file, ``benchmarks/results/NAME.json``::

    {"benchmark": NAME, "command": "python benchmarks/NAME.py ...", "commit": "<git sha>",
     "dirty": false, "date": "2026-12-07T04:30:00+00:00",
     "cpu": {"model": ..., "vector_unit": ..., "lanes": ..., "mhz": ..., "cores": ...},
     "versions": {"python": ..., "numpy": ..., "mfcore": ..., "implicit": ...},
     "tables": [{"title": ..., "columns": [...], "rows": [[...], ...], "notes": "..."}],
     "data": {...}}

``tables`` are what a reader sees: cells are already formatted strings. ``data`` keeps the raw numbers
(every round, every seed) for whoever wants to recompute them. ``docs/benchmarks.md`` holds, between
``<!-- results:NAME -->`` and ``<!-- /results:NAME -->``, the tables of ``NAME.json`` as
:func:`render` writes them, with the commit, date, CPU and versions above them; ``python
benchmarks/render_tables.py`` rewrites those blocks, and ``tests/test_benchmark_tables.py`` fails when
a block and its results file disagree. So no peer's figure is ever typed by hand.
"""

from __future__ import annotations

import contextlib
import datetime
import importlib.metadata
import os
import platform
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
DOC = ROOT / "docs" / "benchmarks.md"
VECTOR_UNITS = (("avx512f", "AVX-512", 16), ("avx2", "AVX2", 8), ("avx", "AVX", 8), ("sse2", "SSE2", 4),
                ("asimd", "NEON", 4))
"""(cpuinfo flag, name, float32 lanes), widest first."""


def cpu_info() -> dict[str, Any]:
    """``model``, ``vector_unit``, ``lanes`` (float32 per vector), ``mhz`` (nominal), ``cores``, read
    from this machine's /proc/cpuinfo; "unknown"/None where there is none."""
    info: dict[str, Any] = {"model": platform.processor() or "unknown", "vector_unit": "unknown", "lanes": 4,
                            "mhz": None, "cores": os.cpu_count()}
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return info
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    flags = set(fields.get("flags", fields.get("Features", "")).split())
    info["model"] = fields.get("model name", info["model"])
    for flag, name, lanes in VECTOR_UNITS:
        if flag in flags:
            info["vector_unit"], info["lanes"] = name, lanes
            break
    with contextlib.suppress(ValueError):
        info["mhz"] = float(fields.get("cpu MHz", ""))
    return info


def versions(*packages: str) -> dict[str, str]:
    """Python's version and each installed package's ("absent" for one that is not installed)."""
    found = {"python": platform.python_version()}
    for name in ("numpy", "numba", "scipy", "mfcore", *packages):
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = "absent"
    return found


def git_commit() -> tuple[str, bool]:
    """The checkout's commit and whether its tracked files differ from it, docs and results files aside
    (writing them cannot change a measurement) ("unknown" outside git)."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout

    try:
        changed = git("status", "--porcelain", "--untracked-files=no", "--", ".", ":!docs", ":!benchmarks/results")
        return git("rev-parse", "HEAD").strip(), bool(changed.strip())
    except (OSError, subprocess.CalledProcessError):
        return "unknown", False


def table(title: str, columns: list[str], rows: list[list[Any]], notes: str = "") -> dict[str, Any]:
    """One table of a results file; cells become strings as they are given (format them first)."""
    return {"title": title, "columns": list(columns), "rows": [[str(cell) for cell in row] for row in rows],
            "notes": notes}


def write(name: str, tables: list[dict[str, Any]], data: dict[str, Any], packages: tuple[str, ...] = (),
          argv: list[str] | None = None, folder: Path = RESULTS) -> Path:
    """Write ``folder/NAME.json`` with the command that made it (``argv``, default ``sys.argv``), the
    commit, the date, this machine's CPU and the versions of Python, NumPy, Numba, SciPy, mfcore and
    ``packages``; returns its path."""
    import json

    commit, dirty = git_commit()
    argv = sys.argv if argv is None else argv
    script = Path(argv[0]).resolve()
    shown = script.relative_to(ROOT) if script.is_relative_to(ROOT) else Path(argv[0])
    record = {"benchmark": name, "command": " ".join(["python", str(shown), *argv[1:]]), "commit": commit,
              "dirty": dirty, "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
              "cpu": cpu_info(), "versions": versions(*packages), "tables": tables, "data": data}
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    path.write_text(json.dumps(record, indent=1, default=_plain) + "\n")
    return path


def _plain(value: Any) -> Any:
    """NumPy scalars and arrays as plain JSON values; anything else as its text."""
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


def escape_cell(text: str) -> str:
    """A cell safe inside a Markdown table: pipes escaped, line breaks folded."""
    return text.replace("|", "\\|").replace("\n", " ")


def render(record: dict[str, Any]) -> str:
    """The Markdown block for one results file: where and when it was measured, then its tables."""
    cpu = record["cpu"]
    packages = ", ".join(f"{name} {version}" for name, version in record["versions"].items())
    lines = [f"Measured by `{record['command']}` at commit `{record['commit'][:12]}`"
             f"{' (with uncommitted changes)' if record.get('dirty') else ''} on {record['date'][:10]}, "
             f"on {cpu['model']} ({cpu['vector_unit']}, {cpu['cores']} cores). Versions: {packages}.", ""]
    for block in record["tables"]:
        lines += [f"**{block['title']}**", "",
                  "| " + " | ".join(escape_cell(c) for c in block["columns"]) + " |",
                  "|" + "---|" * len(block["columns"])]
        lines += ["| " + " | ".join(escape_cell(c) for c in row) + " |" for row in block["rows"]]
        if block.get("notes"):
            lines += ["", block["notes"]]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def block_pattern(name: str) -> re.Pattern[str]:
    """The marked block of ``docs/benchmarks.md`` that holds NAME's tables."""
    return re.compile(rf"(<!-- results:{re.escape(name)} -->\n)(.*?)(<!-- /results:{re.escape(name)} -->)",
                      re.DOTALL)


def load_all(folder: Path = RESULTS) -> dict[str, dict[str, Any]]:
    """Every results file of ``folder``, by benchmark name."""
    import json

    return {path.stem: json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))}


def rendered_doc(doc: str, records: dict[str, dict[str, Any]]) -> str:
    """``doc`` with each marked block replaced by its results file's rendering (blocks without a
    results file are left as they are)."""
    for name, record in records.items():
        doc = block_pattern(name).sub(lambda match, r=record: match[1] + "\n" + render(r) + "\n" + match[3], doc)
    return doc
