"""noether.check accepts reflections like permutations: discrete checks, no charge."""

from __future__ import annotations

import torch

import symnet.noether as nt
from symnet import systems as S
from symnet.groups import Reflection, Translation


def _states(n: int, N: int, d: int, seed: int = 4):
    gen = torch.Generator().manual_seed(seed)
    q = torch.randn(n, N, d, generator=gen, dtype=torch.float64)
    v = torch.randn(n, N, d, generator=gen, dtype=torch.float64)
    return q, v


def _check(L, symmetries, q, v, field=None):
    return nt.check(L, symmetries, q, v, dt=0.01, steps=20, method="rk4", field=field)


def test_reflection_symmetric_system_is_conserved_in_3d():
    system = S.IdenticalParticles(N=3, potential="gaussian")
    q, v = system.sample_states(3, torch.Generator().manual_seed(4))
    report = nt.check(
        system.lagrangian,
        [Translation(3), "reflection"],
        q,
        v,
        dt=0.01,
        steps=20,
        method="leapfrog",
        field=system.acceleration,
    )
    row = report.row("reflection")
    assert row.verdict == "conserved", str(report)
    assert row.group == "Reflection(3)" and row.charge == "-"
    assert row.invariance_error <= 1e-12 and row.flow_error <= 1e-12
    assert "reflection" not in report.charges


def _chiral_3d(q, v):
    """Harmonic pairs plus a term linear in the triple product q_0 . (q_1 x q_2)."""
    kinetic = 0.5 * (v**2).sum((-1, -2))
    pair = q[:, :, None] - q[:, None]
    potential = 0.5 * (pair**2).sum((-1, -2, -3))
    chiral = (q[:, 0] * torch.linalg.cross(q[:, 1], q[:, 2])).sum(-1)
    return kinetic - potential + 0.3 * chiral


def test_chiral_lagrangian_breaks_reflection_in_3d():
    q, v = _states(3, 3, 3)
    report = _check(_chiral_3d, [Reflection(3)], q, v)
    row = report.row("reflection")
    assert row.verdict == "broken", str(report)
    assert row.invariance_error > 1e-3


def _mirror_symmetric_2d(q, v):
    return 0.5 * (v**2).sum((-1, -2)) - 0.5 * (q[..., 0] ** 2 + 2 * q[..., 1] ** 2).sum(-1)


def _tilted_2d(q, v):
    """A force along x: a potential linear in q_x is not mirror symmetric (x -> -x)."""
    return _mirror_symmetric_2d(q, v) + 0.5 * q[..., 0].sum(-1)


def test_mirror_in_2d_conserved_and_broken():
    q, v = _states(3, 2, 2)
    ok = _check(_mirror_symmetric_2d, "reflection", q, v).row("reflection")
    assert ok.verdict == "conserved" and ok.group == "Reflection(2)", str(ok)
    bad = _check(_tilted_2d, "reflection", q, v).row("reflection")
    assert bad.verdict == "broken" and bad.invariance_error > 1e-3 and bad.flow_error > 1e-6
