"""State distributions, constructor validation and the small API surface."""

from __future__ import annotations

import math

import pytest
import torch

from symnet import systems as S
from tests.systems._catalog import ALL, IDS


def seeded(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("system", ALL, ids=IDS)
def test_sample_states_shapes_dtype_and_seeding(system):
    q, qdot = system.sample_states(7, seeded(5))
    assert q.shape == qdot.shape == (7, *system.config_shape)
    assert q.dtype == qdot.dtype == torch.float64
    q2, qdot2 = system.sample_states(7, seeded(5))
    assert torch.equal(q, q2) and torch.equal(qdot, qdot2)
    assert not torch.equal(q, system.sample_states(7, seeded(6))[0])
    assert bool(torch.isfinite(system.lagrangian(q, qdot)).all())


@pytest.mark.parametrize("system", ALL, ids=IDS)
def test_repr_and_shape_errors(system):
    r = repr(system)
    assert r.startswith(type(system).__name__ + "(") and r.endswith(")")
    q, qdot = system.sample_states(2)
    with pytest.raises(ValueError, match="q must have shape"):
        system.lagrangian(q[0], qdot[0])
    with pytest.raises(ValueError, match="qdot must have shape"):
        system.acceleration(q, torch.cat([qdot, qdot], dim=-1))
    with pytest.raises(ValueError, match="n must be"):
        system.sample_states(0)
    with pytest.raises(TypeError, match="n must be an int"):
        system.sample_states(2.0)
    with pytest.raises(TypeError, match="rng must be an int seed or a torch.Generator"):
        system.sample_states(2, rng="0")
    with pytest.raises(TypeError, match="rng must be"):
        system.generate(2, 2, 0.1, rng=1.5)


def test_double_pendulum_samples_in_range():
    q, qdot = S.DoublePendulum().sample_states(4000, seeded(1))
    assert float(q.min()) >= 0 and float(q.max()) < 2 * math.pi
    assert float(qdot.min()) >= -10 and float(qdot.max()) <= 10
    assert float(q.max()) > 6.2 and float(qdot.abs().max()) > 9.9  # covers the ranges
    _, qdot = S.DoublePendulum(velocity_range=2.0).sample_states(100, seeded(1))
    assert float(qdot.abs().max()) <= 2.0


@pytest.mark.parametrize("dim", [2, 3])
def test_kepler_samples_are_bound_and_keep_away_from_the_origin(dim):
    sys = S.Kepler(m=1.5, k=2.0, dim=dim)
    q, qdot = sys.sample_states(2000, seeded(2))
    r = q.norm(dim=-1)[:, 0]
    assert float(r.min()) >= 0.5 and float(r.max()) <= 1.5
    E = sys.energy(q, qdot)
    assert float((E * r).max()) <= -0.26 * sys.k + 1e-12  # E <= -0.26 k / r0
    rp = sys.perihelion(q, qdot)
    assert float((rp / r).min()) >= 0.45 and float(rp.min()) > 0.2


def test_other_documented_ranges():
    q, qdot = S.MassSpring().sample_states(2000, seeded(3))
    radius = (q**2 + (0.5 * qdot) ** 2).sqrt()  # sqrt(q^2 + p^2), p = m qdot
    assert float(radius.min()) >= 0.1 and float(radius.max()) <= 1.0
    sys = S.Pendulum()
    q, qdot = sys.sample_states(2000, seeded(3))
    radius = (q**2 + (sys.inertia * qdot) ** 2).sqrt()
    assert float(radius.min()) >= 0.2 and float(radius.max()) <= 2.0
    assert float(sys.energy(q, qdot).max()) < 2 * sys.m * sys.g * sys.l  # librations only
    q, _ = S.CentralPotential().sample_states(500, seeded(3))
    assert 0.5 <= float(q.norm(dim=-1).min()) and float(q.norm(dim=-1).max()) <= 1.5
    sys = S.TwoBodySpring(l0=2.0)
    q, _ = sys.sample_states(500, seeded(3))
    sep = (q[:, 0] - q[:, 1]).norm(dim=-1)
    assert float(sep.min()) >= 1.0 and float(sep.max()) <= 3.0
    for sys in (S.IdenticalParticles(N=5), S.IdenticalParticles(N=7, dim=2, sigma=0.5)):
        q, _ = sys.sample_states(300, seeded(3))
        d = (q[:, :, None] - q[:, None]).norm(dim=-1)
        d = d + torch.eye(sys.N, dtype=torch.float64) * 1e9
        assert float(d.min()) >= sys.sigma - 1e-12


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: S.TwoBodySpring(m1=-1.0), "m1"),
        (lambda: S.TwoBodySpring(m2=0.0), "m2"),
        (lambda: S.TwoBodySpring(k=-2.0), "k"),
        (lambda: S.TwoBodySpring(l0=-1.0), "l0"),
        (lambda: S.TwoBodySpring(dim=0), "dim"),
        (lambda: S.CentralPotential(m=0.0), "m"),
        (lambda: S.CentralPotential(V="coulomb"), "V"),
        (lambda: S.Kepler(dim=4), "dim"),
        (lambda: S.Kepler(k=-1.0), "k"),
        (lambda: S.IsotropicOscillator(dim=1), "dim"),
        (lambda: S.IsotropicOscillator(k=float("nan")), "k"),
        (lambda: S.AnisotropicOscillator(ky=-1.0), "ky"),
        (lambda: S.ChargeInMagneticField(m=-1.0), "m"),
        (lambda: S.ChargeInMagneticField(B=0.0), "charge \\* B"),
        (lambda: S.DampedOscillator(gamma=-0.1), "gamma"),
        (lambda: S.DrivenOscillator(F0=float("inf")), "F0"),
        (lambda: S.DoublePendulum(l2=0.0), "l2"),
        (lambda: S.DoublePendulum(g=-9.8), "g"),
        (lambda: S.DoublePendulum(velocity_range=-1.0), "velocity_range"),
        (lambda: S.IdenticalParticles(N=1), "N"),
        (lambda: S.IdenticalParticles(masses=[1.0, 2.0]), "masses"),
        (lambda: S.IdenticalParticles(masses=[1.0, -2.0, 1.0, 1.0]), "masses"),
        (lambda: S.IdenticalParticles(potential="coulomb"), "potential"),
        (lambda: S.IdenticalParticles(sigma=0.0), "sigma"),
        (lambda: S.MassSpring(radius=(1.0, 0.5)), "radius"),
        (lambda: S.Pendulum(l=-1.0), "l"),
        (lambda: S.NBodyGravity(softening=-0.1), "softening"),
        (lambda: S.NBodyGravity(G=0.0), "G"),
        (lambda: S.NBodySprings(N=3, masses=[1.0, 1.0]), "masses"),
    ],
)
def test_bad_arguments_raise_value_error_naming_them(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_bad_argument_types():
    with pytest.raises(TypeError, match="m1"):
        S.TwoBodySpring(m1="heavy")
    with pytest.raises(TypeError, match="dim"):
        S.NBodySprings(dim=2.0)
    with pytest.raises(TypeError, match="potential"):
        S.IdenticalParticles(potential=3)


def test_system_is_abstract_and_the_public_names():
    with pytest.raises(TypeError):
        S.System()
    assert set(S.__all__) >= {
        "System",
        "Trajectories",
        "TwoBodySpring",
        "CentralPotential",
        "Kepler",
        "IsotropicOscillator",
        "AnisotropicOscillator",
        "ChargeInMagneticField",
        "DampedOscillator",
        "DrivenOscillator",
        "DoublePendulum",
        "IdenticalParticles",
        "MassSpring",
        "Pendulum",
        "NBodyGravity",
        "NBodySprings",
    }
    assert repr(S.TwoBodySpring()) == "TwoBodySpring(m1=1, m2=1, k=1, l0=1, dim=3)"
    assert repr(S.DoublePendulum()) == "DoublePendulum(m1=1, m2=1, l1=1, l2=1, g=9.8)"


def test_hamiltonian_not_defined_raises_not_implemented():
    class Free(S.System):
        config_shape = (1,)
        symmetries = []
        broken = []

        def _params(self):
            return {}

        def lagrangian(self, q, qdot, t=None):
            return 0.5 * (qdot**2).sum(-1)

        acceleration = momentum = velocity = energy = sample_states = lagrangian

    with pytest.raises(NotImplementedError, match="Free"):
        Free().hamiltonian(torch.zeros(1, 1), torch.zeros(1, 1))


def test_rng_seed_generator_and_the_deprecated_generator_argument():
    system = S.Kepler()
    a = system.sample_states(3, rng=5)
    b = system.sample_states(3, seeded(5))  # positional: the second parameter is rng
    c = system.sample_states(3, rng=seeded(5))
    assert all(torch.equal(x, y) and torch.equal(x, z) for x, y, z in zip(a, b, c, strict=True))
    with pytest.warns(DeprecationWarning, match=r"generator= is deprecated, use rng="):
        d = system.sample_states(3, generator=seeded(5))
    assert torch.equal(a[0], d[0])
    with pytest.warns(DeprecationWarning, match=r"Kepler.generate: the argument generator="):
        old = system.generate(3, 2, 0.1, generator=seeded(5))
    assert torch.equal(old.q, system.generate(3, 2, 0.1, rng=5).q)
    with pytest.warns(DeprecationWarning, match=r"hnn_dataset: the argument generator="):
        old = S.MassSpring().hnn_dataset(n_traj=2, points=3, generator=seeded(1))
    assert torch.equal(old.q, S.MassSpring().hnn_dataset(n_traj=2, points=3, rng=1).q)
    with pytest.raises(TypeError, match="not both"):
        system.sample_states(3, rng=1, generator=seeded(1))
