"""``symnet.threads(n)``: sets torch's thread count inside a block, restores it after."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import symnet
from symnet._threads import check_threads


def test_exported_from_the_package():
    assert "threads" in symnet.__all__
    assert symnet.threads is symnet._threads.threads


def test_sets_inside_and_restores_after(two_threads):
    with symnet.threads(1) as ctx:
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == 2
    assert repr(ctx) == "symnet.threads(1)"


def test_restores_after_an_exception(two_threads):
    with pytest.raises(KeyError, match="boom"), symnet.threads(1):
        assert torch.get_num_threads() == 1
        raise KeyError("boom")
    assert torch.get_num_threads() == 2


def test_restores_what_the_block_changed(two_threads):
    with symnet.threads(1):
        torch.set_num_threads(3)
    assert torch.get_num_threads() == 2


def test_nested_blocks_restore_their_own_value(two_threads):
    ctx = symnet.threads(1)
    with ctx:
        with symnet.threads(3):
            assert torch.get_num_threads() == 3
        assert torch.get_num_threads() == 1
        with ctx:  # the same object, re-entered
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == 2


def test_none_changes_nothing(two_threads):
    with symnet.threads(None):
        assert torch.get_num_threads() == 2
        torch.set_num_threads(3)  # the block's own setting is not undone either
    assert torch.get_num_threads() == 3


def test_any_integer_type():
    assert check_threads(np.int64(2)) == 2 and type(check_threads(np.int64(2))) is int
    assert check_threads(None) is None


@pytest.mark.parametrize("bad", [True, 1.0, "1", [1]])
def test_wrong_type_is_a_type_error_naming_threads(bad):
    with pytest.raises(TypeError, match=r"threads must be a positive int or None"):
        symnet.threads(bad)


@pytest.mark.parametrize("bad", [0, -1])
def test_non_positive_is_a_value_error_naming_threads(bad):
    with pytest.raises(ValueError, match=rf"threads must be a positive int or None.*got {bad}"):
        symnet.threads(bad)


def test_bad_value_changes_nothing(two_threads):
    with pytest.raises(ValueError):
        with symnet.threads(0):
            pass  # pragma: no cover
    assert torch.get_num_threads() == 2
