"""Symmetries given by name, group or generator, resolved into generators and finite groups.

Accepted: a :class:`~symnet.groups.Group` (expanded into its generators and,
for finite groups, into itself), a product of groups, a single
:class:`~symnet.groups.Generator`, a name registered with
:meth:`Group.by_name <symnet.groups.Group.by_name>` (``"translation"``,
``"rotation"``, ``"time"``, ``"boost"``, ``"permutation"``) or a generator
name of such a group (``"rotation_z"``), or a list of any of these. A boost
given by name takes ``masses`` or, without them, calls ``infer_masses`` once;
it never assumes unit masses. An unknown name is refused with the list of the
names valid for the configuration shape.

Examples
--------
>>> from symnet.groups import resolve_symmetries, valid_symmetry_names
>>> s = resolve_symmetries(["translation", "rotation_z"], (2, 3))
>>> [g.charge_label for g in s.generators]
['P_x', 'P_y', 'P_z', 'L_z']
>>> valid_symmetry_names((2, 2))[:4]
['translation', 'translation_x', 'translation_y', 'rotation']
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from symnet.groups.generator import Generator
from symnet.groups.group import Group

__all__ = ["SymmetrySet", "resolve_symmetries", "valid_symmetry_names"]


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


def valid_symmetry_names(config_shape: Sequence[int]) -> list[str]:
    """The group and generator names that fit configurations of shape ``config_shape``."""
    shape = tuple(int(s) for s in config_shape)
    out: list[str] = []
    for family in Group.registered_names():
        try:
            group = Group.by_name(family, shape, masses=1.0)
            group.check_config(shape)
        except (ValueError, TypeError):
            continue
        out.append(family)
        out += [n for n in group.generator_names() if n not in out]
    return out


def _resolve_name(
    name: str, shape: tuple[int, ...], masses: Any, infer: Callable[[], Any] | None
) -> Group | Generator:
    if name in Group.registered_names():
        return Group.by_name(name, shape, masses=masses, infer_masses=infer)
    valid = valid_symmetry_names(shape)
    if name in valid:
        for family in Group.registered_names():
            try:
                probe = Group.by_name(family, shape, masses=1.0)
            except (ValueError, TypeError):
                continue
            if name in probe.generator_names():
                group = Group.by_name(family, shape, masses=masses, infer_masses=infer)
                return group.generators(shape)[group.generator_names().index(name)]
    raise ValueError(
        f"unknown symmetry {name!r}; expected one of {', '.join(valid)} (the names valid for "
        f"configurations of shape {shape})"
    )


def resolve_symmetries(
    spec: Any,
    config_shape: Sequence[int],
    *,
    masses: Any = None,
    infer_masses: Callable[[], Any] | None = None,
) -> SymmetrySet:
    """Resolve ``spec`` for configurations of shape ``config_shape``.

    Parameters
    ----------
    spec : Group, Generator, str, or a sequence of them
        See the module docstring. A generator name selects one generator of
        the group it belongs to (``"rotation_z"``).
    config_shape : sequence of int
        ``S``; each group checks that it fits.
    masses : float or Tensor, optional
        Masses for a boost given by name.
    infer_masses : callable, optional
        Called (once, and only when a boost is given by name without
        ``masses``) to read the masses, e.g. from a Lagrangian; without it
        such a boost is refused.

    Returns
    -------
    SymmetrySet

    Raises
    ------
    ValueError
        Unknown name (the message lists the names valid for ``config_shape``),
        a group whose dimension does not fit ``config_shape``, a boost by name
        without masses, an empty ``spec``, or a generator listed twice.
    TypeError
        An item that is not a group, generator or name.
    """
    shape = tuple(int(s) for s in config_shape)
    items = spec if isinstance(spec, (list, tuple)) else [spec]
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
                f"({', '.join(Group.registered_names())}), got {type(item).__name__}"
            )
    names = [g.name for g in out.generators]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"symmetries lists generator(s) {dup} more than once")
    return out
