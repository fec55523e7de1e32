"""The loader's exceptions.
"""

from __future__ import annotations


class DataError(ValueError):
    """A rating file or table cannot be used; the message says why (and where)."""


class TypeGuessError(DataError):
    """A column read as numbers holds text further down: read it again as text."""
