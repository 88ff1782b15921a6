"""Discovering symmetries and conserved charges from a Lagrangian or Hamiltonian.

``discover(L, q, qdot)`` finds the generators that leave ``L`` invariant: the
numerical nullspace of the Lie derivative over candidate generators (affine
maps, time shifts, custom fields); ``discover_hamiltonian(H, q, p)`` finds
conserved charges, hidden ones (Runge-Lenz) included.

Modules, by what they hold:

- :mod:`~symnet.noether.discovery.lagrangian`: :func:`discover`;
- :mod:`~symnet.noether.discovery.hamiltonian`: :func:`discover_hamiltonian`;
- :mod:`~symnet.noether.discovery.candidates`: the affine candidate family
  (layout of the coefficients, their columns, the prolonged fields);
- :mod:`~symnet.noether.discovery.phase_space`: candidate functions of
  ``(q, p)``, Poisson brackets and the :class:`Charge` class;
- :mod:`~symnet.noether.discovery.naming` and
  :mod:`~symnet.noether.discovery.charge_naming`: canonical bases and names
  (``translation_x``, ``rotation_z``, ``runge_lenz_x``, ...);
- :mod:`~symnet.noether.discovery.linalg`: spectra, cuts and row echelon forms;
- :mod:`~symnet.noether.discovery.algebra`: :class:`LieAlgebra`;
- :mod:`~symnet.noether.discovery.verify`: finite-difference verification;
- :mod:`~symnet.noether.discovery.inputs`: argument validation;
- :mod:`~symnet.noether.discovery.result`: :class:`SymmetryDiscovery`,
  :class:`ChargeDiscovery`.
"""

from __future__ import annotations

from symnet.noether.discovery.algebra import LieAlgebra
from symnet.noether.discovery.hamiltonian import discover_hamiltonian
from symnet.noether.discovery.lagrangian import discover
from symnet.noether.discovery.phase_space import Charge
from symnet.noether.discovery.result import ChargeDiscovery, SymmetryDiscovery

__all__ = [
    "Charge",
    "ChargeDiscovery",
    "LieAlgebra",
    "SymmetryDiscovery",
    "discover",
    "discover_hamiltonian",
]
