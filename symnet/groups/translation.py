"""Translations of all particles by a common vector: the group ``R^d``.

Its Noether charge is the total linear momentum (see ``docs/theory.md``). In a
periodic box (``Translation(d, box=PeriodicBox(...))``) the group is the torus
``R^d / L Z^d`` and translated positions are wrapped back into the box.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import Tensor

from symnet.groups.abelian import VectorGroup
from symnet.groups.box import PeriodicBox
from symnet.groups.group import Group
from symnet.groups.kinds import Kind
from symnet.groups.utils import axis_names, particle_dim

__all__ = ["Translation", "axis_names"]


class Translation(VectorGroup, by_name="translation"):
    """Translation of every particle by the same vector ``a``: ``q_i -> q_i + a``.

    Acts on ``point`` tensors only; vectors, scalars, globals and irreps are
    invariant. Elements are tensors of shape ``(n, d)``.

    With a periodic ``box`` the finite action on points is
    ``box.wrap(q + a)``: positions stay in the box, and a function of
    minimum-image displacements (:meth:`PeriodicBox.displacement`) is
    invariant while one of plain differences ``q_i - q_j`` is not once a
    particle crosses a face. The infinitesimal action (the generators, the
    Noether charge: total momentum) is unchanged, ``d/ds (q + s e_a) = e_a``.
    Rotations are not symmetries of a box: a periodic system lists them among
    its broken symmetries, and a boxed translation cannot be multiplied with
    :class:`~symnet.groups.Rotation`.

    Parameters
    ----------
    dim : int
        Spatial dimension ``d``.
    scale : float
        Standard deviation of the isotropic Gaussian that :meth:`sample` draws
        translation vectors from (default 1.0).
    box : PeriodicBox, optional
        A periodic box of dimension ``dim``; translated points are wrapped into
        it. None (the default): free space.

    Examples
    --------
    >>> import torch
    >>> from symnet.groups import Translation
    >>> T = Translation(3)
    >>> [g.name for g in T.generators((2, 3))]
    ['translation_x', 'translation_y', 'translation_z']
    >>> T.act(torch.tensor([[1.0, 2.0, 3.0]]), torch.zeros(1, 2, 3), "point")[0, 1]
    tensor([1., 2., 3.])
    >>> from symnet.groups import PeriodicBox
    >>> Tp = Translation(2, box=PeriodicBox([4.0, 4.0]))
    >>> Tp
    Translation(2, box=PeriodicBox([4.0, 4.0]))
    >>> Tp.act(torch.tensor([[1.0, -1.0]]), torch.tensor([[[3.5, 0.5]]]), "point")
    tensor([[[0.5000, 3.5000]]])
    """

    name = "translation"
    normal = True
    charge_symbol = "P"
    box: PeriodicBox | None = None

    def __init__(self, dim: int, scale: float = 1.0, box: PeriodicBox | None = None) -> None:
        if not isinstance(dim, int) or dim < 1:
            raise ValueError(f"dim must be a positive int, got {dim!r}")
        if box is not None:
            if not isinstance(box, PeriodicBox):
                raise ValueError(
                    f"box must be a symnet.groups.PeriodicBox or None, got {type(box).__name__}"
                )
            if box.dim != dim:
                raise ValueError(f"box must have dimension dim={dim}, got {box!r} (dim={box.dim})")
        self.dim = dim
        self.scale = self._check_scale(scale)
        self.box = box

    @classmethod
    def from_config(
        cls,
        config_shape: tuple[int, ...],
        *,
        masses: Any = None,
        infer_masses: Callable[[], Any] | None = None,
    ) -> Group:
        """``Translation(d)`` for ``S = (N, d)`` (free space: a name carries no box)."""
        return cls(particle_dim("translation", config_shape))

    def __repr__(self) -> str:
        if self.box is None:
            return f"Translation({self.dim})"
        return f"Translation({self.dim}, box={self.box!r})"

    def generator_names(self) -> list[str]:
        """``translation_x, translation_y, translation_z`` (d <= 3), else ``translation_0, ...``."""
        return axis_names("translation", self.dim)  # type: ignore[arg-type]

    def _shift(self, g: Tensor, x: Tensor, kind: Kind, t: Tensor | None) -> Tensor | None:
        if kind.name != "point":
            return None
        return self._bcast(g.to(x), x, 1)

    def _act(self, g: Tensor, x: Tensor, kind: Kind, t: Tensor | None) -> Tensor:
        moved = super()._act(g, x, kind, t)
        if self.box is None or kind.name != "point":
            return moved
        return self.box.wrap(moved)
