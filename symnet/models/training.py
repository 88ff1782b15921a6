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
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from symnet.mechanics import SingularMassMatrixError
from symnet.models._data import TARGETS, Dataset, Sampler, prepare
from symnet.models.checkpoint import read_checkpoint, save_checkpoint

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


def _predict(model: nn.Module, batch: dict[str, Tensor], target: str, ctx: dict) -> tuple:
    """``(prediction, truth)`` of one batch, each of shape (B, ...)."""
    t = batch.get("t")
    if target == "acceleration":
        pred = model.acceleration(batch["q"], batch["qdot"], t)
        return pred.flatten(1), batch["qddot"].flatten(1)
    if target == "time_derivative":
        qd, pd = model.time_derivative(batch["q"], batch["p"], t)
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
            total += float(ctx["loss_fn"](pred, true)) * len(idx)
            count += len(idx)
    return total / count


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
        A model of :mod:`symnet.models` (or any module with ``acceleration``,
        ``time_derivative`` or ``field`` as the target needs). Trained in place,
        in its own dtype and device.
    data : Trajectories, dict or callable
        See :mod:`symnet.models._data`: a :class:`symnet.systems.Trajectories`,
        a dict of tensors, or ``data(n, generator) -> dict`` for fresh samples.
    target : {"acceleration", "time_derivative", "rollout"}, optional
        Default ``model.default_target``. ``"rollout"`` integrates the model
        for ``rollout_steps`` steps from every recorded state and fits the
        states of the data along the window (positions and velocities or momenta).
    epochs, steps : int, optional
        Number of epochs, or of optimizer steps (the last epoch then may be
        partial); at most one; default 100 epochs. An epoch is one pass over a
        dataset, or ``steps_per_epoch`` fresh batches from a callable.
    lr : float
        Adam learning rate.
    batch_size : int or None
        Samples per step (``None``: the whole dataset every step).
    seed : int
        Seeds the ``torch.Generator`` of the shuffling and of the sampler:
        the same model, data and seed give the same losses.
    val_data : Trajectories, dict or callable, optional
        Evaluated after every epoch (a callable is drawn once: 1024 samples).
    patience : int, optional
        Stop after this many epochs without a lower monitored loss.
    checkpoint : str or Path, optional
        File rewritten after every epoch (:mod:`symnet.models.checkpoint`).
    resume : bool
        Continue from ``checkpoint`` when the file exists.
    progress : bool
        Show a tqdm progress bar (on stderr).
    loss : {"mse", "l1"}
        Mean squared or mean absolute error.
    rollout_steps, rollout_dt, rollout_method
        Window length, step (default: from the data's ``t``) and integrator
        of ``target="rollout"``.
    steps_per_epoch : int
        Epoch length with a sampler callable.
    weight_decay : float
        Adam's L2 penalty.
    schedule : {"constant", "cosine"}
        Learning rate constant, or decayed to 0 along a cosine over the run.
    clip_grad : float, optional
        Clip the gradient norm.
    restore_best : bool
        Load the best epoch's weights at the end.

    Returns
    -------
    History

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
    target = target or getattr(model, "default_target", None)
    if target not in TARGETS:
        raise ValueError(f"target must be one of {TARGETS}, got {target!r}")
    if loss not in _LOSSES:
        raise ValueError(f"loss must be one of {tuple(_LOSSES)}, got {loss!r}")
    if schedule not in ("constant", "cosine"):
        raise ValueError(f"schedule must be 'constant' or 'cosine', got {schedule!r}")
    if epochs is not None and steps is not None:
        raise ValueError("pass epochs or steps, not both")
    if resume and checkpoint is None:
        raise ValueError("resume=True needs checkpoint=path")
    param = next(model.parameters())
    kw = {"rollout_steps": rollout_steps, "rollout_dt": rollout_dt}
    kw.update(dtype=param.dtype, device=param.device)
    train_set = prepare(data, target, model, **kw)
    val_set = None
    if val_data is not None:
        val_set = prepare(val_data, target, model, **kw)
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
    ctx["loss_fn"] = _LOSSES[loss]
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    sched = None
    if schedule == "cosine":
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(total_steps, 1))
    hist = History(target=target, loss=loss, monitor="val" if val_set is not None else "train")
    best_state = copy.deepcopy(model.state_dict())
    start_epoch = 0
    if resume and Path(checkpoint).is_file():
        raw = read_checkpoint(checkpoint)
        model.load_state_dict(raw["state_dict"])
        opt.load_state_dict(raw["optimizer"])
        if sched is not None and raw.get("scheduler") is not None:
            sched.load_state_dict(raw["scheduler"])
        gen.set_state(raw["generator_state"])
        hist = History.from_dict(raw["history"])
        best_state, start_epoch = raw["best_state_dict"], int(raw["epoch"])
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
                batches = [train_set.take(i) for i in train_set.batches(bs, gen)]
                batches = batches[: total_steps - hist.steps]
            else:
                n_b = min(spe, total_steps - hist.steps)
                batches = [train_set.draw(bs, gen) for _ in range(n_b)]
            losses = []
            for batch in batches:
                opt.zero_grad(set_to_none=True)
                try:
                    pred, true = _predict(model, batch, target, ctx)
                except SingularMassMatrixError as err:
                    raise _hint(err, epoch, hist.steps + 1) from err
                value = ctx["loss_fn"](pred, true)
                value.backward()
                if clip_grad is not None:
                    nn.utils.clip_grad_norm_(model.parameters(), clip_grad)
                opt.step()
                if sched is not None:
                    sched.step()
                hist.steps += 1
                losses.append(float(value.detach()))
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
    config = model.config() if hasattr(model, "config") else None
    save_checkpoint(
        path,
        {
            "model_class": type(model).__name__,
            "model_config": config,
            "custom_module": bool(getattr(model, "custom", False)),
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
