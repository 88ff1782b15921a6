"""Checks of user callables shared by the fields, the Lagrangian helpers and rollouts.

Private module. A user function (an acceleration field, Hamilton's
equations, a Lagrangian, a Hamiltonian) is checked in two ways:

- on every call, cheaply: its output is a Tensor of the expected shape and
  dtype (:func:`check_output`), and it did not write into its arguments, by
  their version counters (:class:`Versions`);
- once, on the first call made outside a ``torch.func`` transform
  (:func:`first_call_allowed`): it is evaluated on copies of its arguments,
  which are compared with the originals afterwards (so that the caller's
  tensors are never modified, even by a function that writes into its
  arguments), and a Lagrangian or Hamiltonian is probed for a gradient that
  misses part of its value (:func:`symnet._probe.check_autodiff`).

Errors name the function and the argument, and say what was expected.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor

from symnet._util import dtype_mismatch, format_shape

__all__ = [
    "AutodiffProbe",
    "first_call_allowed",
    "Versions",
    "copies",
    "check_unchanged",
    "check_output",
    "check_pair",
    "evaluation_error",
    "fn_name",
]


def fn_name(fn: Any) -> str:
    """The ``__name__`` of a callable, else its type name (through wrappers)."""
    fn = getattr(fn, "__wrapped__", fn)
    return getattr(fn, "__name__", None) or type(fn).__name__


def first_call_allowed(x: Tensor) -> bool:
    """Whether the one-off checks can run now.

    Not inside a ``torch.func`` transform (the checks compare values and
    call ``torch.func.grad`` themselves), not in inference mode, and not on
    an empty batch (nothing to check); they then wait for a later call.
    """
    return (
        x.shape[0] > 0
        and torch._C._functorch.peek_interpreter_stack() is None
        and not torch.is_inference_mode_enabled()
    )


def _version(x: Any) -> int | None:
    try:
        return x._version
    except (AttributeError, RuntimeError):  # inference tensors have no version counter
        return None


class Versions:
    """The version counters of some tensors, to tell whether a call wrote into them."""

    __slots__ = ("before",)

    def __init__(self, *xs: Any) -> None:
        self.before = tuple(_version(x) for x in xs)

    @classmethod
    def from_counts(cls, counts: Sequence[int | None]) -> Versions:
        """Counters read before the call."""
        self = cls.__new__(cls)
        self.before = tuple(counts)
        return self

    def check(self, xs: Sequence[Any], names: Sequence[str], who: str) -> None:
        """Raise ValueError naming the first of ``xs`` whose counter moved."""
        for x, v, name in zip(xs, self.before, names, strict=True):
            if v is not None and _version(x) != v:
                raise _mutation_error(who, name)


def copies(*xs: Tensor) -> tuple[Tensor, ...]:
    """Clones (still attached to the graph, so the result stays differentiable)."""
    return tuple(x.clone() for x in xs)


def _same(a: Tensor, b: Tensor) -> bool:
    a, b = a.detach(), b.detach()
    if a.shape != b.shape:
        return False
    return bool(((a == b) | (torch.isnan(a) & torch.isnan(b))).all())


def _mutation_error(who: str, name: str) -> ValueError:
    return ValueError(
        f"{who} modified its input {name} in place; it must not write into its arguments "
        f"(use out-of-place operations: {name} * 2 instead of {name}.mul_(2), "
        f"torch.where instead of {name}[mask] = ...)"
    )


def check_unchanged(
    originals: Sequence[Tensor], clones: Sequence[Tensor], names: Sequence[str], who: str
) -> None:
    """Raise ValueError when a clone handed to ``who`` no longer equals its original."""
    for x, c, name in zip(originals, clones, names, strict=True):
        if not _same(x, c):
            raise _mutation_error(who, name)


def _describe(out: Any) -> str:
    if isinstance(out, Tensor):
        return "a 0-d tensor" if out.dim() == 0 else f"shape {format_shape(out.shape)}"
    if isinstance(out, (tuple, list)):
        return f"a {type(out).__name__} of length {len(out)}"
    return f"a {type(out).__name__}"


def check_output(out: Any, like: Tensor, who: str, what: str, like_name: str) -> Tensor:
    """Return ``out`` when it is a Tensor of the shape and dtype of ``like``; else raise.

    ``what`` names the quantity (``"the acceleration"``, ``"pdot"``), ``like_name``
    the argument whose shape it must have.
    """
    if not isinstance(out, Tensor):
        raise TypeError(
            f"{who} must return {what} as a Tensor of shape (B, *S) = "
            f"{format_shape(like.shape)}; it returned {_describe(out)}"
        )
    if out.shape != like.shape:
        raise ValueError(
            f"{who} must return {what} of shape (B, *S) = {format_shape(like.shape)} (the shape "
            f"of {like_name}); it returned {_describe(out)}, which would be broadcast into the "
            "state"
        )
    if out.dtype != like.dtype:
        raise TypeError(
            f"{who} must return {what} of dtype {like.dtype} (the dtype of {like_name}); it "
            f"returned {out.dtype}: compute it in the dtype of the states"
        )
    return out


def check_pair(out: Any, like: Tensor, who: str, names: tuple[str, str]) -> tuple[Tensor, Tensor]:
    """``out`` as a pair of tensors shaped like ``like`` (Hamilton's equations)."""
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise TypeError(
            f"{who} must return the pair ({names[0]}, {names[1]}), each a Tensor of shape "
            f"(B, *S) = {format_shape(like.shape)}; it returned {_describe(out)}"
        )
    return (
        check_output(out[0], like, who, names[0], "q"),
        check_output(out[1], like, who, names[1], "p"),
    )


def evaluation_error(err: RuntimeError, fn: Callable, dtype: torch.dtype, who: str) -> Exception:
    """A clearer exception for a RuntimeError raised while evaluating ``fn`` on the states.

    A dtype mismatch becomes a TypeError saying which dtypes differ and how to
    fix it; a write into an input under autodiff a ValueError saying so; any
    other error is returned unchanged.
    """
    msg = " ".join(str(err).split())
    hint = dtype_mismatch(fn, dtype, msg)
    if hint is not None:
        return TypeError(f"{who} could not be evaluated: {hint} (torch said: {msg[:240]})")
    if "in-place operation" in msg or "inplace" in msg:
        return ValueError(
            f"{who} modified one of its inputs in place (torch said: {msg[:240]}); it must not "
            "write into its arguments (use out-of-place operations)"
        )
    return err


class AutodiffProbe:
    """:func:`symnet._probe.check_autodiff` of ``fn``, run once: at the first allowed call.

    Parameters
    ----------
    fn : callable
        The Lagrangian or Hamiltonian, ``fn(q, v)`` or ``fn(q, v, t)``.
    name : str
        ``"L"`` or ``"H"``.
    arg_names : pair of str
        Names of its state arguments.
    enabled : bool
        False: never probe.
    """

    __slots__ = ("fn", "name", "arg_names", "pending")

    def __init__(
        self, fn: Callable, name: str, arg_names: tuple[str, str], enabled: bool = True
    ) -> None:
        self.fn = fn
        self.name = name
        self.arg_names = arg_names
        self.pending = bool(enabled)

    def __call__(self, q: Tensor, v: Tensor, t: Tensor) -> None:
        """Probe at the first few of these states, unless done or not allowed now."""
        if not self.pending or not first_call_allowed(q):
            return
        from symnet._probe import check_autodiff

        check_autodiff(self.fn, q, v, t, name=self.name, arg_names=self.arg_names)
        self.pending = False
