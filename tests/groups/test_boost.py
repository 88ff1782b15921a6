import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from symnet.groups import Boost

from ._helpers import (
    SETTINGS,
    assert_close,
    batches,
    check_axioms,
    check_generators,
    particles,
    random_x,
    seeds,
)

dims = st.integers(min_value=1, max_value=4)


def masses(N, seed):
    return 0.5 + torch.rand(N, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def test_generator_names():
    B = Boost(3, masses=torch.ones(2))
    gens = B.generators((2, 3))
    assert [g.name for g in gens] == ["boost_x", "boost_y", "boost_z"]
    assert all(g.has_boundary and g.tau == 0.0 and g.group is B for g in gens)
    assert Boost(2).generator_names() == ["boost_x", "boost_y"]
    assert Boost(4).generator_names() == ["boost_0", "boost_1", "boost_2", "boost_3"]


@SETTINGS
@given(dim=dims, n=batches, N=particles, seed=seeds, scalar_mass=st.booleans())
def test_group_axioms(dim, n, N, seed, scalar_mass):
    m = 1.5 if scalar_mass else masses(N, seed)
    check_axioms(Boost(dim, m), (N, dim), n, seed)


@SETTINGS
@given(dim=dims, n=batches, N=particles, seed=seeds)
def test_finite_action_agrees_with_generators(dim, n, N, seed):
    check_generators(Boost(dim, masses(N, seed)), (N, dim), n, seed)


def test_action_on_points_and_velocities():
    B = Boost(3, masses=2.0)
    gen = torch.Generator().manual_seed(0)
    u = B.sample(2, (4, 3), gen)
    q = random_x("point", 2, (4, 3), gen)
    t = torch.tensor([0.5, -3.0], dtype=torch.float64)
    assert_close(B.act(u, q, "point", t=t), q + (t[:, None] * u)[:, None, None, :])
    assert_close(B.act(u, q, "point", t=2.0), q + 2.0 * u[:, None, None, :])
    assert_close(B.act(u, q, "point"), q)  # default t = 0
    assert_close(B.act(u, q, "vector", t=t), q + u[:, None, None, :])
    for kind in ("scalar", "global", "time", "1x1o"):
        x = random_x(kind, 2, (4, 3), gen)
        assert_close(B.act(u, x, kind, t=t), x)


def test_generator_field_boundary_and_prolongation():
    m = torch.tensor([1.0, 2.0, 3.5], dtype=torch.float64)
    B = Boost(2, m)
    gx, gy = B.generators((3, 2))
    gen = torch.Generator().manual_seed(1)
    q = torch.randn(4, 3, 2, generator=gen, dtype=torch.float64)
    qdot = torch.randn(4, 3, 2, generator=gen, dtype=torch.float64)
    t = torch.randn(4, generator=gen, dtype=torch.float64)
    q0, qdot0, t0 = q.clone(), qdot.clone(), t.clone()
    ex = torch.tensor([1.0, 0.0], dtype=torch.float64)
    # xi = t u, F = sum_i m_i q_i . u, dF/dt = sum_i m_i qdot_i . u
    assert_close(gx.xi(q, t), t[:, None, None] * ex.expand_as(q))
    assert_close(gx.xi(q), torch.zeros_like(q))
    assert_close(gx.boundary(q, t), (m[:, None] * q).sum(1)[:, 0])
    assert_close(gy.boundary(q), (m[:, None] * q).sum(1)[:, 1])
    assert_close(gx.boundary_rate(q, qdot, t), (m[:, None] * qdot).sum(1)[:, 0])
    xi, xidot = gx.prolong(q, qdot, t)
    assert_close(xi, t[:, None, None] * ex.expand_as(q))
    assert_close(xidot, ex.expand_as(q))  # d/dt (t u) = u
    assert torch.equal(q, q0) and torch.equal(qdot, qdot0) and torch.equal(t, t0)


def test_scalar_mass_boundary():
    (gx,) = Boost(1, masses=2.0).generators((3, 1))
    q = torch.randn(2, 3, 1, dtype=torch.float64)
    assert_close(gx.boundary(q), 2.0 * q.sum((1, 2)))


def test_masses_are_copied():
    m = torch.ones(3)
    B = Boost(2, m)
    m[0] = 5.0
    assert float(B.masses[0]) == 1.0


def test_repr():
    assert repr(Boost(3)) == "Boost(3, masses=1)"
    assert repr(Boost(2, torch.tensor([1.0, 2.5]))) == "Boost(2, masses=[1, 2.5])"


def test_bad_input():
    B = Boost(3, masses=torch.ones(2))
    with pytest.raises(ValueError, match="has 2 masses but the configuration has N = 3"):
        B.generators((3, 3))
    with pytest.raises(ValueError, match="has 2 masses"):
        B.sample(1, (3, 3))
    with pytest.raises(ValueError, match=r"expected configuration shape \(N, 3\), got \(2, 2\)"):
        B.generators((2, 2))
    with pytest.raises(ValueError, match="masses must be a positive"):
        Boost(3, masses=torch.tensor([1.0, -1.0]))
    with pytest.raises(ValueError, match="masses must be a positive"):
        Boost(3, masses=torch.ones(2, 2))
    with pytest.raises(ValueError, match="masses contains NaN"):
        Boost(3, masses=float("nan"))
    with pytest.raises(ValueError, match="scale"):
        Boost(3, scale=0.0)
    u = B.sample(2, (2, 3))
    with pytest.raises(ValueError, match=r"t must be a scalar or have shape \(2,\)"):
        B.act(u, torch.zeros(2, 2, 3), "point", t=torch.zeros(3))
