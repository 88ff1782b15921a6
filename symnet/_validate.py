"""Validation of scalar options shared by every package: errors name the argument.

Private module. Numbers are checked for type (a bool is not a number; any
integer type, numpy's and torch's too, is an integer via ``operator.index``)
and finiteness.
"""

from __future__ import annotations

import math
import numbers
import operator
from typing import Any

import numpy as np
import torch

__all__ = ["real", "integer", "flag", "float_dtype"]


def real(x: Any, name: str, *, positive: bool = False, nonnegative: bool = False) -> float:
    """``x`` as a finite float (bools, strings and NaN/inf are errors naming ``name``)."""
    if isinstance(x, torch.Tensor):
        if x.numel() != 1 or x.dtype == torch.bool or x.is_complex():
            raise TypeError(f"{name} must be a real number, got a tensor {x!r}")
        x = x.detach().item()
    elif isinstance(x, (bool, np.bool_)) or not isinstance(x, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(x).__name__} {x!r}")
    x = float(x)
    if not math.isfinite(x):
        raise ValueError(f"{name} must be a finite number, got {x}")
    if positive and not x > 0:
        raise ValueError(f"{name} must be positive, got {x}")
    if nonnegative and not x >= 0:
        raise ValueError(f"{name} must be non-negative, got {x}")
    return x


def integer(x: Any, name: str, *, minimum: int | None = None) -> int:
    """``x`` as an ``int`` via ``operator.index`` (numpy and torch integers too; not bool)."""
    if isinstance(x, (bool, np.bool_)):
        raise TypeError(f"{name} must be an integer, got bool {x!r}")
    try:
        value = operator.index(x)
    except TypeError:
        raise TypeError(f"{name} must be an integer, got {type(x).__name__} {x!r}") from None
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}")
    return value


def flag(x: Any, name: str) -> bool:
    """``x`` as a bool; only ``bool`` (and numpy's) is accepted."""
    if not isinstance(x, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {type(x).__name__} {x!r}")
    return bool(x)


def float_dtype(x: Any, name: str = "dtype") -> torch.dtype:
    """``x`` if it is a floating-point ``torch.dtype``."""
    if not isinstance(x, torch.dtype) or not x.is_floating_point:
        raise TypeError(f"{name} must be a floating-point torch.dtype (torch.float64), got {x!r}")
    return x
