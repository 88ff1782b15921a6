"""PermEquivariantLinear and DeepSets: S_N symmetry, masks, mutants, function space."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from symnet.groups import PermRep, Permutation, Scalar
from symnet.nn import DeepSets, EquivariantLinear, PermEquivariantLinear, equivariant_basis
from symnet.testing import assert_equivariant, assert_invariant

SN = Permutation()
DTYPES = [torch.float32, torch.float64]


def randn(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


class Masked(nn.Module):
    """``(x, m) -> model(x, m > 0.5)`` with the mask as a per-particle scalar ``(B, N, 1)``."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x, m):
        return self.model(x, m[..., 0] > 0.5)


def padded(B=3, N=6, C=2, seed=0):
    x = randn(B, N, C, seed=seed)
    m = (torch.rand(B, N, 1, generator=torch.Generator().manual_seed(seed + 1)) > 0.3).double()
    m[:, 0] = 1.0
    return x, m


class PositionalMutant(nn.Module):
    """A set layer plus a learned per-index embedding: depends on the particles' order."""

    def __init__(self, layer: nn.Module, n: int, c: int) -> None:
        super().__init__()
        self.layer = layer
        self.embedding = nn.Parameter(randn(n, c, seed=7))

    def forward(self, x):
        return self.layer(x + self.embedding)


# ------------------------------------------------------------ PermEquivariantLinear
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_perm_linear_is_equivariant(dtype, reduction) -> None:
    layer = PermEquivariantLinear(3, 4, reduction=reduction)
    assert_equivariant(layer, SN, randn(4, 5, 3), "scalar", "scalar", dtype=dtype)
    # extra leading axes (..., N, C)
    assert_equivariant(layer, SN, randn(2, 3, 5, 3), "scalar", "scalar", dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_perm_linear_with_mask(dtype) -> None:
    layer = PermEquivariantLinear(2, 3)
    x, m = padded()
    assert_equivariant(Masked(layer), SN, (x, m), ("scalar", "scalar"), "scalar", dtype=dtype)
    # padded particles neither contribute nor receive output
    keep = m[..., 0] > 0.5
    y = layer(x, keep)
    x2 = torch.where(keep[..., None], x, torch.full_like(x, 1e3))
    assert torch.equal(layer(x2, keep), y)
    assert torch.all(y[~keep] == 0)
    # equals the layer applied to the set without padding
    b = 1
    assert torch.allclose(y[b, keep[b]], layer(x[b : b + 1, keep[b]])[0], atol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_positional_mutant_fails(dtype) -> None:
    mutant = PositionalMutant(PermEquivariantLinear(3, 4), 5, 3)
    with pytest.raises(AssertionError, match="not equivariant"):
        assert_equivariant(mutant, SN, randn(4, 5, 3), "scalar", "scalar", dtype=dtype)


@pytest.mark.parametrize(("c_in", "c_out"), [(1, 1), (2, 3)])
def test_perm_linear_spans_the_equivariant_linear_space(c_in, c_out) -> None:
    """Its maps on (N, C) are exactly EquivariantLinear(P(N) * C S -> P(N) * C' S)."""
    N = 4
    rep_in = PermRep(SN, N) * (c_in * Scalar(SN))
    rep_out = PermRep(SN, N) * (c_out * Scalar(SN))
    basis = equivariant_basis(SN, rep_in, rep_out).reshape(-1, rep_out.dim * rep_in.dim)
    assert basis.shape[0] == 2 * c_in * c_out
    assert EquivariantLinear(SN, rep_in, rep_out).bias_dim == c_out  # one constant per channel

    eye = torch.eye(N * c_in, dtype=torch.float64).reshape(-1, N, c_in)
    mats = []
    for seed in range(3 * basis.shape[0]):
        torch.manual_seed(seed)
        layer = PermEquivariantLinear(c_in, c_out, bias=False).double()
        W = layer(eye).reshape(N * c_in, N * c_out).T  # column j = image of e_j
        mats.append(W.reshape(-1))
    M = torch.stack(mats)  # random maps of the layer, as vec(W)
    # every map lies in the nullspace, and together they span all of it
    residual = M - (M @ basis.T) @ basis
    assert residual.abs().max() < 1e-12
    assert torch.linalg.matrix_rank(M) == basis.shape[0]


def test_perm_linear_repr_and_errors() -> None:
    layer = PermEquivariantLinear(3, 8)
    assert repr(layer) == (
        "PermEquivariantLinear(in_features=3, out_features=8, reduction='mean', bias=True)"
    )
    with pytest.raises(ValueError, match=r"\(\.\.\., N, 3\)"):
        layer(torch.randn(4, 5, 2))
    with pytest.raises(ValueError, match="mask must have shape"):
        layer(torch.randn(4, 5, 3), torch.ones(4, 6, dtype=torch.bool))
    with pytest.raises(ValueError, match="reduction"):
        PermEquivariantLinear(3, 8, reduction="max")


# ----------------------------------------------------------------------- DeepSets
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_deepsets_is_invariant(dtype, reduction) -> None:
    model = DeepSets(3, 16, 2, reduction=reduction)
    assert_invariant(model, SN, randn(4, 6, 3), "scalar", dtype=dtype)
    y = model(randn(4, 6, 3))
    assert y.shape == (4, 2)
    # global outputs: invariance is equivariance with kind "global"
    assert_equivariant(model, SN, randn(4, 6, 3), "scalar", "global", dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_deepsets_with_mask(dtype) -> None:
    model = DeepSets(2, 8, 3, reduction="mean")
    x, m = padded(seed=3)
    assert_invariant(Masked(model), SN, (x, m), ("scalar", "scalar"), dtype=dtype)
    keep = m[..., 0] > 0.5
    b = 2
    want = model(x[b : b + 1, keep[b]])[0]
    assert torch.allclose(model(x, keep)[b], want, atol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_deepsets_positional_mutant_fails(dtype) -> None:
    mutant = PositionalMutant(DeepSets(3, 16, 2), 6, 3)
    with pytest.raises(AssertionError, match="not invariant"):
        assert_invariant(mutant, SN, randn(4, 6, 3), "scalar", dtype=dtype)


def test_deepsets_structure_and_errors() -> None:
    model = DeepSets(3, 16, 2, phi_layers=3, rho_layers=1)
    assert sum(isinstance(m, nn.Linear) for m in model.phi) == 3
    assert sum(isinstance(m, nn.Linear) for m in model.rho) == 1
    assert "reduction='sum'" in repr(model)
    with pytest.raises(ValueError, match=">= 1"):
        DeepSets(3, 16, 2, phi_layers=0)
    with pytest.raises(ValueError, match="reduction"):
        DeepSets(3, 16, 2, reduction="max")
    with pytest.raises(ValueError, match=r"\(\.\.\., N, 3\)"):
        model(torch.randn(4, 5, 2))


def test_set_layers_declare_their_symmetry() -> None:
    x = randn(3, 5, 2)
    layer, model = PermEquivariantLinear(2, 4), DeepSets(2, 8, 3)
    assert (layer.group, layer.in_kinds, layer.out_kinds) == (SN, ("scalar",), ("scalar",))
    assert model.out_kinds == ("global",)
    assert assert_equivariant(layer, x).passed and assert_equivariant(model, x).passed
