"""Bad arguments raise TypeError/ValueError naming the argument and what was expected."""

from __future__ import annotations

import pytest
import torch

from symnet.groups import Boost, Permutation, Rotation, TimeShift, Translation
from symnet.testing import assert_equivariant, assert_invariant

from ._functions import pair_distances, randn

E3 = Translation(3) * Rotation(3)


def q3(B: int = 3, N: int = 4) -> torch.Tensor:
    return randn(B, N, 3)


BAD_INPUTS = [
    ("layout", randn(3, 3), "point", ValueError, r"inputs of kind point must have shape \("),
    ("dimension", randn(3, 4, 2), "point", ValueError, r"2.*Translation\(3\) x .* acts in d = 3"),
    ("unknown-kind", q3(), "pointy", ValueError, r"kinds must be one of 'point'"),
    ("kind-type", q3(), 3, TypeError, r"kinds must be a kind"),
    ("kind-in-tuple", (q3(), q3()), ("point", 3.0), TypeError, r"kinds\[1\] must be a kind name"),
    ("not-tensor", [[1.0, 2.0]], "point", TypeError, r"inputs\[0\] must be a torch.Tensor, got l"),
    ("str-in-tuple", (q3(), "q"), ("point",) * 2, TypeError, r"inputs\[1\] must be a torch.Tensor"),
    (
        "integer",
        q3().long(),
        "point",
        TypeError,
        r"int64 but its kind point needs a floating.*'label'",
    ),
    ("few-kinds", (q3(), q3()), "point", ValueError, r"kinds has 1 kind but there are 2 inputs"),
    ("many-kinds", q3(), ("point", "vector"), ValueError, r"kinds has 2 kinds but there is 1"),
    ("batch", (q3(), randn(2, 4, 3)), ("point",) * 2, ValueError, r"inputs\[1\] has batch size 2"),
    ("particles", (q3(), randn(3, 5, 3)), ("point",) * 2, ValueError, r"number of particles N"),
    ("irreps-layout", randn(3, 4), "1o", ValueError, r"inputs of kind irreps\(1x1o\) must have"),
    ("empty", (), "point", ValueError, r"inputs is empty"),
]


@pytest.mark.parametrize(
    ("inputs", "kinds", "exc", "pattern"),
    [case[1:] for case in BAD_INPUTS],
    ids=[case[0] for case in BAD_INPUTS],
)
def test_bad_inputs(inputs, kinds, exc, pattern):
    with pytest.raises(exc, match=pattern):
        assert_invariant(pair_distances, E3, inputs, kinds)


def test_nan_input_is_named():
    q = q3()
    q[1, 2, 0] = float("nan")
    with pytest.raises(ValueError, match=r"inputs\[1\] contains NaN \(first at index \(1, 2, 0"):
        assert_invariant(lambda p, q: pair_distances(q), E3, (q3(), q), ("point", "point"))


def test_irreps_need_rotation3():
    with pytest.raises(ValueError, match=r"e3nn irreps need Rotation\(3\).*Rotation\(2\)"):
        assert_invariant(lambda x: x.sum(-1), Rotation(2), randn(3, 3), "1o")


def test_two_dimensional_points_with_rotation3():
    with pytest.raises(ValueError, match=r"inputs of kind point has last dimension 2"):
        assert_equivariant(lambda q: q, Rotation(3), randn(3, 4, 2), "point", "point")


def test_boost_masses_must_match_particles():
    with pytest.raises(ValueError, match=r"inputs do not fit Boost.*3 masses.*N = 4"):
        assert_invariant(pair_distances, Boost(3, masses=torch.ones(3)), q3(), "point")


def test_bad_outputs():
    q = q3()
    with pytest.raises(
        TypeError, match=r"fn must return a tensor or a tuple of tensors, got float"
    ):
        assert_invariant(lambda q: 1.0, E3, q, "point")
    with pytest.raises(TypeError, match="output out must be floating point"):
        assert_invariant(lambda q: q.long(), E3, q, "point")
    with pytest.raises(ValueError, match="out_kinds has 2 kind"):
        assert_equivariant(lambda q: q, E3, q, "point", ("point", "point"))
    with pytest.raises(ValueError, match=r"output out of kind point must have shape"):
        assert_equivariant(lambda q: q.sum(-1), E3, q, "point", "point")
    with pytest.raises(ValueError, match=r"output out contains NaN"):
        assert_invariant(lambda q: q.sum((-1, -2)) * float("nan"), E3, q, "point")
    with pytest.raises(ValueError, match=r"out_kinds must be one of"):
        assert_equivariant(lambda q: q, E3, q, "point", "pont")


def test_bad_options():
    q = q3()
    with pytest.raises(TypeError, match="fn must be callable"):
        assert_invariant("fn", E3, q, "point")
    with pytest.raises(TypeError, match="group must be a symnet.groups.Group"):
        assert_invariant(pair_distances, "E3", q, "point")
    with pytest.raises(ValueError, match="n_samples must be an int >= 0"):
        assert_invariant(pair_distances, E3, q, "point", n_samples=-1)
    with pytest.raises(TypeError, match="dtype must be a floating torch.dtype"):
        assert_invariant(pair_distances, E3, q, "point", dtype=torch.int64)
    with pytest.raises(ValueError, match=r"dtype torch.float16 has no default tolerance"):
        assert_invariant(pair_distances, E3, q, "point", dtype=torch.float16)
    with pytest.raises(ValueError, match="rtol must be a finite number >= 0"):
        assert_invariant(pair_distances, E3, q, "point", rtol=-1.0)
    with pytest.raises(TypeError, match="generator must be a torch.Generator"):
        assert_invariant(pair_distances, E3, q, "point", generator=0)
    with pytest.raises(TypeError, match="rng must be an int seed or a torch.Generator"):
        assert_invariant(pair_distances, E3, q, "point", rng="seed")


def test_bad_time():
    q = q3()
    with pytest.raises(ValueError, match=r"t must be a scalar or have shape \(3,\), got \(2,\)"):
        assert_invariant(pair_distances, Boost(3), q, "point", t=torch.zeros(2))
    with pytest.raises(ValueError, match="t contains inf"):
        assert_invariant(pair_distances, Boost(3), q, "point", t=float("inf"))
    with pytest.raises(TypeError, match="t must be a float or a tensor"):
        assert_invariant(pair_distances, Boost(3), q, "point", t="now")


def test_forward_mode_unsupported_falls_back():
    def cdist_sum(q):  # torch.cdist has no forward-mode derivative
        return torch.cdist(q, q).sum((-1, -2))

    # issue 13: where torch.func.jvp cannot trace fn another method takes over (cdist has
    # no double backward either: Richardson-extrapolated finite differences)
    report = assert_invariant(cdist_sum, E3, q3(), "point")
    assert report.derivative_method == "finite-difference" and "finite-difference" in str(report)
    report = assert_invariant(cdist_sum, E3, q3(), "point", check_generators=False)
    assert report.generator_errors == {} and len(report.element_errors) == 8 + 1 + 1


def test_groups_without_particles_accept_any_layout():
    """TimeShift has no dimension: any time layout; Permutation alone: any d."""
    assert_invariant(lambda t: t[:, 1] - t[:, 0], TimeShift(), randn(2, 2), "time")
    assert_invariant(pair_distances, Permutation(), randn(2, 4, 7), "point")
