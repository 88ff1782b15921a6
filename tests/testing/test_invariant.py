"""assert_invariant on every group: symmetric functions pass, broken ones fail by name."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from symnet.groups import Boost, Permutation, Rotation, TimeShift, Translation
from symnet.testing import SymmetryAssertionError, SymmetryReport, assert_invariant

from ._functions import (
    SETTINGS,
    DeepSets,
    OrderedSets,
    absolute_energy,
    absolute_time,
    anisotropic,
    external_field,
    kinetic,
    pair_distances,
    randn,
    relative_energy,
    time_difference,
    weighted_sum,
)

E3 = Translation(3) * Rotation(3)
E3xSN = Translation(3) * Rotation(3) * Permutation()
GALILEI = Translation(3) * Rotation(3) * Boost(3) * TimeShift() * Permutation()


def points(d: int = 3, B: int = 3, N: int = 4, seed: int = 0) -> torch.Tensor:
    return randn(B, N, d, seed=seed)


def galilean_inputs() -> tuple[torch.Tensor, ...]:
    return points(seed=1), points(seed=2), randn(3, seed=3)


# (id, group, fn, inputs, kinds)
PASSING = [
    ("translation2", Translation(2), pair_distances, points(2), "point"),
    ("translation3", Translation(3), anisotropic, points(3), "point"),
    ("rotation2", Rotation(2), weighted_sum, points(2), "point"),
    ("rotation3", Rotation(3), weighted_sum, points(3), "point"),
    ("permutation", Permutation(), pair_distances, points(3), "point"),
    ("permutation-scalars", Permutation(), lambda s: s.sum(-2), randn(3, 5, 2), "scalar"),
    ("e3xsn", E3xSN, pair_distances, points(3), "point"),
    ("e2xsn", Translation(2) * Rotation(2) * Permutation(), pair_distances, points(2), "point"),
    ("kinetic", Rotation(3) * Translation(3) * Permutation(), kinetic, points(3), "vector"),
    ("timeshift", TimeShift(), time_difference, randn(3, 2), "time"),
    ("boost", Boost(3), relative_energy, galilean_inputs(), ("point", "vector", "time")),
    ("galilei", GALILEI, relative_energy, galilean_inputs(), ("point", "vector", "time")),
]

# (id, group, fn, inputs, kinds, a name the failure must mention)
FAILING = [
    ("translation2", Translation(2), external_field, points(2), "point", "translation_x"),
    ("translation3", E3xSN, external_field, points(3), "point", "translation_x"),
    ("rotation2", Rotation(2), anisotropic, points(2), "point", "rotation"),
    ("rotation3", E3xSN, anisotropic, points(3), "point", "rotation_"),
    ("permutation", Permutation(), weighted_sum, points(3), "point", "transposition_01"),
    ("e3xsn-order", E3xSN, weighted_sum, points(3), "point", "transposition_01"),
    ("kinetic-rotation", Rotation(3), lambda v: kinetic(v) + v[..., 2].sum(-1), points(3),
     "vector", "rotation_"),
    ("timeshift", TimeShift(), absolute_time, randn(3, 2), "time", "time"),
    ("boost", Boost(3), absolute_energy, galilean_inputs(), ("point", "vector", "time"),
     "boost_"),
    ("galilei", GALILEI, absolute_energy, galilean_inputs(), ("point", "vector", "time"),
     "boost_"),
]  # fmt: skip


@pytest.mark.parametrize(("group", "fn", "inputs", "kinds"), [c[1:] for c in PASSING],
                         ids=[c[0] for c in PASSING])  # fmt: skip
def test_symmetric_function_passes(group, fn, inputs, kinds):
    report = assert_invariant(fn, group, inputs, kinds)
    assert isinstance(report, SymmetryReport) and report.passed
    assert report.max_error < 1e-12
    assert set(report.generator_errors) == set(group.generator_names())
    n_discrete = len(group.discrete_generators(_config(inputs)))
    # issue 13: 8 samples of the product, 1 of each continuous factor alone (for products)
    continuous = [f for f in group.factors if f.generator_names()]
    n_factor = len(continuous) if len(group.factors) > 1 else 0
    assert len(report.element_errors) == 8 + n_factor + n_discrete


@pytest.mark.parametrize(("group", "fn", "inputs", "kinds", "name"), [c[1:] for c in FAILING],
                         ids=[c[0] for c in FAILING])  # fmt: skip
def test_broken_function_fails_naming_the_culprit(group, fn, inputs, kinds, name):
    with pytest.raises(AssertionError) as info:
        assert_invariant(fn, group, inputs, kinds)
    message = str(info.value)
    assert name in message
    assert f"not invariant under {group!r}" in message
    assert "relative error" in message and "tolerance 1.0e-09" in message
    report = info.value.report
    assert not report.passed
    assert any(r.name.startswith(name) for r in report.failures)
    assert all(r.error > 1e-4 for r in report.failures)  # broken by far, not by round-off


def _config(inputs):
    x = inputs[0] if isinstance(inputs, tuple) else inputs
    return (x.shape[-2], x.shape[-1]) if x.dim() >= 3 else (1, 1)


def test_broken_under_one_factor_passes_the_other():
    q = points(3)
    assert_invariant(anisotropic, Translation(3), q, "point")
    with pytest.raises(AssertionError, match="rotation_"):
        assert_invariant(anisotropic, Rotation(3), q, "point")
    assert_invariant(weighted_sum, Rotation(3), q, "point")
    with pytest.raises(AssertionError, match="Permutation"):
        assert_invariant(weighted_sum, Permutation(), q, "point")


def test_failing_generators_are_the_broken_ones():
    """A field along x breaks translation_x only; the report says so row by row."""
    with pytest.raises(SymmetryAssertionError) as info:
        assert_invariant(external_field, Translation(3), points(3), "point")
    errors = info.value.report.generator_errors
    assert errors["translation_x"] > 1e-3
    assert errors["translation_y"] < 1e-12 and errors["translation_z"] < 1e-12


def test_deepsets_float32_module_passes_in_float64():
    model = DeepSets()
    q, s = points(3, N=5), randn(3, 5, 2, seed=4)
    report = assert_invariant(model, E3xSN, (q, s), ("point", "scalar"))
    assert report.dtype == torch.float64 and report.max_error < 1e-12
    report32 = assert_invariant(model, E3xSN, (q, s), ("point", "scalar"), dtype=torch.float32)
    assert report32.tolerance.rtol == 1e-4 and report32.max_error < 1e-4


def test_order_dependent_module_fails_under_permutation_only():
    model = OrderedSets()
    q, s = points(3, N=5), randn(3, 5, 2, seed=4)
    assert_invariant(model, E3, (q, s), ("point", "scalar"))
    with pytest.raises(AssertionError, match="transposition_01"):
        assert_invariant(model, E3xSN, (q, s), ("point", "scalar"))


def test_boost_needs_time_for_points():
    """With t = 0 a boost moves velocities only; t from the time input or from ``t=``."""
    q, v, t = galilean_inputs()

    def position_only(q, v, t):  # sum of |q_i|^2: broken by a boost at t != 0
        return (q**2).sum((-1, -2))

    with pytest.raises(AssertionError, match="boost_"):
        assert_invariant(position_only, Boost(3), (q, v, t), ("point", "vector", "time"))
    # no time input and no t: points are not moved, so the check cannot see the breaking
    assert_invariant(lambda q: (q**2).sum((-1, -2)), Boost(3), q, "point")
    with pytest.raises(AssertionError, match="boost_"):
        assert_invariant(lambda q: (q**2).sum((-1, -2)), Boost(3), q, "point", t=t)
    with pytest.raises(AssertionError, match="boost_"):
        assert_invariant(lambda q: (q**2).sum((-1, -2)), Boost(3), q, "point", t=0.7)


@SETTINGS
@given(B=st.integers(1, 4), N=st.integers(2, 6), seed=st.integers(0, 2**16))
def test_random_sizes(B, N, seed):
    q = randn(B, N, 3, seed=seed)
    report = assert_invariant(pair_distances, E3xSN, q, "point", n_samples=3, rng=seed)
    assert report.max_error < 1e-12
    with pytest.raises(AssertionError, match="translation_x"):
        assert_invariant(external_field, E3xSN, q, "point", n_samples=3, rng=seed)
    with pytest.raises(AssertionError, match="transposition_01"):
        assert_invariant(weighted_sum, E3xSN, q, "point", n_samples=3, rng=seed)


def test_old_randomness_arguments_are_deprecated():
    q = points(3, N=4)
    new = assert_invariant(pair_distances, E3xSN, q, "point", n_samples=2, rng=5)
    with pytest.warns(DeprecationWarning, match="use rng="):
        old = assert_invariant(pair_distances, E3xSN, q, "point", n_samples=2, seed=5)
    assert [r.error for r in old.results] == [r.error for r in new.results]
    with pytest.warns(DeprecationWarning, match="use rng="):
        assert_invariant(
            pair_distances, E3xSN, q, "point", generator=torch.Generator().manual_seed(5)
        )
    with pytest.raises(TypeError, match="not both"):
        assert_invariant(pair_distances, E3xSN, q, "point", rng=1, seed=2)


def test_tolerance_is_renamed_dtype_tolerance():
    import symnet.testing as testing

    assert testing.TOLERANCES[torch.float64] == testing.DtypeTolerance(rtol=1e-9)
    with pytest.warns(DeprecationWarning, match="DtypeTolerance"):
        assert testing.Tolerance is testing.DtypeTolerance
