"""Where the tests find the project and its data, whatever folder a test module sits in."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DATA = ROOT / "sample_data"
TOY_CSV = SAMPLE_DATA / "toy.csv"
CORPUS = ROOT / "tests" / "data" / "corpus"  # malformed and odd files every loader path must handle
SHARED_DATA = Path(os.environ.get("MF_SHARED_DATA", ROOT.parent / "shared" / "data"))
"""MovieLens, beside the checkout, never in it (``MF_SHARED_DATA`` names another folder, e.g. for a
worktree that is not beside it)."""
