"""The call guard of the vector fields: time and state validation, checked evaluation.

Private module. :func:`as_time` broadcasts a time to the batch of a state,
``_check_state`` validates a pair of states, and ``_Guarded`` wraps a field
function ``fn(x, y, t)`` so that every evaluation checks its output and that
it did not write into its arguments (see :mod:`symnet.mechanics._guard`). The
fields themselves are in :mod:`symnet.mechanics.vector_field` and
:mod:`symnet.mechanics.field`.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from symnet._util import check_tensor, format_shape
from symnet.mechanics._guard import (
    Versions,
    check_output,
    check_pair,
    check_unchanged,
    copies,
    evaluation_error,
    first_call_allowed,
)

if TYPE_CHECKING:
    from symnet.mechanics.vector_field import VectorField

__all__ = ["as_time"]


def as_time(t: Any, like: Tensor, name: str = "t") -> Tensor:
    """Broadcast a time to a ``(B,)`` tensor with the dtype and device of ``like``.

    Parameters
    ----------
    t : real number, 0-d Tensor or Tensor of shape (B,)
        Time(s). ``bool`` is refused.
    like : Tensor, shape (B, *S)
        A state tensor that fixes ``B``, dtype and device.
    name : str
        Name of ``t`` in error messages.

    Returns
    -------
    Tensor, shape (B,)
        ``t`` itself when it already has that shape, dtype and device.
    """
    batch = like.shape[0]
    if isinstance(t, Tensor):
        if t.dtype == torch.bool or t.is_complex():
            raise TypeError(
                f"{name} must be a real number or a tensor of reals, got dtype {t.dtype}"
            )
        if t.dtype != like.dtype or t.device != like.device:
            t = t.to(dtype=like.dtype, device=like.device)
        if t.shape == (batch,):
            return t
        if t.dim() == 0:
            return t.expand(batch)
        raise ValueError(
            f"{name} must be a float, a 0-d tensor or of shape ({batch},), got "
            f"{format_shape(t.shape)}"
        )
    if isinstance(t, numbers.Real) and not isinstance(t, bool):
        return torch.full((batch,), float(t), dtype=like.dtype, device=like.device)
    raise TypeError(f"{name} must be a real number or a tensor, got {t!r} ({type(t).__name__})")


def _check_state(q: Any, v: Any, names: tuple[str, str]) -> None:
    check_tensor(q, names[0], ndim_min=1)
    check_tensor(v, names[1], ndim_min=1)
    if q.shape != v.shape:
        raise ValueError(
            f"{names[0]} and {names[1]} must have the same shape (B, *S), got "
            f"{format_shape(q.shape)} and {format_shape(v.shape)}"
        )
    if q.dtype != v.dtype:
        raise ValueError(
            f"{names[0]} and {names[1]} must have the same dtype, got {q.dtype} and {v.dtype}"
        )


class _Guarded:
    """A field function ``fn(x, y, t)`` whose output and inputs are checked.

    Every call: the output's type, shape and dtype, and the inputs' version
    counters. The first call outside a ``torch.func`` transform: on copies of
    the inputs, compared with the originals afterwards.
    """

    def __init__(self, fn: Callable, field: VectorField) -> None:
        self.fn = fn
        self.field = field
        self.pending = True

    def _evaluate(self, x: Tensor, y: Tensor, t: Tensor) -> Any:
        try:
            return self.fn(x, y, t)
        except RuntimeError as err:
            if type(err) is not RuntimeError:
                raise
            better = evaluation_error(err, self.field.source, x.dtype, self.field.label)
            if better is err:
                raise
            raise better from err

    def __call__(self, x: Tensor, y: Tensor, t: Tensor) -> Any:
        field = self.field
        names = field.arg_names
        if not isinstance(t, Tensor):
            t = as_time(t, x)
        if self.pending and first_call_allowed(x):
            args = copies(x, y, t)
            try:
                out = self._evaluate(*args)
            finally:  # a write into an input is reported first, whatever happened next
                check_unchanged((x, y, t), args, names, field.label)
            out = self._check(out, x)
            self.pending = False
            return out
        try:  # the version counters tell whether the call wrote into an input
            before = (x._version, y._version, t._version)
        except RuntimeError:  # inference tensors have none
            before = None
        try:
            out = self._evaluate(x, y, t)
        finally:
            if before is not None and before != (x._version, y._version, t._version):
                Versions.from_counts(before).check((x, y, t), names, field.label)
        if self.field.order == 2:
            if type(out) is Tensor and out.shape == x.shape and out.dtype == x.dtype:
                return out  # the common case, without a call
            return check_output(out, x, field.label, "the acceleration", "q")
        return self._check(out, x)

    def _check(self, out: Any, like: Tensor) -> Any:
        if self.field.order == 2:
            return check_output(out, like, self.field.label, "the acceleration", "q")
        return check_pair(out, like, self.field.label, ("qdot", "pdot"))

    def __repr__(self) -> str:
        return repr(self.fn)
