"""Optional dependencies: what each extra of ``pip install 'mfcore[EXTRA]'`` brings, and one sentence
when a feature needs a package that is not installed.

The core (``numpy``, ``scipy``, ``pandas``, ``numba``, ``pyarrow``: loading, training, evaluating,
model files, the command line's ``train``, ``bench``, ``sample``, ``recommend``, ``similar``) needs no
extra. :func:`require` imports a module or raises :class:`MissingExtra` (an ImportError) naming the
feature, the package and the extra; the command line prints it as one ``error:`` line.
"""

from __future__ import annotations

import importlib

__all__ = ["EXTRAS", "MissingExtra", "require"]

EXTRAS = {
    "optuna": "tune", "sqlalchemy": "tune", "tqdm": "notebook", "plotly": "notebook", "openTSNE": "explore",
    "Cython": "cython", "streamlit": "dashboard",
}
"""The extra that installs each optional package (``pyproject.toml``'s ``[project.optional-dependencies]``)."""


class MissingExtra(ImportError):
    """A feature's optional package is not installed; the message says which extra installs it."""


def require(module: str, feature: str):
    """``module`` imported, or :class:`MissingExtra`: "FEATURE needs PACKAGE, which is not installed:
    pip install 'mfcore[EXTRA]'." (the package is the module's top-level name)."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        package = module.split(".")[0]
        if exc.name is not None and exc.name.split(".")[0] != package:
            raise  # the package is there but one of its own dependencies is broken: not ours to reword
        raise MissingExtra(f"{feature} needs {package}, which is not installed: "
                           f"pip install 'mfcore[{EXTRAS.get(package, package)}]'.") from None
