"""Translations of all particles by a common vector: the group ``R^d``.

Its Noether charge is the total linear momentum (see ``docs/theory.md``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import Tensor

from symnet.groups.abelian import VectorGroup
from symnet.groups.group import Group
from symnet.groups.kinds import Kind
from symnet.groups.utils import axis_names, particle_dim

__all__ = ["Translation", "axis_names"]


class Translation(VectorGroup, by_name="translation"):
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
    charge_symbol = "P"

    def __init__(self, dim: int, scale: float = 1.0) -> None:
        if not isinstance(dim, int) or dim < 1:
            raise ValueError(f"dim must be a positive int, got {dim!r}")
        self.dim = dim
        self.scale = self._check_scale(scale)

    @classmethod
    def from_config(
        cls,
        config_shape: tuple[int, ...],
        *,
        masses: Any = None,
        infer_masses: Callable[[], Any] | None = None,
    ) -> Group:
        """``Translation(d)`` for ``S = (N, d)``."""
        return cls(particle_dim("translation", config_shape))

    def __repr__(self) -> str:
        return f"Translation({self.dim})"

    def generator_names(self) -> list[str]:
        """``translation_x, translation_y, translation_z`` (d <= 3), else ``translation_0, ...``."""
        return axis_names("translation", self.dim)  # type: ignore[arg-type]

    def _shift(self, g: Tensor, x: Tensor, kind: Kind, t: Tensor | None) -> Tensor | None:
        if kind.name != "point":
            return None
        return self._bcast(g.to(x), x, 1)
