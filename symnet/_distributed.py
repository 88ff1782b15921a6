"""Small helpers around :mod:`torch.distributed` (gloo on CPU, NCCL on CUDA).

symnet never starts processes or opens sockets itself: a process group is
initialised by the user or by ``torchrun``, and these helpers only read it.
Without an initialised group of more than one process (:func:`active` is
False) every helper is the identity of one process: :func:`rank` is 0,
:func:`world_size` 1, :func:`shard` the whole range, :func:`gather_rows`
and the reductions return their input.

Collectives run on the backend's device: CUDA tensors for NCCL (the current
device), CPU tensors for gloo; results come back on the input's device.

Data-parallel training (:func:`symnet.models.train`,
:func:`symnet.learning.check_training`) shares two more: :func:`wrap_ddp` and
:func:`mean_weight`.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from typing import Any, TypeVar

import torch
from torch import Tensor

__all__ = [
    "active",
    "all_reduce_max",
    "all_reduce_sum",
    "broadcast_object",
    "gather_rows",
    "mean_weight",
    "rank",
    "run_everywhere",
    "shard",
    "world_size",
    "wrap_ddp",
]

T = TypeVar("T")


def active() -> bool:
    """True when torch.distributed is available, initialised and has more than one process."""
    dist = torch.distributed
    return bool(dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1)


def rank() -> int:
    """The rank of this process in the default group (0 without an active group)."""
    return torch.distributed.get_rank() if active() else 0


def world_size() -> int:
    """Processes in the default group (1 without an active group)."""
    return torch.distributed.get_world_size() if active() else 1


def shard(n: int, rank_: int | None = None, world: int | None = None) -> slice:
    """The contiguous, balanced part of ``range(n)`` that a rank handles.

    The first ``n % world`` ranks get one item more; a rank may get none.

    Parameters
    ----------
    n : int
        Items to share, ``n >= 0``.
    rank_, world : int, optional
        Default: this process's rank and the world size.

    Returns
    -------
    slice
        ``slice(start, stop)`` with ``0 <= start <= stop <= n``.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"n must be an int >= 0, got {n!r}")
    world = world_size() if world is None else world
    rank_ = rank() if rank_ is None else rank_
    if not 0 <= rank_ < world:
        raise ValueError(f"rank must lie in [0, {world}), got {rank_}")
    base, extra = divmod(n, world)
    start = rank_ * base + min(rank_, extra)
    return slice(start, start + base + (1 if rank_ < extra else 0))


def mean_weight(part: slice, n: int) -> float:
    """``n_local / n * world`` for this rank's ``part`` of a global batch of ``n``.

    The local mean loss times it, averaged over the ranks by
    ``DistributedDataParallel``, has the gradient of the global mean loss,
    whatever the sizes of the parts.
    """
    return (part.stop - part.start) / n * world_size()


def wrap_ddp(module: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """``DistributedDataParallel(module)``; ``device_ids`` only for a CUDA module.

    ``find_unused_parameters=True``: a parameter the loss does not depend on
    (the constant of a Lagrangian) keeps no gradient, as in one process. DDP
    starts every rank from rank 0's parameters and buffers.
    """
    from torch.nn.parallel import DistributedDataParallel

    ids = [device] if device.type == "cuda" else None
    return DistributedDataParallel(module, device_ids=ids, find_unused_parameters=True)


def _device() -> torch.device:
    """The device the default group's collectives run on."""
    if torch.distributed.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def gather_rows(t: Tensor) -> Tensor:
    """Concatenate every rank's ``t`` along dim 0, in rank order (sizes may differ).

    Parameters
    ----------
    t : Tensor
        Shape ``(b_r, *F)``; ``F`` and the dtype must agree across ranks.

    Returns
    -------
    Tensor
        Shape ``(sum_r b_r, *F)`` on ``t``'s device, the same on every rank.
    """
    if not active():
        return t
    dist, dev = torch.distributed, _device()
    world = dist.get_world_size()
    sizes = torch.zeros(world, dtype=torch.int64, device=dev)
    sizes[dist.get_rank()] = t.shape[0]
    dist.all_reduce(sizes)
    counts = [int(c) for c in sizes.tolist()]
    pad = max(counts)
    buf = torch.zeros((pad, *t.shape[1:]), dtype=t.dtype, device=dev)
    buf[: t.shape[0]] = t.to(dev)
    parts = [torch.empty_like(buf) for _ in range(world)]
    dist.all_gather(parts, buf)
    return torch.cat([p[:c] for p, c in zip(parts, counts, strict=True)]).to(t.device)


def _reduce(t: Tensor, op: Any) -> Tensor:
    if not active():
        return t
    x = t.detach().to(_device()).clone()  # a value, not part of any graph
    torch.distributed.all_reduce(x, op=op)
    return x.to(t.device)


def all_reduce_sum(t: Tensor) -> Tensor:
    """Elementwise sum of ``t`` over the ranks (a new tensor on ``t``'s device)."""
    return _reduce(t, torch.distributed.ReduceOp.SUM) if active() else t


def all_reduce_max(t: Tensor) -> Tensor:
    """Elementwise maximum of ``t`` over the ranks (a new tensor on ``t``'s device)."""
    return _reduce(t, torch.distributed.ReduceOp.MAX) if active() else t


def broadcast_object(obj: T, src: int = 0) -> T:
    """Rank ``src``'s picklable ``obj`` on every rank (``obj`` itself without a group)."""
    if not active():
        return obj
    box = [obj]
    torch.distributed.broadcast_object_list(box, src=src)
    return box[0]


def run_everywhere(work: Callable[[], T]) -> T:
    """Run ``work()`` on every rank; if it raises on any rank, raise on all of them.

    After the local work the ranks agree on an error flag (one all-reduce), so
    that a rank that failed never leaves the others waiting in a later
    collective. Every rank then raises the exception of the lowest failing
    rank (the failing rank its own, with its traceback); the other ranks get
    a copy (an exception that cannot be pickled becomes a RuntimeError with
    its message), its message prefixed by ``[rank k]``.
    """
    if not active():
        return work()
    failure: BaseException | None = None
    result: Any = None
    try:
        result = work()
    except Exception as exc:  # re-raised below, on every rank
        failure = exc
    flag = torch.tensor([0 if failure is None else 1], dtype=torch.int64)
    if int(all_reduce_max(flag)) == 0:
        return result
    first = int(all_reduce_max(torch.tensor([-rank() if failure is not None else -world_size()])))
    src = -first
    if rank() == src:
        assert failure is not None
        torch.distributed.broadcast_object_list([_payload(failure, src)], src=src)
        raise failure
    box: list[Any] = [None]
    torch.distributed.broadcast_object_list(box, src=src)
    cls, args, state = box[0]
    copy = cls.__new__(cls)
    copy.args = args
    copy.__dict__.update(state)
    raise copy


def _payload(exc: BaseException, src: int) -> tuple[type, tuple, dict]:
    """``exc`` as (type, args, attributes), message prefixed by its rank; picklable."""
    args = exc.args
    if args and isinstance(args[0], str):
        args = (f"[rank {src}] {args[0]}", *args[1:])
    payload = (type(exc), args, dict(getattr(exc, "__dict__", {})))
    try:
        pickle.loads(pickle.dumps(payload))
    except Exception:  # a local class, an unpicklable attribute: keep the message
        return RuntimeError, (f"[rank {src}] {type(exc).__name__}: {exc}",), {}
    return payload
