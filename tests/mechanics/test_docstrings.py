"""The ``>>>`` examples in the docstrings of symnet.mechanics run and give what they show."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import symnet.mechanics

MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages(symnet.mechanics.__path__, prefix="symnet.mechanics.")
) + ["symnet.mechanics"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
