"""``symnet.testing.assert_conserved``: passes for exact symmetries, fails with a clear message."""

from __future__ import annotations

import doctest

import pytest
import torch

import symnet.testing.conserved
from symnet import systems as S
from symnet.groups import Rotation, TimeShift, Translation
from symnet.noether import NoetherReport, VerdictThresholds
from symnet.testing import ConservationAssertionError, assert_conserved

E3xT = Translation(3) * Rotation(3) * TimeShift()


def _states(system: S.System, n: int = 4, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    return system.sample_states(n, torch.Generator().manual_seed(seed))


def test_two_body_spring_passes_and_returns_the_report():
    system = S.TwoBodySpring(m1=1.0, m2=2.0)
    q, v = _states(system)
    report = assert_conserved(system.lagrangian, E3xT, q, v, steps=50, field=system.acceleration)
    assert isinstance(report, NoetherReport)
    assert report.all_conserved
    assert set(report.verdicts) == {
        "translation_x",
        "translation_y",
        "translation_z",
        "rotation_x",
        "rotation_y",
        "rotation_z",
        "time",
    }
    assert report.charges["rotation_z"].shape == (51, 4)
    assert report.dt == 0.01 and report.method == "rk4"


def test_central_potential_fails_naming_translation_x():
    system = S.CentralPotential()
    q, v = _states(system)
    with pytest.raises(AssertionError) as info:
        assert_conserved(system.lagrangian, Translation(3), q, v, field=system.acceleration)
    err = info.value
    assert isinstance(err, ConservationAssertionError)
    message = str(err)
    first, *rest = message.splitlines()
    assert first == "CentralPotential.lagrangian does not conserve every charge of Translation(3):"
    # the failing generators with their reasons come first, then the whole table
    for axis in "xyz":
        assert f"translation_{axis} (P_{axis}): broken - not invariant" in message
    assert "Noether check (lagrangian, rk4, dt=0.01, steps=100, batch=4)" in message
    assert err.report.verdicts == {f"translation_{a}": "broken" for a in "xyz"}


def test_rotation_passes_where_translation_fails():
    system = S.CentralPotential()
    q, v = _states(system)
    report = assert_conserved(
        system.lagrangian, [Rotation(3), "time"], q, v, steps=40, field=system.acceleration
    )
    assert set(report.verdicts) == {"rotation_x", "rotation_y", "rotation_z", "time"}


def test_inconclusive_fails_too():
    """An exact symmetry integrated with a far too large step is not asserted conserved."""
    system = S.Kepler()
    q, v = _states(system)
    with pytest.raises(ConservationAssertionError) as info:
        assert_conserved(
            system.lagrangian, TimeShift(), q, v, dt=1.5, steps=10, field=system.acceleration
        )
    assert info.value.report.verdicts == {"time": "inconclusive"}
    assert "time (-E): inconclusive" in str(info.value)


def test_keyword_arguments_reach_the_checker():
    system = S.TwoBodySpring()
    q, v = _states(system, 2)
    report = assert_conserved(
        system.lagrangian,
        "rotation_z",
        q,
        v,
        dt=0.02,
        steps=10,
        method="leapfrog",
        thresholds=VerdictThresholds(drift=1e-6),
        field=system.acceleration,
        t0=1.5,
        rng=3,
    )
    assert report.method == "leapfrog" and report.t0 == 1.5 and report.steps == 10
    assert report.tolerances.drift == 1e-6


def test_bad_input_is_not_an_assertion_error():
    system = S.TwoBodySpring()
    q, v = _states(system, 2)
    with pytest.raises(ValueError, match="steps"):
        assert_conserved(system.lagrangian, E3xT, q, v, steps=1)
    with pytest.raises(ValueError, match=r"Rotation\(2\)"):
        assert_conserved(system.lagrangian, Rotation(2), q, v, field=system.acceleration)


def test_docstring_examples():
    result = doctest.testmod(symnet.testing.conserved, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
