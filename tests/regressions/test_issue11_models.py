"""Issue 11, symnet.models: safe checkpoints, bad data refused, every option validated."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import symnet.models as sm
from symnet.models import checkpoint as ckpt_module
from symnet.models.options import FLAT_KEYWORDS
from symnet.systems import MassSpring


@pytest.fixture(scope="module")
def spring():
    gen = torch.Generator().manual_seed(0)
    return MassSpring().hnn_dataset(n_traj=4, points=8, rng=gen)


def _hnn(seed=0, **kw):
    torch.manual_seed(seed)
    return sm.HNN(config_shape=(1,), hidden=8, **kw)


def _dict_data(m=16, n=1, seed=0):
    gen = torch.Generator().manual_seed(seed)
    q = torch.randn(m, n, generator=gen)
    p = torch.randn(m, n, generator=gen)
    return {"q": q, "p": p, "dq_dt": p.clone(), "dp_dt": -q}


def _weights(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


# ---------------------------------------------------------- item 8: checkpoints execute code


class _Payload:
    """Unpickling this object creates a file: the proof that code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (self.marker, "pwned"))


def _malicious(tmp_path, nested):
    marker = tmp_path / "pwned.txt"
    path = tmp_path / ("nested.pt" if nested else "top.pt")
    obj = _Payload(marker)
    if nested:  # a checkpoint that looks right, with the payload inside
        obj = {"schema": ckpt_module.SCHEMA, "model_class": "HNN", "history": obj}
    torch.save(obj, path)
    return path, marker


@pytest.mark.parametrize("nested", [False, True], ids=["top-level", "nested"])
def test_item8_crafted_checkpoint_does_not_run_code(tmp_path, nested, spring):
    path, marker = _malicious(tmp_path, nested)
    with pytest.raises(ValueError, match="weights_only") as err:
        sm.load_checkpoint(path)
    assert str(path) in str(err.value)
    assert not marker.exists()
    with pytest.raises(ValueError, match="weights_only"):
        sm.load_checkpoint(path, model=_hnn())
    assert not marker.exists()
    model = _hnn()
    before = _weights(model)
    with pytest.raises(ValueError, match="weights_only"):
        sm.train(
            model,
            spring,
            epochs=1,
            checkpointing=sm.Checkpointing(path, resume=True),
            progress=False,
        )
    assert not marker.exists()
    for k, v in model.state_dict().items():  # the model was left alone
        assert torch.equal(v, before[k])


def test_item8_files_that_are_not_checkpoints_are_clear_errors(tmp_path):
    text = tmp_path / "notes.pt"
    text.write_text("not a checkpoint")
    with pytest.raises(ValueError, match="not a symnet.models checkpoint"):
        sm.load_checkpoint(text)
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(3)}, other)
    with pytest.raises(ValueError, match="not a symnet.models checkpoint"):
        sm.load_checkpoint(other)
    with pytest.raises(FileNotFoundError):
        sm.load_checkpoint(tmp_path / "missing.pt")
    # a symnet checkpoint whose parts are of the wrong kind: named, not a KeyError/TypeError
    bad = tmp_path / "bad.pt"
    torch.save({"schema": ckpt_module.SCHEMA, "model_class": "HNN"}, bad)
    with pytest.raises(ValueError, match="state_dict"):
        sm.load_checkpoint(bad)


def test_item8_round_trip_and_resume_with_optimizer_scheduler_and_rng(
    spring, tmp_path, monkeypatch
):
    from symnet.models import training

    kw = {
        "epochs": 4,
        "batch_size": 8,
        "optimization": sm.Optimization(lr=3e-3, schedule="cosine"),
        "progress": False,
    }
    full_model = _hnn()
    full = sm.train(full_model, spring, **kw)
    path = tmp_path / "ck.pt"
    real_save = training._save

    def save_then_stop(*args):
        real_save(*args)
        if args[6] == 2:  # the epoch just saved: the run is killed right after
            raise KeyboardInterrupt

    monkeypatch.setattr(training, "_save", save_then_stop)
    with pytest.raises(KeyboardInterrupt):
        sm.train(_hnn(), spring, **kw, checkpointing=sm.Checkpointing(path))
    monkeypatch.setattr(training, "_save", real_save)
    # the file holds only tensors and plain types: torch's safe loader reads it
    raw = torch.load(path, weights_only=True)
    assert raw["epoch"] == 2 and raw["optimizer"]["state"], "Adam's moments are stored"
    assert raw["scheduler"] is not None and raw["generator_state"].dtype == torch.uint8
    model = _hnn(seed=3)  # other weights: the checkpoint replaces them
    resumed = sm.train(model, spring, **kw, checkpointing=sm.Checkpointing(path, resume=True))
    # same batches (generator state), same Adam moments, same learning rates (scheduler)
    assert resumed.train_loss == pytest.approx(full.train_loss, rel=1e-6, abs=0)
    for a, b in zip(model.parameters(), full_model.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-7)
    ck = sm.load_checkpoint(path, which="last")
    assert ck.epoch == 4 and ck.history.train_loss == resumed.train_loss
    assert isinstance(ck.model, sm.HNN)


def test_item8_callable_activation_round_trips_with_model_given(tmp_path):
    data = _dict_data()
    torch.manual_seed(0)
    model = sm.HNN(config_shape=(1,), hidden=8, activation=nn.ELU)
    path = tmp_path / "elu.pt"
    sm.train(model, data, epochs=1, checkpointing=sm.Checkpointing(path), progress=False)
    with pytest.raises(ValueError, match="model="):
        sm.load_checkpoint(path)
    ck = sm.load_checkpoint(path, model=sm.HNN(config_shape=(1,), hidden=8, activation=nn.ELU))
    for a, b in zip(ck.model.state_dict().values(), model.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_item8_checkpoint_of_another_model_is_a_clear_error(spring, tmp_path):
    path = tmp_path / "hnn.pt"
    sm.train(_hnn(), spring, epochs=1, checkpointing=sm.Checkpointing(path), progress=False)
    other = sm.HNN(config_shape=(1,), hidden=4)
    with pytest.raises(ValueError, match="do not fit"):
        sm.load_checkpoint(path, model=other)
    with pytest.raises(ValueError, match="do not fit"):
        sm.train(
            other,
            spring,
            epochs=2,
            checkpointing=sm.Checkpointing(path, resume=True),
            progress=False,
        )


# -------------------------------------------------------------- item 10: bad training data


def test_item10_inf_in_targets_is_an_error_naming_tensor_and_index():
    data = _dict_data()
    data["dp_dt"][3, 0] = math.inf
    model = _hnn()
    before = _weights(model)
    with pytest.raises(ValueError, match=r"data\['dp_dt'\] contains inf.*\(3, 0\)"):
        sm.train(model, data, epochs=2, progress=False)
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]) and bool(torch.isfinite(v).all())


def test_item10_nan_in_trajectories_and_val_data_and_sampler(spring):
    bad = spring.q.clone()
    bad[2, 1, 0] = math.nan
    from dataclasses import replace

    with pytest.raises(ValueError, match=r"data\['q'\] contains NaN.*\(2, 1, 0\)"):
        sm.train(_hnn(), replace(spring, q=bad), epochs=1, progress=False)
    with pytest.raises(ValueError, match=r"val_data\['q'\] contains NaN"):
        sm.train(_hnn(), spring, val_data=replace(spring, q=bad), epochs=1, progress=False)

    def sampler(n, generator):
        d = _dict_data(n)
        d["dq_dt"][1, 0] = math.nan
        return d

    with pytest.raises(ValueError, match=r"dq_dt.*NaN.*\(1, 0\)"):
        sm.train(_hnn(), sampler, epochs=1, steps_per_epoch=2, batch_size=4, progress=False)


def test_item10_values_that_overflow_the_model_dtype_are_errors():
    data = {k: v.double() for k, v in _dict_data().items()}
    data["q"][5, 0] = 1e300  # finite in float64, inf in the float32 model
    with pytest.raises(ValueError, match=r"data\['q'\].*float32.*\(5, 0\)"):
        sm.train(_hnn(), data, epochs=1, progress=False)


class _NaNAbove(nn.Module):
    """Finite rates except at states with q > 5 (a model that blows up somewhere)."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(2, 2)

    def forward(self, x):
        return self.lin(x) * torch.where(x[:, :1] > 5, math.nan, 1.0)


def test_item10_nonfinite_prediction_and_loss_are_errors_naming_the_sample():
    data = _dict_data()
    data["q"][7, 0] = 10.0
    model = sm.Baseline(_NaNAbove(), config_shape=(1,), output="time_derivative")
    before = _weights(model)
    with pytest.raises(FloatingPointError, match=r"prediction.*NaN.*sample 7"):
        sm.train(model, data, epochs=2, batch_size=None, progress=False)
    for k, v in model.state_dict().items():  # the step that met the NaN was not taken
        assert torch.equal(v, before[k])
    with pytest.raises(FloatingPointError, match=r"sample 7"):  # in a later batch too
        sm.train(model, data, epochs=2, batch_size=4, progress=False)
    # trajectories: the index in the user's (time step, trajectory) terms
    traj = {k: v.reshape(4, 4, 1) for k, v in data.items()}
    with pytest.raises(FloatingPointError, match=r"time step 1 of trajectory 3"):
        sm.train(model, traj, epochs=1, progress=False)
    # finite data and predictions, but a loss that overflows float32
    huge = {k: v * 1e30 for k, v in _dict_data().items()}
    with pytest.raises(FloatingPointError, match="loss.*inf"):
        sm.train(_hnn(), huge, epochs=1, progress=False)


@pytest.mark.parametrize("value", [-1.0, 0.0, math.nan, True, "1"])
def test_item10_clip_grad_out_of_range(value, spring):
    with pytest.raises((ValueError, TypeError), match="clip_grad"):
        opt = sm.Optimization(clip_grad=value)  # refused here or by train
        sm.train(_hnn(), spring, epochs=1, optimization=opt, progress=False)


def test_item10_clip_grad_valid_still_clips(spring):
    opt = sm.Optimization(clip_grad=np.float64(0.5))
    hist = sm.train(_hnn(), spring, steps=2, optimization=opt, progress=False)
    assert hist.steps == 2


# ---------------------------------------------- item 19: options validated, valid ones taken

# (option group or None for a keyword of train, field or keyword, bad value)
BAD_TRAIN_OPTIONS = [
    (None, "steps", 0), (None, "steps", -3), (None, "steps", 2.0), (None, "steps", True),
    (None, "epochs", -1), (None, "epochs", 0), (None, "epochs", 1.5),
    (None, "batch_size", -1), (None, "batch_size", 0), (None, "batch_size", False),
    ("stopping", "patience", -1), ("stopping", "patience", 0),
    ("rollout", "dt", -0.1), ("rollout", "dt", 0.0), ("rollout", "dt", math.nan),
    ("rollout", "steps", 0), ("rollout", "method", "rk5"),
    ("optimization", "lr", -1e-3), ("optimization", "lr", math.inf),
    ("optimization", "lr", "fast"),
    ("optimization", "weight_decay", -1.0), (None, "steps_per_epoch", 0),
    (None, "rng", -1), (None, "rng", 1.5),
    ("checkpointing", "resume", "yes"), (None, "progress", 1),
    ("stopping", "restore_best", None),
    ("checkpointing", "path", 123), (None, "loss", "huber"),
    ("optimization", "schedule", "step"), (None, "target", "energy"),
]  # fmt: skip

_GROUP_CLASSES = {
    "optimization": sm.Optimization,
    "stopping": sm.Stopping,
    "checkpointing": sm.Checkpointing,
    "rollout": sm.Rollout,
}
# (group, field) -> the flat keyword of earlier releases (rollout_dt, checkpoint, ...)
_FLAT_NAME = {where: old for old, where in FLAT_KEYWORDS.items()}


@pytest.mark.parametrize(
    ("group", "name", "value"),
    BAD_TRAIN_OPTIONS,
    ids=[f"{g or 'train'}.{n}={v!r}" for g, n, v in BAD_TRAIN_OPTIONS],
)
def test_item19_train_options_are_validated(group, name, value, spring, tmp_path):
    if group is None:
        with pytest.raises((ValueError, TypeError), match=name):
            sm.train(_hnn(), spring, **{"progress": False, name: value})
        return
    cls = _GROUP_CLASSES[group]
    fields = {name: value}
    if cls is sm.Checkpointing and name != "path":
        fields["path"] = tmp_path / "ck.pt"  # a valid path next to the bad field
    # the message names the field: as Group.field or as its flat keyword (rollout_dt=)
    match = rf"{cls.__name__}\.{name}\b|\b{_FLAT_NAME[group, name]}\b"
    with pytest.raises((ValueError, TypeError), match=match):  # refused by the group or by train
        sm.train(_hnn(), spring, progress=False, **{group: cls(**fields)})


def test_item19_integers_of_any_integer_type_are_accepted(spring, tmp_path):
    path = tmp_path / "np.pt"
    hist = sm.train(_hnn(), spring, steps=np.int64(3), batch_size=np.int32(8), rng=np.int64(1),
                    stopping=sm.Stopping(patience=np.int16(5)),
                    checkpointing=sm.Checkpointing(path), progress=False)  # fmt: skip
    assert hist.steps == 3 and type(hist.steps) is int
    hist = sm.train(_hnn(), spring, epochs=torch.tensor(2), progress=False)
    assert hist.epochs == 2
    raw = torch.load(path, weights_only=True)
    assert type(raw["train_args"]["batch_size"]) is int
    # rollout options too
    model = sm.Baseline(config_shape=(1,), hidden=8, output="time_derivative")
    h = sm.train(model, spring, target="rollout",
                 rollout=sm.Rollout(steps=np.int64(2), dt=np.float32(0.1)),
                 steps=np.uint8(1), progress=False)  # fmt: skip
    assert h.steps == 1


def test_item19_model_without_parameters_or_method_is_a_clear_error(spring):
    class Empty(nn.Module):
        default_target = "time_derivative"
        config_shape = (1,)

        def time_derivative(self, q, p, t=None):
            return p, -q

    with pytest.raises(ValueError, match="model has no floating-point parameters"):
        sm.train(Empty(), spring, epochs=1, progress=False)
    with pytest.raises(TypeError, match="model"):
        sm.train("HNN", spring, epochs=1, progress=False)
    with pytest.raises(TypeError, match="acceleration"):
        sm.train(_hnn(), spring, target="acceleration", epochs=1, progress=False)


def test_item19_non_checkpoint_file_on_resume_is_a_clear_error(spring, tmp_path):
    path = tmp_path / "junk.pt"
    path.write_bytes(b"\x80\x04junk")
    with pytest.raises(ValueError, match="not a symnet.models checkpoint"):
        sm.train(
            _hnn(),
            spring,
            epochs=1,
            checkpointing=sm.Checkpointing(path, resume=True),
            progress=False,
        )


def test_item19_checkpoint_that_is_a_directory_is_refused(spring, tmp_path):
    with pytest.raises(ValueError, match="checkpoint"):
        sm.train(_hnn(), spring, epochs=1, checkpointing=sm.Checkpointing(tmp_path), progress=False)


def test_item19_load_checkpoint_options(spring, tmp_path):
    path = tmp_path / "a.pt"
    sm.train(_hnn(), spring, epochs=1, checkpointing=sm.Checkpointing(path), progress=False)
    with pytest.raises(ValueError, match="which"):
        sm.load_checkpoint(path, which="middle")
    with pytest.raises(TypeError, match="model"):
        sm.load_checkpoint(path, model="HNN")
    with pytest.raises(TypeError, match="path"):
        sm.load_checkpoint(123)


BAD_MODEL_OPTIONS = [
    (lambda: sm.MLP(2, 1, hidden=True), "hidden"),
    (lambda: sm.MLP(2, 1, hidden=0), "hidden"),
    (lambda: sm.HNN(config_shape=(1,), layers=1.0), "layers"),
    (lambda: sm.HNN(config_shape=(1,), separable="no"), "separable"),
    (lambda: sm.HNN(config_shape=(True,)), "config_shape"),
    (lambda: sm.LNN(config_shape=(2,), eps=math.inf), "eps"),
    (lambda: sm.LNN(config_shape=(2,), eps=math.nan), "eps"),
    (lambda: sm.LNN(config_shape=(2,), regularization=math.inf), "regularization"),
    (lambda: sm.LNN(config_shape=(2,), max_condition=-1.0), "max_condition"),
    (lambda: sm.LNN(config_shape=(2,), structured="yes"), "structured"),
    (lambda: sm.LNN(config_shape=(2,), periodic=1), "periodic"),
    (lambda: sm.PortHNN(config_shape=(1,), max_frequency=-1.0), "max_frequency"),
    (lambda: sm.PortHNN(config_shape=(1,), aux_hidden=0), "aux_hidden"),
    (lambda: sm.PortHNN(config_shape=(1,), frequencies=0), "frequencies"),
    (lambda: sm.Baseline(config_shape=(1,), hidden=-2), "hidden"),
    (lambda: sm.SymmetricLNN(3, 2, mass=math.inf), "mass"),
    (lambda: sm.SymmetricLNN(3, 2, hidden=0), "hidden"),
    (lambda: sm.SymmetricHNN(3, 2, separable="yes"), "separable"),
    (lambda: sm.InvariantPotential(hidden=0), "hidden"),
]


@pytest.mark.parametrize(("make", "name"), BAD_MODEL_OPTIONS, ids=[n for _, n in BAD_MODEL_OPTIONS])
def test_item19_model_options_are_validated(make, name):
    with pytest.raises((ValueError, TypeError), match=name):
        make()


def test_item19_model_options_accept_numpy_integers_and_store_plain_ints(tmp_path):
    i = np.int64
    models = [
        sm.MLP(i(2), i(1), hidden=i(4), layers=i(1)),
        sm.HNN(config_shape=(i(1),), hidden=i(4), layers=i(1)),
        sm.LNN(config_shape=i(2), hidden=i(4), layers=i(1), structured=np.bool_(True)),
        sm.PortHNN(config_shape=(1,), hidden=i(4), frequencies=i(3), aux_hidden=i(4)),
        sm.SymmetricLNN(i(3), i(2), hidden=i(4), layers=i(1)),
        sm.Baseline(config_shape=(i(1),), hidden=i(4), output="time_derivative"),
    ]
    for m in models[1:]:
        for key, value in m.config().items():
            assert not isinstance(value, np.generic), (type(m).__name__, key)
    path = tmp_path / "p.pt"
    sm.train(
        models[3], _dict_data(), epochs=1, checkpointing=sm.Checkpointing(path), progress=False
    )
    assert sm.load_checkpoint(path).model.config() == models[3].config()


def test_item19_metric_options_are_validated():
    sys = MassSpring()
    q0, v0 = torch.ones(2, 1, dtype=torch.float64), torch.zeros(2, 1, dtype=torch.float64)
    with pytest.raises(ValueError, match="substeps"):
        sm.simulate(sys, q0, v0, dt=0.1, steps=3, substeps=0)
    with pytest.raises((ValueError, TypeError), match="steps"):
        sm.simulate(sys, q0, v0, dt=0.1, steps=-1)
    with pytest.raises(ValueError, match="dt"):
        sm.simulate(sys, q0, v0, dt=math.nan, steps=3)
    traj = sm.simulate(sys, q0, v0, dt=0.1, steps=np.int64(3), substeps=np.int32(2))
    assert traj.q.shape == (4, 2, 1)
    with pytest.raises(ValueError, match="eps"):
        sm.chaos_floor(sys, q0, v0, dt=0.1, steps=3, eps=-1.0)
    for bad in ("0", 1.5, True):  # rng= takes an int seed or a torch.Generator, nothing else
        with pytest.raises(TypeError, match="rng"):
            sm.chaos_floor(sys, q0, v0, dt=0.1, steps=3, rng=bad)
    with pytest.raises(ValueError, match="scale"):
        sm.energy_drift(sys.energy, (traj.q, traj.v), (traj.q, traj.v), scale=-1.0)
    with pytest.raises(ValueError, match="shape"):
        sm.state_error((traj.q, traj.v), (traj.q[:2], traj.v[:2]))


# ------------------------------------------------------ item 20: failed checkpoint writes


def test_item20_failed_checkpoint_write_leaves_no_tmp(tmp_path, monkeypatch, spring):
    path = tmp_path / "run.pt"
    sm.train(_hnn(), spring, epochs=1, checkpointing=sm.Checkpointing(path), progress=False)
    good = path.read_bytes()

    def disk_full(obj, f, *args, **kwargs):
        Path(f).write_bytes(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ckpt_module.torch, "save", disk_full)
    with pytest.raises(OSError, match="No space"):
        sm.train(_hnn(), spring, epochs=1, checkpointing=sm.Checkpointing(path), progress=False)
    assert sorted(os.listdir(tmp_path)) == ["run.pt"]
    assert path.read_bytes() == good  # the previous checkpoint is intact


def test_item20_failed_replace_leaves_no_tmp(tmp_path):
    target = tmp_path / "ck.pt"
    target.mkdir()
    (target / "keep").write_text("x")  # os.replace onto a non-empty directory fails
    with pytest.raises(OSError):
        ckpt_module.save_checkpoint(target, {"epoch": 1})
    assert sorted(os.listdir(tmp_path)) == ["ck.pt"]


def test_item20_unsaveable_payload_is_refused_before_writing(tmp_path):
    with pytest.raises(TypeError, match=r"payload\['extra'\]"):
        ckpt_module.save_checkpoint(tmp_path / "x.pt", {"extra": lambda: 0})
    assert os.listdir(tmp_path) == []


# ---------------------------------------------------------------------------- the sweep


def test_sweep_float64_data_is_cast_to_the_model_dtype_and_not_modified(spring):
    data = {k: v.double() for k, v in _dict_data().items()}
    copies = {k: v.clone() for k, v in data.items()}
    model = _hnn()
    sm.train(model, data, epochs=2, progress=False)
    assert next(model.parameters()).dtype == torch.float32
    for k in data:
        assert data[k].dtype == torch.float64 and torch.equal(data[k], copies[k])
    # Trajectories and rollout windows: not modified either
    before = {k: v.clone() for k, v in spring.as_dict().items()}
    model = sm.Baseline(config_shape=(1,), hidden=8, output="time_derivative")
    sm.train(model, spring, target="rollout", rollout=sm.Rollout(steps=2), steps=2, progress=False)
    for k, v in spring.as_dict().items():
        assert torch.equal(v, before[k])


def test_sweep_direct_calls_with_another_dtype_say_so():
    model = _hnn()
    q = torch.randn(3, 1, dtype=torch.float64)
    with pytest.raises(TypeError, match=r"float64.*float32.*model\.double\(\)|float32.*float64"):
        model.time_derivative(q, q)
    with pytest.raises(TypeError, match="dtype"):
        model.hamiltonian(q, q)
    lnn = sm.LNN(config_shape=(1,), hidden=4)
    with pytest.raises(TypeError, match="dtype"):
        lnn.acceleration(q, q)
    with pytest.raises(TypeError, match="dtype"):
        sm.simulate(lnn, q, q, dt=0.1, steps=2)
    # the documented fix works
    qd, pd = model.double().time_derivative(q, q)
    assert qd.dtype == torch.float64


def test_sweep_shapes_of_targets_and_predictions_are_checked():
    data = _dict_data(n=2)
    data["dp_dt"] = data["dp_dt"][:, :1]  # (M, 1) targets for a (M, 2) state
    with pytest.raises(ValueError, match=r"dp_dt.*\(16, 1\)"):
        sm.train(sm.HNN(config_shape=(2,), hidden=4), data, epochs=1, progress=False)

    class Wrong(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(4, 3)

        def forward(self, x):
            return self.lin(x)

    model = sm.Baseline(Wrong(), config_shape=(2,), output="time_derivative")
    with pytest.raises(ValueError, match=r"module.*\(B, 4\).*\(3, 3\)"):
        model(torch.randn(3, 2), torch.randn(3, 2))


def test_sweep_custom_scalar_modules_must_return_one_value_per_state():
    class Wide(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(2, 3)

        def forward(self, q, v):
            return self.lin(torch.cat([q, v], -1))

    q = torch.randn(4, 1)
    for model, call in [
        (sm.HNN(Wide(), config_shape=(1,)), "hamiltonian"),
        (sm.PortHNN(Wide(), config_shape=(1,)), "hamiltonian"),
        (sm.LNN(Wide(), config_shape=(1,)), "lagrangian"),
    ]:
        with pytest.raises(ValueError, match=r"shape \(B,\) = \(4,\).*got \(4, 3\)"):
            getattr(model, call)(q, q)


def test_sweep_energy_drift_checks_the_energy_shape():
    q = torch.ones(3, 2, 1)
    with pytest.raises(ValueError, match=r"energy.*\(6,\)"):
        sm.energy_drift(lambda q, v: q, (q, q), (q, q))


def test_sweep_checkpoint_read_never_unpickles_objects(tmp_path, monkeypatch):
    """Whatever torch's default is, the loader asks for weights_only=True."""
    seen = {}
    real = torch.load

    def spy(*args, **kwargs):
        seen.update(kwargs)
        return real(*args, **kwargs)

    path = tmp_path / "a.pt"
    sm.train(_hnn(), _dict_data(), epochs=1, checkpointing=sm.Checkpointing(path), progress=False)
    monkeypatch.setattr(ckpt_module.torch, "load", spy)
    sm.load_checkpoint(path)
    assert seen.get("weights_only") is True


def test_sweep_rollout_needs_evenly_spaced_times(spring):
    from dataclasses import replace

    t = spring.t.clone()
    t[3:] += 0.05  # one longer step
    model = sm.Baseline(config_shape=(1,), hidden=8, output="time_derivative")
    with pytest.raises(ValueError, match="evenly spaced"):
        sm.train(model, replace(spring, t=t), target="rollout", steps=1, progress=False)
    # Rollout(dt=...) given: the data's times are not used
    sm.train(model, replace(spring, t=t), target="rollout", rollout=sm.Rollout(dt=0.1), steps=1,
             progress=False)  # fmt: skip


def test_sweep_time_argument_shape_is_checked():
    model = sm.PortHNN(config_shape=(1,), hidden=4)
    q = torch.randn(3, 1)
    with pytest.raises(ValueError, match=r"t must be .*\(3,\)"):
        model.time_derivative(q, q, torch.zeros(4))
    qd, pd = model.time_derivative(q, q, torch.zeros(3))
    assert qd.shape == pd.shape == (3, 1)


def test_sweep_resume_into_another_model_class_is_refused(spring, tmp_path):
    path = tmp_path / "hnn.pt"
    sm.train(_hnn(), spring, epochs=1, checkpointing=sm.Checkpointing(path), progress=False)
    other = sm.PortHNN(config_shape=(1,), hidden=8)
    before = _weights(other)
    with pytest.raises(ValueError, match="holds a HNN"):
        sm.train(
            other,
            spring,
            epochs=2,
            checkpointing=sm.Checkpointing(path, resume=True),
            progress=False,
        )
    for k, v in other.state_dict().items():
        assert torch.equal(v, before[k])
