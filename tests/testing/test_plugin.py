"""The pytest plugin (entry point ``pytest11``): opt-in fixtures and ``--symnet-seed``."""

from __future__ import annotations

import importlib.metadata

import pytest

pytest_plugins = ["pytester"]

# Inner sessions skip the cache and hypothesis's plugin (its summary hook is slow to import).
QUIET = ("-p", "no:cacheprovider", "-p", "no:hypothesispytest")

USES_FIXTURES = """
import torch
from symnet.groups import Rotation, Translation
from symnet.testing import TOLERANCES, assert_invariant

def test_rng(symnet_rng):
    assert isinstance(symnet_rng, torch.Generator)
    expected = torch.Generator().manual_seed({seed})
    assert torch.equal(torch.randn(5, generator=symnet_rng),
                       torch.randn(5, generator=expected))

def test_rng_is_fresh_per_test(symnet_rng):
    expected = torch.Generator().manual_seed({seed})
    assert torch.equal(torch.randn(5, generator=symnet_rng),
                       torch.randn(5, generator=expected))

def test_tolerances(symnet_tolerances):
    assert symnet_tolerances is TOLERANCES
    assert symnet_tolerances[torch.float64].rtol == 1e-9

def test_in_a_check(symnet_rng, symnet_tolerances):
    q = torch.randn(3, 4, 3, generator=symnet_rng, dtype=torch.float64)
    report = assert_invariant(lambda q: (q ** 2).sum((-1, -2)), Rotation(3), q, "point",
                              rng=symnet_rng)
    assert report.max_error < symnet_tolerances[torch.float64].rtol

def test_failure_is_an_assertion(symnet_rng):
    q = torch.randn(3, 4, 3, generator=symnet_rng, dtype=torch.float64)
    assert_invariant(lambda q: (q ** 2).sum((-1, -2)), Translation(3), q, "point")
"""


def test_entry_point_is_registered():
    eps = importlib.metadata.entry_points(group="pytest11")
    assert any(ep.name == "symnet" and ep.value == "symnet.testing.plugin" for ep in eps)


@pytest.mark.parametrize(("args", "seed"), [((), 0), (("--symnet-seed=123",), 123)])
def test_fixtures(pytester, args, seed):
    pytester.makepyfile(USES_FIXTURES.format(seed=seed))
    result = pytester.runpytest_inprocess(*args, *QUIET)
    result.assert_outcomes(passed=4, failed=1)
    result.stdout.fnmatch_lines(["*is not invariant under Translation(3): *translation_*"])
    if args:
        result.stdout.fnmatch_lines(["symnet: --symnet-seed=123"])


def test_seed_from_ini(pytester):
    pytester.makeini("[pytest]\nsymnet_seed = 42\n")
    pytester.makepyfile(USES_FIXTURES.format(seed=42))
    pytester.runpytest_inprocess(*QUIET).assert_outcomes(passed=4, failed=1)


def test_fixtures_are_opt_in(pytester):
    """A test that asks for nothing sees no fixture, no seeding and no change of dtype."""
    pytester.makepyfile(
        """
        import torch

        def test_untouched(request):
            assert "symnet_rng" not in request.fixturenames
            assert torch.get_default_dtype() == torch.float32
        """
    )
    pytester.runpytest_inprocess(*QUIET).assert_outcomes(passed=1)


def test_help_lists_the_option(pytester):
    result = pytester.runpytest_inprocess("--help")
    result.stdout.fnmatch_lines(["*--symnet-seed=SYMNET_SEED*"])


def test_old_fixture_name_is_deprecated(pytester):
    pytester.makepyfile(
        """
import torch

def test_old(symnet_generator):
    assert torch.equal(torch.randn(3, generator=symnet_generator),
                       torch.randn(3, generator=torch.Generator().manual_seed(0)))
"""
    )
    result = pytester.runpytest(*QUIET, "-W", "always::DeprecationWarning")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*symnet_generator fixture is deprecated, use symnet_rng*"])
