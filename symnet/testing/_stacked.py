"""Many evaluations of the function under test in one call, stacked along the batch axis.

Private module. A check evaluates ``fn`` at many transformed copies of the
same ``B`` rows (one per group element, one per Lie derivative direction).
When ``fn`` treats the rows of its batch independently, as nearly every model
does, the ``K`` copies can go through ``fn`` as one batch of ``K B`` rows:
one call instead of ``K``, which is most of the speed of the checks.

That ``fn`` is row-wise is *verified*, never assumed. For finite elements
the stack begins and ends with the untransformed inputs, whose outputs are
known from a separate evaluation, and both stacked answers must agree with
them to round-off (``1000 eps`` relative to the outputs' size). For Lie
derivatives (``torch.func.jvp`` over copies of the same rows) the primal
outputs of every copy must equal the known outputs, and an extra copy with a
zero tangent must come out with a derivative of exactly 0. A function that
mixes rows (batch normalisation in training mode, a batch mean, a fixed batch
size) fails these tests, raises, or returns the wrong number of rows, and the
check then evaluates the copies one by one, as if nothing had been stacked.
Finally, a failing row computed from a stack is recomputed alone before it
is reported, and when the two disagree, stacking stops for the rest of the
check (a model whose numerics depend on the batch size, such as
``torch.cdist`` switching to its matrix-product algorithm for large inputs).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor

from symnet.testing._calls import InputMutationError

__all__ = ["act_each", "agree", "amax", "split", "stacked"]

Outputs = tuple[Tensor, ...]


def amax(x: Tensor) -> float:
    """``max|x|`` as a float (0.0 for an empty tensor)."""
    return float(x.detach().abs().max()) if x.numel() else 0.0


def agree(a: Outputs, b: Outputs, rel: float = 0.0) -> bool:
    """``a`` and ``b`` equal to round-off (``1000 eps``), or within ``rel`` of their size."""
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        if x.shape != y.shape:
            return False
        x, y = x.detach(), y.detach()
        eps = torch.finfo(x.dtype).eps if x.is_floating_point() else 0.0
        size = max(amax(x), amax(y))
        if not amax(x - y) <= (1000 * eps + rel) * size:
            return False
    return True


def split(out: Outputs, k: int, batch: int) -> list[Outputs] | None:
    """Cut each stacked output ``(k B, ...)`` into ``k`` blocks; None when the rows do not fit."""
    if any(o.dim() == 0 or int(o.shape[0]) != k * batch for o in out):
        return None
    parts = [o.split(batch) for o in out]
    return [tuple(p[i] for p in parts) for i in range(k)]


def stacked(
    call: Callable[..., Outputs],
    sets: Sequence[Sequence[Tensor]],
    batch: int,
    reference: Outputs | None = None,
) -> list[Outputs] | None:
    """``[call(*s) for s in sets]`` in one call of ``K B`` rows, or None when ``fn`` mixes rows.

    Parameters
    ----------
    call : callable
        The function of the batched inputs.
    sets : sequence of input tuples
        ``K`` sets of inputs, each of batch ``B``; with ``reference``, the
        first set is the one whose outputs are ``reference``.
    batch : int
        ``B``.
    reference : tuple of Tensor, optional
        Outputs of ``call(*sets[0])`` from a separate evaluation.

    Returns
    -------
    list of output tuples, or None
        None when the stacked call raises, returns outputs of another
        leading size, or disagrees with ``reference``.
    """
    if len(sets) <= 1:
        return None
    if reference is not None:
        sets = [*sets, sets[0]]  # the known block at both ends of the stack
    k = len(sets)
    inputs = [torch.cat(list(xs)) for xs in zip(*sets, strict=True)]
    try:
        out = call(*inputs)
    except InputMutationError:
        raise
    except Exception:  # noqa: BLE001 - fn does not take a larger batch: one by one
        return None
    blocks = split(out, k, batch)
    if blocks is None:
        return None
    if reference is not None:
        if not (agree(blocks[0], reference) and agree(blocks[-1], reference)):
            return None
        blocks = blocks[:-1]
    return blocks


def _cat_elements(gs: Sequence[Any]) -> Any:
    """One batch of elements from batches of one (tuples for product groups)."""
    if isinstance(gs[0], tuple):
        return tuple(_cat_elements([g[i] for g in gs]) for i in range(len(gs[0])))
    return torch.cat([g.to(gs[0].dtype) if g.is_floating_point() else g for g in gs])


def act_each(
    act: Callable[[Any, Tensor], Tensor], gs: Sequence[Any], x: Tensor, t: Tensor | None
) -> list[Tensor]:
    """``[act(g, x) for g in gs]``, as one action of the batch of elements when possible.

    ``x`` of shape ``(B, ...)`` is expanded to ``(K, B, ...)`` and acted on by
    the ``K`` elements at once (the groups' layouts allow extra axes after the
    element axis); with a time ``t`` (boosts) or when the one-shot action
    fails, each element acts in turn.
    """
    if t is None and len(gs) > 1:
        try:
            moved = act(_cat_elements(gs), x.unsqueeze(0).expand(len(gs), *x.shape))
        except Exception:  # noqa: BLE001 - an action that takes no extra axes: one by one
            moved = None
        if moved is not None and moved.shape == (len(gs), *x.shape):
            return list(moved.unbind(0))
    return [act(g, x) for g in gs]
