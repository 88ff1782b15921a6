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
"""

from __future__ import annotations

from symnet.noether._discover_algebra import LieAlgebra
from symnet.noether._discover_hamiltonian import Charge
from symnet.noether._discover_result import ChargeDiscovery, SymmetryDiscovery, check_charges
from symnet.noether.charges import charge, hamiltonian_charge, lie_derivative
from symnet.noether.check import charge_label, check, check_hamiltonian
from symnet.noether.discover import discover, discover_hamiltonian
from symnet.noether.report import NoetherReport, Row
from symnet.noether.verdict import Tolerances

__all__ = [
    "Charge",
    "ChargeDiscovery",
    "LieAlgebra",
    "SymmetryDiscovery",
    "check_charges",
    "discover",
    "discover_hamiltonian",
    "NoetherReport",
    "Row",
    "Tolerances",
    "charge",
    "charge_label",
    "check",
    "check_hamiltonian",
    "hamiltonian_charge",
    "lie_derivative",
]
