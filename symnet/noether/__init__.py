"""The Noether checker: invariance, conserved charges along trajectories, verdicts.

``check(L, symmetries, q0, qdot0, dt=..., steps=...)`` measures, for every
generator of the given symmetries, the invariance error of ``L``, the drift
of the Noether charge along integrated trajectories at two step sizes and
the balance-law residual, and gives an honest verdict: ``conserved``,
``broken`` or ``inconclusive`` with a reason.

``discover(L, q, qdot)`` finds the symmetries instead of checking given
ones: the numerical nullspace of the Lie derivative over candidate generators
(affine maps, time shifts, custom fields); ``discover_hamiltonian(H, q, p)``
finds conserved charges, hidden ones (Runge-Lenz) included.

Layout: :mod:`~symnet.noether.checker` (``check``, ``check_hamiltonian``) and
:mod:`~symnet.noether.charge_checker` (``check_charges``) run the stages of
:mod:`~symnet.noether.pipeline`; :mod:`~symnet.noether.verdict` holds the
verdict rules, :mod:`~symnet.noether.report` the report,
:mod:`~symnet.noether.charges` the charge functions and
:mod:`~symnet.noether.discovery` the discovery subpackage. The formulas are
in ``docs/theory.md``.
"""

from __future__ import annotations

from typing import Any

from symnet.noether.charge_checker import check_charges
from symnet.noether.charges import charge, charge_label, hamiltonian_charge, lie_derivative
from symnet.noether.checker import check, check_hamiltonian
from symnet.noether.discovery import (
    Charge,
    ChargeDiscovery,
    LieAlgebra,
    SymmetryDiscovery,
    discover,
    discover_hamiltonian,
)
from symnet.noether.report import NoetherReport, Row
from symnet.noether.verdict import VerdictThresholds

__all__ = [
    "Charge",
    "ChargeDiscovery",
    "LieAlgebra",
    "NoetherReport",
    "Row",
    "SymmetryDiscovery",
    "VerdictThresholds",
    "charge",
    "charge_label",
    "check",
    "check_charges",
    "check_hamiltonian",
    "discover",
    "discover_hamiltonian",
    "hamiltonian_charge",
    "lie_derivative",
]


def __getattr__(name: str) -> Any:
    from symnet._deprecation import renamed_attribute

    return renamed_attribute(
        "symnet.noether", name, {"Tolerances": ("VerdictThresholds", VerdictThresholds)}
    )
