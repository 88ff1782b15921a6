"""The parts of compiled rollouts that need no compiler: the "auto" rule, cache keys, messages."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from symnet.mechanics import _compile_cache, hamiltonian_vector_field, lagrangian_vector_field
from symnet.mechanics._stepping import AUTO_CACHED_SECONDS, AUTO_COMPILE_SECONDS, AutoRule

from ._closed_forms import H_kepler, L_kepler


def clock(step_seconds: float):
    """A clock that advances ``step_seconds`` at every reading."""
    now = [0.0]

    def read() -> float:
        now[0] += step_seconds
        return now[0]

    return read


def decide(step_seconds: float, total: int, cached: bool = False, warmup: int = 3):
    """Tick an AutoRule after steps 1, 2, ... as the rollout does; the decision and its step."""
    rule = AutoRule(clock=clock(step_seconds), warmup=warmup)
    for done in range(1, total):
        decided = rule.tick(done, total, lambda: cached)
        if decided is not None:
            return decided, done, rule.predicted
    return None, total, rule.predicted


def test_auto_rule_times_the_steps_after_the_first_and_predicts_the_rest() -> None:
    decided, at, predicted = decide(0.5, total=1000)
    assert decided is True and at == 4  # the first step starts the clock; three are timed
    assert predicted == pytest.approx(0.5 * 996)


@pytest.mark.parametrize(
    ("step_seconds", "total", "cached", "expected"),
    [
        (AUTO_COMPILE_SECONDS / 100, 1000, False, True),  # about 10x the bound
        (AUTO_COMPILE_SECONDS / 10000, 1000, False, False),  # a tenth of it
        (AUTO_COMPILE_SECONDS / 10000, 1000, True, True),  # already compiled: a lower bound
        (AUTO_CACHED_SECONDS / 10000, 1000, True, False),
    ],
)
def test_auto_rule_thresholds(step_seconds, total, cached, expected) -> None:
    assert decide(step_seconds, total, cached)[0] is expected


def test_auto_rule_never_decides_before_its_warmup() -> None:
    assert decide(100.0, total=4)[0] is None
    assert decide(100.0, total=10, warmup=1)[1] == 2


def test_reason_is_one_line() -> None:
    err = RuntimeError("backend='inductor' raised:\nCppCompileError: no compiler\nmore")
    assert _compile_cache._reason(err) == (
        "RuntimeError: backend='inductor' raised: CppCompileError: no compiler"
    )
    assert _compile_cache._reason(ValueError("bad\nthings")) == "ValueError: bad"
    assert _compile_cache._reason(KeyError()) == "KeyError"


class Model(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.k = nn.Parameter(torch.tensor(2.0, dtype=torch.float64))

    def lagrangian(self, q, v):
        return 0.5 * (v**2).sum(-1) - 0.5 * self.k * (q**2).sum(-1)


def test_field_keys_identify_the_source_and_configuration() -> None:
    key = _compile_cache.field_key
    assert key(lagrangian_vector_field(L_kepler))[0] == key(lagrangian_vector_field(L_kepler))[0]
    assert (
        key(lagrangian_vector_field(L_kepler))[0]
        != key(lagrangian_vector_field(L_kepler, regularization=0.1))[0]
    )
    assert key(hamiltonian_vector_field(H_kepler))[0] != key(lagrangian_vector_field(L_kepler))[0]
    model = Model()  # a bound method is a new object at each access: keyed by its instance
    assert (
        key(lagrangian_vector_field(model.lagrangian))[0]
        == key(lagrangian_vector_field(model.lagrangian))[0]
    )
    assert (
        key(lagrangian_vector_field(model.lagrangian))[0]
        != key(lagrangian_vector_field(Model().lagrangian))[0]
    )


def test_signature_tells_grad_modes_apart() -> None:
    x = torch.ones(3, 2)
    plain = _compile_cache.signature(x)
    with torch.no_grad():
        assert _compile_cache.signature(x) != plain
    assert _compile_cache.signature(x.requires_grad_()) != plain
    assert _compile_cache.signature(torch.ones(4, 2)) != plain


def test_cache_keeps_at_most_max_entries(monkeypatch) -> None:
    monkeypatch.setattr(_compile_cache, "MAX_ENTRIES", 3)
    monkeypatch.setattr(_compile_cache, "_ENTRIES", type(_compile_cache._ENTRIES)())
    for i in range(5):
        _compile_cache.artefact(("test", i), lambda: (lambda x: x, "f", None))
    assert list(_compile_cache._ENTRIES) == [("test", 2), ("test", 3), ("test", 4)]
    _compile_cache.clear()
    assert not _compile_cache._ENTRIES
