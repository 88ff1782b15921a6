"""``train``: fit a physics model to accelerations, time derivatives or short rollouts.

One loop for every model of :mod:`symnet.models`: seeded batches (an explicit
``torch.Generator``), Adam, an optional cosine learning-rate decay, a tqdm
progress bar, validation after every epoch, early stopping on the monitored
loss (validation when given, else training), the best weights restored at
the end, and a checkpoint file (:mod:`symnet.models.checkpoint`) that
``resume=True`` continues from. Training through rollouts is differentiable
end to end: :func:`symnet.mechanics.rollout` records the graph.

References
----------
S. Greydanus et al., "Hamiltonian Neural Networks", NeurIPS (2019) (time
derivatives); M. Cranmer et al., "Lagrangian Neural Networks" (2020)
(accelerations, L1 loss); S. A. Desai et al., "Port-Hamiltonian neural
networks", Phys. Rev. E 104, 034312 (2021).
"""

from __future__ import annotations

import copy
import inspect
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from symnet._util import format_shape
from symnet.mechanics import SingularMassMatrixError
from symnet.models._data import TARGETS, Dataset, Sampler, first_nonfinite, prepare
from symnet.models._options import (
    choice,
    flag,
    integer,
    module_dtype,
    optional_integer,
    optional_real,
    real,
)
from symnet.models.checkpoint import (
    _path,
    history_from,
    load_weights,
    plain_data,
    read_checkpoint,
    save_checkpoint,
)

__all__ = ["History", "train"]

_LOSSES: dict[str, Callable[[Tensor, Tensor], Tensor]] = {"mse": F.mse_loss, "l1": F.l1_loss}


@dataclass
class History:
    """What :func:`train` did, epoch by epoch.

    Attributes
    ----------
    train_loss : list of float
        Mean batch loss of every epoch.
    val_loss : list of float
        Validation loss after every epoch (empty without ``val_data``).
    best_epoch : int or None
        1-based epoch of the lowest monitored loss (its weights are restored).
    best_loss : float
        That loss.
    steps : int
        Optimizer steps taken.
    stopped_early : bool
        Whether ``patience`` ended the run.
    seconds : float
        Wall time of the run (this call only, when resumed).
    target, loss, monitor : str
        What was fitted, with which loss, and which loss was monitored
        (``"val"`` or ``"train"``).
    """

    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    best_epoch: int | None = None
    best_loss: float = math.inf
    steps: int = 0
    stopped_early: bool = False
    seconds: float = 0.0
    target: str = ""
    loss: str = ""
    monitor: str = "train"

    @property
    def epochs(self) -> int:
        """Epochs completed."""
        return len(self.train_loss)

    def as_dict(self) -> dict[str, Any]:
        """Plain data (for JSON and checkpoints)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> History:
        """Inverse of :meth:`as_dict`."""
        return cls(**d)

    def __repr__(self) -> str:
        last = f"{self.train_loss[-1]:.3e}" if self.train_loss else "-"
        val = f", val_loss={self.val_loss[-1]:.3e}" if self.val_loss else ""
        stop = ", stopped early" if self.stopped_early else ""
        return (
            f"History(epochs={self.epochs}, steps={self.steps}, train_loss={last}{val}, "
            f"best_epoch={self.best_epoch}, best_{self.monitor}_loss={self.best_loss:.3e}{stop})"
        )


def _shaped(out: Any, like: Tensor, what: str) -> Tensor:
    """``out`` if it is a tensor of the shape of ``like``; else a ValueError naming ``what``."""
    if not isinstance(out, Tensor) or out.shape != like.shape:
        got = format_shape(out.shape) if isinstance(out, Tensor) else type(out).__name__
        raise ValueError(
            f"{what} must return a tensor of the shape of the states, "
            f"{format_shape(like.shape)}, got {got}"
        )
    return out


def _predict(model: nn.Module, batch: dict[str, Tensor], target: str, ctx: dict) -> tuple:
    """``(prediction, truth)`` of one batch, each of shape (B, ...)."""
    t = batch.get("t")
    name = type(model).__name__
    if target == "acceleration":
        pred = _shaped(
            model.acceleration(batch["q"], batch["qdot"], t), batch["q"], f"{name}.acceleration"
        )
        return pred.flatten(1), batch["qddot"].flatten(1)
    if target == "time_derivative":
        out = model.time_derivative(batch["q"], batch["p"], t)
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            raise ValueError(
                f"{name}.time_derivative must return a pair (qdot, pdot), got {type(out).__name__}"
            )
        qd = _shaped(out[0], batch["q"], f"{name}.time_derivative (qdot)")
        pd = _shaped(out[1], batch["q"], f"{name}.time_derivative (pdot)")
        pred = torch.cat([qd.flatten(1), pd.flatten(1)], -1)
        return pred, torch.cat([batch["dq_dt"].flatten(1), batch["dp_dt"].flatten(1)], -1)
    from symnet.mechanics import rollout

    q, v = batch["q"], batch["v"]  # (B, R + 1, *S)
    t0 = 0.0 if t is None else t
    traj = rollout(
        model.field, q[:, 0], v[:, 0], dt=ctx["dt"], steps=q.shape[1] - 1,
        method=ctx["method"], t0=t0,
    )  # fmt: skip
    pred = torch.cat(
        [traj.q[1:].transpose(0, 1).flatten(2), traj.v[1:].transpose(0, 1).flatten(2)], -1
    )
    true = torch.cat([q[:, 1:].flatten(2), v[:, 1:].flatten(2)], -1)
    return pred.flatten(1), true.flatten(1)


def _evaluate(model: nn.Module, data: Dataset, target: str, ctx: dict, batch_size: int) -> float:
    total, count = 0.0, 0
    with torch.no_grad():
        for idx in torch.arange(data.size).split(batch_size or data.size):
            pred, true = _predict(model, data.take(idx), target, ctx)
            _finite_prediction(pred, idx, "on val_data", ctx)
            total += float(ctx["loss_fn"](pred, true)) * len(idx)
            count += len(idx)
    value = total / count
    if not math.isfinite(value):
        raise FloatingPointError(
            f"the validation loss is {value} although the predictions on val_data are finite: "
            f"the {ctx['loss_name']} loss overflowed {ctx['dtype']} (rescale the data)"
        )
    return value


def _finite_prediction(pred: Tensor, idx: Tensor | None, where: str, ctx: dict) -> None:
    """FloatingPointError naming the sample when the model's prediction is not finite."""
    bad = first_nonfinite(pred)
    if bad is None:
        return
    row = bad[0][0]
    data = ctx.get("val_set" if where.startswith("on val") else "train_set")
    if idx is not None and isinstance(data, Dataset):
        sample = data.describe(int(idx[row]))
    else:
        sample = f"row {row} of the batch drawn from the data callable"
    raise FloatingPointError(
        f"the model's prediction {where} contains {bad[1]} at {sample} (output entry "
        f"{bad[0][1]}), although the data is finite: the model diverges at that state. "
        "The weights were not updated with it"
    )


def _finite_step(model: nn.Module, value: Tensor, epoch: int, step: int, ctx: dict) -> float:
    """The loss as a float; FloatingPointError (naming a parameter) for NaN/inf loss or grads."""
    loss = float(value.detach())
    where = f"at epoch {epoch}, step {step}"
    if not math.isfinite(loss):
        raise FloatingPointError(
            f"the training loss is {loss} {where} although the data and the model's prediction "
            f"are finite: the {ctx['loss_name']} loss overflowed {ctx['dtype']} (rescale the "
            "data or use loss='l1'). The weights were not updated with it"
        )
    grads = [(n, p.grad) for n, p in model.named_parameters() if p.grad is not None]
    if grads:
        total = torch.stack([torch.linalg.vector_norm(g.detach()) for _, g in grads]).sum()
        if not bool(torch.isfinite(total)):
            for name, g in grads:
                bad = first_nonfinite(g)
                if bad is not None:
                    raise FloatingPointError(
                        f"the gradient of the parameter {name!r} contains {bad[1]} (first at "
                        f"index {bad[0]}) {where}, with a finite loss {loss:.6g}: the "
                        "model's derivatives overflow. The weights were not updated with it"
                    )
    return loss


def _needs(model: nn.Module, target: str, attr: str) -> None:
    """TypeError when ``model`` lacks ``attr`` (looked up without running a property)."""
    try:
        inspect.getattr_static(model, attr)
    except AttributeError:
        raise TypeError(
            f"target={target!r} needs model.{attr}; {type(model).__name__} has none "
            "(train takes the models of symnet.models or modules with the same interface)"
        ) from None


def _hint(err: SingularMassMatrixError, epoch: int, step: int) -> SingularMassMatrixError:
    return SingularMassMatrixError(
        f"training epoch {epoch}, step {step}: {err}. For a learned Lagrangian use "
        "LNN(structured=True), or set model.regularization > 0, or train in float64",
        batch_index=err.batch_index,
        condition=err.condition,
    )


def train(
    model: nn.Module,
    data: Any,
    *,
    target: str | None = None,
    epochs: int | None = None,
    steps: int | None = None,
    lr: float = 1e-3,
    batch_size: int | None = 256,
    seed: int = 0,
    val_data: Any = None,
    patience: int | None = None,
    checkpoint: str | Path | None = None,
    resume: bool = False,
    progress: bool = True,
    loss: str = "mse",
    rollout_steps: int = 5,
    rollout_dt: float | None = None,
    rollout_method: str = "rk4",
    steps_per_epoch: int = 100,
    weight_decay: float = 0.0,
    schedule: str = "constant",
    clip_grad: float | None = None,
    restore_best: bool = True,
) -> History:
    """Train ``model`` on ``data``; returns the :class:`History`.

    Parameters
    ----------
    model : nn.Module
        A model of :mod:`symnet.models` (or any module with ``config_shape``
        and ``acceleration``, ``time_derivative`` or ``field`` as the target
        needs), with floating-point parameters. Trained in place, in its own
        dtype and device.
    data : Trajectories, dict or callable
        See :mod:`symnet.models._data`: a :class:`symnet.systems.Trajectories`,
        a dict of tensors, or ``data(n, generator) -> dict`` for fresh samples.
        Cast to the model's dtype and device (the tensors passed are not
        modified); every tensor must be finite, before and after the cast.
    target : {"acceleration", "time_derivative", "rollout"}, optional
        Default ``model.default_target``. ``"rollout"`` integrates the model
        for ``rollout_steps`` steps from every recorded state and fits the
        states of the data along the window (positions and velocities or momenta).
    epochs, steps : int, optional
        Number of epochs, or of optimizer steps (the last epoch then may be
        partial); at most one; default 100 epochs. An epoch is one pass over a
        dataset, or ``steps_per_epoch`` fresh batches from a callable. Both
        ``>= 1``. Every integer option takes any integer type (numpy's too),
        never a bool.
    lr : float
        Adam learning rate (finite, ``>= 0``).
    batch_size : int or None
        Samples per step, ``>= 1`` (``None``: the whole dataset every step).
    seed : int
        Seeds the ``torch.Generator`` of the shuffling and of the sampler:
        the same model, data and seed give the same losses. In ``[0, 2**63 - 2]``.
    val_data : Trajectories, dict or callable, optional
        Evaluated after every epoch (a callable is drawn once: 1024 samples).
    patience : int, optional
        Stop after this many (``>= 1``) epochs without a lower monitored loss.
    checkpoint : str or Path, optional
        File rewritten after every epoch (:mod:`symnet.models.checkpoint`),
        atomically; not a directory.
    resume : bool
        Continue from ``checkpoint`` when the file exists. The file is read
        with ``torch.load(weights_only=True)``: one that holds other objects
        than tensors and plain types is refused (ValueError), never run.
    progress : bool
        Show a tqdm progress bar (on stderr).
    loss : {"mse", "l1"}
        Mean squared or mean absolute error.
    rollout_steps, rollout_dt, rollout_method
        Window length (``>= 1``), step (``> 0``; default: from the data's
        evenly spaced ``t``) and integrator of ``target="rollout"``.
    steps_per_epoch : int
        Epoch length with a sampler callable (``>= 1``).
    weight_decay : float
        Adam's L2 penalty (finite, ``>= 0``).
    schedule : {"constant", "cosine"}
        Learning rate constant, or decayed to 0 along a cosine over the run.
    clip_grad : float, optional
        Clip the gradient norm to this value (finite, ``> 0``).
    restore_best : bool
        Load the best epoch's weights at the end.

    Returns
    -------
    History

    Raises
    ------
    TypeError, ValueError
        An option of the wrong type or out of range (the message names it);
        data with NaN/inf (naming the key and the first bad index), of the
        wrong shape, or that overflows the model's dtype; an unreadable,
        unsafe or mismatched checkpoint on resume.
    FloatingPointError
        A NaN/inf prediction (naming the sample), loss or gradient (naming
        the parameter) during training; raised before the optimizer step, so
        the weights stay finite.
    SingularMassMatrixError
        A learned mass matrix became singular (with a hint).

    Examples
    --------
    >>> import torch, symnet.models as sm
    >>> from symnet.systems import MassSpring
    >>> data = MassSpring().hnn_dataset(n_traj=8, generator=torch.Generator().manual_seed(0))
    >>> model = sm.HNN(config_shape=(1,), hidden=16)
    >>> hist = sm.train(model, data, steps=20, batch_size=None, progress=False)
    >>> hist.steps, len(hist.train_loss)
    (20, 20)
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    target = choice(
        getattr(model, "default_target", None) if target is None else target, "target", TARGETS
    )
    _needs(model, target, "config_shape")
    if target == "rollout":
        _needs(model, target, "field")
    loss = choice(loss, "loss", tuple(_LOSSES))
    schedule = choice(schedule, "schedule", ("constant", "cosine"))
    epochs = optional_integer(epochs, "epochs", minimum=1)
    steps = optional_integer(steps, "steps", minimum=1)
    if epochs is not None and steps is not None:
        raise ValueError("pass epochs or steps, not both")
    lr = real(lr, "lr", nonnegative=True)
    batch_size = optional_integer(batch_size, "batch_size", minimum=1)
    seed = integer(seed, "seed", minimum=0, maximum=2**63 - 2)
    patience = optional_integer(patience, "patience", minimum=1)
    if checkpoint is not None:
        checkpoint = _path(checkpoint, "checkpoint")
        if checkpoint.is_dir():
            raise ValueError(f"checkpoint must be a file path, {checkpoint} is a directory")
    resume = flag(resume, "resume")
    progress = flag(progress, "progress")
    restore_best = flag(restore_best, "restore_best")
    rollout_steps = integer(rollout_steps, "rollout_steps", minimum=1)
    rollout_dt = optional_real(rollout_dt, "rollout_dt", positive=True)
    from symnet.mechanics import integrators

    rollout_method = choice(rollout_method, "rollout_method", tuple(sorted(integrators)))
    steps_per_epoch = integer(steps_per_epoch, "steps_per_epoch", minimum=1)
    weight_decay = real(weight_decay, "weight_decay", nonnegative=True)
    clip_grad = optional_real(clip_grad, "clip_grad", positive=True)
    if resume and checkpoint is None:
        raise ValueError("resume=True needs checkpoint=path")
    dtype = module_dtype(model)
    param = next((p for p in model.parameters() if torch.is_floating_point(p)), None)
    if param is None or dtype is None:
        raise ValueError(
            f"model has no floating-point parameters to train ({type(model).__name__})"
        )
    raw = read_checkpoint(checkpoint) if resume and checkpoint.is_file() else None
    kw = {"rollout_steps": rollout_steps, "rollout_dt": rollout_dt}
    kw.update(dtype=param.dtype, device=param.device)
    train_set = prepare(data, target, model, **kw)
    if target != "rollout":
        _needs(model, target, target)
    val_set = None
    if val_data is not None:
        val_set = prepare(val_data, target, model, **kw, name="val_data")
        if isinstance(val_set, Sampler):
            val_set = Dataset(val_set.draw(1024, torch.Generator().manual_seed(seed + 1)))
    gen = torch.Generator().manual_seed(seed)
    if isinstance(train_set, Dataset):
        bs = train_set.size if batch_size is None else min(batch_size, train_set.size)
        spe = math.ceil(train_set.size / bs)
    else:
        bs, spe = batch_size or 256, steps_per_epoch
    total_steps = steps if steps is not None else spe * (100 if epochs is None else epochs)
    n_epochs = math.ceil(total_steps / spe)
    ctx = {"dt": getattr(train_set, "dt", None), "method": rollout_method}
    ctx.update(loss_fn=_LOSSES[loss], loss_name=loss, dtype=param.dtype)
    ctx.update(train_set=train_set, val_set=val_set)
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    sched = None
    if schedule == "cosine":
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(total_steps, 1))
    hist = History(target=target, loss=loss, monitor="val" if val_set is not None else "train")
    best_state = copy.deepcopy(model.state_dict())
    start_epoch = 0
    if raw is not None:
        best_state, start_epoch, hist = _resume(raw, checkpoint, model, opt, sched, gen)
    seconds_before, t_start = hist.seconds, time.perf_counter()
    train_args = {
        "target": target, "lr": lr, "batch_size": batch_size, "seed": seed, "loss": loss,
        "rollout_steps": rollout_steps, "rollout_method": rollout_method, "schedule": schedule,
    }  # fmt: skip
    stale = 0
    if hist.best_epoch is not None:
        stale = hist.epochs - hist.best_epoch
    bar = _bar(progress, total_steps, hist.steps, type(model).__name__)
    try:
        for epoch in range(start_epoch + 1, n_epochs + 1):
            if patience is not None and stale >= patience:
                break
            model.train()
            if isinstance(train_set, Dataset):
                index = train_set.batches(bs, gen)[: total_steps - hist.steps]
                batches = [(train_set.take(i), i) for i in index]
            else:
                n_b = min(spe, total_steps - hist.steps)
                batches = [(train_set.draw(bs, gen), None) for _ in range(n_b)]
            losses = []
            for batch, idx in batches:
                opt.zero_grad(set_to_none=True)
                try:
                    pred, true = _predict(model, batch, target, ctx)
                except SingularMassMatrixError as err:
                    raise _hint(err, epoch, hist.steps + 1) from err
                _finite_prediction(pred, idx, f"at epoch {epoch}, step {hist.steps + 1}", ctx)
                value = ctx["loss_fn"](pred, true)
                value.backward()
                losses.append(_finite_step(model, value, epoch, hist.steps + 1, ctx))
                if clip_grad is not None:
                    nn.utils.clip_grad_norm_(model.parameters(), clip_grad)
                opt.step()
                if sched is not None:
                    sched.step()
                hist.steps += 1
                bar.update()
            hist.train_loss.append(sum(losses) / len(losses))
            if val_set is not None:
                model.eval()
                hist.val_loss.append(_evaluate(model, val_set, target, ctx, bs))
            monitored = hist.val_loss[-1] if val_set is not None else hist.train_loss[-1]
            if monitored < hist.best_loss:
                hist.best_loss, hist.best_epoch, stale = monitored, epoch, 0
                best_state = copy.deepcopy(model.state_dict())
            else:
                stale += 1
            hist.stopped_early = patience is not None and stale >= patience and epoch < n_epochs
            hist.seconds = seconds_before + time.perf_counter() - t_start
            bar.set_postfix(_postfix(hist), refresh=False)
            if checkpoint is not None:
                _save(checkpoint, model, best_state, opt, sched, gen, epoch, hist, train_args)
    finally:
        bar.close()
    hist.seconds = seconds_before + time.perf_counter() - t_start
    if restore_best and hist.best_epoch is not None:
        model.load_state_dict(best_state)
    model.eval()
    return hist


def _postfix(hist: History) -> dict[str, str]:
    out = {"loss": f"{hist.train_loss[-1]:.3e}"}
    if hist.val_loss:
        out["val"] = f"{hist.val_loss[-1]:.3e}"
    return out


def _resume(
    raw: dict[str, Any],
    path: Path,
    model: nn.Module,
    opt: Any,
    sched: Any,
    gen: torch.Generator,
) -> tuple[dict, int, History]:
    """Load a checkpoint's state into the run: ``(best_state, epoch, history)``."""
    if raw["model_class"] != type(model).__name__:
        raise ValueError(
            f"cannot resume from {path}: it holds a {raw['model_class']}, the model given is "
            f"a {type(model).__name__}"
        )
    hist = history_from(raw, path, History)
    before = copy.deepcopy(model.state_dict())
    try:
        load_weights(model, raw["best_state_dict"], path, "best")
        load_weights(model, raw["state_dict"], path, "last")
        try:
            opt.load_state_dict(raw["optimizer"])
            if sched is not None and raw.get("scheduler") is not None:
                sched.load_state_dict(raw["scheduler"])
            gen.set_state(raw["generator_state"])
        except (RuntimeError, ValueError, KeyError, TypeError) as err:
            raise ValueError(
                f"cannot resume from {path}: its optimizer, scheduler or generator state does "
                f"not fit this run ({err})"
            ) from None
    except ValueError:
        model.load_state_dict(before)  # a refused checkpoint leaves the model as it was
        raise
    return raw["best_state_dict"], int(raw["epoch"]), hist


def _config(model: nn.Module) -> dict[str, Any] | None:
    """``model.config()`` when it is plain data (a callable activation is not): else None."""
    if not hasattr(model, "config"):
        return None
    try:
        return plain_data(model.config(), "model.config()")
    except TypeError:
        return None


def _save(
    path: str | Path,
    model: nn.Module,
    best_state: dict,
    opt: Any,
    sched: Any,
    gen: torch.Generator,
    epoch: int,
    hist: History,
    train_args: dict[str, Any],
) -> None:
    config = _config(model)
    save_checkpoint(
        path,
        {
            "model_class": type(model).__name__,
            "model_config": config,
            "custom_module": bool(getattr(model, "custom", False)) or config is None,
            "state_dict": model.state_dict(),
            "best_state_dict": best_state,
            "optimizer": opt.state_dict(),
            "scheduler": None if sched is None else sched.state_dict(),
            "generator_state": gen.get_state(),
            "epoch": epoch,
            "step": hist.steps,
            "history": hist.as_dict(),
            "train_args": train_args,
        },
    )


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def set_postfix(self, *args: Any, **kwargs: Any) -> None:
        pass

    def close(self) -> None:
        pass


def _bar(enabled: bool, total: int, initial: int, name: str) -> Any:
    if not enabled:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, desc=f"train {name}", unit="step", leave=False)
