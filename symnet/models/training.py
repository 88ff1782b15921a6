"""``train``: fit a physics model to accelerations, time derivatives or short rollouts.

One loop for every model of :mod:`symnet.models`: seeded batches (an explicit
``torch.Generator``), Adam, an optional cosine learning-rate decay, a tqdm
progress bar, validation after every epoch, early stopping on the monitored
loss (validation when given, else training), the best weights restored at
the end, and a checkpoint file (:mod:`symnet.models.checkpoint`) that
``Checkpointing(path, resume=True)`` continues from. The options are grouped
in the dataclasses of :mod:`symnet.models.options`. Training through rollouts
is differentiable end to end: :func:`symnet.mechanics.rollout` records the graph.

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
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from symnet import _distributed
from symnet._deprecation import MISSING, renamed_argument
from symnet._progress import progress as _progress
from symnet._rng import RNG, int_seed
from symnet._threads import threads as _threads
from symnet.mechanics import SingularMassMatrixError
from symnet.models._data import TARGETS, Dataset, Sampler, prepare
from symnet.models._ddp import Runner, read_raw
from symnet.models._options import (
    choice,
    flag,
    integer,
    module_dtype,
    optional_integer,
    optional_real,
    real,
)
from symnet.models._steps import (
    _evaluate,
    _finite_prediction,
    _finite_step,
    _hint,
    _needs,
    _predict,
    _resume,
    _save,
)
from symnet.models.checkpoint import (
    _path,
    read_checkpoint,
)
from symnet.models.history import History
from symnet.models.options import (
    Checkpointing,
    Optimization,
    Rollout,
    Stopping,
    apply_flat_keywords,
)

__all__ = ["History", "train"]

_LOSSES: dict[str, Callable[[Tensor, Tensor], Tensor]] = {"mse": F.mse_loss, "l1": F.l1_loss}


def train(
    model: nn.Module,
    data: Any,
    *,
    target: str | None = None,
    epochs: int | None = None,
    steps: int | None = None,
    batch_size: int | None = 256,
    loss: str = "mse",
    val_data: Any = None,
    rng: RNG = None,
    optimization: Optimization | None = None,
    stopping: Stopping | None = None,
    checkpointing: Checkpointing | None = None,
    rollout: Rollout | None = None,
    steps_per_epoch: int = 100,
    progress: bool = True,
    threads: int | None = 1,
    seed: Any = MISSING,
    **deprecated: Any,
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
    batch_size : int or None
        Samples per step, ``>= 1`` (``None``: the whole dataset every step).
    loss : {"mse", "l1"}
        Mean squared or mean absolute error.
    val_data : Trajectories, dict or callable, optional
        Evaluated after every epoch (a callable is drawn once: 1024 samples).
    rng : int or torch.Generator, optional
        Seeds the ``torch.Generator`` of the shuffling and of the sampler
        (default 0): the same model, data and seed give the same losses. An
        int in ``[0, 2**63 - 2]``; a generator gives the seed (one draw).
        ``seed=`` is its deprecated name.
    optimization : Optimization, optional
        Learning rate, weight decay, schedule and gradient clipping
        (default ``Optimization()``: Adam at ``lr=1e-3``).
    stopping : Stopping, optional
        Early stopping (``patience``) and restoring the best weights
        (default ``Stopping()``: no early stopping, best weights restored).
    checkpointing : Checkpointing, optional
        A checkpoint file rewritten after every epoch, and ``resume``.
    rollout : Rollout, optional
        Window length, step and integrator of ``target="rollout"``.
    steps_per_epoch : int
        Epoch length with a sampler callable (``>= 1``).
    progress : bool
        Show a tqdm progress bar (on stderr).
    threads : int or None
        torch's intra-op threads while ``train`` runs (default 1, the
        fastest for the small tensors of these models, and immune to stalls
        when other processes compete for the cores); the previous setting is
        restored when ``train`` returns or raises (:func:`symnet.threads`).
        ``None`` leaves torch's setting as it is.
    **deprecated
        The flat keywords of earlier releases (``lr``, ``weight_decay``,
        ``schedule``, ``clip_grad``, ``patience``, ``restore_best``,
        ``checkpoint``, ``resume``, ``rollout_steps``, ``rollout_dt``,
        ``rollout_method``), with a DeprecationWarning naming their group
        (:data:`symnet.models.options.FLAT_KEYWORDS`).

    Returns
    -------
    History
        The same on every rank under torch.distributed.

    Notes
    -----
    Under an initialised ``torch.distributed`` process group (``torchrun``)
    the model is wrapped in ``DistributedDataParallel`` (its parameters start
    as rank 0's): every rank draws the same global batch and trains on its
    contiguous slice of it, with the loss weighted so that the gradient is the
    one of the global batch mean (the run reproduces the single-process one to
    round-off); validation is split and all-reduced; rank 0 alone writes the
    checkpoint, which resumes on any number of processes. Every batch must give
    every rank a sample. Without a process group nothing of this runs.

    Raises
    ------
    TypeError, ValueError
        An option of the wrong type or out of range (the message names it,
        ``threads`` included);
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
    >>> data = MassSpring().hnn_dataset(n_traj=8, rng=0)
    >>> model = sm.HNN(config_shape=(1,), hidden=16)
    >>> hist = sm.train(model, data, steps=20, batch_size=None, progress=False)
    >>> hist.steps, len(hist.train_loss)
    (20, 20)
    >>> hist = sm.train(
    ...     model,
    ...     data,
    ...     steps=20,
    ...     optimization=sm.Optimization(lr=1e-2),
    ...     stopping=sm.Stopping(patience=3),
    ...     progress=False,
    ... )
    """
    with _threads(threads):  # validated first: a TypeError/ValueError names it
        return _train(
            model, data, target=target, epochs=epochs, steps=steps, batch_size=batch_size,
            loss=loss, val_data=val_data, rng=rng, optimization=optimization,
            stopping=stopping, checkpointing=checkpointing, rollout=rollout,
            steps_per_epoch=steps_per_epoch, progress=progress, seed=seed, **deprecated,
        )  # fmt: skip


def _train(
    model: nn.Module,
    data: Any,
    *,
    target: str | None,
    epochs: int | None,
    steps: int | None,
    batch_size: int | None,
    loss: str,
    val_data: Any,
    rng: RNG,
    optimization: Optimization | None,
    stopping: Stopping | None,
    checkpointing: Checkpointing | None,
    rollout: Rollout | None,
    steps_per_epoch: int,
    progress: bool,
    seed: Any,
    **deprecated: Any,
) -> History:
    """:func:`train` with torch's thread count set."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    rng = renamed_argument("seed", "rng", seed, rng, where="symnet.models.train")
    groups = apply_flat_keywords(
        {"optimization": optimization, "stopping": stopping, "checkpointing": checkpointing,
         "rollout": rollout},
        deprecated,
    )  # fmt: skip
    opt_o, stop_o, ckpt_o, roll_o = (groups[k] for k in groups)
    lr, weight_decay, schedule, clip_grad = (
        opt_o.lr, opt_o.weight_decay, opt_o.schedule, opt_o.clip_grad
    )  # fmt: skip
    patience, restore_best = stop_o.patience, stop_o.restore_best
    checkpoint = None if ckpt_o is None else ckpt_o.path
    resume = False if ckpt_o is None else ckpt_o.resume
    rollout_steps, rollout_dt, rollout_method = roll_o.steps, roll_o.dt, roll_o.method
    target = choice(
        getattr(model, "default_target", None) if target is None else target, "target", TARGETS
    )
    _needs(model, target, "config_shape")
    if target == "rollout":
        _needs(model, target, "field")
    loss = choice(loss, "loss", tuple(_LOSSES))
    schedule = choice(schedule, "Optimization.schedule", ("constant", "cosine"))
    epochs = optional_integer(epochs, "epochs", minimum=1)
    steps = optional_integer(steps, "steps", minimum=1)
    if epochs is not None and steps is not None:
        raise ValueError("pass epochs or steps, not both")
    lr = real(lr, "Optimization.lr", nonnegative=True)
    batch_size = optional_integer(batch_size, "batch_size", minimum=1)
    seed = int_seed(rng, "rng" if seed is MISSING else "seed")
    patience = optional_integer(patience, "Stopping.patience", minimum=1)
    if ckpt_o is not None:
        checkpoint = _path(checkpoint, "Checkpointing.path")
        if checkpoint.is_dir():
            raise ValueError(f"Checkpointing.path must be a file, {checkpoint} is a directory")
    resume = flag(resume, "Checkpointing.resume")
    progress = flag(progress, "progress")
    restore_best = flag(restore_best, "Stopping.restore_best")
    rollout_steps = integer(rollout_steps, "Rollout.steps", minimum=1)
    rollout_dt = optional_real(rollout_dt, "Rollout.dt", positive=True)
    from symnet.mechanics import integrators

    rollout_method = choice(rollout_method, "Rollout.method", tuple(sorted(integrators)))
    steps_per_epoch = integer(steps_per_epoch, "steps_per_epoch", minimum=1)
    weight_decay = real(weight_decay, "Optimization.weight_decay", nonnegative=True)
    clip_grad = optional_real(clip_grad, "Optimization.clip_grad", positive=True)
    if resume and checkpoint is None:
        raise ValueError("Checkpointing.resume=True needs Checkpointing.path")
    dtype = module_dtype(model)
    param = next((p for p in model.parameters() if torch.is_floating_point(p)), None)
    if param is None or dtype is None:
        raise ValueError(
            f"model has no floating-point parameters to train ({type(model).__name__})"
        )
    if resume and _distributed.active():
        raw = read_raw(checkpoint, param)  # rank 0 reads, every rank gets it
    else:
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
    runner = None
    if _distributed.active():
        runner = Runner(model, target, ctx, param.device)
        runner.check_batches(train_set.size if isinstance(train_set, Dataset) else None, bs)
    stale = 0
    if hist.best_epoch is not None:
        stale = hist.epochs - hist.best_epoch
    bar = _progress(
        progress and _distributed.rank() == 0,
        total_steps,
        f"train {type(model).__name__}",
        unit="step",
        initial=hist.steps,
    )
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
                where = f"at epoch {epoch}, step {hist.steps + 1}"
                try:
                    if runner is None:
                        pred, true = _predict(model, batch, target, ctx)
                    else:  # DDP: this rank's slice; backward done, global loss back
                        value = runner.step(batch, idx, where)
                except SingularMassMatrixError as err:
                    raise _hint(err, epoch, hist.steps + 1) from err
                if runner is None:
                    _finite_prediction(pred, idx, where, ctx)
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
                if runner is None:
                    hist.val_loss.append(_evaluate(model, val_set, target, ctx, bs))
                else:
                    hist.val_loss.append(runner.evaluate(val_set, bs))
            monitored = hist.val_loss[-1] if val_set is not None else hist.train_loss[-1]
            if monitored < hist.best_loss:
                hist.best_loss, hist.best_epoch, stale = monitored, epoch, 0
                best_state = copy.deepcopy(model.state_dict())
            else:
                stale += 1
            hist.stopped_early = patience is not None and stale >= patience and epoch < n_epochs
            hist.seconds = seconds_before + time.perf_counter() - t_start
            if runner is not None:
                hist.seconds = runner.agree(hist.seconds)
            bar.set_postfix(_postfix(hist), refresh=False)
            if checkpoint is not None:
                args = (checkpoint, model, best_state, opt, sched, gen, epoch, hist, train_args)
                if runner is None:
                    _save(*args)
                else:  # rank 0 writes, the others wait for it
                    runner.save(lambda a=args: _save(*a))
    finally:
        bar.close()
        if runner is not None:
            runner.close()
    hist.seconds = seconds_before + time.perf_counter() - t_start
    if runner is not None:
        hist.seconds = runner.agree(hist.seconds)
    if restore_best and hist.best_epoch is not None:
        model.load_state_dict(best_state)
    model.eval()
    return hist


def _postfix(hist: History) -> dict[str, str]:
    out = {"loss": f"{hist.train_loss[-1]:.3e}"}
    if hist.val_loss:
        out["val"] = f"{hist.val_loss[-1]:.3e}"
    return out
