"""Translation(d, box=PeriodicBox(...)): the translations of a torus, and the checks on it."""

from __future__ import annotations

import copy
import math
import pickle

import pytest
import torch
from torch.func import jvp

from symnet.groups import (
    PeriodicBox,
    Permutation,
    Reflection,
    Rotation,
    TimeShift,
    Translation,
    as_group,
    resolve_symmetries,
)
from symnet.testing import SymmetryAssertionError, assert_equivariant, assert_invariant

F64 = torch.float64
L = 6.0
BOX = PeriodicBox(L, dim=3)
TORUS = Translation(3, box=BOX)


def _configs(seed: int = 0, B: int = 3, N: int = 8) -> torch.Tensor:
    """Positions in the box, half of the particles within 0.05 of a face (B, N, 3)."""
    gen = torch.Generator().manual_seed(seed)
    q = L * torch.rand(B, N, 3, generator=gen, dtype=F64)
    q[:, : N // 2, 0] = L - 0.05 * torch.rand(B, N // 2, generator=gen, dtype=F64)
    q[:, N // 2 :, 1] = 0.05 * torch.rand(B, N - N // 2, generator=gen, dtype=F64)
    return q


def _pair_terms(r2: torch.Tensor) -> torch.Tensor:
    """A smooth pair potential of squared distances, summed over pairs i < j: (B, N, N) -> (B,)."""
    return (torch.exp(-r2) + 1.0 / (1.0 + r2)).triu(1).sum((-1, -2))


def periodic_energy(q: torch.Tensor) -> torch.Tensor:
    """Minimum-image pair energy, (B, N, 3) -> (B,)."""
    return _pair_terms((BOX.displacement(q[:, :, None], q[:, None]) ** 2).sum(-1))


def plain_energy(q: torch.Tensor) -> torch.Tensor:
    """The same with plain differences q_i - q_j (no periodic images)."""
    return _pair_terms(((q[:, :, None] - q[:, None]) ** 2).sum(-1))


def leaky_energy(q: torch.Tensor) -> torch.Tensor:
    """Periodic in q, yet not translation invariant: it leaks the absolute x position."""
    return periodic_energy(q) + 0.1 * torch.sin(2 * math.pi * q[..., 0] / L).sum(-1)


# ---------------------------------------------------------------- the group
def test_repr_eq_hash_distinguish_the_box():
    assert repr(TORUS) == "Translation(3, box=PeriodicBox([6.0, 6.0, 6.0]))"
    assert repr(Translation(3)) == "Translation(3)"  # unchanged without a box
    same = Translation(3, box=PeriodicBox([6.0, 6.0, 6.0]))
    assert TORUS == same and hash(TORUS) == hash(same) and TORUS.box == BOX
    assert TORUS != Translation(3) and hash(TORUS) != hash(Translation(3))
    assert TORUS != Translation(3, box=PeriodicBox([6.0, 6.0, 7.0]))
    assert Translation(3).box is None
    for other in (pickle.loads(pickle.dumps(TORUS)), copy.deepcopy(TORUS)):
        assert other == TORUS and other.box == BOX


def test_bad_box_is_refused_naming_the_argument():
    with pytest.raises(
        ValueError, match=r"box must have dimension dim=3, got PeriodicBox\(\[1.0, 1.0\]\)"
    ):
        Translation(3, box=PeriodicBox(1.0, dim=2))
    with pytest.raises(
        ValueError, match="box must be a symnet.groups.PeriodicBox or None, got list"
    ):
        Translation(3, box=[1.0, 1.0, 1.0])


def test_generators_and_infinitesimal_action_are_those_of_free_translations():
    q = _configs()
    free = Translation(3)
    gens = TORUS.generators((8, 3))
    assert [g.name for g in gens] == ["translation_x", "translation_y", "translation_z"]
    assert all(g.group is TORUS for g in gens)
    assert [g.charge_label for g in gens] == ["P_x", "P_y", "P_z"]
    for name in TORUS.generator_names():
        for kind in ("point", "vector", "scalar"):
            x = q if kind != "scalar" else q[..., :2]
            assert torch.equal(
                TORUS.act_infinitesimal(name, x, kind), free.act_infinitesimal(name, x, kind)
            )
    # d/ds act(exp(s X), q) at s = 0 is e_a, also for particles on a face
    s0 = torch.zeros(3, dtype=F64)
    for a, name in enumerate(TORUS.generator_names()):
        _, tangent = jvp(
            lambda s, name=name: TORUS.act(TORUS.exp(name, s, (8, 3)), q, "point"),
            (s0,),
            (torch.ones_like(s0),),
        )
        assert torch.equal(tangent, torch.eye(3, dtype=F64)[a].expand_as(q))


def test_act_wraps_points_only_and_modifies_nothing():
    q = _configs()
    g = TORUS.sample(3, (8, 3), rng=0)
    g0, q0 = g.clone(), q.clone()
    moved = TORUS.act(g, q, "point")
    assert torch.equal(moved, BOX.wrap(q + g[:, None]))
    assert bool((moved >= 0).all()) and bool((moved < L).all())
    assert bool(((q + g[:, None] < 0) | (q + g[:, None] >= L)).any())  # some coordinates wrapped
    v = torch.randn(3, 8, 3, dtype=F64)
    for kind, x in (("vector", v), ("scalar", v[..., :2]), ("global", v[:, 0])):
        assert torch.equal(TORUS.act(g, x, kind), x)  # untouched, as without a box
    assert torch.equal(g, g0) and torch.equal(q, q0)
    # float32 points stay float32 and in the box
    moved32 = TORUS.act(g, q.float(), "point")
    assert moved32.dtype == torch.float32 and bool((moved32 < L).all())


def test_group_law_on_the_torus():
    q = _configs(seed=3)
    S = (8, 3)
    g, h = TORUS.sample(3, S, rng=1), TORUS.sample(3, S, rng=2)
    e = TORUS.identity(3, S)
    gq = TORUS.act(g, q, "point")
    assert torch.equal(TORUS.act(e, q, "point"), q)  # points in the box are fixed by e
    assert torch.allclose(
        TORUS.act(TORUS.compose(g, h), q, "point"),
        TORUS.act(g, TORUS.act(h, q, "point"), "point"),
        atol=1e-13,
    )
    assert torch.allclose(TORUS.act(TORUS.inverse(g), gq, "point"), q, atol=1e-13)
    # a whole box length is the identity of the torus, not of free space
    lattice = torch.tensor([[L, -2 * L, 0.0]], dtype=F64)
    assert torch.allclose(TORUS.act(lattice, q, "point"), q, atol=1e-13)
    assert not torch.allclose(Translation(3).act(lattice, q, "point"), q)


# ------------------------------------------------------------------ products
def test_products_with_a_boxed_translation():
    G = TORUS * Permutation() * TimeShift()
    assert (
        repr(G) == "Translation(3, box=PeriodicBox([6.0, 6.0, 6.0])) x Permutation() x TimeShift()"
    )
    assert G != Translation(3) * Permutation() * TimeShift()
    assert G.generator_names() == ["translation_x", "translation_y", "translation_z", "time"]
    q = _configs(seed=4)
    g = G.sample(3, (8, 3), rng=0)
    moved = G.act(g, q, "point")
    perm = g[1]  # (3, 8) indices: permute first (last factor acts first), then translate and wrap
    expected = BOX.wrap(torch.gather(q, 1, perm[..., None].expand(-1, -1, 3)) + g[0][:, None])
    assert torch.allclose(moved, expected, atol=1e-14)
    # resolved for the checker, the generators keep the boxed group
    spec = resolve_symmetries([G], (8, 3))
    assert spec.generators[0].group == TORUS and spec.discrete == [Permutation()]
    # a name carries no box
    assert resolve_symmetries("translation", (8, 3)).generators[0].group == Translation(3)


def test_rotations_cannot_be_multiplied_with_a_box_but_reflections_can():
    for make in (lambda: TORUS * Rotation(3), lambda: Rotation(3) * TORUS * Permutation()):
        with pytest.raises(
            ValueError, match=r"Rotation\(3\) is not a symmetry of the periodic box"
        ):
            make()
    G = TORUS * Reflection(3)  # -I maps the box lattice onto itself
    q = _configs(seed=5)
    g, h = G.sample(4, (8, 3), rng=0), G.sample(4, (8, 3), rng=1)
    q4 = torch.cat([q, q[:1]])
    assert torch.allclose(
        G.act(G.compose(g, h), q4, "point"), G.act(g, G.act(h, q4, "point"), "point"), atol=1e-13
    )


# ---------------------------------------------------- symmetry assertions
def test_minimum_image_energy_is_invariant_under_the_torus():
    q = _configs()
    report = assert_invariant(periodic_energy, TORUS, q, "point", rng=0)
    gens = [r for r in report.results if r.check == "generator"]
    assert [r.name for r in gens] == TORUS.generator_names() and all(r.error < 1e-14 for r in gens)
    samples = [r for r in report.results if r.check == "sample"]
    assert len(samples) == 8 and max(r.error for r in samples) < 1e-13
    assert assert_invariant(periodic_energy, TORUS * Permutation(), q, "point", rng=0).passed

    # forces (autograd inside the function) are invariant vectors on the torus
    def forces(q):
        with torch.enable_grad():
            q = q.requires_grad_(True) if not q.requires_grad else q
            return -torch.autograd.grad(periodic_energy(q).sum(), q, create_graph=True)[0]

    assert assert_equivariant(forces, TORUS, q.clone(), "point", "vector", rng=0).passed


def test_the_finite_check_really_wraps_particles():
    """The elements the check applies move particles across faces (else it proves nothing)."""
    q = _configs()
    seen: list[torch.Tensor] = []

    def recording(x):
        seen.append(x.detach().clone())
        return periodic_energy(x)

    assert assert_invariant(recording, TORUS, q, "point", rng=0, check_generators=False).passed
    blocks = [b for x in seen if x.numel() % q.numel() == 0 for b in x.reshape(-1, *q.shape)]
    translated, crossed = 0, 0
    for b in blocks:  # (B, N, 3): a translated copy of q moves all particles by a (mod L)
        k = ((b - q) - (b - q)[:, :1]) / L
        if torch.allclose(k, k.round(), atol=1e-9) and not torch.equal(b, q):
            translated += 1
            crossed += bool(k.round().abs().sum() > 0)
            assert bool(((b >= 0) & (b < L)).all())  # wrapped into the box
    assert translated >= 8 and crossed >= 4  # most of the 8 samples wrapped some particle


def test_leaking_the_absolute_position_fails_naming_the_generator():
    q = _configs()
    with pytest.raises(SymmetryAssertionError, match=r"generator translation_x") as info:
        assert_invariant(leaky_energy, TORUS, q, "point", rng=0)
    rows = {r.name: r.passed for r in info.value.report.results if r.check == "generator"}
    assert rows == {"translation_x": False, "translation_y": True, "translation_z": True}
    assert not any(r.passed for r in info.value.report.results if r.check == "sample")


def test_plain_differences_fail_on_the_torus_but_not_in_free_space():
    q = _configs()
    with pytest.raises(
        SymmetryAssertionError, match=r"not invariant under Translation\(3, box="
    ) as info:
        assert_invariant(plain_energy, TORUS, q, "point", rng=0)
    results = info.value.report.results
    # infinitesimally nothing wraps: the failure comes from the finite, wrapped elements
    assert all(r.passed for r in results if r.check == "generator")
    assert any(not r.passed for r in results if r.check == "sample")
    assert assert_invariant(plain_energy, Translation(3), q, "point", rng=0).passed
    # a common shift never changes a minimum-image difference: invariant in free space too
    assert assert_invariant(periodic_energy, Translation(3), q, "point", rng=0).passed


def test_the_box_breaks_rotations_not_the_inversion():
    q = _configs()
    with pytest.raises(SymmetryAssertionError, match=r"not invariant under Rotation\(3\)") as info:
        assert_invariant(periodic_energy, Rotation(3), q, "point", rng=0)
    assert not any(r.passed for r in info.value.report.results if r.check == "generator")
    assert assert_invariant(periodic_energy, Reflection(3), q, "point", rng=0).passed


def test_one_generator_of_the_torus_acts_on_the_torus():
    """A single boxed generator's one-parameter group wraps too (regression)."""
    q = _configs()
    gen = TORUS.generators((q.shape[1], 3))[0]
    group = as_group(gen)
    s = torch.tensor([0.5 * L, -1.7 * L, 2.2 * L], dtype=torch.float64)
    moved = group.act(s, q, "point")
    assert ((moved >= 0) & (moved < L)).all()
    free = as_group(Translation(3).generators((q.shape[1], 3))[0]).act(s, q, "point")
    assert torch.allclose(moved, BOX.wrap(free), atol=1e-12, rtol=0)
    assert group != as_group(Translation(3).generators((q.shape[1], 3))[0])
    with pytest.raises(SymmetryAssertionError, match="translation_x"):
        assert_invariant(plain_energy, gen, q, "point", rng=0)
    assert_invariant(periodic_energy, gen, q, "point", rng=0)
