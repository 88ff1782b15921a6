"""``check``: learned and perturbed Lagrangians, honest verdicts, balance laws, no side effects."""

from __future__ import annotations

import pytest
import torch

import symnet.noether as nt
from symnet import systems as S
from symnet.groups import Rotation, TimeShift, Translation
from symnet.mechanics import NonFiniteStateError, rollout

from ._models import AnisotropicWell, MLPLagrangian

E2xT = Translation(2) * Rotation(2) * TimeShift()


def _mlp_states() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return torch.randn(4, 2, 2, generator=g), torch.randn(4, 2, 2, generator=g)


# ------------------------------------------------------------------ a learned (random) Lagrangian


@pytest.mark.slow
def test_random_mlp_lagrangian_breaks_translation_and_rotation_but_conserves_energy():
    L = MLPLagrangian(seed=0)
    params = {k: v.clone() for k, v in L.state_dict().items()}
    q0, v0 = _mlp_states()
    q_copy, v_copy = q0.clone(), v0.clone()

    report = nt.check(L, E2xT, q0, v0, dt=0.002, steps=30, method="rk4")

    assert report.verdicts == {
        "translation_x": "broken",
        "translation_y": "broken",
        "rotation": "broken",
        "time": "conserved",
    }, str(report)
    for name in ("translation_x", "translation_y", "rotation"):
        row = report.row(name)
        assert row.invariance_error > 1e-3
        assert row.balance_residual < 1e-3 * row.drift_half  # the drift is the breaking's
    assert report.row("time").invariance_error == 0.0  # L does not depend on t
    # the charges are float64 whatever the model's dtype
    assert all(c.dtype == torch.float64 and c.shape == (31, 4) for c in report.charges.values())

    # the module and the inputs are untouched: values, dtype, flags
    assert all(p.dtype == torch.float32 and p.requires_grad for p in L.parameters())
    assert all(p.grad is None for p in L.parameters())
    assert L.training
    state = L.state_dict()
    assert state.keys() == params.keys()
    assert all(torch.equal(state[k], params[k]) for k in params)
    assert q0.dtype == v0.dtype == torch.float32
    assert torch.equal(q0, q_copy) and torch.equal(v0, v_copy)
    assert not q0.requires_grad and not v0.requires_grad


@pytest.mark.slow
def test_a_coarse_step_never_makes_a_broken_symmetry_conserved():
    """dt = 0.01 is too coarse for this MLP: the balance law fails, so "reduce dt", not a guess."""
    L = MLPLagrangian(seed=0)
    q0, v0 = _mlp_states()
    report = nt.check(L, E2xT, q0, v0, dt=0.01, steps=30, method="rk4")
    for name in ("translation_x", "translation_y", "rotation"):
        row = report.row(name)
        assert row.verdict != "conserved"
        assert row.verdict == "inconclusive", str(report)
        assert "balance law does not explain" in row.reason and "reduce dt" in row.reason
    # the exact time shift is not called broken either: its drift is integration error
    time = report.row("time")
    assert time.verdict == "inconclusive" and time.invariance_error == 0.0
    assert "reduce dt" in time.reason


# ------------------------------------------------------------------ balance laws of broken ones


def test_damped_oscillator_energy_balance():
    """Caldirola-Kanai: the time charge is ``J = -e^(gamma t) E``; ``dE/dt = -gamma m qdot^2``.

    The charge drifts a lot, yet the report's balance residual is at the
    integrator's accuracy: the drift is exactly the broken time shift's.
    """
    system = S.DampedOscillator(m=1.3, k=2.0, gamma=0.4)
    q, v = system.sample_states(4, torch.Generator().manual_seed(2))
    dt, steps = 0.01, 200
    report = nt.check(
        system.lagrangian, TimeShift(), q, v, dt=dt, steps=steps, field=system.acceleration
    )
    row = report.row("time")
    assert row.verdict == "broken", str(report)
    assert row.drift_half > 0.1
    assert row.balance_residual < 1e-9 * row.drift_half

    # the charge is the physical energy scaled by e^(gamma t), along the same trajectories
    traj = rollout(system.acceleration, q, v, dt=dt, steps=steps, method="rk4")
    E = system.energy(traj.q.flatten(0, 1), traj.v.flatten(0, 1)).reshape(steps + 1, 4)
    J = report.charges["time"]
    torch.testing.assert_close(J, -torch.exp(0.4 * traj.t) * E, rtol=1e-12, atol=1e-12)
    # and the physical energy obeys dE/dt = -gamma m qdot^2 (Simpson over the run)
    rate = -0.4 * 1.3 * traj.v[..., 0] ** 2
    integral = dt / 3 * (rate[0:-2:2] + 4 * rate[1:-1:2] + rate[2::2]).sum(0)
    torch.testing.assert_close(E[-1] - E[0], integral, rtol=1e-8, atol=1e-10)


def test_balance_residual_converges_for_a_broken_rotation():
    """Anisotropic well, eps = 0.05: L_z drifts; the residual falls with the step at order 4."""
    system = AnisotropicWell(eps=0.05)
    q, v = S.CentralPotential().sample_states(4, torch.Generator().manual_seed(5))
    residuals = []
    for dt in (0.04, 0.02):
        r = nt.check(
            system.lagrangian,
            "rotation_z",
            q,
            v,
            dt=dt,
            steps=int(1.6 / dt),
            field=system.acceleration,
        )
        assert r.verdicts == {"rotation_z": "broken"}, str(r)
        residuals.append(r.row("rotation_z").balance_residual)
    assert residuals[0] / residuals[1] > 10


# ------------------------------------------------------------------ inconclusive, honestly


def test_far_too_large_step_is_inconclusive_not_broken():
    system = S.Kepler()
    q, v = system.sample_states(4, torch.Generator().manual_seed(0))
    report = nt.check(
        system.lagrangian,
        [Rotation(3), TimeShift()],
        q,
        v,
        dt=1.5,
        steps=10,
        field=system.acceleration,
    )
    assert set(report.verdicts.values()) == {"inconclusive"}, str(report)
    for row in report.rows:
        assert row.invariance_error < 1e-12  # the symmetry is exact ...
        assert row.drift_half > 1e-2  # ... but the rollout is not accurate
        assert "reduce dt" in row.reason


@pytest.mark.parametrize(
    ("eps", "expected"),
    [
        (0.0, "conserved"),
        (4e-8, "inconclusive"),  # relative breaking ~1e-8: between round-off and real breaking
        (1e-3, "broken"),
    ],
)
def test_slightly_broken_rotation(eps, expected):
    system = AnisotropicWell(eps)
    q, v = S.CentralPotential().sample_states(4, torch.Generator().manual_seed(1))
    report = nt.check(
        system.lagrangian,
        [Rotation(3), TimeShift()],
        q,
        v,
        dt=0.01,
        steps=60,
        field=system.acceleration,
    )
    assert report.verdicts == {
        "rotation_x": expected,
        "rotation_y": "conserved",  # x^2 + z^2 is untouched by eps
        "rotation_z": expected,
        "time": "conserved",
    }, str(report)
    if eps:
        # |R| / (sum of |terms|) <= eps / (2 + eps), equality where the velocity terms vanish
        for name in ("rotation_x", "rotation_z"):
            assert eps / 10 < report.row(name).invariance_error <= eps / (2 + eps) * (1 + 1e-6)
    if expected == "inconclusive":
        assert "lies between round-off" in report.row("rotation_x").reason


SWEEP_SYSTEMS = {
    "kepler": (S.Kepler(), "leapfrog"),
    "two_body_spring": (S.TwoBodySpring(m1=1.0, m2=2.0), "leapfrog"),
    "isotropic_oscillator": (S.IsotropicOscillator(), "leapfrog"),
    "charge_in_B": (S.ChargeInMagneticField(m=1.5, charge=-0.7), "implicit_midpoint"),
    "damped_oscillator": (S.DampedOscillator(gamma=0.3), "implicit_midpoint"),
}


@pytest.mark.parametrize("name", list(SWEEP_SYSTEMS))
def test_no_false_verdict_across_steps_and_methods(name):
    """Property: whatever dt and method, exact symmetries are never ``broken`` and broken
    ones never ``conserved`` (an inaccurate run may only make them ``inconclusive``)."""
    system, symplectic = SWEEP_SYSTEMS[name]
    q, v = system.sample_states(3, torch.Generator().manual_seed(7))
    exact = {g.name for g in system.symmetry_generators()}
    broken = {g.name for g in system.symmetry_generators(broken=True)}
    ran = 0
    for method, dt in [
        ("rk4", 0.05),
        ("rk4", 0.6),
        ("rk4", 1.5),
        (symplectic, 0.1),
        (symplectic, 0.9),
        ("euler", 0.05),
        ("euler", 0.4),
        ("yoshida4" if symplectic == "leapfrog" else "dopri5", 0.3),
    ]:
        try:
            report = nt.check(
                system.lagrangian,
                [*system.symmetries, *system.broken],
                q,
                v,
                dt=dt,
                steps=12,
                method=method,
                t0=0.2,
                field=system.acceleration,
            )
        except NonFiniteStateError:  # the rollout blew up: an error, never a verdict
            continue
        ran += 1
        for gen, verdict in report.verdicts.items():
            where = f"{name}, {method}, dt={dt}: {gen}\n{report}"
            if gen in exact:
                assert verdict != "broken", where
            if gen in broken:
                assert verdict != "conserved", where
    assert ran >= 6


def test_a_blown_up_rollout_is_an_error_naming_the_step():
    system = S.CentralPotential()
    q, v = system.sample_states(4, torch.Generator().manual_seed(0))
    with pytest.raises(NonFiniteStateError, match="reduce dt"):
        nt.check(system.lagrangian, "rotation", q, v, dt=1.0, steps=10, field=system.acceleration)


# ------------------------------------------------------------------ conventions


def test_time_dependent_lagrangian_and_t0():
    """``L(q, qdot, t)`` is called with t; the charges start at t0."""
    system = S.DrivenOscillator()
    q, v = system.sample_states(3, torch.Generator().manual_seed(0))
    report = nt.check(
        system.lagrangian, "time", q, v, dt=0.01, steps=20, t0=2.0, field=system.acceleration
    )
    assert report.verdicts == {"time": "broken"}
    assert report.t0 == 2.0
    torch.testing.assert_close(report.times[0], torch.full((3,), 2.0, dtype=torch.float64))
    torch.testing.assert_close(report.times[-1], torch.full((3,), 2.2, dtype=torch.float64))
    expected = -system.energy(q, v) + q[:, 0] * system.drive(2.0, q)[:, 0]  # J = -H at t0
    torch.testing.assert_close(report.charges["time"][0], expected)


def test_symmetries_given_in_every_accepted_form():
    system = S.TwoBodySpring()
    q, v = system.sample_states(2, torch.Generator().manual_seed(0))
    gen = Rotation(3).generators((2, 3))[2]
    report = nt.check(
        system.lagrangian,
        ["translation_y", gen, TimeShift(), "boost"],
        q,
        v,
        dt=0.02,
        steps=5,
        field=system.acceleration,
    )
    assert list(report.verdicts) == [
        "translation_y",
        "rotation_z",
        "time",
        "boost_x",
        "boost_y",
        "boost_z",
    ]
    assert report.all_conserved, str(report)
    assert [r.charge for r in report.rows] == ["P_y", "L_z", "-E", "K_x", "K_y", "K_z"]


def test_hamiltonian_field_given_as_a_plain_callable():
    """A plain ``field`` in Hamiltonian form is Hamilton's equations, not an acceleration."""
    system = S.Kepler()
    q, v = system.sample_states(3, torch.Generator().manual_seed(0))
    p = system.momentum(q, v)
    report = nt.check_hamiltonian(
        system.hamiltonian,
        ["rotation", "translation"],
        q,
        p,
        dt=0.01,
        steps=20,
        field=system.phase_velocity,
    )
    assert report.verdicts == {
        **{f"rotation_{a}": "conserved" for a in "xyz"},
        **{f"translation_{a}": "broken" for a in "xyz"},
    }, str(report)
