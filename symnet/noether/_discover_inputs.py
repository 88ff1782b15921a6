"""Input validation shared by :func:`discover` and :func:`discover_hamiltonian`."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from symnet._util import check_tensor, format_shape

__all__ = ["ALGEBRA_STATES", "states", "times", "check_options", "rms_norm"]

ALGEBRA_STATES = 64


def states(q: Any, v: Any, names: tuple[str, str], dtype: torch.dtype) -> tuple[Tensor, Tensor]:
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


def times(t: Any, B: int, dtype: torch.dtype) -> Tensor:
    if t is None:
        return torch.zeros(B, dtype=dtype)
    t = torch.as_tensor(t, dtype=dtype)
    if t.dim() == 0:
        return t.expand(B).clone()
    if t.shape != (B,):
        raise ValueError(f"t must be a scalar or have shape ({B},), got {format_shape(t.shape)}")
    check_tensor(t, "t")
    return t


def check_options(threshold: float | None, max_relative: float, min_gap: float) -> None:
    if threshold is not None and not (0 < threshold < 1):
        raise ValueError(f"threshold must lie in (0, 1) (relative to sigma_max), got {threshold}")
    if not 0 < max_relative < 1:
        raise ValueError(f"max_relative must lie in (0, 1), got {max_relative}")
    if not min_gap >= 1:
        raise ValueError(f"min_gap must be >= 1, got {min_gap}")


def rms_norm(x: Tensor) -> float:
    """Root mean square of the per-particle (last axis) Euclidean norms, or 1 if zero."""
    val = float(x.pow(2).sum(-1).mean().sqrt())
    return val if val > 0 and math.isfinite(val) else 1.0
