"""Symmetric LNN/HNN: invariant by construction, Noether charges conserved to round-off."""

from __future__ import annotations

import copy

import pytest
import torch

from symnet.groups import Permutation, Rotation, TimeShift, Translation
from symnet.mechanics import lagrangian_vector_field
from symnet.models import SymmetricHNN, SymmetricLNN
from symnet.noether import check
from symnet.testing import SymmetryAssertionError, assert_equivariant, assert_invariant

G = Translation(3) * Rotation(3) * Permutation()
GENERATORS = {g.name for g in G.generators((4, 3))}


def _assert_invariant_to_round_off(report, dtype):
    """What ``assert_invariant`` (which raises on failure) checked, and by how much it passed.

    Every Lie algebra generator, every sampled element and the permutation's
    discrete generators were checked, and the largest error is at the
    round-off of ``dtype``, far below the tolerance: invariance by
    construction, not by a small learned error.
    """
    assert set(report.generator_errors) == GENERATORS
    assert set(report.element_errors) == {
        "sample 0",
        "sample 1",
        "sample 2",
        "translation sample 0",  # issue 13: each continuous factor also alone
        "rotation sample 0",
        "transposition_01",
        "cycle",
    }
    assert report.dtype == dtype
    assert report.max_error < 100 * torch.finfo(dtype).eps, str(report)


def _states(dtype=torch.float64, B=3, N=4):
    gen = torch.Generator().manual_seed(0)
    q = torch.randn(B, N, 3, generator=gen, dtype=torch.float64).to(dtype)
    return q, (0.5 * torch.randn(B, N, 3, generator=gen, dtype=torch.float64)).to(dtype)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("encoder", ["pairs", "egnn"])
def test_symmetric_lnn_is_invariant(dtype, encoder):
    torch.manual_seed(0)
    model = SymmetricLNN(4, 3, hidden=16, encoder=encoder).to(dtype)
    q, qdot = _states(dtype)
    report = assert_invariant(
        model.as_lagrangian(), G, (q, qdot), ("point", "vector"), n_samples=3, dtype=dtype
    )
    _assert_invariant_to_round_off(report, dtype)
    assert model.lagrangian(q, qdot).dtype == dtype


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("separable", [True, False])
def test_symmetric_hnn_is_invariant(dtype, separable):
    torch.manual_seed(0)
    model = SymmetricHNN(4, 3, hidden=16, separable=separable).to(dtype)
    q, p = _states(dtype)
    report = assert_invariant(
        model.as_hamiltonian(), G, (q, p), ("point", "vector"), n_samples=3, dtype=dtype
    )
    _assert_invariant_to_round_off(report, dtype)


class _BrokenLNN(SymmetricLNN):
    """The symmetric model plus a uniform field along x: an absolute-position term."""

    def lagrangian(self, q, qdot, t=None):
        return super().lagrangian(q, qdot) + 0.3 * q[..., 0].sum(-1)


def test_an_absolute_position_term_breaks_the_symmetry():
    torch.manual_seed(0)
    model = _BrokenLNN(4, 3, hidden=16)
    q, qdot = _states()
    with pytest.raises(SymmetryAssertionError, match="rotation_z"):
        assert_invariant(model.as_lagrangian(), G, (q, qdot), ("point", "vector"), n_samples=3)


def test_closed_form_acceleration_is_the_euler_lagrange_solution():
    torch.manual_seed(0)
    model = SymmetricLNN(3, 2, hidden=16).double()
    with torch.no_grad():
        model.log_mass.fill_(0.4)
    q, qdot = _states(B=5, N=3)
    q, qdot = q[..., :2].contiguous(), qdot[..., :2].contiguous()
    ref = lagrangian_vector_field(model.lagrangian)(q, qdot)
    assert torch.allclose(model(q, qdot), ref, atol=1e-12)


def test_noether_check_momentum_and_angular_momentum_conserved_to_round_off():
    torch.manual_seed(0)
    model = copy.deepcopy(SymmetricLNN(4, 3, hidden=16)).double()
    q0, v0 = _states(B=2)
    report = check(
        model.as_lagrangian(),
        [Translation(3), Rotation(3), TimeShift()],
        q0,
        v0,
        dt=0.02,
        steps=40,
        method="leapfrog",
        field=model.field,
    )
    assert set(report.verdicts.values()) == {"conserved"}
    for name in ("translation_x", "translation_y", "translation_z", "rotation_x", "rotation_z"):
        row = report.row(name)
        assert row.invariance_error < 1e-13 and row.drift < 1e-12


def test_fixed_mass_repr_and_errors():
    model = SymmetricLNN(4, 3, hidden=8, mass=2.0)
    assert float(model.mass) == pytest.approx(2.0)
    assert "log_mass" not in dict(model.named_parameters())
    assert repr(model) == (
        "SymmetricLNN(N=4, d=3, T=1/2 m |qdot|^2 (m 2), "
        "V=InvariantPotential(pairs, hidden=8, layers=2))"
    )
    assert "SymmetricHNN(N=3, d=2" in repr(SymmetricHNN(3, 2, hidden=8))
    with pytest.raises(ValueError, match="n_particles"):
        SymmetricLNN(1, 3)
    with pytest.raises(ValueError, match="encoder"):
        SymmetricLNN(4, 3, encoder="transformer")
    with pytest.raises(ValueError, match="mass"):
        SymmetricLNN(4, 3, mass=-1.0)


class _ExternalField(torch.nn.Module):
    """An invariant potential plus a uniform field along x (its force breaks rotations)."""

    def __init__(self, net: torch.nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor, *args: torch.Tensor) -> torch.Tensor:
        return self.net(x, *args) + x[..., 0].sum(-1)


@pytest.mark.parametrize("cls", [SymmetricLNN, SymmetricHNN])
def test_models_declare_their_symmetry_for_one_line_tests(cls: type) -> None:
    torch.manual_seed(0)
    model = cls(4, 3, hidden=16).double()
    g = torch.Generator().manual_seed(1)
    q = torch.randn(5, 4, 3, generator=g, dtype=torch.float64)
    v = torch.randn(5, 4, 3, generator=g, dtype=torch.float64)
    report = assert_equivariant(model, (q, v))
    names = {row.name for row in report.rows}
    assert {"translation_x", "rotation_z", "transposition_01"} <= names
    assert report.max_error < 1e-10
    # broken direction: a uniform field along x (a constant force) breaks the rotations
    model.potential_net = _ExternalField(model.potential_net)
    with pytest.raises(SymmetryAssertionError, match="rotation_z"):
        assert_equivariant(model, (q, v))
