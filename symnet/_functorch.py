"""Private: which ``torch.func`` transforms are active around the current call.

Data-dependent code (a neighbour list's rebuild decision, a cell list whose
size depends on the positions) runs under ``grad``, ``vjp`` and ``jvp``, which
see real values, but not under ``vmap``, whose batched tensors have none.
"""

from __future__ import annotations

import torch

__all__ = ["vmapped"]


def vmapped() -> bool:
    """Whether a ``torch.func.vmap`` is active (then no data-dependent code may run).

    ``grad``, ``vjp`` and ``jvp`` alone allow it.
    """
    if torch._C._functorch.peek_interpreter_stack() is None:
        return False
    from torch._C._functorch import TransformType
    from torch._functorch.pyfunctorch import retrieve_all_functorch_interpreters

    return any(i.key() == TransformType.Vmap for i in retrieve_all_functorch_interpreters())
