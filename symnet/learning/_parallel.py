"""Private: data-parallel wrappers and per-rank batches for the learning ledger.

- :func:`unwrap` finds the user's model inside ``DistributedDataParallel``,
  ``DataParallel`` or any container whose parameters are all those of its
  ``.module`` (their names carry a ``module.`` prefix; symmetries name the
  parameters of the user's model);
- :func:`shard_batch` keeps this rank's contiguous slice of a global batch
  (:func:`symnet._distributed.shard`), with the weight ``n_local / n * world``
  that makes DDP's averaged gradient the gradient of the global mean loss.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from torch import Tensor, nn

from symnet import _distributed as dist_

__all__ = ["unwrap", "shard_batch", "is_ddp"]


def _wrapper_types() -> tuple[type, ...]:
    from torch.nn.parallel import DataParallel, DistributedDataParallel

    return (DistributedDataParallel, DataParallel)


def is_ddp(model: nn.Module) -> bool:
    """True for a ``DistributedDataParallel`` module."""
    from torch.nn.parallel import DistributedDataParallel

    return isinstance(model, DistributedDataParallel)


def _inner(model: nn.Module) -> nn.Module | None:
    """``model.module`` when ``model`` only wraps it (owns no parameter of its own)."""
    inner = getattr(model, "module", None)
    if not isinstance(inner, nn.Module) or inner is model:
        return None
    if isinstance(model, _wrapper_types()):
        return inner
    own = {id(p) for p in model.parameters()}
    return inner if own and own == {id(p) for p in inner.parameters()} else None


def unwrap(model: nn.Module, names: Iterable[str] = ()) -> nn.Module:
    """The module whose parameter names the symmetries use.

    Walks down ``model.module`` through data-parallel wrappers (and containers
    holding nothing but their ``.module``) and returns the first level at
    which every name in ``names`` is a parameter; the innermost level when
    none is (or ``names`` is empty), so that the caller's error names the
    user's model.
    """
    names = list(names)
    level: nn.Module | None = model
    last = model
    while level is not None:
        last = level
        if names:
            params = dict(level.named_parameters())
            if all(n in params for n in names):
                return level
        level = _inner(level)
    return last


def _first_tensor(x: Any) -> Tensor | None:
    if isinstance(x, Tensor):
        return x
    values = x.values() if isinstance(x, Mapping) else x if isinstance(x, (tuple, list)) else ()
    for v in values:
        t = _first_tensor(v)
        if t is not None:
            return t
    return None


def _slice(x: Any, part: slice, n: int) -> Any:
    if isinstance(x, Tensor):
        if x.ndim == 0 or x.shape[0] != n:
            raise ValueError(
                "distributed check_training splits every batch along its first axis: every "
                f"tensor of a batch must have {n} rows (the inputs' first tensor), got shape "
                f"{tuple(x.shape)}; pass distributed=False to run the whole batch on every rank"
            )
        return x[part]
    if isinstance(x, (tuple, list)):
        return type(x)(_slice(v, part, n) for v in x)
    if isinstance(x, Mapping):
        return {k: _slice(v, part, n) for k, v in x.items()}
    return x


def shard_batch(batch: Any) -> tuple[Any, float]:
    """The slice of ``(inputs, targets)`` this rank trains on, and its mean loss's weight.

    Returns
    -------
    batch, weight
        The rows :func:`symnet._distributed.shard` gives this rank of every
        tensor (all must have the same number of rows ``n``), and
        ``n_local / n * world``: the local mean loss times it, averaged over
        the ranks by DDP, has the gradient of the global mean loss.

    Raises
    ------
    ValueError
        Tensors with different row counts, or fewer rows than processes.
    """
    first = _first_tensor(batch[0]) if isinstance(batch, (tuple, list)) and batch else None
    if first is None or first.ndim == 0:
        raise ValueError(
            "distributed check_training needs batches whose inputs are tensors with a batch "
            "axis first; pass distributed=False to run the whole batch on every rank"
        )
    n, world = int(first.shape[0]), dist_.world_size()
    if n < world:
        raise ValueError(
            f"distributed check_training over {world} processes needs at least one sample per "
            f"process; a batch of {n} is smaller than the world size: use larger batches or "
            "distributed=False"
        )
    part = dist_.shard(n)
    return _slice(batch, part, n), dist_.mean_weight(part, n)
