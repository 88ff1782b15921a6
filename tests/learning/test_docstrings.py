"""The ``>>>`` examples in the docstrings of symnet.learning run and are right."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import symnet.learning

MODULES = ["symnet.learning"] + [
    f"symnet.learning.{m.name}" for m in pkgutil.iter_modules(symnet.learning.__path__)
]


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
