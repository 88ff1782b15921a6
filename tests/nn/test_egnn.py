"""EGNNLayer and EGNN: E(d) x S_N equivariance, mutants, masks, stability."""

from __future__ import annotations

import doctest
import importlib

import pytest
import torch
from torch import nn

from symnet.groups import Permutation, Reflection, Rotation, Translation
from symnet.nn import EGNN, EGNNLayer
from symnet.testing import assert_equivariant

KINDS = ("scalar", "point")
KINDS_V = ("scalar", "point", "vector")


def _group(d: int, perm: bool = True):
    g = Translation(d) * Rotation(d) * Reflection(d)
    return g * Permutation() if perm else g


def _data(d: int = 3, c: int = 4, n: int = 5, b: int = 2, dtype=torch.float64, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    h = torch.randn(b, n, c, generator=g, dtype=dtype)
    x = torch.randn(b, n, d, generator=g, dtype=dtype)
    v = torch.randn(b, n, d, generator=g, dtype=dtype)
    return h, x, v


def _randomize(module: nn.Module, seed: int = 0, std: float = 0.5) -> nn.Module:
    """O(1) weights everywhere (the coordinate head starts near zero by design)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(std * torch.randn(p.shape, generator=g, dtype=p.dtype))
    return module.double()


# ------------------------------------------------------------------ equivariance
@pytest.mark.parametrize("d", [2, 3])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_layer_is_equivariant(d, dtype):
    torch.manual_seed(0)
    layer = _randomize(EGNNLayer(4, 8, 6, aggregation="sum")).to(dtype)
    h, x, _ = _data(d, dtype=dtype)
    assert_equivariant(layer, _group(d), (h, x), KINDS, KINDS, dtype=dtype, n_samples=2)


@pytest.mark.parametrize("d", [2, 3])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_stack_with_velocities_is_equivariant(d, dtype):
    torch.manual_seed(1)
    model = _randomize(EGNN(4, 8, 2, n_layers=2, update_velocity=True, coord_bound=2.0))
    h, x, v = _data(d, dtype=dtype)
    G = _group(d)
    assert_equivariant(model, G, (h, x, v), KINDS_V, KINDS_V, dtype=dtype, n_samples=2)


class _Masked(nn.Module):
    """Mask passed as a per-particle scalar so that permutations move it with the particles."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, h, x, v, keep, q):
        charge = q * q.transpose(-1, -2)  # invariant edge attribute q_i q_j, (B, N, N)
        return self.model(h, x, v, mask=keep[..., 0] > 0.5, edge_attr=charge[..., None])


def test_masked_stack_with_edge_attributes_is_equivariant():
    torch.manual_seed(2)
    model = _Masked(_randomize(EGNN(4, 8, 3, n_layers=2, update_velocity=True, edge_features=1)))
    h, x, v = _data(3, n=6)
    keep = torch.tensor([[1, 1, 0, 1, 1, 0], [1, 1, 1, 1, 1, 0]], dtype=torch.float64)[..., None]
    q = torch.randn(2, 6, 1, dtype=torch.float64)
    kinds = (*KINDS_V, "scalar", "scalar")
    assert_equivariant(model, _group(3), (h, x, v, keep, q), kinds, KINDS_V, n_samples=2)


def test_equivariant_under_reflections():
    model = _randomize(EGNN(4, 12, 2, n_layers=2, update_velocity=True))
    h, x, v = _data(3)
    P = torch.diag(torch.tensor([-1.0, 1.0, 1.0], dtype=torch.float64))
    out = model(h, x, v)
    ref = model(h, x @ P, v @ P)
    torch.testing.assert_close(ref[0], out[0])
    torch.testing.assert_close(ref[1], out[1] @ P)
    torch.testing.assert_close(ref[2], out[2] @ P)


# ----------------------------------------------------------------------- mutants
class _AbsolutePositionInMessage(EGNNLayer):
    def forward(self, h, x, *args, **kwargs):
        self._x = x
        return super().forward(h, x, *args, **kwargs)

    def _node_projections(self, h):
        a, b = super()._node_projections(h)
        return a + self._x[..., :1], b


class _FixedVectorInCoordinateUpdate(EGNNLayer):
    def _update(self, h, x, v, m_agg, dx, mask):
        return super()._update(h, x, v, m_agg, dx + 0.01 * torch.ones_like(dx), mask)


class _IndexDependentWeights(EGNNLayer):
    def _update(self, h, x, v, m_agg, dx, mask):
        n = h.shape[-2]
        w = torch.linspace(0.5, 1.5, n, dtype=h.dtype)[:, None]
        return super()._update(h, x, v, m_agg * w, dx * w, mask)


def test_mutant_with_absolute_position_in_messages_fails():
    layer = _randomize(_AbsolutePositionInMessage(4, 8))
    h, x, _ = _data()
    with pytest.raises(AssertionError, match="translation"):
        assert_equivariant(layer, _group(3), (h, x), KINDS, KINDS, n_samples=2)


def test_mutant_with_a_fixed_vector_in_the_coordinate_update_fails():
    layer = _randomize(_FixedVectorInCoordinateUpdate(4, 8))
    h, x, _ = _data()
    assert_equivariant(layer, Translation(3) * Permutation(), (h, x), KINDS, KINDS, n_samples=2)
    with pytest.raises(AssertionError, match="rotation"):
        assert_equivariant(layer, _group(3), (h, x), KINDS, KINDS, n_samples=2)


def test_mutant_with_index_dependent_weights_fails_permutations():
    layer = _randomize(_IndexDependentWeights(4, 8))
    h, x, _ = _data()
    assert_equivariant(layer, _group(3, perm=False), (h, x), KINDS, KINDS, n_samples=2)
    with pytest.raises(AssertionError, match="transposition|cycle|sample"):
        assert_equivariant(layer, Permutation(), (h, x), KINDS, KINDS, n_samples=2)


def test_stack_with_one_broken_layer_fails():
    model = _randomize(EGNN(4, 8, 2, n_layers=2))
    broken = _randomize(_FixedVectorInCoordinateUpdate(8, 8))
    model.layers[1] = broken
    h, x, _ = _data()
    with pytest.raises(AssertionError, match="rotation"):
        assert_equivariant(model, _group(3), (h, x), KINDS, KINDS, n_samples=2)


# -------------------------------------------------------------------------- masks
@pytest.mark.parametrize("velocity", [False, True])
def test_padding_never_influences_real_particles_and_stays_unchanged(velocity):
    layer = _randomize(EGNNLayer(4, 8, update_velocity=velocity))
    h, x, v = _data(n=7)
    mask = torch.ones(2, 7, dtype=torch.bool)
    mask[0, [1, 4]] = False
    mask[1, 6] = False
    args = (h, x, v) if velocity else (h, x)
    out = layer(*args, mask=mask)
    # scramble the padded entries: real outputs are bit-identical
    noisy = [t.clone() for t in args]
    for t in noisy:
        t[~mask] = 100.0 * torch.randn_like(t[~mask])
    out2 = layer(*noisy, mask=mask)
    for a, b, t in zip(out, out2, noisy, strict=True):
        assert torch.equal(a[mask], b[mask])
        assert torch.equal(b[~mask], t[~mask])  # padded: unchanged
    # and the real particles see exactly what a cloud of only them sees
    first = layer(*(t[0, mask[0]][None] for t in args))
    for a, b in zip(out, first, strict=True):
        torch.testing.assert_close(a[0, mask[0]], b[0])


def test_stack_mask_zeroes_padded_features():
    model = _randomize(EGNN(4, 8, 3, n_layers=2))
    h, x, _ = _data(n=5)
    mask = torch.tensor([[True, True, False, True, True], [True] * 5])
    h_out, x_out = model(h, x, mask=mask)
    assert torch.equal(h_out[~mask], torch.zeros_like(h_out[~mask]))
    assert torch.equal(x_out[~mask], x[~mask])
    empty = torch.zeros(2, 5, dtype=torch.bool)
    assert all(torch.isfinite(t).all() for t in model(h, x, mask=empty))


# ---------------------------------------------------------------------- stability
@pytest.mark.parametrize("bound", [None, 0.5])
def test_eight_layers_on_100_particles_stay_finite_and_bounded(bound):
    torch.manual_seed(0)
    model = EGNN(5, 32, 4, n_layers=8, update_velocity=False, coord_bound=bound)
    with torch.no_grad():  # O(1) coordinate heads: updates that matter
        for layer in model.layers:
            layer.coord_mlp[-1].weight.normal_(0.0, 0.5)
    h, x, _ = _data(c=5, n=100, b=2, dtype=torch.float32)
    x = 3.0 * x.requires_grad_(True)
    h_out, x_out = model(h, x)
    assert torch.isfinite(h_out).all() and torch.isfinite(x_out).all()
    shift = (x_out - x).norm(dim=-1).max().item()
    if bound is not None:
        assert shift <= 8 * bound + 1e-4  # each layer moves a point by at most coord_bound
    assert shift < 50.0
    assert h_out.abs().max().item() < 1e3
    (grad,) = torch.autograd.grad(h_out.square().mean() + x_out.square().mean(), x)
    assert torch.isfinite(grad).all()


def test_gradient_finite_where_points_coincide():
    layer = _randomize(EGNNLayer(4, 8))
    h, x, _ = _data(n=4)
    x = x.clone()
    x[:, 1] = x[:, 0]
    x.requires_grad_(True)
    h_out, x_out = layer(h, x)
    (grad,) = torch.autograd.grad(h_out.sum() + x_out.square().sum(), x)
    assert torch.isfinite(grad).all()


# ------------------------------------------------------------------ API and errors
def test_shapes_and_repr():
    layer = EGNNLayer(3, 16, 8, update_velocity=True, coord_bound=1.0)
    assert repr(layer) == "EGNNLayer(3, 16, 8, update_velocity=True, coord_bound=1.0)"
    assert not layer.residual
    h, x, v = _data(c=3, dtype=torch.float32)
    assert [t.shape for t in layer(h, x, v)] == [(2, 5, 8), (2, 5, 3), (2, 5, 3)]
    model = EGNN(3, 16, 2, n_layers=3, aggregation="sum")
    assert repr(model) == "EGNN(3, 16, 2, n_layers=3, aggregation='sum')"
    assert repr(EGNN(3, 16)) == "EGNN(3, 16, n_layers=4)"
    assert [t.shape for t in model(h, x)] == [(2, 5, 2), (2, 5, 3)]
    leading = model(h[None], x[None])  # extra leading axes broadcast
    assert leading[0].shape == (1, 2, 5, 2)


def test_errors():
    layer = EGNNLayer(4, 8)
    h, x, v = _data(dtype=torch.float32)
    with pytest.raises(ValueError, match="update_velocity=True"):
        layer(h, x, v)
    with pytest.raises(ValueError, match="pass v"):
        EGNNLayer(4, 8, update_velocity=True)(h, x)
    with pytest.raises(TypeError, match="boolean"):
        layer(h, x, mask=torch.ones(2, 5))
    with pytest.raises(ValueError, match="mask must have shape"):
        layer(h, x, mask=torch.ones(2, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match="4 features"):
        layer(h[..., :3], x)
    with pytest.raises(ValueError, match="agree"):
        layer(h[:, :4], x)
    with pytest.raises(ValueError, match="edge_attr"):
        EGNNLayer(4, 8, edge_features=2)(h, x)
    with pytest.raises(ValueError, match="edge_features=0"):
        layer(h, x, edge_attr=torch.ones(2, 5, 5, 1))
    with pytest.raises(ValueError, match="aggregation"):
        EGNNLayer(4, 8, aggregation="max")
    with pytest.raises(ValueError, match="residual"):
        EGNNLayer(4, 8, 3, residual=True)
    with pytest.raises(ValueError, match="coord_bound"):
        EGNNLayer(4, 8, coord_bound=0.0)
    with pytest.raises(ValueError, match="n_layers"):
        EGNN(4, 8, n_layers=0)


def test_docstring_examples_run():
    result = doctest.testmod(
        importlib.import_module("symnet.nn.egnn"), optionflags=doctest.ELLIPSIS
    )
    assert result.failed == 0 and result.attempted > 0


def test_layers_declare_their_symmetry() -> None:
    """group, in_kinds and out_kinds are declared: assert_equivariant(layer, inputs)."""
    h, x = torch.randn(2, 5, 4, dtype=torch.float64), torch.randn(2, 5, 3, dtype=torch.float64)
    layer = _randomize(EGNNLayer(4, 8))
    assert layer.group == _group(3) and layer.in_kinds == layer.out_kinds == KINDS
    assert assert_equivariant(layer, (h, x), n_samples=2).passed
    model = _randomize(EGNN(4, 8, 2, n_layers=1, update_velocity=True))
    assert model.in_kinds == ("scalar", "point", "vector")
    assert assert_equivariant(model, (h, x, torch.randn_like(x)), n_samples=2).passed
    flat = _randomize(EGNNLayer(4, 8, dim=2))
    assert flat.group == _group(2)
    assert assert_equivariant(flat, (h, x[..., :2]), n_samples=2).passed
    with pytest.raises(ValueError, match="dim"):
        EGNN(4, 8, dim=1)
