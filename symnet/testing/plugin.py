"""pytest plugin of symnet: opt-in fixtures for symmetry tests.

Installed with symnet as the ``pytest11`` entry point ``symnet``, so pytest
loads it automatically; nothing happens unless a test requests a fixture or
the session passes ``--symnet-strict`` (no autouse fixtures, no hook that
changes collection, and outcomes change only under that option).

Fixtures
--------
symnet_rng
    A ``torch.Generator`` seeded with ``--symnet-seed`` (default 0), fresh for
    every test, to pass as ``rng=`` to :func:`symnet.testing.assert_invariant`
    and friends.
symnet_generator
    Deprecated name of ``symnet_rng``.
symnet_tolerances
    The read-only tolerance table :data:`symnet.testing.TOLERANCES`.

Options
-------
--symnet-seed=INT
    Seed of ``symnet_rng`` (default 0).
--symnet-strict
    Make every symmetry assertion of the session strict: a vacuous check
    (outputs that do not depend on the inputs, see
    :mod:`symnet.testing.equivariance`) fails instead of warning. Also the
    ini value ``symnet_strict = true``; an explicit ``strict=`` argument wins.

Examples
--------
A test module using the fixtures::

    from symnet.groups import Rotation
    from symnet.testing import assert_invariant


    def test_norm_is_rotation_invariant(symnet_rng):
        x = torch.randn(4, 5, 3, generator=symnet_rng, dtype=torch.float64)
        assert_invariant(lambda v: (v**2).sum((-1, -2)), Rotation(3), x, "vector", rng=symnet_rng)
"""

from __future__ import annotations

from typing import Any

import pytest

__all__ = [
    "pytest_addoption",
    "pytest_configure",
    "pytest_unconfigure",
    "symnet_generator",
    "symnet_rng",
    "symnet_tolerances",
]

_DEFAULT_SEED = 0


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register ``--symnet-seed`` (and the ini value ``symnet_seed``)."""
    group = parser.getgroup("symnet", "symnet symmetry testing")
    group.addoption(
        "--symnet-seed",
        action="store",
        type=int,
        default=None,
        dest="symnet_seed",
        help=f"seed of the symnet_rng fixture (default {_DEFAULT_SEED})",
    )
    parser.addini("symnet_seed", f"seed of the symnet_rng fixture (default {_DEFAULT_SEED})")
    group.addoption(
        "--symnet-strict",
        action="store_true",
        default=False,
        dest="symnet_strict",
        help="vacuous symmetry checks fail instead of warning (strict=True by default)",
    )
    parser.addini("symnet_strict", "vacuous symmetry checks fail instead of warning", type="bool")


def pytest_configure(config: pytest.Config) -> None:
    """Apply ``--symnet-strict`` (or ``symnet_strict``) as the assertions' default ``strict``."""
    if config.getoption("symnet_strict", False) or config.getini("symnet_strict"):
        from symnet.testing._run import DEFAULTS

        config._symnet_strict_before = DEFAULTS["strict"]  # type: ignore[attr-defined]
        DEFAULTS["strict"] = True


def pytest_unconfigure(config: pytest.Config) -> None:
    """Restore the default ``strict`` (inner pytest sessions share the process)."""
    before = getattr(config, "_symnet_strict_before", None)
    if before is not None:
        from symnet.testing._run import DEFAULTS

        DEFAULTS["strict"] = before


def _seed(config: pytest.Config) -> int:
    """The seed: command line first, then the ini file, then 0."""
    value = config.getoption("symnet_seed")
    if value is not None:
        return int(value)
    ini = config.getini("symnet_seed")
    if ini not in (None, "", []):
        try:
            return int(ini)
        except ValueError:
            raise pytest.UsageError(f"symnet_seed must be an integer, got {ini!r}") from None
    return _DEFAULT_SEED


@pytest.fixture
def symnet_rng(request: pytest.FixtureRequest) -> Any:
    """A CPU ``torch.Generator`` seeded with ``--symnet-seed`` (default 0), new per test."""
    import torch

    return torch.Generator().manual_seed(_seed(request.config))


@pytest.fixture
def symnet_generator(request: pytest.FixtureRequest) -> Any:
    """Deprecated name of the ``symnet_rng`` fixture."""
    import warnings

    import torch

    warnings.warn(
        "the symnet_generator fixture is deprecated, use symnet_rng instead",
        DeprecationWarning,
        stacklevel=2,
    )
    return torch.Generator().manual_seed(_seed(request.config))


@pytest.fixture
def symnet_tolerances() -> Any:
    """The tolerance table :data:`symnet.testing.TOLERANCES` (dtype -> DtypeTolerance)."""
    from symnet.testing import TOLERANCES

    return TOLERANCES


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    """Show the seed in the header only when the user set one."""
    lines = []
    if config.getoption("symnet_seed") is not None:
        lines.append(f"symnet: --symnet-seed={_seed(config)}")
    if config.getoption("symnet_strict", False):
        lines.append("symnet: --symnet-strict (vacuous symmetry checks fail)")
    return lines or None
