"""The ground truth: listed symmetries are exact, listed broken ones clearly are not.

For a generator ``(xi, tau, F)`` the Noether invariance quantity (REFERENCES.md
section 1, ``tau`` constant) is

    R = dL/dq . xi + dL/dqdot . xidot + tau dL/dt - dF/dt,

computed here with autograd and ``gen.prolong`` / ``gen.boundary_rate``. It
must be at round-off relative to its terms for every symmetry and clearly
nonzero for every broken entry. Independently, the charge
``J = p . xi - h tau - F`` changes along the closed-form flow at the rate R
(the balance law), so symmetries are checked against the dynamics too.
"""

from __future__ import annotations

import pytest
import torch
from torch.func import jvp

from symnet import systems as S
from symnet.groups import Generator, Group, Permutation
from tests.systems._catalog import ALL, SYSTEMS, states

EXACT = 1e-11
BROKEN = 1e-3


def invariance(system: S.System, gen: Generator, q, qdot, t):
    """``(R, scale)``, each of shape (B,); scale sums the magnitudes of R's terms."""
    xi, xidot = gen.prolong(q, qdot, t)
    Fdot = gen.boundary_rate(q, qdot, t)
    qv, vv, tv = (x.clone().requires_grad_(True) for x in (q, qdot, t))
    L = system.lagrangian(qv, vv, tv)
    gq, gv, gt = torch.autograd.grad(L.sum(), (qv, vv, tv), materialize_grads=True)
    terms_q, terms_v = (gq * xi).flatten(1), (gv * xidot).flatten(1)
    R = terms_q.sum(-1) + terms_v.sum(-1) + gen.tau * gt - Fdot
    scale = terms_q.abs().sum(-1) + terms_v.abs().sum(-1) + (gen.tau * gt).abs() + Fdot.abs()
    return R, scale


def charge(system: S.System, gen: Generator):
    def charge_fn(q, qdot, t):
        p = system.momentum(q, qdot, t)
        h = (qdot * p).flatten(1).sum(-1) - system.lagrangian(q, qdot, t)
        return (p * gen.xi(q, t)).flatten(1).sum(-1) - gen.tau * h - gen.boundary(q, t)

    return charge_fn


def cases(broken: bool):
    out = []
    for name, system in SYSTEMS.items():
        for gen in system.symmetry_generators(broken=broken):
            out.append(pytest.param(system, gen, id=f"{name}-{gen.name}"))
    return out


@pytest.mark.parametrize(("system", "gen"), cases(broken=False))
def test_listed_symmetries_are_exact(system, gen):
    q, qdot, t = states(system)
    R, scale = invariance(system, gen, q, qdot, t)
    # where L does not depend on the direction at all (translation_x of the charge) R = 0 exactly
    assert float((R.abs() / scale.clamp_min(1e-300)).max()) < EXACT


@pytest.mark.parametrize(("system", "gen"), cases(broken=True))
def test_broken_entries_are_clearly_broken(system, gen):
    q, qdot, t = states(system)
    R, scale = invariance(system, gen, q, qdot, t)
    assert float(R.norm() / scale.norm()) > BROKEN


@pytest.mark.parametrize(("system", "gen"), cases(broken=False) + cases(broken=True))
def test_charge_rate_is_the_invariance_quantity(system, gen):
    """dJ/dt along the closed-form flow equals R (exact balance law), and 0 for symmetries."""
    q, qdot, t = states(system)
    a = system.acceleration(q, qdot, t)
    _, dJ = jvp(charge(system, gen), (q, qdot, t), (qdot, a, torch.ones_like(t)))
    R, _ = invariance(system, gen, q, qdot, t)
    # size of the terms of dJ/dt = pdot . xi + p . xidot - tau dh/dt - dF/dt
    p, pdot = system.momentum(q, qdot, t), system.momentum_rate(q, qdot, t)
    xi, xidot = gen.prolong(q, qdot, t)

    def size(*xs):
        return sum((x.abs() if x.dim() == 1 else x.abs().flatten(1).sum(-1)) for x in xs)

    rate = size(pdot * xi, p * xidot, gen.boundary_rate(q, qdot, t))
    rate = rate + size(a * p, qdot * pdot)  # the scale of rates in this state
    assert float(((dJ - R).abs() / rate.clamp_min(1e-300)).max()) < 1e-10


def _permutation_residuals(system: S.System, group: Group):
    q, qdot, t = states(system)
    L = system.lagrangian(q, qdot, t)
    a = system.acceleration(q, qdot, t)
    out = {}
    for name, g in group.discrete_generators(system.config_shape):
        qs, vs = group.act(g, q, "point"), group.act(g, qdot, "vector")
        dL = float((system.lagrangian(qs, vs, t) - L).abs().max() / L.abs().mean())
        da = system.acceleration(qs, vs, t) - group.act(g, a, "vector")
        out[name] = (dL, float(da.abs().max() / a.abs().max()))
    return out


DISCRETE = [(n, s) for n, s in SYSTEMS.items() if s.discrete_symmetries()]
DISCRETE_BROKEN = [(n, s) for n, s in SYSTEMS.items() if s.discrete_symmetries(broken=True)]


@pytest.mark.parametrize("system", [s for _, s in DISCRETE], ids=[n for n, _ in DISCRETE])
def test_listed_permutations_are_exact(system):
    (group,) = system.discrete_symmetries()
    for name, (dL, da) in _permutation_residuals(system, group).items():
        assert dL < EXACT and da < EXACT, name


@pytest.mark.parametrize(
    "system", [s for _, s in DISCRETE_BROKEN], ids=[n for n, _ in DISCRETE_BROKEN]
)
def test_broken_permutations_are_broken(system):
    (group,) = system.discrete_symmetries(broken=True)
    res = _permutation_residuals(system, group)
    assert max(dL for dL, _ in res.values()) > BROKEN
    assert max(da for _, da in res.values()) > BROKEN


def names(items):
    return [getattr(x, "name", None) if isinstance(x, Generator) else repr(x) for x in items]


def test_ground_truth_table():
    """REFERENCES.md section 4, rows 1-8 and 12."""
    assert names(S.TwoBodySpring().symmetries) == [
        "Translation(3)",
        "Rotation(3)",
        "TimeShift()",
        "Boost(3, masses=[1, 1])",
        "Permutation()",
    ]
    assert names(S.TwoBodySpring(m2=2.0).broken) == ["dilation", "Permutation()"]
    assert "Permutation()" not in names(S.TwoBodySpring(m2=2.0).symmetries)
    assert names(S.CentralPotential().symmetries) == ["Rotation(3)", "TimeShift()"]
    assert names(S.CentralPotential().broken) == ["Translation(3)"]
    assert names(S.Kepler().broken) == ["Translation(3)"]
    assert names(S.IsotropicOscillator().symmetries) == ["Rotation(2)", "TimeShift()"]
    assert names(S.IsotropicOscillator().broken) == ["Translation(2)"]
    assert names(S.AnisotropicOscillator().broken) == ["Rotation(2)", "Translation(2)"]
    assert names(S.AnisotropicOscillator(kx=2.0, ky=2.0).symmetries) == [
        "Rotation(2)",
        "TimeShift()",
    ]
    charge = S.ChargeInMagneticField()
    assert names(charge.symmetries) == [
        "translation_x",
        "translation_z",
        "TimeShift()",
        "rotation_z",
    ]
    assert names(charge.broken) == ["translation_y", "rotation_x", "rotation_y"]
    assert names(S.DampedOscillator().broken) == ["TimeShift()"]
    assert names(S.DrivenOscillator().broken) == ["TimeShift()"]
    assert names(S.DrivenOscillator().symmetries) == []
    assert names(S.DoublePendulum().symmetries) == ["TimeShift()"]
    assert names(S.DoublePendulum().broken) == ["angle_shift", "theta1_shift"]
    assert names(S.DoublePendulum(g=0.0).symmetries) == ["TimeShift()", "angle_shift"]
    assert names(S.IdenticalParticles().symmetries)[-1] == "Permutation()"
    assert "Permutation()" in names(S.IdenticalParticles(masses=[1.0, 2.0, 3.0, 4.0]).broken)
    assert names(S.Pendulum(g=0.0).symmetries) == ["TimeShift()", "angle_shift"]
    assert names(S.DampedOscillator(gamma=0.0).symmetries) == ["TimeShift()"]
    assert S.DampedOscillator(gamma=0.0).broken == []


def test_every_system_has_a_negative_control_or_is_declared_without():
    for name, system in SYSTEMS.items():
        assert system.broken or isinstance(system, S.DampedOscillator), name


def test_double_pendulum_angle_shift_charge_is_total_angular_momentum():
    sys = S.DoublePendulum(g=0.0, m2=2.0)
    q, qdot, t = states(sys)
    (gen,) = [g for g in sys.symmetry_generators() if g.name == "angle_shift"]
    p = sys.momentum(q, qdot)
    assert torch.allclose(charge(sys, gen)(q, qdot, t), p.sum(-1), rtol=1e-13, atol=0)


@pytest.mark.parametrize("system", [SYSTEMS["kepler"], SYSTEMS["kepler_2d"]], ids=["3d", "2d"])
def test_runge_lenz_is_conserved_in_hamiltonian_form(system):
    q, qdot, t = states(system)
    p = system.momentum(q, qdot)
    A = system.runge_lenz(q, p)
    assert A.shape == (q.shape[0], system.dim)
    dq, dp = system.phase_velocity(q, p)
    _, dA = jvp(system.runge_lenz, (q, p), (dq, dp))  # {A, H}
    assert float(dA.abs().max() / A.abs().max()) < 1e-12
    # |A| = m k e, and A points to the perihelion: r_p = L^2 / (m k (1 + e))
    e = A.norm(dim=-1) / (system.m * system.k)
    Lm = system.angular_momentum(q, p)
    L2 = Lm**2 if system.dim == 2 else (Lm**2).sum(-1)
    rp = L2 / (system.m * system.k * (1 + e))
    assert torch.allclose(rp, system.perihelion(q, qdot), rtol=1e-10)


def test_runge_lenz_is_not_conserved_off_kepler():
    """Negative control: in another central potential A changes."""
    kep, quartic = S.Kepler(), S.CentralPotential()
    q, qdot, _ = states(quartic)
    p = quartic.momentum(q, qdot)
    _, dA = jvp(kep.runge_lenz, (q, p), quartic.phase_velocity(q, p))
    assert float(dA.abs().max() / kep.runge_lenz(q, p).abs().max()) > BROKEN


def test_symmetry_lists_are_fresh_and_typed():
    for system in ALL:
        assert system.symmetries is not system.symmetries
        for item in system.symmetries + system.broken:
            assert isinstance(item, (Group, Generator))
        for gen in system.symmetry_generators() + system.symmetry_generators(broken=True):
            assert isinstance(gen, Generator)
    assert isinstance(S.IdenticalParticles().discrete_symmetries()[0], Permutation)
