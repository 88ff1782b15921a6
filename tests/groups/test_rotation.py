import math

import pytest
import torch
from e3nn import o3
from hypothesis import given
from hypothesis import strategies as st

from symnet.groups import Rotation, irreps_kind
from symnet.groups.rotation import default_dtype, so_basis

from ._helpers import (
    FEW,
    SETTINGS,
    assert_close,
    batches,
    check_axioms,
    check_generators,
    particles,
    random_x,
    seeds,
)

dims = st.integers(min_value=2, max_value=4)


def ks_statistic(samples, cdf):
    """Kolmogorov-Smirnov statistic of 1-D samples against a CDF (a torch function)."""
    x, _ = torch.sort(samples)
    n = x.numel()
    F = cdf(x)
    i = torch.arange(1, n + 1, dtype=x.dtype)
    return float(torch.maximum(i / n - F, F - (i - 1) / n).max())


def test_generator_names():
    assert Rotation(2).generator_names() == ["rotation"]
    assert Rotation(3).generator_names() == ["rotation_x", "rotation_y", "rotation_z"]
    assert [g.name for g in Rotation(3).generators((5, 3))] == [
        "rotation_x",
        "rotation_y",
        "rotation_z",
    ]
    assert len(Rotation(4).generator_names()) == 6
    assert Rotation(4).generator_names()[0] == "rotation_01"


def test_so3_basis_is_the_cross_product():
    L = Rotation(3).lie_algebra()
    assert L.shape == (3, 3, 3) and L.dtype == torch.float64
    q = torch.randn(7, 3, dtype=torch.float64)
    for a in range(3):
        e = torch.zeros(3, dtype=torch.float64)
        e[a] = 1.0
        assert_close(q @ L[a].T, torch.linalg.cross(e.expand_as(q), q))
    # [L_x, L_y] = L_z and cyclic
    for a, b, c in [(0, 1, 2), (1, 2, 0), (2, 0, 1)]:
        assert_close(L[a] @ L[b] - L[b] @ L[a], L[c])
    (J,) = so_basis(2)[1]
    assert_close(J, torch.tensor([[0.0, -1.0], [1.0, 0.0]], dtype=torch.float64))


def test_generators_carry_their_matrix():
    gens = Rotation(3).generators((2, 3))
    for g, m in zip(gens, Rotation(3).lie_algebra(), strict=True):
        assert torch.equal(g.matrix, m)
        q = torch.randn(4, 2, 3, dtype=torch.float64)
        assert_close(g.xi(q), q @ m.T)


@SETTINGS
@given(dim=dims, n=batches, N=particles, seed=seeds)
def test_group_axioms(dim, n, N, seed):
    check_axioms(Rotation(dim), (N, dim), n, seed)


@SETTINGS
@given(dim=dims, n=batches, N=particles, seed=seeds)
def test_finite_action_agrees_with_generators(dim, n, N, seed):
    check_generators(Rotation(dim), (N, dim), n, seed)


@SETTINGS
@given(dim=dims, seed=seeds)
def test_special_orthogonal(dim, seed):
    R = Rotation(dim)
    gen = torch.Generator().manual_seed(seed)
    s = 3.0 * torch.randn(5, generator=gen, dtype=torch.float64)
    elements = [R.sample(50, (2, dim), gen)] + [
        R.exp(name, s, (2, dim)) for name in R.generator_names()
    ]
    eye = torch.eye(dim, dtype=torch.float64)
    for g in elements:
        assert g.dtype == torch.float64 and g.shape[1:] == (dim, dim)
        assert_close(g @ g.transpose(-1, -2), eye.expand_as(g))
        assert_close(torch.linalg.det(g), torch.ones(g.shape[0], dtype=torch.float64))


def test_so2_exp_is_the_rotation_by_s():
    s = torch.tensor([0.3, -1.0, math.pi], dtype=torch.float64)
    R = Rotation(2).exp("rotation", s, (3, 2))
    c, si = torch.cos(s), torch.sin(s)
    want = torch.stack([torch.stack([c, -si], -1), torch.stack([si, c], -1)], -2)
    assert_close(R, want)


def test_haar_so3_rotation_angle():
    n = 4000
    R = Rotation(3).sample(n, (1, 3), torch.Generator().manual_seed(2024))
    cos = ((torch.diagonal(R, dim1=-2, dim2=-1).sum(-1) - 1) / 2).clamp(-1, 1)
    theta = torch.arccos(cos)
    D = ks_statistic(theta, lambda x: (x - torch.sin(x)) / math.pi)
    assert D < 1.63 / math.sqrt(n), D
    # E[R] = 0 and E[R_ij^2] = 1/3, with standard errors 0.009 and 0.0047
    assert float(R.mean(0).abs().max()) < 5 * math.sqrt(1 / 3 / n)
    assert float((R**2).mean(0).sub(1 / 3).abs().max()) < 5 * math.sqrt(4 / 45 / n)


def test_haar_so2_angle_is_uniform():
    n = 4000
    R = Rotation(2).sample(n, (1, 2), torch.Generator().manual_seed(7))
    angle = torch.atan2(R[:, 1, 0], R[:, 0, 0])
    D = ks_statistic(angle, lambda x: (x + math.pi) / (2 * math.pi))
    assert D < 1.63 / math.sqrt(n), D


def test_sample_is_reproducible():
    R = Rotation(3)
    a = R.sample(3, (2, 3), torch.Generator().manual_seed(5))
    b = R.sample(3, (2, 3), torch.Generator().manual_seed(5))
    c = R.sample(3, (2, 3), torch.Generator().manual_seed(6))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_vector_action_is_the_matrix():
    R = Rotation(3)
    g = R.sample(4, (5, 3), torch.Generator().manual_seed(0))
    x = torch.randn(4, 5, 3, dtype=torch.float64)
    assert_close(R.act(g, x, "point"), torch.einsum("nij,nkj->nki", g, x))
    assert_close(R.act(g, x, "vector"), torch.einsum("nij,nkj->nki", g, x))
    for kind in ("scalar", "global", "time"):
        assert_close(R.act(g, x, kind), x)


def test_e3nn_1o_is_the_vector_representation():
    """e3nn 0.6 writes 1o in the (x, y, z) basis: D_from_matrix(R) == R."""
    R = Rotation(3)
    g = R.sample(6, (1, 3), torch.Generator().manual_seed(3))
    with default_dtype(torch.float64):
        D = o3.Irreps("1o").D_from_matrix(g)
    assert_close(D, g)
    # under torch's float32 default, symnet still acts at float64 round-off
    x = torch.randn(6, 3, dtype=torch.float64)
    with default_dtype(torch.float32):
        assert_close(R.act(g, x, "1o"), torch.einsum("nij,nj->ni", g, x))
        assert_close(R.act(g, x[:, None, :], "1x1o"), R.act(g, x[:, None, :], "vector"))
        assert torch.get_default_dtype() == torch.float32  # restored after each act


def test_default_dtype_restores_on_error():
    before = torch.get_default_dtype()
    with pytest.raises(RuntimeError), default_dtype(torch.float64):
        assert torch.get_default_dtype() == torch.float64
        raise RuntimeError
    assert torch.get_default_dtype() == before


@FEW
@given(seed=seeds, n=batches)
def test_irreps_are_orthogonal_representations(seed, n):
    R = Rotation(3)
    gen = torch.Generator().manual_seed(seed)
    g, h = R.sample(n, (1, 3), gen), R.sample(n, (1, 3), gen)
    for kind in ("1x0e + 1x1o + 2x2e + 1x3o", irreps_kind("1x1e + 1x3o", per_particle=True)):
        x = random_x(kind, n, (3, 3), gen)
        gx = R.act(g, x, kind)
        assert_close(gx.norm(dim=-1), x.norm(dim=-1))
        assert_close(R.act(R.compose(g, h), x, kind), R.act(g, R.act(h, x, kind), kind))


def test_irreps_in_float32():
    R = Rotation(3)
    g = R.sample(2, (1, 3), torch.Generator().manual_seed(0))
    x = torch.randn(2, 8, dtype=torch.float32)
    y = R.act(g, x, "1x0e + 1x1o + 1x1e + 1x0o")
    assert y.dtype == torch.float32
    want = R.act(g, x.double(), "1x0e + 1x1o + 1x1e + 1x0o")
    assert_close(y.double(), want, rtol=1e-5)


def test_compose_promotes_instead_of_truncating():
    R = Rotation(3)
    g = R.sample(2, (1, 3), torch.Generator().manual_seed(0))
    assert R.compose(g.float(), g).dtype == torch.float64
    assert R.identity(2, (1, 3)).dtype == torch.float64


def test_repr():
    assert repr(Rotation(2)) == "Rotation(2)"
    assert repr(Rotation(3)) == "Rotation(3)"


def test_bad_input():
    R = Rotation(3)
    g = R.sample(2, (4, 3))
    with pytest.raises(ValueError, match=r"x of kind point has last dimension 2.*d = 3"):
        R.act(g, torch.zeros(2, 4, 2), "point")
    with pytest.raises(ValueError, match=r"x of kind vector must have shape \(n, \.\.\., N, d\)"):
        R.act(g, torch.zeros(2, 3), "vector")
    with pytest.raises(ValueError, match=r"batch size 2 but x has leading dimension 3"):
        R.act(g, torch.zeros(3, 4, 3), "point")
    with pytest.raises(TypeError, match="x must be a torch.Tensor"):
        R.act(g, [[0.0, 0.0, 0.0]], "point")
    with pytest.raises(TypeError, match="x must be a floating-point tensor"):
        R.act(g, torch.zeros(2, 4, 3, dtype=torch.long), "point")
    with pytest.raises(ValueError, match=r"kind must be one of 'point'.*got 'pointt'"):
        R.act(g, torch.zeros(2, 4, 3), "pointt")
    with pytest.raises(ValueError, match=r"x of kind irreps\(1x1o\) must have shape"):
        R.act(g, torch.zeros(2, 4), "1o")
    with pytest.raises(ValueError, match="e3nn irreps need Rotation"):
        Rotation(2).act(Rotation(2).sample(1, (1, 2)), torch.zeros(1, 3), "1o")
    with pytest.raises(ValueError, match=r"expected configuration shape \(N, 3\), got \(4, 2\)"):
        R.generators((4, 2))
    with pytest.raises(ValueError, match=r"expected configuration shape \(N, 3\)"):
        R.sample(2, (4,))
    with pytest.raises(ValueError, match=r"has no generator 'rotation'.*rotation_x"):
        R.exp("rotation", torch.zeros(1), (2, 3))
    with pytest.raises(ValueError, match=r"has no generator 'rotation_w'"):
        R.act_infinitesimal("rotation_w", torch.zeros(1, 2, 3), "point")
    with pytest.raises(ValueError, match="cannot compose element batches of sizes 2 and 3"):
        R.compose(g, R.sample(3, (4, 3)))
    with pytest.raises(ValueError, match="dim must be an int >= 2"):
        Rotation(1)


def test_returned_matrices_are_copies():
    R = Rotation(3)
    R.lie_algebra().zero_()
    R.generators((2, 3))[0].matrix.zero_()
    assert_close(R.lie_algebra(), so_basis(3)[1])
    q = torch.randn(1, 2, 3, dtype=torch.float64)
    assert_close(R.act_infinitesimal("rotation_x", q, "point"), q @ so_basis(3)[1][0].T)


def test_wigner_d_is_accurate_near_the_euler_pole() -> None:
    """Rotations about y by tiny angles sit at e3nn's Euler-angle pole (beta ~ 0)."""
    from e3nn import o3

    from symnet.groups.rotation import wigner_d

    irreps = o3.Irreps("1x1o + 1x2e")
    s = torch.tensor([1e-9, 1e-6, -1e-4, 3.141592653589793], dtype=torch.float64)
    R = Rotation(3).exp("rotation_y", s, (1, 3))
    D = wigner_d(irreps, R)
    assert (D[:, :3, :3] - R).abs().max() < 1e-14  # 1o is the vector representation
    g = Rotation(3).sample(4, (1, 3), rng=torch.Generator().manual_seed(0))
    lhs, rhs = wigner_d(irreps, g @ R), wigner_d(irreps, g) @ D
    assert (lhs - rhs).abs().max() < 1e-13
