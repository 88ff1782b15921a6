"""PyG Data/Batch inputs: kinds per attribute, edge_index relabelled within each graph."""

from __future__ import annotations

import pytest
import torch
from e3nn import o3
from torch_geometric.data import Batch, Data
from torch_geometric.nn import GCNConv, MessagePassing, SAGEConv

from symnet.groups import Permutation, Rotation, Translation, irreps_kind
from symnet.groups.utils import default_dtype
from symnet.testing import SymmetryAssertionError, assert_equivariant, assert_invariant
from symnet.testing._structured import adapt

E3S = Translation(3) * Rotation(3) * Permutation()
KINDS = {"pos": "point", "z": "label", "x": "scalar", "edge_index": "index", "edge_attr": "global"}


def _graph(n: int, seed: int) -> Data:
    g = torch.Generator().manual_seed(seed)
    src = torch.arange(n)
    dst = (src + 1) % n  # a ring, plus one chord: not symmetric under every relabelling
    chord = torch.tensor([[0], [n // 2]])
    edge_index = torch.cat([torch.stack([src, dst]), chord], dim=1)
    edge_index = torch.cat([edge_index, edge_index.flip(0)], dim=1)
    E = edge_index.shape[1]
    return Data(
        pos=torch.randn(n, 3, generator=g),
        z=torch.randint(1, 5, (n,), generator=g),
        x=torch.randn(n, 4, generator=g),
        edge_index=edge_index,
        edge_attr=torch.rand(E, 2, generator=g),
        y=torch.randn(1, 1, generator=g),
    )


def _batch(sizes=(5, 6, 5)) -> Batch:
    return Batch.from_data_list([_graph(n, seed) for seed, n in enumerate(sizes)])


def message_passing(data):
    """Plain-torch message passing over edges: per-node vectors, per-graph energies."""
    src, dst = data.edge_index
    d = data.pos[dst] - data.pos[src]
    w = torch.exp(-(d**2).sum(-1, keepdim=True)) * data.edge_attr[:, :1]
    w = w * data.z[src, None].to(w.dtype) * data.x[src, :1]
    vec = torch.zeros_like(data.pos).index_add(0, dst, w * d)
    h = torch.zeros_like(data.x[:, :1]).index_add(0, dst, w)
    energy = torch.zeros(data.num_graphs, dtype=h.dtype).index_add(0, data.batch, h[:, 0])
    return {"vec": vec, "h": h, "energy": energy}


OUT = {"vec": "vector", "h": "scalar", "energy": "global"}


def test_batch_of_unequal_graphs_passes_and_is_split_by_node_count():
    report = assert_equivariant(message_passing, E3S, _batch(), {**KINDS, "y": "global"}, OUT)
    assert {r.name.split(":")[0] for r in report.results} == {
        "graphs of 5 nodes",
        "graphs of 6 nodes",
    }
    assert {r.output for r in report.results} == {"out['vec']", "out['h']", "out['energy']"}
    assert report.max_error < 1e-12


def test_problems_pad_edges_and_relabel_nothing_at_rest():
    batch = Batch.from_data_list([_graph(5, 0), _graph(6, 1), _graph(5, 2)])
    kinds = {**KINDS, "y": "global"}
    seen = []

    def record(data):
        seen.append(data)
        return message_passing(data)

    five, six = adapt(record, batch, kinds, OUT)
    assert (five.label, six.label) == ("graphs of 5 nodes", "graphs of 6 nodes")
    shapes = dict(zip(five.input_names, (tuple(x.shape) for x in five.inputs), strict=True))
    assert shapes == {
        "data.pos": (2, 5, 3),
        "data.z": (2, 5),
        "data.x": (2, 5, 4),
        "data.edge_index": (2, 2, 12),
        "data.edge_attr": (2, 12, 2),
        "data.y": (2, 1, 1),
    }
    # the rebuilt Batch of the untouched inputs is the original graphs 0 and 2
    five.fn(*five.inputs)
    ref = Batch.from_data_list([_graph(5, 0), _graph(5, 2)])
    for key in ("pos", "z", "x", "edge_index", "edge_attr", "y", "batch", "ptr"):
        assert torch.equal(seen[0][key], ref[key]), key


def test_edges_of_unequal_counts_are_padded_with_minus_one():
    small = _graph(5, 0)
    small.edge_index, small.edge_attr = small.edge_index[:, :4], small.edge_attr[:4]
    big = _graph(5, 1)
    small.bond, big.bond = small.edge_attr[:, 1] + 1, big.edge_attr[:, 1] + 1  # per edge, unnamed
    kinds = {**KINDS, "y": "global", "bond": "global"}

    [p] = adapt(message_passing, Batch.from_data_list([small, big]), kinds, OUT)
    index = p.inputs[p.input_names.index("data.edge_index")]
    assert index.shape == (2, 2, 12)
    assert (index[0, :, 4:] == -1).all() and (index[1] >= 0).all()
    bond = p.inputs[p.input_names.index("data.bond")]
    assert bond.shape == (2, 12) and (bond[0, 4:] == 0).all()
    assert assert_equivariant(
        message_passing, E3S, Batch.from_data_list([small, big]), kinds, OUT
    ).passed


def test_single_data_is_passed_as_data():
    seen = []

    def model(data):
        seen.append(type(data))
        return (data.pos - data.pos.mean(0)).norm(dim=-1).sum()[None]

    data = _graph(6, 3)
    kinds = {**KINDS, "y": "global"}
    report = assert_invariant(model, E3S, data, kinds)
    assert report.passed and set(seen) == {Data}


def test_edge_index_declared_constant_is_not_relabelled_and_fails():
    kinds = {**KINDS, "edge_index": "constant", "y": "global"}
    with pytest.raises(SymmetryAssertionError, match="transposition|cycle|sample"):
        assert_equivariant(message_passing, Permutation(), _batch((5, 5)), kinds, OUT)


def test_index_dependent_embedding_fails_under_permutations():
    def embedding(data):
        h = data.x + torch.arange(data.num_nodes, dtype=data.x.dtype)[:, None]  # row-dependent
        src, dst = data.edge_index
        return torch.zeros_like(h).index_add(0, dst, h[src])

    kinds = {**KINDS, "y": "global"}
    assert assert_equivariant(embedding, Rotation(3), _batch((5, 5)), kinds, "scalar").passed
    with pytest.raises(SymmetryAssertionError) as err:
        assert_equivariant(embedding, Permutation(), _batch((5, 5)), kinds, "scalar", n_samples=0)
    assert "transposition" in str(err.value) or "cycle" in str(err.value)


class Conv(torch.nn.Module):
    """A PyG convolution on data.x and data.edge_index, per-node outputs."""

    def __init__(self, conv):
        super().__init__()
        self.conv = conv

    def forward(self, data):
        return self.conv(data.x, data.edge_index)


@pytest.mark.parametrize("conv", [GCNConv(4, 3), SAGEConv(4, 3)], ids=["GCNConv", "SAGEConv"])
def test_pyg_convolutions_are_permutation_equivariant(conv):
    kinds = {"x": "scalar", "edge_index": "index"}
    batch = Batch.from_data_list(
        [Data(x=g.x, edge_index=g.edge_index) for g in _batch().to_data_list()]
    )
    report = assert_equivariant(Conv(conv), Permutation(), batch, kinds, "scalar")
    assert report.passed and report.max_error < 1e-12


class EdgeVectors(MessagePassing):
    """A MessagePassing subclass: messages along edge vectors, E(3) x S_N equivariant."""

    def __init__(self):
        super().__init__(aggr="add")
        self.lin = torch.nn.Linear(4, 1)

    def forward(self, data):
        return self.propagate(data.edge_index, x=data.x, pos=data.pos)

    def message(self, x_j, pos_i, pos_j):
        d = pos_j - pos_i
        return self.lin(x_j) * torch.exp(-(d**2).sum(-1, keepdim=True)) * d


def test_message_passing_subclass_is_e3_equivariant():
    kinds = {**KINDS, "y": "global"}
    report = assert_equivariant(EdgeVectors(), E3S, _batch(), kinds, "vector")
    assert report.passed


@pytest.mark.parametrize(
    ("kinds", "error", "match"),
    [
        (
            {**{k: v for k, v in KINDS.items() if k != "x"}, "y": "global"},
            ValueError,
            r"data\.x has no kind: kinds needs one entry per tensor of data",
        ),
        ({**KINDS, "y": "global", "vel": "vector"}, ValueError, r"kinds\['vel'\] names no entry"),
        ({**KINDS, "y": "global", "z": "global"}, ValueError, r"data\.z has one row per node"),
        ({**KINDS, "y": "global", "batch": "global"}, ValueError, r"data\.batch of a Batch"),
        ({**KINDS, "y": "point"}, ValueError, r"data\.y has kind point"),
    ],
)
def test_attribute_kind_errors_name_the_attribute(kinds, error, match):
    with pytest.raises(error, match=match):
        assert_invariant(lambda d: d.pos.sum()[None], E3S, _batch(), kinds)


def test_data_with_a_batch_vector_bad_indices_and_tuple_kinds_are_refused():
    with pytest.raises(TypeError, match="inputs is a DataBatch, so kinds must be a mapping"):
        adapt(message_passing, _batch(), ("point", "label"), None)
    flat = _graph(5, 0)
    flat.batch = torch.zeros(5, dtype=torch.long)
    with pytest.raises(ValueError, match="Batch.from_data_list"):
        adapt(message_passing, flat, {**KINDS, "y": "global"}, None)
    bad = _graph(5, 0)
    bad.edge_index = bad.edge_index.clone()
    bad.edge_index[0, 0] = 7
    with pytest.raises(ValueError, match=r"data\.edge_index of graph 0 holds node indices"):
        adapt(message_passing, bad, {**KINDS, "y": "global"}, None)


@pytest.mark.parametrize(
    ("out", "out_kinds", "match"),
    [
        (lambda d: d.edge_attr, "global", r"expected one row per node \(B\*N = 10"),
        (lambda d: d.x, "global", "one row per node .* no particle axis"),
    ],
)
def test_output_rows_that_fit_no_layout_are_refused(out, out_kinds, match):
    with pytest.raises(ValueError, match=match):
        assert_equivariant(out, E3S, _batch((5, 5)), {**KINDS, "y": "global"}, out_kinds)


def test_per_graph_point_output_gets_a_particle_axis():
    def centres(data):
        return (
            torch.zeros(data.num_graphs, 3, dtype=data.pos.dtype).index_add(0, data.batch, data.pos)
            / 5
        )

    report = assert_equivariant(centres, E3S, _batch((5, 5)), {**KINDS, "y": "global"}, "point")
    assert report.passed


class IrrepsConv(torch.nn.Module):
    """Sum of neighbours' e3nn features, then an o3.Linear: per-node irreps."""

    def __init__(self):
        super().__init__()
        with default_dtype(torch.float64):
            self.lin = o3.Linear("2x1o", "1x1o + 1x0e")

    def forward(self, data):
        src, dst = data.edge_index
        return self.lin(torch.zeros_like(data.f).index_add(0, dst, data.f[src]))


def test_per_node_e3nn_irreps_need_a_per_particle_kind():
    def ring(n, seed):
        f = torch.randn(n, 6, generator=torch.Generator().manual_seed(seed))
        ei = torch.stack([torch.arange(n), (torch.arange(n) + 1) % n])
        return Data(f=f, edge_index=ei, num_nodes=n)

    batch = Batch.from_data_list([ring(4, 0), ring(5, 1)])
    G = Rotation(3) * Permutation()
    kinds = {"f": irreps_kind("2x1o", per_particle=True), "edge_index": "index"}
    out = irreps_kind("1x1o + 1x0e", per_particle=True)
    assert assert_equivariant(IrrepsConv(), G, batch, kinds, out).passed
    with pytest.raises(ValueError, match=r"data\.f has one row per node .* per_particle=True"):
        assert_equivariant(IrrepsConv(), G, batch, {**kinds, "f": "2x1o"}, out)
    with pytest.raises(ValueError, match=r"output out has one row per node .* no particle axis"):
        assert_equivariant(IrrepsConv(), G, batch, kinds, "1x1o + 1x0e")
