import pytest
import torch
from hypothesis import given

from symnet.groups import TimeShift

from ._helpers import (
    SETTINGS,
    assert_close,
    batches,
    check_axioms,
    check_generators,
    kinds_for,
    particles,
    random_x,
    seeds,
)


def test_generator():
    (gen,) = TimeShift().generators((4, 3))
    assert gen.name == "time" and gen.tau == 1.0 and not gen.has_boundary
    assert TimeShift().generator_names() == ["time"]
    q = torch.randn(5, 4, 3, dtype=torch.float64)
    assert_close(gen.xi(q), torch.zeros_like(q))
    xi, xidot = gen.prolong(q, torch.randn_like(q), torch.rand(5, dtype=torch.float64))
    assert_close(xi, torch.zeros_like(q))
    assert_close(xidot, torch.zeros_like(q))


@pytest.mark.parametrize("S", [(7,), (4, 3), (2, 3, 4), ()])
def test_any_configuration_shape(S):
    (gen,) = TimeShift().generators(S)
    q = torch.randn(2, *S, dtype=torch.float64)
    assert gen.xi(q).shape == q.shape
    assert TimeShift().sample(3, S).shape == (3,)


@SETTINGS
@given(n=batches, N=particles, seed=seeds)
def test_group_axioms(n, N, seed):
    check_axioms(TimeShift(), (N, 2), n, seed)


@SETTINGS
@given(n=batches, N=particles, seed=seeds)
def test_finite_action_agrees_with_generators(n, N, seed):
    check_generators(TimeShift(), (N, 3), n, seed)


def test_acts_on_time_only():
    T = TimeShift()
    gen = torch.Generator().manual_seed(0)
    s = T.sample(2, (4, 3), gen)
    assert s.shape == (2,) and s.dtype == torch.float64
    for kind in kinds_for(T):
        x = random_x(kind, 2, (4, 3), gen)
        want = x + s[:, None] if kind == "time" else x
        assert_close(T.act(s, x, kind), want)
    assert_close(T.exp("time", s, (4, 3)), s)


def test_repr_and_bad_input():
    assert repr(TimeShift()) == "TimeShift()"
    with pytest.raises(ValueError, match="scale"):
        TimeShift(scale=0.0)
    with pytest.raises(ValueError, match="no generator 't'"):
        TimeShift().exp("t", torch.zeros(1), (4, 3))
    with pytest.raises(ValueError, match="x must have at least 1"):
        TimeShift().act(torch.zeros(1), torch.tensor(0.0), "time")
