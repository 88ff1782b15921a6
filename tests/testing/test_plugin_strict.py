"""The pytest plugin's ``--symnet-strict`` (issue 13): vacuous symmetry checks fail."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

QUIET = ("-p", "no:cacheprovider", "-p", "no:hypothesispytest")

VACUOUS = """
import torch
from symnet.groups import Rotation
from symnet.testing import assert_invariant

def test_zero_model():
    q = torch.randn(2, 4, 3, dtype=torch.float64)
    assert_invariant(lambda q: 0.0 * q.sum((-1, -2)), Rotation(3), q, "point")

def test_explicit_strict_false_wins():
    q = torch.randn(2, 4, 3, dtype=torch.float64)
    assert_invariant(lambda q: 0.0 * q.sum((-1, -2)), Rotation(3), q, "point", strict=False)

def test_genuine():
    q = torch.randn(2, 4, 3, dtype=torch.float64)
    assert_invariant(lambda q: (q ** 2).sum((-1, -2)), Rotation(3), q, "point")
"""


@pytest.mark.parametrize(
    ("args", "ini", "failed"),
    [((), "", 0), (("--symnet-strict",), "", 1), ((), "[pytest]\nsymnet_strict = true\n", 1)],
    ids=["default", "option", "ini"],
)
def test_strict_option_makes_vacuous_checks_fail(pytester, args, ini, failed):
    pytester.makepyfile(VACUOUS)
    if ini:
        pytester.makeini(ini)
    result = pytester.runpytest_inprocess(*args, *QUIET)
    result.assert_outcomes(passed=3 - failed, failed=failed, warnings=2 - failed)
    if failed:
        result.stdout.fnmatch_lines(["*SymmetryAssertionError*vacuous*"])


def test_strict_option_does_not_leak_out_of_the_session(pytester):
    from symnet.testing._run import DEFAULTS

    pytester.makepyfile(VACUOUS)
    pytester.runpytest_inprocess("--symnet-strict", *QUIET)
    assert DEFAULTS["strict"] is False


def test_help_lists_the_strict_option(pytester):
    result = pytester.runpytest_inprocess("--help")
    result.stdout.fnmatch_lines(["*--symnet-strict*"])
