"""Private torch.distributed helpers of :func:`symnet.models.train` (DDP training).

Used only when a ``torch.distributed`` process group is initialised (e.g. under
``torchrun``); without one :func:`active` is False and ``train`` runs its
single-process loop unchanged. Every rank draws the same global batch (same
seed, same generator) and keeps its contiguous slice of it
(:func:`shard_bounds`, the split of ``torch.tensor_split``).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor, nn

__all__ = [
    "active",
    "rank",
    "world_size",
    "shard_bounds",
    "all_reduce",
    "broadcast_object",
    "wrap",
    "unwrap",
]


def active() -> bool:
    """Whether a torch.distributed process group is initialised."""
    return dist.is_available() and dist.is_initialized()


def rank() -> int:
    """The rank of this process (0 without a process group)."""
    return dist.get_rank() if active() else 0


def world_size() -> int:
    """The number of processes (1 without a process group)."""
    return dist.get_world_size() if active() else 1


def shard_bounds(n: int, rank: int, world: int) -> tuple[int, int]:
    """``(start, stop)`` of ``rank``'s contiguous slice of ``n`` items over ``world`` ranks.

    The first ``n % world`` ranks get one item more (``torch.tensor_split``).
    """
    q, r = divmod(n, world)
    start = rank * q + min(rank, r)
    return start, start + q + (1 if rank < r else 0)


def _comm_device(like: Tensor) -> torch.device:
    """Where collectives run: CUDA tensors for NCCL, CPU tensors for gloo."""
    if dist.get_backend() == "nccl":
        return like.device if like.is_cuda else torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def all_reduce(x: Tensor, op: str = "sum") -> Tensor:
    """``x`` reduced over all ranks (``"sum"`` or ``"max"``), on ``x``'s device; a new tensor."""
    ops = {"sum": dist.ReduceOp.SUM, "max": dist.ReduceOp.MAX}
    y = x.detach().to(_comm_device(x)).clone()
    dist.all_reduce(y, op=ops[op])
    return y.to(x.device)


def broadcast_object(obj: Any, like: Tensor) -> Any:
    """Rank 0's ``obj`` on every rank (``broadcast_object_list``)."""
    box = [obj if rank() == 0 else None]
    dist.broadcast_object_list(box, src=0, device=_comm_device(like))
    return box[0]


def barrier() -> None:
    """Wait for every rank."""
    dist.barrier()


def wrap(module: nn.Module, device: torch.device) -> nn.Module:
    """``DistributedDataParallel(module)``; ``device_ids`` only for a CUDA module.

    ``find_unused_parameters=True``: a parameter the target does not depend on
    (the constant of a Lagrangian) keeps no gradient, as in one process.
    """
    from torch.nn.parallel import DistributedDataParallel

    ids = [device] if device.type == "cuda" else None
    return DistributedDataParallel(module, device_ids=ids, find_unused_parameters=True)


def unwrap(module: nn.Module) -> nn.Module:
    """The module inside a ``DistributedDataParallel`` (the module itself otherwise)."""
    from torch.nn.parallel import DistributedDataParallel

    return module.module if isinstance(module, DistributedDataParallel) else module
