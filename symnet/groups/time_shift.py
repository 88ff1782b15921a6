"""Time translations ``t -> t + s``. The Noether charge is minus the energy."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from symnet.groups._base import Element, Group
from symnet.groups._generator import Generator
from symnet.groups._kinds import Kind

__all__ = ["TimeShift"]


class TimeShift(Group):
    """Shifts of time, ``t -> t + s``; generator ``time`` with ``tau = 1``, ``xi = 0``.

    Acts on ``time`` tensors only; every configuration kind is invariant.
    Accepts any configuration shape. Elements are shifts of shape ``(n,)``;
    :meth:`sample` draws them from ``N(0, scale^2)``.

    Examples
    --------
    >>> import torch
    >>> from symnet.groups import TimeShift
    >>> (gen,) = TimeShift().generators((4,))
    >>> gen.name, gen.tau
    ('time', 1.0)
    """

    name = "time"

    def __init__(self, scale: float = 1.0) -> None:
        if not scale > 0:
            raise ValueError(f"scale must be positive, got {scale!r}")
        self.scale = float(scale)

    def __repr__(self) -> str:
        return "TimeShift()"

    def generator_names(self) -> list[str]:
        """The single generator ``time``."""
        return ["time"]

    def _make_generator(self, name: str) -> Generator:
        return Generator(name, lambda q: torch.zeros_like(q), tau=1.0, group=self)

    def identity(self, n: int, config_shape: Sequence[int]) -> Element:
        """Zero shifts, shape ``(n,)``, float64."""
        return torch.zeros(n, dtype=torch.float64)

    def compose(self, g: Element, h: Element) -> Element:
        """The sum ``g + h`` (batches of 1 broadcast)."""
        self._check_pair(g, h)
        return g + h

    def inverse(self, g: Element) -> Element:
        """The negation ``-g``."""
        self._batch(g)
        return -g

    def sample(
        self, n: int, config_shape: Sequence[int], generator: torch.Generator | None = None
    ) -> Element:
        """``n`` time shifts from ``N(0, scale^2)``, shape ``(n,)``."""
        self.check_config(config_shape)
        return self.scale * torch.randn(n, generator=generator, dtype=torch.float64)

    def exp(self, name: str | Generator, s: Tensor, config_shape: Sequence[int]) -> Element:
        """The shifts ``s`` themselves, shape ``(n,)``."""
        self._resolve(name)
        return self._params(s).clone()

    def _act(self, g: Element, x: Tensor, kind: Kind, t: Tensor | None) -> Tensor:
        if kind.name != "time":
            return x.clone()
        return x + self._bcast(g.to(x), x, 0)

    def _act_inf(self, name: str, x: Tensor, kind: Kind, t: Tensor | None) -> Tensor:
        return torch.ones_like(x) if kind.name == "time" else torch.zeros_like(x)
