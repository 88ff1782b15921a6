"""The reflection group {I, P} of order 2: parity, and with rotations O(d).

The reflection ``P`` is the inversion ``P = -I`` in odd ``d`` (central: it
commutes with every rotation; for d = 3 it is e3nn's parity, and an irrep of
parity ``p`` is multiplied by ``p``) and the mirror ``P = diag(-1, 1, ..., 1)``
(``x -> -x`` of the first axis) in even ``d``, where ``-I`` is a rotation.
Either way ``det P = -1``, so ``Rotation(d) * Reflection(d)`` is O(d) and
``Translation(d) * Rotation(d) * Reflection(d)`` is E(d) with reflections.
A mirror does not commute with rotations: products conjugate the rotation
(:meth:`Group.conjugated_by`), in any factor order.

On tensors (``s = det P = -1``): points and vectors ``x -> P x``; axial
vectors ``v -> det(P) P v``; pseudoscalars ``s -> -s``; e3nn irreps by
``D_from_matrix(P)`` (d = 3 only); scalars, globals, times, labels and
indices are invariant.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import torch
from torch import Tensor

from symnet._util import format_shape
from symnet.groups.group import Element, Group
from symnet.groups.kinds import Kind
from symnet.groups.utils import particle_dim
from symnet.groups.wigner import parity_signs

__all__ = ["Reflection"]


class Reflection(Group, by_name="reflection"):
    """The order-2 group ``{I, P}``: inversion ``-I`` (odd d) or the mirror of axis 0 (even d).

    Elements are signs ``det`` of shape ``(n,)`` (float64): ``+1`` is the
    identity, ``-1`` is ``P``. :meth:`sample` draws both with probability
    1/2. Discrete: no Lie algebra, no Noether charge; its discrete generator
    is ``("reflection", P)``.

    Parameters
    ----------
    dim : int
        Spatial dimension ``d >= 1``.

    Examples
    --------
    >>> import torch
    >>> from symnet.groups import Reflection, Rotation
    >>> Reflection(3).orthogonal_matrix(torch.tensor([-1.0]))[0].diagonal()
    tensor([-1., -1., -1.], dtype=torch.float64)
    >>> Reflection(2).orthogonal_matrix(torch.tensor([-1.0]))[0].diagonal()
    tensor([-1.,  1.], dtype=torch.float64)
    >>> Rotation(3) * Reflection(3)
    Rotation(3) x Reflection(3)
    >>> x = torch.tensor([[[1.0, 2.0, 3.0]]])
    >>> G = Reflection(3)
    >>> G.act(torch.tensor([-1.0]), x, "vector"), G.act(torch.tensor([-1.0]), x, "axial")
    (tensor([[[-1., -2., -3.]]]), tensor([[[1., 2., 3.]]]))
    """

    name = "reflection"
    discrete = True
    orthogonal: ClassVar[bool] = True

    def __init__(self, dim: int) -> None:
        if not isinstance(dim, int) or isinstance(dim, bool) or dim < 1:
            raise ValueError(f"dim must be a positive int, got {dim!r}")
        self.dim = dim

    @classmethod
    def from_config(
        cls,
        config_shape: tuple[int, ...],
        *,
        masses: Any = None,
        infer_masses: Callable[[], Any] | None = None,
    ) -> Group:
        """``Reflection(d)`` for ``S = (N, d)``."""
        return cls(particle_dim("reflection", config_shape))

    def __repr__(self) -> str:
        return f"Reflection({self.dim})"

    @property
    def inversion(self) -> bool:
        """True when ``P = -I`` (odd ``d``); False for the mirror of axis 0 (even ``d``)."""
        return self.dim % 2 == 1  # type: ignore[operator]

    def supports_kind(self, kind: Kind) -> bool:
        """e3nn irreps need d = 3 (where ``P = -I`` is e3nn's parity); every other kind fits."""
        if kind.name == "irreps":
            return self.dim == 3
        return True

    # ----------------------------------------------------------------- elements
    def _batch(self, g: Element) -> int:
        n = super()._batch(g)
        if g.dim() != 1 or not g.is_floating_point():
            raise TypeError(
                f"an element of {self!r} is a floating tensor of signs +-1 of shape (n,), got "
                f"{format_shape(g.shape)} of dtype {g.dtype}"
            )
        return n

    def identity(self, n: int, config_shape: Sequence[int]) -> Element:
        """``+1`` for each of the ``n`` elements, shape ``(n,)``, float64."""
        return torch.ones(n, dtype=torch.float64)

    def compose(self, g: Element, h: Element) -> Element:
        """The product of the signs (batches of 1 broadcast)."""
        self._check_pair(g, h)
        g, h = self._promote(g, h)
        return g * h

    def inverse(self, g: Element) -> Element:
        """``g`` itself: ``P^2 = I``."""
        self._batch(g)
        return g.clone()

    def _sample(
        self, n: int, config_shape: tuple[int, ...], gen: torch.Generator | None
    ) -> Element:
        """``n`` uniform draws from ``{+1, -1}``, shape ``(n,)``, float64."""
        bits = torch.randint(0, 2, (n,), generator=gen)
        return (1 - 2 * bits).to(torch.float64)

    def elements(self, config_shape: Sequence[int]) -> Element:
        """``[+1, -1]``: the identity and ``P``, shape ``(2,)``."""
        self.check_config(config_shape)
        return torch.tensor([1.0, -1.0], dtype=torch.float64)

    def order(self, config_shape: Sequence[int]) -> int:
        """2."""
        self.check_config(config_shape)
        return 2

    def discrete_generators(self, config_shape: Sequence[int]) -> list[tuple[str, Element]]:
        """``[("reflection", P)]`` with ``P`` as a batch of one, ``tensor([-1.])``."""
        self.check_config(config_shape)
        return [("reflection", torch.tensor([-1.0], dtype=torch.float64))]

    def orthogonal_matrix(self, g: Element, dtype: torch.dtype = torch.float64) -> Tensor:
        """``diag(m)``, ``m = (s, ..., s)`` (odd d), ``(s, 1, ..., 1)`` (even d): ``(n, d, d)``."""
        self._batch(g)
        return torch.diag_embed(self._diagonal(g.to(dtype)))

    def _diagonal(self, s: Tensor) -> Tensor:
        """The diagonal of ``P^k`` for signs ``s`` (shape ``(n,)``), shape ``(n, d)``."""
        d = int(self.dim)  # type: ignore[arg-type]
        if self.inversion:
            return s[:, None].expand(-1, d).clone()
        rest = torch.ones(s.shape[0], d - 1, dtype=s.dtype, device=s.device)
        return torch.cat([s[:, None], rest], dim=1)

    # ------------------------------------------------------------------ actions
    def _act(self, g: Element, x: Tensor, kind: Kind, t: Tensor | None) -> Tensor:
        s = g.to(x)
        if kind.name in ("point", "vector", "axial"):
            m = self._diagonal(s)
            if kind.name == "axial":
                m = m * s[:, None]
            return x * self._bcast(m, x, 1)
        if kind.name == "pseudoscalar":
            return x * self._bcast(s, x, 0)
        if kind.name == "irreps":
            if self.dim != 3:
                raise ValueError(f"{self!r} cannot act on {kind}: e3nn irreps need d = 3")
            p = parity_signs(kind.irreps, x.dtype).to(x.device)
            factor = torch.where(s[:, None] < 0, p, torch.ones_like(p))  # (n, dim)
            return x * self._bcast(factor, x, 1)
        return x.clone()

    def _act_inf(self, name: str, x: Tensor, kind: Kind, t: Tensor | None) -> Tensor:
        raise ValueError(f"{self!r} is discrete and has no infinitesimal generators")
