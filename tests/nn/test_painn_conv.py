"""PaiNNConv: equals PaiNNLayer on the fully connected graph, cutoff graphs, periodic shifts."""

from __future__ import annotations

import pytest
import torch
from torch_geometric.data import Data

from symnet.groups import PeriodicBox, Rotation, Translation
from symnet.nn import PaiNNConv, PaiNNLayer, fully_connected_graph, radius_graph
from symnet.systems.neighbours import radius_graph as periodic_radius_graph
from symnet.testing import SymmetryAssertionError, assert_equivariant

F64 = torch.float64
BOX = PeriodicBox([5.0, 5.0, 5.0])


def _data(b: int = 2, n: int = 6, f: int = 4, seed: int = 0, scale: float = 1.0):
    g = torch.Generator().manual_seed(seed)
    h = torch.randn(b, n, f, generator=g, dtype=F64)
    x = scale * torch.randn(b, n, 3, generator=g, dtype=F64)
    v = torch.randn(b, n, f, 3, generator=g, dtype=F64)
    return h, x, v


def _layer(**kw) -> PaiNNLayer:
    torch.manual_seed(0)
    return PaiNNLayer(4, 8, **kw).double()


@pytest.mark.parametrize("kw", [{}, {"cutoff": 1.5}, {"aggregation": "mean"}])
def test_equals_the_dense_layer_on_the_fully_connected_graph(kw):
    layer = _layer(**kw)
    conv = PaiNNConv.from_layer(layer)
    h, x, v = _data()
    ei = fully_connected_graph(6)
    for a, b in zip(layer(h, x, v), conv(h, x, ei, v), strict=True):  # leading batch axis
        torch.testing.assert_close(a, b, atol=1e-13, rtol=0)
    # one graph of B * N nodes (PyG batching) gives the same
    batch = torch.arange(2).repeat_interleave(6)
    flat = conv(h.reshape(12, 4), x.reshape(12, 3), fully_connected_graph(12, batch),
                v.reshape(12, 4, 3))  # fmt: skip
    torch.testing.assert_close(flat[1].reshape(2, 6, 4, 3), layer(h, x, v)[1], atol=1e-13, rtol=0)


def test_radius_graph_within_the_cutoff_equals_the_dense_layer_with_it():
    layer = _layer(cutoff=1.2)
    conv = PaiNNConv.from_layer(layer)
    h, x, v = _data(b=1, n=30, scale=0.8)
    ei = radius_graph(x[0], r=1.2)
    assert 0 < ei.shape[1] < 30 * 29
    for a, b in zip(layer(h, x, v), conv(h[0], x[0], ei, v[0]), strict=True):
        torch.testing.assert_close(a[0], b, atol=1e-13, rtol=0)


def test_edge_attributes_equal_the_dense_layer():
    torch.manual_seed(0)
    layer = PaiNNLayer(4, 8, cutoff=2.0, edge_features=2).double()
    conv = PaiNNConv.from_layer(layer)
    h, x, v = _data()
    attr = torch.randn(2, 6, 6, 2, dtype=F64)
    ei = fully_connected_graph(6)
    out = conv(h, x, ei, v, edge_attr=attr[:, ei[1], ei[0]])  # a_ij of edge j -> i
    for a, b in zip(layer(h, x, v, edge_attr=attr), out, strict=True):
        torch.testing.assert_close(a, b, atol=1e-13, rtol=0)
    with pytest.raises(ValueError, match="edge_attr must have shape"):
        conv(h, x, ei, v, edge_attr=attr)
    with pytest.raises(ValueError, match="pass edge_attr"):
        conv(h, x, ei, v)


def test_shared_copied_and_state_dict_parameters():
    layer = _layer()
    shared, copied = PaiNNConv.from_layer(layer), PaiNNConv.from_layer(layer, share=False)
    assert shared.U is layer.U and copied.U is not layer.U
    again = PaiNNLayer.from_conv(copied)
    again.load_state_dict(layer.state_dict())
    assert set(layer.state_dict()) == set(copied.state_dict())
    assert repr(copied) == "PaiNNConv(4, n_rbf=8)"


def test_data_objects_in_and_out():
    conv = PaiNNConv.from_layer(_layer())
    h, x, v = _data(b=1)
    data = Data(x=h[0], pos=x[0], vec=v[0], edge_index=fully_connected_graph(6))
    out = conv(data)
    ref = conv(h[0], x[0], data.edge_index, v[0])
    assert torch.equal(out.x, ref[0]) and torch.equal(out.vec, ref[1])
    assert out.pos is data.pos and data.x is not out.x


def test_conv_is_equivariant_and_an_axial_mutant_is_not():
    conv = PaiNNConv.from_layer(_layer(cutoff=2.0))
    h, x, v = _data()
    inputs = (h, x, fully_connected_graph(6), v)
    assert_equivariant(conv, inputs, n_samples=2)

    def axial(*xs):
        s, w = conv(*xs)
        return s, w + torch.linalg.cross(w[..., :1, :], w[..., 1:2, :])

    with pytest.raises(SymmetryAssertionError, match="reflection"):
        assert_equivariant(axial, conv.group, inputs, conv.in_kinds, conv.out_kinds)
    G = Translation(3) * Rotation(3)
    assert_equivariant(axial, G, inputs, conv.in_kinds, conv.out_kinds)


# ------------------------------------------------------------------ periodic
def test_periodic_shifts_give_the_open_boundary_result_on_a_contiguous_cluster():
    g = torch.Generator().manual_seed(1)
    contiguous = torch.randn(30, 3, generator=g, dtype=F64) * 0.6  # around the corner 0
    h = torch.randn(30, 4, generator=g, dtype=F64)
    v = torch.randn(30, 4, 3, generator=g, dtype=F64)
    wrapped = BOX.wrap(contiguous)
    conv = PaiNNConv.from_layer(_layer(cutoff=2.0))
    ei_open, _ = periodic_radius_graph(contiguous, 2.0)
    ei, shift = periodic_radius_graph(wrapped, 2.0, BOX)
    assert torch.equal(ei, ei_open) and (shift != 0).any(-1).sum() > 10
    ref = conv(h, contiguous, ei_open, v)
    out = conv(h, wrapped, ei, v, edge_shift=shift)
    for a, b in zip(out, ref, strict=True):
        torch.testing.assert_close(a, b, atol=1e-12, rtol=0)
    # translating the torus (positions wrapped, graph rebuilt) changes nothing
    moved = BOX.wrap(wrapped + torch.tensor([1.7, -2.3, 4.1], dtype=F64))
    ei2, shift2 = periodic_radius_graph(moved, 2.0, BOX)
    torch.testing.assert_close(conv(h, moved, ei2, v, edge_shift=shift2)[1], ref[1], atol=1e-12,
                               rtol=0)  # fmt: skip
    # without the shifts the edges across faces see vectors of length ~L
    bad = conv(h, wrapped, ei, v)
    assert (bad[1] - ref[1]).abs().max() > 1e-3


# ------------------------------------------------------------------ errors
def test_bad_inputs_name_the_argument():
    conv = PaiNNConv(4).double()
    h, x, v = _data(b=1)
    ei = fully_connected_graph(6)
    with pytest.raises(ValueError, match="vec must have shape"):
        conv(h[0], x[0], ei, v[0, :, :2])
    with pytest.raises(ValueError, match="x must have 4 features"):
        conv(h[0, :, :3], x[0], ei)
    with pytest.raises(TypeError, match="edge_index must be an integer"):
        conv(h[0], x[0], ei.double())
    with pytest.raises(ValueError, match="edge_shift must have shape"):
        conv(h[0], x[0], ei, edge_shift=torch.zeros(3, 3, dtype=F64))
    with pytest.raises(TypeError, match="Data object alone"):
        conv(Data(x=h[0], pos=x[0], edge_index=ei), x[0])
    with pytest.raises(TypeError, match="vec is torch.float32"):
        conv(h[0], x[0], ei, v[0].float())
