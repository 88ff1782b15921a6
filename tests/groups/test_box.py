"""PeriodicBox: wrapping, minimum image, cutoff checks, errors and value semantics."""

from __future__ import annotations

import copy
import math
import pickle

import pytest
import torch
from torch.func import jvp

from symnet.groups import PeriodicBox

F64 = torch.float64


def _reference_wrap(x: torch.Tensor, L: torch.Tensor) -> torch.Tensor:
    """``x mod L`` into ``[0, L)``, coordinate by coordinate in Python floats."""
    out = [
        [math.fmod(math.fmod(v, lv) + lv, lv) for v, lv in zip(row, L.tolist(), strict=True)]
        for row in x.reshape(-1, x.shape[-1]).tolist()
    ]
    return torch.tensor(out, dtype=F64).reshape(x.shape)


def _brute_minimum_image(dx: torch.Tensor, L: torch.Tensor) -> torch.Tensor:
    """The shortest image ``dx + n L`` per coordinate, searched over ``|n| <= 40``."""
    n = torch.arange(-40, 41, dtype=F64)
    images = dx[..., None] + n * L[:, None]  # (..., d, 81)
    best = images.abs().argmin(-1, keepdim=True)
    return images.gather(-1, best)[..., 0]


# --------------------------------------------------------------- construction
def test_cubic_box_needs_dim_and_builds_lengths():
    box = PeriodicBox(10.0, dim=3)
    assert box.dim == 3 and box.volume == 1000.0
    assert box.lengths.dtype == F64 and box.lengths.device.type == "cpu"
    assert torch.equal(box.lengths, torch.full((3,), 10.0, dtype=F64))
    assert PeriodicBox(3, dim=2).volume == 9.0  # an int length is a float length
    with pytest.raises(ValueError, match="dim must be given"):
        PeriodicBox(10.0)


@pytest.mark.parametrize(
    "lengths",
    [[6.0, 8.0, 10.0], (6.0, 8.0, 10.0), torch.tensor([6.0, 8.0, 10.0]), torch.tensor([6, 8, 10])],
)
def test_non_cubic_from_sequences_and_tensors(lengths):
    box = PeriodicBox(lengths)
    assert box.dim == 3 and box.volume == 480.0
    assert box.lengths.tolist() == [6.0, 8.0, 10.0] and box.lengths.dtype == F64
    assert PeriodicBox(lengths, dim=3) == box
    assert PeriodicBox(torch.tensor(5.0), dim=2) == PeriodicBox([5.0, 5.0])


def test_lengths_are_copied_not_aliased():
    given = torch.tensor([4.0, 5.0], dtype=F64)
    box = PeriodicBox(given)
    given[0] = -1.0  # the caller's tensor changes afterwards ...
    assert box.lengths.tolist() == [4.0, 5.0]  # ... the box does not
    box.wrap(torch.zeros(2, 2, dtype=torch.float32))
    assert box.lengths.dtype == F64  # a float32 call does not change the stored lengths


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        ((0.0,), {"dim": 3}, "lengths must be a positive finite float, got 0.0"),
        ((-1.0,), {"dim": 2}, "lengths must be a positive finite float"),
        ((float("nan"),), {"dim": 2}, "lengths must be a positive finite float, got nan"),
        (([1.0, float("inf")],), {}, r"lengths\[1\] must be a positive finite float, got inf"),
        (([1.0, -2.0, 3.0],), {}, r"lengths\[1\] must be a positive finite float"),
        (([1.0, True],), {}, r"lengths\[1\] must be a positive finite float"),
        (([],), {}, "lengths must hold at least one side length"),
        (([1.0, 2.0],), {"dim": 3}, "lengths must hold dim=3 side lengths, got 2"),
        ((torch.ones(2, 2),), {}, r"1-d tensor .* got a tensor of shape \(2, 2\)"),
        (("10",), {}, "lengths must be a positive float or a sequence"),
        ((None,), {}, "lengths must be a positive float or a sequence"),
        ((True,), {"dim": 2}, "lengths must be a positive float or a sequence"),
        ((1.0,), {"dim": 0}, "dim must be a positive int or None, got 0"),
        ((1.0,), {"dim": 2.0}, "dim must be a positive int or None, got 2.0"),
    ],
)
def test_bad_construction_names_the_argument(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        PeriodicBox(*args, **kwargs)


# ---------------------------------------------------------------------- wrap
def test_wrap_exact_values_on_boundaries_and_negative_coordinates():
    box = PeriodicBox([4.0, 2.0])
    x = torch.tensor(
        [
            [0.0, 0.0],
            [4.0, 2.0],  # on the upper faces: map to 0
            [-4.0, -2.0],
            [8.0, 6.0],
            [-0.5, -0.25],  # negative: L - 0.5
            [5.0, 3.5],
            [-9.0, -3.5],
            [3.999, 1.999],  # just inside stays
        ],
        dtype=F64,
    )
    expected = torch.tensor(
        [
            [0.0, 0.0],
            [0.0, 0.0],
            [0.0, 0.0],
            [0.0, 0.0],
            [3.5, 1.75],
            [1.0, 1.5],
            [3.0, 0.5],
            [3.999, 1.999],
        ],
        dtype=F64,
    )
    assert torch.equal(box.wrap(x), expected)


@pytest.mark.parametrize("dtype", [torch.float32, F64])
@pytest.mark.parametrize("lengths", [[3.0, 5.0, 7.5], [2.5, 0.75]])
def test_wrap_lands_in_box_and_moves_by_lattice_vectors(dtype, lengths):
    box = PeriodicBox(lengths)
    d = box.dim
    gen = torch.Generator().manual_seed(0)
    scales = 10.0 ** torch.randint(-12, 3, (400, 1), generator=gen).to(F64)
    x64 = torch.randn(400, d, generator=gen, dtype=F64) * scales
    # tiny negatives (round up to L in a naive x - L floor(x / L)) and exact multiples
    x64 = torch.cat([x64, -torch.full((1, d), 1e-30, dtype=F64), 3.0 * box.lengths[None]])
    x = x64.to(dtype)
    w = box.wrap(x)
    L = box.lengths.to(dtype)
    assert w.dtype == dtype and w.shape == x.shape
    assert bool((w >= 0).all()) and bool((w < L).all())
    # w - x is an integer number of box lengths; in float64 w equals the exact remainder
    n = (w.double() - x.double()) / box.lengths
    assert torch.allclose(n, n.round(), atol=1e-5 if dtype == torch.float32 else 1e-12)
    if dtype == F64:
        assert torch.allclose(w, _reference_wrap(x, box.lengths), rtol=0, atol=1e-13)


def test_wrap_accepts_any_leading_shape_and_does_not_modify_input():
    box = PeriodicBox([1.0, 2.0, 3.0])
    x = torch.randn(2, 3, 4, 3, dtype=F64) * 5
    x0 = x.clone()
    w = box.wrap(x)
    assert w.shape == x.shape and torch.equal(x, x0)
    assert torch.equal(box.wrap(x[0, 0, 0]), w[0, 0, 0])  # a single point of shape (d,)


# ------------------------------------------------------------- minimum image
def test_minimum_image_exact_values_half_lengths_map_down():
    box = PeriodicBox([4.0, 2.0])
    dx = torch.tensor(
        [
            [2.0, 1.0],  # +L/2 -> -L/2
            [-2.0, -1.0],  # -L/2 stays
            [1.2, 0.6],
            [2.8, 1.4],  # 0.7 L -> -0.3 L
            [-2.8, -1.4],
            [8.0, -6.0],
            [0.0, 0.0],
        ],
        dtype=F64,
    )
    expected = torch.tensor(
        [[-2.0, -1.0], [-2.0, -1.0], [1.2, 0.6], [-1.2, -0.6], [1.2, 0.6], [0.0, 0.0], [0.0, 0.0]],
        dtype=F64,
    )
    assert torch.allclose(box.minimum_image(dx), expected, rtol=0, atol=1e-15)
    assert torch.equal(box.minimum_image(dx[:2]), expected[:2])


@pytest.mark.parametrize("dtype", [torch.float32, F64])
@pytest.mark.parametrize("lengths", [[3.0, 5.0, 7.5], [2.5, 0.75]])
def test_minimum_image_is_the_shortest_image(dtype, lengths):
    box = PeriodicBox(lengths)
    gen = torch.Generator().manual_seed(1)
    dx64 = torch.randn(500, box.dim, generator=gen, dtype=F64) * 4
    dx = dx64.to(dtype)
    m = box.minimum_image(dx)
    half = 0.5 * box.lengths.to(dtype)
    assert m.dtype == dtype and bool((m >= -half).all()) and bool((m < half).all())
    tol = 1e-5 if dtype == torch.float32 else 1e-13
    assert torch.allclose(m.double(), _brute_minimum_image(dx.double(), box.lengths), atol=tol)


def test_displacement_is_minimum_image_of_the_difference_and_broadcasts():
    box = PeriodicBox(10.0, dim=3)
    gen = torch.Generator().manual_seed(2)
    a = 10 * torch.rand(5, 3, generator=gen, dtype=F64)
    b = 10 * torch.rand(5, 3, generator=gen, dtype=F64)
    a0, b0 = a.clone(), b.clone()
    d = box.displacement(a, b)
    assert torch.equal(d, box.minimum_image(a - b))
    assert torch.allclose(box.displacement(b, a), -d, atol=1e-14)  # antisymmetric
    pairs = box.displacement(a[:, None], a[None])  # (5, 5, 3) all pairs
    assert pairs.shape == (5, 5, 3) and torch.equal(
        pairs.diagonal(dim1=0, dim2=1), torch.zeros(3, 5, dtype=F64)
    )
    assert torch.equal(a, a0) and torch.equal(b, b0)
    # across a face: 9.5 and 0.5 are 1 apart, not 9
    near = box.displacement(torch.tensor([0.5, 0.0, 0.0]), torch.tensor([9.5, 0.0, 0.0]))
    assert near.tolist() == [1.0, 0.0, 0.0]


# ---------------------------------------------------------- differentiability
def test_wrap_and_minimum_image_have_unit_gradient_away_from_jumps():
    box = PeriodicBox([3.0, 4.0])
    x = torch.tensor([[-1.3, 5.1], [0.7, 2.2], [7.9, -6.3]], dtype=F64, requires_grad=True)
    (gw,) = torch.autograd.grad(box.wrap(x).sum(), x)
    (gm,) = torch.autograd.grad(box.minimum_image(x).sum(), x)
    assert torch.equal(gw, torch.ones_like(x)) and torch.equal(gm, torch.ones_like(x))
    assert torch.autograd.gradcheck(box.minimum_image, (x,))
    assert torch.autograd.gradcheck(box.wrap, (x,))
    # forward mode (torch.func), as the symmetry checks use
    v = torch.randn(3, 2, dtype=F64)
    _, tangent = jvp(box.minimum_image, (x.detach(),), (v,))
    assert torch.equal(tangent, v)
    # a pair energy of minimum-image distances differentiates through the box
    q = torch.tensor([[0.2, 0.1], [2.9, 3.8]], dtype=F64, requires_grad=True)
    r2 = (box.displacement(q[0], q[1]) ** 2).sum()
    (f,) = torch.autograd.grad(r2, q)
    dx = torch.tensor([0.3, 0.3], dtype=F64)  # q0 - q1 across both faces
    assert torch.allclose(f, torch.stack([2 * dx, -2 * dx]), atol=1e-14)


# -------------------------------------------------------------------- errors
@pytest.mark.parametrize("method", ["wrap", "minimum_image"])
def test_bad_positions_name_the_argument(method):
    box = PeriodicBox([1.0, 2.0, 3.0])
    name = "x" if method == "wrap" else "dx"
    fn = getattr(box, method)
    with pytest.raises(ValueError, match=rf"{name} must have shape \(\.\.\., 3\) .* got \(4, 2\)"):
        fn(torch.zeros(4, 2))
    with pytest.raises(ValueError, match=rf"{name} must have shape \(\.\.\., 3\)"):
        fn(torch.tensor(1.0))
    with pytest.raises(ValueError, match=rf"{name} must be a floating-point tensor, got dtype"):
        fn(torch.zeros(4, 3, dtype=torch.long))
    with pytest.raises(ValueError, match=rf"{name} must be a torch.Tensor"):
        fn([[0.0, 0.0, 0.0]])


def test_displacement_names_a_and_b():
    box = PeriodicBox(2.0, dim=2)
    with pytest.raises(ValueError, match=r"^a must have shape"):
        box.displacement(torch.zeros(3), torch.zeros(2))
    with pytest.raises(ValueError, match=r"^b must have shape"):
        box.displacement(torch.zeros(2), torch.zeros(3))


def test_check_cutoff_accepts_half_the_smallest_side_only():
    box = PeriodicBox([6.0, 8.0, 10.0])
    assert box.check_cutoff(3.0) == 3.0 and isinstance(box.check_cutoff(1), float)
    assert box.check_cutoff(torch.tensor(2.5)) == 2.5
    with pytest.raises(
        ValueError, match=r"cutoff must be at most half the smallest box length \(3.0\)"
    ):
        box.check_cutoff(3.0000001)
    with pytest.raises(ValueError, match="skin must be at most half"):
        box.check_cutoff(4.0, name="skin")
    for bad in (0.0, -1.0, float("nan"), float("inf"), True, "1", None):
        with pytest.raises(ValueError, match="cutoff must be a positive finite float"):
            box.check_cutoff(bad)


# ------------------------------------------------------------- value semantics
def test_repr_eq_hash_pickle():
    box = PeriodicBox([10.0, 10.0, 10.0])
    assert repr(box) == "PeriodicBox([10.0, 10.0, 10.0])"
    assert repr(PeriodicBox([6, 8.5])) == "PeriodicBox([6.0, 8.5])"
    same = PeriodicBox(10.0, dim=3)
    assert box == same and hash(box) == hash(same) and len({box, same}) == 1
    assert box != PeriodicBox(10.0, dim=2) and box != PeriodicBox([10.0, 10.0, 10.5])
    assert box != [10.0, 10.0, 10.0] and box != "PeriodicBox([10.0, 10.0, 10.0])"
    box.wrap(torch.zeros(1, 3))  # a cached cast does not change equality or pickling
    for other in (pickle.loads(pickle.dumps(box)), copy.deepcopy(box)):
        assert other == box and hash(other) == hash(box)
        assert torch.equal(
            other.wrap(torch.tensor([[11.0, -1.0, 3.0]])), torch.tensor([[1.0, 9.0, 3.0]])
        )
