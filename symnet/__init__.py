"""symnet: symmetry in machine learning and mechanics, for PyTorch.

Define a symmetry once in :mod:`symnet.groups`; build invariant layers from it,
unit-test models against it, and check the conserved quantities that Noether's
theorem attaches to it.
"""

from __future__ import annotations

from symnet import groups

__version__ = "0.1.0.dev0"

__all__ = ["groups", "__version__"]
