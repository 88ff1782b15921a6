"""Validation helpers shared by every group: element batches, parameters, times, layouts.

Private mixin of :class:`~symnet.groups.Group` (use the methods through any
group). Elements are tensors with a leading batch axis ``n``; two batches
combine when their sizes are equal or one of them is 1.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from symnet._util import check_tensor, format_shape
from symnet.groups.generator import Generator
from symnet.groups.kinds import Kind

__all__ = ["ElementChecks"]

Element = Any  # a Tensor with leading batch axis, or a tuple of them for product groups


class ElementChecks:
    """Mixin: checks of elements, generator names, times and parameters of a group."""

    dim: int | None = None

    def generator_names(self) -> list[str]:
        """Names of the Lie algebra generators (empty for discrete groups)."""
        return []

    def _layout_dim(self, kind: Kind) -> int | None:
        return self.dim if kind.name in ("point", "vector", "axial") else None

    def _resolve(self, name: str | Generator) -> str:
        if isinstance(name, Generator):
            name = name.name
        if name not in self.generator_names():
            known = ", ".join(self.generator_names()) or "none"
            raise ValueError(f"{self!r} has no generator {name!r}; its generators: {known}")
        return name

    @staticmethod
    def _time(t: Tensor | float | None, x: Tensor) -> Tensor | None:
        if t is None:
            return None
        t = torch.as_tensor(t, dtype=x.dtype, device=x.device)
        if t.numel() != 1 and (t.dim() != 1 or t.shape[0] != x.shape[0]):
            raise ValueError(
                f"t must be a scalar or have shape ({x.shape[0]},) to match x of shape "
                f"{format_shape(x.shape)}, got {format_shape(t.shape)}"
            )
        return t.reshape(-1)

    @staticmethod
    def _params(s: Tensor) -> Tensor:
        """Validate the parameters ``s`` of :meth:`exp`: a floating tensor of shape ``(n,)``."""
        s = check_tensor(s, "s")
        if s.dim() != 1:
            raise ValueError(f"s must have shape (n,), got {format_shape(s.shape)}")
        return s

    @staticmethod
    def _promote(g: Tensor, h: Tensor) -> tuple[Tensor, Tensor]:
        """Cast two elements to their common dtype (never down to float32)."""
        dtype = torch.promote_types(g.dtype, h.dtype)
        return g.to(dtype), h.to(dtype)

    def _batch(self, g: Element) -> int:
        if not isinstance(g, Tensor) or g.dim() < 1:
            got = format_shape(g.shape) if isinstance(g, Tensor) else type(g).__name__
            raise TypeError(
                f"an element of {self!r} is a Tensor with a leading batch axis, got {got}"
            )
        return int(g.shape[0])

    def _check_pair(self, g: Element, h: Element) -> None:
        """Check that two element batches compose: equal sizes, or one of them 1."""
        n, m = self._batch(g), self._batch(h)
        if n != m and 1 not in (n, m):
            raise ValueError(
                f"cannot compose element batches of sizes {n} and {m}; expected equal sizes "
                f"or a single element (n = 1)"
            )

    def _check_batch(self, g: Element, x: Tensor) -> None:
        n = self._batch(g)
        if n != 1 and n != x.shape[0]:
            raise ValueError(
                f"the group elements have batch size {n} but x has leading dimension "
                f"{x.shape[0]}; expected equal sizes or a single element (n = 1)"
            )

    @staticmethod
    def _bcast(v: Tensor, x: Tensor, trailing: int) -> Tensor:
        """Reshape a per-element tensor ``(n, *rest)`` to broadcast against ``x``."""
        rest = v.shape[1:]
        middle = x.dim() - 1 - trailing
        return v.reshape(v.shape[0], *([1] * middle), *rest)
