"""Closed forms agree with the mechanics derived from L and H, to round-off (float64)."""

from __future__ import annotations

import pytest
import torch
from torch.func import jvp

from symnet import mechanics
from symnet import systems as S
from tests.systems._catalog import ALL, IDS, states

TOL = 1e-12


def rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max() / b.abs().max().clamp_min(1e-300))


def grads(system: S.System, q, qdot, t):
    """dL/dq, dL/dqdot, dL/dt by autograd (each sample's L depends on its own state only)."""
    q, qdot, t = (x.clone().requires_grad_(True) for x in (q, qdot, t))
    L = system.lagrangian(q, qdot, t)
    return torch.autograd.grad(L.sum(), (q, qdot, t), allow_unused=True, materialize_grads=True)


@pytest.mark.parametrize("system", ALL, ids=IDS)
def test_acceleration_matches_euler_lagrange(system):
    q, qdot, t = states(system)
    a = system.acceleration(q, qdot, t)
    assert a.shape == q.shape and a.dtype == torch.float64
    assert rel(a, mechanics.lagrangian_vector_field(system.lagrangian)(q, qdot, t)) < TOL


@pytest.mark.parametrize("system", ALL, ids=IDS)
def test_momentum_and_legendre_map(system):
    q, qdot, t = states(system)
    p = system.momentum(q, qdot, t)
    assert rel(p, mechanics.momentum(system.lagrangian)(q, qdot, t)) < TOL
    assert rel(system.velocity(q, p, t), qdot) < TOL
    dq, _, _ = grads(system, q, qdot, t)
    assert rel(system.momentum_rate(q, qdot, t), dq) < TOL  # Euler-Lagrange: pdot = dL/dq


@pytest.mark.parametrize("system", ALL, ids=IDS)
def test_hamiltonian_is_the_legendre_transform(system):
    q, qdot, t = states(system)
    p = system.momentum(q, qdot, t)
    h = (qdot * p).flatten(1).sum(-1) - system.lagrangian(q, qdot, t)
    H = system.hamiltonian(q, p, t)
    assert H.shape == (q.shape[0],)
    assert rel(H, h) < TOL
    qd, pd = mechanics.hamiltonian_vector_field(system.hamiltonian)(q, p, t)
    qd2, pd2 = system.phase_velocity(q, p, t)
    assert rel(qd, qdot) < TOL and rel(qd2, qdot) < TOL
    assert rel(pd2, pd) < TOL


@pytest.mark.parametrize(
    "system",
    [s for s in ALL if not s.time_dependent],
    ids=[i for i, s in zip(IDS, ALL, strict=True) if not s.time_dependent],
)
def test_energy_is_the_hamiltonian_when_time_independent(system):
    q, qdot, t = states(system)
    p = system.momentum(q, qdot, t)
    assert rel(system.energy(q, qdot, t), system.hamiltonian(q, p, t)) < TOL
    # and it is conserved: dE/dt = 0 along the closed-form flow
    a = system.acceleration(q, qdot, t)
    _, dE = jvp(system.energy, (q, qdot, t), (qdot, a, torch.ones_like(t)))
    scale = system.energy(q, qdot, t).abs().max() + 1.0
    assert float(dE.abs().max() / scale) < 1e-11


def test_damped_oscillator_energy_balance():
    sys = S.DampedOscillator(m=1.3, k=0.7, gamma=0.25)
    q, qdot, t = states(sys)
    p = sys.momentum(q, qdot, t)
    E = sys.energy(q, qdot, t)
    assert rel(E, 0.5 * 1.3 * qdot[:, 0] ** 2 + 0.5 * 0.7 * q[:, 0] ** 2) < TOL
    assert rel(E, torch.exp(-0.25 * t) * sys.hamiltonian(q, p, t)) < TOL
    a = sys.acceleration(q, qdot, t)
    _, dE = jvp(sys.energy, (q, qdot, t), (qdot, a, torch.ones_like(t)))
    assert rel(dE, -0.25 * 1.3 * qdot[:, 0] ** 2) < TOL  # dE/dt = -gamma m qdot^2


def test_driven_oscillator_energy_balance():
    sys = S.DrivenOscillator(m=2.0, k=0.5, F0=0.8, Omega=1.7)
    q, qdot, t = states(sys)
    p = sys.momentum(q, qdot, t)
    drive = 0.8 * torch.cos(1.7 * t)
    assert rel(sys.energy(q, qdot, t), sys.hamiltonian(q, p, t) + q[:, 0] * drive) < TOL
    a = sys.acceleration(q, qdot, t)
    _, dE = jvp(sys.energy, (q, qdot, t), (qdot, a, torch.ones_like(t)))
    assert rel(dE, drive * qdot[:, 0]) < TOL  # power of the drive


def test_time_dependence_flags():
    assert S.DampedOscillator().time_dependent and S.DrivenOscillator().time_dependent
    assert not S.DampedOscillator(gamma=0.0).time_dependent
    assert not S.DrivenOscillator(F0=0.0).time_dependent
    for name, system in zip(IDS, ALL, strict=True):
        q, qdot, t = states(system, n=4)
        _, _, dt = grads(system, q, qdot, t)
        assert bool((dt != 0).any()) == system.time_dependent, name


def test_velocity_dependence_flags():
    for name, system in zip(IDS, ALL, strict=True):
        q, qdot, t = states(system, n=4)
        a0 = system.acceleration(q, qdot, t)
        a1 = system.acceleration(q, 2.0 * qdot + 0.1, t)
        assert bool((a0 != a1).any()) == system.velocity_dependent, name


def test_closed_forms_accept_the_time_conventions():
    sys = S.DrivenOscillator()
    q, qdot = sys.sample_states(3)
    a_none = sys.acceleration(q, qdot)
    assert torch.equal(a_none, sys.acceleration(q, qdot, 0.0))
    assert torch.equal(a_none, sys.acceleration(q, qdot, torch.tensor(0.0)))
    assert torch.equal(sys.lagrangian(q, qdot), sys.lagrangian(q, qdot, torch.zeros(3)))
    with pytest.raises(ValueError, match="t must be"):
        sys.lagrangian(q, qdot, torch.zeros(4))


def test_double_pendulum_matches_the_cartesian_lagrangian():
    """T and V from the bob positions (Goldstein ch. 1) equal the closed form."""
    sys = S.DoublePendulum(m1=1.3, m2=0.6, l1=0.9, l2=1.4, g=9.8)
    q, qdot, _ = states(sys)

    def cartesian(th, w):
        x1 = 0.9 * torch.sin(th[:, 0])
        y1 = -0.9 * torch.cos(th[:, 0])
        x2 = x1 + 1.4 * torch.sin(th[:, 1])
        y2 = y1 - 1.4 * torch.cos(th[:, 1])
        return torch.stack([x1, y1, x2, y2], -1)

    pos, vel = jvp(lambda th: cartesian(th, None), (q,), (qdot,))
    T = 0.5 * 1.3 * (vel[:, :2] ** 2).sum(-1) + 0.5 * 0.6 * (vel[:, 2:] ** 2).sum(-1)
    V = 9.8 * (1.3 * pos[:, 1] + 0.6 * pos[:, 3])
    assert rel(sys.lagrangian(q, qdot), T - V) < TOL
    assert S.DoublePendulum().potential_max == pytest.approx(29.4)
    up = torch.full((1, 2), torch.pi, dtype=torch.float64)
    assert float(S.DoublePendulum().potential(up)) == pytest.approx(29.4)


def test_mass_spring_is_greydanus_h():
    sys = S.MassSpring()
    g = torch.Generator().manual_seed(1)
    q, p = (
        torch.randn(6, 1, generator=g, dtype=torch.float64),
        torch.randn(6, 1, generator=g, dtype=torch.float64),
    )
    assert rel(sys.hamiltonian(q, p), (q**2 + p**2)[:, 0]) < TOL
    greydanus = S.Pendulum(m=0.5, l=1.0, g=6.0)
    assert rel(greydanus.hamiltonian(q, p), (3 * (1 - torch.cos(q)) + p**2)[:, 0]) < TOL


@pytest.mark.parametrize("system", ALL, ids=IDS)
def test_float32_inputs_and_scalar_times(system):
    q, qdot, _ = states(system, n=3)
    q, qdot = q.float(), qdot.float()
    p = system.momentum(q, qdot, 0.5)
    outs = [
        system.lagrangian(q, qdot, 0.5),
        system.acceleration(q, qdot, torch.tensor(0.5)),
        system.hamiltonian(q, p, 0.5),
        system.energy(q, qdot),
        system.momentum_rate(q, qdot, 0.5),
        *system.phase_velocity(q, p, torch.tensor(0.5)),
    ]
    assert all(o.dtype == torch.float32 for o in outs)
    t = torch.full((3,), 0.5, dtype=torch.float64)
    expect = system.momentum_rate(q.double(), qdot.double(), t)
    assert rel(system.momentum_rate(q, qdot, 0.5).double(), expect) < 1e-5
