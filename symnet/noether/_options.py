"""Options and initial states of a Noether check, validated (stages 1 and 2 of the pipeline).

Private module of :mod:`symnet.noether.pipeline`: numbers checked with errors
naming the argument, the compile flag, the verdict thresholds, and float64
copies of the initial states.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from symnet._util import check_tensor, format_shape
from symnet._validate import integer
from symnet.noether.verdict import VerdictThresholds

__all__ = [
    "check_thresholds",
    "compile_option",
    "bool_option",
    "integer_option",
    "prepare_states",
    "real_option",
]


def integer_option(x: Any, name: str, minimum: int) -> int:
    """``x`` as an int (any integer type, not bool), at least ``minimum``.

    :func:`symnet._validate.integer` with the checker's wording, always a ValueError.
    """
    try:
        return integer(x, name, minimum=minimum)
    except (TypeError, ValueError):
        raise ValueError(
            f"{name} must be an int >= {minimum}, got {x!r} ({type(x).__name__})"
        ) from None


def real_option(x: Any, name: str, what: str, ok: Callable[[float], bool]) -> float:
    """``x`` as a float (any real type, not bool) satisfying ``ok``."""
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise ValueError(f"{name} must be {what}, got {x!r} ({type(x).__name__})")
    value = float(x)
    if not ok(value):
        raise ValueError(f"{name} must be {what}, got {value!r}")
    return value


def compile_option(x: Any, name: str = "compile") -> bool | str:
    """``x`` checked as a rollout's ``compile``: True, False or ``"auto"``.

    The verdicts never depend on it: compiled and eager rollouts agree to round-off.
    """
    if x is True or x is False or (isinstance(x, str) and x == "auto"):
        return x
    raise ValueError(f"{name} must be True, False or 'auto', got {x!r} ({type(x).__name__})")


def check_thresholds(thresholds: Any, argument: str) -> VerdictThresholds:
    """``thresholds`` (a :class:`VerdictThresholds` or None for the defaults), checked."""
    if thresholds is None:
        return VerdictThresholds()
    if not isinstance(thresholds, VerdictThresholds):
        raise TypeError(
            f"{argument} must be a symnet.noether.VerdictThresholds (e.g. "
            f"VerdictThresholds(drift=1e-8)), got {type(thresholds).__name__}"
        )
    return thresholds


def prepare_states(q0: Any, v0: Any, names: tuple[str, str]) -> tuple[Tensor, Tensor]:
    """Float64 copies of the initial states, shape ``(B, *S)`` each (validated)."""
    check_tensor(q0, names[0], ndim_min=2)
    check_tensor(v0, names[1], ndim_min=2)
    if q0.shape != v0.shape:
        raise ValueError(
            f"{names[0]} and {names[1]} must have the same shape (B, *S), got "
            f"{format_shape(q0.shape)} and {format_shape(v0.shape)}"
        )
    f64 = torch.float64
    return q0.detach().to(f64).clone(), v0.detach().to(f64).clone()


def bool_option(x: Any, name: str) -> bool:
    """``x`` if it is True or False, else a ValueError naming ``name``."""
    if x is True or x is False:
        return x
    raise ValueError(f"{name} must be True or False, got {x!r} ({type(x).__name__})")
