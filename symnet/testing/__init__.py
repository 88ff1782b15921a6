"""Symmetry assertions for unit tests: the checker is public API.

:func:`assert_invariant` and :func:`assert_equivariant` test any callable
(function or ``nn.Module``) against any group of :mod:`symnet.groups`, both on
finite group elements (random samples, samples of each factor of a product
alone, and the discrete generators) and on the infinitesimal condition for
every Lie algebra generator (``torch.func.jvp``, or reverse mode or finite
differences for models that compute forces with ``torch.autograd.grad``).
They run in float64 on copies, report relative errors against
:data:`TOLERANCES` (looser for modules with float32-accurate constants),
return a :class:`SymmetryReport` on success and raise a
:class:`SymmetryAssertionError` (an ``AssertionError``) naming the element or
generator on failure. A check whose outputs do not depend on the inputs
passes with a :class:`SymmetryWarning` (fails with ``strict=True``); a
function that modifies its inputs raises :class:`InputMutationError`. The
error formulas are documented in :mod:`symnet.testing.equivariance`.

:func:`assert_conserved` checks dynamics instead: it runs the Noether checker
(:func:`symnet.noether.check`) on a Lagrangian and fails unless every
generator's charge is ``conserved``.

The pytest plugin :mod:`symnet.testing.plugin` (loaded automatically) adds
the opt-in fixtures ``symnet_rng`` (seeded by ``--symnet-seed``) and
``symnet_tolerances``, and the option ``--symnet-strict``.

Examples
--------
>>> import torch
>>> from symnet.groups import Permutation, Rotation, Translation
>>> from symnet.testing import assert_invariant
>>> q = torch.randn(2, 4, 3)
>>> E3xSN = Translation(3) * Rotation(3) * Permutation()
>>> def pair_sq(q):  # sum of squared pair distances, (B, N, 3) -> (B,)
...     return ((q[:, :, None] - q[:, None]) ** 2).sum((-1, -2, -3))
>>> report = assert_invariant(pair_sq, E3xSN, q, "point")
>>> report.passed
True
>>> try:
...     assert_invariant(lambda q: q[..., 0].sum(-1), E3xSN, q, "point")
... except AssertionError as err:
...     print(str(err).split(":")[0])
fn is not invariant under Translation(3) x Rotation(3) x Permutation()
"""

from __future__ import annotations

from typing import Any

from symnet.testing._calls import InputMutationError
from symnet.testing._tolerances import TOLERANCES, DtypeTolerance
from symnet.testing.conserved import ConservationAssertionError, assert_conserved
from symnet.testing.equivariance import assert_equivariant, assert_invariant
from symnet.testing.report import (
    CheckResult,
    SymmetryAssertionError,
    SymmetryReport,
    SymmetryWarning,
)

__all__ = [
    "TOLERANCES",
    "CheckResult",
    "ConservationAssertionError",
    "DtypeTolerance",
    "InputMutationError",
    "SymmetryAssertionError",
    "SymmetryReport",
    "SymmetryWarning",
    "assert_conserved",
    "assert_equivariant",
    "assert_invariant",
]


def __getattr__(name: str) -> Any:
    from symnet._deprecation import renamed_attribute

    return renamed_attribute(
        "symnet.testing", name, {"Tolerance": ("DtypeTolerance", DtypeTolerance)}
    )
