"""Galilean boosts ``q_i -> q_i + t u``, a quasi-symmetry.

For ``L = sum_i 1/2 m_i |v_i|^2 - V(relative positions)`` a boost changes L by
a total derivative, ``delta L = d/dt sum_i m_i q_i . u``; the boundary term
``F = sum_i m_i q_i . u`` enters the charge ``K = (P t - sum_i m_i q_i) . u``,
the uniform motion of the centre of mass (see ``docs/theory.md``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor

from symnet._util import check_tensor
from symnet.groups.abelian import VectorGroup
from symnet.groups.group import Group
from symnet.groups.kinds import Kind
from symnet.groups.utils import axis_names, particle_dim

__all__ = ["Boost"]


class Boost(VectorGroup, by_name="boost"):
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
    >>> gen.name, gen.has_boundary, gen.charge_label
    ('boost_x', True, 'K_x')
    """

    name = "boost"
    normal = True
    charge_symbol = "K"

    def __init__(self, dim: int, masses: float | Tensor = 1.0, scale: float = 1.0) -> None:
        if not isinstance(dim, int) or dim < 1:
            raise ValueError(f"dim must be a positive int, got {dim!r}")
        scale = self._check_scale(scale)
        m = check_tensor(torch.as_tensor(masses, dtype=torch.float64), "masses")
        if m.dim() > 1 or bool((m <= 0).any()):
            raise ValueError(
                "masses must be a positive scalar or a 1-D tensor of shape (N,), got "
                f"{m.tolist()!r}"
            )
        self.dim = dim
        self.masses = m.clone()
        self.scale = scale

    @classmethod
    def from_config(
        cls,
        config_shape: tuple[int, ...],
        *,
        masses: Any = None,
        infer_masses: Callable[[], Any] | None = None,
    ) -> Group:
        """``Boost(d, masses)`` for ``S = (N, d)``; masses from ``infer_masses()`` if not given.

        Raises
        ------
        ValueError
            Neither ``masses`` nor ``infer_masses`` (a boost never assumes unit masses).
        """
        d = particle_dim("boost", config_shape)
        if masses is None:
            if infer_masses is None:
                raise ValueError(
                    "symmetry 'boost' given by name needs the particle masses: pass masses= "
                    "(a positive number or a tensor of shape (N,)), or a Boost(dim, masses) group"
                )
            masses = infer_masses()
        return cls(d, masses)

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
        return axis_names("boost", self.dim)  # type: ignore[arg-type]

    def _boundary(self, name: str) -> Callable[..., Tensor]:
        def boundary(q: Tensor, t: Tensor) -> Tensor:
            m = self.masses.to(q)
            m = m[:, None] if m.dim() == 1 else m
            return (m * q).sum(dim=-2) @ self._direction(name, q)

        return boundary

    def _shift(self, g: Tensor, x: Tensor, kind: Kind, t: Tensor | None) -> Tensor | None:
        if kind.name == "vector":
            return self._bcast(g.to(x), x, 1)
        if kind.name == "point" and t is not None:
            return self._bcast(t.to(x)[:, None] * g.to(x), x, 1)
        return None
