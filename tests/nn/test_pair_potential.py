"""PairPotential: shapes, symmetries, an O(N^2) reference, forces, smooth cutoff, errors."""

from __future__ import annotations

import math

import pytest
import torch
from torch.func import grad, jvp, vmap

from symnet.groups import PeriodicBox, Permutation, Rotation, Translation
from symnet.nn import PairPotential
from symnet.testing import assert_invariant

BOX = PeriodicBox([5.0, 5.5, 6.0])


def _model(box: PeriodicBox | None = BOX, seed: int = 0, **kwargs) -> PairPotential:
    torch.manual_seed(seed)
    return PairPotential(2.4, box=box, hidden=(16, 16), **kwargs).double()


def _positions(B: int = 3, N: int = 24, seed: int = 1, box: PeriodicBox = BOX) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(B, N, 3, generator=g, dtype=torch.float64) * box.lengths


def _reference(pot: PairPotential, q: torch.Tensor) -> torch.Tensor:
    """Every pair i < j by two Python loops, minimum image by hand."""
    out = []
    L = BOX.lengths if pot.box is not None else None
    for x in q:
        total = x.new_zeros(())
        for i in range(x.shape[0]):
            for j in range(i + 1, x.shape[0]):
                dx = x[j] - x[i]
                if L is not None:
                    dx = dx - L * torch.round(dx / L)
                r = dx.norm()
                if r < pot.cutoff:
                    total = total + pot.pair_energy(r[None])[0]
        out.append(total)
    return torch.stack(out)


def test_shapes_batched_and_unbatched():
    pot, q = _model(), _positions()
    assert pot(q).shape == (3,)
    assert pot(q[0]).shape == ()
    assert pot.forces(q).shape == q.shape
    assert pot.lagrangian(q, torch.zeros_like(q)).shape == (3,)
    assert pot.acceleration(q, q).shape == q.shape
    assert torch.allclose(pot(q[0]), pot(q)[0], rtol=1e-13, atol=0)


@pytest.mark.parametrize("box", [BOX, None])
def test_energy_equals_the_all_pairs_reference(box):
    pot, q = _model(box), _positions(B=2, N=20)
    if box is None:
        q = q * 0.6  # dense enough that many pairs are inside the cutoff
    ref = _reference(pot, q)
    assert torch.allclose(pot(q), ref, rtol=1e-12, atol=1e-13)
    assert ref.abs().min() > 1e-3  # not a vacuous comparison


def test_neighbour_list_path_equals_the_transformed_all_pairs_path():
    pot, q = _model(), _positions()
    direct = pot(q)
    under_vmap = vmap(lambda x: pot(x[None])[0])(q)  # inside torch.func: all pairs, masked
    assert torch.allclose(direct, under_vmap, rtol=1e-13, atol=1e-14)
    f = vmap(grad(lambda x: pot(x[None])[0]))(q)
    assert torch.allclose(-f, pot.forces(q), rtol=1e-11, atol=1e-13)


def test_grad_and_jvp_use_the_neighbour_list():
    pot, q = _model(), _positions()
    g = grad(lambda x: pot(x).sum())(q)  # no vmap: the list runs inside the transform
    assert pot.neighbour_list(q).builds == 1
    assert torch.allclose(-g, pot.forces(q), rtol=1e-12, atol=1e-14)
    u = torch.randn(q.shape, generator=torch.Generator().manual_seed(5), dtype=q.dtype)
    _, de = jvp(pot, (q,), (u,))
    assert torch.allclose(de, (g * u).sum((1, 2)), rtol=1e-11, atol=1e-13)
    assert pot.neighbour_list(q).builds == 1


def test_unwrapped_positions_give_the_same_energy():
    pot, q = _model(), _positions()
    shifts = torch.randint(-2, 3, q.shape, generator=torch.Generator().manual_seed(3))
    moved = q + shifts.double() * BOX.lengths
    assert torch.allclose(pot(moved), pot(q), rtol=1e-12, atol=1e-13)


def test_forces_are_minus_the_gradient_and_sum_to_zero():
    pot, q = _model(), _positions()
    F = pot.forces(q)
    x = q.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(pot(x).sum(), x)
    assert torch.allclose(F, -g, rtol=1e-13, atol=1e-15)
    assert F.abs().max() > 1e-3
    assert F.sum(1).abs().max() < 1e-12 * F.abs().max() * q.shape[1]  # Newton's third law
    # central differences along a random direction
    u = torch.randn(q.shape, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    h = 1e-6
    fd = (pot(q + h * u) - pot(q - h * u)) / (2 * h)
    assert torch.allclose(fd, -(F * u).sum((1, 2)), rtol=1e-6, atol=1e-8)


def test_forces_keep_the_graph_for_training():
    pot, q = _model(), _positions()
    loss = pot.forces(q, create_graph=True).square().mean()
    loss.backward()
    grads = [p.grad for p in pot.parameters()]
    assert all(g is not None for g in grads) and any(g.abs().max() > 0 for g in grads)
    # without create_graph there is no graph to the parameters
    assert not pot.forces(q).requires_grad


def test_pair_energy_and_its_derivative_vanish_at_the_cutoff():
    pot = _model()
    rc = pot.cutoff
    r = torch.tensor([rc - 1e-4, rc, rc + 0.1], dtype=torch.float64, requires_grad=True)
    e = pot.pair_energy(r)
    (de,) = torch.autograd.grad(e.sum(), r)
    e = e.detach()
    assert e[1] == 0 and e[2] == 0 and de[1] == 0 and de[2] == 0
    assert abs(float(e[0])) < 1e-6 and abs(float(de[0])) < 1e-2
    inner = torch.tensor([1.0], dtype=torch.float64)
    assert pot.pair_energy(inner).abs() > 1e-4  # not identically zero


def test_invariant_under_box_translations_and_permutations():
    pot, q = _model(), _positions(B=2, N=16)
    assert_invariant(pot, Translation(3, box=BOX) * Permutation(), q, "point")


def test_not_invariant_under_rotations_in_a_box():
    pot, q = _model(), _positions(B=2, N=16)
    with pytest.raises(AssertionError):
        assert_invariant(pot, Rotation(3), q, "point")


def test_rotation_invariant_in_open_space():
    pot, q = _model(box=None), _positions(B=2, N=12) * 0.5
    assert_invariant(pot, Translation(3) * Rotation(3) * Permutation(), q, "point")


def test_neighbour_list_is_cached_and_rebuilt_only_when_needed():
    pot, q = _model(skin=0.08), _positions()
    pot(q)
    nl = pot.neighbour_list(q)
    assert nl.builds == 1
    pot(q + 0.02)  # moved 0.035 < skin / 2
    assert nl.builds == 1
    pot(q + torch.tensor([0.2, 0.0, 0.0], dtype=torch.float64))
    assert nl.builds == 2
    assert pot.skin == 0.08
    assert _model(skin=0.3).skin == pytest.approx(2.5 - 2.4)  # reduced to min(L)/2 - cutoff


def test_inputs_are_not_modified():
    pot, q = _model(), _positions()
    v = torch.randn_like(q)
    q0, v0 = q.clone(), v.clone()
    pot.lagrangian(q, v)
    pot.forces(q)
    assert torch.equal(q, q0) and torch.equal(v, v0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"cutoff": 0.0}, "cutoff"),
        ({"cutoff": float("nan")}, "cutoff"),
        ({"cutoff": 3.0, "box": BOX}, "cutoff"),
        ({"box": 5.0}, "box"),
        ({"hidden": (16, 0)}, "hidden"),
        ({"hidden": 16}, "hidden"),
        ({"skin": -0.1}, "skin"),
        ({"mass": 0.0}, "mass"),
        ({"mass": True}, "mass"),
    ],
)
def test_bad_arguments_are_named(kwargs, match):
    args = {"cutoff": 2.0, **kwargs}
    with pytest.raises(ValueError, match=match):
        PairPotential(**args)


def test_bad_positions_are_named():
    pot = _model()
    with pytest.raises(ValueError, match=r"q must have shape \(B, N, 3\)"):
        pot(torch.zeros(2, 5, 2, dtype=torch.float64))
    with pytest.raises(ValueError, match="q must"):
        pot(torch.zeros(5, dtype=torch.float64))
    with pytest.raises(ValueError, match="q must be a floating-point"):
        pot(torch.zeros(2, 5, 3, dtype=torch.int64))
    with pytest.raises(ValueError, match="qdot must have the shape of q"):
        pot.lagrangian(torch.zeros(2, 5, 3, dtype=torch.float64), torch.zeros(2, 5, 2))


def test_non_finite_positions_give_nan_energy_not_an_error():
    """A diverged configuration is NaN (the rollout names its step); the others are exact."""
    box = PeriodicBox(6.0, dim=3)
    pp = PairPotential(2.5, box=box).double()
    q = torch.rand(3, 16, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0)) * 6
    bad = q.clone()
    bad[1, 0, 0] = math.nan
    e, e_bad = pp(q), pp(bad)
    assert e_bad[1].isnan() and torch.equal(e_bad[[0, 2]], e[[0, 2]])
    assert pp(bad[1]).isnan()
