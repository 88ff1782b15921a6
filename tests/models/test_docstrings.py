"""The runnable examples in the docstrings of symnet.models."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "symnet.models",
    "symnet.models._mlp",
    "symnet.models.baseline",
    "symnet.models.checkpoint",
    "symnet.models.hnn",
    "symnet.models.lnn",
    "symnet.models.metrics",
    "symnet.models.port_hnn",
    "symnet.models.symmetric",
    "symnet.models.training",
]


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
