"""Input validation of :func:`discover`, :func:`discover_hamiltonian` and :func:`check_charges`.

Every argument is checked, and an error names it: numbers must be finite
and not bools, integers may be of any integer type (``operator.index``),
flags must be bools.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
import torch
from torch import Tensor

from symnet._util import check_tensor, format_shape
from symnet._validate import flag, integer, real

__all__ = [
    "ALGEBRA_STATES",
    "states",
    "times",
    "check_options",
    "check_dtype",
    "flag",
    "integer",
    "real",
    "rms_norm",
]

ALGEBRA_STATES = 64

#: Evaluation dtypes the discovery and its finite-difference verification support.
DTYPES = (torch.float32, torch.float64)


def check_dtype(dtype: Any) -> torch.dtype:
    """``dtype`` if it is float32 or float64 (a TypeError otherwise)."""
    if not isinstance(dtype, torch.dtype) or dtype not in DTYPES:
        raise TypeError(f"dtype must be torch.float32 or torch.float64, got {dtype!r}")
    return dtype


def states(q: Any, v: Any, names: tuple[str, str], dtype: torch.dtype) -> tuple[Tensor, Tensor]:
    """Validated float copies of the states (the user's tensors are never touched)."""
    check_tensor(q, names[0], ndim_min=2)
    check_tensor(v, names[1], ndim_min=2)
    if q.shape != v.shape:
        raise ValueError(
            f"{names[0]} and {names[1]} must have the same shape (B, *S), got "
            f"{format_shape(q.shape)} and {format_shape(v.shape)}"
        )
    if q.dim() not in (2, 3):
        raise ValueError(
            f"{names[0]} must have shape (B, N, d) (particles) or (B, n) (generalized "
            f"coordinates), got {format_shape(q.shape)}"
        )
    return q.detach().to(dtype).clone(), v.detach().to(dtype).clone()


def times(t: Any, B: int, dtype: torch.dtype, device: torch.device | None = None) -> Tensor:
    """The sample times, shape ``(B,)`` on ``device``: finite real numbers (not bools)."""
    if t is None:
        return torch.zeros(B, dtype=dtype, device=device)
    if isinstance(t, Tensor):
        if t.dtype == torch.bool or torch.is_complex(t):
            raise TypeError(f"t must hold real numbers, got a tensor of dtype {t.dtype}")
        t = t.detach()
    elif isinstance(t, (bool, np.bool_)) or not isinstance(t, (numbers.Real, np.ndarray)):
        raise TypeError(
            f"t must be a real number or a tensor of shape ({B},), got {type(t).__name__} {t!r}"
        )
    elif isinstance(t, np.ndarray) and t.dtype.kind not in "iuf":
        raise TypeError(f"t must hold real numbers, got an array of dtype {t.dtype}")
    t = torch.as_tensor(t, dtype=dtype, device=device)
    if t.dim() == 0:
        check_tensor(t, "t")
        return t.expand(B).clone()
    if t.shape != (B,):
        raise ValueError(f"t must be a scalar or have shape ({B},), got {format_shape(t.shape)}")
    check_tensor(t, "t")
    return t.clone()


def check_options(threshold: Any, max_relative: Any, min_gap: Any) -> None:
    """Validate the cut options of the discovery (errors name the argument)."""
    if threshold is not None:
        threshold = real(threshold, "threshold")
        if not 0 < threshold < 1:
            raise ValueError(
                f"threshold must lie in (0, 1) (relative to sigma_max), got {threshold}"
            )
    max_relative = real(max_relative, "max_relative")
    if not 0 < max_relative < 1:
        raise ValueError(f"max_relative must lie in (0, 1), got {max_relative}")
    min_gap = real(min_gap, "min_gap")
    if not min_gap >= 1:
        raise ValueError(f"min_gap must be >= 1, got {min_gap}")


def rms_norm(x: Tensor) -> float:
    """Root mean square of the per-particle (last axis) Euclidean norms, or 1 if zero."""
    val = float(x.pow(2).sum(-1).mean().sqrt())
    return val if val > 0 and math.isfinite(val) else 1.0
