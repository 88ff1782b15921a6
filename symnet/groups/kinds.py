"""Kinds of tensors a group acts on, and their layouts.

============  ==================  ===============================================
kind          layout              transformed by
============  ==================  ===============================================
point         ``(n, ..., N, d)``  rotations, reflections, translations,
                                  permutations, boosts
vector        ``(n, ..., N, d)``  rotations, reflections, permutations, boosts
                                  (as velocity)
axial         ``(n, ..., N, d)``  ``v -> det(Q) Q v`` for an orthogonal ``Q``
                                  (rotations, reflections); permutations
scalar        ``(n, ..., N, C)``  permutations only
pseudoscalar  ``(n, ..., C)``     ``s -> det(Q) s`` (reflections flip its sign);
                                  per particle ``(n, ..., N, C)``, also permuted
global        ``(n, ..., C)``     nothing (invariant)
time          ``(n, ...)``        time shifts only
irreps        ``(n, ..., dim)``   rotations and reflections, through e3nn's
                                  Wigner D matrices with parity
rep           ``(n, ..., dim)``   its group, through the matrices ``rho(g)``
label         ``(n, ..., N)``     permutations only (particle axis ``-1``)
index         ``(n, ..., E)``     permutations relabel its values
constant      any, integer        nothing; not batched, cast or differentiated
============  ==================  ===============================================

``n`` is the batch of group elements (or 1 to broadcast one element); the
particle axis is ``-2`` (``-1`` for a ``label``, :attr:`Kind.particle_dim`).
An e3nn ``Irreps`` (or a string that parses as one,
such as ``"1x0e + 1x1o"``) is an ``irreps`` kind; build a per-particle one
``(n, ..., N, dim)``, which permutations also act on, with :func:`irreps_kind`.
A representation of :mod:`symnet.groups.reps` (``PermRep(G, 4) * Vector(G)``)
is a ``rep`` kind: wherever a kind is expected, a rep can be passed.

A ``label`` is a per-particle integer, boolean or floating categorical
tensor (atom types ``z`` of shape ``(n, N)``): permutations permute its last
axis and every other group leaves it alone. An ``index`` is an integer tensor
whose *values* are particle indices ``0 .. N - 1`` (a graph's ``edge_index``
per graph, ``(n, 2, E)``); negative entries are padding and stay as they are.
A permutation ``sigma`` (``x' = x[..., sigma, :]``) relabels the values by its
inverse, ``idx' = sigma^-1[idx]``, so that an edge joins the same two
particles after the move; every other group leaves it alone.

A ``constant`` is an integer (or boolean) tensor that every group leaves
alone, such as a graph's ``edge_index`` when the group does not relabel the
nodes: the symmetry assertions pass it to the function as it is, without a
batch axis, a cast to the check's dtype, or a tangent.

Examples
--------
>>> from symnet.groups import Rotation, Vector, as_kind
>>> as_kind("point"), str(as_kind(Vector(Rotation(3))))
(Kind(name='point', irreps=None, per_particle=False, rep=None), 'rep V')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from symnet._util import format_shape

__all__ = ["Kind", "KIND_NAMES", "VECTOR_CHANNELS", "as_kind", "irreps_kind", "check_layout"]

KIND_NAMES = (
    "point",
    "vector",
    "axial",
    "scalar",
    "pseudoscalar",
    "global",
    "time",
    "label",
    "index",
    "constant",
)


@dataclass(frozen=True)
class Kind:
    """The type of a tensor a group acts on.

    Parameters
    ----------
    name : str
        One of :data:`KIND_NAMES` (``"point"``, ``"vector"``, ``"axial"``,
        ``"scalar"``, ``"pseudoscalar"``, ``"global"``, ``"time"``, ``"label"``,
        ``"index"``, ``"constant"``), ``"irreps"`` or ``"rep"``.
    irreps : e3nn.o3.Irreps, optional
        The irreducible representations, for ``name == "irreps"``.
    per_particle : bool
        For irreps and pseudoscalars: the tensor has a particle axis at ``-2``
        that permutations act on.
    rep : Rep, optional
        The representation, for ``name == "rep"`` (:mod:`symnet.groups.reps`).
    """

    name: str
    irreps: Any = None
    per_particle: bool = False
    rep: Any = None

    def __str__(self) -> str:
        if self.name == "rep":
            return f"rep {self.rep!r}"
        if self.name == "irreps":
            return f"irreps({self.irreps}{', per particle' if self.per_particle else ''})"
        if self.name == "pseudoscalar" and self.per_particle:
            return "pseudoscalar(per particle)"
        return self.name

    @property
    def particle_axis(self) -> bool:
        """True when the tensor has a particle axis (:attr:`particle_dim`) permutations act on."""
        return self.name in ("point", "vector", "axial", "scalar", "label") or (
            self.name in ("irreps", "pseudoscalar") and self.per_particle
        )

    @property
    def particle_dim(self) -> int:
        """The particle axis: ``-1`` for a ``label``, ``-2`` for every other kind."""
        return -1 if self.name == "label" else -2

    @property
    def integer(self) -> bool:
        """True for label, index, constant: categories or indices, never cast or differentiated."""
        return self.name in ("label", "index", "constant")


class _ChannelVectors(Kind):
    """The ``vector`` kind with a channel axis: layout ``(n, ..., N, C, d)``.

    Rotations and reflections act on the last axis (as on every ``vector``),
    translations leave it alone, permutations act on the particle axis ``-3``.
    """

    def __repr__(self) -> str:
        return "VECTOR_CHANNELS"

    def __str__(self) -> str:
        return "vector channels"

    @property
    def particle_dim(self) -> int:
        """The particle axis, ``-3`` (the channel axis ``-2`` is not permuted)."""
        return -3


#: Kind of a tensor of vector channels ``(..., N, C, d)``: ``C`` polar vectors per
#: particle (PaiNN's vector features); pass it wherever a kind is expected.
VECTOR_CHANNELS: Kind = _ChannelVectors("vector")


def _is_irreps(obj: Any) -> bool:
    return type(obj).__name__ == "Irreps" and type(obj).__module__.startswith("e3nn")


def irreps_kind(irreps: Any, per_particle: bool = False) -> Kind:
    """Kind for a tensor of e3nn irreps, optionally with a particle axis.

    Parameters
    ----------
    irreps : e3nn.o3.Irreps or str
        The representation, e.g. ``"1x0e + 1x1o"``.
    per_particle : bool
        Layout ``(n, ..., N, dim)`` with particles permuted, instead of ``(n, ..., dim)``.
    """
    from e3nn import o3

    return Kind("irreps", o3.Irreps(irreps), per_particle)


def as_kind(kind: Any, name: str = "kind") -> Kind:
    """Parse a kind given as a :class:`Kind`, a kind name, or e3nn Irreps.

    Raises
    ------
    ValueError
        The string is neither a kind name nor parseable as Irreps.
    TypeError
        ``kind`` is of another type.
    """
    if isinstance(kind, Kind):
        return kind
    from symnet.groups.reps import Rep

    if isinstance(kind, Rep):
        return Kind("rep", rep=kind)
    if isinstance(kind, str):
        if kind in KIND_NAMES:
            return Kind(kind)
        if kind.strip():  # "" parses as empty Irreps, which is never what was meant
            try:
                return irreps_kind(kind)
            except (ValueError, AssertionError):
                pass
        raise ValueError(
            f"{name} must be one of {', '.join(map(repr, KIND_NAMES))} or e3nn Irreps, got {kind!r}"
        )
    if _is_irreps(kind):
        return Kind("irreps", kind)
    raise TypeError(
        f"{name} must be a kind name ({', '.join(KIND_NAMES)}), a Kind, a Rep, or e3nn Irreps, "
        f"got {type(kind).__name__}"
    )


def check_layout(kind: Kind, x: Tensor, name: str, dim: int | None = None) -> None:
    """Check that ``x`` has a layout compatible with ``kind`` (and spatial ``dim``).

    Raises
    ------
    ValueError
        Naming ``name``, the kind, the expected layout and the actual shape.
    TypeError
        A ``label``, ``index`` or ``constant`` tensor of the wrong dtype.
    """
    shape = format_shape(x.shape)
    if kind.name in ("label", "index"):
        _check_integer_layout(kind, x, name)
    elif kind.name == "constant":
        if x.is_floating_point() or x.is_complex():
            raise ValueError(
                f"{name} of kind constant must be an integer or boolean tensor (an index such "
                f"as edge_index), got dtype {x.dtype}; an invariant floating input is 'global'"
            )
    elif kind.name in ("point", "vector", "axial"):
        if x.dim() < 3:
            raise ValueError(f"{name} of kind {kind} must have shape (n, ..., N, d), got {shape}")
        if dim is not None and x.shape[-1] != dim:
            raise ValueError(
                f"{name} of kind {kind} has last dimension {x.shape[-1]}, but the group acts "
                f"in d = {dim} dimensions; expected shape (n, ..., N, {dim}), got {shape}"
            )
    elif kind.name == "scalar":
        if x.dim() < 3:
            raise ValueError(f"{name} of kind scalar must have shape (n, ..., N, C), got {shape}")
    elif kind.name == "pseudoscalar":
        need, layout = (3, "(n, ..., N, C)") if kind.per_particle else (1, "(n, ..., C)")
        if x.dim() < need:
            raise ValueError(f"{name} of kind {kind} must have shape {layout}, got {shape}")
    elif kind.name == "global":
        if x.dim() < 1:
            raise ValueError(f"{name} of kind global must have shape (n, ..., C), got {shape}")
    elif kind.name == "time":
        if x.dim() < 1:
            raise ValueError(f"{name} of kind time must have shape (n, ...), got {shape}")
    elif kind.name == "rep":
        if x.dim() < 2 or x.shape[-1] != kind.rep.dim:
            raise ValueError(
                f"{name} of kind {kind} must have shape (n, ..., {kind.rep.dim}), got {shape}"
            )
    elif kind.name == "irreps":
        need = 3 if kind.per_particle else 2
        if x.dim() < need or x.shape[-1] != kind.irreps.dim:
            layout = "(n, ..., N, dim)" if kind.per_particle else "(n, ..., dim)"
            raise ValueError(
                f"{name} of kind {kind} must have shape {layout} with dim = "
                f"{kind.irreps.dim}, got {shape}"
            )


def _check_integer_layout(kind: Kind, x: Tensor, name: str) -> None:
    """Dtype and layout of a ``label`` ``(n, ..., N)`` or ``index`` ``(n, ..., E)`` tensor."""
    shape = format_shape(x.shape)
    if kind.name == "label":
        if x.is_complex():
            raise TypeError(
                f"{name} of kind label must be an integer, boolean or floating (categorical) "
                f"tensor, got dtype {x.dtype}"
            )
        if x.dim() < 2:
            raise ValueError(
                f"{name} of kind label must have shape (n, ..., N) with the particle axis last, "
                f"got {shape}"
            )
        return
    if x.is_floating_point() or x.is_complex() or x.dtype == torch.bool:
        raise TypeError(
            f"{name} of kind index must be an integer tensor of particle indices (such as "
            f"edge_index), got dtype {x.dtype}"
        )
    if x.dim() < 2:
        raise ValueError(f"{name} of kind index must have shape (n, ..., E), got {shape}")
