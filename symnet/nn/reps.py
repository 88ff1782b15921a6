"""Deprecated location of the representations; use :mod:`symnet.groups.reps`.

``from symnet.nn.reps import Vector`` keeps working for one release with a
``DeprecationWarning``; the reps are one more kind of tensor and live with
the kinds in :mod:`symnet.groups`.
"""

from __future__ import annotations

import warnings
from typing import Any

from symnet.groups import reps as _reps

_NAMES = ("Rep", "Scalar", "Vector", "PermRep", "SumRep", "TensorRep")


def __getattr__(name: str) -> Any:
    if name not in _NAMES:
        raise AttributeError(f"module 'symnet.nn.reps' has no attribute {name!r}")
    warnings.warn(
        f"symnet.nn.reps.{name} is deprecated, use symnet.groups.{name} instead",
        DeprecationWarning,
        stacklevel=2,
    )
    return getattr(_reps, name)
