"""Directed radius graphs with periodic shifts against a brute-force O(N^2) graph.

``radius_graph`` must give every ordered pair ``(source, target)`` of nodes of
one graph whose minimum-image distance is below the cutoff, once, in both
directions, with the image vector ``shift`` such that ``pos[target] -
pos[source] + shift`` is the minimum-image displacement (the convention the
layers rely on), in 2-D and 3-D, open and periodic, batched (graphs of unequal
sizes, in any node order), with and without self-loops.
"""

from __future__ import annotations

import pytest
import torch

from symnet.groups import PeriodicBox
from symnet.systems.neighbours import (
    NeighbourList,
    all_pairs,
    cell_list_pairs,
    edge_index_from_pairs,
    radius_graph,
)

F64 = torch.float64


def brute_force(pos, cutoff, box=None, batch=None, loop=False):
    """``{(source, target): shift}`` over all ordered pairs: the O(N^2) reference."""
    n = pos.shape[0]
    batch = torch.zeros(n, dtype=torch.long) if batch is None else batch
    raw = pos[None, :, :] - pos[:, None, :]  # raw[s, t] = pos[t] - pos[s]
    dx = raw if box is None else box.minimum_image(raw)
    near = (dx * dx).sum(-1) < cutoff * cutoff
    near &= batch[:, None] == batch[None, :]
    eye = torch.eye(n, dtype=torch.bool)
    near = (near & ~eye) | (eye if loop else torch.zeros_like(eye))
    shift = dx - raw
    return {(s, t): shift[s, t] for s, t in near.nonzero().tolist()}


def as_dict(edge_index, shift):
    pairs = list(zip(edge_index[0].tolist(), edge_index[1].tolist(), strict=True))
    assert len(set(pairs)) == len(pairs), "an edge is listed twice"
    return dict(zip(pairs, shift, strict=True))


def assert_same_graph(edge_index, shift, ref, pos, box):
    got = as_dict(edge_index, shift)
    assert set(got) == set(ref)
    for e, s in got.items():
        assert torch.allclose(s, ref[e], atol=1e-9, rtol=0), e
    # the convention itself: pos[target] - pos[source] + shift is the minimum image
    src, tgt = edge_index
    dx = pos[tgt] - pos[src] + shift
    raw = pos[tgt] - pos[src]
    want = raw if box is None else box.minimum_image(raw)
    atol = 1e-12 if pos.dtype == F64 else 1e-5
    assert torch.allclose(dx, want, atol=atol, rtol=0)
    if box is not None:  # integer multiples of the box lengths
        L = box.lengths.to(shift)
        assert torch.equal(shift / L, torch.round(shift / L))


def cloud(n, d, lengths, seed, dtype=F64, spill=0.0):
    g = torch.Generator().manual_seed(seed)
    L = torch.as_tensor(lengths, dtype=dtype)
    u = torch.rand(n, d, generator=g, dtype=dtype) * (1 + 2 * spill) - spill
    return u * L  # spill > 0: some positions outside [0, L) (unwrapped)


@pytest.mark.parametrize("d", [2, 3])
@pytest.mark.parametrize("periodic", [True, False])
@pytest.mark.parametrize("dtype", [F64, torch.float32])
def test_equals_brute_force(d, periodic, dtype):
    lengths = [6.0, 5.0, 4.5][:d]
    box = PeriodicBox(lengths) if periodic else None
    pos = cloud(150 if d == 3 else 80, d, lengths, seed=d, dtype=dtype, spill=0.5)
    edge_index, shift = radius_graph(pos, 1.4, box)
    assert edge_index.dtype == torch.long and shift.dtype == dtype
    ref = brute_force(pos, 1.4, box)
    assert len(ref) > 50
    if periodic:  # the test means something: some edges cross a face
        assert any(bool(s.abs().max() > 0) for s in ref.values())
    assert_same_graph(edge_index, shift, ref, pos, box)
    # sorted by target, then source
    assert torch.equal(
        edge_index[1] * 1000 + edge_index[0], (edge_index[1] * 1000 + edge_index[0]).sort().values
    )


def test_both_directions_with_opposite_shifts():
    box = PeriodicBox([5.0, 5.0, 5.0])
    pos = cloud(120, 3, [5.0] * 3, seed=3)
    got = as_dict(*radius_graph(pos, 1.5, box))
    for (s, t), shift in got.items():
        assert torch.equal(got[(t, s)], 0.0 - shift)


def test_shift_convention_across_a_face():
    box = PeriodicBox([4.0, 4.0])
    pos = torch.tensor([[0.25, 1.0], [3.75, 1.5]], dtype=F64)
    edge_index, shift = radius_graph(pos, 1.0, box)
    got = as_dict(edge_index, shift)
    # from node 0 to node 1: 3.5 in x raw, -0.5 by minimum image, so shift -4
    assert torch.equal(got[(0, 1)], torch.tensor([-4.0, 0.0], dtype=F64))
    assert torch.equal(got[(1, 0)], torch.tensor([4.0, 0.0], dtype=F64))
    assert torch.equal(pos[1] - pos[0] + got[(0, 1)], torch.tensor([-0.5, 0.5], dtype=F64))
    # without the box the two are too far apart
    assert radius_graph(pos, 1.0)[0].shape == (2, 0)


def test_wrapped_and_unwrapped_positions_give_the_same_graph():
    box = PeriodicBox([6.0, 6.0, 6.0])
    pos = cloud(200, 3, [6.0] * 3, seed=5, spill=1.0)
    e1, s1 = radius_graph(pos, 1.5, box)
    wrapped = box.wrap(pos)
    e2, s2 = radius_graph(wrapped, 1.5, box)
    assert torch.equal(e1, e2)
    assert not torch.equal(s1, s2)  # the shifts follow the positions ...
    d1 = pos[e1[1]] - pos[e1[0]] + s1
    d2 = wrapped[e2[1]] - wrapped[e2[0]] + s2
    assert torch.allclose(d1, d2, atol=1e-12, rtol=0)  # ... the displacements do not


@pytest.mark.parametrize("periodic", [True, False])
def test_batched_graphs_of_unequal_sizes_in_any_order(periodic):
    box = PeriodicBox([5.0, 5.0, 5.0]) if periodic else None
    sizes = [30, 1, 45, 30, 0, 12]  # a single node, an empty graph id
    batch = torch.cat([torch.full((n,), b) for b, n in enumerate(sizes)])
    pos = cloud(len(batch), 3, [5.0] * 3, seed=7, spill=0.3)
    perm = torch.randperm(len(batch), generator=torch.Generator().manual_seed(0))
    pos, batch = pos[perm], batch[perm]  # nodes of one graph not contiguous
    for loop in (False, True):
        edge_index, shift = radius_graph(pos, 1.6, box, batch=batch, loop=loop)
        assert (batch[edge_index[0]] == batch[edge_index[1]]).all()
        ref = brute_force(pos, 1.6, box, batch, loop)
        assert_same_graph(edge_index, shift, ref, pos, box)
    # one graph over all the nodes: strictly more edges (the graphs overlap in space)
    edges = set(as_dict(*radius_graph(pos, 1.6, box, loop=True)))
    assert edges > set(as_dict(edge_index, shift))


@pytest.mark.parametrize("periodic", [True, False])
def test_loops(periodic):
    box = PeriodicBox(4.0, dim=2) if periodic else None
    pos = cloud(40, 2, [4.0, 4.0], seed=11)
    e0, s0 = radius_graph(pos, 1.0, box)
    e1, s1 = radius_graph(pos, 1.0, box, loop=True)
    without, with_ = as_dict(e0, s0), as_dict(e1, s1)
    loops = {k: v for k, v in with_.items() if k[0] == k[1]}
    assert set(loops) == {(k, k) for k in range(40)}
    assert all(bool((v == 0).all()) for v in loops.values())
    assert {k: v for k, v in with_.items() if k[0] != k[1]}.keys() == without.keys()
    assert not any(s == t for s, t in without)


def test_few_cells_per_axis_and_cutoff_half_the_box():
    box = PeriodicBox([3.0, 4.0, 7.0])  # 1, 2 and 4 cells per axis at cutoff 1.5
    pos = cloud(60, 3, [3.0, 4.0, 7.0], seed=13, spill=0.2)
    edge_index, shift = radius_graph(pos, 1.5, box)
    assert_same_graph(edge_index, shift, brute_force(pos, 1.5, box), pos, box)


def test_edge_index_from_pairs_matches_radius_graph():
    box = PeriodicBox([6.0, 6.0, 6.0])
    q = cloud(150, 3, [6.0] * 3, seed=17)
    ref = as_dict(*radius_graph(q, 1.5, box))
    for pairs in (cell_list_pairs(q, 1.5, box), all_pairs(q, 1.5, box)):
        assert as_dict(*edge_index_from_pairs(pairs, q)).keys() == ref.keys()
        got = as_dict(*edge_index_from_pairs(pairs))
        assert all(torch.equal(got[e], ref[e]) for e in ref)
    # a Verlet list after the particles moved and were wrapped: shifts recomputed at q
    nl = NeighbourList(1.5, 0.6, box)
    nl.update(q)
    moved = box.wrap(q + 0.1)
    assert nl.update(moved) is nl.pairs and nl.builds == 1
    edge_index, shift = edge_index_from_pairs(nl.pairs, moved)
    want = box.minimum_image(moved[edge_index[1]] - moved[edge_index[0]])
    assert torch.allclose(moved[edge_index[1]] - moved[edge_index[0]] + shift, want, atol=1e-12)
    # batched lists: nodes flattened as b * N + i
    qb = torch.stack([q, box.wrap(q + 1.0)])
    pairs = cell_list_pairs(qb, 1.5, box)
    flat = qb.reshape(-1, 3)
    batch = torch.arange(2).repeat_interleave(150)
    ref = as_dict(*radius_graph(flat, 1.5, box, batch=batch))
    assert as_dict(*edge_index_from_pairs(pairs, qb)).keys() == ref.keys()
    got = as_dict(*edge_index_from_pairs(pairs, num_nodes=150, loop=True))
    assert got.keys() == ref.keys() | {(k, k) for k in range(300)}
    with pytest.raises(ValueError, match="num_nodes"):
        edge_index_from_pairs(pairs)


def test_gradients_are_not_tracked_and_inputs_untouched():
    pos = cloud(50, 3, [5.0] * 3, seed=19).requires_grad_(True)
    before = pos.detach().clone()
    edge_index, shift = radius_graph(pos, 1.5, PeriodicBox(5.0, dim=3))
    assert not shift.requires_grad and torch.equal(pos.detach(), before)


def test_empty_and_tiny_inputs():
    for n in (0, 1):
        e, s = radius_graph(torch.zeros(n, 3), 1.0, loop=True)
        assert e.shape == (2, n) and s.shape == (n, 3)
    e, s = radius_graph(torch.zeros(5, 2), 1e-9)  # coincident points are within any cutoff
    assert e.shape == (2, 20)


BOX3 = PeriodicBox(5.0, dim=3)
LONG = torch.long


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"cutoff": 3.0, "box": BOX3}, ValueError, "cutoff"),
        ({"cutoff": 0.0}, ValueError, "cutoff"),
        ({"pos": torch.zeros(2, 4, 3)}, ValueError, r"pos must have shape \(num_nodes, d\)"),
        ({"pos": torch.zeros(4, 2), "box": BOX3}, ValueError, "3-d box"),
        ({"pos": torch.zeros(4, 3, dtype=LONG)}, TypeError, "floating-point"),
        ({"pos": torch.full((4, 3), float("nan"))}, ValueError, "pos must hold finite"),
        ({"batch": torch.zeros(3, dtype=LONG)}, ValueError, "batch must have shape"),
        ({"batch": torch.zeros(4)}, TypeError, "batch must be an integer"),
        ({"batch": -torch.ones(4, dtype=LONG)}, ValueError, "batch must hold"),
        ({"box": 5.0}, TypeError, "box must be"),
    ],
)
def test_errors_name_the_argument(kwargs, error, match):
    with pytest.raises(error, match=match):
        radius_graph(**{"pos": torch.zeros(4, 3), "cutoff": 1.0, **kwargs})
