"""Private helpers of :mod:`symnet.systems`: argument validation, time, sampling."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from symnet._deprecation import MISSING, renamed_argument
from symnet._util import format_shape, time_like

__all__ = [
    "finite",
    "integer",
    "masses_tensor",
    "nonnegative",
    "normal",
    "positive",
    "renamed_generator",
    "time_like",
    "uniform",
    "unit_vectors",
]


def positive(name: str, value: Any) -> float:
    """``value`` as a float; ValueError naming ``name`` unless finite and > 0."""
    v = _number(name, value)
    if not v > 0:
        raise ValueError(f"{name} must be positive, got {value!r}")
    return v


def nonnegative(name: str, value: Any) -> float:
    """``value`` as a float; ValueError naming ``name`` unless finite and >= 0."""
    v = _number(name, value)
    if not v >= 0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    return v


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool):
        raise TypeError(f"{name} must be a number, got {value!r}")
    if isinstance(value, Tensor):
        if value.numel() != 1:
            raise ValueError(f"{name} must be a scalar, got shape {format_shape(value.shape)}")
        value = value.item()
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}") from None
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return v


def finite(name: str, value: Any) -> float:
    """``value`` as a finite float (any sign); ValueError naming ``name`` otherwise."""
    return _number(name, value)


def integer(name: str, value: Any, minimum: int = 1) -> int:
    """``value`` as an int ``>= minimum``; ValueError naming ``name`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def masses_tensor(masses: Any, n: int, name: str = "masses") -> Tensor:
    """Positive masses as a float64 tensor of shape ``(n,)``; a scalar is broadcast."""
    if masses is None:
        return torch.ones(n, dtype=torch.float64)
    m = torch.as_tensor(masses, dtype=torch.float64)
    if m.dim() == 0:
        m = m.expand(n).clone()
    if m.shape != (n,):
        raise ValueError(
            f"{name} must be a scalar or have shape ({n},), got {format_shape(m.shape)}"
        )
    if not bool(torch.isfinite(m).all()) or bool((m <= 0).any()):
        raise ValueError(f"{name} must be positive and finite, got {m.tolist()}")
    return m.clone()


def uniform(shape: Sequence[int], low: float, high: float, rng: torch.Generator | None) -> Tensor:
    """Float64 samples of ``U[low, high)``."""
    return low + (high - low) * torch.rand(*shape, generator=rng, dtype=torch.float64)


def normal(shape: Sequence[int], std: float, rng: torch.Generator | None) -> Tensor:
    """Float64 samples of ``N(0, std^2)``."""
    return std * torch.randn(*shape, generator=rng, dtype=torch.float64)


def unit_vectors(n: int, dim: int, rng: torch.Generator | None) -> Tensor:
    """``n`` directions uniform on the unit sphere ``S^(dim-1)``, shape ``(n, dim)``."""
    z = torch.randn(n, dim, generator=rng, dtype=torch.float64)
    return z / z.norm(dim=-1, keepdim=True)


def renamed_generator(generator: Any, rng: Any, where: str) -> Any:
    """``rng``, or the deprecated ``generator=`` (with a DeprecationWarning) when it was passed.

    For the public functions' own use: the warning points at their caller. The
    old name keeps its old contract: a ``torch.Generator`` or None (an int is
    refused with a TypeError, as before; the new ``rng=`` takes an int).
    """
    if generator is not MISSING and not (
        generator is None or isinstance(generator, torch.Generator)
    ):
        raise TypeError(
            f"generator must be a torch.Generator or None, got {type(generator).__name__} "
            "(generator= is deprecated: rng= takes an int seed or a torch.Generator)"
        )
    return renamed_argument("generator", "rng", generator, rng, where=where, stacklevel=4)
