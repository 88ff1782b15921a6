"""EGNNConv: same outputs as EGNNLayer, equivariance on radius graphs, graph helpers."""

from __future__ import annotations

import doctest
import importlib

import pytest
import torch
from torch import nn
from torch_geometric.data import Batch, Data

from symnet.groups import Permutation, Rotation, Translation
from symnet.nn import EGNN, EGNNConv, EGNNLayer, fully_connected_graph, radius_graph
from symnet.testing import assert_equivariant

KINDS_V = ("scalar", "point", "vector")


def _randomize(module: nn.Module, seed: int = 0, std: float = 0.5) -> nn.Module:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(std * torch.randn(p.shape, generator=g, dtype=p.dtype))
    return module.double()


def _ragged(sizes, c=4, d=3, e=0, seed=0):
    """Padded dense tensors (B, N, .) with a mask, and the same clouds as one PyG Batch."""
    g = torch.Generator().manual_seed(seed)
    b, n = len(sizes), max(sizes)
    h = torch.randn(b, n, c, generator=g, dtype=torch.float64)
    x = torch.randn(b, n, d, generator=g, dtype=torch.float64)
    v = torch.randn(b, n, d, generator=g, dtype=torch.float64)
    a = torch.randn(b, n, n, e, generator=g, dtype=torch.float64)
    mask = torch.arange(n)[None, :] < torch.tensor(sizes)[:, None]
    graphs = []
    for k, s in enumerate(sizes):
        ei = fully_connected_graph(s)
        graphs.append(
            Data(
                x=h[k, :s], pos=x[k, :s], vel=v[k, :s], edge_index=ei, edge_attr=a[k, ei[1], ei[0]]
            )
        )
    return (h, x, v, a, mask), Batch.from_data_list(graphs)


# ---------------------------------------------------------- same math as EGNNLayer
@pytest.mark.parametrize(
    "options",
    [
        {},
        {"aggregation": "sum", "coord_bound": 1.5},
        {"update_velocity": True, "edge_features": 2, "normalize": False},
        {"update_velocity": True, "aggregation": "sum", "edge_hidden": 5, "coord_hidden": 7},
        {"update_velocity": True, "edge_features": 2, "edge_hidden": 20},  # gathers features
    ],
)
def test_same_output_as_the_dense_layer_on_the_fully_connected_graph(options):
    layer = _randomize(EGNNLayer(4, 8, 6, **options))
    conv = EGNNConv.from_layer(layer)
    (h, x, v, a, mask), batch = _ragged([5, 3, 4], e=options.get("edge_features", 0))
    vel = options.get("update_velocity", False)
    dense = layer(h, x, v if vel else None, mask=mask, edge_attr=a if a.shape[-1] else None)
    sparse = conv(
        batch.x, batch.pos, batch.edge_index, batch.vel if vel else None,
        batch.edge_attr if a.shape[-1] else None,
    )  # fmt: skip
    assert len(dense) == len(sparse) == (3 if vel else 2)
    for a_, b_ in zip(dense, sparse, strict=True):
        torch.testing.assert_close(a_[mask], b_, rtol=1e-12, atol=1e-12)


def test_stack_of_convs_equals_egnn():
    model = _randomize(EGNN(4, 8, 2, n_layers=3, update_velocity=True))
    convs = [EGNNConv.from_layer(layer) for layer in model.layers]
    (h, x, v, _, mask), batch = _ragged([6, 4])
    dense = model(h, x, v, mask=mask)
    hs, pos, vel = model.embedding(batch.x), batch.pos, batch.vel
    for conv in convs:
        hs, pos, vel = conv(hs, pos, batch.edge_index, vel)
    for a_, b_ in zip(dense, (model.head(hs), pos, vel), strict=True):
        torch.testing.assert_close(a_[mask], b_, rtol=1e-12, atol=1e-12)


def test_sharing_and_copying_parameters():
    layer = EGNNLayer(4, 8, update_velocity=True)
    shared, copied = EGNNConv.from_layer(layer), EGNNConv.from_layer(layer, share=False)
    assert shared.edge_mlp is layer.edge_mlp and copied.edge_mlp is not layer.edge_mlp
    assert shared.state_dict().keys() == layer.state_dict().keys()
    with torch.no_grad():
        layer.node_mlp[0].weight.add_(1.0)
    assert torch.equal(shared.node_mlp[0].weight, layer.node_mlp[0].weight)
    assert not torch.equal(copied.node_mlp[0].weight, layer.node_mlp[0].weight)
    back = EGNNLayer.from_conv(copied, share=False)
    assert back.config() == layer.config()
    layer.load_state_dict(copied.state_dict())  # the state dicts are interchangeable
    assert torch.equal(back.node_mlp[0].weight, layer.node_mlp[0].weight)


def test_data_objects_in_and_out():
    (_, _, _, _, _), batch = _ragged([4, 3])
    conv = _randomize(EGNNConv(4, 8, update_velocity=True))
    out = conv(batch)
    assert isinstance(out, Batch) and out.num_graphs == 2
    ref = conv(batch.x, batch.pos, batch.edge_index, batch.vel)
    for key, t in zip(("x", "pos", "vel"), ref, strict=True):
        assert torch.equal(out[key], t)
    assert torch.equal(batch.pos, _ragged([4, 3])[1].pos)  # input left alone


# ------------------------------------------------------------------ equivariance
class _OnRadiusGraph(nn.Module):
    """Dense (B, N, .) in and out; a radius graph built inside from the positions."""

    def __init__(self, conv: nn.Module, r: float = 1.5) -> None:
        super().__init__()
        self.conv, self.r = conv, r

    def forward(self, h, x, v):
        b, n, _ = x.shape
        flat = x.reshape(b * n, -1)
        batch = torch.arange(b).repeat_interleave(n)
        ei = radius_graph(flat, self.r, batch)
        out = self.conv(h.reshape(b * n, -1), flat, ei, v.reshape(b * n, -1))
        return tuple(t.reshape(b, n, -1) for t in out)


@pytest.mark.parametrize("d", [2, 3])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_equivariant_on_a_radius_graph(d, dtype):
    # d = 2: node projections (edge_hidden <= 2 C); d = 3: messages from gathered features
    conv = _randomize(EGNNConv(4, 8, update_velocity=True, aggregation="sum", edge_hidden=4 * d))
    assert conv.project_nodes == (d == 2)
    g = torch.Generator().manual_seed(d)
    h, x, v = (torch.randn(2, 6, k, generator=g) for k in (4, d, d))
    G = Translation(d) * Rotation(d) * Permutation()
    model = _OnRadiusGraph(conv)
    assert_equivariant(model, G, (h, x, v), KINDS_V, KINDS_V, dtype=dtype, n_samples=2)


class _AbsolutePositionInMessage(EGNNConv):
    def message(self, a_i, b_j, pos_i, pos_j, edge_attr):
        return super().message(a_i + pos_j[:, :1], b_j, pos_i, pos_j, edge_attr)


class _IndexDependentWeights(EGNNConv):
    def message(self, a_i, b_j, pos_i, pos_j, edge_attr):
        w = torch.linspace(0.5, 1.5, a_i.shape[0], dtype=a_i.dtype)[:, None]  # by edge number
        m, shift = super().message(a_i, b_j, pos_i, pos_j, edge_attr)
        return m * w, shift * w


def test_mutants_fail():
    g = torch.Generator().manual_seed(0)
    h, x, v = (torch.randn(2, 6, k, generator=g) for k in (4, 3, 3))
    G = Translation(3) * Rotation(3) * Permutation()
    absolute = _OnRadiusGraph(_randomize(_AbsolutePositionInMessage(4, 8, update_velocity=True)))
    with pytest.raises(AssertionError, match="translation"):
        assert_equivariant(absolute, G, (h, x, v), KINDS_V, KINDS_V, n_samples=1)
    indexed = _OnRadiusGraph(_randomize(_IndexDependentWeights(4, 8, update_velocity=True)))
    with pytest.raises(AssertionError, match="transposition|cycle|sample"):
        assert_equivariant(indexed, Permutation(), (h, x, v), KINDS_V, KINDS_V, n_samples=1)


# ------------------------------------------------------------------------ graphs
def test_radius_graph_matches_brute_force():
    g = torch.Generator().manual_seed(0)
    pos = 3.0 * torch.rand(300, 3, generator=g, dtype=torch.float64)
    batch = torch.randint(0, 3, (300,), generator=g)
    for loop in (False, True):
        d2 = ((pos[:, None] - pos[None]) ** 2).sum(-1)
        keep = (d2 <= 0.7**2) & (batch[:, None] == batch[None])
        if not loop:
            keep &= ~torch.eye(300, dtype=torch.bool)
        tgt, src = keep.nonzero(as_tuple=True)
        assert torch.equal(radius_graph(pos, 0.7, batch, loop=loop), torch.stack([src, tgt]))
    assert radius_graph(torch.randn(5, 2), 1e-9).shape == (2, 0)


def test_fully_connected_graph():
    ei = fully_connected_graph(5, torch.tensor([0, 0, 0, 1, 1]))
    assert ei.shape == (2, 8) and bool((ei[0] != ei[1]).all())
    assert fully_connected_graph(4).shape == (2, 12)


def test_repr_and_errors():
    conv = EGNNConv(4, 16, 8, coord_bound=1.0)
    assert repr(conv) == "EGNNConv(4, 16, 8, coord_bound=1.0)"
    x, pos, ei = torch.randn(5, 4), torch.randn(5, 3), fully_connected_graph(5)
    with pytest.raises(ValueError, match="update_velocity=True"):
        EGNNConv(4, 8)(x, pos, ei, torch.randn(5, 3))
    with pytest.raises(ValueError, match="4 features"):
        conv(x[:, :3], pos, ei)
    with pytest.raises(ValueError, match="edge_index"):
        conv(x, pos, ei[0])
    with pytest.raises(TypeError, match="edge_index"):
        conv(x, pos)
    with pytest.raises(ValueError, match="aggregation"):
        EGNNConv(4, 8, aggregation="max")
    with pytest.raises(ValueError, match="r must be positive"):
        radius_graph(pos, 0.0)


def test_docstring_examples_run():
    result = doctest.testmod(
        importlib.import_module("symnet.nn.egnn_conv"), optionflags=doctest.ELLIPSIS
    )
    assert result.failed == 0 and result.attempted > 0


def test_conversions_keep_the_dimension() -> None:
    layer = EGNNLayer(4, 8, dim=2)
    conv = EGNNConv.from_layer(layer)
    assert conv.dim == 2 and EGNNLayer.from_conv(conv).dim == 2
