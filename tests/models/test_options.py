"""train's option groups, rng=, and the deprecated flat keywords (each naming its new place)."""

from __future__ import annotations

import dataclasses

import pytest
import torch

import symnet.models as sm
from symnet.models import Checkpointing, Optimization, Rollout, Stopping, train
from symnet.models.options import FLAT_KEYWORDS
from symnet.systems import DoublePendulum, MassSpring


@pytest.fixture(scope="module")
def data():
    return MassSpring().hnn_dataset(n_traj=4, points=8, rng=0)


def _hnn():
    torch.manual_seed(0)
    return sm.HNN(config_shape=(1,), hidden=8)


def test_groups_are_frozen_with_readable_defaults():
    assert Optimization() == Optimization(lr=1e-3, weight_decay=0.0, schedule="constant")
    assert Stopping() == Stopping(patience=None, restore_best=True)
    assert Rollout() == Rollout(steps=5, dt=None, method="rk4")
    assert repr(Checkpointing("a.pt")) == "Checkpointing(path='a.pt', resume=False)"
    with pytest.raises(dataclasses.FrozenInstanceError):
        Optimization().lr = 1.0


@pytest.mark.parametrize("old", sorted(FLAT_KEYWORDS))
def test_every_flat_keyword_warns_naming_its_group(old, data, tmp_path):
    value = {
        "lr": 1e-2, "weight_decay": 0.0, "schedule": "cosine", "clip_grad": 1.0, "patience": 5,
        "restore_best": False, "checkpoint": tmp_path / "c.pt", "resume": False,
        "rollout_steps": 2, "rollout_dt": 0.1, "rollout_method": "rk4",
    }[old]  # fmt: skip
    group, field = FLAT_KEYWORDS[old]
    kw = {"checkpointing": Checkpointing(tmp_path / "c.pt")} if old == "resume" else {}
    with pytest.warns(DeprecationWarning, match=rf"{old}= is deprecated, use {group}=") as rec:
        train(_hnn(), data, steps=2, progress=False, **{old: value}, **kw)
    assert any(f"({field}=...)" in str(w.message) for w in rec)


def test_flat_keywords_give_the_same_run_as_the_groups(data, tmp_path):
    new = train(_hnn(), data, steps=4, batch_size=8, progress=False, rng=2,
                optimization=Optimization(lr=1e-2, clip_grad=0.5),
                stopping=Stopping(patience=3))  # fmt: skip
    with pytest.warns(DeprecationWarning):
        old = train(_hnn(), data, steps=4, batch_size=8, progress=False, seed=2,
                    lr=1e-2, clip_grad=0.5, patience=3)  # fmt: skip
    assert new.train_loss == old.train_loss
    # a flat keyword next to its group updates that field
    with pytest.warns(DeprecationWarning):
        mixed = train(_hnn(), data, steps=4, batch_size=8, progress=False, rng=2,
                      optimization=Optimization(lr=1.0, clip_grad=0.5), lr=1e-2,
                      stopping=Stopping(patience=3))  # fmt: skip
    assert mixed.train_loss == new.train_loss
    path = tmp_path / "c.pt"
    train(_hnn(), data, steps=2, progress=False, checkpointing=Checkpointing(path))
    assert path.is_file()


def test_rng_int_or_generator(data):
    a = train(_hnn(), data, steps=3, batch_size=8, progress=False, rng=5)
    b = train(_hnn(), data, steps=3, batch_size=8, progress=False, rng=5)
    assert a.train_loss == b.train_loss
    g1, g2 = torch.Generator().manual_seed(1), torch.Generator().manual_seed(1)
    c = train(_hnn(), data, steps=3, batch_size=8, progress=False, rng=g1)
    d = train(_hnn(), data, steps=3, batch_size=8, progress=False, rng=g2)
    assert c.train_loss == d.train_loss
    with pytest.raises(ValueError, match="rng"):
        train(_hnn(), data, steps=1, progress=False, rng=-1)
    with pytest.raises(TypeError, match="not both"):
        train(_hnn(), data, steps=1, progress=False, rng=1, seed=1)


def test_bad_groups_and_unknown_keywords(data):
    with pytest.raises(TypeError, match="optimization must be a Optimization"):
        train(_hnn(), data, steps=1, progress=False, optimization={"lr": 1.0})
    with pytest.raises(TypeError, match="unexpected keyword argument 'lrr'"):
        train(_hnn(), data, steps=1, progress=False, lrr=1.0)
    with pytest.raises(ValueError, match="lr"):
        train(_hnn(), data, steps=1, progress=False, optimization=Optimization(lr=-1.0))
    with pytest.raises(ValueError, match="patience"):
        train(_hnn(), data, steps=1, progress=False, stopping=Stopping(patience=0))


def test_chaos_floor_rng_and_deprecated_generator():
    sys = DoublePendulum()
    q0, v0 = sys.sample_states(2, rng=0)
    kw = {"dt": 0.05, "steps": 3, "eps": 1e-8}
    a = sm.chaos_floor(sys, q0, v0, rng=1, **kw)
    with pytest.warns(DeprecationWarning, match="chaos_floor: the argument generator="):
        b = sm.chaos_floor(sys, q0, v0, generator=torch.Generator().manual_seed(1), **kw)
    assert torch.equal(a, b)
    with pytest.raises(TypeError, match="generator must be a torch.Generator"):
        sm.chaos_floor(sys, q0, v0, generator=0, **kw)
