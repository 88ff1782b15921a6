"""Translations of all particles by a common vector: the group ``R^d``.

Its Noether charge is the total linear momentum (REFERENCES.md section 1).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from symnet.groups._base import Element, Group
from symnet.groups._generator import Generator
from symnet.groups._kinds import Kind
from symnet.groups.rotation import Rotation, rotate_vectors

__all__ = ["Translation", "axis_names"]


def axis_names(prefix: str, dim: int) -> list[str]:
    """``prefix_x, prefix_y, prefix_z`` for ``dim <= 3``, else ``prefix_0, prefix_1, ...``."""
    if dim <= 3:
        return [f"{prefix}_{a}" for a in "xyz"[:dim]]
    return [f"{prefix}_{i}" for i in range(dim)]


class Translation(Group):
    """Translation of every particle by the same vector ``a``: ``q_i -> q_i + a``.

    Acts on ``point`` tensors only; vectors, scalars, globals and irreps are
    invariant. Elements are tensors of shape ``(n, d)``.

    Parameters
    ----------
    dim : int
        Spatial dimension ``d``.
    scale : float
        Standard deviation of the isotropic Gaussian that :meth:`sample` draws
        translation vectors from (default 1.0).

    Examples
    --------
    >>> import torch
    >>> from symnet.groups import Translation
    >>> T = Translation(3)
    >>> [g.name for g in T.generators((2, 3))]
    ['translation_x', 'translation_y', 'translation_z']
    >>> T.act(torch.tensor([[1.0, 2.0, 3.0]]), torch.zeros(1, 2, 3), "point")[0, 1]
    tensor([1., 2., 3.])
    """

    name = "translation"
    normal = True

    def __init__(self, dim: int, scale: float = 1.0) -> None:
        if not isinstance(dim, int) or dim < 1:
            raise ValueError(f"dim must be a positive int, got {dim!r}")
        if not scale > 0:
            raise ValueError(f"scale must be positive, got {scale!r}")
        self.dim = dim
        self.scale = float(scale)

    def __repr__(self) -> str:
        return f"Translation({self.dim})"

    def generator_names(self) -> list[str]:
        """``translation_x, translation_y, translation_z`` (d <= 3), else ``translation_0, ...``."""
        return axis_names("translation", self.dim)

    def _direction(self, name: str, like: Tensor) -> Tensor:
        e = torch.zeros(self.dim, dtype=like.dtype, device=like.device)
        e[self.generator_names().index(name)] = 1.0
        return e

    def identity(self, n: int, config_shape: Sequence[int]) -> Element:
        """Zero vectors, shape ``(n, d)``, float64."""
        return torch.zeros(n, self.dim, dtype=torch.float64)

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
        """``n`` translation vectors from ``N(0, scale^2 I)``, shape ``(n, d)``."""
        self.check_config(config_shape)
        return self.scale * torch.randn(n, self.dim, generator=generator, dtype=torch.float64)

    def exp(self, name: str | Generator, s: Tensor, config_shape: Sequence[int]) -> Element:
        """``s e_a`` for the generator's axis ``a``, shape ``(n, d)``."""
        name = self._resolve(name)
        s = self._params(s)
        return s[:, None] * self._direction(name, s)

    def conjugate(self, g: Element, by: Group, h: Element) -> Element:
        """``h g h^-1``: a rotation ``h`` rotates the vector ``g``; other groups commute."""
        if isinstance(by, Rotation):
            return rotate_vectors(h, g)
        return g

    def _act(self, g: Element, x: Tensor, kind: Kind, t: Tensor | None) -> Tensor:
        if kind.name != "point":
            return x.clone()
        return x + self._bcast(g.to(x), x, 1)

    def _act_inf(self, name: str, x: Tensor, kind: Kind, t: Tensor | None) -> Tensor:
        if kind.name != "point":
            return torch.zeros_like(x)
        return self._direction(name, x).expand_as(x).clone()
