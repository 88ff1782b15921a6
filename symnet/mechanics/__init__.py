"""Mechanics: vector fields from Lagrangians and Hamiltonians, integrators, rollouts.

>>> import torch
>>> import symnet.mechanics as mech
>>> L = lambda q, qdot: 0.5 * (qdot**2).sum(-1) - 0.5 * (q**2).sum(-1)
>>> f = mech.lagrangian_vector_field(L)
>>> q0 = torch.ones(8, 1, dtype=torch.float64)
>>> traj = mech.rollout(f, q0, torch.zeros_like(q0), dt=0.01, steps=100, method="leapfrog")
>>> round(float(traj.q[-1, 0, 0]), 4)  # cos(1)
0.5403
"""

from __future__ import annotations

from symnet._probe import GradientMismatchError
from symnet.mechanics._errors import ConvergenceError, NonFiniteStateError, SingularMassMatrixError
from symnet.mechanics.compiled import CompileWarning, clear_cache, compile_field
from symnet.mechanics.field import HamiltonianField, SecondOrderField, VectorField, as_vector_field
from symnet.mechanics.hamiltonian import hamiltonian_vector_field
from symnet.mechanics.lagrangian import lagrangian_vector_field, mass_matrix, momentum
from symnet.mechanics.methods import Integrator, get_integrator, integrators
from symnet.mechanics.trajectory import Trajectory, rollout

__all__ = [
    "VectorField",
    "SecondOrderField",
    "HamiltonianField",
    "as_vector_field",
    "lagrangian_vector_field",
    "hamiltonian_vector_field",
    "mass_matrix",
    "momentum",
    "Integrator",
    "integrators",
    "get_integrator",
    "rollout",
    "Trajectory",
    "compile_field",
    "clear_cache",
    "CompileWarning",
    "SingularMassMatrixError",
    "NonFiniteStateError",
    "ConvergenceError",
    "GradientMismatchError",
]
