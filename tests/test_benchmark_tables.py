"""docs/benchmarks.md's tables are exactly what benchmarks/render_tables.py renders from the committed
results files, so no number there is typed by hand."""

from __future__ import annotations

import json
import sys

import pytest
from paths import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
import results  # noqa: E402


def test_every_results_file_has_its_block_and_the_block_matches():
    doc = results.DOC.read_text()
    records = results.load_all()
    for name, record in records.items():
        match = results.block_pattern(name).search(doc)
        assert match, f"docs/benchmarks.md has no block for benchmarks/results/{name}.json"
        assert match[2] == "\n" + results.render(record) + "\n", (
            f"the {name} block differs from its results file: run python benchmarks/render_tables.py")


def test_a_changed_number_is_caught(tmp_path):
    record = {"benchmark": "demo", "command": "python benchmarks/demo.py", "commit": "0" * 40, "dirty": False,
              "date": "2026-12-07T00:00:00+00:00",
              "cpu": {"model": "CPU", "vector_unit": "AVX2", "lanes": 8, "mhz": None, "cores": 2},
              "versions": {"python": "3.11"}, "data": {},
              "tables": [results.table("t", ["library", "NDCG@10"], [["a | b", "0.3800"]])]}
    (tmp_path / "demo.json").write_text(json.dumps(record))
    doc = "# x\n<!-- results:demo -->\nold\n<!-- /results:demo -->\n"
    fresh = results.rendered_doc(doc, results.load_all(tmp_path))
    assert "| a \\| b | 0.3800 |" in fresh and "on CPU (AVX2, 2 cores)" in fresh
    record["tables"][0]["rows"][0][1] = "0.3900"
    assert results.rendered_doc(fresh, {"demo": record}) != fresh


@pytest.mark.parametrize("name", sorted(results.load_all()))
def test_results_files_name_commit_versions_and_cpu(name):
    record = results.load_all()[name]
    assert len(record["commit"]) == 40 and record["cpu"]["model"] and record["versions"]["python"]
