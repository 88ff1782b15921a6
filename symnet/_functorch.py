"""Private: which ``torch.func`` transforms are active around the current call.

Data-dependent code (a neighbour list's rebuild decision, a cell list whose
size depends on the positions) runs under ``grad``, ``vjp`` and ``jvp``, which
see real values, but not under ``vmap``, whose batched tensors have none.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["plain_values", "vmapped"]


def vmapped() -> bool:
    """Whether a ``torch.func.vmap`` is active (then no data-dependent code may run).

    ``grad``, ``vjp`` and ``jvp`` alone allow it.
    """
    if torch._C._functorch.peek_interpreter_stack() is None:
        return False
    from torch._C._functorch import TransformType
    from torch._functorch.pyfunctorch import retrieve_all_functorch_interpreters

    return any(i.key() == TransformType.Vmap for i in retrieve_all_functorch_interpreters())


def plain_values(q: Tensor) -> Tensor | None:
    """The plain values behind ``torch.func`` wrappers of ``q``, shape ``(C, N, d)``, or None.

    ``q`` has positions ``(..., N, d)``; ``C`` counts every configuration the
    active ``vmap`` levels run over (1 without ``vmap``). None when a vmapped
    axis is among the last two (then no configuration can be read).
    """
    F = torch._C._functorch
    t = q
    try:
        while F.is_functorch_wrapped_tensor(t):
            batched = F.is_batchedtensor(t)
            bdim = F.maybe_get_bdim(t) if batched else -1
            t = F.get_unwrapped(t)
            if batched and bdim >= t.dim() - 2:  # a vmapped axis among (N, d)
                return None
    except RuntimeError:  # pragma: no cover - a wrapper that cannot be opened
        return None
    if tuple(t.shape[-2:]) != tuple(q.shape[-2:]):  # pragma: no cover - defensive
        return None
    return t.detach().reshape(-1, *q.shape[-2:])
