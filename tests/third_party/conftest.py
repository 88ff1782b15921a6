"""Fixtures for the tests of real third-party models."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.third_party._models import pure_torch_dimenet


@pytest.fixture
def dimenet_graph() -> Iterator[None]:
    """PyG's DimeNet++ on the pure-torch ``radius_graph`` and ``triplets`` for one test."""
    with pure_torch_dimenet():
        yield
