"""Physics of the integrators: bounded energy error, exact momentum and angular momentum.

Symplectic methods keep the energy error of a pendulum bounded over 1e5 steps
(the largest error in the last tenth of the run is no larger than in the
first tenth), while RK4 and explicit Euler drift. Every Runge-Kutta method
conserves linear momentum, and Stoermer-Verlet angular momentum, to round-off
(Hairer, Lubich, Wanner, Geometric Numerical Integration, ch. IV and VI).
"""

from __future__ import annotations

import pytest
import torch

from symnet.mechanics import HamiltonianField, SecondOrderField, rollout

F64 = torch.float64
B = 8
Q0 = torch.linspace(0.3, 2.4, B, dtype=F64)[:, None]  # small to large amplitudes
V0 = torch.linspace(0.5, -0.5, B, dtype=F64)[:, None]


def pendulum(q, v):
    return torch.sin(q).neg_()


def energy(q, v):
    return 0.5 * v[..., 0] ** 2 - torch.cos(q[..., 0])


def energy_error_growth(method: str, steps: int, dt: float, **options) -> tuple[float, float]:
    field = SecondOrderField(pendulum, velocity_dependent=False)
    with torch.no_grad():
        traj = rollout(field, Q0, V0, dt=dt, steps=steps, method=method, **options)
    err = (energy(traj.q, traj.v) - energy(Q0, V0)).abs()  # (steps+1, B)
    tenth = steps // 10
    first, last = err[1 : tenth + 1].amax(0), err[-tenth:].amax(0)
    return float((last / first).max()), float(err.max())


@pytest.mark.slow
@pytest.mark.parametrize(
    "method, bound", [("symplectic_euler", 0.2), ("leapfrog", 5e-3), ("yoshida4", 1e-4)]
)
def test_symplectic_energy_error_stays_bounded(method, bound) -> None:
    growth, worst = energy_error_growth(method, 100_000, 0.1)
    assert growth < 1.3, growth  # no secular drift over 1e5 steps (t = 1e4)
    assert worst < bound


@pytest.mark.slow
def test_implicit_midpoint_energy_error_stays_bounded() -> None:
    # dt = 0.01 keeps the fixed-point iteration at two evaluations per step
    growth, worst = energy_error_growth("implicit_midpoint", 100_000, 0.01)
    assert growth < 1.3, growth
    assert worst < 1e-4


def test_rk4_energy_drifts() -> None:
    growth, _ = energy_error_growth("rk4", 10_000, 0.2)
    assert growth > 5.0, growth


def test_euler_energy_drifts() -> None:
    growth, _ = energy_error_growth("euler", 10_000, 0.01)
    assert growth > 5.0, growth


# ----------------------------------------------------------- momentum and angular momentum

MASSES = torch.tensor([1.0, 2.0, 0.5], dtype=F64)
K, L0 = 3.0, 1.0


def spring_forces(q, v):
    """Pairwise springs between 3 particles in 3D: q (B, 3, 3) -> accelerations."""
    d = q[:, :, None, :] - q[:, None, :, :]  # (B, N, N, 3)
    r = d.norm(dim=-1, keepdim=True) + torch.eye(3, dtype=q.dtype)[None, :, :, None]
    f = (-K * (r - L0) * d / r).sum(2)  # the diagonal contributes 0
    return f / MASSES[None, :, None]


def spring_state():
    gen = torch.Generator().manual_seed(3)
    q = torch.randn(4, 3, 3, generator=gen, dtype=F64)
    v = torch.randn(4, 3, 3, generator=gen, dtype=F64)
    return q, v


def test_rk4_conserves_linear_momentum_to_round_off() -> None:
    q0, v0 = spring_state()
    traj = rollout(spring_forces, q0, v0, dt=0.05, steps=2000, method="rk4")
    P = (MASSES[None, None, :, None] * traj.v).sum(2)  # (K, B, 3)
    scale = (MASSES[None, :, None] * v0.abs()).sum(1).max()
    assert float((P - P[0]).abs().max() / scale) < 1e-13


@pytest.mark.parametrize("method", ["leapfrog", "implicit_midpoint", "yoshida4"])
def test_symplectic_methods_conserve_angular_momentum_to_round_off(method) -> None:
    q0, v0 = spring_state()
    traj = rollout(spring_forces, q0, v0, dt=0.05, steps=1000, method=method)
    Lz = (MASSES[None, None, :, None] * torch.linalg.cross(traj.q, traj.v)).sum(2)
    scale = (MASSES[None, :, None] * torch.linalg.cross(q0, v0).abs()).sum(1).max()
    assert float((Lz - Lz[0]).abs().max() / scale) < 1e-12


def test_rk4_does_not_conserve_angular_momentum_exactly() -> None:
    # the contrast that makes the previous test meaningful
    q0, v0 = spring_state()
    traj = rollout(spring_forces, q0, v0, dt=0.05, steps=1000, method="rk4")
    Lz = (MASSES[None, None, :, None] * torch.linalg.cross(traj.q, traj.v)).sum(2)
    scale = (MASSES[None, :, None] * torch.linalg.cross(q0, v0).abs()).sum(1).max()
    assert float((Lz - Lz[0]).abs().max() / scale) > 1e-10


def test_leapfrog_on_separable_hamiltonian_conserves_angular_momentum() -> None:
    q0, v0 = spring_state()
    p0 = MASSES[None, :, None] * v0
    field = HamiltonianField(
        lambda q, p: (p / MASSES[None, :, None], MASSES[None, :, None] * spring_forces(q, p))
    )
    traj = rollout(field, q0, p0, dt=0.05, steps=1000, method="leapfrog")
    Lz = torch.linalg.cross(traj.q, traj.p).sum(2)
    assert float((Lz - Lz[0]).abs().max() / torch.linalg.cross(q0, p0).abs().sum(1).max()) < 1e-12
