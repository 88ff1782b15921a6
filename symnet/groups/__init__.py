"""Group-action definitions: every symmetry of symnet is defined here, once.

A continuous symmetry is a :class:`Generator`; a group bundles generators
(its Lie algebra basis), discrete generators (its finite part), a sampler and
a finite action on typed tensors (kinds ``point``, ``vector``, ``scalar``,
``global``, ``time`` and e3nn ``Irreps``). Groups multiply: ``Translation(3) *
Rotation(3) * Permutation()`` is E(3) x S_N.
"""

from __future__ import annotations

from symnet.groups._base import Element, Group, take_element
from symnet.groups._generator import Generator
from symnet.groups._kinds import KIND_NAMES, Kind, as_kind, irreps_kind
from symnet.groups.boost import Boost
from symnet.groups.permutation import Permutation
from symnet.groups.product import ProductGroup
from symnet.groups.rotation import Rotation
from symnet.groups.time_shift import TimeShift
from symnet.groups.translation import Translation

__all__ = [
    "Boost",
    "Element",
    "Generator",
    "Group",
    "KIND_NAMES",
    "Kind",
    "Permutation",
    "ProductGroup",
    "Rotation",
    "TimeShift",
    "Translation",
    "as_kind",
    "irreps_kind",
    "take_element",
]
