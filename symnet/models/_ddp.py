"""Private: the distributed steps of :func:`symnet.models.train` (``DistributedDataParallel``).

Under an initialised ``torch.distributed`` process group, :class:`Runner`
wraps the model in ``DistributedDataParallel`` (through :class:`_Predictor`,
so that DDP sees the model's ``acceleration``, ``time_derivative`` or rollout
as its forward) and runs one step on this rank's slice of the global batch.
Every rank draws the same global batch and keeps the slice
:func:`symnet._distributed.shard` gives it; the local mean
loss is weighted by ``n_local / n_global * world`` so that DDP's gradient
average is the gradient of the global mean loss, whatever the shard sizes.
A failure on one rank (an exception, a non-finite prediction) is announced to
the others through the step's one collective, so that every rank raises
instead of waiting forever.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from symnet import _distributed as dist_
from symnet.models._data import Dataset
from symnet.models._steps import _evaluate_sum, _finite_prediction, _mean_loss, _predict
from symnet.models.checkpoint import read_checkpoint

__all__ = ["Runner", "read_raw"]


class _Predictor(nn.Module):
    """``forward(batch) -> (prediction, truth)`` of ``model`` for ``target`` (what DDP wraps)."""

    def __init__(self, model: nn.Module, target: str, ctx: dict) -> None:
        super().__init__()
        self.model, self.target, self.ctx = model, target, ctx

    def forward(self, batch: dict[str, Tensor]) -> tuple[Tensor, Tensor]:
        return _predict(self.model, batch, self.target, self.ctx)


def _other_rank(what: str) -> RuntimeError:
    return RuntimeError(
        f"{what} failed on another rank (its own error says why); this rank stops with it"
    )


class Runner:
    """The distributed side of one ``train`` call: DDP steps, validation, checkpoints."""

    def __init__(self, model: nn.Module, target: str, ctx: dict, device: torch.device) -> None:
        self.model, self.target, self.ctx = model, target, ctx
        self.rank, self.world = dist_.rank(), dist_.world_size()
        self.device = device
        self.ddp = dist_.wrap_ddp(_Predictor(model, target, ctx), device)

    def check_batches(self, size: int | None, batch: int) -> None:
        """ValueError unless every step gives every rank at least one sample."""
        last = None if size is None else size % batch
        if batch < self.world or (last and last < self.world):
            what = f"batch_size {batch}" if batch < self.world else (
                f"the last batch of an epoch ({size} samples % batch_size {batch} = {last})"
            )  # fmt: skip
            raise ValueError(
                f"distributed training over {self.world} processes needs at least one sample "
                f"per process in every batch; {what} is smaller than the world size: choose "
                "another batch_size"
            )

    def _shard(self, n: int) -> tuple[int, int]:
        part = dist_.shard(n, self.rank, self.world)
        return part.start, part.stop

    def step(self, batch: dict[str, Tensor], idx: Tensor | None, where: str) -> Tensor:
        """Forward and backward of this rank's slice of ``batch``; the global mean loss.

        ``batch`` is the global batch (every rank draws the same); ``idx`` its
        sample indices in the dataset (None for fresh samples). Returns the
        loss of the global batch (a detached 0-d tensor), equal on every rank.
        """
        n = next(iter(batch.values())).shape[0]
        a, b = self._shard(n)
        local = {k: v[a:b] for k, v in batch.items()}
        ref = local["q"]
        error: BaseException | None = None
        try:
            pred, true = self.ddp(local)
            value = self.ctx["loss_fn"](pred, true)
            bad = (~torch.isfinite(pred.detach())).any().to(ref.dtype)
            weighted = value.detach() * ((b - a) / n)
        except Exception as err:  # noqa: BLE001 - re-raised below, after telling the others
            error = err
            bad, weighted = ref.new_zeros(()), ref.new_zeros(())
        failed = ref.new_tensor(float(error is not None))
        stats = dist_.all_reduce_sum(torch.stack([weighted, bad, failed]))
        if error is not None:
            raise error
        if bool(stats[2] > 0):
            raise _other_rank(f"the training step {where}")
        if bool(stats[1] > 0):
            _finite_prediction(pred, None if idx is None else idx[a:b], where, self.ctx)
            raise FloatingPointError(
                f"the model's prediction {where} is not finite on another rank (its error names "
                "the sample); the weights were not updated with it"
            )
        (value * dist_.mean_weight(slice(a, b), n)).backward()
        return stats[0]

    def evaluate(self, data: Dataset, batch_size: int | None) -> float:
        """The validation loss over all of ``data``, each rank evaluating its slice."""
        a, b = self._shard(data.size)
        error: BaseException | None = None
        total, count = 0.0, 0
        try:
            total, count = _evaluate_sum(
                self.model, data, self.target, self.ctx, batch_size, torch.arange(a, b)
            )
        except Exception as err:  # noqa: BLE001 - re-raised below, after telling the others
            error = err
        like = torch.zeros((), dtype=torch.float64, device=self.device)
        sums = dist_.all_reduce_sum(like.new_tensor([total, count, float(error is not None)]))
        if error is not None:
            raise error
        if bool(sums[2] > 0):
            raise _other_rank("the validation")
        return _mean_loss(float(sums[0]), int(sums[1]), self.ctx)

    def agree(self, seconds: float) -> float:
        """The largest ``seconds`` over the ranks (so that every History is the same)."""
        like = torch.zeros((), dtype=torch.float64, device=self.device)
        return float(dist_.all_reduce_max(like.new_tensor(seconds)))

    def save(self, write: Callable[[], Any]) -> None:
        """``write()`` on rank 0 only; the others wait for it (and raise if it failed)."""
        error: BaseException | None = None
        if self.rank == 0:
            try:
                write()
            except Exception as err:  # noqa: BLE001 - re-raised below, after telling the others
                error = err
        like = torch.zeros((), dtype=torch.float64, device=self.device)
        failed = dist_.all_reduce_sum(like.new_tensor(float(error is not None)))
        if error is not None:
            raise error
        if bool(failed > 0):
            raise _other_rank("writing the checkpoint (rank 0)")

    def close(self) -> None:
        """Drop the DDP wrapper (its gradient hooks go with it)."""
        self.ddp = None


def read_raw(path: Path, like: Tensor) -> dict[str, Any] | None:
    """The checkpoint at ``path`` (None when there is none), read by rank 0 and broadcast.

    Every rank gets the same dict or raises the same error, also when the
    ranks do not share a file system.
    """
    box: tuple[str, Any] = ("none", None)
    if dist_.rank() == 0:
        try:
            box = ("ok", read_checkpoint(path) if path.is_file() else None)
        except (ValueError, FileNotFoundError, OSError) as err:
            box = ("error", err)
    kind, value = dist_.broadcast_object(box)
    if kind == "error":
        raise value
    return value
