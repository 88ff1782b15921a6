"""EquivariantLinear: basis dimensions, the nullspace solve, equivariance, mutants."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from symnet.groups import PermRep, Permutation, Rotation, Scalar, Translation, Vector
from symnet.nn import (
    NULLSPACE_RTOL,
    EquivariantLinear,
    clear_basis_cache,
    constraint_matrix,
    equivariant_basis,
)
from symnet.nn._basis_solve import canonical as _canonical
from symnet.nn.equivariant_linear import _CACHE, _solve
from symnet.testing import assert_equivariant

SN = Permutation()
SO2, SO3 = Rotation(2), Rotation(3)
SO3xSN = Rotation(3) * Permutation()
E3xSN = Translation(3) * Rotation(3) * Permutation()
DTYPES = [torch.float32, torch.float64]


def _p(n, g=SN):
    return PermRep(g, n)


# (id, group, rep_in, rep_out, known dimension of the equivariant maps)
CASES = [
    ("SN: R^N -> R^N", SN, _p(5), _p(5), 2),  # a I + b 1 1^T (Zaheer 2017)
    ("SN: R^N -> R", SN, _p(5), Scalar(SN), 1),  # the sum
    ("SN: R -> R^N", SN, Scalar(SN), _p(5), 1),  # broadcast
    ("SN: R^NxN -> R^NxN, N=4", SN, _p(4) * _p(4), _p(4) * _p(4), 15),  # Bell(4) (Maron 2019)
    ("SN: R^NxN -> R^NxN, N=3", SN, _p(3) * _p(3), _p(3) * _p(3), 14),  # partitions, <= 3 blocks
    ("SN: R^NxN -> R^N", SN, _p(4) * _p(4), _p(4), 5),  # Bell(3)
    ("SN: R^NxN -> R", SN, _p(4) * _p(4), Scalar(SN), 2),  # Bell(2): trace, sum
    ("SN: R^N x C -> R^N x C'", SN, _p(4) * (2 * Scalar(SN)), _p(4) * (3 * Scalar(SN)), 12),
    ("SO3: V -> V", SO3, Vector(SO3), Vector(SO3), 1),  # a I
    ("SO3: VxV -> S", SO3, Vector(SO3) ** 2, Scalar(SO3), 1),  # dot product
    ("SO3: VxV -> V", SO3, Vector(SO3) ** 2, Vector(SO3), 1),  # cross product (epsilon)
    ("SO3: VxV -> VxV", SO3, Vector(SO3) ** 2, Vector(SO3) ** 2, 3),  # identity, transpose, trace
    ("SO3: VxVxV -> S", SO3, Vector(SO3) ** 3, Scalar(SO3), 1),  # triple product
    ("SO3: V -> S", SO3, Vector(SO3), Scalar(SO3), 0),  # no invariant linear functional
    ("SO3: V+S -> V+S", SO3, Vector(SO3) + Scalar(SO3), Vector(SO3) + Scalar(SO3), 2),
    ("SO2: V -> V", SO2, Vector(SO2), Vector(SO2), 2),  # a I + b J: SO(2) is abelian
    ("SO2: VxV -> S", SO2, Vector(SO2) ** 2, Scalar(SO2), 2),  # dot and wedge product
    ("SO3xSN: PV -> PV", SO3xSN, _p(4, SO3xSN) * Vector(SO3xSN), _p(4, SO3xSN) * Vector(SO3xSN), 2),
    ("SO3xSN: PV -> V", SO3xSN, _p(4, SO3xSN) * Vector(SO3xSN), Vector(SO3xSN), 1),  # sum
    ("SO3xSN: PV -> S", SO3xSN, _p(4, SO3xSN) * Vector(SO3xSN), Scalar(SO3xSN), 0),
    ("E3xSN: PV -> PV", E3xSN, _p(3, E3xSN) * Vector(E3xSN), _p(3, E3xSN) * Vector(E3xSN), 2),
]
IDS = [c[0] for c in CASES]


@pytest.mark.parametrize(("name", "group", "rep_in", "rep_out", "dim"), CASES, ids=IDS)
def test_basis_dimension(name, group, rep_in, rep_out, dim) -> None:
    basis = equivariant_basis(group, rep_in, rep_out)
    assert basis.shape == (dim, rep_out.dim, rep_in.dim)
    assert EquivariantLinear(group, rep_in, rep_out).basis_dim == dim
    # the fast routes give the canonical basis of the dense SVD, entry by entry
    dense = _solve(group, rep_in, rep_out, NULLSPACE_RTOL, "dense")
    assert dense.shape == basis.shape
    assert torch.allclose(basis, dense, rtol=0, atol=1e-12)
    # orthonormal in the Frobenius inner product
    flat = basis.reshape(dim, rep_out.dim * rep_in.dim)
    assert torch.allclose(flat @ flat.T, torch.eye(dim, dtype=torch.float64), atol=1e-12)
    # a clear spectral gap around the threshold (the module docstring's justification)
    sigma = torch.linalg.svdvals(constraint_matrix(group, rep_in, rep_out))
    sigma = torch.cat([sigma, sigma.new_zeros(rep_in.dim * rep_out.dim - len(sigma))])
    rel = sigma / sigma.max()
    assert (rel <= NULLSPACE_RTOL).sum() == dim
    assert torch.cat([rel[rel <= NULLSPACE_RTOL], rel.new_zeros(1)]).max() < 1e-13
    assert rel[rel > NULLSPACE_RTOL].min() > 1e-2


def test_known_bases() -> None:
    """The canonical bases of small cases are the textbook ones."""
    B = equivariant_basis(SN, _p(3), _p(3))
    eye, ones = torch.eye(3, dtype=torch.float64), torch.ones(3, 3, dtype=torch.float64)
    span = B.reshape(2, -1).T
    for M in (eye, ones):
        residual = M.reshape(-1) - span @ (span.T @ M.reshape(-1))
        assert residual.abs().max() < 1e-12
    (eps,) = equivariant_basis(SO3, Vector(SO3) ** 2, Vector(SO3))
    u, v = torch.randn(2, 3, dtype=torch.float64)
    y = eps @ torch.outer(u, v).reshape(-1)  # parallel to the cross product u x v
    cross = torch.linalg.cross(u, v)
    assert torch.linalg.cross(y, cross).abs().max() < 1e-12 and y.norm() > 0.1 * cross.norm()


def test_canonical_basis_is_independent_of_the_svd_basis() -> None:
    B = equivariant_basis(SN, _p(4) * _p(4), _p(4))
    Q = B.reshape(B.shape[0], -1).T  # (n, k), orthonormal
    gen = torch.Generator().manual_seed(0)
    rot = torch.linalg.qr(torch.randn(5, 5, dtype=torch.float64, generator=gen))[0]
    assert torch.allclose(_canonical(Q @ rot), Q, atol=1e-12)


def test_cache() -> None:
    clear_basis_cache()
    layer = EquivariantLinear(SO3, Vector(SO3), Vector(SO3))
    assert len(_CACHE) == 2  # weights and bias
    a = equivariant_basis(SO3, Vector(SO3), Vector(SO3))
    a.zero_()  # a copy: the cache is untouched
    assert equivariant_basis(SO3, Vector(SO3), Vector(SO3)).abs().max() > 0
    clear_basis_cache()
    assert not _CACHE
    assert layer(torch.randn(2, 3)).shape == (2, 3)  # re-solved on demand


# ------------------------------------------------------------------ equivariance
LAYER_CASES = [c for c in CASES if c[4] > 0 and c[0] not in ("SN: R^NxN -> R^NxN, N=3",)]


def _randomized(layer: EquivariantLinear, seed: int = 0) -> EquivariantLinear:
    gen = torch.Generator().manual_seed(seed)
    layer.reset_parameters(rng=gen)
    if layer.bias_coeffs is not None:
        with torch.no_grad():
            layer.bias_coeffs.normal_(generator=gen)
    return layer


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize(
    ("name", "group", "rep_in", "rep_out", "dim"), LAYER_CASES, ids=[c[0] for c in LAYER_CASES]
)
def test_layer_is_equivariant_in_one_line(name, group, rep_in, rep_out, dim, dtype):
    """The layer declares group, in_kinds and out_kinds: the whole test is one call."""
    layer = _randomized(EquivariantLinear(group, rep_in, rep_out))
    assert layer.group == group and layer.in_kinds == (rep_in,) and layer.out_kinds == (rep_out,)
    x = torch.randn(6, rep_in.dim, generator=torch.Generator().manual_seed(1))
    assert assert_equivariant(layer, x, dtype=dtype, n_samples=4).passed


def test_float32_layer_cast_to_float64_is_exact() -> None:
    layer = _randomized(EquivariantLinear(SO3, Vector(SO3) ** 2, Vector(SO3) ** 2))
    assert layer.weight_coeffs.dtype == torch.float32
    x = torch.randn(4, 9, dtype=torch.float64)
    report = assert_equivariant(layer.double(), x)
    assert max(r.error for r in report.results) < 1e-13
    assert layer.weight.dtype == torch.float64


# ---------------------------------------------------------------------- mutants
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_unconstrained_matrix_fails(dtype) -> None:
    G = SO3xSN
    rep = PermRep(G, 4) * Vector(G)
    dense = nn.Linear(12, 12)
    x = torch.randn(3, 12)
    with pytest.raises(AssertionError, match="not equivariant"):
        assert_equivariant(dense, G, x, rep, rep, dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("case", ["SN: R^N -> R^N", "SO3: VxV -> V", "SO3xSN: PV -> PV"])
def test_broken_weight_sharing_fails(case, dtype) -> None:
    """Perturb one entry of W (its coefficient no longer shared): not equivariant."""
    _, group, rep_in, rep_out, _ = next(c for c in CASES if c[0] == case)
    layer = _randomized(EquivariantLinear(group, rep_in, rep_out))
    delta = torch.zeros(rep_out.dim, rep_in.dim)
    delta[0, 1] = 0.1 * layer.weight.abs().max()

    def mutant(x):
        return x @ (layer.weight + delta.to(x)).T + layer.bias

    x = torch.randn(5, rep_in.dim)
    with pytest.raises(AssertionError, match="not equivariant"):
        assert_equivariant(mutant, group, x, rep_in, rep_out, dtype=dtype)


# ------------------------------------------------------------------- the module
def test_repr_shapes_and_parameters() -> None:
    V = Vector(SO3)
    layer = EquivariantLinear(SO3, V, V)
    assert repr(layer) == "EquivariantLinear(Rotation(3), in=V, out=V, basis=1, bias=0)"
    nobias = EquivariantLinear(SN, _p(4), _p(4), bias=False)
    assert repr(nobias) == "EquivariantLinear(Permutation(), in=P(4), out=P(4), basis=2)"
    assert nobias.bias is None and nobias.bias_coeffs is None
    assert [p.shape for p in EquivariantLinear(SN, _p(4), _p(4)).parameters()] == [(2,), (1,)]
    assert layer(torch.randn(2, 7, 3)).shape == (2, 7, 3)
    with pytest.raises(ValueError, match=r"\(\.\.\., 3\)"):
        layer(torch.randn(2, 4))


def test_state_dict_round_trip() -> None:
    """Coefficients are the whole state: the canonical basis is rebuilt identically."""
    G = SO3xSN
    rep = PermRep(G, 3) * Vector(G)
    layer = _randomized(EquivariantLinear(G, rep, rep))
    state = layer.state_dict()
    assert set(state) == {"weight_coeffs", "bias_coeffs"}
    clear_basis_cache()
    fresh = EquivariantLinear(G, rep, rep)
    fresh.load_state_dict(state)
    x = torch.randn(4, 9)
    assert torch.equal(fresh(x), layer(x))


def test_zero_basis_layer_is_the_bias() -> None:
    layer = EquivariantLinear(SO3, Vector(SO3), Scalar(SO3))
    assert layer.basis_dim == 0 and layer.weight.shape == (1, 3)
    with torch.no_grad():
        layer.bias_coeffs.fill_(2.0)
    assert torch.allclose(layer(torch.randn(4, 3)), torch.full((4, 1), 2.0))


def test_init_scaling_matches_a_dense_layer() -> None:
    """E ||W||_F^2 = d_out, as for entries N(0, 1/d_in)."""
    V = Vector(SO3)
    layer = EquivariantLinear(SO3, V * V, V * V)
    gen = torch.Generator().manual_seed(0)
    norms = []
    with torch.no_grad():
        for _ in range(1000):
            layer.reset_parameters(rng=gen)
            norms.append(float(layer.weight.pow(2).sum()))
    assert abs(sum(norms) / len(norms) / 9 - 1) < 0.1


def test_gradients_reach_the_coefficients() -> None:
    layer = EquivariantLinear(SN, _p(4), _p(4))
    layer(torch.randn(3, 4)).pow(2).sum().backward()
    assert layer.weight_coeffs.grad is not None and layer.weight_coeffs.grad.abs().sum() > 0
    assert layer.bias_coeffs.grad is not None


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="belongs to"):
        EquivariantLinear(SO3, Vector(SO3xSN), Vector(SO3xSN))
    with pytest.raises(ValueError, match="different numbers of particles"):
        EquivariantLinear(SN, _p(3), _p(4))
    with pytest.raises(TypeError, match="Rep"):
        EquivariantLinear(SN, 3, _p(4))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="Group"):
        EquivariantLinear("S4", _p(4), _p(4))  # type: ignore[arg-type]


def test_reset_parameters_old_generator_argument() -> None:
    layer = EquivariantLinear(SN, _p(4), _p(4))
    with pytest.warns(DeprecationWarning, match="rng="):
        layer.reset_parameters(generator=torch.Generator().manual_seed(0))
    first = layer.weight_coeffs.detach().clone()
    layer.reset_parameters(rng=0)
    assert torch.equal(first, layer.weight_coeffs)


@pytest.mark.parametrize("proper", [False, True])
def test_lorentz_layer_with_dual_reps(proper: bool) -> None:
    """V -> V (x) V (x) V* is equivariant; the same weights read as V -> V^3 are not."""
    from symnet.groups import Lorentz, T

    L = Lorentz(proper=proper)
    layer = _randomized(EquivariantLinear(L, T(1, group=L), T(2, 1, group=L))).double()
    assert layer.basis_dim == (4 if proper else 3)
    x = torch.randn(5, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    report = assert_equivariant(layer, x)
    assert max(r.error for r in report.results) < 1e-12
    with pytest.raises(AssertionError, match="not equivariant"):
        assert_equivariant(layer, L, x, T(1, group=L), T(3, group=L))
