"""rng= (an int seed or a torch.Generator) for stochastic layers; seed= works, deprecated."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from symnet.learning import find_symmetries

from . import _models as M


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Dropout(0.2), nn.Linear(8, 3)).train()


def test_rng_int_generator_and_deprecated_seed_agree():
    batch = M.regression()
    a = find_symmetries(_net(), nn.MSELoss(), batch, rng=3)
    b = find_symmetries(_net(), nn.MSELoss(), batch, rng=3)
    assert a.names == b.names and len(a) > 0
    assert [s.residual for s in a] == [s.residual for s in b]
    with pytest.warns(DeprecationWarning, match=r"find_symmetries: the argument seed=.*rng="):
        old = find_symmetries(_net(), nn.MSELoss(), batch, seed=3)
    assert [s.residual for s in old] == [s.residual for s in a]
    g = torch.Generator().manual_seed(0)
    c = find_symmetries(_net(), nn.MSELoss(), batch, rng=g)
    assert c.names == a.names
    sym = a[0]
    r = sym.lie_derivative(_net(), nn.MSELoss(), batch, rng=3)
    with pytest.warns(DeprecationWarning, match=r"lie_derivative: the argument seed="):
        assert sym.lie_derivative(_net(), nn.MSELoss(), batch, seed=3) == r
    with pytest.raises(TypeError, match="rng"):
        find_symmetries(_net(), nn.MSELoss(), batch, rng="3")
    with pytest.raises(TypeError, match="not both"):
        find_symmetries(_net(), nn.MSELoss(), batch, rng=1, seed=1)


def test_symmetry_set_is_a_report(tmp_path):
    found = find_symmetries(_net(), nn.MSELoss(), M.regression())
    assert found.rows == found.families and isinstance(found.passed, bool)
    text = str(found)
    assert text.splitlines()[0].startswith("Parameter-space symmetries:")
    assert "family" in text.splitlines()[1]
    path = tmp_path / "sub" / "found.json"
    assert found.to_json(path) + "\n" == path.read_text()
