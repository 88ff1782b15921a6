"""Time translations ``t -> t + s``. The Noether charge is minus the energy."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from symnet.groups.abelian import VectorGroup
from symnet.groups.generator import Generator
from symnet.groups.group import Group
from symnet.groups.kinds import Kind

__all__ = ["TimeShift"]


class TimeShift(VectorGroup, by_name="time"):
    """Shifts of time, ``t -> t + s``; generator ``time`` with ``tau = 1``, ``xi = 0``.

    Acts on ``time`` tensors only; every configuration kind is invariant.
    Accepts any configuration shape. Elements are shifts of shape ``(n,)``;
    :meth:`sample` draws them from ``N(0, scale^2)``. Its charge is ``-E``.

    Examples
    --------
    >>> import torch
    >>> from symnet.groups import TimeShift
    >>> (gen,) = TimeShift().generators((4,))
    >>> gen.name, gen.tau, gen.charge_label
    ('time', 1.0, '-E')
    """

    name = "time"
    charge_symbol = "E"
    scalar_elements = True

    def __init__(self, scale: float = 1.0) -> None:
        self.scale = self._check_scale(scale)

    @classmethod
    def from_config(
        cls,
        config_shape: tuple[int, ...],
        *,
        masses: Any = None,
        infer_masses: Callable[[], Any] | None = None,
    ) -> Group:
        """``TimeShift()``, whatever the shape."""
        return cls()

    def __repr__(self) -> str:
        return "TimeShift()"

    def charge_label(self, generator: str | Generator) -> str:
        """``-E``: the Noether charge of a time shift is minus the energy."""
        return f"-{self.charge_symbol}"

    def generator_names(self) -> list[str]:
        """The single generator ``time``."""
        return ["time"]

    def _make_generator(self, name: str) -> Generator:
        return Generator(name, lambda q: torch.zeros_like(q), tau=1.0, group=self)

    def _shift(self, g: Tensor, x: Tensor, kind: Kind, t: Tensor | None) -> Tensor | None:
        if kind.name != "time":
            return None
        return self._bcast(g.to(x), x, 0)
