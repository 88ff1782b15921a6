"""The abstract :class:`Group`: generators, finite elements, actions on kinds.

A group is a named collection of generators (a basis of its Lie algebra),
discrete generators for its finite part, a sampler of random elements and a
finite action on typed tensors (:mod:`symnet.groups.kinds`). Elements are
plain tensors with a leading batch axis ``n`` (a tuple of them for products).

Everything other packages need to know about a group is a method or an
attribute here, so that no code outside :mod:`symnet.groups` tests for a
concrete group class or a generator name: the charge symbol of its Noether
charges (:attr:`Group.charge_symbol`, :meth:`Group.charge_label`), the factory
of built-in groups by name (:meth:`Group.by_name`), the enumeration of a
finite group (:meth:`Group.elements`), and the rule for tensors whose
particle axis is not the configuration's (:meth:`Group.act_output`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import torch
from torch import Tensor

from symnet._deprecation import MISSING, renamed_argument
from symnet._rng import as_generator
from symnet._util import check_tensor, format_shape
from symnet.groups._element_checks import ElementChecks
from symnet.groups.generator import Generator
from symnet.groups.kinds import Kind, as_kind, check_layout
from symnet.groups.naming import Named

__all__ = ["Group", "Element", "take_element"]

Element = Any  # a Tensor with leading batch axis, or a tuple of them for product groups


def take_element(g: Element, i: int, device: torch.device | str | None = None) -> Element:
    """Element ``i`` of a batch of group elements, as a batch of one.

    Parameters
    ----------
    g : Element
        A batch of ``n`` elements: a tensor with leading axis ``n`` (a tuple
        of them for a product group).
    i : int
        Index in ``0 .. n - 1``.
    device : torch.device or str, optional
        Move the element there.

    Returns
    -------
    Element
        The same structure with leading axis 1.
    """
    if isinstance(g, tuple):
        return tuple(take_element(x, i, device) for x in g)
    out = g[i : i + 1]
    return out if device is None else out.to(device)


class Group(Named, ElementChecks, ABC):
    """Abstract base of all symmetry groups.

    Subclasses are final and implement the finite action (:meth:`act`), its
    infinitesimal version (:meth:`act_infinitesimal`) and the element algebra
    (:meth:`identity`, :meth:`compose`, :meth:`inverse`, :meth:`exp`,
    :meth:`sample`). The generators for a configuration shape follow from the
    infinitesimal action on points.

    Attributes
    ----------
    name : str
        Family name used in reports (``"translation"``, ``"rotation"``, ...).
    dim : int or None
        Spatial dimension the group acts in, or None for groups that accept
        any configuration shape (time shifts).
    discrete : bool
        True for finite groups (no Lie algebra, no Noether charges).
    normal : bool
        True for groups whose elements are vectors moved by rotations when
        composed inside a product (translations, boosts): ``R T_a R^-1 = T_{Ra}``.
    charge_symbol : str or None
        Symbol of the Noether charges of the generators (``"P"`` for
        translations, ``"L"`` rotations, ``"E"`` time shifts, ``"K"`` boosts);
        None labels a charge by its generator's name, ``J[name]``.
    permutes_particles : bool
        True for groups that permute the particle axis (``Permutation``).
    orthogonal : bool
        True for groups that move space by orthogonal matrices
        (:meth:`orthogonal_matrix` is not None: rotations, reflections).

    Notes
    -----
    A subclass defined with ``class MyGroup(Group, by_name="mine")`` joins the
    registry of :meth:`by_name` (it must implement :meth:`from_config`).
    """

    name: str = ""
    dim: int | None = None
    discrete: bool = False
    normal: bool = False
    permutes_particles: ClassVar[bool] = False
    orthogonal: ClassVar[bool] = False

    def supports_kind(self, kind: Kind) -> bool:
        """Whether the group can act on tensors of ``kind`` (e3nn irreps need SO(3))."""
        return True

    # ---------------------------------------------------------------- structure
    @property
    def factors(self) -> tuple[Group, ...]:
        """The factor groups (just ``(self,)`` for a simple group)."""
        return (self,)

    def __mul__(self, other: Group) -> Group:
        if not isinstance(other, Group):
            return NotImplemented
        from symnet.groups.product import ProductGroup

        return ProductGroup(*self.factors, *other.factors)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Group) and repr(self) == repr(other)

    def __hash__(self) -> int:
        return hash(repr(self))

    # ------------------------------------------------------------ configurations
    def check_config(self, config_shape: Sequence[int]) -> tuple[int, ...]:
        """Validate a configuration shape ``S`` and return it as a tuple.

        Particle groups need ``S = (N, d)`` with the group's ``d``.

        Raises
        ------
        ValueError
            Naming the group, the expected and the given shape.
        """
        try:
            shape = tuple(int(s) for s in config_shape)
        except TypeError:
            raise TypeError(
                f"config_shape must be a sequence of ints, got {config_shape!r}"
            ) from None
        if self.dim is not None and (len(shape) != 2 or shape[1] != self.dim):
            raise ValueError(
                f"{self!r} acts on particles in {self.dim} dimensions: expected configuration "
                f"shape (N, {self.dim}), got {format_shape(shape)}"
            )
        return shape

    def generators(self, config_shape: Sequence[int]) -> list[Generator]:
        """Lie algebra basis as :class:`Generator` objects for configurations ``S``.

        Parameters
        ----------
        config_shape : sequence of int
            ``S``; configurations have shape ``(B, *S)``.
        """
        self.check_config(config_shape)
        return [self._make_generator(name) for name in self.generator_names()]

    def generator_names(self) -> list[str]:
        """Names of the Lie algebra generators (empty for discrete groups)."""
        return []

    def _make_generator(self, name: str) -> Generator:
        def xi(q: Tensor, t: Tensor) -> Tensor:
            return self.act_infinitesimal(name, q, "point", t=t)

        return Generator(name, xi, boundary=self._boundary(name), group=self)

    def _boundary(self, name: str) -> Callable[..., Tensor] | None:
        return None

    def discrete_generators(self, config_shape: Sequence[int]) -> list[tuple[str, Element]]:
        """Named generators of the finite part, each an element of batch size 1."""
        self.check_config(config_shape)
        return []

    # ----------------------------------------------------------------- elements
    @abstractmethod
    def identity(self, n: int, config_shape: Sequence[int]) -> Element:
        """The identity element, batch of ``n``."""

    @abstractmethod
    def compose(self, g: Element, h: Element) -> Element:
        """``g h``: ``act(compose(g, h), x) == act(g, act(h, x))``."""

    @abstractmethod
    def inverse(self, g: Element) -> Element:
        """The inverse element, same batch."""

    def sample(
        self,
        n: int,
        config_shape: Sequence[int],
        rng: int | torch.Generator | None = None,
        *,
        generator: Any = MISSING,
    ) -> Element:
        """``n`` random elements (distribution documented by each group).

        Parameters
        ----------
        n : int
            Number of elements.
        config_shape : sequence of int
            ``S``.
        rng : int or torch.Generator, optional
            Seed or generator; default torch's global generator.
        generator : torch.Generator, optional
            Deprecated name of ``rng``.
        """
        rng = renamed_argument(
            "generator", "rng", generator, rng, where=f"{type(self).__name__}.sample"
        )
        shape = self.check_config(config_shape)
        return self._sample(n, shape, as_generator(rng, default=None))

    def _sample(
        self, n: int, config_shape: tuple[int, ...], gen: torch.Generator | None
    ) -> Element:
        raise NotImplementedError(f"{type(self).__name__} does not implement sampling")

    def elements(self, config_shape: Sequence[int]) -> Element:
        """All elements of a finite group, as one batch.

        Raises
        ------
        ValueError
            The group is not finite.
        """
        raise ValueError(f"{self!r} is not a finite group: it has no list of elements")

    def order(self, config_shape: Sequence[int]) -> int | None:
        """The number of elements of a finite group (None for a continuous one)."""
        return None

    def exp(self, name: str | Generator, s: Tensor, config_shape: Sequence[int]) -> Element:
        """The one-parameter subgroup ``exp(s X)`` of generator ``name``.

        Parameters
        ----------
        name : str or Generator
            A generator of this group.
        s : Tensor
            Parameters, shape ``(n,)``.
        config_shape : sequence of int
            ``S`` (needed by products with permutations).

        Returns
        -------
        Element
            A batch of ``n`` elements, in the dtype of ``s``.
        """
        raise ValueError(f"{self!r} has no continuous generators")

    def conjugated_by(self, other: Group) -> bool:
        """Whether ``self`` is normalised, but not centralised, by ``other`` in a product.

        A product moves an element of ``other`` past one of ``self`` by
        conjugating the latter (:meth:`conjugate`): ``h g = (h g h^-1) h``.
        Translations and boosts are conjugated by every group that is not
        itself normal (a rotation or a reflection turns the shift ``a`` into
        ``M a``); rotations by reflections (``P R P^-1``, a rotation again,
        unequal to ``R`` for a mirror in even ``d``). Pairs where neither is
        conjugated by the other commute.
        """
        return self.normal and not other.normal

    def conjugate(self, g: Element, by: Group, h: Element) -> Element:
        """``h g h^-1`` (``g`` in self, ``h`` in ``by``), where :meth:`conjugated_by` holds."""
        return g

    def orthogonal_matrix(self, g: Element, dtype: torch.dtype = torch.float64) -> Tensor | None:
        """The orthogonal part of elements ``g``: how they move space linearly.

        Parameters
        ----------
        g : Element
            A batch of ``n`` elements.
        dtype : torch.dtype
            Of the result.

        Returns
        -------
        Tensor or None
            Shape ``(n, d, d)``, orthogonal (``det = -1`` for a reflection);
            None for groups that do not move space linearly (translations,
            permutations, time shifts, boosts).
        """
        return None

    # ------------------------------------------------------------------ actions
    @abstractmethod
    def _act(self, g: Element, x: Tensor, kind: Kind, t: Tensor | None) -> Tensor: ...

    @abstractmethod
    def _act_inf(self, name: str, x: Tensor, kind: Kind, t: Tensor | None) -> Tensor: ...

    def act(self, g: Element, x: Tensor, kind: Any, *, t: Tensor | float | None = None) -> Tensor:
        """Finite action of elements ``g`` on a typed tensor.

        Parameters
        ----------
        g : Element
            A batch of ``n`` elements (``n == 1`` broadcasts).
        x : Tensor
            Shape ``(n, ...)`` laid out as ``kind`` requires (see
            :mod:`symnet.groups`): points and vectors ``(n, ..., N, d)``.
        kind : str, Kind or e3nn Irreps
            How ``x`` transforms.
        t : Tensor or float, optional
            Time, shape ``(n,)``; only boosts use it (a boost moves points by ``t u``).

        Returns
        -------
        Tensor
            Same shape as ``x``. ``x`` is not modified.
        """
        kind = as_kind(kind)
        if kind.name == "constant":  # every group leaves it alone
            check_layout(kind, x, "x")
            return x.clone()
        if kind.name in ("label", "index"):  # integer data: only permutations move it
            check_layout(kind, x, "x")
            self._check_batch(g, x)
            return self._act(g, x, kind, None)
        x = check_tensor(x, "x", ndim_min=1, finite=False)
        check_layout(kind, x, "x", self._layout_dim(kind))
        self._check_batch(g, x)
        if kind.name == "rep":
            return kind.rep.act(g, x)
        return self._act(g, x, kind, self._time(t, x))

    def act_infinitesimal(
        self, name: str | Generator, x: Tensor, kind: Any, *, t: Tensor | float | None = None
    ) -> Tensor:
        """The tangent ``d/ds act(exp(s X), x)`` at ``s = 0`` of generator ``name``.

        Parameters
        ----------
        name : str or Generator
            A generator of this group.
        x : Tensor
            Shape ``(n, ...)`` as for :meth:`act`.
        kind : str, Kind or e3nn Irreps
            How ``x`` transforms.
        t : Tensor or float, optional
            Time, shape ``(n,)`` (boosts).

        Returns
        -------
        Tensor
            Same shape as ``x``.
        """
        name = self._resolve(name)
        kind = as_kind(kind)
        if kind.integer:
            check_layout(kind, x, "x")
            return torch.zeros_like(x)
        x = check_tensor(x, "x", ndim_min=1, finite=False)
        check_layout(kind, x, "x", self._layout_dim(kind))
        if kind.name == "rep":
            return x @ kind.rep.lie(name).to(x).T
        return self._act_inf(name, x, kind, self._time(t, x))

    def act_output(
        self,
        g: Element,
        x: Tensor,
        kind: Any,
        config_shape: Sequence[int],
        *,
        t: Tensor | float | None = None,
    ) -> Tensor:
        """:meth:`act` on a tensor whose particle axis may not be the configuration's.

        A tensor with a particle axis of another length than the ``N`` of
        ``config_shape`` (a centre of mass of shape ``(n, 1, d)``) is not
        indexed by the particles: groups that permute particles leave it alone.

        Parameters
        ----------
        g : Element
            A batch of ``n`` elements.
        x : Tensor
            Shape ``(n, ...)`` as for :meth:`act`.
        kind : str, Kind or e3nn Irreps
            How ``x`` transforms.
        config_shape : sequence of int
            ``S = (N, d)`` of the configurations ``g`` was drawn for.
        t : Tensor or float, optional
            Time (boosts).
        """
        return self.act(g, x, kind, t=t)
