"""Private: the ``DistributedDataParallel`` wrapper of :func:`symnet.models.train`.

The process-group helpers (``active``, ``rank``, ``shard``, the reductions,
``broadcast_object``) are the library's own, in :mod:`symnet._distributed`;
this module adds what only training needs: wrapping the model in DDP and
taking it out again. Without an active process group ``train`` runs its
single-process loop unchanged.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["wrap", "unwrap"]


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
