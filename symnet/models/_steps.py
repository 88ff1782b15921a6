"""Private helpers of :func:`symnet.models.train`: one step's prediction and checks, resume, save.

Private module; :mod:`symnet.models.training` holds the loop.
"""

from __future__ import annotations

import copy
import inspect
import math
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from symnet._util import format_shape
from symnet.mechanics import SingularMassMatrixError
from symnet.models._data import Dataset, first_nonfinite
from symnet.models.checkpoint import (
    history_from,
    load_weights,
    plain_data,
    save_checkpoint,
)
from symnet.models.history import History


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
    total, count = _evaluate_sum(model, data, target, ctx, batch_size, torch.arange(data.size))
    return _mean_loss(total, count, ctx)


def _evaluate_sum(
    model: nn.Module, data: Dataset, target: str, ctx: dict, batch_size: int, index: Tensor
) -> tuple[float, int]:
    """``(sum of the per-sample losses, count)`` over the samples ``index`` (shape (m,))."""
    total, count = 0.0, 0
    with torch.no_grad():
        for idx in index.split(batch_size or max(len(index), 1)):
            pred, true = _predict(model, data.take(idx), target, ctx)
            _finite_prediction(pred, idx, "on val_data", ctx)
            total += float(ctx["loss_fn"](pred, true)) * len(idx)
            count += len(idx)
    return total, count


def _mean_loss(total: float, count: int, ctx: dict) -> float:
    """The validation loss ``total / count``; FloatingPointError when it overflowed."""
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
