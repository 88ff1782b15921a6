"""Deferred checks: the per-evaluation error flags of a rollout, read once per block.

Private module. A checked field evaluation (the mass-matrix solve of a
Lagrangian field, a compiled field's mask) decides whether to raise from a
flag computed on the device; reading it (``bool(flag)``) waits for the
device. Inside :meth:`Deferred.step` the evaluations do not read their flags:
they hand them to :func:`note` (which ORs them on the device) and return NaN
where they would have raised. The rollout reads the flags of a block of steps
at once (:meth:`Deferred.take`, read with the block's NaN/inf check: one
synchronisation per block) and runs the first
flagged step again without deferral, which raises the error of an undeferred
rollout: same step, batch index and message.

Outside :meth:`Deferred.step` (a direct call of a field) nothing changes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import torch
from torch import Tensor

__all__ = ["Deferred", "deferring", "lookup", "note"]


class _Sink:
    """The OR of the flags noted during one step (a 0-d bool tensor, or None)."""

    __slots__ = ("flag",)

    def __init__(self) -> None:
        self.flag: Tensor | None = None


_SINK: ContextVar[_Sink | None] = ContextVar("symnet_deferred_checks", default=None)


def deferring() -> bool:
    """Whether the evaluations running now hand their flags to :func:`note`.

    Never inside a ``torch.func`` transform (its flags could not leave it).
    """
    return _SINK.get() is not None and torch._C._functorch.peek_interpreter_stack() is None


def note(bad: Tensor) -> None:
    """Record the mask ``bad`` (B,) bool of an evaluation (no host synchronisation)."""
    sink = _SINK.get()
    if sink is None:
        raise RuntimeError("symnet.mechanics._deferred.note called outside Deferred.step")
    flag = bad.detach().any()
    sink.flag = flag if sink.flag is None else sink.flag | flag


class Deferred:
    """The flags of the deferred steps of one rollout, per step number."""

    def __init__(self) -> None:
        self.steps: list[int] = []
        self.flags: list[Tensor] = []

    @contextmanager
    def step(self, number: int) -> Iterator[None]:
        """Run step ``number`` with its evaluations' flags deferred."""
        sink = _Sink()
        token = _SINK.set(sink)
        try:
            yield
        finally:
            _SINK.reset(token)
            if sink.flag is not None:
                self.steps.append(number)
                self.flags.append(sink.flag)

    def take(self) -> tuple[list[int], Tensor | None]:
        """The steps noted since the last call, and where the first flagged one is.

        The position (a 0-d tensor on the device, -1 when none is flagged)
        indexes the list of steps; both are forgotten here. No host
        synchronisation (``None`` when no step noted a flag).
        """
        if not self.flags:
            return [], None
        steps, flags = self.steps, self.flags
        self.steps, self.flags = [], []
        hit = torch.stack(flags)
        first = torch.argmax(hit.to(torch.uint8))  # the first True, if any
        return steps, torch.where(hit.any(), first, -1)

    def first_bad(self) -> int | None:
        """The first flagged step since the last call, or None; forgets them all.

        One host synchronisation when a step noted a flag, none otherwise.
        """
        steps, found = self.take()
        return None if found is None else lookup(steps, int(found))


def lookup(steps: list[int], found: int) -> int | None:
    """The step at position ``found`` of :meth:`Deferred.take`'s list, None for -1."""
    return None if found < 0 else steps[found]
