"""train(): seeded, validated, early stopping, checkpoints, every target."""

from __future__ import annotations

import math

import pytest
import torch

import symnet.models as sm
from symnet.models import (
    HNN,
    LNN,
    Baseline,
    Checkpointing,
    History,
    Optimization,
    Rollout,
    Stopping,
    load_checkpoint,
    train,
)
from symnet.systems import DoublePendulum, MassSpring


@pytest.fixture(scope="module")
def spring():
    gen = torch.Generator().manual_seed(0)
    sys = MassSpring()
    return sys.hnn_dataset(n_traj=6, points=10, rng=gen), sys.hnn_dataset(
        n_traj=3, points=10, rng=gen
    )


def _hnn(seed=0):
    torch.manual_seed(seed)
    return HNN(config_shape=(1,), hidden=16)


def test_same_seed_same_losses_other_seed_other_losses(spring):
    data, _ = spring
    runs = [train(_hnn(), data, epochs=3, batch_size=16, rng=s, progress=False) for s in (1, 1, 2)]
    assert runs[0].train_loss == runs[1].train_loss
    assert runs[0].train_loss != runs[2].train_loss


def test_validation_is_recorded_and_best_weights_restored(spring):
    data, val = spring
    model = _hnn()
    hist = train(
        model,
        data,
        val_data=val,
        epochs=4,
        batch_size=16,
        progress=False,
        optimization=Optimization(lr=3e-3),
    )
    assert isinstance(hist, History) and hist.monitor == "val"
    assert len(hist.train_loss) == len(hist.val_loss) == 4
    assert hist.best_loss == min(hist.val_loss)
    assert hist.best_epoch == 1 + hist.val_loss.index(hist.best_loss)
    from symnet.models._data import prepare
    from symnet.models.training import _LOSSES, _evaluate

    vs = prepare(val, "time_derivative", model, rollout_steps=1, rollout_dt=None,
                 dtype=torch.float32, device=torch.device("cpu"))  # fmt: skip
    ctx = {"loss_fn": _LOSSES["mse"]}
    assert _evaluate(model, vs, "time_derivative", ctx, 16) == pytest.approx(hist.best_loss)
    assert "best_val_loss" in repr(hist)


def test_early_stopping(spring):
    data, val = spring
    # lr = 0: the loss never improves after the first epoch
    hist = train(
        _hnn(),
        data,
        val_data=val,
        epochs=20,
        progress=False,
        optimization=Optimization(lr=0.0),
        stopping=Stopping(patience=2),
    )
    assert hist.stopped_early and hist.epochs == 3 and hist.best_epoch == 1


def test_steps_mode_counts_optimizer_steps(spring):
    data, _ = spring
    hist = train(_hnn(), data, steps=7, batch_size=25, progress=False)  # 60 samples: 3 per epoch
    assert hist.steps == 7 and hist.epochs == 3


def test_checkpoint_reload_and_resume(spring, tmp_path):
    data, val = spring
    path = tmp_path / "ckpt" / "hnn.pt"
    full = train(_hnn(), data, val_data=val, epochs=4, batch_size=16, progress=False)
    first = train(
        _hnn(),
        data,
        val_data=val,
        epochs=2,
        batch_size=16,
        progress=False,
        checkpointing=Checkpointing(path),
    )
    assert path.is_file() and first.epochs == 2
    resumed_model = _hnn(seed=5)  # other weights: the checkpoint overwrites them
    resumed = train(
        resumed_model,
        data,
        val_data=val,
        epochs=4,
        batch_size=16,
        progress=False,
        checkpointing=Checkpointing(path, resume=True),
    )
    assert resumed.train_loss == pytest.approx(full.train_loss, rel=1e-6)
    assert resumed.val_loss == pytest.approx(full.val_loss, rel=1e-6)
    ck = load_checkpoint(path)  # rebuilt from the stored config
    assert isinstance(ck.model, HNN) and ck.epoch == 4
    assert ck.history.val_loss == resumed.val_loss
    assert ck.metadata["train_args"]["target"] == "time_derivative"
    q = torch.randn(3, 1)
    for a, b in zip(ck.model(q, q), resumed_model(q, q), strict=True):
        assert torch.equal(a, b)  # best weights, restored at the end of the run


class _Custom(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(4, 1)

    def forward(self, q, qdot):
        return 0.5 * (qdot**2).sum(-1) + self.lin(torch.cat([q, qdot], -1)).squeeze(-1)


def test_custom_module_checkpoint_needs_the_model(tmp_path):
    model = LNN(_Custom(), config_shape=(2,))
    sys = DoublePendulum()

    def fresh(n, generator):
        q, v = sys.sample_states(n, generator)
        return {"q": q, "qdot": v, "qddot": sys.acceleration(q, v)}

    path = tmp_path / "lnn.pt"
    train(
        model,
        fresh,
        epochs=1,
        steps_per_epoch=2,
        batch_size=8,
        progress=False,
        checkpointing=Checkpointing(path),
    )
    with pytest.raises(ValueError, match="custom module"):
        load_checkpoint(path)
    ck = load_checkpoint(path, LNN(_Custom(), config_shape=(2,)), which="last")
    assert ck.epoch == 1


def test_acceleration_target_with_fresh_samples_and_l1_loss():
    sys = DoublePendulum()

    def fresh(n, generator):
        q, v = sys.sample_states(n, generator)
        return {"q": q, "qdot": v, "qddot": sys.acceleration(q, v)}

    torch.manual_seed(0)
    model = LNN(config_shape=(2,), hidden=32, structured=True)
    hist = train(
        model,
        fresh,
        epochs=3,
        steps_per_epoch=10,
        batch_size=64,
        loss="l1",
        val_data=fresh,
        progress=False,
        optimization=Optimization(lr=3e-3),
    )
    assert hist.steps == 30 and hist.loss == "l1" and len(hist.val_loss) == 3
    assert all(math.isfinite(x) for x in hist.train_loss)
    assert hist.train_loss[-1] < hist.train_loss[0]


def test_rollout_target_trains_through_the_integrator(spring):
    data, _ = spring
    model = Baseline(config_shape=(1,), hidden=16, output="time_derivative")
    hist = train(
        model,
        data,
        target="rollout",
        epochs=3,
        batch_size=16,
        progress=False,
        optimization=Optimization(lr=3e-3),
        rollout=Rollout(steps=3),
    )
    assert hist.target == "rollout" and hist.train_loss[-1] < hist.train_loss[0]
    lnn = LNN(config_shape=(1,), hidden=8, structured=True)
    h2 = train(
        lnn,
        data,
        target="rollout",
        epochs=1,
        batch_size=32,
        progress=False,
        rollout=Rollout(steps=2),
    )
    assert h2.steps == 2  # (10 - 2) windows x 6 trajectories = 48 samples, batches of 32


def test_bad_arguments(spring):
    data, _ = spring
    model = _hnn()
    with pytest.raises(ValueError, match="target"):
        train(model, data, target="energy", progress=False)
    with pytest.raises(ValueError, match="epochs or steps"):
        train(model, data, epochs=1, steps=1, progress=False)
    with pytest.raises(ValueError, match="loss"):
        train(model, data, loss="huber", progress=False)
    with pytest.raises(KeyError, match="qddot"):
        train(model, {"q": data.q, "qdot": data.qdot}, target="acceleration", progress=False)
    with pytest.raises(ValueError, match="resume"), pytest.warns(DeprecationWarning):
        train(model, data, resume=True, progress=False)  # the deprecated flat keyword
    assert sm.train is train


@pytest.mark.parametrize(
    "make",
    [
        lambda: sm.SymmetricLNN(3, 2, hidden=8),
        lambda: sm.SymmetricHNN(3, 2, hidden=8, separable=False),
        lambda: sm.LNN(config_shape=(3, 2), hidden=8, structured=True, mass="constant"),
        lambda: sm.PortHNN(config_shape=(3, 2), hidden=8, forcing="mlp"),
        lambda: sm.Baseline(config_shape=(3, 2), hidden=8, periodic=True),
    ],
    ids=["SymmetricLNN", "SymmetricHNN", "LNN", "PortHNN", "Baseline"],
)
def test_every_model_is_rebuilt_from_its_checkpoint(make, tmp_path):
    torch.manual_seed(0)
    model = make()
    gen = torch.Generator().manual_seed(0)
    q, v = torch.randn(8, 3, 2, generator=gen), torch.randn(8, 3, 2, generator=gen)
    data = {"q": q, "qdot": v, "qddot": -q, "p": v, "dq_dt": v, "dp_dt": -q}
    path = tmp_path / "m.pt"
    train(model, data, epochs=1, batch_size=4, progress=False, checkpointing=Checkpointing(path))
    ck = load_checkpoint(path)
    assert type(ck.model) is type(model) and ck.model.config() == model.config()
    for a, b in zip(ck.model.state_dict().values(), model.state_dict().values(), strict=True):
        assert torch.equal(a, b)
