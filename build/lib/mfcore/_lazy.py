"""Lazy re-exports for mfcore's package ``__init__`` files (PEP 562).

A package lists where each public name lives; the name's module is imported on first use, so
``python -m mfcore --help`` and ``import mfcore.models.params`` do not pay for pandas, Numba or Optuna.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable


def lazy_exports(package: str, table: dict[str, str]) -> tuple[Callable, Callable, list[str]]:
    """``(__getattr__, __dir__, __all__)`` for ``package``, whose public names live in its modules:
    ``table`` maps each name to the module that defines it, relative to the package (``".sgd"``)."""

    def __getattr__(name: str):
        if name in table:
            value = getattr(importlib.import_module(table[name], package), name)
            setattr(sys.modules[package], name, value)
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted([*vars(sys.modules[package]), *table])

    return __getattr__, __dir__, list(table)
