"""Momenta transform as covectors: a point map ``q -> M q`` moves ``p -> M^{-T} p``.

For orthogonal groups (rotations, reflections, permutations) ``M^{-T} = M``;
for the non-orthogonal linear groups (Lorentz, symplectic squeezes) the
finite-element test and the discrete checks of ``check_hamiltonian`` must
use the cotangent lift, or an exactly invariant Hamiltonian such as ``p . q``
looks broken. Infinitesimally ``delta p = -A^T p``: the flow of ``Q = p . A q``.
"""

from __future__ import annotations

import math

import pytest
import torch

import symnet.noether as nt
from symnet.groups import (
    Group,
    Lorentz,
    Rotation,
    Symplectic,
    TimeShift,
    Translation,
    take_element,
)
from symnet.noether._momenta import act_on_momenta

ETA = torch.diag(torch.tensor([1.0, -1.0, -1.0, -1.0], dtype=torch.float64))
RUN = {"dt": 0.02, "steps": 12, "compile": False}
MIDPOINT = {**RUN, "method": "implicit_midpoint"}


def _states(d: int, seed: int = 0, B: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(B, 1, d, generator=g, dtype=torch.float64)
    return q, torch.randn(B, 1, d, generator=g, dtype=torch.float64)


def _dot(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """The Euclidean pairing ``p . q``, shape ``(B,)``: invariant under the cotangent lift."""
    return (p * q).flatten(1).sum(-1)


def _eta(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.einsum("bi,ij,bj->b", a[:, 0], ETA.to(a), b[:, 0])


def pairing(q: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    return _dot(p, q)


def oscillator(q: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    return 0.5 * (p**2).flatten(1).sum(-1) + 0.5 * (q**2).flatten(1).sum(-1)


def free_particle(q: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    return _eta(p, p) / (2 * 1.3)


def time_well(q: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """A preferred frame: a potential of ``x^0`` alone."""
    return free_particle(q, p) + 0.3 * torch.cos(q[:, 0, 0])


def dilating_particle(q: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """Couples ``p`` and ``x`` through the invariant ``p_mu x^mu``: a covector test."""
    return free_particle(q, p) + 0.2 * _dot(p, q)


# ---------------------------------------------------------------- the reported bug


def test_pairing_is_conserved_under_the_squeeze() -> None:
    """The reproducer: ``H = p . q`` under ``q -> exp(s A) q`` lifted to ``p -> exp(-s A^T) p``."""
    q = torch.tensor([[[1.0, 2.0]]], dtype=torch.float64)
    p = torch.tensor([[[0.5, -0.3]]], dtype=torch.float64)
    squeeze = next(g for g in Symplectic(1).generators((1, 2)) if g.name == "squeeze")
    report = nt.check_hamiltonian(pairing, squeeze, q, p, **MIDPOINT)
    assert report.verdicts == {"squeeze": "conserved"}, str(report)
    assert report.row("squeeze").finite_error < 1e-12, str(report)


def test_pairing_is_conserved_under_all_of_sp2() -> None:
    """``p . q`` is invariant under every linear point map: phase, squeeze and hyper."""
    q, p = _states(2, seed=3)
    report = nt.check_hamiltonian(pairing, Symplectic(1), q, p, **MIDPOINT)
    assert report.verdicts == {n: "conserved" for n in ("phase", "squeeze", "hyper")}, str(report)
    assert max(report.row(n).finite_error for n in report.verdicts) < 1e-12


def test_oscillator_breaks_the_squeeze_and_keeps_the_phase() -> None:
    """Mutant direction: ``|p|^2/2 + |q|^2/2`` is not squeeze-invariant under either action."""
    q, p = _states(2, seed=4)
    report = nt.check_hamiltonian(oscillator, Symplectic(1), q, p, **RUN)
    assert report.verdicts == {
        "phase": "conserved", "squeeze": "broken", "hyper": "broken"
    }, str(report)  # fmt: skip
    assert report.row("squeeze").finite_error > 1e-2


# ---------------------------------------------------------------- Lorentz


def test_free_relativistic_particle_conserves_all_six_lorentz_charges() -> None:
    q, p = _states(4, seed=5)
    for H in (free_particle, dilating_particle):
        report = nt.check_hamiltonian(H, Lorentz(), q, p, **MIDPOINT)
        assert len(report.verdicts) == 6
        assert set(report.verdicts.values()) == {"conserved"}, str(report)
        assert max(report.row(n).finite_error for n in report.verdicts) < 1e-12, str(report)


def test_a_potential_of_time_breaks_the_boosts_and_keeps_the_rotations() -> None:
    q, p = _states(4, seed=6)
    report = nt.check_hamiltonian(time_well, Lorentz(proper=True), q, p, **RUN)
    assert report.verdicts == {
        "boost_x": "broken", "boost_y": "broken", "boost_z": "broken",
        "rotation_x": "conserved", "rotation_y": "conserved", "rotation_z": "conserved",
    }, str(report)  # fmt: skip


# ---------------------------------------------------------------- the helper


@pytest.mark.parametrize(
    "group",
    [Symplectic(1), Lorentz(), Translation(4) * Lorentz(), Lorentz() * TimeShift()],
    ids=repr,
)
def test_act_on_momenta_preserves_the_pairing(group) -> None:
    d = 2 if isinstance(group, Symplectic) else 4
    q, p = _states(d, seed=7, B=5)
    g = group.sample(5, (1, d), rng=0)
    t = torch.zeros(5, dtype=torch.float64)
    qg, pg = group.act(g, q, "vector", t=t), act_on_momenta(group, g, p, t=t)
    torch.testing.assert_close(_dot(pg, qg), _dot(p, q), rtol=1e-12, atol=1e-12)
    assert not torch.allclose(pg, group.act(g, p, "vector", t=t))  # not the vector action
    assert p.shape == pg.shape


@pytest.mark.parametrize("group", [Symplectic(1), Lorentz()], ids=repr)
def test_the_tangent_of_the_lift_is_the_flow_of_the_charge(group) -> None:
    """``d/ds act_on_momenta(exp(s A), p) = -A^T p = -dQ/dq`` for ``Q = p . A q``, every ``A``."""
    d = group.dim
    q, p = _states(d, seed=10, B=2)
    for gen, A in zip(group.generators((1, d)), group.lie_algebra(), strict=True):
        h = 1e-5
        s = torch.tensor([h, -h], dtype=torch.float64)
        plus, minus = (
            act_on_momenta(group, take_element(group.exp(gen, s, (1, d)), i), p) for i in (0, 1)
        )
        tangent = (plus - minus) / (2 * h)
        torch.testing.assert_close(tangent, -p @ A, rtol=1e-8, atol=1e-8)  # -A^T p, row-wise
        qq = q.clone().requires_grad_(True)
        (dQ_dq,) = torch.autograd.grad(nt.hamiltonian_charge(pairing, gen)(qq, p).sum(), qq)
        torch.testing.assert_close(tangent, -dQ_dq, rtol=1e-8, atol=1e-8)


def test_act_on_momenta_is_the_vector_action_for_orthogonal_groups() -> None:
    group = Rotation(3) * Translation(3)
    q, p = _states(3, seed=8, B=4)
    g = group.sample(4, (1, 3), rng=1)
    torch.testing.assert_close(act_on_momenta(group, g, p), group.act(g, p, "vector"))


def test_act_on_momenta_of_one_element_broadcasts() -> None:
    G = Symplectic(1)
    M = take_element(G.exp("squeeze", torch.tensor([0.7], dtype=torch.float64), (1, 2)), 0)
    p = torch.tensor([[[1.0, 1.0]], [[2.0, -1.0]]], dtype=torch.float64)
    out = act_on_momenta(G, M, p)
    # squeeze: M = diag(e^s, e^-s), so M^{-T} = diag(e^-s, e^s)
    scale = torch.tensor([math.exp(-0.7), math.exp(0.7)], dtype=torch.float64)
    torch.testing.assert_close(out, p * scale)


# ---------------------------------------------------------------- discrete groups


class Cyclic3(Group):
    """The order-3 group of ``C = [[0, 1], [-1, -1]]`` on the plane: finite, not orthogonal."""

    name = "cyclic3"
    discrete = True
    dim = 2
    C = torch.tensor([[0.0, 1.0], [-1.0, -1.0]], dtype=torch.float64)

    def __repr__(self) -> str:
        return "Cyclic3()"

    def identity(self, n, config_shape):
        return torch.eye(2, dtype=torch.float64).expand(n, 2, 2).clone()

    def compose(self, g, h):
        return g @ h

    def inverse(self, g):
        return torch.linalg.inv(g)

    def elements(self, config_shape):
        return torch.stack([torch.eye(2, dtype=torch.float64), self.C, self.C @ self.C])

    def order(self, config_shape):
        return 3

    def _sample(self, n, config_shape, gen):
        return self.elements(config_shape)[torch.randint(0, 3, (n,), generator=gen)]

    def discrete_generators(self, config_shape):
        return [("c", self.C[None])]

    def orthogonal_matrix(self, g, dtype=torch.float64):
        return g.to(dtype)

    def _act(self, g, x, kind, t):
        if kind.name in ("point", "vector"):
            return torch.einsum("nij,n...j->n...i", g.to(x).expand(x.shape[0], 2, 2), x)
        return x.clone()

    def _act_inf(self, name, x, kind, t):
        raise ValueError("discrete")


def test_a_discrete_non_orthogonal_group_moves_momenta_as_covectors() -> None:
    """``H = p . q + (p . q)^2 / 10`` is invariant under ``q -> C q, p -> C^{-T} p``."""

    def dilation(q: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
        s = _dot(p, q)
        return s + 0.1 * s**2

    q, p = _states(2, seed=9, B=2)
    report = nt.check_hamiltonian(dilation, Cyclic3(), q, p, **MIDPOINT)
    row = report.row("cyclic3")
    assert row.verdict == "conserved", str(report)
    assert row.invariance_error < 1e-12 and row.flow_error < 1e-12, str(report)
    # the mutant: a Hamiltonian the covector action does not keep
    report = nt.check_hamiltonian(oscillator, Cyclic3(), q, p, **RUN)
    assert report.row("cyclic3").verdict == "broken", str(report)
