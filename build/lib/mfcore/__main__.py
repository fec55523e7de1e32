"""``python -m mfcore``: the command line (:mod:`mfcore.cli`)."""

import sys

from mfcore.cli import main

if __name__ == "__main__":
    sys.exit(main())
