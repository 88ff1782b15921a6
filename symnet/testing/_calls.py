"""How the symmetry assertions call the function under test.

Private module. Every call hands ``fn`` fresh copies of its inputs, so a
function that writes into its arguments changes neither the caller's tensors
nor the next evaluation; and every call outside a ``torch.func`` transform
compares those copies with what was handed over, so a function that modifies
its input in place is reported as such (:class:`InputMutationError`) instead
of failing later rows that would blame a group element.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor, nn
from torch.func import functional_call

from symnet._util import cast_callable

__all__ = ["InputMutationError", "Caller", "as_outputs", "cast_for_check", "output_names"]


class InputMutationError(ValueError):
    """The function under test modified one of its input tensors in place.

    A symmetry check evaluates ``fn`` many times on transformed copies of the
    same inputs; a function that changes its argument (``x += emb``,
    ``x.mul_(2)``, ``x[..., 0] = 0``) makes those evaluations disagree for a
    reason that has nothing to do with the group, so the check stops with
    this error instead of reporting a symmetry failure.
    """


def as_outputs(out: Any, fn_name: str) -> tuple[Tensor, ...]:
    """Normalise ``fn``'s return value to a tuple of tensors.

    Raises
    ------
    TypeError
        ``fn`` returned something other than a tensor or a tuple/list of tensors.
    """
    outs = (out,) if isinstance(out, Tensor) else out
    if not isinstance(outs, (tuple, list)) or not all(isinstance(o, Tensor) for o in outs):
        raise TypeError(
            f"{fn_name} must return a tensor or a tuple of tensors, got {type(out).__name__}"
        )
    return tuple(outs)


def output_names(n: int) -> list[str]:
    """``["out"]`` for one output, ``["out[0]", "out[1]", ...]`` otherwise."""
    return ["out"] if n == 1 else [f"out[{i}]" for i in range(n)]


def cast_for_check(fn: Callable[..., Any], dtype: torch.dtype) -> Callable[..., Any]:
    """``fn`` evaluated with its module's parameters and buffers cast to ``dtype``, on copies.

    An ``nn.Module`` is not deep-copied (a deep copy of an e3nn module
    re-generates its code, most of the time of a small check): it is called
    through ``torch.func.functional_call`` with a dictionary of copies of its
    parameters and buffers in ``dtype`` (integer buffers copied as they are).
    The user's module and its tensors are never modified, even by a forward
    pass that updates its buffers in place (running statistics). Its
    train/eval mode is kept. Anything else (a function, a method of a module)
    goes through :func:`symnet._util.cast_callable`.
    """
    if not isinstance(fn, nn.Module):
        return cast_callable(fn, dtype)
    tensors = {
        name: (t.detach().to(dtype) if t.is_floating_point() else t.detach()).clone()
        for name, t in (
            *fn.named_parameters(remove_duplicate=False),
            *fn.named_buffers(remove_duplicate=False),
        )
    }
    for name, p in fn.named_parameters(remove_duplicate=False):
        tensors[name].requires_grad_(p.requires_grad)
    module = fn

    def cast(*args: Any) -> Any:
        return functional_call(module, tensors, args, tie_weights=False, strict=False)

    cast.__name__ = type(fn).__name__
    cast.module = fn  # type: ignore[attr-defined]
    return cast


def _wrapped(x: Tensor) -> bool:
    """True for a tensor wrapped by a ``torch.func`` transform (no cheap comparison there)."""
    return bool(torch._C._functorch.is_functorch_wrapped_tensor(x))


class Caller:
    """``fn`` of the batched inputs, returning a tuple of tensors.

    Parameters
    ----------
    fn : callable
        The (cast) function under test.
    fn_name : str
        Its name, for messages.
    names : sequence of str
        Names of all of ``fn``'s arguments, in order (``"inputs[0]"``, ...).
    constants : sequence of (int, Tensor)
        Unbatched inputs of kind ``constant`` and their positions among all
        the arguments; the batched inputs fill the other positions.
    """

    def __init__(
        self,
        fn: Callable[..., Any],
        fn_name: str,
        names: Sequence[str],
        constants: Sequence[tuple[int, Tensor]] = (),
    ) -> None:
        self.fn = fn
        self.fn_name = fn_name
        self.names = tuple(names)
        self.constants = tuple(constants)
        self.calls = 0
        #: False once a stacked evaluation (see ``_stacked``) disagreed with single ones
        self.stackable = True

    def __call__(self, *xs: Tensor) -> tuple[Tensor, ...]:
        args = list(xs)
        for i, c in self.constants:
            args.insert(i, c)
        copies = [a.clone() for a in args]
        self.calls += 1
        out = as_outputs(self.fn(*copies), self.fn_name)
        if not any(_wrapped(a) for a in args):
            self._check_unchanged(args, copies)
        return out

    def _check_unchanged(self, given: Sequence[Tensor], copies: Sequence[Tensor]) -> None:
        for name, a, c in zip(self.names, given, copies, strict=True):
            same = a.shape == c.shape and a.dtype == c.dtype and torch.equal(a.detach(), c.detach())
            if not same:
                raise InputMutationError(
                    f"{self.fn_name} modifies its input {name} in place (an in-place operation "
                    f"on an argument, such as `x += emb`, `x.mul_(...)` or `x[...] = ...`): "
                    f"each evaluation of the check would see a different input, so no group "
                    f"element can be judged. Write `x = x + emb` in the model, or clone the "
                    f"input first (`x = x.clone()`)"
                )

    def fixing(self, fixed: Sequence[tuple[int, Tensor]]) -> Callable[..., tuple[Tensor, ...]]:
        """The call as a function of the other inputs, with ``fixed`` ones put back in place.

        Used by the derivative check: integer inputs (labels, indices) get no
        tangent, so the function it differentiates takes only the floating ones.
        Called with ``k`` stacked copies of the batch, it stacks the fixed
        inputs ``k`` times too.
        """
        if not fixed:
            return self

        def call(*xs: Tensor) -> tuple[Tensor, ...]:
            # a stack of k copies of the batch (see _stacked) gets k copies of the fixed inputs
            args = list(xs)
            for i, x in fixed:
                k = int(xs[0].shape[0]) // max(int(x.shape[0]), 1) if xs else 1
                args.insert(i, torch.cat([x] * k) if k > 1 else x)
            return self(*args)

        return call
