"""Products of groups, e.g. E(3) x S_N = Translation(3) x Rotation(3) x Permutation().

An element is a tuple ``(g_1, ..., g_k)`` acting as ``g_1 o g_2 o ... o g_k``
(the last factor first). When two elements are composed, factors are moved
past each other by conjugation, following :meth:`Group.conjugated_by`:
translations and boosts are normal subgroups, and a translation moved past a
rotation or a reflection is rotated, ``M T_a = T_{Ma} M``, so that
``Translation(3) * Rotation(3)`` is the true semidirect product E(3);
rotations are normal in O(d), and a rotation moved past a reflection ``P`` is
conjugated, ``P R = (P R P^-1) P`` (in even ``d`` the mirror does not commute
with rotations). Other pairs of factors commute. This holds in any factor
order: ``Reflection(2) * Rotation(2)`` and ``Rotation(2) * Reflection(2)`` are
both O(2).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from symnet.groups.generator import Generator
from symnet.groups.group import Element, Group
from symnet.groups.kinds import Kind, as_kind

__all__ = ["ProductGroup"]


class ProductGroup(Group):
    """The product of several groups, built with ``G * H`` (associative, flattened).

    Parameters
    ----------
    *factors : Group
        At least two groups of distinct types with compatible dimensions.

    Examples
    --------
    >>> from symnet.groups import Translation, Rotation, Permutation
    >>> G = Translation(3) * Rotation(3) * Permutation()
    >>> G
    Translation(3) x Rotation(3) x Permutation()
    >>> len(G.generators((4, 3)))
    6
    """

    def __init__(self, *factors: Group) -> None:
        flat: list[Group] = []
        for f in factors:
            if not isinstance(f, Group):
                raise TypeError(f"factors must be groups, got {type(f).__name__}")
            flat.extend(f.factors)
        if len(flat) < 2:
            raise ValueError("a product needs at least two factor groups")
        types = [type(f) for f in flat]
        dup = {t.__name__ for t in types if types.count(t) > 1}
        if dup:
            raise ValueError(f"a product may contain each group once; repeated: {sorted(dup)}")
        dims = {f.dim for f in flat if f.dim is not None}
        if len(dims) > 1:
            raise ValueError(f"factors act in different dimensions {sorted(dims)}: {flat}")
        boxed = [f for f in flat if getattr(f, "box", None) is not None]
        turning = [f for f in flat if f.orthogonal and not f.discrete]
        if boxed and turning:  # wrap(R q) is not well defined on the torus
            raise ValueError(
                f"{turning[0]!r} is not a symmetry of the periodic box of {boxed[0]!r} and "
                "cannot be multiplied with it; check it as a separate (broken) symmetry"
            )
        self._factors = tuple(flat)
        self.dim = dims.pop() if dims else None
        self.discrete = all(f.discrete for f in flat)
        self.name = " x ".join(f.name for f in flat)

    @property
    def factors(self) -> tuple[Group, ...]:
        """The factor groups, in order (the last acts first)."""
        return self._factors

    def __repr__(self) -> str:
        return " x ".join(repr(f) for f in self._factors)

    # ------------------------------------------------------------ configurations
    def check_config(self, config_shape: Sequence[int]) -> tuple[int, ...]:
        """Validate ``S`` against every factor."""
        shapes = [f.check_config(config_shape) for f in self._factors]
        return shapes[0]

    def generator_names(self) -> list[str]:
        """The factors' generator names, in factor order."""
        return [n for f in self._factors for n in f.generator_names()]

    def generators(self, config_shape: Sequence[int]) -> list[Generator]:
        """The factors' generators, in factor order (each keeps its factor as ``group``)."""
        self.check_config(config_shape)
        return [g for f in self._factors for g in f.generators(config_shape)]

    def discrete_generators(self, config_shape: Sequence[int]) -> list[tuple[str, Element]]:
        """The factors' discrete generators, embedded as product elements of batch 1."""
        self.check_config(config_shape)
        out = []
        for i, f in enumerate(self._factors):
            for name, g in f.discrete_generators(config_shape):
                out.append((name, self._embed(i, g, config_shape)))
        return out

    def _owner(self, name: str | Generator) -> int:
        if isinstance(name, Generator):
            if name.group is not None and name.group in self._factors:
                return self._factors.index(name.group)
            name = name.name
        for i, f in enumerate(self._factors):
            if name in f.generator_names():
                return i
        known = ", ".join(self.generator_names()) or "none"
        raise ValueError(f"{self!r} has no generator {name!r}; its generators: {known}")

    # ----------------------------------------------------------------- elements
    def _embed(self, i: int, g: Element, config_shape: Sequence[int]) -> Element:
        n = self._factors[i]._batch(g)
        parts = [f.identity(n, config_shape) for f in self._factors]
        parts[i] = g
        return tuple(parts)

    def _batch(self, g: Element) -> int:
        self._check_element(g)
        sizes = {f._batch(x) for f, x in zip(self._factors, g, strict=True)}
        if len(sizes - {1}) > 1:
            raise ValueError(
                f"the factor elements of a {self!r} element have batch sizes {sorted(sizes)}; "
                f"expected equal sizes or 1"
            )
        return max(sizes)

    def _check_element(self, g: Element) -> None:
        if not isinstance(g, tuple) or len(g) != len(self._factors):
            raise TypeError(
                f"an element of {self!r} is a tuple of {len(self._factors)} factor elements, "
                f"got {type(g).__name__}"
            )

    def identity(self, n: int, config_shape: Sequence[int]) -> Element:
        """The tuple of the factors' identities."""
        return tuple(f.identity(n, config_shape) for f in self._factors)

    def _swap(self, j: int, x: Element, i: int, y: Element) -> tuple[Element, Element]:
        """Rewrite ``x y`` (x in factor j > i, y in factor i) as ``y' x'``."""
        fj, fi = self._factors[j], self._factors[i]
        if fj.conjugated_by(fi):  # x y = y (y^-1 x y)
            return y, fj.conjugate(x, fi, fi.inverse(y))
        if fi.conjugated_by(fj):  # x y = (x y x^-1) x
            return fi.conjugate(y, fj, x), x
        return y, x

    def compose(self, g: Element, h: Element) -> Element:
        """``g h``, reordering factors by the semidirect-product rule (see the module docs)."""
        self._check_pair(g, h)
        out = list(g)
        k = len(self._factors)
        for i in range(k):
            y = h[i]
            for j in range(k - 1, i, -1):
                y, out[j] = self._swap(j, out[j], i, y)
            out[i] = self._factors[i].compose(out[i], y)
        return tuple(out)

    def inverse(self, g: Element) -> Element:
        """``(g_1 ... g_k)^-1 = g_k^-1 ... g_1^-1``, brought back to factor order."""
        n = self._batch(g)
        shape = self._config_hint(g)
        result = self.identity(n, shape)
        for i in range(len(self._factors)):
            result = self.compose(self._embed(i, self._factors[i].inverse(g[i]), shape), result)
        return result

    def _config_hint(self, g: Element) -> tuple[int, ...]:
        """A configuration shape consistent with ``g`` (for identities of permutations)."""
        N = 1
        for f, x in zip(self._factors, g, strict=True):
            if f.permutes_particles:
                N = int(x.shape[1])
        return (N, self.dim if self.dim is not None else 1)

    def _sample(
        self, n: int, config_shape: tuple[int, ...], gen: torch.Generator | None
    ) -> Element:
        """One independent sample per factor (each factor's own distribution)."""
        return tuple(f.sample(n, config_shape, gen) for f in self._factors)

    def elements(self, config_shape: Sequence[int]) -> Element:
        """All elements of a finite product: every combination of the factors' elements."""
        if not self.discrete:
            return super().elements(config_shape)
        per = [f.elements(config_shape) for f in self._factors]
        sizes = [f._batch(e) for f, e in zip(self._factors, per, strict=True)]
        idx = torch.cartesian_prod(*[torch.arange(k) for k in sizes]).reshape(-1, len(sizes))
        return tuple(e[idx[:, i]] for i, e in enumerate(per))

    def order(self, config_shape: Sequence[int]) -> int | None:
        """The product of the factors' orders (None unless every factor is finite)."""
        orders = [f.order(config_shape) for f in self._factors]
        return None if any(o is None for o in orders) else math.prod(orders)  # type: ignore[misc]

    def charge_label(self, generator: str | Generator) -> str:
        """The owning factor's :meth:`Group.charge_label`."""
        name = generator.name if isinstance(generator, Generator) else generator
        return self._factors[self._owner(generator)].charge_label(name)

    def orthogonal_matrix(self, g: Element, dtype: torch.dtype = torch.float64) -> Tensor | None:
        """The product ``M_1 M_2 ... M_k`` of the factors' orthogonal parts (None: none has one)."""
        self._check_element(g)
        out = None
        for f, gi in zip(self._factors, g, strict=True):
            M = f.orthogonal_matrix(gi, dtype)
            if M is not None:
                out = M if out is None else out @ M
        return out

    def supports_kind(self, kind: Kind) -> bool:
        """Whether every factor supports ``kind``."""
        return all(f.supports_kind(kind) for f in self._factors)

    def act_output(
        self,
        g: Element,
        x: Tensor,
        kind: Any,
        config_shape: Sequence[int],
        *,
        t: Tensor | float | None = None,
    ) -> Tensor:
        """Each factor's :meth:`Group.act_output`, the last factor first."""
        if as_kind(kind).name == "rep":
            return self.act(g, x, kind, t=t)
        self._check_element(g)
        for f, gi in zip(reversed(self._factors), reversed(g), strict=True):
            x = f.act_output(gi, x, kind, config_shape, t=t)
        return x

    def exp(self, name: str | Generator, s: Tensor, config_shape: Sequence[int]) -> Element:
        """The owning factor's ``exp``, embedded with identities in the other factors."""
        i = self._owner(name)
        return self._embed(i, self._factors[i].exp(name, s, config_shape), config_shape)

    # ------------------------------------------------------------------ actions
    def _act(self, g: Element, x: Tensor, kind: Kind, t: Tensor | None) -> Tensor:
        for f, gi in zip(reversed(self._factors), reversed(g), strict=True):
            x = f._act(gi, x, kind, t)
        return x

    def _act_inf(self, name: str, x: Tensor, kind: Kind, t: Tensor | None) -> Tensor:
        return self._factors[self._owner(name)]._act_inf(name, x, kind, t)

    def act_infinitesimal(
        self, name: str | Generator, x: Tensor, kind: Any, *, t: Tensor | float | None = None
    ) -> Tensor:
        """The owning factor's :meth:`Group.act_infinitesimal`."""
        if as_kind(kind).name == "rep":
            return super().act_infinitesimal(name, x, kind, t=t)
        i = self._owner(name)
        return self._factors[i].act_infinitesimal(name, x, kind, t=t)

    def _resolve(self, name: str | Generator) -> str:
        self._owner(name)
        return name.name if isinstance(name, Generator) else name
