"""Every entry of the ground-truth table (REFERENCES.md section 4, rows 1-8 and 12).

Each system's exact symmetries must come out ``conserved`` and its broken ones
``broken``, with rk4 and with a symplectic method; no false verdicts.
"""

from __future__ import annotations

import pytest
import torch

import symnet.noether as nt
from symnet import systems as S

# (system, symplectic method): implicit midpoint where the acceleration depends on the velocity
GROUND_TRUTH = {
    "two_body_spring": (S.TwoBodySpring(m1=1.0, m2=2.0, k=3.0, l0=1.0), "leapfrog"),
    "central_potential": (S.CentralPotential(), "leapfrog"),
    "kepler": (S.Kepler(), "leapfrog"),
    "isotropic_oscillator": (S.IsotropicOscillator(), "leapfrog"),
    "charge_in_magnetic_field": (
        S.ChargeInMagneticField(m=1.5, charge=-0.7, B=2.0),
        "implicit_midpoint",
    ),
    "damped_oscillator": (S.DampedOscillator(), "implicit_midpoint"),
    "driven_oscillator": (S.DrivenOscillator(), "leapfrog"),
    "double_pendulum": (S.DoublePendulum(), "implicit_midpoint"),
    "double_pendulum_g0": (S.DoublePendulum(g=0.0), "implicit_midpoint"),
    "identical_particles": (S.IdenticalParticles(), "leapfrog"),
    "distinct_masses": (S.IdenticalParticles(masses=[1.0, 2.0, 3.0, 4.0]), "leapfrog"),
    "lennard_jones_periodic": (S.LennardJones(32, box=6.0, shift="force"), "leapfrog"),
}


def _expected(system: S.System) -> dict[str, str]:
    q, _ = system.sample_states(1)
    shape = tuple(q.shape[1:])
    out = {}
    for label, items in (("conserved", system.symmetries), ("broken", system.broken)):
        for item in items:
            if isinstance(item, nt.Row):  # pragma: no cover - defensive
                continue
            if hasattr(item, "factors"):
                for factor in item.factors:
                    if factor.discrete:
                        out[factor.name] = label
                    else:
                        out.update({g.name: label for g in factor.generators(shape)})
            else:
                out[item.name] = label
    return out


def _check(system: S.System, method: str, autodiff: bool = False) -> nt.NoetherReport:
    q, v = system.sample_states(6, torch.Generator().manual_seed(1))
    dt = 0.01 if method != "implicit_midpoint" else 0.02
    return nt.check(
        system.lagrangian,
        [*system.symmetries, *system.broken],
        q,
        v,
        dt=dt,
        steps=40,
        method=method,
        t0=0.3,
        field=None if autodiff else system.acceleration,
    )


@pytest.mark.parametrize("name", list(GROUND_TRUTH))
@pytest.mark.parametrize("which", ["rk4", "symplectic"])
def test_ground_truth_verdicts(name: str, which: str) -> None:
    system, symplectic = GROUND_TRUTH[name]
    method = "rk4" if which == "rk4" else symplectic
    report = _check(system, method)
    expected = _expected(system)
    assert set(report.verdicts) == set(expected)
    wrong = {
        k: (report.verdicts[k], expected[k], report.row(k).reason)
        for k in expected
        if report.verdicts[k] != expected[k]
    }
    assert not wrong, f"{name} with {method}:\n{report}"


@pytest.mark.slow
@pytest.mark.parametrize("name", ["two_body_spring", "kepler", "double_pendulum_g0"])
def test_ground_truth_with_autodiff_dynamics(name: str) -> None:
    """The default dynamics (Euler-Lagrange of L by autodiff) give the same verdicts."""
    system, _ = GROUND_TRUTH[name]
    report = _check(system, "rk4", autodiff=True)
    assert report.verdicts == _expected(system), str(report)


def test_balance_law_for_broken_momentum() -> None:
    """Central potential: P(t) - P(0) equals the integral of the Lie derivative."""
    system = S.CentralPotential()
    q, v = system.sample_states(4, torch.Generator().manual_seed(3))
    residuals = []
    for dt in (0.02, 0.01):
        r = nt.check(
            system.lagrangian,
            "translation",
            q,
            v,
            dt=dt,
            steps=int(0.8 / dt),
            field=system.acceleration,
        )
        residuals.append(max(row.balance_residual for row in r.rows))
        assert all(row.drift_half > 1e-2 for row in r.rows)  # the momentum really changes
    assert residuals[1] < 1e-8
    assert residuals[0] / residuals[1] > 8  # converges at the integrator's order (4)
