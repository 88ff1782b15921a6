"""Analytic mechanical systems with known symmetries: the ground truth of symnet.

Each system gives its Lagrangian, closed-form accelerations, canonical
momentum, Hamiltonian and energy, a documented state distribution, the
symmetries it has (:attr:`System.symmetries`) and some it has not
(:attr:`System.broken`, the Noether checker's negative controls), and
trajectory data with exact targets (:meth:`System.generate`). See
``docs/theory.md``, "Ground-truth systems".

Examples
--------
>>> import torch
>>> from symnet.systems import Kepler
>>> sys = Kepler()
>>> q, qdot = sys.sample_states(8, rng=0)
>>> sys.lagrangian(q, qdot).shape
torch.Size([8])
>>> sys.symmetries, sys.broken
([Rotation(3), TimeShift()], [Translation(3)])
"""

from __future__ import annotations

from symnet.systems._data import Trajectories
from symnet.systems.central import CentralForce, CentralPotential, Kepler
from symnet.systems.charged import ChargedNBody, charged_nbody_dataset, simulate_charged_particles
from symnet.systems.forced import DampedOscillator, DrivenOscillator
from symnet.systems.lennard_jones import LennardJones
from symnet.systems.magnetic import ChargeInMagneticField
from symnet.systems.many_body import IdenticalParticles, NBodyGravity
from symnet.systems.oscillators import AnisotropicOscillator, IsotropicOscillator, MassSpring
from symnet.systems.pendulums import DoublePendulum, Pendulum
from symnet.systems.springs import NBodySprings, TwoBodySpring
from symnet.systems.system import Symmetry, System
from symnet.systems.yukawa import Yukawa

from symnet.systems import neighbours  # isort: skip  (the subpackage, symnet.systems.neighbours)

__all__ = [
    "AnisotropicOscillator",
    "CentralForce",
    "CentralPotential",
    "ChargedNBody",
    "ChargeInMagneticField",
    "DampedOscillator",
    "DoublePendulum",
    "DrivenOscillator",
    "IdenticalParticles",
    "IsotropicOscillator",
    "Kepler",
    "LennardJones",
    "MassSpring",
    "NBodyGravity",
    "NBodySprings",
    "Pendulum",
    "Symmetry",
    "System",
    "Trajectories",
    "TwoBodySpring",
    "Yukawa",
    "charged_nbody_dataset",
    "neighbours",
    "simulate_charged_particles",
]
