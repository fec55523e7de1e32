"""Rewrite the results blocks of ``docs/benchmarks.md`` from ``benchmarks/results/*.json``.

    python benchmarks/render_tables.py [--check]

With ``--check`` nothing is written: it exits 1 and names the blocks that differ from their results
files (``tests/test_benchmark_tables.py`` runs the same comparison).
"""

from __future__ import annotations

import argparse
import sys

import results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 when a block differs")
    args = parser.parse_args(argv)
    doc = results.DOC.read_text()
    records = results.load_all()
    missing = [name for name in records if not results.block_pattern(name).search(doc)]
    if missing:
        print(f"error: docs/benchmarks.md has no block for {', '.join(missing)}", file=sys.stderr)
        return 2
    fresh = results.rendered_doc(doc, records)
    if args.check:
        if fresh != doc:
            print("docs/benchmarks.md differs from its results files; run python benchmarks/render_tables.py")
            return 1
        return 0
    results.DOC.write_text(fresh)
    print(f"rendered {len(records)} results files into {results.DOC.relative_to(results.ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
