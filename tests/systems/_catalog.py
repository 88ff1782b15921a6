"""The systems under test, with ids, shared by the test modules."""

from __future__ import annotations

import torch

from symnet import systems as S


def _yukawa(r: torch.Tensor) -> torch.Tensor:
    return -torch.exp(-r) / r


SYSTEMS: dict[str, S.System] = {
    "two_body_spring": S.TwoBodySpring(),
    "two_body_spring_unequal_2d": S.TwoBodySpring(m1=1.0, m2=2.5, k=3.0, l0=0.5, dim=2),
    "central_quartic": S.CentralPotential(),
    "central_gaussian_2d": S.CentralPotential(m=2.0, V="gaussian", dim=2),
    "central_callable": S.CentralPotential(V=_yukawa),
    "kepler": S.Kepler(),
    "kepler_2d": S.Kepler(m=2.0, k=0.5, dim=2),
    "isotropic_oscillator": S.IsotropicOscillator(),
    "isotropic_oscillator_3d": S.IsotropicOscillator(m=2.0, k=3.0, dim=3),
    "anisotropic_oscillator": S.AnisotropicOscillator(),
    "charge_in_magnetic_field": S.ChargeInMagneticField(m=1.5, charge=-0.7, B=2.0),
    "damped_oscillator": S.DampedOscillator(),
    "driven_oscillator": S.DrivenOscillator(),
    "double_pendulum": S.DoublePendulum(),
    "double_pendulum_no_gravity": S.DoublePendulum(m1=1.0, m2=2.0, l1=1.5, l2=0.7, g=0.0),
    "identical_particles": S.IdenticalParticles(),
    "particles_distinct_masses": S.IdenticalParticles(masses=[1.0, 2.0, 3.0, 4.0]),
    "particles_gaussian_2d": S.IdenticalParticles(N=5, dim=2, potential="gaussian"),
    "particles_callable": S.IdenticalParticles(N=3, potential=_yukawa),
    "mass_spring": S.MassSpring(),
    "pendulum": S.Pendulum(),
    "n_body_gravity": S.NBodyGravity(),
    "n_body_gravity_unequal": S.NBodyGravity(N=4, masses=[1.0, 0.5, 2.0, 1.0], dim=2),
    "n_body_springs": S.NBodySprings(),
    "lennard_jones": S.LennardJones(32, box=6.0),
    "lennard_jones_force_shifted": S.LennardJones(32, box=6.0, shift="force"),
    "yukawa": S.Yukawa(32, box=6.0, cutoff=2.5, kappa=1.5),
}

IDS = list(SYSTEMS)
ALL = list(SYSTEMS.values())


def states(system: S.System, n: int = 12, seed: int = 0):
    """Sampled ``(q, qdot, t)`` with random times in [0, 5)."""
    g = torch.Generator().manual_seed(seed)
    q, qdot = system.sample_states(n, g)
    t = 5.0 * torch.rand(n, generator=g, dtype=torch.float64)
    return q, qdot, t
