"""The states a fixed-step rollout keeps, and its NaN/inf check per block of steps.

Private module of :mod:`symnet.mechanics._stepping`.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["CHECK_EVERY", "Recorder"]

#: Steps per NaN/inf check (and at most between two progress calls).
CHECK_EVERY = 64


class Recorder:
    """Collects the states of a rollout and checks them for NaN/inf in blocks.

    Appending to a list and stacking once at the end costs less per step than
    copying every state into a preallocated buffer, and it records the graph
    when autograd needs it.

    With ``every > 1`` only the states of steps ``0, every, 2 every, ...``
    are kept once checked; the others live in a window of the latest block
    (the steps since the last check and the state before them, which a rerun
    starts from), so memory is ``O(steps / every + CHECK_EVERY)`` states.
    Attributes ``xs``, ``ys`` hold that window: states ``base .. base + len - 1``.
    """

    def __init__(self, x0: Tensor, y0: Tensor, every: int = 1) -> None:
        self.every = every
        self.kept_x: list[Tensor] = []
        self.kept_y: list[Tensor] = []
        self.xs = [x0]
        self.ys = [y0]
        self.base = 0
        self.checked = 1

    def append(self, x: Tensor, y: Tensor) -> None:
        self.xs.append(x)
        self.ys.append(y)

    def truncate(self, k: int) -> None:
        """Keep the states ``0 .. k - 1`` only (``k - 1`` must be in the window)."""
        del self.xs[k - self.base :], self.ys[k - self.base :]
        self.checked = min(self.checked, k)

    def _kept(self, lo: int, hi: int) -> range:
        """Window positions of the recorded steps in ``[lo, hi)`` (multiples of ``every``)."""
        first = -(-lo // self.every) * self.every
        return range(first - self.base, hi - self.base, self.every)

    def stacked(self) -> tuple[Tensor, Tensor]:
        """The recorded states, shape (K, B, *S): steps ``0, every, ...`` held."""
        idx = self._kept(self.base, self.base + len(self.xs))
        xs = self.kept_x + [self.xs[i] for i in idx]
        ys = self.kept_y + [self.ys[i] for i in idx]
        return torch.stack(xs), torch.stack(ys)

    def first_nonfinite(self) -> tuple[int, int] | None:
        """``(step, batch index)`` of the first NaN/inf state in the window, or None."""
        xs, ys = torch.stack(self.xs).detach(), torch.stack(self.ys).detach()
        bad = ~(torch.isfinite(xs).flatten(2).all(-1) & torch.isfinite(ys).flatten(2).all(-1))
        if not bool(bad.any()):
            return None
        k = int(bad.any(dim=1).nonzero()[0, 0])
        return self.base + k, int(bad[k].nonzero()[0, 0])

    def _compact(self) -> None:
        """Drop checked states before ``checked - 1`` from the window; keep the recorded ones."""
        stop = self.checked - 1
        if stop <= self.base:
            return
        for i in self._kept(self.base, stop):
            self.kept_x.append(self.xs[i])
            self.kept_y.append(self.ys[i])
        del self.xs[: stop - self.base], self.ys[: stop - self.base]
        self.base = stop

    def block_finite(self) -> Tensor | None:
        """Whether every state appended since the last call is finite.

        A 0-d bool tensor (no synchronisation); None when there is none.
        """
        self._compact()
        lo, hi = self.checked - self.base, len(self.xs)
        self.checked = self.base + hi
        if hi <= lo:
            return None
        xs = torch.stack([s.detach() for s in self.xs[lo:hi]])
        ys = torch.stack([s.detach() for s in self.ys[lo:hi]])
        return torch.isfinite(xs).all() & torch.isfinite(ys).all()
