"""InvariantFeatures: values, invariance under E(d) x S_N (and boosts when centred), smoothness."""

from __future__ import annotations

import doctest
import importlib

import pytest
import torch
from torch.func import jvp

from symnet.groups import Boost, Permutation, Rotation, Translation
from symnet.nn import InvariantFeatures, safe_norm
from symnet.testing import assert_equivariant, assert_invariant


def _group(d: int, perm: bool = True):
    g = Translation(d) * Rotation(d)
    return g * Permutation() if perm else g


def _data(d: int, dtype=torch.float64, n: int = 5, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(3, n, d, generator=g, dtype=dtype)
    v = torch.randn(3, n, d, generator=g, dtype=dtype)
    return x, v


def test_values_match_the_definitions():
    x, v = _data(3)
    feats = InvariantFeatures(centred=True, output=("pair", "particle"))
    pair, part = feats(x, v)
    assert feats.pair_names(True) == ["r2", "gram", "vv", "xv_i", "xv_j"]
    assert feats.particle_names(True) == ["x2", "v2", "xv"]
    i, j = 1, 3
    dx = x[:, i] - x[:, j]
    xc, vc = x - x.mean(1, keepdim=True), v - v.mean(1, keepdim=True)
    expect = [
        (dx * dx).sum(-1),
        (xc[:, i] * xc[:, j]).sum(-1),
        (vc[:, i] * vc[:, j]).sum(-1),
        (dx * vc[:, i]).sum(-1),
        (-dx * vc[:, j]).sum(-1),
    ]
    torch.testing.assert_close(pair[:, i, j], torch.stack(expect, -1))
    own = torch.stack(
        [(xc[:, i] ** 2).sum(-1), (vc[:, i] ** 2).sum(-1), (xc[:, i] * vc[:, i]).sum(-1)], -1
    )
    torch.testing.assert_close(part[:, i, :3], own)
    others = [k for k in range(5) if k != i]
    torch.testing.assert_close(part[:, i, 3:], pair[:, i, others].sum(1))


def test_mass_weighted_centre():
    x, v = _data(3)
    m = torch.rand(3, 5, 1, dtype=torch.float64) + 0.5
    pair = InvariantFeatures(centred=True, output="pair")(x, masses=m)
    c = (m * x).sum(1, keepdim=True) / m.sum(1, keepdim=True)
    torch.testing.assert_close(pair[..., 1], (x - c) @ (x - c).transpose(1, 2))


def test_plain_distances_and_names():
    x, _ = _data(2)
    feats = InvariantFeatures(squared=False, output="pair")
    r = feats(x)[..., 0]
    torch.testing.assert_close(r, torch.cdist(x, x), atol=1e-12, rtol=0)
    sorted_feats = InvariantFeatures(output="global", pooling="sorted")
    assert len(sorted_feats.feature_names(False, n_particles=5)) == sorted_feats(x).shape[-1] == 20
    part = InvariantFeatures(pooling="mean", squared=False)
    assert part.feature_names(True) == ["v", "mean_r", "mean_vv", "mean_xv_i", "mean_xv_j"]


@pytest.mark.parametrize("d", [2, 3])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("pooling", ["sum", "mean", "sorted"])
def test_particle_and_global_outputs_respect_the_group(d, dtype, pooling):
    x, v = _data(d, dtype)
    feats = InvariantFeatures(centred=pooling != "sum", squared=pooling != "mean", pooling=pooling)
    G = _group(d)
    assert_equivariant(feats, G, (x, v), ("point", "vector"), "scalar", dtype=dtype, n_samples=3)
    glob = InvariantFeatures(centred=True, output="global", pooling=pooling)
    assert_invariant(glob, G, (x, v), ("point", "vector"), dtype=dtype, n_samples=3)


@pytest.mark.parametrize("d", [2, 3])
def test_pair_output_invariant_and_permuted_on_both_axes(d):
    x, v = _data(d)
    feats = InvariantFeatures(centred=True, output="pair")
    assert_invariant(feats, _group(d, perm=False), (x, v), ("point", "vector"), n_samples=3)
    perm = torch.randperm(5, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(feats(x[:, perm], v[:, perm]), feats(x, v)[:, perm][:, :, perm])


def test_invariant_under_reflections():
    x, v = _data(3)
    P = torch.diag(torch.tensor([1.0, -1.0, 1.0], dtype=torch.float64))
    feats = InvariantFeatures(centred=True, output=("pair", "global"))
    for a, b in zip(feats(x, v), feats(x @ P, v @ P), strict=True):
        torch.testing.assert_close(a, b)


def test_centred_features_are_boost_invariant():
    x, v = _data(3)
    m = torch.rand(3, 5, 1, dtype=torch.float64) + 0.5
    G = Boost(3) * Rotation(3) * Translation(3) * Permutation()
    kinds = ("point", "vector", "scalar")
    centred = InvariantFeatures(centred=True, output="global")
    assert_invariant(centred, G, (x, v, m), kinds, n_samples=3)
    plain = InvariantFeatures(output="global")
    with pytest.raises(AssertionError, match="boost"):
        assert_invariant(lambda x, v, m: plain(x, v), G, (x, v, m), kinds, n_samples=3)


def test_mutant_with_an_absolute_position_fails():
    x, v = _data(3)
    feats = InvariantFeatures(output="global")

    def mutant(x, v):
        return feats(x, v) + 1e-3 * x[..., 0].sum(-1, keepdim=True)

    with pytest.raises(AssertionError, match="translation"):
        assert_invariant(mutant, _group(3), (x, v), ("point", "vector"), n_samples=2)


def test_mutant_with_index_dependent_weights_fails_permutation_only():
    x, _ = _data(3)
    feats = InvariantFeatures(output="particle")
    w = torch.linspace(1.0, 2.0, 5, dtype=torch.float64)[:, None]

    def mutant(x):
        return feats(x) * w

    assert_equivariant(mutant, _group(3, perm=False), x, "point", "scalar", n_samples=2)
    with pytest.raises(AssertionError, match="permutation|transposition|cycle"):
        assert_equivariant(mutant, Permutation(), x, "point", "scalar")


@pytest.mark.parametrize("squared", [True, False])
def test_smooth_where_points_coincide(squared):
    x, v = _data(3, n=4)
    x[:, 1] = x[:, 0]  # two coinciding particles (and i == j everywhere)
    x.requires_grad_(True)
    feats = InvariantFeatures(squared=squared, centred=True, output="global")
    (g,) = torch.autograd.grad(feats(x, v).sum(), x)
    assert torch.isfinite(g).all()
    _, tangent = jvp(lambda y: feats(y, v), (x.detach(),), (torch.randn_like(x),))
    assert torch.isfinite(tangent).all()


def test_safe_norm():
    s = torch.tensor([0.0, 4.0], requires_grad=True)
    r = safe_norm(s)
    r.sum().backward()
    assert r.tolist() == [0.0, 2.0] and s.grad.tolist() == [0.0, 0.25]


def test_errors_and_repr():
    x, v = _data(3)
    with pytest.raises(ValueError, match="output"):
        InvariantFeatures(output="edges")
    with pytest.raises(ValueError, match="pooling"):
        InvariantFeatures(pooling="max")
    with pytest.raises(ValueError, match="centred=True"):
        InvariantFeatures()(x, v, masses=torch.ones(3, 5, 1))
    with pytest.raises(ValueError, match="shape of x"):
        InvariantFeatures()(x, v[:, :4])
    with pytest.raises(ValueError, match="n_particles"):
        InvariantFeatures(pooling="sorted").feature_names()
    assert repr(InvariantFeatures(output=("pair", "global"))) == (
        "InvariantFeatures(squared=True, centred=False, output=('pair', 'global'), pooling='sum')"
    )


def test_docstring_examples_run():
    result = doctest.testmod(
        importlib.import_module("symnet.nn.features"), optionflags=doctest.ELLIPSIS
    )
    assert result.failed == 0 and result.attempted > 0
