"""Neighbour lists: cell lists and Verlet lists against the O(N^2) reference.

The cell list must find exactly the pairs of ``all_pairs`` (as sets of
``(batch, i, j)``), once each, in 2-D and 3-D, open and periodic, with 3 or
fewer cells per axis, particles on faces and unwrapped positions; energies and
autograd forces over it equal the all-pairs ones to round-off; the Verlet list
rebuilds exactly when a particle moved more than half the skin and never misses
a pair in between; the work grows linearly in N at fixed density.
"""

from __future__ import annotations

import itertools
import math

import pytest
import torch

import symnet
from symnet.groups import PeriodicBox
from symnet.systems.neighbours import (
    NeighbourList,
    Pairs,
    all_pairs,
    cell_list_pairs,
    pair_energy,
)

F64 = torch.float64


def rows(p: Pairs) -> list[tuple[int, int, int]]:
    """The pairs ``(batch, i, j)`` in list order."""
    b = p.batch.tolist() if p.batch is not None else [0] * len(p)
    return list(zip(b, p.i.tolist(), p.j.tolist(), strict=True))


def key(p: Pairs) -> set[tuple[int, int, int]]:
    """The pair set ``{(batch, i, j)}``; fails on a pair listed twice or with i >= j."""
    listed = rows(p)
    assert len(listed) == len(set(listed)), "a pair is listed twice"
    assert all(i < j for _, i, j in listed), "not a half list (i < j)"
    return set(listed)


def lj(r: torch.Tensor) -> torch.Tensor:
    s6 = r**-6
    return 4.0 * (s6 * s6 - s6)


def uniform(shape, lengths, seed, dtype=F64) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(shape, generator=g, dtype=dtype) * torch.tensor(lengths, dtype=dtype)


def lattice(N: int, L: float, seed: int, jitter: float = 0.1) -> torch.Tensor:
    """A jittered simple cubic lattice of N points in a cubic box of side L (no overlaps)."""
    m = math.ceil(N ** (1 / 3))
    grid = torch.stack(torch.meshgrid(*[torch.arange(m)] * 3, indexing="ij"), -1)
    grid = grid.reshape(-1, 3)[:N].to(F64)
    g = torch.Generator().manual_seed(seed)
    return (grid + 0.5 + jitter * torch.randn(N, 3, generator=g, dtype=F64)) * (L / m)


def check_shifts(q: torch.Tensor, p: Pairs, cutoff: float | None = None) -> None:
    """``q[j] - q[i] + shift`` is the minimum-image displacement (of the pairs closer
    than ``cutoff`` if given); shifts are multiples of L."""
    d = q.shape[-1]
    flat = q.reshape(-1, d)
    base = 0 if p.batch is None else p.batch * q.shape[-2]
    dx = flat[p.j + base] - flat[p.i + base] + p.shift
    exact = p.displacements(q)
    if cutoff is not None:
        close = exact.norm(dim=-1) < cutoff
        assert bool(close.any())
        dx, exact = dx[close], exact[close]
    torch.testing.assert_close(dx, exact, rtol=0, atol=1e-12)
    if p.box is None:
        assert not p.shift.any()
    else:
        turns = p.shift / p.box.lengths.to(p.shift)
        assert torch.equal(turns, turns.round())
        half = 0.5 * p.box.lengths.to(dx)
        assert bool(((dx >= -half) & (dx <= half)).all())


# ---------------------------------------------------------------- pair sets

#: (name, lengths in units of the cutoff, particles per unit cutoff^d) per case:
#: cells per axis are floor(lengths), so 3.05 -> 3 cells, 2.5 -> 2, 2.0 -> 1.
CASES = [
    ("dense", [7.3, 6.1, 8.4], 2.0),
    ("dilute", [9.2, 7.7, 6.3], 0.05),
    ("three_cells", [3.05, 3.05, 3.05], 1.5),
    ("two_cells", [2.5, 2.5, 2.5], 1.5),
    ("one_cell", [2.0, 2.0, 2.0], 1.5),
    ("mixed", [2.0, 3.4, 2.6], 1.5),
    ("long_thin", [11.5, 2.2, 3.1], 1.0),
]


@pytest.mark.parametrize("periodic", [True, False], ids=["periodic", "open"])
@pytest.mark.parametrize("dim", [2, 3])
@pytest.mark.parametrize(("name", "lengths", "density"), CASES, ids=[c[0] for c in CASES])
def test_cell_list_finds_exactly_the_all_pairs_set(name, lengths, density, dim, periodic):
    cutoff = 1.3
    L = [x * cutoff for x in lengths[:dim]]
    N = max(2, round(density * math.prod(lengths[:dim])))
    box = PeriodicBox(L) if periodic else None
    for seed, batch in itertools.product(range(3), [None, 3]):
        shape = (N, dim) if batch is None else (batch, N, dim)
        q = uniform(shape, L, seed)
        fast, slow = cell_list_pairs(q, cutoff, box), all_pairs(q, cutoff, box)
        assert key(fast) == key(slow)
        assert (fast.batch is None) == (batch is None)
        check_shifts(q, fast)
        assert fast.candidates <= slow.candidates
    # the reference itself: every pair it lists is closer than the cutoff, and
    # every pair it leaves out is not (distances over all images, without minimum_image)
    q = uniform((N, dim), L, 7)
    listed = key(all_pairs(q, cutoff, box))
    images = torch.zeros(1, dim, dtype=F64)
    if periodic:
        turns = torch.tensor(list(itertools.product([-1, 0, 1], repeat=dim)), dtype=F64)
        images = turns * torch.tensor(L, dtype=F64)
    diff = q[None, :, None, :] - q[:, None, None, :] + images  # (N, N, images, d): q_j - q_i + s
    r = diff.norm(dim=-1).amin(-1)
    i, j = torch.triu_indices(N, N, 1)
    close = r[i, j] < cutoff
    assert listed == {(0, a, b) for a, b in zip(i[close].tolist(), j[close].tolist(), strict=True)}
    far = r[i, j][~close]
    assert far.numel() == 0 or float(far.min()) > cutoff * (1 - 1e-12)


@pytest.mark.parametrize("dim", [2, 3])
def test_particles_on_faces_and_unwrapped_positions(dim):
    # points on a lattice of spacing cutoff / 2: many exactly on cell faces and box faces
    cutoff = 1.0
    L = [3.0, 2.5, 4.0][:dim]
    box = PeriodicBox(L)
    axes = [torch.arange(0.0, length + 1e-9, 0.5, dtype=F64) for length in L]
    q = torch.stack(torch.meshgrid(*axes, indexing="ij"), -1).reshape(-1, dim)  # includes x = L
    fast = cell_list_pairs(q, cutoff, box)
    assert key(fast) == key(all_pairs(q, cutoff, box))
    check_shifts(q, fast)
    # pairs at exactly the cutoff are out (strict <), the ones just inside are in
    assert all(float(r) < cutoff for r in fast.distances(q))
    # unwrapped: the same particles, each moved by a random number of box lengths
    g = torch.Generator().manual_seed(0)
    turns = torch.randint(-3, 4, q.shape, generator=g).to(F64)
    far = q + turns * torch.tensor(L, dtype=F64)
    assert key(cell_list_pairs(far, cutoff, box)) == key(fast)
    for pairs in (cell_list_pairs(far, cutoff, box), all_pairs(far, cutoff, box)):
        check_shifts(far, pairs)
        mine = dict(zip(rows(pairs), pairs.distances(far).tolist(), strict=True))
        theirs = dict(zip(rows(fast), fast.distances(q).tolist(), strict=True))
        assert mine.keys() == theirs.keys()
        assert all(abs(mine[k] - theirs[k]) < 1e-12 for k in mine)


def test_open_boundaries_far_apart_clusters_use_little_memory():
    # bounding box 1e9 cutoffs wide: only occupied cells are stored
    g = torch.Generator().manual_seed(0)
    a = torch.rand(50, 3, generator=g, dtype=F64) * 3.0
    q = torch.cat([a, a[:20] + 1e9, a[:10] - 1e9])
    fast = cell_list_pairs(q, 1.0)
    assert key(fast) == key(all_pairs(q, 1.0))
    assert len(fast) > 0


def test_float32_positions_give_the_reference_set():
    box = PeriodicBox([9.0, 7.0, 8.0])
    q = uniform((2, 400, 3), [9.0, 7.0, 8.0], 3, dtype=torch.float32) * 3 - 7.0
    fast = cell_list_pairs(q, 2.0, box)
    assert fast.shift.dtype == torch.float32
    assert key(fast) == key(all_pairs(q, 2.0, box))


def test_edge_cases_empty_single_and_coincident():
    box = PeriodicBox(4.0, dim=3)
    for q in (torch.zeros(0, 3, dtype=F64), torch.zeros(1, 3, dtype=F64)):
        for build in (cell_list_pairs, all_pairs):
            p = build(q, 1.0, box)
            assert len(p) == 0 and p.shift.shape == (0, 3)
            assert pair_energy(q, p, lj, 1.0).shape == ()
    q = torch.full((4, 3), 1.5, dtype=F64)  # all on one point: 6 pairs at r = 0
    assert key(cell_list_pairs(q, 1.0, box)) == key(all_pairs(q, 1.0, box))
    assert len(cell_list_pairs(q, 1.0, box)) == 6
    assert len(cell_list_pairs(torch.zeros(2, 0, 3), 1.0).i) == 0


def test_inputs_are_not_modified_and_errors_name_the_argument():
    box = PeriodicBox([4.0, 6.0])
    q = uniform((30, 2), [4.0, 6.0], 0)
    before = q.clone()
    cell_list_pairs(q, 1.5, box)
    all_pairs(q, 1.5, box)
    assert torch.equal(q, before)
    with pytest.raises(ValueError, match="cutoff"):
        cell_list_pairs(q, 2.5, box)  # > min(L) / 2
    with pytest.raises(ValueError, match="cutoff"):
        all_pairs(q, -1.0)
    with pytest.raises(ValueError, match=r"q must have shape"):
        cell_list_pairs(torch.zeros(5, 3), 1.0, box)
    with pytest.raises(ValueError, match=r"q must have shape"):
        cell_list_pairs(torch.zeros(5), 1.0)
    with pytest.raises(TypeError, match="q must be"):
        cell_list_pairs([[0.0, 0.0]], 1.0)
    with pytest.raises(TypeError, match="box must be"):
        cell_list_pairs(q, 1.0, box=[4.0, 6.0])
    with pytest.raises(ValueError, match="finite"):
        cell_list_pairs(torch.tensor([[0.0, float("nan")], [1.0, 1.0]]), 1.0)
    pairs = cell_list_pairs(q, 1.5, box)
    with pytest.raises(ValueError, match=r"\(B, N, d\)|\(N, d\)"):
        pairs.displacements(q.unsqueeze(0))
    with pytest.raises(ValueError, match="cutoff must be at most"):
        pair_energy(q, pairs, lj, 1.6)
    with pytest.raises(ValueError, match="skin"):
        NeighbourList(1.0, -0.1)
    with pytest.raises(ValueError, match="cutoff \\+ skin"):
        NeighbourList(1.8, 0.3, box)
    with pytest.raises(ValueError, match="shape"):
        Pairs(torch.tensor([0]), torch.tensor([1, 2]), None, torch.zeros(1, 2))


# ---------------------------------------------------------- energies and forces


def energy_and_forces(q, pairs, cutoff):
    x = q.clone().requires_grad_(True)
    E = pair_energy(x, pairs, lj, cutoff)
    (grad,) = torch.autograd.grad(E.sum(), x)
    return E.detach(), -grad


@pytest.mark.parametrize("periodic", [True, False], ids=["periodic", "open"])
def test_energy_and_forces_equal_all_pairs_for_2000_lj_particles(periodic):
    N, rho, cutoff = 2000, 0.8442, 2.5
    L = (N / rho) ** (1 / 3)
    box = PeriodicBox(L, dim=3) if periodic else None
    q = lattice(N, L, seed=1)
    if periodic:
        q = q + torch.tensor([2.0, -1.0, 0.0], dtype=F64) * L  # unwrapped
    fast, slow = cell_list_pairs(q, cutoff, box), all_pairs(q, cutoff, box)
    assert key(fast) == key(slow)
    assert fast.candidates < slow.candidates / 4  # the cell list does much less work
    E1, F1 = energy_and_forces(q, fast, cutoff)
    E2, F2 = energy_and_forces(q, slow, cutoff)
    assert E1.shape == ()
    torch.testing.assert_close(E1, E2, rtol=1e-12, atol=0)
    torch.testing.assert_close(F1, F2, rtol=1e-10, atol=1e-10 * float(F2.abs().max()))
    # momentum: the pair forces cancel (translation invariance, periodic or not)
    assert float(F1.sum(0).abs().max()) < 1e-9 * float(F1.abs().max())
    # a closed-form force check on a few particles: F_i = sum_j phi'(r) dx / r
    dx = slow.displacements(q)
    r = dx.norm(dim=-1)
    dphi = 4.0 * (-12 * r**-13 + 6 * r**-7)
    contrib = (dphi / r).unsqueeze(-1) * dx  # force on i from j is +phi'(r) dx/r (dx = qj - qi)
    ref = torch.zeros_like(q).index_add(0, slow.i, contrib).index_add(0, slow.j, -contrib)
    torch.testing.assert_close(F1, ref, rtol=1e-10, atol=1e-10 * float(ref.abs().max()))


def test_batched_energy_is_per_configuration():
    box = PeriodicBox([6.0, 7.0])
    q = uniform((3, 60, 2), [6.0, 7.0], 5) * 0.999 + 0.01
    pairs = cell_list_pairs(q, 1.5, box)

    def soft(r):
        return (1.5 - r) ** 2

    E = pair_energy(q, pairs, soft, 1.5)
    assert E.shape == (3,)
    for b in range(3):
        single = cell_list_pairs(q[b], 1.5, box)
        torch.testing.assert_close(E[b], pair_energy(q[b], single, soft, 1.5), rtol=1e-12, atol=0)
    E1, F1 = energy_and_forces(q, pairs, 1.5)
    E2, F2 = energy_and_forces(q, all_pairs(q, 1.5, box), 1.5)
    torch.testing.assert_close(E1, E2, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(F1, F2, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("batched", [False, True])
def test_pair_energy_in_chunks_equals_one_pass(monkeypatch, batched):
    import symnet.systems.neighbours.pairs as pairs_module

    box = PeriodicBox(9.0, dim=3)
    q = lattice(400, 9.0, seed=3, jitter=0.15)
    if batched:
        q = torch.stack([q, lattice(400, 9.0, seed=4, jitter=0.15)])
    pairs = cell_list_pairs(q, 3.0, box)
    assert len(pairs) > 4000
    E1, F1 = energy_and_forces(q, pairs, 2.5)
    monkeypatch.setattr(pairs_module, "_CHUNK", 1000)
    E2, F2 = energy_and_forces(q, pairs, 2.5)
    torch.testing.assert_close(E1, E2, rtol=1e-12, atol=0)
    torch.testing.assert_close(F1, F2, rtol=1e-12, atol=1e-12)
    E3, F3 = energy_and_forces(q, all_pairs(q, 2.5, box), 2.5)
    torch.testing.assert_close(E2, E3, rtol=1e-12, atol=0)
    torch.testing.assert_close(F2, F3, rtol=1e-10, atol=1e-10)


def test_pair_energy_masks_pairs_beyond_the_cutoff():
    box = PeriodicBox(8.0, dim=3)
    q = lattice(150, 8.0, seed=2, jitter=0.2)
    wide = cell_list_pairs(q, 3.0, box)
    exact = cell_list_pairs(q, 2.0, box)
    assert len(wide) > len(exact)
    E1, F1 = energy_and_forces(q, wide, 2.0)
    E2, F2 = energy_and_forces(q, exact, 2.0)
    torch.testing.assert_close(E1, E2, rtol=1e-12, atol=0)
    torch.testing.assert_close(F1, F2, rtol=1e-12, atol=1e-12)
    # phi is NaN beyond the cutoff: masked pairs must not leak it into values or gradients
    x = q.clone().requires_grad_(True)
    E4 = pair_energy(x, wide, lambda r: torch.where(r > 2.0, torch.nan, lj(r)), 2.0)
    (g4,) = torch.autograd.grad(E4, x)
    torch.testing.assert_close(E4.detach(), E1)
    torch.testing.assert_close(-g4, F1)


# ---------------------------------------------------------------- Verlet list


def test_neighbour_list_rebuilds_exactly_when_a_particle_moved_half_the_skin():
    box = PeriodicBox([9.0, 10.0, 11.0])
    q = uniform((300, 3), [9.0, 10.0, 11.0], 4)
    nl = NeighbourList(cutoff=2.5, skin=0.4, box=box)
    assert nl.pairs is None and nl.builds == 0
    nl.update(q)
    assert nl.builds == 1
    direction = torch.tensor([0.6, 0.0, 0.8], dtype=F64)
    for step, builds in [(0.19, 1), (0.199, 1), (0.201, 2)]:
        moved = q.clone()
        moved[17] += step * direction
        nl.update(moved)
        assert nl.builds == builds, step
    # a particle that crosses a face and is wrapped moved little (minimum image)
    edge = q.clone()
    edge[3] = torch.tensor([8.95, 5.0, 5.0], dtype=F64)
    nl.update(edge)
    b = nl.builds
    crossed = edge.clone()
    crossed[3, 0] = 0.05  # moved 0.1 through the face x = 9
    pairs = nl.update(crossed)
    assert nl.builds == b
    check_shifts(crossed, pairs)  # shifts recomputed for the wrapped particle
    assert key(all_pairs(crossed, 2.5, box)) <= key(pairs)
    # positions unwrapped by whole box lengths are the same configuration
    nl.update(crossed + torch.tensor([9.0, -20.0, 33.0], dtype=F64))
    assert nl.builds == b
    # a change of shape rebuilds
    nl.update(crossed[:-1])
    assert nl.builds == b + 1


@pytest.mark.parametrize("periodic", [True, False], ids=["periodic", "open"])
def test_skin_guarantee_every_pair_within_the_cutoff_is_kept_between_rebuilds(periodic):
    L = [8.0, 9.0, 7.5]
    box = PeriodicBox(L) if periodic else None
    cutoff, skin = 2.0, 0.6
    q = uniform((250, 3), L, 6)
    nl = NeighbourList(cutoff, skin, box)
    nl.update(q)
    g = torch.Generator().manual_seed(0)
    start = u = q.clone()  # u: unwrapped trajectory
    for _ in range(12):
        # every particle drifts away from its start position, each by less than skin / 2
        step = torch.randn(q.shape, generator=g, dtype=F64)
        u = u + 0.06 * step / step.norm(dim=-1, keepdim=True)
        moved = u - start
        limit = 0.499 * skin
        scale = (limit / moved.norm(dim=-1, keepdim=True)).clamp(max=1.0)
        u = start + moved * scale
        q = box.wrap(u) if periodic else u
        pairs = nl.update(q)
        exact = all_pairs(q, cutoff, box)
        assert key(exact) <= key(pairs)  # no pair within the cutoff is lost
        check_shifts(q, pairs, cutoff)  # shifts follow the wrapped particles
        E1, F1 = energy_and_forces(q, pairs, cutoff)
        E2, F2 = energy_and_forces(q, exact, cutoff)
        torch.testing.assert_close(E1, E2, rtol=1e-12, atol=0)
        torch.testing.assert_close(F1, F2, rtol=1e-10, atol=1e-9)
    assert nl.builds == 1  # nobody moved more than skin / 2: never rebuilt
    q = q.clone()
    q[0] = start[0] + torch.tensor([0.31, 0.0, 0.0], dtype=F64)
    nl.update(q)
    assert nl.builds == 2


def test_batched_neighbour_list():
    box = PeriodicBox(7.0, dim=2)
    q = uniform((2, 80, 2), [7.0, 7.0], 8)
    nl = NeighbourList(1.5, 0.5, box)
    pairs = nl.update(q)
    assert pairs.batch is not None and key(all_pairs(q, 1.5, box)) <= key(pairs)
    assert key(pairs) == key(all_pairs(q, 2.0, box))
    moved = q.clone()
    moved[1, 5] += torch.tensor([0.2, 0.0], dtype=F64)
    nl.update(moved)
    assert nl.builds == 1
    moved[1, 5] += torch.tensor([0.1, 0.0], dtype=F64)  # 0.3 > skin / 2 in configuration 1
    pairs = nl.update(moved)
    assert nl.builds == 2
    assert key(pairs) == key(all_pairs(moved, 2.0, box))
    assert pair_energy(moved, pairs, lj, 1.5).shape == (2,)


def test_subpackage_is_exported():
    assert symnet.systems.neighbours.NeighbourList is NeighbourList
    assert set(symnet.systems.neighbours.__all__) == {
        "NeighbourList",
        "Pairs",
        "all_pairs",
        "cell_list_pairs",
        "edge_index_from_pairs",
        "pair_energy",
        "radius_graph",
    }


# ---------------------------------------------------------------- scaling


@pytest.mark.slow
@pytest.mark.parametrize("periodic", [True, False], ids=["periodic", "open"])
def test_work_grows_linearly_with_n_at_fixed_density(periodic):
    """The number of distances evaluated is O(N) (not O(N^2)) at fixed density."""
    cutoff, rho = 1.0, 0.8
    sizes, work = [], []
    for cells in (4, 8, 16, 28):
        L = cells * cutoff * 1.001  # cells of the same side for every N
        N = round(rho * L**3)
        box = PeriodicBox(L, dim=3) if periodic else None
        q = uniform((N, 3), [L] * 3, cells)
        p = cell_list_pairs(q, cutoff, box)
        sizes.append(N)
        work.append(p.candidates)
    per_particle = [w / n for w, n in zip(work, sizes, strict=True)]
    # the expected candidates per particle are 3^3 * rho * side^3 / 2 (fewer without a box)
    expected = 27 * rho * (1.001 * cutoff) ** 3 / 2
    assert all(0.5 * expected < c < 1.1 * expected for c in per_particle), per_particle
    logs = [(math.log(n), math.log(w)) for n, w in zip(sizes, work, strict=True)]
    mx = sum(a for a, _ in logs) / len(logs)
    my = sum(b for _, b in logs) / len(logs)
    slope = sum((a - mx) * (b - my) for a, b in logs) / sum((a - mx) ** 2 for a, _ in logs)
    assert 0.95 < slope < 1.1, slope
    assert work[-1] < sizes[-1] ** 2 / 2 / 100  # far below all pairs


def test_shifted_displacements_are_exact_within_the_cutoff_between_rebuilds():
    """``q[j] - q[i] + shift`` equals the minimum image for every pair inside the cutoff."""
    gen = torch.Generator().manual_seed(3)
    box = PeriodicBox([7.0, 7.5, 8.0])
    q = box.wrap(8.0 * torch.rand(2, 300, 3, dtype=torch.float64, generator=gen))
    nl = NeighbourList(cutoff=2.0, skin=0.6, box=box)
    nl.update(q)
    for step in range(10):
        q = q + 0.02 * torch.randn(q.shape, dtype=q.dtype, generator=gen)
        if step % 3 == 0:  # some particles jump by a box length (wrapping): shifts follow
            q[:, ::7] = box.wrap(q[:, ::7])
        pairs = nl.update(q)
        exact, fast = pairs.displacements(q), pairs.shifted_displacements(q)
        inside = (exact * exact).sum(-1) < 2.0**2
        assert inside.sum() > 100
        assert torch.allclose(fast[inside], exact[inside], atol=1e-12, rtol=0)
    assert nl.builds == 1  # the moves stayed within skin / 2: no rebuild hid a bug


def test_a_user_potential_through_a_neighbour_list_works_under_vmap():
    """``NeighbourList.update`` inside ``torch.func.vmap`` (the checker's per-sample probe).

    Regression: the list's rebuild decision read the values of a batched tensor
    and vmap refused it, so no user potential built on it could be checked.
    """
    from torch.func import grad, vmap

    box = PeriodicBox([9.0, 7.0])
    gen = torch.Generator().manual_seed(4)
    q = box.wrap(9.0 * torch.rand(3, 40, 2, dtype=F64, generator=gen))
    nl = NeighbourList(cutoff=1.5, skin=0.3, box=box)

    def phi(r: torch.Tensor) -> torch.Tensor:
        return (1.5 - r) ** 3

    def energy(x: torch.Tensor) -> torch.Tensor:
        return pair_energy(x, nl.update(x), phi, cutoff=1.5)

    per_sample = vmap(grad(energy))(q)
    reference = torch.stack(
        [torch.func.grad(lambda x: pair_energy(x, all_pairs(x, 1.5, box), phi, 1.5))(c) for c in q]
    )
    assert torch.allclose(per_sample, reference, atol=1e-12, rtol=0)
    assert torch.allclose(vmap(energy)(q[:, None]).squeeze(1), energy(q), atol=1e-12, rtol=0)
    assert nl.builds == 1  # vmap neither read nor rebuilt the cached list
    nl.update(q)
    assert nl.builds == 1
