"""The one-parameter group ``exp(s X)`` of a single :class:`~symnet.groups.Generator`.

Any generator, built-in or user-defined, becomes a group with
:class:`OneParameterGroup` (or :func:`as_group`), so that it works wherever a
group does: the symmetry assertions, equivariant layers, the checker.
Elements are parameters ``s`` of shape ``(n,)``.

The finite action on points is the flow of ``xi``: exact (a matrix
exponential) for an affine generator ``xi(q) = q A^T + b`` built with
:meth:`Generator.linear`, else integrated with ``steps`` classical Runge-Kutta
steps (error about ``(s / steps)^4``). Vectors (differences of points)
transform by the linear part ``exp(s A)`` only, which needs an affine
generator; scalars and globals are invariant; times move by ``s tau``.

Examples
--------
>>> import torch
>>> from symnet.groups import Generator, OneParameterGroup
>>> Jz = torch.tensor([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
>>> screw = OneParameterGroup(Generator.linear("screw", Jz, torch.tensor([0.0, 0.0, 0.5])))
>>> g = screw.exp("screw", torch.tensor([torch.pi / 2]), (1, 3))
>>> screw.act(g, torch.tensor([[[1.0, 0.0, 0.0]]]), "point").round(decimals=4)
tensor([[[0.0000, 1.0000, 0.7854]]])
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from symnet.groups.abelian import VectorGroup
from symnet.groups.generator import Generator
from symnet.groups.group import Group
from symnet.groups.kinds import Kind

__all__ = ["OneParameterGroup", "as_group"]


class OneParameterGroup(VectorGroup):
    """The group ``{exp(s X)}`` of one generator ``X``, elements ``s`` of shape ``(n,)``.

    Parameters
    ----------
    generator : Generator
        The generator; with ``matrix`` set (:meth:`Generator.linear`) the group
        acts on particles in ``d = matrix.shape[0]`` dimensions.
    scale : float
        Standard deviation of the parameters :meth:`sample` draws.
    steps : int
        Runge-Kutta steps of the flow of a generator that is not affine.
    charge_symbol : str, optional
        Symbol of the Noether charge (default: ``J[name]`` labels).
    """

    scalar_elements = True

    def __init__(
        self,
        generator: Generator,
        *,
        scale: float = 1.0,
        steps: int = 64,
        charge_symbol: str | None = None,
    ) -> None:
        if not isinstance(generator, Generator):
            raise TypeError(f"generator must be a Generator, got {type(generator).__name__}")
        self.scale = self._check_scale(scale)
        self.steps = int(steps)
        self.name = generator.name
        if charge_symbol is not None:
            self.charge_symbol = charge_symbol  # type: ignore[misc]
        self.source = generator
        self.dim = None if generator.matrix is None else int(generator.matrix.shape[0])
        # a generator of a group acting on a periodic box (Translation(d, box=...)) moves
        # points on that torus: the flow is wrapped into the box like the group's own action
        self.box = getattr(generator.group, "box", None)
        self._gen = Generator(
            generator.name,
            generator._xi,
            tau=generator.tau,
            boundary=generator._boundary,
            group=self,
            matrix=generator.matrix,
            offset=generator.offset,
        )

    def __repr__(self) -> str:
        return f"OneParameterGroup({self.name!r}, #{self._fingerprint()})"

    def _fingerprint(self) -> str:
        """Six hex digits identifying the generator (its matrix and offset, or its function)."""
        g = self._gen
        if g.matrix is None:
            key: Any = (id(self.source._xi), g.tau)
        else:
            off = None if g.offset is None else g.offset.tolist()
            key = (g.matrix.tolist(), off, g.tau)
        if self.box is not None:
            key = (key, repr(self.box))
        return hashlib.sha1(repr(key).encode()).hexdigest()[:6]

    def generator_names(self) -> list[str]:
        """The single generator's name."""
        return [self.name]

    def _make_generator(self, name: str) -> Generator:
        return self._gen

    def supports_kind(self, kind: Kind) -> bool:
        """All kinds but irreps; vectors, axial vectors, pseudoscalars need an affine generator."""
        if kind.name == "irreps":
            return False
        return kind.name not in ("vector", "axial", "pseudoscalar") or self._gen.matrix is not None

    # ------------------------------------------------------------------ actions
    def _linear(self, x: Tensor) -> Tensor:
        if self._gen.matrix is None:
            raise ValueError(
                f"{self!r} acts on vectors only for an affine generator (Generator.linear)"
            )
        return self._gen.matrix.to(x)

    def _affine(self, s: Tensor, x: Tensor) -> tuple[Tensor, Tensor]:
        """``exp(s A)`` and the translation part of the flow, shapes ``(n, d, d)``, ``(n, d)``."""
        A = self._linear(x)
        d = A.shape[0]
        M = torch.zeros(d + 1, d + 1, dtype=x.dtype, device=x.device)
        M[:d, :d] = A
        if self._gen.offset is not None:
            M[:d, d] = self._gen.offset.to(x)
        E = torch.linalg.matrix_exp(s.to(x)[:, None, None] * M)
        return E[:, :d, :d], E[:, :d, d]

    def _flow(self, s: Tensor, x: Tensor, t: Tensor | None) -> Tensor:
        """Runge-Kutta flow of ``xi`` for parameters ``s`` (shape ``(n,)``) from points ``x``."""
        lead = x.shape[:-2]
        q = x.reshape(-1, *x.shape[-2:])
        reps = q.shape[0] // x.shape[0]
        h = (s.to(x) / self.steps).repeat_interleave(reps)[:, None, None]
        tt = None if t is None else t.to(x).expand(x.shape[0]).repeat_interleave(reps)
        for _ in range(self.steps):
            k1 = self._gen.xi(q, tt)
            k2 = self._gen.xi(q + h / 2 * k1, tt)
            k3 = self._gen.xi(q + h / 2 * k2, tt)
            k4 = self._gen.xi(q + h * k3, tt)
            q = q + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        return q.reshape(*lead, *x.shape[-2:])

    def _act(self, g: Element, x: Tensor, kind: Kind, t: Tensor | None) -> Tensor:
        s = g.to(x)
        if kind.name == "time":
            return x + self._bcast(s * self._gen.tau, x, 0)
        if kind.name == "point":
            if self._gen.matrix is None:
                moved = self._flow(s.expand(x.shape[0]), x, t)
            else:
                R, c = self._affine(s, x)
                moved = torch.einsum("n...j,n...ij->n...i", x, self._bcast(R, x, 2))
                moved = moved + self._bcast(c, x, 1)
            return moved if self.box is None else self.box.wrap(moved)
        if kind.name in ("vector", "axial"):
            R, _ = self._affine(s, x)
            out = torch.einsum("n...j,n...ij->n...i", x, self._bcast(R, x, 2))
            if kind.name == "axial":  # det exp(s A) = exp(s tr A)
                out = out * self._bcast(torch.linalg.det(R), x, 0)
            return out
        if kind.name == "pseudoscalar":
            R, _ = self._affine(s, x)
            return x * self._bcast(torch.linalg.det(R), x, 0)
        return x.clone()

    def _act_inf(self, name: str, x: Tensor, kind: Kind, t: Tensor | None) -> Tensor:
        if kind.name == "time":
            return torch.full_like(x, self._gen.tau)
        if kind.name == "point":
            q = x.reshape(-1, *x.shape[-2:])
            reps = q.shape[0] // x.shape[0]
            tt = None if t is None else t.to(x).expand(x.shape[0]).repeat_interleave(reps)
            return self._gen.xi(q, tt).reshape(x.shape)
        if kind.name in ("vector", "axial"):
            A = self._linear(x)
            return x @ A.T + (torch.trace(A) * x if kind.name == "axial" else 0.0)
        if kind.name == "pseudoscalar":
            return torch.trace(self._linear(x)) * x
        return torch.zeros_like(x)

    def check_config(self, config_shape: Sequence[int]) -> tuple[int, ...]:
        """Any shape; an affine generator needs a last axis of its size ``d``."""
        shape = tuple(int(s) for s in config_shape)
        if self.dim is not None and (not shape or shape[-1] != self.dim):
            raise ValueError(
                f"{self!r} acts on vectors of size {self.dim}: expected configuration shape "
                f"(..., {self.dim}), got {shape}"
            )
        return shape


Element = Any


def as_group(symmetry: Group | Generator) -> Group:
    """A group from a group (returned as is) or a generator (its one-parameter group).

    A generator that belongs to a group (``Rotation(3).generators(...)[2]``)
    gives the one-parameter subgroup it generates.

    Raises
    ------
    TypeError
        ``symmetry`` is neither a Group nor a Generator.
    """
    if isinstance(symmetry, Group):
        return symmetry
    if isinstance(symmetry, Generator):
        return OneParameterGroup(symmetry)
    raise TypeError(
        f"group must be a symnet.groups.Group or Generator, got {type(symmetry).__name__}"
    )
