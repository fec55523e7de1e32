"""The memory cap every guard of mfcore is checked against, computed once here at the bottom layer so
that the loader (:mod:`.archive`), the model files (:mod:`mfcore.models.model_file`) and the training
guards (:mod:`mfcore.evaluation.resources`, which re-exports these names) share one rule.

The cap is ``MF_MEMORY_CAP_BYTES`` if set, else :data:`CAP_FRACTION` of the machine's physical memory:
a shared server holds several sessions' datasets and jobs at once. The CLI, one user's process, allows
:data:`CLI_CAP_FRACTION` of it.
"""

from __future__ import annotations

import os

CAP_FRACTION = 1 / 32
"""Default cap of one job or one upload: 1/32 of physical memory (768 MiB on a 24 GiB machine), so a
classroom of thirty sessions, each with a dataset and a job, fits together."""
CLI_CAP_FRACTION = 3 / 4
"""Default cap of a command-line training: one user owns the process, so 3/4 of physical memory (18 GiB
on a 24 GiB machine; Netflix-size data, 100M ratings at K=100, needs about 5 GB)."""


def physical_memory_bytes() -> int:
    """The machine's physical memory (Linux ``sysconf``), or 8 GiB when it cannot be read."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not Linux
        return 8 << 30


def memory_cap_bytes(fraction: float = CAP_FRACTION) -> int:
    """The cap: ``MF_MEMORY_CAP_BYTES`` when set, else ``fraction`` of physical memory (default
    :data:`CAP_FRACTION`, the shared server's; the CLI and library calls pass :data:`CLI_CAP_FRACTION`)."""
    configured = os.environ.get("MF_MEMORY_CAP_BYTES")
    if configured:
        return int(float(configured))
    return int(physical_memory_bytes() * fraction)
