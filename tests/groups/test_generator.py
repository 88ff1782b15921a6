import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from symnet.groups import Generator, Rotation

from ._helpers import SETTINGS, assert_close, seeds

J = torch.tensor([[0.0, -1.0], [1.0, 0.0]], dtype=torch.float64)


def randn(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


@SETTINGS
@given(B=st.integers(1, 4), S=st.lists(st.integers(1, 4), min_size=1, max_size=3), seed=seeds)
def test_xi_shapes_and_signatures(B, S, seed):
    q = randn(B, *S, seed=seed)
    t = randn(B, seed=seed + 1)
    g_q = Generator("scale", lambda q: 2.0 * q)
    g_qt = Generator("drift", lambda q, t: q * t.reshape(-1, *[1] * len(S)))
    assert_close(g_q.xi(q), 2.0 * q)
    assert_close(g_q.xi(q, t), 2.0 * q)  # t is dropped for xi(q)
    assert_close(g_q(q), 2.0 * q)  # __call__ is xi
    assert_close(g_qt.xi(q, t), q * t.reshape(-1, *[1] * len(S)))
    assert_close(g_qt.xi(q), torch.zeros_like(q))  # t defaults to 0
    assert_close(g_qt.xi(q, 1.5), 1.5 * q)  # a float time broadcasts
    assert_close(g_qt.xi(q, torch.tensor(1.5)), 1.5 * q)
    assert g_q.xi(q).shape == q.shape


def test_attributes_and_repr():
    g = Generator("custom", lambda q: q, tau=1.0, boundary=lambda q: q.sum(-1))
    assert g.name == "custom" and g.tau == 1.0 and g.has_boundary and g.group is None
    assert repr(g) == "Generator('custom', tau=1, boundary=...)"
    assert repr(Generator("plain", lambda q: q)) == "Generator('plain')"
    (rz,) = [g for g in Rotation(3).generators((2, 3)) if g.name == "rotation_z"]
    assert repr(rz) == "Generator('rotation_z', group=Rotation(3))"
    d = Generator.linear("rot", J, torch.tensor([1.0, 0.0])).describe()
    assert d == {
        "name": "rot",
        "tau": 0.0,
        "group": None,
        "matrix": [[0.0, -1.0], [1.0, 0.0]],
        "offset": [1.0, 0.0],
        "boundary": False,
    }


def test_linear_rotation_field():
    rot = Generator.linear("rotation", J)
    assert torch.equal(rot.matrix, J) and rot.offset is None
    q = randn(5, 3, 2)
    # the 2-D rotation field xi(x, y) = (-y, x)
    assert_close(rot.xi(q), torch.stack([-q[..., 1], q[..., 0]], -1))
    # float32 inputs are evaluated in float32
    assert rot.xi(q.float()).dtype == torch.float32


def test_linear_offset():
    b = torch.tensor([0.5, -1.0], dtype=torch.float64)
    g = Generator.linear("affine", J, b)
    assert torch.equal(g.offset, b)
    q = randn(4, 2)
    assert_close(g.xi(q), q @ J.T + b)
    shift = Generator.linear("shift", torch.zeros(2, 2, dtype=torch.float64), b)
    assert_close(shift.xi(q), b.expand_as(q))


@SETTINGS
@given(d=st.integers(1, 4), seed=seeds)
def test_prolong_of_linear_generator(d, seed):
    A = randn(d, d, seed=seed)
    b = randn(d, seed=seed + 1)
    g = Generator.linear("affine", A, b)
    q, qdot = randn(3, 4, d, seed=seed + 2), randn(3, 4, d, seed=seed + 3)
    t = randn(3, seed=seed + 4)
    saved = q.clone(), qdot.clone(), t.clone()
    xi, xidot = g.prolong(q, qdot, t)
    assert_close(xi, q @ A.T + b)
    assert_close(xidot, qdot @ A.T)  # xidot = A qdot
    for a, s in zip((q, qdot, t), saved, strict=True):
        assert torch.equal(a, s)


def test_prolong_time_dependent():
    # xi = t u (a boost): xidot = u; xi = t^2 q: xidot = t^2 qdot + 2 t q
    u = torch.tensor([1.0, 2.0], dtype=torch.float64)
    boost = Generator("boost", lambda q, t: t[:, None, None] * u.expand_as(q))
    q, qdot, t = randn(3, 4, 2), randn(3, 4, 2, seed=1), randn(3, seed=2)
    xi, xidot = boost.prolong(q, qdot, t)
    assert_close(xi, t[:, None, None] * u.expand_as(q))
    assert_close(xidot, u.expand_as(q))
    g = Generator("grow", lambda q, t: t[:, None, None] ** 2 * q)
    _, xidot = g.prolong(q, qdot, t)
    assert_close(xidot, t[:, None, None] ** 2 * qdot + 2 * t[:, None, None] * q)
    _, xidot = g.prolong(q, qdot)  # t = 0
    assert_close(xidot, torch.zeros_like(q))


def test_boundary():
    q, qdot, t = randn(3, 4, 2), randn(3, 4, 2, seed=1), randn(3, seed=2)
    none = Generator("none", lambda q: q)
    assert not none.has_boundary
    assert_close(none.boundary(q, t), torch.zeros(3, dtype=torch.float64))
    assert_close(none.boundary_rate(q, qdot, t), torch.zeros(3, dtype=torch.float64))
    # F = t * sum(q): dF/dt = t * sum(qdot) + sum(q)
    g = Generator("f", lambda q: q, boundary=lambda q, t: t * q.sum((1, 2)))
    assert_close(g.boundary(q, t), t * q.sum((1, 2)))
    assert_close(g.boundary_rate(q, qdot, t), t * qdot.sum((1, 2)) + q.sum((1, 2)))
    h = Generator("h", lambda q: q, boundary=lambda q: (q**2).sum((1, 2)))
    assert_close(h.boundary_rate(q, qdot), 2 * (q * qdot).sum((1, 2)))


def test_nothing_is_modified():
    q, qdot, t = randn(3, 4, 2), randn(3, 4, 2, seed=1), randn(3, seed=2)
    saved = [q.clone(), qdot.clone(), t.clone()]
    A = J.clone()
    g = Generator.linear("rot", A, boundary=lambda q, t: t * q.sum((1, 2)))
    g.xi(q, t)
    g.prolong(q, qdot, t)
    g.boundary(q, t)
    g.boundary_rate(q, qdot, t)
    for a, s in zip([q, qdot, t], saved, strict=True):
        assert torch.equal(a, s)
    assert torch.equal(A, J)


def test_bad_input():
    with pytest.raises(TypeError, match="name must be a non-empty string"):
        Generator("", lambda q: q)
    with pytest.raises(TypeError, match="xi must be callable"):
        Generator("x", torch.zeros(3))
    with pytest.raises(TypeError, match="boundary must be callable"):
        Generator("x", lambda q: q, boundary=1.0)
    with pytest.raises(
        ValueError, match=r"A must be a square matrix of shape \(d, d\), got \(2, 3\)"
    ):
        Generator.linear("bad", torch.zeros(2, 3))
    with pytest.raises(ValueError, match="A must have at least 2 dimensions"):
        Generator.linear("bad", torch.zeros(3))
    with pytest.raises(ValueError, match=r"b must have shape \(2,\) to match A, got \(3,\)"):
        Generator.linear("bad", J, torch.zeros(3))
    with pytest.raises(ValueError, match=r"acts on vectors of size 2, but q has shape \(4, 3\)"):
        Generator.linear("rot", J).xi(torch.zeros(4, 3))
    q = torch.zeros(4, 3, 2)
    bad = Generator("bad", lambda q: q.sum(-1))
    with pytest.raises(
        ValueError, match=r"'bad': xi must return the shape of q \(4, 3, 2\), got \(4, 3\)"
    ):
        bad.xi(q)
    with pytest.raises(ValueError, match=r"xi must return .* got float"):
        Generator("bad", lambda q: 1.0).xi(q)
    with pytest.raises(ValueError, match=r"boundary must return shape \(4,\), got \(4, 3\)"):
        Generator("b", lambda q: q, boundary=lambda q: q.sum(-1)).boundary(q)
    g = Generator("g", lambda q: q)
    with pytest.raises(
        ValueError, match=r"t must be a number or a tensor of shape \(4,\).*got \(3,\)"
    ):
        g.xi(q, torch.zeros(3))
    with pytest.raises(ValueError, match=r"qdot must have the shape of q \(4, 3, 2\)"):
        g.prolong(q, torch.zeros(4, 3))
    with pytest.raises(TypeError, match="q must be a torch.Tensor"):
        g.xi([[0.0, 1.0]])
