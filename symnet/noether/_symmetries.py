"""Expanding the ``symmetries`` argument of the checker into generators and groups.

Accepted: a :class:`~symnet.groups.Group` (expanded into its generators and,
for finite groups, its discrete generators), a product of groups, a single
:class:`~symnet.groups.Generator`, a symmetry name (``"translation"``,
``"rotation"``, ``"time"``, ``"boost"``, ``"permutation"``, or a generator name
such as ``"translation_x"``), or a list of any of these. A boost given by
name takes the ``masses`` given to the checker or, without them, those read
from the Lagrangian's (Hamiltonian's) kinetic Hessian; it never assumes unit
masses. An unknown name is refused with the list of the names valid for the
configuration shape.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from symnet.groups import (
    Boost,
    Generator,
    Group,
    Permutation,
    Rotation,
    TimeShift,
    Translation,
)

__all__ = ["SymmetrySet", "expand_symmetries", "valid_names", "SYMMETRY_NAMES"]

SYMMETRY_NAMES = ("translation", "rotation", "time", "boost", "permutation")


@dataclass
class SymmetrySet:
    """The generators and finite groups a check covers.

    Attributes
    ----------
    generators : list of Generator
        Continuous symmetries, in order, each with its owning group (or None).
    discrete : list of Group
        Finite groups (permutations): invariance, flow equivariance and fixed states.
    """

    generators: list[Generator] = field(default_factory=list)
    discrete: list[Group] = field(default_factory=list)


def _group_from_name(
    name: str,
    config_shape: tuple[int, ...],
    masses: Any,
    infer_masses: Callable[[], Any] | None = None,
) -> Group:
    d = config_shape[-1] if len(config_shape) == 2 else None
    if name == "time":
        return TimeShift()
    if d is None:
        raise ValueError(
            f"symmetry {name!r} acts on particles and needs configuration shape (N, d), "
            f"got {config_shape}"
        )
    if name == "translation":
        return Translation(d)
    if name == "rotation":
        return Rotation(d)
    if name == "permutation":
        return Permutation()
    if name == "boost":
        if masses is None:
            if infer_masses is None:
                raise ValueError(
                    "symmetry 'boost' given by name needs the particle masses: pass masses= "
                    "(a positive number or a tensor of shape (N,)), or a Boost(dim, masses) group"
                )
            masses = infer_masses()
        return Boost(d, masses)
    raise AssertionError(name)


def valid_names(config_shape: Sequence[int]) -> list[str]:
    """The symmetry and generator names that fit configurations of shape ``config_shape``."""
    shape = tuple(int(s) for s in config_shape)
    out: list[str] = []
    for family in SYMMETRY_NAMES:
        try:
            group = _group_from_name(family, shape, 1.0)
            group.check_config(shape)
        except (ValueError, TypeError):
            continue
        out.append(family)
        out += [n for n in group.generator_names() if n not in out]
    return out


def expand_symmetries(
    symmetries: Any,
    config_shape: Sequence[int],
    *,
    masses: Any = None,
    infer_masses: Callable[[], Any] | None = None,
) -> SymmetrySet:
    """Expand ``symmetries`` for configurations of shape ``config_shape``.

    Parameters
    ----------
    symmetries : Group, Generator, str, or a sequence of them
        See the module docstring. A generator name selects one generator of
        the group it belongs to (``"rotation_z"``).
    config_shape : sequence of int
        ``S``; each group checks that it fits.
    masses : float or Tensor, optional
        Masses for a boost given by name.
    infer_masses : callable, optional
        Called (once, and only when a boost is given by name without
        ``masses``) to read the masses from the Lagrangian or Hamiltonian;
        without it such a boost is refused.

    Raises
    ------
    ValueError
        Unknown name (the message lists the names valid for ``config_shape``),
        a group whose dimension does not fit ``config_shape``, a boost by name
        without masses, or a generator listed twice.
    """
    shape = tuple(int(s) for s in config_shape)
    items = symmetries if isinstance(symmetries, (list, tuple)) else [symmetries]
    if not items:
        raise ValueError("symmetries must name at least one symmetry")
    cache: list[Any] = []

    def masses_once() -> Any:
        if not cache:
            cache.append(infer_masses())  # type: ignore[misc]
        return cache[0]

    infer = masses_once if infer_masses is not None else None
    out = SymmetrySet()
    for item in items:
        if isinstance(item, str):
            item = _resolve_name(item, shape, masses, infer)
        if isinstance(item, Generator):
            if item.group is not None:
                item.group.check_config(shape)
            out.generators.append(item)
        elif isinstance(item, Group):
            for factor in item.factors:
                factor.check_config(shape)
                if factor.discrete:
                    out.discrete.append(factor)
                    continue
                out.generators.extend(factor.generators(shape))
        else:
            raise TypeError(
                "symmetries must be groups, generators or names "
                f"({', '.join(SYMMETRY_NAMES)}), got {type(item).__name__}"
            )
    names = [g.name for g in out.generators]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"symmetries lists generator(s) {dup} more than once")
    return out


def _resolve_name(
    name: str, shape: tuple[int, ...], masses: Any, infer: Callable[[], Any] | None
) -> Group | Generator:
    if name in SYMMETRY_NAMES:
        return _group_from_name(name, shape, masses, infer)
    valid = valid_names(shape)
    if name in valid:
        family = next(f for f in SYMMETRY_NAMES if name.startswith(f + "_"))
        group = _group_from_name(family, shape, masses, infer)
        for gen in group.generators(shape):
            if gen.name == name:
                return gen
    raise ValueError(
        f"unknown symmetry {name!r}; expected one of {', '.join(valid)} (the names valid for "
        f"configurations of shape {shape})"
    )
