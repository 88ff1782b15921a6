"""Galilean boosts ``q_i -> q_i + t u``, a quasi-symmetry.

For ``L = sum_i 1/2 m_i |v_i|^2 - V(relative positions)`` a boost changes L by
a total derivative, ``delta L = d/dt sum_i m_i q_i . u``; the boundary term
``F = sum_i m_i q_i . u`` enters the charge ``K = (P t - sum_i m_i q_i) . u``,
the uniform motion of the centre of mass (REFERENCES.md section 1).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor

from symnet._util import check_tensor
from symnet.groups._base import Element, Group
from symnet.groups._generator import Generator
from symnet.groups._kinds import Kind
from symnet.groups.rotation import Rotation, rotate_vectors
from symnet.groups.translation import axis_names

__all__ = ["Boost"]


class Boost(Group):
    """Galilean boosts by a velocity ``u``: points move by ``t u``, velocities by ``u``.

    Acts on ``point`` tensors (at the time ``t`` passed to :meth:`act`,
    default 0) and on ``vector`` tensors as velocities. Elements are
    velocities of shape ``(n, d)``.

    Parameters
    ----------
    dim : int
        Spatial dimension.
    masses : float or Tensor
        Particle masses for the boundary term: a scalar (all equal) or shape ``(N,)``.
    scale : float
        Standard deviation of sampled boost velocities.

    Examples
    --------
    >>> import torch
    >>> from symnet.groups import Boost
    >>> gen = Boost(3, masses=torch.tensor([1.0, 2.0])).generators((2, 3))[0]
    >>> gen.name, gen.has_boundary
    ('boost_x', True)
    """

    name = "boost"
    normal = True

    def __init__(self, dim: int, masses: float | Tensor = 1.0, scale: float = 1.0) -> None:
        if not isinstance(dim, int) or dim < 1:
            raise ValueError(f"dim must be a positive int, got {dim!r}")
        if not scale > 0:
            raise ValueError(f"scale must be positive, got {scale!r}")
        m = check_tensor(torch.as_tensor(masses, dtype=torch.float64), "masses")
        if m.dim() > 1 or bool((m <= 0).any()):
            raise ValueError(
                "masses must be a positive scalar or a 1-D tensor of shape (N,), got "
                f"{m.tolist()!r}"
            )
        self.dim = dim
        self.masses = m.clone()
        self.scale = float(scale)

    def __repr__(self) -> str:
        m = self.masses
        ms = (
            f"{float(m):g}" if m.dim() == 0 else "[" + ", ".join(f"{v:g}" for v in m.tolist()) + "]"
        )
        return f"Boost({self.dim}, masses={ms})"

    def check_config(self, config_shape: Sequence[int]) -> tuple[int, ...]:
        """As :meth:`Group.check_config`; also ``N`` must match the number of masses."""
        shape = super().check_config(config_shape)
        if self.masses.dim() == 1 and self.masses.shape[0] != shape[0]:
            raise ValueError(
                f"{self!r} has {self.masses.shape[0]} masses but the configuration has "
                f"N = {shape[0]} particles"
            )
        return shape

    def generator_names(self) -> list[str]:
        """``boost_x, boost_y, boost_z`` (d <= 3), else ``boost_0, boost_1, ...``."""
        return axis_names("boost", self.dim)

    def _direction(self, name: str, like: Tensor) -> Tensor:
        e = torch.zeros(self.dim, dtype=like.dtype, device=like.device)
        e[self.generator_names().index(name)] = 1.0
        return e

    def _boundary(self, name: str) -> Callable[..., Tensor]:
        def boundary(q: Tensor, t: Tensor) -> Tensor:
            m = self.masses.to(q)
            m = m[:, None] if m.dim() == 1 else m
            return (m * q).sum(dim=-2) @ self._direction(name, q)

        return boundary

    def identity(self, n: int, config_shape: Sequence[int]) -> Element:
        """Zero velocities, shape ``(n, d)``, float64."""
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
        """``n`` boost velocities from ``N(0, scale^2 I)``, shape ``(n, d)``."""
        self.check_config(config_shape)
        return self.scale * torch.randn(n, self.dim, generator=generator, dtype=torch.float64)

    def exp(self, name: str | Generator, s: Tensor, config_shape: Sequence[int]) -> Element:
        """``s e_a`` for the generator's axis ``a``, shape ``(n, d)``."""
        name = self._resolve(name)
        s = self._params(s)
        return s[:, None] * self._direction(name, s)

    def conjugate(self, g: Element, by: Group, h: Element) -> Element:
        """``h g h^-1``: a rotation ``h`` rotates the velocity ``g``; other groups commute."""
        if isinstance(by, Rotation):
            return rotate_vectors(h, g)
        return g

    def _shift(self, g: Tensor, x: Tensor, kind: Kind, t: Tensor | None) -> Tensor | None:
        if kind.name == "vector":
            return self._bcast(g.to(x), x, 1)
        if kind.name == "point" and t is not None:
            return self._bcast(t.to(x)[:, None] * g.to(x), x, 1)
        return None

    def _act(self, g: Element, x: Tensor, kind: Kind, t: Tensor | None) -> Tensor:
        shift = self._shift(g, x, kind, t)
        return x.clone() if shift is None else x + shift

    def _act_inf(self, name: str, x: Tensor, kind: Kind, t: Tensor | None) -> Tensor:
        u = self._direction(name, x)[None].expand(x.shape[0], -1)
        shift = self._shift(u, x, kind, t)
        return torch.zeros_like(x) if shift is None else shift.expand_as(x).clone()
