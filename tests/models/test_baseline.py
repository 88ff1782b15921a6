"""Baseline: shapes of both outputs and rollouts of its fields."""

from __future__ import annotations

import pytest
import torch

from symnet.mechanics import rollout
from symnet.models import Baseline


def test_acceleration_output():
    model = Baseline(config_shape=(2, 3), hidden=8)
    q, v = torch.randn(4, 2, 3), torch.randn(4, 2, 3)
    assert model(q, v).shape == (4, 2, 3)
    assert model.field.order == 2
    with torch.no_grad():
        assert rollout(model.field, q, v, dt=0.1, steps=3).q.shape == (4, 4, 2, 3)
    with pytest.raises(AttributeError, match="accelerations"):
        model.time_derivative(q, v)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_time_derivative_output(dtype):
    model = Baseline(config_shape=(1,), hidden=8, output="time_derivative").to(dtype)
    q, p = torch.randn(5, 1, dtype=dtype), torch.randn(5, 1, dtype=dtype)
    qdot, pdot = model(q, p)
    assert qdot.shape == pdot.shape == (5, 1) and qdot.dtype == dtype
    assert model.field.order == 1 and model.default_target == "time_derivative"
    with torch.no_grad():
        assert rollout(model.field, q, p, dt=0.1, steps=2).p.shape == (3, 5, 1)


def test_repr_and_bad_output():
    assert repr(Baseline(config_shape=(1,), hidden=4)) == (
        "Baseline(config_shape=(1,), net=MLP(2 -> 4x2 tanh -> 1), output='acceleration')"
    )
    with pytest.raises(ValueError, match="output"):
        Baseline(config_shape=(1,), output="energy")


def test_periodic_inputs():
    model = Baseline(config_shape=(2,), hidden=8, periodic=True).double()
    q, v = torch.randn(3, 2, dtype=torch.float64), torch.randn(3, 2, dtype=torch.float64)
    assert torch.allclose(model(q, v), model(q + 2 * torch.pi, v))
    assert model.config()["periodic"] is True
