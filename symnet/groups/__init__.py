"""Group-action definitions: every symmetry of symnet is defined here, once.

A continuous symmetry is a :class:`Generator`; a group bundles generators
(its Lie algebra basis), discrete generators (its finite part), a sampler and
a finite action on typed tensors (kinds ``point``, ``vector``, ``axial``,
``scalar``, ``pseudoscalar``, ``global``, ``time``, ``label``, ``index`` and
e3nn ``Irreps``, see :mod:`symnet.groups.kinds`). Groups multiply:
``Translation(3) * Rotation(3) * Permutation()`` is E(3) x S_N, and
``Rotation(3) * Reflection(3)`` is O(3). Any generator is a group too
(:class:`OneParameterGroup`), and the
built-in groups are found by name (:meth:`Group.by_name`,
:func:`resolve_symmetries`). A :class:`PeriodicBox` gives translations a
periodic geometry: ``Translation(3, box=PeriodicBox(10.0, dim=3))`` wraps
translated points into the box (the box breaks rotations).
"""

from __future__ import annotations

# registration order of Group.by_name (and of valid_symmetry_names): keep it
from symnet.groups.box import PeriodicBox
from symnet.groups.generator import Generator
from symnet.groups.group import Element, Group, take_element
from symnet.groups.kinds import KIND_NAMES, VECTOR_CHANNELS, Kind, as_kind, irreps_kind

from symnet.groups.translation import Translation  # isort: skip
from symnet.groups.rotation import Rotation  # isort: skip
from symnet.groups.time_shift import TimeShift  # isort: skip
from symnet.groups.boost import Boost  # isort: skip
from symnet.groups.permutation import Permutation  # isort: skip
from symnet.groups.reflection import Reflection  # isort: skip
from symnet.groups.lorentz import Lorentz  # isort: skip
from symnet.groups.symplectic import Symplectic  # isort: skip
from symnet.groups.abelian import VectorGroup  # isort: skip
from symnet.groups.one_parameter import OneParameterGroup, as_group  # isort: skip
from symnet.groups.product import ProductGroup  # isort: skip
from symnet.groups.reps import PermRep, Rep, Scalar, SumRep, TensorRep, Vector  # isort: skip
from symnet.groups.rep_dual import DualRep, T  # isort: skip
from symnet.groups.resolve import (  # isort: skip
    SymmetrySet,
    resolve_symmetries,
    valid_symmetry_names,
)

__all__ = [
    "DualRep",
    "T",
    "Vector",
    "TensorRep",
    "SumRep",
    "Scalar",
    "Rep",
    "PermRep",
    "Boost",
    "Element",
    "Generator",
    "Group",
    "KIND_NAMES",
    "VECTOR_CHANNELS",
    "Kind",
    "OneParameterGroup",
    "PeriodicBox",
    "Permutation",
    "ProductGroup",
    "Lorentz",
    "Reflection",
    "Rotation",
    "SymmetrySet",
    "Symplectic",
    "TimeShift",
    "Translation",
    "VectorGroup",
    "as_group",
    "as_kind",
    "irreps_kind",
    "resolve_symmetries",
    "take_element",
    "valid_symmetry_names",
]
