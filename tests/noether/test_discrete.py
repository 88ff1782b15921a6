"""Discrete symmetries: invariance, flow equivariance and fixed states (REFERENCES.md sec. 1)."""

from __future__ import annotations

import math

import pytest
import torch

import symnet.noether as nt
from symnet import systems as S
from symnet.groups import Permutation, Translation


def _check(system, symmetries, method="leapfrog", field=None, n=3):
    q, v = system.sample_states(n, torch.Generator().manual_seed(4))
    return nt.check(
        system.lagrangian,
        symmetries,
        q,
        v,
        dt=0.01,
        steps=20,
        method=method,
        field=system.acceleration if field is None else field,
    )


@pytest.mark.parametrize("potential", ["gaussian", "lennard-jones"])
def test_identical_particles_conserve_permutation(potential):
    system = S.IdenticalParticles(N=4, potential=potential)
    report = _check(system, [Translation(3), Permutation()])
    row = report.row("permutation")
    assert row.verdict == "conserved", str(report)
    assert row.group == "Permutation()" and row.charge == "-"
    assert row.invariance_error <= 1e-12
    assert row.flow_error <= 1e-12
    # no charge, no drift: a discrete symmetry has no Noether charge
    assert "permutation" not in report.charges
    assert row.drift is row.drift_half is row.balance_residual is None


def test_fixed_state_error_is_measured_without_a_singularity():
    """Gaussian repulsion is smooth where particles coincide: the fixed state stays fixed."""
    report = _check(S.IdenticalParticles(N=3, potential="gaussian"), Permutation())
    row = report.row("permutation")
    assert isinstance(row.fixed_state_error, float)
    assert row.fixed_state_error < 1e-12
    assert "n/a" not in row.reason


def test_fixed_state_error_is_none_for_lennard_jones():
    report = _check(S.IdenticalParticles(N=3), Permutation())
    row = report.row("permutation")
    assert row.fixed_state_error is None
    assert row.verdict == "conserved"
    assert "fixed-state test n/a (singular at coinciding particles)" in row.reason


def test_distinct_masses_break_permutation():
    system = S.IdenticalParticles(N=4, masses=[1.0, 2.0, 3.0, 4.0], potential="gaussian")
    report = _check(system, Permutation())
    row = report.row("permutation")
    assert row.verdict == "broken", str(report)
    assert row.invariance_error > 1e-3
    assert row.flow_error > 1e-6


def test_dynamics_that_break_what_l_keeps_are_not_conserved():
    """L is permutation invariant but the integrated field is not: the signals disagree."""
    system = S.IdenticalParticles(N=3, potential="gaussian")

    def biased(q, v):  # pushes particle 0 only
        a = system.acceleration(q, v)
        return (
            a
            + torch.tensor([1.0, 0.0, 0.0], dtype=q.dtype)
            * (torch.arange(3, dtype=q.dtype) == 0)[:, None]
        )

    report = _check(system, Permutation(), field=biased)
    row = report.row("permutation")
    assert row.invariance_error <= 1e-12
    assert row.flow_error > 1e-6
    assert row.verdict == "inconclusive", str(report)


def test_permutation_by_name_and_in_a_product():
    system = S.IdenticalParticles(N=3, potential="gaussian")
    report = _check(system, ["permutation", "translation_x"], method="rk4")
    assert report.verdicts == {"translation_x": "conserved", "permutation": "conserved"}
    report = _check(system, Translation(3) * Permutation(), method="rk4")
    assert list(report.verdicts) == [
        "translation_x",
        "translation_y",
        "translation_z",
        "permutation",
    ]
    assert math.isfinite(report.row("permutation").flow_error)
