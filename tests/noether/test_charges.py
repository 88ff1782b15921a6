"""``charge`` and ``lie_derivative`` against the closed forms of REFERENCES.md section 1.

Every charge is computed by autodiff from the generator alone; here it must
equal the textbook formula to round-off in float64, and the Lie derivative
must vanish for symmetries and equal the closed-form rate for broken ones.
"""

from __future__ import annotations

import pytest
import torch
from torch.func import grad

import symnet.noether as nt
from symnet import systems as S
from symnet.groups import Boost, Generator, Rotation, TimeShift, Translation


def _states(system: S.System, n: int = 5, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    return system.sample_states(n, torch.Generator().manual_seed(seed))


def _close(actual: torch.Tensor, expected: torch.Tensor) -> None:
    """Equal to round-off in float64: relative to the size of the compared numbers."""
    assert actual.dtype == torch.float64 and actual.shape == expected.shape
    scale = expected.abs().max().clamp_min(1.0)
    torch.testing.assert_close(actual, expected, rtol=0.0, atol=1e-13 * float(scale))


def _gens(group, shape):
    return {g.name: g for g in group.generators(shape)}


def test_translation_charge_is_total_momentum():
    system = S.TwoBodySpring(m1=1.0, m2=2.5)
    q, v = _states(system)
    P = (system.masses[:, None] * v).sum(1)  # (B, 3)
    for a, gen in enumerate(Translation(3).generators((2, 3))):
        _close(nt.charge(system.lagrangian, gen)(q, v), P[:, a])


def test_rotation_charge_in_2d():
    system = S.TwoBodySpring(m1=1.0, m2=3.0, dim=2)
    q, v = _states(system)
    p = system.momentum(q, v)
    expected = (q[..., 0] * p[..., 1] - q[..., 1] * p[..., 0]).sum(-1)
    (gen,) = Rotation(2).generators((2, 2))
    assert gen.name == "rotation"
    _close(nt.charge(system.lagrangian, gen)(q, v), expected)


def test_rotation_charges_in_3d_are_the_angular_momentum():
    system = S.TwoBodySpring(m1=1.0, m2=3.0)
    q, v = _states(system)
    Lvec = torch.linalg.cross(q, system.momentum(q, v), dim=-1).sum(1)  # (B, 3)
    for a, name in enumerate(("rotation_x", "rotation_y", "rotation_z")):
        gen = _gens(Rotation(3), (2, 3))[name]
        _close(nt.charge(system.lagrangian, gen)(q, v), Lvec[:, a])


def test_rotation_about_any_axis_is_w_dot_angular_momentum():
    """A custom linear generator ``xi_i = w x q_i`` gives ``w . sum q_i x p_i``."""
    system = S.IdenticalParticles(N=3, potential="gaussian")
    q, v = _states(system)
    w = torch.tensor([0.3, -1.2, 0.5], dtype=torch.float64)
    W = torch.tensor([[0.0, -w[2], w[1]], [w[2], 0.0, -w[0]], [-w[1], w[0], 0.0]])
    gen = Generator.linear("about_w", W)
    expected = torch.linalg.cross(q, system.momentum(q, v), dim=-1).sum(1) @ w
    _close(nt.charge(system.lagrangian, gen)(q, v), expected)


@pytest.mark.parametrize(
    "system",
    [S.TwoBodySpring(m1=1.0, m2=2.0), S.Kepler(), S.ChargeInMagneticField(m=1.5, charge=-0.7)],
    ids=["two_body_spring", "kepler", "charge_in_B"],
)
def test_time_shift_charge_is_minus_the_energy(system):
    q, v = _states(system)
    (gen,) = TimeShift().generators(system.config_shape)
    _close(nt.charge(system.lagrangian, gen)(q, v, 0.4), -system.energy(q, v))


def test_boost_charge_with_unequal_masses():
    """``K = (P t - sum_i m_i q_i) . u`` for the boost with the system's masses."""
    system = S.TwoBodySpring(m1=1.0, m2=2.5)
    m = system.masses
    q, v = _states(system)
    t = torch.tensor([0.0, 0.7, -1.3, 2.0, 5.0], dtype=torch.float64)
    P = (m[:, None] * v).sum(1)
    mq = (m[:, None] * q).sum(1)
    expected = P * t[:, None] - mq  # (B, 3)
    for a, gen in enumerate(Boost(3, m).generators((2, 3))):
        assert gen.has_boundary
        _close(nt.charge(system.lagrangian, gen)(q, v, t), expected[:, a])


def test_canonical_momentum_in_a_magnetic_field():
    """Landau gauge: the charge of translation_x is ``p_x = m v_x - e B y``, not ``m v_x``."""
    system = S.ChargeInMagneticField(m=1.5, charge=-0.7, B=2.0)
    q, v = _states(system)
    gens = _gens(Translation(3), (1, 3))
    px = system.m * v[:, 0, 0] - system.charge * system.B * q[:, 0, 1]
    _close(nt.charge(system.lagrangian, gens["translation_x"])(q, v), px)
    _close(nt.charge(system.lagrangian, gens["translation_z"])(q, v), system.m * v[:, 0, 2])


def test_screw_charge_is_lz_plus_c_pz():
    system = S.TwoBodySpring(m1=1.0, m2=2.0)
    q, v = _states(system)
    c = 0.37

    def xi(q):
        return torch.stack([-q[..., 1], q[..., 0], torch.full_like(q[..., 2], c)], dim=-1)

    screw = Generator("screw", xi)
    p = system.momentum(q, v)
    Lz = (q[..., 0] * p[..., 1] - q[..., 1] * p[..., 0]).sum(-1)
    Pz = p[..., 2].sum(-1)
    _close(nt.charge(system.lagrangian, screw)(q, v), Lz + c * Pz)
    # a screw is a symmetry of the spring: no rate
    rate = nt.lie_derivative(system.lagrangian, screw)(q, v)
    assert rate.abs().max() < 1e-13


def test_charge_accepts_time_as_none_float_or_tensor_and_is_differentiable():
    system = S.TwoBodySpring()
    q, v = _states(system, 3)
    gen = Boost(3, system.masses).generators((2, 3))[1]
    Q = nt.charge(system.lagrangian, gen)
    assert Q.__name__ == "charge_boost_y"
    _close(Q(q, v), Q(q, v, 0.0))
    _close(Q(q, v, 1.5), Q(q, v, torch.full((3,), 1.5, dtype=torch.float64)))
    # dK/dv_i = m_i t e_y
    dv = grad(lambda v_: Q(q, v_, 2.0).sum())(v)
    expected = torch.zeros_like(v)
    expected[..., 1] = 2.0 * system.masses[None, :]
    _close(dv, expected)


def test_charge_rejects_a_non_generator():
    with pytest.raises(TypeError, match="generator must be a symnet.groups.Generator"):
        nt.charge(lambda q, v: (v**2).sum((-1, -2)), Translation(3))


# ---------------------------------------------------------------------------- Lie derivatives


@pytest.mark.parametrize("name", ["two_body_spring", "kepler", "identical_particles"])
def test_lie_derivative_vanishes_for_every_symmetry(name):
    system = {
        "two_body_spring": S.TwoBodySpring(m1=1.0, m2=2.0),
        "kepler": S.Kepler(),
        "identical_particles": S.IdenticalParticles(N=3, potential="gaussian"),
    }[name]
    q, v = _states(system)
    for gen in system.symmetry_generators():
        rate = nt.lie_derivative(system.lagrangian, gen)(q, v, 0.8)
        # relative to the terms of R, e.g. |dL/dq| |xi|: the checker's invariance error
        assert rate.abs().max() < 1e-12, (gen.name, rate)


def test_lie_derivative_of_broken_translation_is_minus_grad_v():
    """Central potential (quartic, ``V = r^4/4 - r^2/2``): ``R = -dV/dx_a = -(r^2 - 1) x_a``."""
    system = S.CentralPotential()
    q, v = _states(system)
    x = q[:, 0]
    r2 = (x * x).sum(-1)
    for a, gen in enumerate(Translation(3).generators((1, 3))):
        _close(nt.lie_derivative(system.lagrangian, gen)(q, v), -(r2 - 1.0) * x[:, a])


def test_lie_derivative_of_broken_dilation_and_translation_y():
    spring = S.TwoBodySpring(k=3.0, l0=1.2)
    q, v = _states(spring)
    r = (q[:, 0] - q[:, 1]).norm(dim=-1)
    (dilation,) = spring.symmetry_generators(broken=True)
    # xi = q, prolonged xidot = qdot: R = dL/dq . q + p . qdot = -r V'(r) + 2 T
    expected = 2.0 * spring.kinetic(v) - r * 3.0 * (r - 1.2)
    _close(nt.lie_derivative(spring.lagrangian, dilation)(q, v), expected)

    charge = S.ChargeInMagneticField(m=1.5, charge=-0.7, B=2.0)
    q, v = _states(charge)
    ty = _gens(Translation(3), (1, 3))["translation_y"]
    # L = 1/2 m v^2 - e B y v_x: R = dL/dy = -e B v_x
    _close(nt.lie_derivative(charge.lagrangian, ty)(q, v), 0.7 * 2.0 * v[:, 0, 0])


def test_lie_derivative_of_broken_time_shift_is_dl_dt():
    """Damped oscillator: ``R = dL/dt = gamma L``; driven: ``R = -q F0 Omega sin(Omega t)``."""
    damped = S.DampedOscillator(gamma=0.3)
    q, v = _states(damped)
    t = torch.linspace(0.0, 2.0, 5, dtype=torch.float64)
    (gen,) = TimeShift().generators((1,))
    _close(nt.lie_derivative(damped.lagrangian, gen)(q, v, t), 0.3 * damped.lagrangian(q, v, t))

    driven = S.DrivenOscillator(F0=0.5, Omega=1.3)
    expected = -q[:, 0] * 0.5 * 1.3 * torch.sin(1.3 * t)
    _close(nt.lie_derivative(driven.lagrangian, gen)(q, v, t), expected)


def test_hamiltonian_charge_matches_the_lagrangian_one():
    """Same generator, same number: ``Q(q, p) = J(q, qdot)`` at ``p = dL/dqdot``."""
    system = S.ChargeInMagneticField(m=1.5, charge=-0.7, B=2.0)
    q, v = _states(system)
    p = system.momentum(q, v)
    gens = [*system.symmetry_generators(), *system.symmetry_generators(broken=True)]
    for gen in gens:
        J = nt.charge(system.lagrangian, gen)(q, v, 0.2)
        Q = nt.hamiltonian_charge(system.hamiltonian, gen)(q, p, 0.2)
        _close(Q, J)


@pytest.mark.parametrize(
    "module", ["symnet.noether.charges", "symnet.noether.checker", "symnet.noether.report"]
)
def test_docstring_examples(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
