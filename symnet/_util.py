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
    "copy_module",
    "dtype_mismatch",
    "time_like",
    "format_shape",
]


#: Names of a parameter that receives the time when it has a default value.
TIME_NAMES = frozenset({"t", "time", "t0", "tau"})


def _signature(fn: Callable) -> inspect.Signature | None:
    target = fn.forward if isinstance(fn, nn.Module) else fn
    try:
        return inspect.signature(target)
    except (TypeError, ValueError):
        return None


def _positional_params(fn: Callable) -> list[inspect.Parameter] | None:
    """The positional parameters of ``fn``; None for ``*args`` or no signature."""
    sig = _signature(fn)
    if sig is None:
        return None
    params = []
    for p in sig.parameters.values():
        if p.kind is inspect.Parameter.VAR_POSITIONAL:
            return None
        if p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD):
            params.append(p)
    return params


def accepts_time(fn: Callable, n_base: int) -> bool:
    """True when ``fn`` takes the time as an extra argument after ``n_base`` ones.

    The rule (documented in ``docs/mechanics.md``): the parameter right after
    the ``n_base`` state arguments receives the time when it is positional
    and either has no default value (``L(q, qdot, t)``, whatever its name) or
    is named like a time: ``t``, ``time``, ``t0`` or ``tau``
    (``L(q, qdot, t=0.0)``). A defaulted parameter with another name
    (``L(q, qdot, k=4.0)``) keeps its default and ``fn`` is treated as
    time-independent. A callable with ``*args`` (or no inspectable
    signature) is assumed to accept the time.
    """
    params = _positional_params(fn)
    if params is None:
        return True
    if len(params) < n_base:
        name = getattr(fn, "__name__", type(fn).__name__)
        raise TypeError(
            f"{name} must accept at least {n_base} positional arguments, it accepts {len(params)}"
        )
    if len(params) == n_base:
        return False
    extra = params[n_base]
    return extra.default is inspect.Parameter.empty or extra.name.lower() in TIME_NAMES


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


def copy_module(model: nn.Module) -> nn.Module:
    """A deep copy of ``model``; attributes that cannot be copied (a lock) are shared.

    Raises
    ------
    TypeError
        The module cannot be copied even so.
    """
    try:
        return copy.deepcopy(model)
    except Exception as exc:  # noqa: BLE001 - any failure of the copy protocol: retry
        first = " ".join(str(exc).split())[:200]
    memo: dict[int, Any] = {}
    for m in model.modules():
        for key, value in vars(m).items():
            if key in ("_parameters", "_buffers", "_modules") or isinstance(value, Tensor):
                continue
            try:
                copy.deepcopy(value)
            except Exception:  # noqa: BLE001 - share what cannot be copied
                memo[id(value)] = value
    try:
        return copy.deepcopy(model, memo)
    except Exception:  # noqa: BLE001
        raise TypeError(
            f"model {type(model).__name__} cannot be copied ({first}); the checks work on a "
            "copy so that your model is never modified"
        ) from None


def cast_callable(fn: Callable, dtype: torch.dtype) -> Callable:
    """Return a copy of ``fn`` evaluated in ``dtype``; the user's object is never modified.

    An ``nn.Module`` is copied (:func:`copy_module`) and cast, and so is the
    module that owns a bound method (``model.lagrangian``). A plain function
    is returned as is (its arithmetic follows the dtype of its inputs).
    """
    if isinstance(fn, nn.Module):
        return copy_module(fn).to(dtype)
    owner = getattr(fn, "__self__", None)
    name = getattr(fn, "__name__", None)
    if (
        isinstance(owner, nn.Module)
        and isinstance(name, str)
        and callable(getattr(owner, name, None))
    ):
        # a method of a module (model.lagrangian): the same method of a cast copy
        return getattr(copy_module(owner).to(dtype), name)
    return fn


def dtype_mismatch(fn: Callable, dtype: torch.dtype, error: str = "") -> str | None:
    """A sentence on how ``fn``'s floating dtype differs from ``dtype``, or None.

    Modules (and methods bound to one) carry a dtype: the dtype of their first
    floating parameter or buffer. For other callables, ``error`` (the text of
    the exception their evaluation raised) is read for torch's dtype-mismatch
    wording.
    """
    module = fn if isinstance(fn, nn.Module) else getattr(fn, "__self__", None)
    if not isinstance(module, nn.Module):
        lowered = error.lower()
        if "dtype" in lowered or ("double" in lowered and "float" in lowered):
            return (
                f"the states are {dtype} but the function seems to hold tensors or parameters "
                f"of another dtype: cast the states (x.float() or x.double()) or the "
                f"function's tensors/modules to {dtype}"
            )
        return None
    for t in (*module.parameters(), *module.buffers()):
        if torch.is_floating_point(t):
            if t.dtype == dtype:
                return None
            return (
                f"the states are {dtype} but the module's parameters are {t.dtype}: "
                f"cast the states (x.to({t.dtype})) or the module (module.to({dtype}))"
            )
    return None


def time_like(t: Tensor | float | None, q: Tensor) -> Tensor:
    """Time as a tensor of shape ``(B,)`` in ``q``'s dtype and device (``None`` is 0).

    Parameters
    ----------
    t : None, float, 0-d Tensor or Tensor of shape (B,)
        The time(s); a bool is refused.
    q : Tensor, shape (B, *S)
        Fixes ``B``, dtype and device.

    Returns
    -------
    Tensor, shape (B,)
        A new tensor (or ``t`` itself when it already has that shape and dtype).
    """
    if t is None:
        return torch.zeros(q.shape[0], dtype=q.dtype, device=q.device)
    if isinstance(t, bool):
        raise TypeError(f"t must be a number or a tensor of shape ({q.shape[0]},), got {t!r}")
    t = torch.as_tensor(t, dtype=q.dtype, device=q.device)
    if t.dim() == 0:
        return t.expand(q.shape[0]).clone()
    if t.shape != (q.shape[0],):
        raise ValueError(
            f"t must be a number or a tensor of shape ({q.shape[0]},) for a batch of "
            f"{q.shape[0]}, got {format_shape(t.shape)}"
        )
    return t
