"""Small shared helpers: call conventions, input validation, dtype handling.

Private module. Everything that several packages need to agree on lives here
once: how a user callable with an optional time argument is called, and how a
tensor argument is validated with an error that names it.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

__all__ = [
    "accepts_time",
    "with_time",
    "check_tensor",
    "check_finite",
    "cast_callable",
    "format_shape",
]


def _positional_arity(fn: Callable) -> int | None:
    """Number of positional parameters ``fn`` accepts, or None for ``*args``."""
    target = fn.forward if isinstance(fn, nn.Module) else fn
    try:
        sig = inspect.signature(target)
    except (TypeError, ValueError):
        return None
    count = 0
    for p in sig.parameters.values():
        if p.kind is inspect.Parameter.VAR_POSITIONAL:
            return None
        if p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD):
            count += 1
    return count


def accepts_time(fn: Callable, n_base: int) -> bool:
    """True when ``fn`` takes an extra trailing time argument after ``n_base`` ones.

    ``L(q, qdot)`` has ``n_base = 2`` and returns False; ``L(q, qdot, t)``
    returns True. A callable with ``*args`` is assumed to accept time.
    """
    arity = _positional_arity(fn)
    if arity is None:
        return True
    if arity < n_base:
        name = getattr(fn, "__name__", type(fn).__name__)
        raise TypeError(
            f"{name} must accept at least {n_base} positional arguments, it accepts {arity}"
        )
    return arity > n_base


def with_time(fn: Callable, n_base: int) -> Callable:
    """Wrap ``fn`` so that it is always called as ``fn(*base_args, t)``.

    Parameters
    ----------
    fn : callable
        ``fn(*base)`` or ``fn(*base, t)``.
    n_base : int
        Number of arguments before the optional time.

    Returns
    -------
    callable
        ``g(*base, t)``; ``t`` is dropped when ``fn`` does not take it.
    """
    if accepts_time(fn, n_base):
        return fn

    def wrapped(*args: Any) -> Any:
        return fn(*args[:n_base])

    wrapped.__wrapped__ = fn  # type: ignore[attr-defined]
    return wrapped


def format_shape(shape: Any) -> str:
    """Readable tuple form of a shape: ``(B, 3, 2)``."""
    return "(" + ", ".join(str(int(s)) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def check_tensor(x: Any, name: str, *, ndim_min: int = 0, finite: bool = True) -> Tensor:
    """Validate that ``x`` is a floating tensor; return it unchanged.

    Raises
    ------
    TypeError
        ``x`` is not a torch.Tensor or not floating point.
    ValueError
        ``x`` has fewer than ``ndim_min`` dimensions, or contains NaN/inf
        (when ``finite``).
    """
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if not torch.is_floating_point(x):
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {x.dtype}")
    if x.dim() < ndim_min:
        raise ValueError(
            f"{name} must have at least {ndim_min} dimensions, got shape {format_shape(x.shape)}"
        )
    if finite:
        check_finite(x, name)
    return x


def check_finite(x: Tensor, name: str) -> None:
    """Raise ValueError naming ``name`` and the first bad batch index if ``x`` has NaN/inf."""
    bad = ~torch.isfinite(x.detach())
    if bool(bad.any()):
        idx = tuple(int(i) for i in bad.nonzero()[0])
        kind = "NaN" if bool(torch.isnan(x.detach()).any()) else "inf"
        raise ValueError(f"{name} contains {kind} (first at index {idx}); expected finite values")


def cast_callable(fn: Callable, dtype: torch.dtype) -> Callable:
    """Return a copy of ``fn`` evaluated in ``dtype``; the user's object is never modified.

    An ``nn.Module`` is deep-copied and cast. A plain function is returned as
    is (its arithmetic follows the dtype of its inputs).
    """
    if isinstance(fn, nn.Module):
        return copy.deepcopy(fn).to(dtype)
    return fn
