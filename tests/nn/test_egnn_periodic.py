"""EGNNConv on periodic systems: minimum-image relative positions through ``edge_shift``.

With the image shifts of :func:`symnet.systems.neighbours.radius_graph` the
layer sees ``pos_i - pos_j + shift``, the minimum-image displacement: a model
on it equals the open-boundary model on the unwrapped (contiguous)
configuration, does not care whether positions are wrapped, and passes the
symmetry assertions under translations of the torus (finite elements wrap the
positions) and permutations, in float64 at round-off; without the shifts the
same assertions fail.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch_geometric.data import Data

from symnet.groups import PeriodicBox, Permutation, Translation
from symnet.nn import EGNNConv
from symnet.systems.neighbours import radius_graph
from symnet.testing import SymmetryAssertionError, assert_equivariant, assert_invariant

F64 = torch.float64
BOX = PeriodicBox([5.0, 5.0, 5.0])
CUTOFF = 2.0


class PeriodicModel(nn.Module):
    """Two EGNNConv layers on the periodic radius graph of each configuration.

    ``forward(x, pos)`` with ``x`` ``(B, N, C)``, ``pos`` ``(B, N, 3)``
    rebuilds the graph (and the shifts) from ``pos``; returns the energy
    ``(B,)`` (sum of node features), the node features and the wrapped
    output positions.
    """

    def __init__(self, shifts: bool = True, box: PeriodicBox = BOX) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.convs = nn.ModuleList([EGNNConv(4, 16), EGNNConv(4, 16)]).double()
        self.shifts, self.box = shifts, box

    def forward(self, x, pos):
        B, N, d = pos.shape
        flat = pos.reshape(B * N, d)
        batch = torch.arange(B).repeat_interleave(N)
        edge_index, shift = radius_graph(flat, CUTOFF, self.box, batch=batch)
        h, p = x.reshape(B * N, -1), flat
        for conv in self.convs:
            h, p = conv(h, p, edge_index, edge_shift=shift if self.shifts else None)
        energy = h.new_zeros(B).index_add(0, batch, h.sum(-1))
        return energy, h.reshape(B, N, -1), self.box.wrap(p).reshape(B, N, d)


def energy(model):
    return lambda x, pos: model(x, pos)[0]


def configuration(B=2, N=40, seed=0):
    g = torch.Generator().manual_seed(seed)
    pos = torch.rand(B, N, 3, generator=g, dtype=F64) * BOX.lengths
    x = torch.randn(B, N, 4, generator=g, dtype=F64)
    return x, pos


def crossing_edges(pos):
    """Number of edges of the graph of ``pos`` (one configuration) that cross a face."""
    _, shift = radius_graph(pos, CUTOFF, BOX)
    return int((shift != 0).any(-1).sum())


def test_the_configuration_has_edges_across_faces():
    _, pos = configuration()
    assert crossing_edges(pos[0]) > 20


def test_equals_the_open_boundary_model_on_the_contiguous_cluster():
    """A cluster split by the faces, with shifts == the same cluster in open space."""
    g = torch.Generator().manual_seed(1)
    contiguous = torch.randn(30, 3, generator=g, dtype=F64) * 0.6  # around the corner 0
    x = torch.randn(30, 4, generator=g, dtype=F64)
    wrapped = BOX.wrap(contiguous)
    assert crossing_edges(wrapped) > 10
    conv = EGNNConv(4, 16).double()
    ei_open, _ = radius_graph(contiguous, CUTOFF)
    ei, shift = radius_graph(wrapped, CUTOFF, BOX)
    assert torch.equal(ei, ei_open)
    h_ref, p_ref = conv(x, contiguous, ei_open)
    h, p = conv(x, wrapped, ei, edge_shift=shift)
    torch.testing.assert_close(h, h_ref, atol=1e-12, rtol=0)
    # positions updated in unwrapped coordinates: those of the input plus the same update
    torch.testing.assert_close(p - wrapped, p_ref - contiguous, atol=1e-12, rtol=0)
    # without the shifts the edges across faces see vectors of length ~L
    h_bad, _ = conv(x, wrapped, ei)
    assert (h_bad - h_ref).abs().max() > 1e-3


def test_wrapped_and_unwrapped_positions_give_the_same_output():
    x, pos = configuration(B=1)
    unwrapped = pos + 5.0 * torch.randint(-2, 3, pos.shape, generator=torch.Generator())
    model = PeriodicModel()
    e1, h1, p1 = model(x, pos)
    e2, h2, p2 = model(x, unwrapped)
    torch.testing.assert_close(e1, e2, atol=1e-12, rtol=0)
    torch.testing.assert_close(h1, h2, atol=1e-12, rtol=0)
    diff = BOX.minimum_image(p1 - p2)
    assert diff.abs().max() < 1e-12


def test_assert_invariant_passes_under_periodic_translations():
    x, pos = configuration()
    report = assert_invariant(
        energy(PeriodicModel()), Translation(3, box=BOX), (x, pos), ("scalar", "point")
    )
    assert report.passed and report.max_error < 1e-12


def test_assert_equivariant_passes_under_periodic_translations():
    x, pos = configuration()
    report = assert_equivariant(
        PeriodicModel(),
        Translation(3, box=BOX),
        (x, pos),
        ("scalar", "point"),
        ("global", "scalar", "point"),
    )
    assert report.passed and report.max_error < 1e-12


def test_without_shifts_the_translation_check_fails():
    x, pos = configuration()
    group = Translation(3, box=BOX)
    with pytest.raises(SymmetryAssertionError) as err:
        assert_invariant(energy(PeriodicModel(shifts=False)), group, (x, pos), ("scalar", "point"))
    message = str(err.value)
    assert "not invariant under Translation(3, box=PeriodicBox([5.0, 5.0, 5.0]))" in message
    assert "FAIL" in message
    with pytest.raises(SymmetryAssertionError, match=r"Translation\(3, box="):
        assert_equivariant(
            PeriodicModel(shifts=False),
            group,
            (x, pos),
            ("scalar", "point"),
            ("global", "scalar", "point"),
        )


def test_permutations_and_periodic_translations_together():
    x, pos = configuration()
    group = Translation(3, box=BOX) * Permutation()
    report = assert_invariant(energy(PeriodicModel()), group, (x, pos), ("scalar", "point"))
    assert report.passed and report.max_error < 1e-12
    report = assert_equivariant(
        PeriodicModel(), Permutation(), (x, pos), ("scalar", "point"), ("global", "scalar", "point")
    )
    assert report.passed and report.max_error < 1e-12


def periodic_data(seed=2):
    x, pos = configuration(B=1, N=24, seed=seed)
    edge_index, shift = radius_graph(pos[0], CUTOFF, BOX)
    return Data(x=x[0], pos=pos[0], edge_index=edge_index, edge_shift=shift)


DATA_KINDS = {"x": "scalar", "pos": "point", "edge_index": "index", "edge_shift": "global"}


def two_layers(data):
    torch.manual_seed(0)
    convs = [EGNNConv(4, 8).double(), EGNNConv(4, 8).double()]
    for conv in convs:
        data = conv(data)
    return data.x


def test_data_with_edge_shift_is_permutation_equivariant():
    data = periodic_data()
    assert int((data.edge_shift != 0).any(-1).sum()) > 0
    report = assert_equivariant(two_layers, Permutation(), data, DATA_KINDS, "scalar")
    assert report.passed and report.max_error < 1e-12
    # the check has teeth: edge_index not relabelled
    kinds = {**DATA_KINDS, "edge_index": "constant"}
    with pytest.raises(SymmetryAssertionError):
        assert_equivariant(two_layers, Permutation(), data, kinds, "scalar")


def test_data_edge_shift_attribute_is_used():
    data = periodic_data()
    conv = EGNNConv(4, 8).double()
    out = conv(data)
    h, p = conv(data.x, data.pos, data.edge_index, edge_shift=data.edge_shift)
    assert torch.equal(out.x, h) and torch.equal(out.pos, p)
    assert torch.equal(out.edge_shift, data.edge_shift)
    plain = conv(Data(x=data.x, pos=data.pos, edge_index=data.edge_index))
    assert not torch.allclose(plain.x, h)
    with pytest.raises(TypeError, match="Data object alone"):
        conv(data, edge_shift=data.edge_shift)


def test_zero_shifts_change_nothing_and_shifts_are_constants():
    x, pos = configuration(B=1)
    conv = EGNNConv(4, 16).double()
    ei, _ = radius_graph(pos[0], CUTOFF)
    ref = conv(x[0], pos[0], ei)
    out = conv(x[0], pos[0], ei, edge_shift=torch.zeros(ei.shape[1], 3, dtype=F64))
    assert all(torch.equal(a, b) for a, b in zip(ref, out, strict=True))
    shift = torch.randn(ei.shape[1], 3, dtype=F64, requires_grad=True)
    h, _ = conv(x[0], pos[0], ei, edge_shift=shift)
    assert torch.autograd.grad(h.sum(), shift, allow_unused=True)[0] is None


def test_edge_shift_with_leading_batch_axes_and_velocities():
    x, pos = configuration(B=3)
    ei, shift = radius_graph(pos[0], CUTOFF, BOX)
    conv = EGNNConv(4, 16, update_velocity=True).double()
    vel = torch.randn_like(pos)
    out = conv(x, pos, ei, vel, edge_shift=shift)  # one graph, three copies
    for b in range(3):
        one = conv(x[b], pos[b], ei, vel[b], edge_shift=shift)
        assert all(torch.allclose(o[b], e, atol=1e-12) for o, e in zip(out, one, strict=True))
    per_copy = conv(x, pos, ei, vel, edge_shift=shift.expand(3, -1, -1))
    assert all(torch.allclose(a, b, atol=1e-12) for a, b in zip(out, per_copy, strict=True))


@pytest.mark.parametrize(
    ("shift", "error", "match"),
    [
        (torch.zeros(5, 3, dtype=F64), ValueError, "edge_shift must have shape"),
        ("wrong d", ValueError, "edge_shift must have shape"),
        ("float32", TypeError, "edge_shift"),
    ],
)
def test_edge_shift_errors_name_it(shift, error, match):
    x, pos = configuration(B=1)
    ei, good = radius_graph(pos[0], CUTOFF, BOX)
    if isinstance(shift, str):
        shift = good[:, :2] if shift == "wrong d" else good.float()
    with pytest.raises(error, match=match):
        EGNNConv(4, 16).double()(x[0], pos[0], ei, edge_shift=shift)
