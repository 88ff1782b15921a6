"""symnet: symmetry in machine learning and mechanics, for PyTorch.

Define a symmetry once in :mod:`symnet.groups`; build invariant layers from it,
unit-test models against it, and check the conserved quantities that Noether's
theorem attaches to it.

Subpackages are imported on first access (``symnet.noether``), so that
``import symnet`` stays fast. ``symnet.threads(n)`` sets torch's thread count
for one block of code (:mod:`symnet._threads`).
"""

from __future__ import annotations

import importlib
from typing import Any

from symnet import _warnings
from symnet._threads import threads

__version__ = "0.1.0.dev0"

# torch's first jvp imports a module that warns "`torch.jit.script` is
# deprecated"; ignore exactly that, only during that import (see symnet._warnings).
_warnings.install()

_SUBPACKAGES = (
    "groups",
    "learning",
    "mechanics",
    "models",
    "nn",
    "noether",
    "systems",
    "testing",
)

__all__ = [*_SUBPACKAGES, "__version__", "threads"]


def __getattr__(name: str) -> Any:
    if name in _SUBPACKAGES:
        module = importlib.import_module(f"symnet.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'symnet' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
