"""The vector group ``R^k`` shared by translations, boosts and time shifts.

Elements are vectors of shape ``(n, k)`` (``(n,)`` when the group is
one-dimensional and scalar, like a time shift); composition is addition, the
inverse is negation, ``exp(s X_a) = s e_a`` and samples are isotropic
Gaussians of standard deviation ``scale``. Subclasses only say how an element
acts on each kind of tensor (:meth:`VectorGroup._shift`).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from symnet.groups.generator import Generator
from symnet.groups.group import Element, Group
from symnet.groups.kinds import Kind

__all__ = ["VectorGroup"]


class VectorGroup(Group):
    """Abstract base of the abelian groups ``R^k`` acting by shifts.

    Attributes
    ----------
    scale : float
        Standard deviation of the Gaussian :meth:`sample` draws from.
    scalar_elements : bool
        True when elements have shape ``(n,)`` instead of ``(n, k)`` (``k = 1``).
    """

    scale: float = 1.0
    scalar_elements: bool = False

    @staticmethod
    def _check_scale(scale: float) -> float:
        if not scale > 0:
            raise ValueError(f"scale must be positive, got {scale!r}")
        return float(scale)

    @property
    def _k(self) -> int:
        return 1 if self.scalar_elements else int(self.dim)  # type: ignore[arg-type]

    def _element_shape(self, n: int) -> tuple[int, ...]:
        return (n,) if self.scalar_elements else (n, self._k)

    def _direction(self, name: str, like: Tensor) -> Tensor:
        """The unit vector ``e_a`` of generator ``name``, shape ``(k,)`` (``()`` if scalar)."""
        if self.scalar_elements:
            return torch.ones((), dtype=like.dtype, device=like.device)
        e = torch.zeros(self._k, dtype=like.dtype, device=like.device)
        e[self.generator_names().index(name)] = 1.0
        return e

    def identity(self, n: int, config_shape: Sequence[int]) -> Element:
        """Zero vectors, shape ``(n, k)`` (``(n,)`` for scalar elements), float64."""
        return torch.zeros(self._element_shape(n), dtype=torch.float64)

    def compose(self, g: Element, h: Element) -> Element:
        """The sum ``g + h`` (batches of 1 broadcast)."""
        self._check_pair(g, h)
        return g + h

    def inverse(self, g: Element) -> Element:
        """The negation ``-g``."""
        self._batch(g)
        return -g

    def _sample(
        self, n: int, config_shape: tuple[int, ...], gen: torch.Generator | None
    ) -> Element:
        """``n`` vectors from ``N(0, scale^2 I)``."""
        return self.scale * torch.randn(self._element_shape(n), generator=gen, dtype=torch.float64)

    def exp(self, name: str | Generator, s: Tensor, config_shape: Sequence[int]) -> Element:
        """``s e_a`` for the generator's axis ``a``, shape ``(n, k)`` (``(n,)`` if scalar)."""
        name = self._resolve(name)
        s = self._params(s)
        if self.scalar_elements:
            return s.clone()
        return s[:, None] * self._direction(name, s)

    def conjugate(self, g: Element, by: Group, h: Element) -> Element:
        """``h g h^-1``: an orthogonal ``h`` (rotation, reflection) maps the shift ``g`` to ``M g``.

        Groups without an orthogonal part (:meth:`Group.orthogonal_matrix` is
        None) commute with ``g``.
        """
        if self.scalar_elements:
            return g
        M = by.orthogonal_matrix(h, torch.promote_types(g.dtype, torch.float64))
        if M is None:
            return g
        from symnet.groups.rotation import rotate_vectors

        return rotate_vectors(M, g)

    def _shift(self, g: Tensor, x: Tensor, kind: Kind, t: Tensor | None) -> Tensor | None:
        """What element(s) ``g`` (shape ``(n, k)`` or ``(n,)``) add to ``x``; None: invariant."""
        raise NotImplementedError

    def _act(self, g: Element, x: Tensor, kind: Kind, t: Tensor | None) -> Tensor:
        shift = self._shift(g, x, kind, t)
        return x.clone() if shift is None else x + shift

    def _act_inf(self, name: str, x: Tensor, kind: Kind, t: Tensor | None) -> Tensor:
        u = self._direction(name, x).expand(self._element_shape(x.shape[0]))
        shift = self._shift(u, x, kind, t)
        return torch.zeros_like(x) if shift is None else shift.expand_as(x).clone()
