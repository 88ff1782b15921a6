"""Validation of scalar options shared by every package: errors name the argument.

Private module. Integers are anything with ``operator.index`` (Python, numpy
and 0-d integer torch tensors) except bools; reals are finite numbers (not
bools, not strings); flags are ``bool`` or ``numpy.bool_``. Every helper
returns a plain Python value, so that what is stored (model configs,
checkpoints, reports) holds only plain types.
"""

from __future__ import annotations

import math
import numbers
import operator
from typing import Any

import numpy as np
import torch
from torch import Tensor

__all__ = [
    "integer",
    "optional_integer",
    "real",
    "optional_real",
    "flag",
    "choice",
    "float_dtype",
]


def _is_bool(x: Any) -> bool:
    if isinstance(x, (bool, np.bool_)):
        return True
    return isinstance(x, Tensor) and x.dtype == torch.bool


def integer(x: Any, name: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """``x`` as an ``int`` (any integer type; not bool), within ``[minimum, maximum]``."""
    if _is_bool(x):
        raise TypeError(f"{name} must be an integer, got bool {x!r}")
    try:
        value = operator.index(x)
    except TypeError:
        raise TypeError(f"{name} must be an integer, got {type(x).__name__} {x!r}") from None
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        if maximum is None:
            expected = f">= {minimum}"
        elif minimum is None:
            expected = f"<= {maximum}"
        else:
            expected = f"in [{minimum}, {maximum}]"
        raise ValueError(f"{name} must be an integer {expected}, got {value}")
    return int(value)


def optional_integer(x: Any, name: str, *, minimum: int | None = None) -> int | None:
    """:func:`integer` or ``None``."""
    return None if x is None else integer(x, name, minimum=minimum)


def real(
    x: Any,
    name: str,
    *,
    positive: bool = False,
    nonnegative: bool = False,
    finite: bool = True,
) -> float:
    """``x`` as a float: a real number (not bool), finite unless ``finite=False``."""
    if isinstance(x, Tensor) and x.numel() == 1 and not x.dtype.is_complex and x.dim() == 0:
        if _is_bool(x):
            raise TypeError(f"{name} must be a real number, got a bool tensor")
        x = x.item()
    if _is_bool(x) or not isinstance(x, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(x).__name__} {x!r}")
    value = float(x)
    if finite and not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value}")
    if positive and not value > 0:
        raise ValueError(f"{name} must be > 0, got {value}")
    if nonnegative and not value >= 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    return value


def optional_real(x: Any, name: str, **kwargs: Any) -> float | None:
    """:func:`real` or ``None``."""
    return None if x is None else real(x, name, **kwargs)


def flag(x: Any, name: str) -> bool:
    """``x`` as a bool; only ``True``/``False`` (and numpy's) are accepted."""
    if not isinstance(x, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {type(x).__name__} {x!r}")
    return bool(x)


def choice(x: Any, name: str, options: tuple[Any, ...]) -> Any:
    """``x`` if it is one of ``options`` (compared by equality, strings only by value)."""
    for option in options:
        if (option is None and x is None) or (
            option is not None and type(x) is type(option) and x == option
        ):
            return option
    shown = ", ".join(repr(o) for o in options)
    raise ValueError(f"{name} must be one of {shown}; got {x!r}")


def float_dtype(x: Any, name: str = "dtype") -> torch.dtype:
    """``x`` if it is a floating-point ``torch.dtype``."""
    if not isinstance(x, torch.dtype) or not x.is_floating_point:
        raise TypeError(f"{name} must be a floating-point torch.dtype (torch.float64), got {x!r}")
    return x
